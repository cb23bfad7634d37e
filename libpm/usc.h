/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * usc.h - unsafe-shutdown detection: the DIMMs' dirty-shutdown count
 * recorded in the pool header while the pool is open.
 */
#ifndef PM_USC_H
#define PM_USC_H 1

#include <stdint.h>

#include "layout.h"
#include "libpm.h"

/*
 * The summed dirty-shutdown count of the DIMMs behind the file @fd and a
 * hash of their ids (usc_ndctl.c; usc_none.c always says -ENOTSUP).
 * Return: 0, -ENOTSUP if the platform cannot tell, or another -errno if
 * the counters could not be read.
 */
int pm_usc_read(int fd, uint64_t *usc, uint64_t *id);

/*
 * What the record in header @h means now that pm_usc_read() gave @rret,
 * @usc and @id.  DIRTY only when the pool was open (dirty flag set) with
 * a count read from the same DIMMs, and the count has changed since.
 */
enum pm_shutdown_state pm_usc_judge(const struct pm_hdr *h, int rret,
				    uint64_t usc, uint64_t id);

/* The unsafe-shutdown record of the pool header, in host byte order. */
struct pm_usc_rec {
	uint64_t usc;	    /* summed dirty-shutdown count */
	uint64_t dimm_id;   /* hash of the DIMMs' ids */
	uint32_t dirty;	    /* 1 while the pool is open */
	uint32_t sds_state; /* enum pm_shutdown_state when it was taken */
};

/*
 * At create and open: judge the record in header @h of the pool file @fd
 * (@path) into *@state; refuse a DIRTY pool with PM_E_UNSAFE_SHUTDOWN
 * unless @flags has PM_POOL_IGNORE_SHUTDOWN; fill @rec with the record an
 * open pool carries (the current count, dirty set), for the caller to
 * write.  Return: 1 if @rec is to be written, 0 if the platform cannot
 * tell (nothing to write), or a negative error.
 */
int pm_usc_open(int fd, const char *path, unsigned flags,
		const struct pm_hdr *h, enum pm_shutdown_state *state,
		struct pm_usc_rec *rec);
/* Put @rec into header @h (on-media byte order). */
void pm_usc_put(struct pm_hdr *h, const struct pm_usc_rec *rec);

#endif /* PM_USC_H */
