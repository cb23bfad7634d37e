/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * open.h - create, open and close (open.c) as the rest of the library
 * reaches them beyond the public API.
 */
#ifndef PM_OPEN_H
#define PM_OPEN_H 1

#include "libpm.h"

/* pm_pool_open() that may also drop what recovery cannot replay
 * (PM_POOL_DISCARD): committed transactions cut off by damage
 * (pool->tx_dropped says what) and acknowledged log records cut off by a
 * damaged one (a gap marker keeps their seqs from being issued again).
 * For the checker's destructive repair only. */
int pm_pool_open_discard(const char *path, unsigned flags,
			 struct pm_pool **poolp);

#endif /* PM_OPEN_H */
