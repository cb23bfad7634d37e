/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * log.c - append-only record log: placeholder until the log module lands.
 * Invariant: pools with a log area are refused at create and open, so no
 * log bytes are ever written or trusted by this version.
 */
#include "pool.h"

int pm_log_format(struct pm_pool *pool)
{
	if (!pool->log_size)
		return 0;
	return pm_err(-ENOTSUP, "%s: this build cannot create a log area",
		      pool->path);
}

int pm_log_boot(struct pm_pool *pool)
{
	if (!pool->log_size)
		return 0;
	return pm_err(-ENOTSUP, "%s: this build cannot open a log area",
		      pool->path);
}

void pm_log_shutdown(struct pm_pool *pool)
{
	(void)pool;
}

/**
 * pm_pool_log - the append log of a pool
 * @pool: the pool
 * @logp: receives the log
 *
 * Return: PM_E_NO_LOG (this build opens no pool with a log area).
 */
PM_EXPORT int pm_pool_log(struct pm_pool *pool, struct pm_log **logp)
{
	(void)pool;
	(void)logp;
	return PM_E_NO_LOG;
}
