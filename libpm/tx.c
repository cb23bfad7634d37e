/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tx.c - transaction lanes.
 *
 * Invariant: a lane header claims retired = R only when every entry with
 * seq <= R is applied and its application is durable; hint is at or before
 * the oldest entry with seq > R.  A fresh lane (retired 0, hint 0) has
 * nothing to replay.
 */
#include "pool.h"

int pm_tx_format(struct pm_pool *pool)
{
	struct pm_lane_hdr zero = { 0 };

	for (unsigned i = 0; i < pool->nlanes; i++) {
		void *lh = pm_pool_at(pool, pool->lanes_off +
						    (uint64_t)i * pool->lane_size);

		pm_map_copy(pool->map, lh, &zero, sizeof(zero),
			    PM_MEM_TEMPORAL);
	}
	return pm_map_drain(pool->map);
}

int pm_tx_boot(struct pm_pool *pool)
{
	(void)pool;
	return 0;
}

void pm_tx_shutdown(struct pm_pool *pool)
{
	(void)pool;
}

uint64_t pm_tx_next_seq(const struct pm_pool *pool)
{
	(void)pool;
	return 1;
}
