/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tx.c - redo-log transactions: begin, write, read, commit, abort, retire;
 * the threads that run them and the lanes they keep.
 *
 * Invariant: data reaches its home only after its entry (range records +
 * a checksummed commit record with a global seq) is durable, so a crash
 * leaves every transaction either replayable whole or absent.  Commit
 * costs one fence: the entry's lines (and the home ranges of the lane's
 * previous entry) are flushed and fenced, then the entry is applied home
 * with cached stores.  Its write-back waits for the lane's next commit
 * (or a retire).  Ring space is reused only behind a hint that both lane
 * header slots hold durably (lane.c).  Reservation at begin guarantees
 * the commit never runs out of space.
 *
 * Speed: a locked instruction waits for every earlier flush, fence and
 * non-temporal store to drain, so each one after a commit's fence is a
 * second fence.  A transaction has exactly one, the seq fetch_add in
 * commit, issued before anything of that transaction is flushed; begin
 * and end take none (lanes stay with their thread, see below), and the
 * stores between a fence and that fetch_add are kept few, since the core
 * stalls behind the fence once its store queue is full.
 */
#include <pthread.h>
#include <sched.h>

#include "arch.h"
#include "crc.h"
#include "lane.h"
#include "redo.h"
#include "testhook.h"
#include "tx.h"
#include "waitq.h"

/* Reservation overhead: a reserve covers its payload plus this many
 * range records (each padded to 8 bytes) and the commit record. */
#define PM_TX_RESERVE_RANGES 4

/*
 * A thread's slot: its token and whether it is in a transaction.  Slots
 * live as long as the process (a lane may point at one whose thread is
 * gone) and are handed to a new thread after their thread exits.
 */
struct pm_thr {
	uint64_t token;	     /* unique per thread, never reused */
	int in_tx;	     /* written by its thread only */
	struct pm_thr *next; /* all slots / the free list */
	struct pm_thr *next_free;
} __attribute__((aligned(64)));

static uint64_t tokens;
/* This thread's slot and the lane it used last (pool id + index). */
static __thread struct {
	struct pm_thr *thr;
	uint64_t pool_id;
	unsigned lane;
} tls __attribute__((tls_model("initial-exec")));

static pthread_once_t thr_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t thr_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t thr_key;
static int thr_key_ok;
/* Slots of live threads, then of exited ones (reused): the first ones
 * static, so that ordinary programs allocate nothing for them. */
#define PM_THR_STATIC 256
static struct pm_thr thr_static[PM_THR_STATIC];
static unsigned thr_nstatic;
static struct pm_thr *thr_all, *thr_free;

/* ---- fork() ---------------------------------------------------------------
 *
 * A child shares the pool's file with its parent but not the lane state:
 * its commits would take the seqs and ring space the parent uses next.
 * Handles made before a fork() refuse work in the child (pm_fork_gen(),
 * util.c).  The check costs the fast paths nothing: the child's one thread
 * loses its cached lane (begin takes the slow path, which compares
 * generations) and its slot (a transaction begun before the fork is no
 * longer this thread's).
 */

static void fork_prepare(void)
{
	pthread_mutex_lock(&thr_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&thr_lock);
}

static void fork_child(void)
{
	pthread_mutex_unlock(&thr_lock);
	tls.pool_id = 0;
	tls.thr = NULL;
}

/* ---- threads and their lanes ----------------------------------------------
 *
 * A lane stays with the thread that took it (holder), so beginning a
 * transaction takes no locked instruction: such an instruction would wait
 * for the previous commit's fence to finish draining and serialise the
 * next transaction's staging behind it.  The holder announces itself in
 * its slot (in_tx = 1), then checks that it still holds the lane.  A
 * thread that finds no free lane takes an idle one from its holder: CAS
 * holder to itself, then pm_barrier_heavy() (membarrier(): a full barrier
 * in every running thread of the process, waitq.h), then look at the old holder's slot.  Either
 * the old holder's in_tx store came before its barrier, and the thief
 * sees it and hands the lane back (it never waits for a transaction: that
 * one may wait for a lock the thief's caller holds), or its holder load
 * comes after its barrier and sees the thief, and it backs off (in_tx = 0
 * with release: the thief then sees all of its lane state).  Without
 * membarrier() begin pays a full fence instead (plain Dekker).
 */

static void thr_exit(void *arg)
{
	struct pm_thr *t = arg;

	if (__atomic_load_n(&t->in_tx, __ATOMIC_RELAXED))
		return; /* died in a transaction: its lane stays taken */
	pthread_mutex_lock(&thr_lock);
	t->next_free = thr_free;
	thr_free = t;
	pthread_mutex_unlock(&thr_lock);
}

static void thr_init(void)
{
	pm_barrier_init();
	thr_key_ok = pthread_key_create(&thr_key, thr_exit) == 0;
	/* Before any thread has a slot or a cached lane to lose in a child. */
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

__attribute__((destructor)) static void thr_fini(void)
{
	if (thr_key_ok)
		pthread_key_delete(thr_key);
}

/* This thread's slot: a freed one (under a new token) or a new one. */
static struct pm_thr *thr_get(void)
{
	struct pm_thr *t;
	void *mem;

	if (PM_LIKELY(tls.thr != NULL))
		return tls.thr;
	pthread_once(&thr_once, thr_init);
	pthread_mutex_lock(&thr_lock);
	t = thr_free;
	if (t) {
		thr_free = t->next_free;
	} else if (thr_nstatic < PM_THR_STATIC) {
		t = &thr_static[thr_nstatic++];
	} else if ((t = pm_zalloc_aligned(sizeof(*t), sizeof(*t), &mem))) {
		/* Aligned, one line per slot: only its thread writes it. */
		t->next = thr_all; /* reachable: slots are never freed */
		thr_all = t;
	}
	pthread_mutex_unlock(&thr_lock);
	if (!t)
		return NULL;
	t->token = __atomic_add_fetch(&tokens, 1, __ATOMIC_RELAXED);
	if (thr_key_ok)
		pthread_setspecific(thr_key, t);
	tls.thr = t;
	return t;
}

static uint64_t my_token(void)
{
	return tls.thr ? tls.thr->token : 0;
}

/* Enter lane @l if this thread holds it: 1, or 0 with in_tx clear. */
static inline __attribute__((always_inline)) int lane_enter(struct pm_thr *t,
							    struct pm_lane *l)
{
	__atomic_store_n(&t->in_tx, 1, __ATOMIC_RELAXED);
	pm_barrier_light();
	if (PM_LIKELY(__atomic_load_n(&l->holder, __ATOMIC_ACQUIRE) == t))
		return 1;
	__atomic_store_n(&t->in_tx, 0, __ATOMIC_RELEASE);
	return 0;
}

/* Yields a thief waits for an old holder that began just before it could
 * see the thief: one that backs off clears in_tx at once. */
#define PM_STEAL_SPINS 64

/* Give lane @l back to @h and leave the steal: 0. */
static int steal_undo(struct pm_thr *t, struct pm_lane *l, struct pm_thr *h)
{
	__atomic_compare_exchange_n(&l->holder, &t, h, 0, __ATOMIC_RELEASE,
				    __ATOMIC_RELAXED);
	__atomic_store_n(&t->in_tx, 0, __ATOMIC_RELEASE);
	return 0;
}

/*
 * Take lane @l from its idle holder @h (see above): 1 if now ours.  Our
 * own in_tx is set meanwhile, so that no third thread takes the lane from
 * us while @h may still be in it.  If @h is in a transaction after all,
 * the lane goes back to it rather than waiting for its end: that
 * transaction may be waiting for a lock our caller holds.
 */
static int lane_steal(struct pm_thr *t, struct pm_lane *l, struct pm_thr *h)
{
	if (__atomic_load_n(&h->in_tx, __ATOMIC_ACQUIRE))
		return 0;
	__atomic_store_n(&t->in_tx, 1, __ATOMIC_RELAXED);
	if (!__atomic_compare_exchange_n(&l->holder, &h, t, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED)) {
		__atomic_store_n(&t->in_tx, 0, __ATOMIC_RELEASE);
		return 0;
	}
	if (pm_barrier_heavy())
		return steal_undo(t, l, h); /* cannot make @h see us */
	for (unsigned spins = 0; __atomic_load_n(&h->in_tx, __ATOMIC_ACQUIRE);
	     spins++) {
		if (spins == PM_STEAL_SPINS)
			return steal_undo(t, l, h);
		sched_yield();
	}
	return 1;
}

/* Slow path: a lane we hold, else a free one, else an idle one. */
static struct pm_lane *lane_find(struct pm_pool *pool, struct pm_thr *t)
{
	unsigned n = pool->nlanes, start = (unsigned)(t->token % n), i;
	struct pm_lane *l;
	struct pm_thr *h;

	for (int pass = 0; pass < 3; pass++) {
		for (unsigned k = 0; k < n; k++) {
			i = (start + k) % n;
			l = pm_lane_get(pool, i);
			h = __atomic_load_n(&l->holder, __ATOMIC_ACQUIRE);
			if (pass == 1 && !h)
				__atomic_compare_exchange_n(&l->holder, &h, t,
							    0, __ATOMIC_ACQ_REL,
							    __ATOMIC_RELAXED);
			else if (pass == 2 && h && h != t)
				lane_steal(t, l, h);
			if (lane_enter(t, l)) {
				tls.pool_id = pool->id;
				tls.lane = i;
				return l;
			}
		}
	}
	return NULL;
}

/* The lane this thread keeps in @pool, entered (slot in_tx set). */
static struct pm_lane *lane_acquire(struct pm_pool *pool, struct pm_thr *t)
{
	struct pm_lane *l;

	if (PM_LIKELY(tls.pool_id == pool->id)) {
		l = pm_lane_get(pool, tls.lane);
		if (PM_LIKELY(lane_enter(t, l)))
			return l;
	}
	return lane_find(pool, t);
}

/* The transaction is over; the lane stays ours. */
static void lane_release(struct pm_lane *l)
{
	(void)l;
	__atomic_store_n(&tls.thr->in_tx, 0, __ATOMIC_RELEASE);
}

/* ---- transactions ----------------------------------------------------------- */

static uint64_t entry_need(size_t reserve)
{
	return PM_ALIGN_UP(PM_ALIGN_UP((uint64_t)reserve, 8) +
				   PM_TX_RESERVE_RANGES *
					   (sizeof(struct pm_tx_range) + 8) +
				   sizeof(struct pm_tx_commit),
			   (uint64_t)PM_CACHELINE);
}

static void tx_end(struct pm_tx *tx)
{
	tx->active = 0;
	lane_release(tx->lane);
}

/* The heap learns how a transaction that allocated or freed ended. */
static void heap_end(struct pm_tx *tx, int outcome)
{
	if (PM_UNLIKELY(tx->heap_ops)) {
		tx->pool->heap_end(tx, outcome);
		tx->heap_ops = 0;
	}
}

static int tx_start(struct pm_pool *pool, struct pm_lane *l, uint64_t need)
{
	struct pm_tx *tx = &l->tx;
	uint64_t me = my_token();
	int ret = 0;

	if (l->owner != me || !l->fifo)
		ret = pm_lane_adopt(pool, l, me);
	if (ret)
		return ret;
	tx->pool = pool;
	tx->lane = l;
	tx->token = me;
	tx->crc = pool->seed;
	tx->nranges = 0;
	tx->failed = 0;
	tx->heap_ops = 0;
	if (!pm_lane_room(l, need, &tx->start, &tx->limit))
		ret = pm_lane_make_room(pool, l, need, &tx->start, &tx->limit);
	tx->pos = tx->flushed = tx->start;
	tx->w = l->shadow;
	return ret;
}

static int begin_slow(struct pm_pool *pool, size_t reserve, struct pm_tx **txp);

/**
 * pm_tx_begin - start a transaction with reserved log space
 * @pool: the pool
 * @reserve: payload bytes the transaction may write without -ENOSPC (plus
 *           the record overhead of up to four writes)
 * @txp: receives the transaction
 *
 * Takes a lane for the calling thread, which keeps it for its later
 * transactions (a thread that finds no free lane takes over one whose
 * holder is between transactions).  One transaction per thread at a
 * time; the transaction must be written, committed and aborted by the
 * thread that began it.
 *
 * Return: 0, -EINVAL, -ENOSPC if @reserve does not fit a lane, -EBUSY if
 * this thread has a transaction open or every lane is in a transaction,
 * -ENOMEM, or the error of a failed write-back (page granularity) of what
 * another thread's last commit in the lane applied.
 */
PM_EXPORT int pm_tx_begin(struct pm_pool *pool, size_t reserve,
			  struct pm_tx **txp)
{
	struct pm_thr *t = tls.thr;
	uint64_t start, limit;
	struct pm_lane *l;
	struct pm_tx *tx;

	/* Fast path: the lane this thread keeps, room behind its hint.
	 * Few stores: they queue behind the previous commit's fence. */
	if (PM_UNLIKELY(!pool || !txp || !t || t->in_tx ||
			tls.pool_id != pool->id || reserve > pool->lane_size))
		return begin_slow(pool, reserve, txp);
	l = pm_lane_get(pool, tls.lane);
	if (PM_UNLIKELY(!lane_enter(t, l)))
		return begin_slow(pool, reserve, txp);
	if (PM_UNLIKELY(
		    l->owner != t->token ||
		    !pm_lane_room(l, entry_need(reserve), &start, &limit))) {
		lane_release(l);
		return begin_slow(pool, reserve, txp);
	}
	tx = &l->tx;
	tx->start = tx->pos = tx->flushed = start;
	tx->limit = limit;
	tx->w = l->shadow;
	tx->crc = pool->seed;
	tx->nranges = 0;
	tx->failed = 0;
	tx->active = 1;
	*txp = tx;
	return 0;
}

static int begin_slow(struct pm_pool *pool, size_t reserve, struct pm_tx **txp)
{
	struct pm_thr *t;
	struct pm_lane *l;
	uint64_t need;
	int ret;

	if (!pool || !txp)
		return pm_err(-EINVAL, "pm_tx_begin: NULL argument");
	if (pool->lanes->forks != __atomic_load_n(&pm_forks, __ATOMIC_RELAXED))
		return pm_err(PM_E_FORKED,
			      "%s: pm_tx_begin: the pool was opened "
			      "by the parent process; open it here",
			      pool->path);
	t = thr_get();
	if (!t)
		return pm_err(-ENOMEM, "%s: out of memory", pool->path);
	if (t->in_tx)
		return pm_err(-EBUSY,
			      "%s: this thread already has a "
			      "transaction open",
			      pool->path);
	need = entry_need(PM_MIN(reserve, pool->lane_size));
	if (need > pool->lane_size - sizeof(struct pm_lane_hdr))
		return pm_err(-ENOSPC,
			      "%s: reserve of %zu bytes exceeds a "
			      "lane (%llu bytes; lane_size is set at "
			      "create)",
			      pool->path, reserve,
			      (unsigned long long)pool->lane_size);
	l = lane_acquire(pool, t);
	if (!l)
		return pm_err(-EBUSY,
			      "%s: all %u lanes are in "
			      "transactions",
			      pool->path, pool->nlanes);
	ret = tx_start(pool, l, need);
	if (ret) {
		lane_release(l);
		return ret;
	}
	l->tx.active = 1;
	*txp = &l->tx;
	return 0;
}

static int tx_check(const struct pm_tx *tx, const char *fn)
{
	if (!tx || !tx->active || tx->token != my_token())
		return pm_err(-EINVAL,
			      "%s: not an open transaction of this "
			      "thread",
			      fn);
	return 0;
}

int pm_tx_check(const struct pm_tx *tx, const char *fn)
{
	return tx_check(tx, fn);
}

/* The data-area offset of [p, p+len), or -1. */
static int64_t data_off(const struct pm_pool *pool, const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p,
		  d = (uintptr_t)(pool->base + pool->data_off);

	if (a < d || !pm_range_ok(a - d, len, pool->data_size))
		return -1;
	return (int64_t)(a - d);
}

static int tx_fail(struct pm_tx *tx, int err, const char *why, size_t len)
{
	tx->failed = 1;
	return pm_err(err, "%s: transaction write of %zu bytes %s; abort it",
		      tx->pool->path, len, why);
}

/* Where the entry's byte at ring offset @pos is written now. */
static inline uint8_t *at(const struct pm_tx *tx, uint64_t pos)
{
	return tx->w + (pos - tx->start);
}

/* Is the entry still in the lane's shadow (not spilled)? */
static inline int shadowed(const struct pm_tx *tx)
{
	return tx->w == tx->lane->shadow;
}

/*
 * The entry outgrows the shadow (or a payload streams into the ring):
 * what it holds so far goes to the ring with cached stores, as the rest
 * will, all written back at commit.
 */
static __attribute__((noinline, cold)) void spill(struct pm_tx *tx)
{
	uint8_t *ring = tx->lane->ring + tx->start;

	memcpy(ring, tx->w, tx->pos - tx->start);
	tx->w = ring;
}

/*
 * The range record and its payload go into the shadow (cached, hot
 * stores) or, once spilled, the ring.  Most payloads are checksummed in
 * one pass over the bytes just written; huge ones stream around the cache
 * into the ring and are checksummed from @src (returns their
 * write-back's error).
 */
static int stage(struct pm_tx *tx, uint64_t off, const void *src, size_t len)
{
	static const uint8_t zero[8];
	int ret = 0;
	struct pm_lane *l = tx->lane;
	uint64_t p = tx->pos + sizeof(struct pm_tx_range);
	uint64_t alen = PM_ALIGN_UP((uint64_t)len, 8);
	int nt = pm_nt_pays(len, PM_NT_STAGE);
	uint8_t *d;

	if (nt && shadowed(tx))
		spill(tx);
	d = at(tx, tx->pos);
	pm_redo_put_range(d, off, len);
	if (alen != len) /* zero padding; the payload covers its start */
		pm_redo_wr64(at(tx, p + alen - 8), 0);
	/* the record before its line is written back */
	tx->crc = pm_crc_update(tx->crc, d, sizeof(struct pm_tx_range));
	if (nt) {
		/* Cached bytes so far, then the payload around the cache. */
		ret = pm_map_flush(tx->pool->map, l->ring + tx->flushed,
				   p - tx->flushed);
		ret = pm_wb_first(ret,
				  pm_map_copy_crc(tx->pool->map, l->ring + p,
						  src, len, PM_MEM_NONTEMPORAL,
						  &tx->crc));
		tx->flushed = PM_ALIGN_DOWN(p + len, (uint64_t)PM_CACHELINE);
	} else {
		tx->crc = pm_crc_copy(tx->crc, at(tx, p), src, len);
	}
	/* the padding, zeroed above: not read back from a written-back line */
	tx->crc = pm_crc_update(tx->crc, zero, alen - len);
	tx->pos = p + alen;
	tx->nranges++;
	return ret;
}

/*
 * Ask for the home lines of a small write now: commit applies it with
 * cached stores right after its fence, and a line still missing then
 * keeps the store buffer busy into the next transaction.  The miss is
 * served while this one stages, checksums and fences.  Ranges from
 * PM_PREFETCH_MAX on are left to the hardware prefetcher, which follows
 * their copy.
 */
#define PM_PREFETCH_MAX 1024

static void home_prefetch(const void *dst, size_t len)
{
	const char *p = dst;

	if (len >= PM_PREFETCH_MAX)
		return;
	for (size_t i = 0; i < len; i += PM_CACHELINE)
		__builtin_prefetch(p + i, 1, 3);
	__builtin_prefetch(p + len - 1, 1, 3);
}

/* Are @bytes and a commit record room past tx->pos?  Else try to grow
 * the lane's reach under the transaction (rare: extra fences).  An entry
 * that outgrows the shadow spills into the ring. */
static int tx_fits(struct pm_tx *tx, uint64_t bytes)
{
	uint64_t end = tx->pos + bytes + sizeof(struct pm_tx_commit);

	if (PM_UNLIKELY(bytes > tx->limit - tx->pos ||
			tx->limit - tx->pos - bytes <
				sizeof(struct pm_tx_commit)) &&
	    (end <= tx->pos || /* overflow */
	     !pm_lane_grow(tx->pool, tx->lane, &tx->limit, end)))
		return 0;
	if (PM_UNLIKELY(end - tx->start > PM_TX_SHADOW && shadowed(tx)))
		spill(tx);
	return 1;
}

/**
 * pm_tx_write - stage a write in a transaction
 * @tx: the transaction
 * @dst: where the bytes go, inside the pool's data area
 * @src: the bytes (copied now; @src may change after the call)
 * @len: how many
 *
 * The write becomes visible at dst when the transaction commits.  On any
 * error the transaction is failed: commit refuses it, abort ends it.
 *
 * Return: 0, -EINVAL (not this thread's transaction, or a range outside
 * the data area), -ENOSPC (past the reservation and the lane has no room
 * left), PM_E_TX_FAILED (an earlier write failed), or the error of a
 * failed write-back of the staged bytes (page granularity: -EIO...).
 */
PM_EXPORT int pm_tx_write(struct pm_tx *tx, void *dst, const void *src,
			  size_t len)
{
	int64_t off;
	int ret = tx_check(tx, "pm_tx_write");

	if (ret)
		return ret;
	if (tx->failed)
		return PM_E_TX_FAILED;
	off = data_off(tx->pool, dst, len);
	if (off < 0 || (!src && len))
		return tx_fail(tx, -EINVAL, "outside the data area", len);
	if (!len)
		return 0;
	if (len > UINT64_MAX / 2 ||
	    !tx_fits(tx, len + sizeof(struct pm_tx_range) + 8))
		return tx_fail(tx, -ENOSPC,
			       "does not fit the lane (lane_size is set at "
			       "create)",
			       len);
	home_prefetch(dst, len);
	/* A large write is written back while staged (an msync at PAGE
	 * granularity, synchronous): its failure is this write's. */
	ret = stage(tx, (uint64_t)off, src, len);
	if (PM_UNLIKELY(ret))
		return tx_fail(tx, ret, "could not be written back", len);
	return 0;
}

int pm_tx_room(struct pm_tx *tx, uint64_t bytes)
{
	if (tx->failed)
		return PM_E_TX_FAILED;
	if (!tx_fits(tx, bytes))
		return tx_fail(tx, -ENOSPC,
			       "(heap records) does not fit the "
			       "lane",
			       (size_t)bytes);
	return 0;
}

void pm_tx_put(struct pm_tx *tx, uint32_t type, uint64_t off, const void *src,
	       uint64_t len)
{
	uint8_t *d = at(tx, tx->pos);
	uint64_t alen = PM_ALIGN_UP(pm_redo_plen(type, len), 8);

	pm_redo_put_rec(d, type, off, len);
	if (alen) {
		pm_redo_wr64(d + sizeof(struct pm_tx_range) + alen - 8, 0);
		memcpy(d + sizeof(struct pm_tx_range), src,
		       pm_redo_plen(type, len));
	}
	tx->crc = pm_crc_update(tx->crc, d, sizeof(struct pm_tx_range) + alen);
	tx->pos += sizeof(struct pm_tx_range) + alen;
	tx->nranges++;
}

/**
 * pm_tx_read - read through a transaction
 * @tx: the transaction
 * @dst: where to copy
 * @src: what to read, inside the pool's data area
 * @len: how many bytes
 *
 * Sees the transaction's own staged writes over the data in place.
 *
 * Return: 0 or -EINVAL.
 */
PM_EXPORT int pm_tx_read(struct pm_tx *tx, void *dst, const void *src,
			 size_t len)
{
	struct pm_redo_it it;
	struct pm_redo_range r;
	int64_t soff;
	int ret = tx_check(tx, "pm_tx_read");

	if (ret)
		return ret;
	soff = data_off(tx->pool, src, len);
	if (soff < 0 || (!dst && len))
		return pm_err(-EINVAL, "pm_tx_read: range outside the data "
				       "area");
	memcpy(dst, src, len);
	/* The entry so far: its records end at tx->pos. */
	for (pm_redo_first(&it, tx->w, tx->pos - tx->start, 0);
	     pm_redo_next(&it, &r);)
		pm_redo_overlay(&r, dst, (uint64_t)soff, len);
	return 0;
}

/* The commit record, written with the entry and checksummed there. */
static void put_commit(struct pm_tx *tx, uint64_t seq)
{
	pm_redo_put_commit(at(tx, tx->pos), tx->nranges, seq,
			   tx->pos + sizeof(struct pm_tx_commit) - tx->start,
			   tx->crc);
}

/* A heap kind record at @rec of this process's own entry. */
static __attribute__((noinline, cold)) void apply_kind(uint8_t *data,
						       const uint8_t *rec)
{
	struct pm_redo_range r;

	pm_redo_decode(rec, &r);
	pm_redo_apply_kind(&r, data + r.off);
}

/*
 * Copy the entry at @r home (cached stores, written back at the lane's
 * next commit) and publish its ranges, or write back what such a copy
 * stored (its first error into *@wb).  Returns the number of ranges.  The
 * entry is one this process wrote into its own lane since open (in the
 * shadow or the ring), nothing read from media, so its records are walked
 * without the bounds of pm_redo_next(): that walk cost the commit path of
 * a one-write transaction a sixth of its rate.
 */
static inline __attribute__((always_inline)) unsigned
apply(const struct pm_pool *pool, struct pm_lane *l, const uint8_t *r, int copy,
      int *wb)
{
	uint8_t *data = pool->base + pool->data_off;
	uint64_t roff, len;
	unsigned n = 0;

	for (;; n++) {
		uint32_t type = (uint32_t)pm_redo_rd64(r);

		if (type != PM_REC_RANGE && !pm_redo_kind_ok(type, 8))
			return n;
		roff = pm_redo_rd64(r + offsetof(struct pm_tx_range, off));
		len = pm_redo_rd64(r + offsetof(struct pm_tx_range, len));
		if (PM_UNLIKELY(type != PM_REC_RANGE) && copy)
			apply_kind(data, r);
		r += sizeof(struct pm_tx_range);
		if (copy) {
			if (PM_LIKELY(type == PM_REC_RANGE))
				pm_map_store(pool->map, data + roff, r, len);
			pm_lane_pub_put(l, n, roff, len);
		} else {
			*wb = pm_wb_first(*wb, pm_map_flush(pool->map,
							    data + roff, len));
		}
		r += PM_ALIGN_UP(pm_redo_plen(type, len), 8);
	}
}

/* Entry durable: apply it, list it, publish it as the lane's unretired. */
static inline __attribute__((always_inline)) void
finish(struct pm_tx *tx, uint64_t seq, uint64_t end)
{
	struct pm_lane *l = tx->lane;
	unsigned n = 0;

	pm_lane_unpublish(l);
	if (!pm_tx_test_skip_apply)
		n = apply(tx->pool, l, tx->w, 1, NULL);
	pm_lane_publish(l, seq, tx->start, end, n);
}

/*
 * The entry's own write-back failed (PAGE: its msync), so it may or may
 * not be on the media: the commit fails and is undone as if it had never
 * begun.  Its commit record is cleared and written back under a fence of
 * its own: once that holds, no recovery finds the entry whole, so
 * "nothing committed" stays true across a crash (a crash before it is one
 * during pm_tx_commit(), which keeps all or nothing).  If that write-back
 * fails too, the entry may still be whole on the media until the lane's
 * next commit rewrites it, and a crash may replay it: the error then says
 * the outcome is unknown.  The lane's tail stays and its floor goes, as a
 * commit leaves them; the seq stays unused.
 */
static __attribute__((cold)) int commit_undo(struct pm_tx *tx, int err)
{
	struct pm_lane *l = tx->lane;
	struct pm_pool *pool = tx->pool;
	int ret;

	pm_redo_wr64(l->ring + tx->pos, 0);
	ret = pm_map_persist(pool->map, l->ring + tx->pos, 8);
	__atomic_store_n(&l->floor, PM_SEQ_NONE, __ATOMIC_RELEASE);
	heap_end(tx, ret ? PM_TX_END_UNKNOWN : PM_TX_END_ABORTED);
	tx_end(tx);
	if (ret)
		return pm_err(err,
			      "%s: commit: the entry could not be written "
			      "back (%s) nor cleared (%s); outcome unknown: "
			      "a crash may still replay it",
			      pool->path, pm_strerror(err), pm_strerror(ret));
	return pm_err(err,
		      "%s: commit: the entry could not be written back: "
		      "%s; nothing committed",
		      pool->path, pm_strerror(err));
}

/*
 * The entry goes to the ring.  From the shadow, as whole lines streamed
 * around the cache: a cached copy would first read the ring lines that
 * their last write-back evicted (clwb does on some CPUs), and apply would
 * read them again after the fence.  The bytes past the commit record to
 * the line's end are zeroed.  A spilled entry is in the ring already: its
 * lines are written back.
 */
static int entry_out(struct pm_tx *tx, uint64_t end)
{
	const struct pm_map *map = tx->pool->map;
	uint8_t *ring = tx->lane->ring;
	uint64_t n = end - tx->start;

	if (!shadowed(tx))
		return pm_map_flush(map, ring + tx->flushed, end - tx->flushed);
	memset(at(tx, end), 0, PM_ALIGN_UP(n, (uint64_t)PM_CACHELINE) - n);
	return pm_map_copy(map, ring + tx->start, tx->w,
			   PM_ALIGN_UP(n, (uint64_t)PM_CACHELINE),
			   PM_MEM_NONTEMPORAL);
}

/* Everything of a commit after its seq: record, flushes, the fence,
 * apply.  Out of line, so that its register saves come after the locked
 * instruction rather than before it (stores queued before the fence
 * completes stall the core once the store queue is full). */
static __attribute__((noinline)) int commit_tail(struct pm_tx *tx, uint64_t seq)
{
	struct pm_lane *l = tx->lane;
	struct pm_pool *pool = tx->pool;
	uint64_t end, hint = 0;
	unsigned k;
	int ret = 0, wb;

	put_commit(tx, seq);
	end = tx->pos + sizeof(struct pm_tx_commit);
	k = pm_lane_commit_hdr(pool, l, tx->start, end, &hint, &ret);
	/* The previous entry's home ranges go back under this same fence:
	 * from its published ranges while they are exact, since its ring
	 * lines are not in the cache. */
	if (__atomic_load_n(&l->unretired, __ATOMIC_RELAXED) != PM_SEQ_NONE) {
		uint64_t n = __atomic_load_n(&l->pub_n, __ATOMIC_RELAXED);

		if (n <= PM_LANE_PUB_MAX)
			pm_lane_pub_flush(pool, l->pub, n, &ret);
		else
			apply(pool, l, l->ring + l->last_off, 0, &ret);
	}
	wb = entry_out(tx, end);
	/* the durability point */
	ret = pm_wb_first(ret, PM_UNLIKELY(pm_test_break & PM_BREAK_TX_FENCE) ?
				       0 :
				       pm_map_drain(pool->map));
	pm_lane_settle(l, k, hint);
	if (PM_UNLIKELY(wb))
		return commit_undo(tx, wb);
	finish(tx, seq, end);
	heap_end(tx, PM_TX_END_COMMITTED);
	tx_end(tx);
	if (ret)
		return pm_err(ret, "%s: commit: %s; durability unknown",
			      pool->path, pm_strerror(ret));
	return 0;
}

/**
 * pm_tx_commit - make a transaction's writes durable and visible
 * @tx: the transaction; ended by this call whatever it returns
 *
 * One fence: when it returns 0 the writes survive any crash.
 *
 * Return: 0, -EINVAL, PM_E_TX_FAILED (a write failed: nothing was
 * committed), or the error of an msync that failed (page granularity):
 * of the transaction's entry, then the writes are not applied and the
 * entry is cleared on the media, so nothing is committed, unless that
 * clearing could not be written back either: the outcome is then unknown
 * (the log message says which), a crash before the lane's next commit may
 * still replay the entry; of the lane's bookkeeping (a lane header, the
 * home ranges of its previous commit), then the writes are applied and
 * their durability is unknown.
 */
PM_EXPORT int pm_tx_commit(struct pm_tx *tx)
{
	struct pm_lanes *ls;
	int ret = tx_check(tx, "pm_tx_commit");

	if (PM_UNLIKELY(ret || tx->failed || !tx->nranges)) {
		if (!ret) {
			heap_end(tx, PM_TX_END_ABORTED);
			tx_end(tx);
		}
		return ret ? ret : tx->failed ? PM_E_TX_FAILED : 0;
	}
	ls = tx->pool->lanes;
	/*
	 * The one locked instruction of a transaction, with nothing flushed
	 * or streamed before it in this transaction (it would wait for that,
	 * a second fence).  The floor is a plain store: the fetch_add
	 * releases it, so a watermark reader whose acquire load of seq sees
	 * our increment also sees the floor (or the later unretired), and a
	 * reader that does not see it gets seq <= ours and clamps R to it.
	 */
	__atomic_store_n(&tx->lane->floor,
			 __atomic_load_n(&ls->seq, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	return commit_tail(tx,
			   __atomic_fetch_add(&ls->seq, 1, __ATOMIC_RELEASE));
}

/**
 * pm_tx_abort - drop a transaction's staged writes and end it
 * @tx: the transaction, or NULL; a transaction already ended is ignored
 */
PM_EXPORT void pm_tx_abort(struct pm_tx *tx)
{
	if (tx && tx->active && tx->token == my_token()) {
		heap_end(tx, PM_TX_END_ABORTED);
		tx_end(tx);
	}
}

/**
 * pm_tx_retire - retire every committed transaction of a pool
 * @pool: the pool
 *
 * Writes back the application of every transaction committed before the
 * call (by any thread of this process), then moves a lane header past
 * them with a fence: recovery never replays them, so data they wrote may
 * then be written directly (pm_persist()) without a crash ever putting
 * their bytes back.  Waits only for commits in flight in other threads.
 * Costs three fences (one more per 64 lanes beyond the first 64) and a
 * write-back of each lane's last transaction.
 *
 * Return: 0, -EINVAL, -EBUSY (this thread has a transaction open, or
 * every lane is in a transaction), -ENOMEM, PM_E_FORKED, -EIO if the
 * watermark stays below with nothing in flight (damage to the library's
 * own state: never a hang), or the error of a failed write-back (page
 * granularity: -EIO...).
 */
PM_EXPORT int pm_tx_retire(struct pm_pool *pool)
{
	struct pm_tx *tx;
	struct pm_lane *l;
	uint64_t target, last = PM_SEQ_NONE;
	int stuck = 0, ret = begin_slow(pool, 0, &tx);

	if (ret)
		return ret;
	l = tx->lane;
	/* Every commit that returned before this call has a seq below. */
	target = __atomic_load_n(&pool->lanes->seq, __ATOMIC_ACQUIRE) - 1;
	for (;;) {
		ret = pm_lane_retire(pool, l);
		if (ret || l->hretired >= target)
			break;
		stuck = pm_lanes_wait_progress(pool, target, &last);
		if (stuck)
			break;
	}
	tx_end(tx);
	if (stuck)
		return pm_err(-EIO,
			      "%s: pm_tx_retire: the retire watermark stays at "
			      "%llu, below seq %llu, with nothing in flight",
			      pool->path, (unsigned long long)last,
			      (unsigned long long)target);
	if (ret)
		return pm_err(ret, "%s: pm_tx_retire: %s", pool->path,
			      pm_strerror(ret));
	return 0;
}
