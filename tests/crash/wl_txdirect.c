/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * wl_txdirect.c - transactions and direct writes to the same data: each
 * round a transaction writes record X, pm_tx_retire() retires it, a
 * direct pm_persist() overwrites X, and three transactions write other
 * records (Y0..Y2), so that X's transaction is still in its lane, not
 * yet retired by any watermark, when the crash comes.  Invariant: the
 * pool opens and X and every Y hold what the last operation that wrote
 * them and returned left (or the one in flight): replay never puts a
 * transaction's bytes back over a later direct write.
 *
 * --break no-retire: skip the pm_tx_retire() call.  Replay then rolls X
 * back to the transaction's bytes after the direct write returned.
 */
#include <stdlib.h>
#include <string.h>

#include "crash.h"

#define POOL_SIZE (1 << 20)
#define LANE_SIZE (64 << 10)
#define REC 64
#define KINDS 6 /* tx X, retire, direct X, tx Y0, tx Y1, tx Y2 */
#define X_OFF 0
#define Y_OFF(j) (4096 + (j)*4096)

static struct pm_pool *run_pool;

/* The record op @i writes, and where: the offset, or -1 for none. */
static long op_target(uint64_t i)
{
	switch (i % KINDS) {
	case 0:
	case 2:
		return X_OFF;
	case 1:
		return -1;
	default:
		return Y_OFF((long)(i % KINDS) - 3);
	}
}

static int put_tx(uint8_t *dst, const uint8_t *rec)
{
	struct pm_tx *tx;
	int ret = pm_tx_begin(run_pool, REC, &tx);

	if (ret)
		return ret;
	ret = pm_tx_write(tx, dst, rec, REC);
	if (ret) {
		pm_tx_abort(tx);
		return ret;
	}
	return pm_tx_commit(tx);
}

static int do_op(struct crash_ctx *c, uint64_t i)
{
	uint8_t *data = pm_pool_data(run_pool, NULL), rec[REC];
	long off = op_target(i);

	if (off < 0)
		return crash_is_broken(c, "no-retire") ? 0 :
							 pm_tx_retire(run_pool);
	crash_fill(rec, REC, c->seed, i);
	if (i % KINDS != 2)
		return put_tx(data + off, rec);
	memcpy(data + off, rec, REC);
	return pm_persist(pm_pool_map(run_pool), data + off, REC);
}

static int txd_prepare(struct crash_ctx *c)
{
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .nlanes = 2,
				  .lane_size = LANE_SIZE };
	struct pm_pool *pool;
	int ret;

	if (!c->ops)
		c->ops = (c->deep ? 40 : 8) * KINDS;
	ret = pm_pool_create(c->file, POOL_SIZE, &o, &pool);
	if (!ret)
		pm_pool_close(pool);
	return ret;
}

static int txd_run(struct crash_ctx *c)
{
	int ret = pm_pool_open(c->file, 0, &run_pool);

	for (uint64_t i = 0; !ret && i < c->ops; i++) {
		unsigned op = crash_op_begin(c, 0);

		ret = do_op(c, i);
		crash_op_end(c, 0, op);
	}
	pm_pool_close(run_pool);
	run_pool = NULL;
	return ret;
}

/* The record op @i leaves (zeros for none: @i < 0). */
static void rec_of(struct crash_ctx *c, int64_t i, uint8_t *rec)
{
	if (i < 0)
		memset(rec, 0, REC);
	else
		crash_fill(rec, REC, c->seed, (uint64_t)i);
}

/* Record at @off must be what the last op before @done that wrote it
 * wrote (zeros if none), or, if op @done writing it is in flight, that
 * op's record (a transaction: whole) or a mix of the two by 8-byte word
 * (a direct write has no atomicity). */
static int rec_check(struct crash_ctx *c, const uint8_t *data, long off,
		     struct crash_at at)
{
	const uint8_t *got = data + off;
	uint8_t old[REC], new[REC];
	int64_t last = -1;
	int mix = 1;

	for (int64_t i = (int64_t)at.done - 1; i >= 0 && last < 0; i--)
		if (op_target((uint64_t)i) == off)
			last = i;
	rec_of(c, last, old);
	if (!memcmp(got, old, REC))
		return 0;
	if (at.inflight && op_target(at.done) == off) {
		rec_of(c, (int64_t)at.done, new);
		for (int w = 0; w < REC; w += 8)
			mix &= !memcmp(got + w, old + w, 8) ||
			       !memcmp(got + w, new + w, 8);
		if (at.done % KINDS == 2 ? mix : !memcmp(got, new, REC))
			return 0;
	}
	return crash_fail(c,
			  "record at %ld after %llu operations%s: not the "
			  "bytes of operation %lld (%s)",
			  off, (unsigned long long)at.done,
			  at.inflight ? " (+1 in flight)" : "", (long long)last,
			  last >= 0 && last % KINDS == 2 ?
				  "a direct write rolled back" :
				  "a transaction lost");
}

static int txd_check(struct crash_ctx *c, const struct pm_sim_image *img)
{
	struct crash_at at = crash_at(c, 0, img->point);
	struct pm_pool *pool;
	const uint8_t *data;
	int ret = pm_pool_open(c->image, 0, &pool);

	if (ret)
		return crash_fail(c, "pool open (recovery): %s",
				  pm_strerror(ret));
	data = pm_pool_data(pool, NULL);
	ret = rec_check(c, data, X_OFF, at);
	for (int j = 0; !ret && j < 3; j++)
		ret = rec_check(c, data, Y_OFF(j), at);
	pm_pool_close(pool);
	return ret;
}

const struct crash_workload crash_wl_tx_direct = {
	.name = "txdirect",
	.desc = "a transaction, pm_tx_retire, a direct write of the same "
		"data, transactions elsewhere",
	.breaks = "no-retire",
	.prepare = txd_prepare,
	.run = txd_run,
	.check = txd_check,
	.afterlife = 1,
};
