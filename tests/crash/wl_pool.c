/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * wl_pool.c - pool create, then header updates (open, rename the layout,
 * pm_pool_hdr_write(), close).  Invariant: before create returned, the
 * file is either not a pool (a clean error) or the complete new pool;
 * afterwards it always opens, with the layout of the last update that
 * returned or of the one in flight, and pm_pool_check() finds it clean
 * once open has repaired the other header copy.  The updates reach the
 * library's header writer, which only pmcrash-test (linked with the
 * internal library) can call: pmcrash runs the create alone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crash.h"
#ifdef PM_TEST_HOOKS
#include "pool.h"
#define HDR_UPDATES 1
#else
#define HDR_UPDATES 0
#endif

#define POOL_SIZE (1 << 20)

static void layout_name(char *buf, size_t len, uint64_t k)
{
	snprintf(buf, len, "crash-%llu", (unsigned long long)k);
}

static int pool_create_op(struct crash_ctx *c)
{
	struct pm_pool_opts o = {
		.sz = sizeof(o),
		.layout = "crash-0",
		.nlanes = 2,
		.lane_size = 64 << 10,
	};
	struct pm_pool *pool;
	int ret;

	ret = pm_pool_create(c->file, POOL_SIZE, &o, &pool);
	if (!ret)
		pm_pool_close(pool);
	return ret;
}

static int pool_update_op(struct crash_ctx *c, uint64_t k)
{
#if HDR_UPDATES
	struct pm_pool *pool;
	int ret = pm_pool_open(c->file, 0, &pool);

	if (ret)
		return ret;
	layout_name(pool->hdr.layout, sizeof(pool->hdr.layout), k);
	ret = pm_pool_hdr_write(pool);
	pm_pool_close(pool);
	return ret;
#else
	(void)c;
	(void)k;
	return -ENOTSUP;
#endif
}

static int pool_run(struct crash_ctx *c)
{
	int ret = 0;

	if (!c->ops)
		c->ops = c->deep ? 16 : 6;
	if (!HDR_UPDATES)
		c->ops = 0;
	for (uint64_t k = 0; k <= c->ops && !ret; k++) {
		unsigned op = crash_op_begin(c, 0);

		ret = k ? pool_update_op(c, k) : pool_create_op(c);
		crash_op_end(c, 0, op);
	}
	return ret;
}

/* A torn header B whose magic made it but not its version word reads as
 * PM_E_VERSION: still a clean refusal of a file that is not a pool. */
static int not_a_pool(int err)
{
	return err == PM_E_NOT_POOL || err == PM_E_CORRUPT ||
	       err == PM_E_TRUNCATED || err == PM_E_VERSION;
}

static int pool_check(struct crash_ctx *c, const struct pm_sim_image *img)
{
	struct crash_at at = crash_at(c, 0, img->point);
	char want[PM_LAYOUT_MAX], next[PM_LAYOUT_MAX];
	struct pm_pool_info info;
	struct pm_pool *pool;
	int ret = pm_pool_open(c->image, 0, &pool);

	if (ret && at.done == 0 && not_a_pool(ret))
		return 0;
	if (ret)
		return crash_fail(c, "open failed after %s: %s",
				  at.done ? "create returned" :
					    "a partial create",
				  pm_strerror(ret));
	layout_name(want, sizeof(want), at.done ? at.done - 1 : 0);
	layout_name(next, sizeof(next), at.done);
	pm_pool_info(pool, &info);
	pm_pool_close(pool);
	if (strcmp(info.layout, want) &&
	    !(at.inflight && !strcmp(info.layout, next)))
		return crash_fail(c, "layout \"%s\", expected \"%s\"%s%s",
				  info.layout, want, at.inflight ? " or " : "",
				  at.inflight ? next : "");
	if (info.pool_size != POOL_SIZE || info.nlanes != 2)
		return crash_fail(c, "geometry: size %llu, %u lanes",
				  (unsigned long long)info.pool_size,
				  info.nlanes);
	ret = pm_pool_check(c->image, 0, NULL, NULL);
	if (ret)
		return crash_fail(c, "pm_pool_check after open: %s",
				  pm_strerror(ret));
	return 0;
}

const struct crash_workload crash_wl_pool = {
	.name = "pool",
#if HDR_UPDATES
	.desc = "pool create, then header updates (layout renames)",
#else
	.desc = "pool create (header updates: pmcrash-test)",
#endif
	.breaks = "",
	.run = pool_run,
	.check = pool_check,
};
