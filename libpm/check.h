/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check.h - the checker behind pm_pool_check() and pmck: the hook the tool
 * needs that the public call does not carry (progress), and what check.c
 * (reading, reporting, repair) and check_area.c (each structure) share.
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

/* ---- inside the checker ------------------------------------------------ */

#ifdef PM_CHECK_INTERNALS
#include "pool.h"

struct pm_ck_finding {
	struct pm_check_finding pub;
	char *structure, *message, *repair; /* owned */
};

/* The state of one read-only pass over a file. */
struct pm_ck {
	const char *path;
	unsigned flags;
	int fd;
	uint64_t file_size;
	uint8_t *buf; /* for pread: SCAN_CHUNK, or less for small files */
	size_t buf_size;
	/* the pool as the chosen header copy describes it, mapped read-only */
	struct pm_map *map;
	struct pm_pool view;
	int have_view;
	/* findings */
	struct pm_ck_finding *f;
	size_t nf, cap;
	unsigned nfatal, nrepairable;
	unsigned fatal_areas; /* bit (1 << area) per area with a fatal one */
	int nomem;
	int unreadable; /* a scan met unreadable pages */
	int unsafe;	/* unsafe shutdown: repair must not acknowledge it */
	/* bad ranges: listed by the device, and found unreadable by pread */
	struct pm_pool_badblock *bbs;
	size_t nbbs;
	struct pm_badblock *clear; /* what repair clears */
	size_t nclear, clear_cap;
	/* progress */
	pm_check_progress_fn progress;
	void *progress_arg;
	uint64_t done, total;
};

/* Record a finding (INFO ones only when verbose). */
void pm_ck_find(struct pm_ck *c, enum pm_check_severity sev,
		enum pm_area area, const char *structure, uint64_t off,
		uint64_t len, const char *repair, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));
/* pread [off, off+len) into @buf; past EOF reads as zero; -EIO on poison. */
int pm_ck_pread(struct pm_ck *c, void *buf, uint64_t off, size_t len);
void pm_ck_progress(struct pm_ck *c, uint64_t bytes);
/* Read all of [off, off+len), reporting unreadable pages as @sev findings
 * in @area; *badp says whether there were any.  -errno if unreadable for
 * another reason than media errors. */
int pm_ck_scan(struct pm_ck *c, uint64_t off, uint64_t len,
	       enum pm_area area, const char *structure,
	       enum pm_check_severity sev, const char *repair, int *badp);
/* Remember a range for repair to clear through the bad-block module. */
void pm_ck_to_clear(struct pm_ck *c, uint64_t off, uint64_t len);

/* check_area.c: one function per structure, in the order a pass calls
 * them.  pm_ck_headers() sets up c->view (read-only mapping) when a copy
 * is valid; PM_E_NOT_POOL / PM_E_VERSION mean "nothing to check". */
int pm_ck_headers(struct pm_ck *c);
void pm_ck_view_free(struct pm_ck *c);
void pm_ck_shutdown(struct pm_ck *c);
int pm_ck_badblocks(struct pm_ck *c);
void pm_ck_lanes(struct pm_ck *c);
void pm_ck_log(struct pm_ck *c);
void pm_ck_data(struct pm_ck *c);
#endif /* PM_CHECK_INTERNALS */

#endif /* PM_CHECK_H */
