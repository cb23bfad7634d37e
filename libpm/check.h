/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check.h - the checker behind pm_pool_check() and pmck, with the hooks the
 * tool needs that the public call does not carry (progress).
 */
#ifndef PM_CHECK_H
#define PM_CHECK_H 1

#include <stdint.h>

#include "libpm.h"

/* Bytes of the pool examined so far out of @total. */
typedef void (*pm_check_progress_fn)(uint64_t done, uint64_t total,
				     void *arg);

struct pm_check_opts {
	unsigned flags; /* PM_CHECK_* */
	pm_check_cb cb;
	void *arg;
	pm_check_progress_fn progress; /* may be NULL */
	void *progress_arg;
};

/* pm_pool_check() with a progress callback; same return values. */
int pm_check_run(const char *path, const struct pm_check_opts *o);

/* Name of an area for reports: "header A", "lanes", "log", ... */
const char *pm_check_area_name(enum pm_area area);

#endif /* PM_CHECK_H */
