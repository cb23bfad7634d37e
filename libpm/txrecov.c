/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * txrecov.c - the lanes at create, open and close: empty lane headers at
 * create, recovery at open (and its read-only scan for pmck), the clean
 * retire at close.
 *
 * Invariant: lane headers and ring space follow lane.c's rules, so a
 * crash leaves at least one valid slot per lane header; neither slot valid
 * is damage, never a crash: recovery refuses.
 * Recovery takes R as the maximum over the lanes, follows each lane's
 * chain from hint (64-byte aligned entries of strictly increasing seq,
 * wrapping to offset 0 at most once), replays every valid entry with
 * seq > R in seq order, and only after a fence moves both slots of every
 * lane header past them, with retired = the highest seq present in any
 * ring: no seq on media is issued again, so no new chain can reach an
 * old entry.  A valid entry with seq > R that no chain reaches (an
 * orphan: cut off by a damaged entry) makes recovery refuse, and pmck
 * reports it from the same scan.  A torn, stale or foreign entry fails
 * its checksum or its seq order and ends the chain; nothing read from the
 * ring is used unchecked.
 */
#include <stdlib.h>

#include "lane.h"
#include "redo.h"
#include "txrecov.h"

/* ---- recovery ------------------------------------------------------------ */

struct found {
	uint64_t seq;
	uint64_t off;
	unsigned lane;
};

/* One scan of every lane, the same for recovery and pm_tx_scan(), so that
 * what open refuses and what pmck calls unrepairable cannot differ. */
struct scan {
	struct found *v; /* chain entries with seq > r, lane after lane */
	size_t n, cap;
	uint64_t r;   /* the retire watermark: max over the valid headers */
	uint64_t rd;  /* r raised over the entries of lanes without a valid
		      * header: what discarding retires without replay */
	uint64_t top; /* the highest seq of a valid entry above r, or r */
	struct pm_tx_lane_scan *ls; /* per lane */
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

/* The valid entry at ring offset @off of lane @l: 0 or -1.  Nothing at
 * or past the lane's reach was ever written (layout.h). */
static int entry_at(const struct pm_pool *pool, const struct pm_lane *l,
		    uint64_t off, struct pm_redo_entry *e)
{
	return pm_redo_parse(pool, l->ring, l->hreach, off, e);
}

/* Follow lane @i's chain from its hint; leaves l->tail at the chain end. */
static int chain(struct pm_pool *pool, unsigned i, struct scan *s)
{
	struct pm_lane *l = pm_lane_get(pool, i);
	uint64_t pos = l->dhint, last = 0;
	struct pm_redo_entry e;
	int wrapped = 0, ret;

	for (;;) {
		if (entry_at(pool, l, pos, &e) == 0 && e.seq > last) {
			if (e.seq > s->r) {
				ret = push(pool, s, e.seq, pos, i);
				if (ret)
					return ret;
			}
			s->top = PM_MAX(s->top, e.seq);
			last = e.seq;
			pos = PM_ALIGN_UP(e.end, (uint64_t)PM_CACHELINE);
			continue;
		}
		/* The writer wraps to 0 when an entry does not fit. */
		if (wrapped || pos == 0 || entry_at(pool, l, 0, &e) ||
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

static void lanes_read(struct pm_pool *pool, struct scan *s)
{
	for (unsigned i = 0; i < pool->nlanes; i++) {
		struct pm_tx_lane_scan *ls = &s->ls[i];
		struct pm_lane *l = pm_lane_get(pool, i);

		ls->lane = i;
		ls->slot = pm_lane_slot_pick(pool, l, ls->slot_ok,
					     ls->slot_why);
		ls->retired = l->hretired;
		ls->hint = l->dhint;
		if (ls->slot >= 0)
			s->r = PM_MAX(s->r, l->hretired);
	}
	s->top = s->r;
}

/* Payload bytes of the valid entry at @off. */
static uint64_t entry_bytes(const struct pm_lane *l, uint64_t off)
{
	struct pm_redo_it it;
	struct pm_redo_range r;
	uint64_t n = 0;

	for (pm_redo_first(&it, l->ring, l->ring_size, off);
	     pm_redo_next(&it, &r);)
		n += r.len;
	return n;
}

/* Is (seq, off) in the chain entries s->v[lo, hi), which rise in seq? */
static int in_chain(const struct scan *s, size_t lo, size_t hi, uint64_t seq,
		    uint64_t off)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].seq == seq)
			return s->v[mid].off == off;
		if (s->v[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static void lane_drop(struct pm_tx_lane_scan *ls, uint64_t seq, uint64_t bytes)
{
	if (!ls->dropped || seq < ls->first_dropped)
		ls->first_dropped = seq;
	ls->last_dropped = PM_MAX(ls->last_dropped, seq);
	ls->dropped_bytes += bytes;
	ls->dropped++;
}

/*
 * Valid entries of lane @i with seq > R that its chain (entries s->v[lo,
 * s->n)) does not reach, or all of them in a lane without a valid header:
 * committed transactions that recovery cannot replay.  Ring space is
 * reused only below a retired value both header slots hold, so without
 * damage nothing else is there.  Every 64-byte offset below the lane's
 * reach is tried (all of the ring without a valid header), the type word
 * and the seq before the checksum.
 */
static void scan_orphans(struct pm_pool *pool, struct scan *s, unsigned i,
			 size_t lo)
{
	const struct pm_lane *l = pm_lane_get(pool, i);
	struct pm_tx_lane_scan *ls = &s->ls[i];
	uint64_t floor = ls->slot < 0 ? 0 : s->r;
	struct pm_redo_entry e;

	for (uint64_t off = 0; off < l->hreach; off += PM_CACHELINE) {
		if (pm_redo_peek_seq(l->ring, l->hreach, off) <= floor ||
		    entry_at(pool, l, off, &e) || e.seq <= floor)
			continue;
		ls->top = PM_MAX(ls->top, e.seq);
		if (e.seq <= s->r || in_chain(s, lo, s->n, e.seq, off))
			continue;
		if (!ls->orphans || e.seq < ls->first_orphan) {
			ls->first_orphan = e.seq;
			ls->orphan_off = off;
		}
		ls->last_orphan = PM_MAX(ls->last_orphan, e.seq);
		ls->orphans++;
		lane_drop(ls, e.seq, entry_bytes(l, off));
		s->top = PM_MAX(s->top, e.seq);
	}
}

/* What discarding drops besides the orphans: a lane without a valid
 * header lost its retired value, so everything its ring holds counts as
 * retired (rd), and chain entries of other lanes up to that are dropped,
 * never replayed over what such a lane applied after them. */
static void scan_discard(struct pm_pool *pool, struct scan *s)
{
	s->rd = s->r;
	for (unsigned i = 0; i < pool->nlanes; i++)
		if (s->ls[i].slot < 0)
			s->rd = PM_MAX(s->rd, s->ls[i].top);
	for (size_t k = 0; k < s->n && s->rd > s->r; k++)
		if (s->v[k].seq <= s->rd)
			lane_drop(&s->ls[s->v[k].lane], s->v[k].seq,
				  entry_bytes(pm_lane_get(pool, s->v[k].lane),
					      s->v[k].off));
}

/* The one scan: headers, chains, orphans, pending counts. */
static int scan_run(struct pm_pool *pool, struct scan *s)
{
	int ret = 0;

	s->ls = pm_zalloc(pool->nlanes * sizeof(*s->ls));
	if (!s->ls)
		return pm_err(-ENOMEM, "%s: out of memory", pool->path);
	lanes_read(pool, s);
	for (unsigned i = 0; !ret && i < pool->nlanes; i++) {
		struct pm_tx_lane_scan *ls = &s->ls[i];
		size_t lo = s->n;

		if (ls->slot >= 0)
			ret = chain(pool, i, s);
		ls->tail = pm_lane_get(pool, i)->tail;
		for (size_t k = lo; k < s->n; k++) {
			if (!ls->pending) {
				ls->first_pending = s->v[k].seq;
				ls->pending_off = s->v[k].off;
			}
			ls->last_pending = s->v[k].seq;
			ls->pending++;
		}
		if (!ret)
			scan_orphans(pool, s, i, lo);
	}
	if (!ret)
		scan_discard(pool, s);
	return ret;
}

/* Damage that recovery cannot get past without dropping committed data. */
static int scan_damage(const struct pm_pool *pool, const struct scan *s)
{
	for (unsigned i = 0; i < pool->nlanes; i++) {
		const struct pm_tx_lane_scan *ls = &s->ls[i];

		if (ls->slot < 0)
			return pm_err(PM_E_CORRUPT,
				      "%s: lane %u: lane header damaged (no "
				      "valid slot); committed transactions "
				      "cannot be recovered safely",
				      pool->path, i);
		if (ls->orphans)
			return pm_err(PM_E_CORRUPT,
				      "%s: lane %u: committed transaction "
				      "%llu (%llu in all, up to seq %llu) cut "
				      "off by a damaged entry at ring offset "
				      "%#llx: it cannot be replayed; 'pmck "
				      "--discard-damaged' drops it",
				      pool->path, i,
				      (unsigned long long)ls->first_orphan,
				      (unsigned long long)ls->orphans,
				      (unsigned long long)ls->last_orphan,
				      (unsigned long long)ls->tail);
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
		const struct pm_pool_badblock *b = NULL;
		struct pm_redo_it it;
		struct pm_redo_range r;

		pm_redo_first(&it, l->ring, l->ring_size, s->v[k].off);
		while (!b && pm_redo_next(&it, &r))
			b = bad_home(pool, r.off, r.len);
		if (b)
			return pm_err(PM_E_BADBLOCKS,
				      "%s: committed transaction "
				      "%llu writes to user data on a bad block "
				      "[%#llx, +%#llx): clear it ('pmtool "
				      "badblocks clear' or 'pmck --repair'), "
				      "then open again to replay it",
				      pool->path,
				      (unsigned long long)s->v[k].seq,
				      (unsigned long long)b->offset,
				      (unsigned long long)b->length);
	}
	return 0;
}

/* Discarding (pmck --discard-damaged): keep only what is replayed, and
 * say what is dropped. */
static void discard(struct pm_pool *pool, struct scan *s)
{
	struct pm_tx_drop *d = &pool->tx_dropped;
	size_t n = 0;

	for (unsigned i = 0; i < pool->nlanes; i++) {
		const struct pm_tx_lane_scan *ls = &s->ls[i];

		if (!ls->dropped)
			continue;
		if (!d->n || ls->first_dropped < d->first)
			d->first = ls->first_dropped;
		d->last = PM_MAX(d->last, ls->last_dropped);
		d->bytes += ls->dropped_bytes;
		d->n += ls->dropped;
		if (ls->slot < 0)
			pm_lane_get(pool, i)->tail = 0;
	}
	for (size_t k = 0; k < s->n; k++)
		if (s->v[k].seq > s->rd)
			s->v[n++] = s->v[k];
	s->n = n;
	if (d->n)
		pm_warn("%s: discarded %llu committed transactions (seq "
			"%llu..%llu, %llu bytes)",
			pool->path, (unsigned long long)d->n,
			(unsigned long long)d->first,
			(unsigned long long)d->last,
			(unsigned long long)d->bytes);
}

/* Replay in seq order, fence, then move every lane header past it: every
 * seq present in a ring is then retired, and none is issued again. */
static int replay(struct pm_pool *pool, struct scan *s)
{
	int ret = homes_ok(pool, s);

	if (ret)
		return ret;
	if (s->n) /* s->v is NULL then, and qsort() wants an array */
		qsort(s->v, s->n, sizeof(*s->v), cmp_found);
	for (size_t k = 0; k < s->n; k++) {
		const struct pm_lane *l = pm_lane_get(pool, s->v[k].lane);

		ret = pm_wb_first(ret,
				  pm_redo_replay(pool, l->ring, l->ring_size,
						 s->v[k].off));
	}
	ret = pm_wb_first(ret, pm_map_drain(pool->map));
	if (!ret)
		ret = pm_lanes_park(pool, s->top);
	if (ret)
		return ret;
	pool->tx_replayed = s->n;
	pool->lanes->seq = s->top + 1;
	if (s->n)
		pm_info("%s: replayed %zu committed transactions", pool->path,
			s->n);
	return 0;
}

static int recover(struct pm_pool *pool)
{
	struct scan s = { 0 };
	int ret = scan_run(pool, &s);

	if (!ret && (pool->flags & PM_POOL_DISCARD))
		discard(pool, &s);
	else if (!ret)
		ret = scan_damage(pool, &s);
	if (!ret)
		ret = replay(pool, &s);
	pm_free(s.ls);
	pm_free(s.v);
	return ret;
}

/* ---- read-only scan (pmck) ------------------------------------------------ */

int pm_tx_scan(struct pm_pool *pool, uint64_t *rp, pm_tx_scan_cb cb, void *arg)
{
	struct scan s = { 0 };
	int ret = pm_lanes_alloc(pool);

	if (ret)
		return ret;
	ret = scan_run(pool, &s);
	*rp = s.r;
	for (unsigned i = 0; !ret && i < pool->nlanes; i++)
		ret = cb(&s.ls[i], arg);
	pm_free(s.ls);
	pm_free(s.v);
	pm_lanes_free(pool);
	return ret;
}

/* Apply the entry at @off of lane @l to @data, a private copy of the data
 * area, with plain stores: what replay would write, nothing flushed. */
static void apply_dry(const struct pm_pool *pool, const struct pm_lane *l,
		      uint64_t off, uint8_t *data)
{
	struct pm_redo_it it;
	struct pm_redo_range r;

	for (pm_redo_first(&it, l->ring, l->ring_size, off);
	     pm_redo_next(&it, &r);) {
		if (!pm_range_ok(r.off, r.len, pool->data_size))
			return;
		if (r.type == PM_REC_RANGE)
			memcpy(data + r.off, r.src, r.len);
		else if (pm_redo_rec_ok(pool, &r))
			pm_redo_apply_kind(&r, data + r.off);
	}
}

int pm_tx_replay_dry(struct pm_pool *pool, uint8_t *data, uint64_t *np)
{
	struct scan s = { 0 };
	int ret = pm_lanes_alloc(pool);

	if (ret)
		return ret;
	ret = scan_run(pool, &s);
	if (!ret)
		ret = scan_damage(pool, &s);
	if (!ret && s.n)
		qsort(s.v, s.n, sizeof(*s.v), cmp_found);
	for (size_t k = 0; !ret && k < s.n; k++)
		apply_dry(pool, pm_lane_get(pool, s.v[k].lane), s.v[k].off,
			  data);
	*np = s.n;
	pm_free(s.ls);
	pm_free(s.v);
	pm_lanes_free(pool);
	return ret;
}

/* ---- module hooks -------------------------------------------------------- */

void pm_tx_lane_hdr_empty(uint32_t seed, uint64_t reach, struct pm_lane_hdr *h)
{
	/* Both slots valid from the start, so that either alone survives
	 * damage to the other. */
	h->slot[0] = pm_lane_slot_make(seed, 0, 0, 1, reach);
	h->slot[1] = pm_lane_slot_make(seed, 0, 0, 2, reach);
}

int pm_tx_format(struct pm_pool *pool)
{
	struct pm_lane_hdr h;
	int ret = 0;

	pm_tx_lane_hdr_empty(
		pool->seed,
		(pool->features & PM_HDR_F_REACH) ?
			PM_MIN((uint64_t)PM_LANE_REACH_INIT,
			       pool->lane_size - sizeof(struct pm_lane_hdr)) :
			0,
		&h);
	for (unsigned i = 0; i < pool->nlanes; i++)
		ret = pm_wb_first(
			ret,
			pm_map_copy(pool->map,
				    pm_pool_at(pool,
					       pool->lanes_off +
						       (uint64_t)i *
							       pool->lane_size),
				    &h, sizeof(h), PM_MEM_TEMPORAL));
	return pm_wb_first(ret, pm_map_drain(pool->map));
}

int pm_tx_boot(struct pm_pool *pool)
{
	int ret = pm_lanes_alloc(pool);

	if (ret)
		return ret;
	pool->lanes->forks = pm_fork_gen();
	ret = recover(pool);
	if (ret)
		pm_lanes_free(pool);
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
	if (!pm_tx_forked(pool) && pm_lanes_retire_all(pool) == 0) {
		r = pm_lanes_watermark(pool);
		if (pm_lanes_park(pool, r))
			pm_warn("%s: lanes not retired at close; the next "
				"open replays them",
				pool->path);
	}
	pm_lanes_free(pool);
}

int pm_tx_forked(const struct pm_pool *pool)
{
	return pool->lanes &&
	       pool->lanes->forks !=
		       __atomic_load_n(&pm_forks, __ATOMIC_RELAXED);
}

uint64_t pm_tx_next_seq(const struct pm_pool *pool)
{
	return pool->lanes ?
		       __atomic_load_n(&pool->lanes->seq, __ATOMIC_RELAXED) :
		       0;
}
