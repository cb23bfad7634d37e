/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check_scan.h - one checker pass over a pool file (check_scan.c): its
 * state, defensive reads, progress and findings, shared by check_area.c
 * and check.c.
 */
#ifndef PM_CHECK_SCAN_H
#define PM_CHECK_SCAN_H 1

#include <stdint.h>

#include "libpm.h"
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
	uint8_t *buf;	    /* for pread: SCAN_CHUNK, or less for small files */
	struct pm_map *dax; /* a device-dax device, read through a mapping */
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

/* Open c->path read-only under a shared lock, with a read buffer. */
int pm_ck_open(struct pm_ck *c);
/* Close the file and free the buffer (the findings stay). */
void pm_ck_close(struct pm_ck *c);
/* Free the findings, bad-block lists and ranges to clear. */
void pm_ck_findings_free(struct pm_ck *c);

/* Record a finding (INFO ones only when verbose). */
void pm_ck_find(struct pm_ck *c, enum pm_check_severity sev, enum pm_area area,
		const char *structure, uint64_t off, uint64_t len,
		const char *repair, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));
/* pread [off, off+len) into @buf; past EOF reads as zero; -EIO on poison. */
int pm_ck_pread(struct pm_ck *c, void *buf, uint64_t off, size_t len);
void pm_ck_progress(struct pm_ck *c, uint64_t bytes);
/* Read all of [off, off+len), reporting unreadable pages as @sev findings
 * in @area; *badp says whether there were any.  -errno if unreadable for
 * another reason than media errors. */
int pm_ck_scan(struct pm_ck *c, uint64_t off, uint64_t len, enum pm_area area,
	       const char *structure, enum pm_check_severity sev,
	       const char *repair, int *badp);
/* Remember a range for repair to clear through the bad-block module. */
void pm_ck_to_clear(struct pm_ck *c, uint64_t off, uint64_t len);

#endif /* PM_CHECK_SCAN_H */
