/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lane.c - the bookkeeping of the transaction lanes: the lane header's two
 * slots, the entries a lane still holds, the retire watermark, retiring
 * and ring space.
 *
 * Invariant: a lane header's retired = R is durable only once every entry
 * with seq <= R is applied and its application durable (a fence by the
 * thread that flushed it, or a re-flush and fence by the thread that
 * claims it); hint is at or before the lane's oldest entry with seq > R.
 * The header is two checksummed slots; a write goes to the slot not in
 * use, and a fence separates two writes to one lane, so a crash leaves the
 * slot in use valid and the newest valid slot (highest gen) is the
 * header.  Ring space is reused only once both slots hold the retired and
 * hint that free it: a commit writes the watermark and hint into one slot
 * (before its fence, only past entries whose application is durable), the
 * lane's next commit the same into the other, and only after that one's
 * fence does the space become free.  So recovery from either slot alone
 * (the other one damaged) never meets reused space, and every entry freed
 * under it has a seq <= the retired value both slots hold.
 */
#include <sched.h>

#include "crc.h"
#include "lane.h"

/* ---- the lanes of a pool ------------------------------------------------- */

int pm_lanes_alloc(struct pm_pool *pool)
{
	size_t sz = (size_t)pool->nlanes * sizeof(struct pm_lane);
	void *mem;
	/* Aligned, so that the seq line holds nothing else. */
	struct pm_lanes *ls = pm_zalloc_aligned(sizeof(*ls), PM_CACHELINE,
						&mem);

	if (!ls)
		return pm_err(-ENOMEM, "%s: out of memory", pool->path);
	ls->mem = mem;
	ls->lane = pm_zalloc_aligned(sz, PM_CACHELINE, &ls->raw);
	ls->used = pm_zalloc((pool->nlanes + 63) / 64 * sizeof(*ls->used));
	if (!ls->lane || !ls->used) {
		pm_free(ls->raw);
		pm_free(ls->used);
		pm_free(mem);
		return pm_err(-ENOMEM, "%s: out of memory", pool->path);
	}
	ls->n = pool->nlanes;
	ls->seq = 1;
	for (unsigned i = 0; i < ls->n; i++) {
		struct pm_lane *l = &ls->lane[i];

		l->hdr = pm_pool_at(pool,
				    pool->lanes_off +
					    (uint64_t)i * pool->lane_size);
		l->ring = (uint8_t *)l->hdr + sizeof(struct pm_lane_hdr);
		l->ring_size = pool->lane_size - sizeof(struct pm_lane_hdr);
		l->lim = l->hreach = l->ring_size;
		l->floor = l->unretired = PM_SEQ_NONE;
	}
	pool->lanes = ls;
	return 0;
}

void pm_lanes_free(struct pm_pool *pool)
{
	struct pm_lanes *ls = pool->lanes;

	if (!ls)
		return;
	for (unsigned i = 0; i < ls->n; i++) {
		pm_free(ls->lane[i].fifo);
		pm_free(ls->lane[i].shadow_mem);
	}
	pm_free(ls->used);
	pm_free(ls->raw);
	pm_free(ls->mem);
	pool->lanes = NULL;
}

uint64_t pm_lanes_watermark(struct pm_pool *pool)
{
	struct pm_lanes *ls = pool->lanes;
	/* Acquire: every lane whose seq is below m has its floor (or the
	 * unretired stored before the floor was cleared) visible below. */
	uint64_t m = __atomic_load_n(&ls->seq, __ATOMIC_ACQUIRE);

	/* A lane set up after that load only commits with a seq >= m. */
	for (unsigned w = 0; w < (ls->n + 63) / 64; w++) {
		uint64_t bits = __atomic_load_n(&ls->used[w], __ATOMIC_ACQUIRE);

		for (; bits; bits &= bits - 1) {
			struct pm_lane *l =
				&ls->lane[w * 64 +
					  (unsigned)__builtin_ctzll(bits)];
			/* Each loaded once: PM_MIN evaluates an argument
			 * twice, and a floor cleared between two loads made
			 * m PM_SEQ_NONE. */
			uint64_t f = __atomic_load_n(&l->floor,
						     __ATOMIC_ACQUIRE);
			uint64_t u = __atomic_load_n(&l->unretired,
						     __ATOMIC_ACQUIRE);

			m = PM_MIN(m, PM_MIN(f, u));
		}
	}
	return m - 1;
}

/* Wait until no commit with a seq <= @seq is in flight; how many lanes
 * had one. */
static unsigned wait_inflight(struct pm_pool *pool, uint64_t seq)
{
	struct pm_lanes *ls = pool->lanes;
	unsigned waited = 0;

	/* An idle lane (floor PM_SEQ_NONE) is never waited for. */
	seq = PM_MIN(seq, PM_SEQ_NONE - 1);
	for (unsigned i = 0; i < ls->n; i++) {
		uint64_t f = __atomic_load_n(&ls->lane[i].floor,
					     __ATOMIC_ACQUIRE);

		waited += f <= seq;
		/* A commit never waits for anything: its floor changes. */
		while (f <= seq && __atomic_load_n(&ls->lane[i].floor,
						   __ATOMIC_ACQUIRE) == f)
			sched_yield();
	}
	return waited;
}

int pm_lanes_wait_progress(struct pm_pool *pool, uint64_t seq, uint64_t *lastp)
{
	uint64_t w = pm_lanes_watermark(pool);

	if (wait_inflight(pool, seq)) {
		*lastp = PM_SEQ_NONE;
		return 0;
	}
	if (w == *lastp)
		return 1;
	*lastp = w;
	return 0;
}

/* Lanes retired under one fence.  Their seqs are kept on the stack, so
 * that retiring, and with it closing a pool, allocates nothing. */
#define RETIRE_CHUNK 64U

/* Retire lanes [from, from + n), n <= RETIRE_CHUNK: one fence. */
static int retire_some(struct pm_pool *pool, unsigned from, unsigned n)
{
	struct pm_lanes *ls = pool->lanes;
	uint64_t us[RETIRE_CHUNK], u;
	int ret = 0;

	/* Applications are written back lazily: flush every one. */
	for (unsigned i = 0; i < n; i++)
		us[i] = pm_lane_reflush(pool, &ls->lane[from + i], &ret);
	ret = pm_wb_first(ret, pm_map_drain(pool->map));
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

int pm_lanes_retire_all(struct pm_pool *pool)
{
	struct pm_lanes *ls = pool->lanes;
	int ret = 0;

	for (unsigned i = 0; !ret && i < ls->n; i += RETIRE_CHUNK)
		ret = retire_some(pool, i, PM_MIN(ls->n - i, RETIRE_CHUNK));
	return ret;
}

/*
 * Make both slots of every lane header hold (@r, the lane's tail), so
 * that either slot alone is a safe start for a later recovery; only then
 * may the ring behind the tail be reused.  Up to two fences.
 */
int pm_lanes_park(struct pm_pool *pool, uint64_t r)
{
	int ret = 0;

	for (int pass = 0; pass < 2 && !ret; pass++) {
		int wrote = 0;

		for (unsigned i = 0; i < pool->nlanes; i++) {
			struct pm_lane *l = pm_lane_get(pool, i);

			if (l->hsynced && l->hretired >= r &&
			    l->hhint == l->tail && l->lim == l->hreach)
				continue;
			ret = pm_wb_first(ret, pm_lane_hdr_store(pool, l, r,
								 l->tail));
			wrote = 1;
		}
		if (wrote)
			ret = pm_wb_first(ret, pm_map_drain(pool->map));
	}
	for (unsigned i = 0; !ret && i < pool->nlanes; i++) {
		struct pm_lane *l = pm_lane_get(pool, i);

		l->dhint = l->tail;
		l->lim = l->hreach; /* both slots hold it now */
	}
	return ret;
}

/* ---- the lane header ----------------------------------------------------- */

static uint32_t lane_slot_crc(uint32_t seed, const struct pm_lane_slot *s)
{
	return pm_crc_final(
		pm_crc_update(seed, s, offsetof(struct pm_lane_slot, crc)));
}

struct pm_lane_slot pm_lane_slot_make(uint32_t seed, uint64_t retired,
				      uint64_t hint, uint64_t gen,
				      uint64_t reach)
{
	struct pm_lane_slot s = {
		.retired = pm_le64(retired),
		.hint = pm_le64(hint),
		.gen = pm_le64(gen),
		.reach = pm_le32((uint32_t)(reach / PM_CACHELINE)),
	};

	s.crc = pm_le32(lane_slot_crc(seed, &s));
	return s;
}

static int hint_ok(const struct pm_lane *l, uint64_t hint)
{
	return hint <= l->ring_size && !(hint % PM_CACHELINE);
}

/* The reach a slot holds, in bytes. */
static uint64_t slot_reach(const struct pm_lane_slot *s)
{
	return (uint64_t)pm_le32(s->reach) * PM_CACHELINE;
}

static int reach_ok(const struct pm_pool *pool, const struct pm_lane *l,
		    const struct pm_lane_slot *s)
{
	if (!(pool->features & PM_HDR_F_REACH))
		return !s->reach;
	return s->reach && slot_reach(s) <= l->ring_size;
}

/* Why slot @s of lane @l is not valid, or NULL if it is. */
static const char *slot_bad(const struct pm_pool *pool, const struct pm_lane *l,
			    const struct pm_lane_slot *s)
{
	if (pm_le32(s->crc) != lane_slot_crc(pool->seed, s))
		return "checksum mismatch";
	if (!reach_ok(pool, l, s))
		return "reach out of range";
	if (!pm_le64(s->gen) || pm_le64(s->gen) >= PM_SEQ_MAX)
		return "gen out of range";
	if (pm_le64(s->retired) >= PM_SEQ_MAX)
		return "retired out of range";
	if (!hint_ok(l, pm_le64(s->hint)))
		return "hint out of range";
	return NULL;
}

int pm_lane_slot_pick(const struct pm_pool *pool, struct pm_lane *l, int ok[2],
		      const char *why[2])
{
	const struct pm_lane_slot *s = l->hdr->slot;
	int cur;

	for (int i = 0; i < 2; i++) {
		const char *w = slot_bad(pool, l, &s[i]);

		ok[i] = !w;
		if (why)
			why[i] = w;
	}
	cur = pm_pick_copy(ok, pm_le64(s[0].gen), pm_le64(s[1].gen));
	l->hslot = cur < 0 ? 1 : cur;
	l->hgen = cur < 0 ? 0 : pm_le64(s[cur].gen);
	l->hretired = cur < 0 ? 0 : pm_le64(s[cur].retired);
	l->hhint = cur < 0 ? UINT64_MAX : pm_le64(s[cur].hint);
	l->dhint = cur < 0 ? 0 : l->hhint;
	l->hsynced = ok[0] && ok[1] && s[0].retired == s[1].retired &&
		     s[0].hint == s[1].hint;
	if (cur >= 0 && (pool->features & PM_HDR_F_REACH)) {
		uint64_t r0 = ok[0] ? slot_reach(&s[0]) : slot_reach(&s[1]);
		uint64_t r1 = ok[1] ? slot_reach(&s[1]) : r0;

		l->lim = PM_MIN(r0, r1);
		l->hreach = PM_MAX(r0, r1);
	}
	return cur;
}

/*
 * The slot not in use is the one rewritten: the caller fenced since the
 * previous write to this lane header, so the slot in use is durable and a
 * crash during this write still finds it valid.  The whole slot goes in
 * plain stores (a torn one fails its checksum) and one flush: no fence.
 */
int pm_lane_hdr_store(const struct pm_pool *pool, struct pm_lane *l,
		      uint64_t retired, uint64_t hint)
{
	struct pm_lane_slot s;
	int idx = !l->hslot, ret;

	/* A true claim stays true: never lower it. */
	retired = PM_MAX(retired, l->hretired);
	s = pm_lane_slot_make(pool->seed, retired, hint, l->hgen + 1,
			      (pool->features & PM_HDR_F_REACH) ? l->hreach :
								  0U);
	pm_map_store(pool->map, &l->hdr->slot[idx], &s, sizeof(s));
	ret = pm_map_flush(pool->map, &l->hdr->slot[idx], sizeof(s));
	/* The slot in use until now becomes the other one. */
	l->hsynced = retired == l->hretired && hint == l->hhint;
	l->hslot = idx;
	l->hgen++;
	l->hretired = retired;
	l->hhint = hint;
	return ret;
}

int pm_lane_hdr_set(const struct pm_pool *pool, struct pm_lane *l,
		    uint64_t retired, uint64_t hint)
{
	int ret = 0;

	for (int i = 0; i < 2 && !ret; i++) {
		ret = pm_lane_hdr_store(pool, l, retired, hint);
		ret = pm_wb_first(ret, pm_map_drain(pool->map));
	}
	l->hlag = 0;
	return ret;
}

/* ---- one lane, by its holder --------------------------------------------- */

/*
 * When a commit advances the watermark into the lane header: every so
 * many entries or bytes.  Often enough that a crash leaves little to
 * replay (recovery's work) and the lane little ring space in use (its
 * reach stays small), seldom enough that the header's store and flush,
 * which ride a commit's fence, cost the commits nothing.  Past a lag
 * (other lanes hold the watermark back) the next try comes after half as
 * much again.
 */
#define PM_LANE_TRIG_N 16U
#define PM_LANE_TRIG_BYTES (256U << 10)

static unsigned trig_n(const struct pm_lane *l)
{
	return PM_MAX(PM_MIN(l->fifo_cap / 4, PM_LANE_TRIG_N), 1U);
}

static uint64_t trig_bytes(const struct pm_lane *l)
{
	return PM_MIN(l->ring_size / 4, (uint64_t)PM_LANE_TRIG_BYTES);
}

int pm_lane_adopt(struct pm_pool *pool, struct pm_lane *l, uint64_t me)
{
	int ret = 0;

	if (!l->shadow) {
		l->shadow = pm_zalloc_aligned(PM_TX_SHADOW, PM_CACHELINE,
					      &l->shadow_mem);
		if (!l->shadow)
			return pm_err(-ENOMEM, "%s: out of memory", pool->path);
	}
	if (!l->fifo) {
		size_t i = (size_t)(l - pool->lanes->lane);

		l->fifo_cap = (unsigned)PM_MIN(l->ring_size / PM_CACHELINE,
					       PM_LANE_FIFO_MAX);
		l->fifo = pm_malloc(l->fifo_cap * sizeof(*l->fifo));
		if (!l->fifo)
			return pm_err(-ENOMEM, "%s: out of memory", pool->path);
		l->trig_n = trig_n(l);
		l->trig_bytes = trig_bytes(l);
		/* Before any floor of this lane: see pm_lanes_watermark(). */
		__atomic_fetch_or(&pool->lanes->used[i / 64], 1ULL << (i % 64),
				  __ATOMIC_RELEASE);
	}
	pm_lane_reflush(pool, l, &ret);
	if (ret)
		return pm_err(ret,
			      "%s: the lane's last commit could not be "
			      "written back home: %s",
			      pool->path, pm_strerror(ret));
	l->owner = me;
	return 0;
}

/* The seqlock's read side (lane.h): the ranges are copied, then unretired
 * must still be @u, else the holder rewrote them meanwhile. */
uint64_t pm_lane_reflush(const struct pm_pool *pool, struct pm_lane *l, int *wb)
{
	uint64_t u = __atomic_load_n(&l->unretired, __ATOMIC_ACQUIRE);
	struct pm_lane_pub pub[PM_LANE_PUB_MAX];
	uint64_t n;

	if (u == PM_SEQ_NONE)
		return PM_SEQ_NONE;
	n = __atomic_load_n(&l->pub_n, __ATOMIC_RELAXED);
	n = PM_MIN(n, (uint64_t)PM_LANE_PUB_MAX); /* one load: see above */
	for (uint64_t i = 0; i < n; i++) {
		pub[i].off = __atomic_load_n(&l->pub[i].off, __ATOMIC_RELAXED);
		pub[i].len = __atomic_load_n(&l->pub[i].len, __ATOMIC_RELAXED);
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&l->unretired, __ATOMIC_RELAXED) != u)
		return PM_SEQ_NONE;
	pm_lane_pub_flush(pool, pub, n, wb);
	return u;
}

void pm_lane_pub_flush(const struct pm_pool *pool,
		       const struct pm_lane_pub *pub, uint64_t n, int *wb)
{
	for (uint64_t i = 0; i < n; i++)
		if (pm_range_ok(pub[i].off, pub[i].len, pool->data_size))
			*wb = pm_wb_first(*wb,
					  pm_map_flush(pool->map,
						       pool->base +
							       pool->data_off +
							       pub[i].off,
						       pub[i].len));
}

/* How many listed entries the watermark (*rp) covers, and the hint past
 * them: the next listed entry, or @cur if there is none. */
static unsigned retirable(struct pm_pool *pool, struct pm_lane *l, uint64_t cur,
			  uint64_t *hintp, uint64_t *rp)
{
	uint64_t r = pm_lanes_watermark(pool);
	unsigned k = 0;

	while (k < l->fifo_n && pm_fifo_at(l, k)->seq <= r)
		k++;
	*hintp = k < l->fifo_n ? pm_fifo_at(l, k)->off : cur;
	*rp = r;
	return k;
}

/*
 * Advance the watermark into the lane header's newest slot (store +
 * flush, no fence).  The ring space stays in use until the other slot
 * says the same (the lane's next commit, see pm_lane_settle()), so that a
 * recovery from either slot never meets reused space.
 * @cur: ring offset of the entry being committed (the oldest one left if
 * all listed entries are retired).  Returns how many entries to drop.
 */
unsigned pm_lane_advance(struct pm_pool *pool, struct pm_lane *l, uint64_t cur,
			 uint64_t *hintp, int *wb)
{
	uint64_t r;
	unsigned k = retirable(pool, l, cur, hintp, &r);

	if (k)
		*wb = pm_lane_hdr_store(pool, l, r, *hintp);
	return k;
}

void pm_lane_advanced(struct pm_lane *l, unsigned k, uint64_t hint)
{
	if (!k)
		return;
	l->fifo_head = (l->fifo_head + k) % l->fifo_cap;
	l->fifo_n -= k;
	l->dhint = hint;
	l->trig_n = PM_MAX(trig_n(l), l->fifo_n + trig_n(l) / 2);
	l->trig_bytes = PM_MAX(trig_bytes(l),
			       pm_lane_used(l, l->tail) + trig_bytes(l) / 2);
}

/* Drop every listed entry; the lane restarts at ring offset 0. */
static void emptied(struct pm_lane *l)
{
	l->fifo_head = l->fifo_n = 0;
	l->tail = l->dhint = 0;
	l->trig_n = trig_n(l);
	l->trig_bytes = trig_bytes(l);
}

int pm_lane_retire(struct pm_pool *pool, struct pm_lane *l)
{
	uint64_t hint, r;
	unsigned k;
	int ret = pm_lanes_retire_all(pool), empty;

	if (ret)
		return ret;
	k = retirable(pool, l, 0, &hint, &r);
	empty = k == l->fifo_n;
	/* Both slots, each under its own fence, before space is reused. */
	ret = k || empty ? pm_lane_hdr_set(pool, l, r, empty ? 0 : hint) : 0;
	if (ret)
		return ret;
	if (empty)
		emptied(l);
	else
		pm_lane_advanced(l, k, hint);
	return 0;
}

/*
 * Raise lane @l's reach, at least doubled, so that @need bytes fit past
 * its tail if the ring allows: both slots carry it (two fences) before
 * the writer goes past the old one.  What the newest slot already said
 * (an advance both slots did not hold yet) holds in both then.
 */
static int lane_raise(struct pm_pool *pool, struct pm_lane *l, uint64_t need)
{
	uint64_t r = PM_MAX(2 * l->lim, PM_ALIGN_UP(l->tail + need,
						    (uint64_t)PM_CACHELINE));
	int lag = l->hlag, ret;

	l->hreach = PM_MIN(r, l->ring_size);
	ret = pm_lane_hdr_set(pool, l, l->hretired, l->hhint);
	if (ret)
		return ret;
	l->lim = l->hreach;
	if (lag)
		pm_lane_advanced(l, l->hlag_k, l->hlag_hint);
	return 0;
}

int pm_lane_grow(struct pm_pool *pool, struct pm_lane *l, uint64_t *limitp,
		 uint64_t end)
{
	if (*limitp != l->lim || l->lim >= l->ring_size || end > l->ring_size ||
	    lane_raise(pool, l, end))
		return 0;
	*limitp = l->lim;
	return end <= l->lim;
}

int pm_lane_make_room(struct pm_pool *pool, struct pm_lane *l, uint64_t need,
		      uint64_t *startp, uint64_t *limitp)
{
	uint64_t last = PM_SEQ_NONE, seq;
	int ret;

	if (l->lim < l->ring_size) {
		ret = lane_raise(pool, l, l->tail + need);
		if (ret || pm_lane_room(l, need, startp, limitp))
			return ret;
	}
	for (;;) {
		ret = pm_lane_retire(pool, l);
		if (ret)
			return ret;
		if (pm_lane_room(l, need, startp, limitp))
			return 0;
		/*
		 * The watermark is below this lane's oldest entry.  An entry
		 * committed after the retire above is retired by the next
		 * pass; a commit in flight (floor set, its thread maybe
		 * preempted) is waited for, since it waits for nothing.
		 */
		seq = pm_fifo_at(l, 0)->seq;
		if (pm_lanes_wait_progress(pool, seq, &last))
			return pm_err(-EIO,
				      "%s: lane %u: no room, and its oldest "
				      "entry (seq %llu) stays above the "
				      "retire watermark (%llu) with nothing "
				      "in flight",
				      pool->path,
				      (unsigned)(l - pm_lane_get(pool, 0)),
				      (unsigned long long)seq,
				      (unsigned long long)last);
	}
}
