/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bbmap.h - the bad-block map of a pool (bbmap.c): which pool structure
 * each bad range hits, and the policy open applies to them.
 */
#ifndef PM_BBMAP_H
#define PM_BBMAP_H 1

#include "libpm.h"

struct pm_pool;

/* Name of a pool area: "header A", "lane", "user data", ... */
const char *pm_area_name(enum pm_area a);

/*
 * At open, after the header is validated: list the pool file's bad
 * blocks into pool->bbs/nbbs/bb_status, each split by the structure it
 * hits, and apply the policy: metadata with no stand-in (both header
 * copies, a lane, the log area) gives PM_E_BADBLOCKS unless
 * PM_POOL_IGNORE_BADBLOCKS; one header copy or user data only warns.  A
 * device that cannot tell never blocks the open.
 */
int pm_bb_pool_open(struct pm_pool *pool);

#endif /* PM_BBMAP_H */
