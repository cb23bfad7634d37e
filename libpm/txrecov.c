/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * txrecov.c - lane entries: parsing, retiring, recovery at open and the
 * clean retire at close.
 *
 * Invariant: a lane header's retired = R is durable only once every entry
 * with seq <= R is applied and its application durable (a fence by the
 * thread that flushed it, or a re-flush and fence by the thread that
 * claims it); hint is at or before the lane's oldest entry with seq > R.
 * The header is two checksummed slots; a write goes to the slot not in
 * use, and a fence separates two writes to one lane, so a crash leaves the
 * slot in use valid and the newest valid slot (highest gen) is the
 * header.  Neither slot valid is damage, never a crash: recovery refuses.
 * Recovery takes R as the maximum over the lanes, follows each lane's
 * chain from hint (64-byte aligned entries of strictly increasing seq,
 * wrapping to offset 0 at most once), replays every valid entry with
 * seq > R in seq order, and only after a fence moves the lane headers
 * past them.  A torn, stale or foreign entry fails its checksum or its seq
 * order and ends the chain; nothing read from the ring is used unchecked.
 */
#include <sched.h>
#include <stdlib.h>

#include "crc.h"
#include "tx.h"

int pm_tx_test_skip_apply;

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return pm_le32(v);
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return pm_le64(v);
}

/* ---- entries ------------------------------------------------------------ */

static int commit_ok(const struct pm_pool *pool, const struct pm_lane *l,
		     uint64_t off, uint64_t p, unsigned nr, struct pm_entry *e)
{
	const uint8_t *c = l->ring + p;
	uint32_t crc;

	if (!pm_range_ok(p, sizeof(struct pm_tx_commit), l->ring_size))
		return -1;
	if (nr == 0 || rd32(c + offsetof(struct pm_tx_commit, nranges)) != nr ||
	    rd64(c + offsetof(struct pm_tx_commit, len)) !=
		    p + sizeof(struct pm_tx_commit) - off)
		return -1;
	crc = pm_crc_update(pool->seed, l->ring + off,
			    p + offsetof(struct pm_tx_commit, crc) - off);
	if (pm_crc_final(crc) != rd32(c + offsetof(struct pm_tx_commit, crc)))
		return -1;
	e->seq = rd64(c + offsetof(struct pm_tx_commit, seq));
	e->end = p + sizeof(struct pm_tx_commit);
	e->nranges = nr;
	return 0;
}

int pm_entry_parse(const struct pm_pool *pool, const struct pm_lane *l,
		   uint64_t off, struct pm_entry *e)
{
	uint64_t p = off, len, roff;
	unsigned nr = 0;

	if (off % PM_CACHELINE)
		return -1;
	for (;;) {
		if (!pm_range_ok(p, sizeof(uint32_t), l->ring_size))
			return -1;
		if (rd32(l->ring + p) == PM_REC_COMMIT)
			return commit_ok(pool, l, off, p, nr, e);
		if (rd32(l->ring + p) != PM_REC_RANGE ||
		    !pm_range_ok(p, sizeof(struct pm_tx_range), l->ring_size))
			return -1;
		roff = rd64(l->ring + p + offsetof(struct pm_tx_range, off));
		len = rd64(l->ring + p + offsetof(struct pm_tx_range, len));
		if (!pm_range_ok(roff, len, pool->data_size))
			return -1;
		p += sizeof(struct pm_tx_range);
		if (!pm_range_ok(p, PM_ALIGN_UP(len, 8), l->ring_size))
			return -1;
		p += PM_ALIGN_UP(len, 8);
		nr++;
	}
}

/* Each range is read once and checked before it is used: a rewrite of the
 * ring after pm_entry_parse() cannot send a copy or a flush elsewhere. */
void pm_entry_apply(const struct pm_pool *pool, const struct pm_lane *l,
		    uint64_t off, enum pm_apply how)
{
	uint8_t *data = pool->base + pool->data_off;
	uint64_t p = off, roff, len;

	while (pm_range_ok(p, sizeof(struct pm_tx_range), l->ring_size) &&
	       rd32(l->ring + p) == PM_REC_RANGE) {
		roff = rd64(l->ring + p + offsetof(struct pm_tx_range, off));
		len = rd64(l->ring + p + offsetof(struct pm_tx_range, len));
		p += sizeof(struct pm_tx_range);
		if (!pm_range_ok(roff, len, pool->data_size) ||
		    !pm_range_ok(p, PM_ALIGN_UP(len, 8), l->ring_size))
			return;
		if (how == PM_APPLY_FLUSH)
			pm_map_flush(pool->map, data + roff, len);
		else
			pm_map_copy(pool->map, data + roff, l->ring + p, len,
				    PM_MEM_TEMPORAL);
		p += PM_ALIGN_UP(len, 8);
	}
}

/* ---- the retire watermark ------------------------------------------------ */

uint64_t pm_tx_watermark(struct pm_pool *pool)
{
	struct pm_lanes *ls = pool->lanes;
	/* Acquire: every lane whose seq is below m has its floor (or the
	 * unretired stored before the floor was cleared) visible below. */
	uint64_t m = __atomic_load_n(&ls->seq, __ATOMIC_ACQUIRE);

	for (unsigned i = 0; i < ls->n; i++) {
		struct pm_lane *l = &ls->lane[i];

		m = PM_MIN(m, __atomic_load_n(&l->floor, __ATOMIC_ACQUIRE));
		m = PM_MIN(m, __atomic_load_n(&l->unretired, __ATOMIC_ACQUIRE));
	}
	return m - 1;
}

static uint32_t lane_slot_crc(uint32_t seed, const struct pm_lane_slot *s)
{
	return pm_crc_final(
		pm_crc_update(seed, s, offsetof(struct pm_lane_slot, crc)));
}

static struct pm_lane_slot lane_slot_make(uint32_t seed, uint64_t retired,
					  uint64_t hint, uint64_t gen)
{
	struct pm_lane_slot s = {
		.retired = pm_le64(retired),
		.hint = pm_le64(hint),
		.gen = pm_le64(gen),
	};

	s.crc = pm_le32(lane_slot_crc(seed, &s));
	return s;
}

/*
 * The slot not in use is the one rewritten: the caller fenced since the
 * previous write to this lane header, so the slot in use is durable and a
 * crash during this write still finds it valid.  The whole slot goes in
 * plain stores (a torn one fails its checksum) and one flush: no fence.
 */
void pm_lane_hdr_store(const struct pm_pool *pool, struct pm_lane *l,
		       uint64_t retired, uint64_t hint)
{
	struct pm_lane_slot s;
	int idx = !l->hslot;

	/* A true claim stays true: never lower it. */
	retired = PM_MAX(retired, l->hretired);
	s = lane_slot_make(pool->seed, retired, hint, l->hgen + 1);
	pm_map_store(pool->map, &l->hdr->slot[idx], &s, sizeof(s));
	pm_map_flush(pool->map, &l->hdr->slot[idx], sizeof(s));
	l->hslot = idx;
	l->hgen++;
	l->hretired = retired;
}

/* The seqlock's read side (tx.h): the ranges are copied, then unretired
 * must still be @u, else the holder rewrote them meanwhile. */
uint64_t pm_lane_reflush(const struct pm_pool *pool, struct pm_lane *l)
{
	uint64_t u = __atomic_load_n(&l->unretired, __ATOMIC_ACQUIRE);
	struct pm_tx_pub pub[PM_TX_PUB_MAX];
	uint64_t n;

	if (u == PM_SEQ_NONE)
		return PM_SEQ_NONE;
	n = PM_MIN(__atomic_load_n(&l->pub_n, __ATOMIC_RELAXED),
		   (uint64_t)PM_TX_PUB_MAX);
	for (uint64_t i = 0; i < n; i++) {
		pub[i].off = __atomic_load_n(&l->pub[i].off, __ATOMIC_RELAXED);
		pub[i].len = __atomic_load_n(&l->pub[i].len, __ATOMIC_RELAXED);
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&l->unretired, __ATOMIC_RELAXED) != u)
		return PM_SEQ_NONE;
	for (uint64_t i = 0; i < n; i++)
		if (pm_range_ok(pub[i].off, pub[i].len, pool->data_size))
			pm_map_flush(pool->map,
				     pool->base + pool->data_off + pub[i].off,
				     pub[i].len);
	return u;
}

void pm_tx_wait_inflight(struct pm_pool *pool, uint64_t seq)
{
	struct pm_lanes *ls = pool->lanes;

	for (unsigned i = 0; i < ls->n; i++) {
		uint64_t f = __atomic_load_n(&ls->lane[i].floor,
					     __ATOMIC_ACQUIRE);

		/* A commit never waits for anything: its floor changes. */
		while (f <= seq &&
		       __atomic_load_n(&ls->lane[i].floor, __ATOMIC_ACQUIRE) == f)
			sched_yield();
	}
}

/* Lanes retired under one fence.  Their seqs are kept on the stack, so
 * that retiring, and with it closing a pool, allocates nothing. */
#define RETIRE_CHUNK 64U

/* Retire lanes [from, from + n), n <= RETIRE_CHUNK: one fence. */
static int retire_some(struct pm_pool *pool, unsigned from, unsigned n)
{
	struct pm_lanes *ls = pool->lanes;
	uint64_t us[RETIRE_CHUNK], u;
	int ret;

	/* Applications are written back lazily: flush every one. */
	for (unsigned i = 0; i < n; i++)
		us[i] = pm_lane_reflush(pool, &ls->lane[from + i]);
	ret = pm_map_drain(pool->map);
	for (unsigned i = 0; !ret && i < n; i++) {
		struct pm_lane *l = &ls->lane[from + i];

		u = us[i];
		if (u != PM_SEQ_NONE)
			__atomic_compare_exchange_n(&l->unretired, &u,
						    PM_SEQ_NONE, 0,
						    __ATOMIC_SEQ_CST,
						    __ATOMIC_RELAXED);
	}
	return ret;
}

int pm_tx_retire_all(struct pm_pool *pool, struct pm_lane *own)
{
	struct pm_lanes *ls = pool->lanes;
	int ret = 0;

	(void)own;
	for (unsigned i = 0; !ret && i < ls->n; i += RETIRE_CHUNK)
		ret = retire_some(pool, i, PM_MIN(ls->n - i, RETIRE_CHUNK));
	return ret;
}

/* ---- recovery ------------------------------------------------------------ */

struct found {
	uint64_t seq;
	uint64_t off;
	unsigned lane;
};

struct scan {
	struct found *v;
	size_t n, cap;
	uint64_t r, maxseq;
};

static int push(struct pm_pool *pool, struct scan *s, uint64_t seq,
		uint64_t off, unsigned lane)
{
	struct found *v = pm_grow(s->v, &s->cap, s->n, sizeof(*v), 64);

	if (!v)
		return pm_err(-ENOMEM, "%s: out of memory", pool->path);
	s->v = v;
	s->v[s->n++] = (struct found){ seq, off, lane };
	return 0;
}

/* Follow lane @i's chain from its hint; leaves l->tail at the chain end. */
static int chain(struct pm_pool *pool, unsigned i, struct scan *s)
{
	struct pm_lane *l = pm_lane_get(pool, i);
	uint64_t pos = l->dhint, last = 0;
	struct pm_entry e;
	int wrapped = 0, ret;

	for (;;) {
		if (pm_entry_parse(pool, l, pos, &e) == 0 && e.seq > last) {
			if (e.seq > s->r) {
				ret = push(pool, s, e.seq, pos, i);
				if (ret)
					return ret;
			}
			s->maxseq = PM_MAX(s->maxseq, e.seq);
			last = e.seq;
			pos = PM_ALIGN_UP(e.end, (uint64_t)PM_CACHELINE);
			continue;
		}
		/* The writer wraps to 0 when an entry does not fit. */
		if (wrapped || pos == 0 || pm_entry_parse(pool, l, 0, &e) ||
		    e.seq <= last)
			break;
		wrapped = 1;
		pos = 0;
	}
	l->tail = pos;
	return 0;
}

static int cmp_found(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int hint_ok(const struct pm_lane *l, uint64_t hint)
{
	return hint <= l->ring_size && !(hint % PM_CACHELINE);
}

static int lane_slot_ok(const struct pm_pool *pool, const struct pm_lane *l,
			const struct pm_lane_slot *s)
{
	return pm_le32(s->crc) == lane_slot_crc(pool->seed, s) &&
	       !s->flags && pm_le64(s->gen) && hint_ok(l, pm_le64(s->hint));
}

/* Pick lane @l's header slot: valid, highest gen.  Sets l->dhint and the
 * slot state; returns the slot, or -1 if neither is valid. */
static int lane_slot_pick(const struct pm_pool *pool, struct pm_lane *l,
			  int ok[2])
{
	const struct pm_lane_slot *s = l->hdr->slot;
	int cur;

	ok[0] = lane_slot_ok(pool, l, &s[0]);
	ok[1] = lane_slot_ok(pool, l, &s[1]);
	cur = pm_pick_copy(ok, pm_le64(s[0].gen), pm_le64(s[1].gen));
	if (cur < 0)
		return -1;
	l->hslot = cur;
	l->hgen = pm_le64(s[cur].gen);
	l->hretired = pm_le64(s[cur].retired);
	l->dhint = pm_le64(s[cur].hint);
	return cur;
}

static int lanes_read(struct pm_pool *pool, struct scan *s)
{
	for (unsigned i = 0; i < pool->nlanes; i++) {
		struct pm_lane *l = pm_lane_get(pool, i);
		int ok[2];

		if (lane_slot_pick(pool, l, ok) < 0)
			return pm_err(PM_E_CORRUPT,
				      "%s: lane %u: lane header damaged (no "
				      "valid slot); committed transactions "
				      "cannot be recovered safely",
				      pool->path, i);
		/* Recovery rewrites a lane header with a bad slot. */
		l->hslot_bad = !ok[0] || !ok[1];
		s->r = PM_MAX(s->r, l->hretired);
	}
	return 0;
}

/* The first listed bad range of user data that [roff, +len) of the data
 * area overlaps, or NULL. */
static const struct pm_pool_badblock *bad_home(const struct pm_pool *pool,
					       uint64_t roff, uint64_t len)
{
	uint64_t off = pool->data_off + roff;

	for (size_t i = 0; i < pool->nbbs; i++) {
		const struct pm_pool_badblock *b = &pool->bbs[i];

		if (b->area == PM_AREA_DATA && off < b->offset + b->length &&
		    b->offset < off + len)
			return b;
	}
	return NULL;
}

/* Replaying an entry whose home range is on a bad block would fault (a
 * store there raises SIGBUS): refuse before anything is applied, so that
 * the entry is replayed once the block is cleared. */
static int homes_ok(const struct pm_pool *pool, const struct scan *s)
{
	for (size_t k = 0; k < s->n && pool->nbbs; k++) {
		const struct pm_lane *l = pm_lane_get(pool, s->v[k].lane);
		uint64_t p = s->v[k].off;

		while (rd32(l->ring + p) == PM_REC_RANGE) {
			uint64_t roff = rd64(l->ring + p + 8);
			uint64_t len = rd64(l->ring + p + 16);
			const struct pm_pool_badblock *b =
				bad_home(pool, roff, len);

			if (b)
				return pm_err(PM_E_BADBLOCKS, "%s: committed "
					      "transaction %llu writes to user "
					      "data on a bad block [%#llx, "
					      "+%#llx): clear it ('pmtool "
					      "badblocks clear' or 'pmck "
					      "--repair'), then open again to "
					      "replay it", pool->path,
					      (unsigned long long)s->v[k].seq,
					      (unsigned long long)b->offset,
					      (unsigned long long)b->length);
			p += sizeof(struct pm_tx_range) + PM_ALIGN_UP(len, 8);
		}
	}
	return 0;
}

/* Replay in seq order, fence, then move every lane header past it. */
static int replay(struct pm_pool *pool, struct scan *s)
{
	uint64_t r = PM_MAX(s->r, s->maxseq);
	int ret = homes_ok(pool, s);

	if (ret)
		return ret;
	if (s->n) /* s->v is NULL then, and qsort() wants an array */
		qsort(s->v, s->n, sizeof(*s->v), cmp_found);
	for (size_t k = 0; k < s->n; k++)
		pm_entry_apply(pool, pm_lane_get(pool, s->v[k].lane),
			       s->v[k].off, PM_APPLY_COPY_FLUSH);
	ret = pm_map_drain(pool->map);
	if (ret)
		return ret;
	for (unsigned i = 0; i < pool->nlanes; i++) {
		struct pm_lane *l = pm_lane_get(pool, i);

		if (l->hretired == r && l->dhint == l->tail && !l->hslot_bad)
			continue;
		pm_lane_hdr_store(pool, l, r, l->tail);
		l->dhint = l->tail;
		l->hslot_bad = 0;
	}
	pool->tx_replayed = s->n;
	pool->lanes->seq = r + 1;
	if (s->n)
		pm_info("%s: replayed %zu committed transactions", pool->path,
			s->n);
	return pm_map_drain(pool->map);
}

static int recover(struct pm_pool *pool)
{
	struct scan s = { 0 };
	int ret = lanes_read(pool, &s);

	for (unsigned i = 0; !ret && i < pool->nlanes; i++)
		ret = chain(pool, i, &s);
	if (!ret)
		ret = replay(pool, &s);
	pm_free(s.v);
	return ret;
}

static int lanes_alloc(struct pm_pool *pool);
static void lanes_free(struct pm_pool *pool);

/* ---- read-only scan (pmck) ------------------------------------------------ */

static void scan_lane_report(const struct scan *s, unsigned i,
			     struct pm_tx_lane_scan *ls)
{
	for (size_t k = 0; k < s->n; k++) {
		const struct found *f = &s->v[k];

		if (f->lane != i)
			continue;
		if (!ls->pending || f->seq < ls->first_pending) {
			ls->first_pending = f->seq;
			ls->pending_off = f->off;
		}
		ls->last_pending = PM_MAX(ls->last_pending, f->seq);
		ls->pending++;
	}
}

static int in_chain(const struct scan *s, unsigned i, uint64_t off)
{
	for (size_t k = 0; k < s->n; k++)
		if (s->v[k].lane == i && s->v[k].off == off)
			return 1;
	return 0;
}

/* Valid entries with seq > R that the chain does not reach: committed
 * transactions cut off by a damaged entry before them.  Space is reused
 * only below a durable R, so nothing else can be there. */
static void scan_orphans(struct pm_pool *pool, const struct scan *s,
			 unsigned i, struct pm_tx_lane_scan *ls)
{
	const struct pm_lane *l = pm_lane_get(pool, i);
	struct pm_entry e;

	for (uint64_t off = 0; off < l->ring_size; off += PM_CACHELINE) {
		if (pm_entry_parse(pool, l, off, &e) || e.seq <= s->r ||
		    in_chain(s, i, off))
			continue;
		if (!ls->orphans || e.seq < ls->first_orphan) {
			ls->first_orphan = e.seq;
			ls->orphan_off = off;
		}
		ls->orphans++;
	}
}

static int scan_lanes(struct pm_pool *pool, struct scan *s,
		      struct pm_tx_lane_scan *ls)
{
	int ret = 0;

	for (unsigned i = 0; i < pool->nlanes; i++) {
		struct pm_lane *l = pm_lane_get(pool, i);

		ls[i].lane = i;
		ls[i].slot = lane_slot_pick(pool, l, ls[i].slot_ok);
		if (ls[i].slot < 0) {
			l->dhint = 0;
			continue;
		}
		ls[i].retired = l->hretired;
		ls[i].hint = l->dhint;
		s->r = PM_MAX(s->r, ls[i].retired);
	}
	for (unsigned i = 0; !ret && i < pool->nlanes; i++) {
		if (ls[i].slot < 0)
			continue;
		ret = chain(pool, i, s);
		ls[i].tail = pm_lane_get(pool, i)->tail;
		scan_lane_report(s, i, &ls[i]);
	}
	for (unsigned i = 0; !ret && i < pool->nlanes; i++)
		if (ls[i].slot >= 0)
			scan_orphans(pool, s, i, &ls[i]);
	return ret;
}

int pm_tx_scan(struct pm_pool *pool, uint64_t *rp, pm_tx_scan_cb cb,
	       void *arg)
{
	struct pm_tx_lane_scan *ls;
	struct scan s = { 0 };
	int ret = lanes_alloc(pool);

	if (ret)
		return ret;
	ls = pm_zalloc(pool->nlanes * sizeof(*ls));
	ret = ls ? scan_lanes(pool, &s, ls) :
		   pm_err(-ENOMEM, "%s: out of memory", pool->path);
	*rp = s.r;
	for (unsigned i = 0; !ret && i < pool->nlanes; i++)
		ret = cb(&ls[i], arg);
	pm_free(ls);
	pm_free(s.v);
	lanes_free(pool);
	return ret;
}

/* ---- module hooks -------------------------------------------------------- */

void pm_tx_lane_hdr_empty(uint32_t seed, struct pm_lane_hdr *h)
{
	/* Both slots valid from the start, so that either alone survives
	 * damage to the other. */
	h->slot[0] = lane_slot_make(seed, 0, 0, 1);
	h->slot[1] = lane_slot_make(seed, 0, 0, 2);
}

int pm_tx_format(struct pm_pool *pool)
{
	struct pm_lane_hdr h;

	pm_tx_lane_hdr_empty(pool->seed, &h);
	for (unsigned i = 0; i < pool->nlanes; i++)
		pm_map_copy(pool->map,
			    pm_pool_at(pool, pool->lanes_off +
						     (uint64_t)i * pool->lane_size),
			    &h, sizeof(h), PM_MEM_TEMPORAL);
	return pm_map_drain(pool->map);
}

static int lanes_alloc(struct pm_pool *pool)
{
	void *mem = pm_zalloc(sizeof(struct pm_lanes) + PM_CACHELINE);
	size_t sz = (size_t)pool->nlanes * sizeof(struct pm_lane);
	struct pm_lanes *ls;

	if (!mem)
		return pm_err(-ENOMEM, "%s: out of memory", pool->path);
	/* Aligned, so that the seq line holds nothing else. */
	ls = (void *)PM_ALIGN_UP((uintptr_t)mem, (uintptr_t)PM_CACHELINE);
	ls->mem = mem;
	ls->raw = pm_zalloc(sz + PM_CACHELINE);
	if (!ls->raw) {
		pm_free(mem);
		return pm_err(-ENOMEM, "%s: out of memory", pool->path);
	}
	ls->lane = (void *)PM_ALIGN_UP((uintptr_t)ls->raw,
				       (uintptr_t)PM_CACHELINE);
	ls->n = pool->nlanes;
	ls->forks = pm_fork_gen();
	ls->seq = 1;
	for (unsigned i = 0; i < ls->n; i++) {
		struct pm_lane *l = &ls->lane[i];

		l->hdr = pm_pool_at(pool, pool->lanes_off +
						  (uint64_t)i * pool->lane_size);
		l->ring = (uint8_t *)l->hdr + sizeof(struct pm_lane_hdr);
		l->ring_size = pool->lane_size - sizeof(struct pm_lane_hdr);
		l->floor = l->unretired = PM_SEQ_NONE;
	}
	pool->lanes = ls;
	return 0;
}

static void lanes_free(struct pm_pool *pool)
{
	struct pm_lanes *ls = pool->lanes;

	if (!ls)
		return;
	for (unsigned i = 0; i < ls->n; i++)
		pm_free(ls->lane[i].fifo);
	pm_free(ls->raw);
	pm_free(ls->mem);
	pool->lanes = NULL;
}

int pm_tx_boot(struct pm_pool *pool)
{
	int ret = lanes_alloc(pool);

	if (ret)
		return ret;
	ret = recover(pool);
	if (ret)
		lanes_free(pool);
	return ret;
}

/* Clean close: every entry retired, every hint at its lane's tail, so a
 * clean reopen replays nothing.  No transaction may be running. */
void pm_tx_shutdown(struct pm_pool *pool)
{
	struct pm_lanes *ls = pool->lanes;
	uint64_t r;

	if (!ls)
		return;
	if (!pm_tx_forked(pool) && pm_tx_retire_all(pool, NULL) == 0) {
		r = pm_tx_watermark(pool);
		for (unsigned i = 0; i < ls->n; i++) {
			struct pm_lane *l = &ls->lane[i];

			if (l->hretired != r || l->dhint != l->tail)
				pm_lane_hdr_store(pool, l, r, l->tail);
		}
		if (pm_map_drain(pool->map))
			pm_warn("%s: lanes not retired at close; the next "
				"open replays them", pool->path);
	}
	lanes_free(pool);
}

int pm_tx_forked(const struct pm_pool *pool)
{
	return pool->lanes &&
	       pool->lanes->forks != __atomic_load_n(&pm_forks,
						     __ATOMIC_RELAXED);
}

uint64_t pm_tx_next_seq(const struct pm_pool *pool)
{
	return pool->lanes ? __atomic_load_n(&pool->lanes->seq,
					     __ATOMIC_RELAXED) :
			     0;
}
