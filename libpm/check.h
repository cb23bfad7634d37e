/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check.h - the checker behind pm_pool_check() and pmck (check.c): the
 * passes, repair and reporting, with the hook the tool needs that the
 * public call does not carry (progress).
 */
#ifndef PM_CHECK_H
#define PM_CHECK_H 1

#include "check_scan.h"

struct pm_check_opts {
	unsigned flags; /* PM_CHECK_* */
	pm_check_cb cb;
	void *arg;
	pm_check_progress_fn progress; /* may be NULL */
	void *progress_arg;
};

/* pm_pool_check() with a progress callback; same return values. */
int pm_check_run(const char *path, const struct pm_check_opts *o);

#endif /* PM_CHECK_H */
