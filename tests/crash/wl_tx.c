/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * wl_tx.c - redo-log transactions of 1..16 ranges of 8 B .. 64 KiB, in
 * lanes small enough for their rings to wrap, some aborted, some run by a
 * fresh thread that takes over a lane another thread used ("tx"); and the
 * same with one thread per lane committing concurrently, each in its own
 * slice of the data area ("txmt").  Invariant: the pool opens (recovery
 * replays what it must); every slice holds exactly the data of the
 * transactions of its stream that returned, plus all or nothing of the
 * one in flight.
 *
 * --break tx-fence: commit skips its fence (pm_test_break; pmcrash-test).
 *
 * --damage: a copy of each image also has the newer slot of every lane
 * header damaged; recovery then starts from the older slots.  Open must
 * refuse the pool or give exactly what the image gives, and pmck must
 * find fatal damage exactly when open refuses.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash.h"
#include "layout.h"

#define POOL_SIZE (3 << 19) /* 1.5 MiB */
#define LANE_SIZE (128 << 10)
#define MAX_RANGES 16

struct tx_range {
	uint64_t off; /* in the stream's slice */
	uint32_t len;
};

struct tx_op {
	unsigned nr;
	int aborted; /* deliberately, or refused: no effect either way */
	size_t reserve;
	struct tx_range r[MAX_RANGES];
};

struct tx_stream {
	struct tx_op *ops;
	unsigned n;
	uint64_t rng;
	uint64_t base, size; /* the slice of the data area */
	uint8_t *model;	     /* the slice after model_d operations */
	uint64_t model_d;
	uint8_t *next; /* the slice after next_d + 1 operations */
	int64_t next_d;
};

struct tx_state {
	struct tx_stream s[CRASH_STREAMS];
	unsigned nstreams;
	struct pm_pool *pool;
	struct crash_ctx *c;
	struct pm_pool_info geo; /* lanes_offset, lane_size, nlanes */
};

static uint64_t rnd(uint64_t *st)
{
	uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t data_id(unsigned stream, uint64_t op, unsigned r)
{
	return ((uint64_t)stream << 48) | (op << 5) | r;
}

/* 8 B .. 64 KiB: mostly small, some KiBs, one in 40 transactions 64 KiB. */
static void gen_op(struct tx_stream *s, struct tx_op *op, int big_ok)
{
	unsigned big = big_ok && rnd(&s->rng) % 40 == 0;
	size_t total = 0;

	op->nr = 1 + (unsigned)(rnd(&s->rng) % MAX_RANGES);
	for (unsigned i = 0; i < op->nr; i++) {
		uint64_t r = rnd(&s->rng) % 100;
		uint32_t len = r < 75 ? 8 + (uint32_t)(rnd(&s->rng) % 249) :
					1024 + (uint32_t)(rnd(&s->rng) % 3073);

		if (big && i == 0)
			len = 64 << 10;
		op->r[i].len = len;
		op->r[i].off = rnd(&s->rng) % (s->size - len + 1);
		total += len;
	}
	op->aborted = rnd(&s->rng) % 20 == 0;
	/* now and then too small a reservation: the write extends it */
	op->reserve = rnd(&s->rng) % 8 == 0 ? total / 2 : total;
}

static void apply(const struct tx_stream *s, unsigned stream, uint64_t k,
		  uint8_t *slice, uint64_t seed)
{
	const struct tx_op *op = &s->ops[k];

	if (op->aborted)
		return;
	for (unsigned i = 0; i < op->nr; i++)
		crash_fill(slice + op->r[i].off, op->r[i].len, seed,
			   data_id(stream, k, i));
}

/* ---- the recorded run ------------------------------------------------------ */

static int tx_do(struct tx_state *st, unsigned stream, uint64_t k)
{
	struct tx_stream *s = &st->s[stream];
	struct tx_op *op = &s->ops[k];
	uint8_t *data = pm_pool_data(st->pool, NULL);
	uint8_t *buf = malloc(64 << 10);
	struct pm_tx *tx;
	int ret = buf ? pm_tx_begin(st->pool, op->reserve, &tx) : -ENOMEM;

	for (unsigned i = 0; !ret && i < op->nr; i++) {
		crash_fill(buf, op->r[i].len, st->c->seed,
			   data_id(stream, k, i));
		ret = pm_tx_write(tx, data + s->base + op->r[i].off, buf,
				  op->r[i].len);
	}
	free(buf);
	if (ret == -ENOSPC || (!ret && op->aborted)) {
		pm_tx_abort(tx);
		op->aborted = 1;
		return 0;
	}
	if (ret) {
		pm_tx_abort(tx);
		return ret;
	}
	return pm_tx_commit(tx);
}

struct runner {
	struct tx_state *st;
	unsigned stream;
	uint64_t k;
	int ret;
};

static void *run_one_op(void *arg)
{
	struct runner *r = arg;
	unsigned op = crash_op_begin(r->st->c, r->stream);

	r->ret = tx_do(r->st, r->stream, r->k);
	crash_op_end(r->st->c, r->stream, op);
	return NULL;
}

/* One stream's operations; in "tx" every seventh runs in a new thread,
 * which takes over a lane some other thread used last. */
static void *run_stream(void *arg)
{
	struct runner *r = arg;
	struct tx_stream *s = &r->st->s[r->stream];

	for (r->k = 0; r->k < s->n && !r->ret; r->k++) {
		struct runner one = *r;
		pthread_t t;

		gen_op(s, &s->ops[r->k], 1);
		if (r->st->nstreams == 1 && r->k % 7 == 6 &&
		    !pthread_create(&t, NULL, run_one_op, &one))
			pthread_join(t, NULL);
		else
			run_one_op(&one);
		r->ret = one.ret;
	}
	return NULL;
}

static int tx_run(struct crash_ctx *c)
{
	struct tx_state *st = c->priv;
	struct runner r[CRASH_STREAMS] = { { 0 } };
	pthread_t t[CRASH_STREAMS];
	int ret;

	if (crash_is_broken(c, "tx-fence"))
		crash_lib_break(PM_BREAK_TX_FENCE);
	ret = pm_pool_open(c->file, 0, &st->pool);
	for (unsigned i = 0; !ret && i < st->nstreams; i++) {
		r[i].st = st;
		r[i].stream = i;
		if (st->nstreams == 1)
			run_stream(&r[i]);
		else if (pthread_create(&t[i], NULL, run_stream, &r[i]))
			r[i].ret = -EAGAIN;
	}
	for (unsigned i = 0; !ret && st->nstreams > 1 && i < st->nstreams; i++)
		pthread_join(t[i], NULL);
	for (unsigned i = 0; !ret && i < st->nstreams; i++)
		ret = r[i].ret;
	pm_pool_close(st->pool);
	st->pool = NULL;
	crash_lib_break(0);
	return ret;
}

/* ---- preparing and checking ------------------------------------------------ */

static int tx_prepare_n(struct crash_ctx *c, unsigned nstreams)
{
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .nlanes = nstreams > 2 ? nstreams : 2,
				  .lane_size = LANE_SIZE };
	struct tx_state *st = calloc(1, sizeof(*st));
	struct pm_pool *pool;
	size_t size;
	int ret;

	if (!st)
		return -ENOMEM;
	c->priv = st;
	st->c = c;
	st->nstreams = nstreams;
	ret = pm_pool_create(c->file, POOL_SIZE, &o, &pool);
	if (ret)
		return ret;
	pm_pool_data(pool, &size);
	ret = pm_pool_info(pool, &st->geo);
	pm_pool_close(pool);
	if (ret)
		return ret;
	for (unsigned i = 0; i < nstreams; i++) {
		struct tx_stream *s = &st->s[i];

		s->size = size / nstreams / 8 * 8;
		s->base = s->size * i;
		s->n = c->ops;
		s->rng = c->seed ^ (0x51ed2701ULL * (i + 1));
		s->next_d = -1;
		s->ops = calloc(c->ops, sizeof(*s->ops));
		s->model = calloc(1, s->size);
		s->next = calloc(1, s->size);
		if (!s->ops || !s->model || !s->next)
			return -ENOMEM;
	}
	return 0;
}

static int tx_prepare(struct crash_ctx *c)
{
	if (!c->ops)
		c->ops = c->deep ? 300 : 150;
	return tx_prepare_n(c, 1);
}

static int txmt_prepare(struct crash_ctx *c)
{
	if (!c->ops)
		c->ops = c->deep ? 100 : 60;
	if (c->threads < 2)
		c->threads = c->deep ? 4 : 2;
	return tx_prepare_n(c, c->threads);
}

/* Bring the stream's model to @done operations (checks come in point
 * order, so @done never goes back) and the next state after it. */
static void model_at(struct crash_ctx *c, struct tx_stream *s, unsigned i,
		     uint64_t done)
{
	if (s->next_d == (int64_t)done)
		return;
	while (s->model_d < done)
		apply(s, i, s->model_d++, s->model, c->seed);
	memcpy(s->next, s->model, s->size);
	if (done < s->n)
		apply(s, i, done, s->next, c->seed);
	s->next_d = (int64_t)done;
}

static int slice_check(struct crash_ctx *c, unsigned i, const uint8_t *got,
		       struct crash_at at)
{
	struct tx_stream *s = &((struct tx_state *)c->priv)->s[i];
	uint64_t off;

	model_at(c, s, i, at.done);
	if (!memcmp(got, s->model, s->size) ||
	    (at.inflight && !memcmp(got, s->next, s->size)))
		return 0;
	for (off = 0; off < s->size && got[off] == s->model[off]; off++)
		;
	return crash_fail(c,
			  "stream %u: after %llu transactions%s the data "
			  "differs at slice offset %llu (%s)",
			  i, (unsigned long long)at.done,
			  at.inflight ? " (+1 in flight)" : "",
			  (unsigned long long)off,
			  at.inflight && got[off] == s->next[off] ?
				  "a partial transaction" :
				  "a committed transaction lost");
}

/* Open @file (recovery) and compare every stream's slice. */
static int slices_check(struct crash_ctx *c, const char *file,
			const struct pm_sim_image *img)
{
	struct tx_state *st = c->priv;
	struct pm_pool *pool;
	const uint8_t *data;
	int ret = pm_pool_open(file, 0, &pool);

	if (ret)
		return crash_fail(c, "pool open (recovery): %s",
				  pm_strerror(ret));
	data = pm_pool_data(pool, NULL);
	for (unsigned i = 0; !ret && i < st->nstreams; i++)
		ret = slice_check(c, i, data + st->s[i].base,
				  crash_at(c, i, img->point));
	pm_pool_close(pool);
	return ret;
}

static int count_fatal(const struct pm_check_finding *f, void *arg)
{
	*(unsigned *)arg += f->severity == PM_CHECK_FATAL;
	return 0;
}

/* Damage the crc of the slot with the higher gen in every lane header. */
static int damage_newer_slots(struct tx_state *st, FILE *f)
{
	for (unsigned i = 0; i < st->geo.nlanes; i++) {
		long off = (long)(st->geo.lanes_offset + i * st->geo.lane_size);
		struct pm_lane_slot s[2];
		int k;

		if (fseek(f, off, SEEK_SET) || fread(s, sizeof(s), 1, f) != 1)
			return -EIO;
		k = s[1].gen > s[0].gen;
		s[k].crc ^= 0x5a;
		if (fseek(f, off, SEEK_SET) || fwrite(s, sizeof(s), 1, f) != 1)
			return -EIO;
	}
	return 0;
}

static int copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char buf[65536];
	size_t n;
	int ret = in && out ? 0 : -1;

	while (!ret && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		ret = fwrite(buf, 1, n, out) == n ? 0 : -1;
	if (in)
		fclose(in);
	if (out && fclose(out))
		ret = -1;
	return ret;
}

/* --damage: see the top of the file.  Runs on a copy, before the image
 * itself is opened (recovery writes to it). */
static int damaged_check(struct crash_ctx *c, const struct pm_sim_image *img)
{
	struct tx_state *st = c->priv;
	char copy[320];
	struct pm_pool *pool;
	unsigned fatal = 0;
	FILE *f;
	int ret;

	snprintf(copy, sizeof(copy), "%s.dmg", c->image);
	if (copy_file(c->image, copy))
		return crash_fail(c, "cannot copy the image");
	f = fopen(copy, "r+b");
	ret = f ? damage_newer_slots(st, f) : -errno;
	if (f)
		fclose(f);
	if (ret)
		return crash_fail(c, "cannot damage the copy: %s",
				  pm_strerror(ret));
	ret = pm_pool_check(copy, 0, count_fatal, &fatal);
	if (ret && ret != PM_E_CORRUPT)
		return crash_fail(c, "newer slots damaged: pmck: %s",
				  pm_strerror(ret));
	ret = pm_pool_open(copy, 0, &pool);
	if (!ret)
		pm_pool_close(pool);
	if (!ret != !fatal)
		return crash_fail(c,
				  "newer slots damaged: open says %s, pmck "
				  "finds %u fatal",
				  pm_strerror(ret), fatal);
	ret = ret == PM_E_CORRUPT ? 0 : slices_check(c, copy, img);
	unlink(copy);
	if (ret) {
		char why[sizeof(c->msg)];

		snprintf(why, sizeof(why), "%s", c->msg);
		return crash_fail(c, "newer slots damaged: %s", why);
	}
	return 0;
}

static int tx_check(struct crash_ctx *c, const struct pm_sim_image *img)
{
	int ret = c->damage ? damaged_check(c, img) : 0;

	return ret ? ret : slices_check(c, c->image, img);
}

static void tx_cleanup(struct crash_ctx *c)
{
	struct tx_state *st = c->priv;

	if (!st)
		return;
	for (unsigned i = 0; i < CRASH_STREAMS; i++) {
		free(st->s[i].ops);
		free(st->s[i].model);
		free(st->s[i].next);
	}
	free(st);
	c->priv = NULL;
}

const struct crash_workload crash_wl_tx = {
	.name = "tx",
	.desc = "transactions of 1..16 ranges, 8 B..64 KiB, rings wrap, "
		"lanes change threads",
	.breaks = CRASH_LIB_BREAK("tx-fence"),
	.prepare = tx_prepare,
	.run = tx_run,
	.check = tx_check,
	.cleanup = tx_cleanup,
	.afterlife = 1,
};

const struct crash_workload crash_wl_tx_mt = {
	.name = "txmt",
	.desc = "concurrent transactions, one thread per lane",
	.breaks = CRASH_LIB_BREAK("tx-fence"),
	.prepare = txmt_prepare,
	.run = tx_run,
	.check = tx_check,
	.cleanup = tx_cleanup,
	.afterlife = 1,
};
