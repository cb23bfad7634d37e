/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * log.c - append-only record log in a ring, with checksummed records.
 *
 * Crash-consistency invariant: the log is the chain of records that starts
 * at the position and sequence number of the valid slot with the highest
 * gen, and continues while the next record (at the end of the previous one,
 * or at offset 0 if it is not there) has seq == previous + 1 (or is a gap
 * marker with a higher seq), a gen neither lower than the previous one's
 * nor higher than the slot's, a length that fits the ring and a matching
 * CRC32C.  An append copies its records, flushes them and issues one
 * fence; it returns only after every record with a lower seq is durable
 * too, so the chain holds every acknowledged record unless the media was
 * damaged.  Records are written only into free space, which truncation
 * creates by writing both slots in turn with the new start (a fence each)
 * before any append may reuse it, never by erasing records.
 *
 * Slots: every slot write takes the other slot's gen + 1, at open and at
 * truncation (twice), so both slots hold the same start and start_seq
 * except between a truncation's two writes, when the older one still
 * points at records nobody has overwritten (the truncation has not
 * returned).  A clean close writes both alike, gen included ("sealed"),
 * which nothing else does.  Falling back to the older slot when the newer one is
 * damaged therefore finds the same records; it only allows one gen more
 * (the damaged slot's) for them.
 *
 * What lies past the chain: the free space holds either records of
 * appends in flight when a session crashed, all of the newest slot's gen,
 * or acknowledged records cut off by damage.  The first kind are dropped
 * by recovery (erased, then a fence, then the new slot), so they never
 * outlive the open after the crash; any later slot write (truncation,
 * clean close, open) happens after every append of the older gens has
 * returned.  So a valid record past the chain with a gen below the newest
 * slot's is damage, and so is anything past the chain of a sealed log:
 * open refuses (PM_E_CORRUPT) and pm_pool_check() calls it fatal, both
 * from the same scan, unless a destructive repair asks to drop them; then
 * a gap marker above the highest dropped seq keeps it from reuse.  A
 * record that fails its checks says nothing by its gen: a crash may keep
 * any 8-byte word of an append and lose the others, and the old gen word
 * left under a new seq word may be below the newest slot's gen (that of
 * the record or close marker overwritten, of payload bytes).  Unless the
 * log is sealed, a failing record claiming the next seq is a torn append.
 * Every open writes a new slot with a higher gen before the first append,
 * which makes records left behind a torn tail unable to join the chain.
 * Every slot write also records (low 32 bits of) the seq after the last
 * acknowledged record; no append is in flight then.  A chain that ends
 * below the trusted slot's record lost acknowledged records, whatever the
 * damage left (the last record before a truncation, hit in any byte, with
 * only newer appends after it): open refuses that too.
 *
 * Recovery reads the chain, and past its end only a window (window()):
 * appends write nowhere else while others are in flight, so that is where
 * a crash leaves their records.  When both slots are valid, the newer
 * one's acked seq finds every record acknowledged before it was written
 * lost, wherever damage left it (the window only erases what appends in
 * flight left); with a slot damaged, all the free space is read.
 *
 * A short record of an append alone in flight may be written as whole
 * lines (write_whole()): the previous record's bytes in its first line
 * are stored again with the values they hold (a crash keeps either, the
 * same), and its last line's bytes after it are free space, up to the
 * log's head at most, zeroed.
 */
#include <pthread.h>

#include "arch.h"
#include "crc.h"
#include "log.h"
#include "safe.h"
#include "testhook.h"
#include "waitq.h"

#define REC_HDR ((uint64_t)sizeof(struct pm_log_rec))
/* The window, at most: see window(). */
#define LOG_WINDOW (1U << 20)
/* The largest record written as whole lines: see write_whole(). */
#define LOG_WHOLE_MAX 512U

struct pm_log {
	struct pm_map *map;
	struct pm_log_hdr *hdr;
	uint8_t *ring;
	uint64_t cap; /* ring bytes, a multiple of 8 */
	uint32_t seed;
	pthread_mutex_t lock;	  /* reservation state below */
	pthread_rwlock_t walkers; /* walks (read) vs truncation (write) */
	int slot;		  /* index of the current slot */
	uint64_t gen;
	uint64_t head; /* ring offset of first_seq */
	uint64_t first_seq;
	uint64_t tail; /* where the next record is placed (or wraps from) */
	uint64_t used; /* bytes from head to tail, wrap gaps included */
	uint64_t next_seq;
	uint64_t stop;	   /* where recovery's scan looked for next_seq last */
	uint64_t last_gen; /* gen of the chain's last record, 0 if empty */
	int sealed;	   /* recovery found the log closed cleanly */
	uint32_t acked32;  /* the trusted slot's acked (0: not recorded) */
	uint64_t closed;   /* ring offset of the close marker that ended
			    * the chain, UINT64_MAX if none */
	uint64_t done_seq; /* atomic: every seq below it is durable */
	uint64_t done_pos; /* atomic: where record done_seq goes */
	uint64_t nt_line;  /* under lock: the last line of the last
			      * reservation alone in flight, which it may
			      * write whole (write_whole()) */
	uint64_t shadow_pos;	 /* atomic: ring offset of the line shadow
			      * holds as it is in the ring, UINT64_MAX if
			      * none; an append not alone voids it */
	uint8_t shadow[64];	 /* appends alone */
	uint64_t scan_win;	 /* recovery: window() if the scan past the
			    * chain may be bounded, else 0 (all of it) */
	struct pm_waitq done_wq; /* woken when done_seq moves */
	int err;		 /* atomic: sticky write-back error */
	uint64_t bad_seq; /* first seq not acknowledged, once err is set */
	unsigned forks;	  /* pm_fork_gen() at open */
};

static __thread const struct pm_log *walking;

/* Inherited over fork(): the log is the parent's to write. */
static int forked(const struct pm_log *log)
{
	return log &&
	       log->forks != __atomic_load_n(&pm_forks, __ATOMIC_RELAXED);
}

static uint64_t rec_size(uint64_t len)
{
	return PM_ALIGN_UP(REC_HDR + len, 8);
}

/*
 * Appends in flight write only near the chain's end, so that recovery
 * need not read the whole free space to find what they left: every record
 * an append writes starts at most window() bytes (in ring order) after
 * the end of the last acknowledged append, after the end of a record made
 * durable before it, or at offset 0 (write_batch()).  1 MiB, or the ring
 * if smaller (then all of it is read); tests may make it smaller.
 */
static uint64_t window(const struct pm_log *log)
{
	uint64_t w = pm_test_log_window ? pm_test_log_window : LOG_WINDOW;

	return PM_MIN(w, log->cap);
}

/* Bytes from ring offset @a on to @b, in ring order. */
static uint64_t ahead(const struct pm_log *log, uint64_t a, uint64_t b)
{
	return b >= a ? b - a : log->cap - a + b;
}

static struct pm_log_rec *rec_at(const struct pm_log *log, uint64_t pos)
{
	return (struct pm_log_rec *)(log->ring + pos);
}

/* Payload bytes of a record already validated. */
static uint32_t rec_len(const struct pm_log_rec *r)
{
	return pm_le32(r->len) & PM_LOG_LEN_MASK;
}

/* A marker, not a record: a gap marker (seq above the one expected) or a
 * close marker (the seq expected; see pm_log_area_seal()). */
static int is_marker(const struct pm_log_rec *r)
{
	return !!(pm_le32(r->len) & PM_LOG_REC_SKIP);
}

/* Fill @h but its crc; returns the raw checksum over its seq, gen and
 * len word (flag included), to be continued over the payload. */
static uint32_t rec_head(const struct pm_log *log, struct pm_log_rec *h,
			 uint64_t seq, uint64_t gen, uint32_t word)
{
	*h = (struct pm_log_rec){ .seq = pm_le64(seq),
				  .gen = pm_le64(gen),
				  .len = pm_le32(word) };
	return pm_crc_update(log->seed, h, offsetof(struct pm_log_rec, crc));
}

static uint32_t slot_crc(uint32_t seed, const struct pm_log_slot *s)
{
	return pm_crc_final(
		pm_crc_update(seed, s, offsetof(struct pm_log_slot, crc)));
}

/* ---- slots ---- */

static int slot_ok(const struct pm_log_slot *s, uint64_t cap, uint32_t seed)
{
	return pm_le32(s->crc) == slot_crc(seed, s) && pm_le64(s->gen) &&
	       pm_le64(s->start_seq) && pm_le64(s->start) < cap &&
	       !(pm_le64(s->start) & 7);
}

/* Write slot @idx whole and make it durable: one fence. */
static int slot_write(struct pm_map *map, struct pm_log_hdr *hdr, int idx,
		      uint64_t start, uint64_t start_seq, uint64_t gen,
		      uint64_t acked, uint32_t seed)
{
	struct pm_log_slot s = {
		.start = pm_le64(start),
		.start_seq = pm_le64(start_seq),
		.gen = pm_le64(gen),
		.acked = pm_le32((uint32_t)acked),
	};

	s.crc = pm_le32(slot_crc(seed, &s));
	pm_map_store(map, &hdr->slot[idx], &s, sizeof(s));
	return pm_map_persist(map, &hdr->slot[idx], sizeof(s));
}

static int area_check(struct pm_map *map, void *area, uint64_t size)
{
	if (!map || !area || size < PM_LOG_MIN_SIZE ||
	    !pm_map_contains(map, area, size) || ((uintptr_t)area & 7))
		return pm_err(-EINVAL,
			      "log area of %llu bytes at %p is not "
			      "inside the mapping or too small",
			      (unsigned long long)size, area);
	return 0;
}

/**
 * pm_log_area_format - write an empty log over a raw area
 * @map: the mapping holding the area
 * @area: 8-byte aligned start of the log header
 * @size: bytes of the area (>= PM_LOG_MIN_SIZE)
 * @seed: CRC32C seed (from the pool UUID)
 *
 * Return: 0, or a negative errno.
 */
int pm_log_area_format(struct pm_map *map, void *area, uint64_t size,
		       uint32_t seed)
{
	struct pm_log_hdr *hdr = area;
	int ret = area_check(map, area, size);

	if (ret)
		return ret;
	/* Both slots alike, as a clean close leaves them: the area's old
	 * bytes hold no record of this seed, and a slot that is not valid
	 * would make recovery read all of the ring. */
	ret = slot_write(map, hdr, 1, 0, 1, 1, 1, seed);
	return ret ? ret : slot_write(map, hdr, 0, 0, 1, 1, 1, seed);
}

/* ---- recovery ---- */

/* Does the record at @pos carry @seq (or is it a gap marker above it)? */
static int seq_fits(const struct pm_log_rec *r, uint64_t seq)
{
	uint64_t s = pm_le64(r->seq);

	return s == seq || (s > seq && (pm_le32(r->len) & PM_LOG_REC_SKIP));
}

/* Is there a valid record *seqp at @pos (or a gap marker above it, whose
 * seq *seqp is then set to)?  Sets *sizep, *genp and *endp (it ends an
 * append). */
static int rec_valid(const struct pm_log *log, uint64_t pos, uint64_t *seqp,
		     uint64_t min_gen, uint64_t *sizep, uint64_t *genp,
		     int *endp)
{
	const struct pm_log_rec *r;
	struct pm_log_rec h;
	uint64_t gen, seq;
	uint32_t word, len, crc;

	if (pos > log->cap || log->cap - pos < REC_HDR)
		return 0;
	r = rec_at(log, pos);
	gen = pm_le64(r->gen);
	word = pm_le32(r->len);
	len = word & PM_LOG_LEN_MASK;
	seq = pm_le64(r->seq);
	if (!seq_fits(r, *seqp) || gen < min_gen || gen > log->gen ||
	    rec_size(len) > log->cap - pos)
		return 0;
	crc = rec_head(log, &h, seq, gen, word);
	crc = pm_crc_final(pm_crc_update(crc, r + 1, len));
	if (crc != pm_le32(r->crc))
		return 0;
	*seqp = seq;
	*sizep = rec_size(len);
	*genp = gen;
	*endp = !!(word & PM_LOG_REC_END);
	return 1;
}

/* Mark a wrap point found by recovery, so walks need no checksums.  A
 * read-only scan (no map) leaves the area alone.  Returns the write-back's
 * error. */
static int mark_wrap(struct pm_log *log, uint64_t pos)
{
	if (!log->map || log->cap - pos < REC_HDR || !rec_at(log, pos)->seq)
		return 0;
	pm_map_store_fill(log->map, rec_at(log, pos), 0, 8);
	return pm_map_flush(log->map, rec_at(log, pos), 8);
}

/* Where the chain stood after the last record that ended an append. */
struct scan_end {
	uint64_t seq, pos, used, gen;
};

/*
 * A gap marker (seq above the one expected) was written by a destructive
 * repair, whose open then recorded an acknowledged seq above it in the
 * slot.  A close marker is no gap: met where a damaged record made the
 * scan look at offset 0, it would skip acknowledged records.
 */
static int gap_ok(const struct pm_log *log, uint64_t seq)
{
	uint32_t d = log->acked32 - (uint32_t)seq;

	return !log->acked32 || (d && d < 1U << 31);
}

/* Follow the chain from the slot's start; sets head, tail, used, next.
 * Records after the last one that ends an append (a batch cut short by a
 * crash) are left out. */
static int scan(struct pm_log *log, uint64_t start)
{
	uint64_t pos = start, seq = log->first_seq, gen = 0;
	uint64_t size, used = 0, n = 0;
	struct scan_end e = { seq, start, 0, 0 };
	int end, err = 0;

	log->closed = UINT64_MAX;
	for (;;) {
		uint64_t gap = 0, at = pos, want = seq;

		if (!rec_valid(log, at, &seq, gen, &size, &gen, &end)) {
			if (!pos ||
			    !rec_valid(log, 0, &seq, gen, &size, &gen, &end))
				break;
			at = 0;
			gap = n ? log->cap - pos : 0;
		}
		if (used + gap + size > log->cap)
			break;
		if (seq == want && is_marker(rec_at(log, at))) {
			log->closed = at; /* a close marker ends the chain */
			break;
		}
		if (seq != want && !gap_ok(log, seq))
			break;
		if (at != pos && n)
			err = pm_wb_first(err, mark_wrap(log, pos));
		if (!n)
			log->head = at;
		used += gap + size;
		pos = at + size;
		seq++;
		n++;
		if (end)
			e = (struct scan_end){ seq, pos, used, gen };
	}
	log->next_seq = e.seq;
	log->stop = e.pos;
	log->last_gen = e.gen;
	log->used = e.used;
	log->tail = e.used ? e.pos : 0;
	log->done_pos = log->tail;
	if (!e.used)
		log->head = 0;
	return err;
}

/*
 * Ring offset of a record that claims to be the one after the chain's end
 * (seq == next_seq where the scan stopped, or at 0 after a wrap) but fails
 * its checks: a torn append, or a damaged last record.  UINT64_MAX if none,
 * and if a close marker ends the chain: that is the one after it, and a
 * header at 0 with its seq is left from a batch an earlier crash tore.
 */
static uint64_t torn_at(const struct pm_log *log)
{
	uint64_t at[2] = { log->stop, 0 };

	for (int i = 0; i < 2 && log->closed == UINT64_MAX; i++)
		if (log->cap - at[i] >= REC_HDR &&
		    pm_le64(rec_at(log, at[i])->seq) == log->next_seq)
			return at[i];
	return UINT64_MAX;
}

/* What lies past the chain's end: a record claiming the next seq that
 * fails its checks, and valid records that could have continued it. */
struct past {
	uint64_t torn; /* torn_at(), UINT64_MAX if none */
	uint64_t n;    /* valid records (and markers) past the end */
	uint64_t last; /* highest seq they say is lost */
	uint64_t off;  /* ring offset of the first one met */
	int acked;     /* some were acknowledged: damage */
};

/* A valid record at @pos that could continue the chain: seq from next_seq
 * on, gen from the chain's last record's up to the newest slot's. */
static int past_rec(const struct pm_log *log, uint64_t pos, uint64_t *seqp,
		    uint64_t *sizep, uint64_t *genp)
{
	uint64_t seq = pm_le64(rec_at(log, pos)->seq);
	int end;

	if (seq < log->next_seq || seq - log->next_seq > log->cap / REC_HDR + 1)
		return 0;
	*seqp = seq;
	return rec_valid(log, pos, seqp, log->last_gen, sizep, genp, &end);
}

/* Zero the seq word at @pos (made durable by a fence before the slot
 * write that follows), so that no later scan meets the record. */
static int erase(struct pm_log *log, uint64_t pos)
{
	pm_map_store_fill(log->map, rec_at(log, pos), 0, 8);
	return pm_map_flush(log->map, rec_at(log, pos), 8);
}

/*
 * The trusted slot says which seqs were acknowledged when it was written
 * (a slot write waits for every append in flight): a chain that ends
 * below that lost acknowledged records, however damage left them (a
 * record that fails its checks, its seq or gen word hit, nothing at all).
 */
static void past_acked(const struct pm_log *log, struct past *p)
{
	uint32_t d = log->acked32 - (uint32_t)log->next_seq;

	if (!log->acked32 || !d || d >= 1U << 31)
		return;
	p->acked = 1;
	p->last = PM_MAX(p->last, log->next_seq + d - 1);
	if (p->torn == UINT64_MAX && p->off == UINT64_MAX)
		p->off = log->stop;
}

/*
 * Look through the free part of the ring, from where the scan stopped to
 * the head, for what lies past the chain (and erase it if @wipe).  Appends
 * write only there, in seq order, so a valid record found there is either
 * of an append in flight when the last session crashed (its gen is the
 * newest slot's: no slot was written after it) or acknowledged and cut
 * off by damage (gen below the newest slot's: a truncation, a clean close
 * or an open wrote a slot after its append returned, and an open erases
 * what a crash left in flight before it writes its slot).  A failing
 * record claiming next_seq is a torn append, since its gen word may be
 * stale.  In a sealed log (closed cleanly) all of it was acknowledged.
 *
 * With log->scan_win set, only part of the free space is read: from where
 * the scan stopped and from offset 0 (if the free space wraps there), each
 * until scan_win bytes pass with no valid record starting, and none of it
 * after a clean close.  Appends in flight write nowhere else (window());
 * acknowledged records beyond are still found lost, by the slot's acked
 * seq (past_acked()).
 */
static int find_past(struct pm_log *log, struct past *p, int wipe)
{
	uint64_t pos = log->stop, left = log->cap - log->used;
	uint64_t win = log->scan_win ? log->scan_win : UINT64_MAX;
	uint64_t budget = win, seq, size, gen;
	int err = 0;

	*p = (struct past){ .torn = torn_at(log), .off = UINT64_MAX };
	if (p->torn != UINT64_MAX) {
		/* Its gen word is no witness: a crash may have kept the new
		 * seq word and an old gen word (payload or an older record
		 * of the chain's last gen), so only a seal makes it damage. */
		p->acked = log->sealed;
	}
	/* A sealed log whose chain ends at its close marker had no append
	 * in flight: its acked seq (past_acked()) says all there is. */
	if (log->scan_win && log->sealed && log->closed != UINT64_MAX)
		left = 0;
	while (left >= REC_HDR) {
		uint64_t step = 8;

		if (pos > log->cap - REC_HDR || !budget) {
			if (left <= log->cap - pos)
				break; /* the free space ends before the ring */
			left -= log->cap - pos;
			pos = 0;
			budget = win;
			continue;
		}
		budget -= PM_MIN(budget, step);
		if (pos != log->closed &&
		    past_rec(log, pos, &seq, &size, &gen) &&
		    (!is_marker(rec_at(log, pos)) || seq-- > log->next_seq)) {
			/* a marker is no record: the seqs below it are */
			if (!p->n++)
				p->off = pos;
			p->last = PM_MAX(p->last, seq);
			p->acked |= log->sealed || gen < log->gen;
			step = PM_MIN(size, left);
			budget = win;
			if (wipe)
				err = pm_wb_first(err, erase(log, pos));
		}
		pos += step;
		left -= step;
	}
	/* Last: the scan steps over it if it is valid (an append's first
	 * record whose last one did not make it). */
	if (wipe && p->torn != UINT64_MAX)
		err = pm_wb_first(err, erase(log, p->torn));
	past_acked(log, p);
	return err;
}

/* The seqs lost past the chain: from next_seq to the highest found. */
static void past_range(const struct pm_log *log, const struct past *p,
		       uint64_t *lo, uint64_t *hi)
{
	*lo = log->next_seq;
	*hi = p->n || p->last ? PM_MAX(p->last, *lo) : *lo;
}

static int put_marker(struct pm_log *log, uint64_t seq);

/*
 * Recovery drops what lies past the chain for good, and says so.  Records
 * never acknowledged are erased.  Acknowledged ones (destructive repair)
 * are put behind a gap marker above the highest seq, durable before the
 * new slot, so that no crash can leave them gone with their seqs free.
 */
static int drop_past(struct pm_log *log, const struct past *p)
{
	uint64_t n, lo, hi;
	struct past again;
	int ret;

	if (!p->n && p->torn == UINT64_MAX)
		return 0;
	past_range(log, p, &lo, &hi);
	n = hi - lo + 1;
	pm_warn("log: dropped %llu record%s, seq %llu..%llu, %s",
		(unsigned long long)n, n == 1 ? "" : "s",
		(unsigned long long)lo, (unsigned long long)hi,
		p->acked ? "acknowledged (destructive repair)" :
			   "never acknowledged (appends cut short by a crash)");
	if (p->acked) {
		ret = put_marker(log, hi + 1);
		return ret ? pm_err(ret,
				    "log: no room for a gap marker after "
				    "seq %llu",
				    (unsigned long long)hi) :
			     0;
	}
	ret = find_past(log, &again, 1);
	return pm_wb_first(ret, pm_map_drain(log->map));
}

/* Open refuses a log whose acknowledged records the chain cannot reach. */
static int refuse(const struct pm_log *log, const struct past *p)
{
	uint64_t lo, hi;

	past_range(log, p, &lo, &hi);
	if (hi == lo && p->torn != UINT64_MAX)
		return pm_err(PM_E_CORRUPT,
			      "log: acknowledged record seq %llu "
			      "at ring offset %llu is damaged",
			      (unsigned long long)lo,
			      (unsigned long long)p->torn);
	return pm_err(PM_E_CORRUPT,
		      "log: the chain ends at seq %llu before "
		      "a damaged record (ring offset %llu): acknowledged "
		      "records seq %llu..%llu are lost or cut off",
		      (unsigned long long)(lo - 1),
		      (unsigned long long)(p->torn != UINT64_MAX ? p->torn :
								   log->stop),
		      (unsigned long long)lo, (unsigned long long)hi);
}

/*
 * The slot recovery trusts: valid, highest gen; -1 if neither is.  Every
 * slot write gives the other slot's gen + 1, so a slot invalid now held at
 * most the valid one's gen + 1, and records of that gen may exist: *genp
 * is the highest gen a record may have.
 */
static int pick_slot(const struct pm_log_hdr *hdr, uint64_t cap, uint32_t seed,
		     int ok[2], uint64_t *genp)
{
	int cur;

	ok[0] = slot_ok(&hdr->slot[0], cap, seed);
	ok[1] = slot_ok(&hdr->slot[1], cap, seed);
	cur = pm_pick_copy(ok, pm_le64(hdr->slot[0].gen),
			   pm_le64(hdr->slot[1].gen));
	if (cur >= 0)
		*genp = pm_le64(hdr->slot[cur].gen) + !ok[!cur];
	return cur;
}

/* Both slots alike, gen included: only a clean close writes that. */
static int is_sealed(const struct pm_log_hdr *hdr, const int ok[2])
{
	return ok[0] && ok[1] &&
	       !memcmp(&hdr->slot[0], &hdr->slot[1], sizeof(hdr->slot[0]));
}

/* What recovery reads of the area, all of it under one guard. */
struct recovery {
	struct pm_log *log;
	int ok[2];
	int cur;	  /* the slot trusted, -1 if none */
	struct past past; /* what lies past the chain */
	int wb;		  /* the scan's wrap marks: write-back error */
};

static int recover_reads(void *arg)
{
	struct recovery *rc = arg;
	struct pm_log *log = rc->log;
	const struct pm_log_slot *slot;

	rc->cur = pick_slot(log->hdr, log->cap, log->seed, rc->ok, &log->gen);
	if (rc->cur < 0)
		return 0;
	log->sealed = is_sealed(log->hdr, rc->ok);
	slot = &log->hdr->slot[rc->cur];
	log->acked32 = pm_le32(slot->acked);
	/* The slots' acked seq finds every acknowledged record lost only
	 * if the slot trusted is the one written last. */
	log->scan_win = rc->ok[0] && rc->ok[1] && log->acked32 ? window(log) :
								 0;
	log->first_seq = pm_le64(slot->start_seq);
	rc->wb = scan(log, pm_le64(slot->start));
	find_past(log, &rc->past, 0); /* no wipe: no write-back */
	return 0;
}

/* Bytes of the area from the header to the end of the ring. */
static size_t area_len(const struct pm_log *log)
{
	return (size_t)(log->ring + log->cap - (const uint8_t *)log->hdr);
}

/* Run recovery's reads; a poisoned or vanished page costs -EIO, not the
 * process (the scan checks every record's checksum, so reads it all). */
static int recover(struct pm_log *log, const char *what, struct recovery *rc)
{
	int ret;

	*rc = (struct recovery){ .log = log, .cur = -1 };
	rc->past.torn = UINT64_MAX;
	ret = pm_safe_run(log->hdr, area_len(log), recover_reads, rc);
	if (ret)
		return pm_err(ret, "%s: the log area cannot be read: %s", what,
			      pm_strerror(ret));
	return 0;
}

static int log_alloc(struct pm_map *map, void *area, uint64_t size,
		     uint32_t seed, struct pm_log **logp)
{
	struct pm_log *log = pm_zalloc(sizeof(*log));

	if (!log) {
		pm_err(-ENOMEM, "log: out of memory");
		return -ENOMEM; /* a constant, so callers see log set on 0 */
	}
	log->map = map;
	log->hdr = area;
	log->ring = (uint8_t *)area + sizeof(struct pm_log_hdr);
	log->cap = PM_ALIGN_DOWN(size - sizeof(struct pm_log_hdr), 8);
	log->seed = seed;
	log->forks = pm_fork_gen();
	pthread_mutex_init(&log->lock, NULL);
	pthread_rwlock_init(&log->walkers, NULL);
	pm_waitq_init(&log->done_wq);
	log->nt_line = log->shadow_pos = UINT64_MAX;
	*logp = log;
	return 0;
}

/**
 * pm_log_area_recover - recover the log on a raw area, start a generation
 * @map: the mapping holding the area
 * @area: start of the log header
 * @size: bytes of the area
 * @seed: CRC32C seed it was formatted with
 * @flags: 0, or PM_LOG_DISCARD to drop acknowledged records that damage
 *         cut off (a gap marker then keeps their seqs from reuse)
 * @logp: the log on success
 *
 * Records of appends cut short by a crash are dropped (never
 * acknowledged); acknowledged ones are dropped only with PM_LOG_DISCARD.
 *
 * Return: 0; PM_E_CORRUPT if neither header slot is valid, or if a
 * damaged record cuts off acknowledged records (or is one) and @flags
 * lacks PM_LOG_DISCARD; or -errno.
 */
int pm_log_area_recover(struct pm_map *map, void *area, uint64_t size,
			uint32_t seed, unsigned flags, struct pm_log **logp)
{
	struct pm_log_hdr *hdr = area;
	struct recovery rc;
	struct pm_log *log;
	int cur, ret;

	ret = area_check(map, area, size);
	if (ret || (ret = log_alloc(map, area, size, seed, &log)))
		return ret;
	ret = recover(log, "log recovery", &rc);
	if (ret)
		goto err_free;
	cur = rc.cur;
	if (cur < 0) {
		ret = pm_err(PM_E_CORRUPT, "log header: no valid slot");
		goto err_free;
	}
	if (rc.past.acked && !(flags & PM_LOG_DISCARD)) {
		ret = refuse(log, &rc.past);
		goto err_free;
	}
	ret = pm_wb_first(rc.wb, drop_past(log, &rc.past));
	/* A new gen before any append: see the invariant above. */
	if (!ret)
		ret = slot_write(map, hdr, !cur, log->head, log->first_seq,
				 log->gen + 1, log->next_seq, seed);
	if (ret)
		goto err_free;
	log->slot = !cur;
	log->gen++;
	log->done_seq = log->next_seq;
	pm_dbg("log: %llu records from seq %llu, %llu of %llu bytes used",
	       (unsigned long long)(log->next_seq - log->first_seq),
	       (unsigned long long)log->first_seq,
	       (unsigned long long)log->used, (unsigned long long)log->cap);
	*logp = log;
	return 0;
err_free:
	pm_log_area_close(log);
	return ret;
}

/**
 * pm_log_area_open - recover the log on a raw area and start a generation
 * @map: the mapping holding the area
 * @area: start of the log header
 * @size: bytes of the area
 * @seed: CRC32C seed it was formatted with
 * @logp: the log on success
 *
 * Return: as pm_log_area_recover() without PM_LOG_DISCARD.
 */
int pm_log_area_open(struct pm_map *map, void *area, uint64_t size,
		     uint32_t seed, struct pm_log **logp)
{
	return pm_log_area_recover(map, area, size, seed, 0, logp);
}

/**
 * pm_log_area_scan - what recovery would find in a log area, read-only
 * @area: start of the log header (not written)
 * @size: bytes of the area
 * @seed: CRC32C seed it was formatted with
 * @s: filled with the slots, the chain and what lies past it
 *
 * Return: 0 (s->slot is -1 if no slot is valid), -EINVAL if the area is
 * too small, -EIO if a page of it cannot be read (poisoned), -ENOMEM.
 */
int pm_log_area_scan(const void *area, uint64_t size, uint32_t seed,
		     struct pm_log_scan *s)
{
	struct recovery rc;
	struct pm_log *log;
	int ret;

	memset(s, 0, sizeof(*s));
	s->torn_off = s->past_off = UINT64_MAX;
	if (size < PM_LOG_MIN_SIZE || ((uintptr_t)area & 7))
		return -EINVAL;
	ret = log_alloc(NULL, (void *)area, size, seed, &log);
	if (ret)
		return ret;
	s->cap = log->cap;
	ret = recover(log, "log scan", &rc);
	if (ret) {
		pm_log_area_close(log);
		return ret;
	}
	s->slot = rc.cur;
	s->slot_ok[0] = rc.ok[0];
	s->slot_ok[1] = rc.ok[1];
	if (s->slot >= 0) {
		s->gen = pm_le64(log->hdr->slot[rc.cur].gen);
		s->first_seq = log->first_seq;
		s->next_seq = log->next_seq;
		s->head = log->head;
		s->tail = log->tail;
		s->used = log->used;
		s->torn_off = rc.past.torn;
		s->past_n = rc.past.n;
		s->past_off = rc.past.off;
		s->acked = rc.past.acked;
		past_range(log, &rc.past, &s->drop_first, &s->drop_last);
	}
	pm_log_area_close(log);
	return 0;
}

/**
 * pm_log_area_seal - mark every record of a log acknowledged
 * @log: an open log with no append in flight; no append may follow
 *
 * Called at a clean close: a close marker after the last record (if 24
 * bytes are free), so that damage to the last record leaves a valid
 * record past the chain; then both slots alike, gen included (a fence
 * each), which nothing else writes.  Until the next open writes a slot,
 * anything that fails past the chain is damage, not a torn append.
 * Not done after a write-back error (records after bad_seq were not
 * acknowledged).
 *
 * Return: 0 or the write-back error.
 */
int pm_log_area_seal(struct pm_log *log)
{
	uint64_t acked;
	int ret;

	if (!log || __atomic_load_n(&log->err, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&log->lock);
	acked = log->next_seq; /* the close marker takes no seq for good */
	ret = put_marker(log, acked);
	ret = ret == -ENOSPC ? 0 : ret;
	for (int i = 0; i < 2 && !ret; i++) {
		ret = slot_write(log->map, log->hdr, !log->slot, log->head,
				 log->first_seq, log->gen + !i, acked,
				 log->seed);
		if (!ret) {
			log->slot = !log->slot;
			log->gen += !i;
		}
	}
	pthread_mutex_unlock(&log->lock);
	return ret;
}

void pm_log_area_close(struct pm_log *log)
{
	if (!log)
		return;
	pthread_rwlock_destroy(&log->walkers);
	pthread_mutex_destroy(&log->lock);
	pm_free(log);
}

/* ---- pool hooks ---- */

int pm_log_format(const struct pm_log_place *p)
{
	if (!p->size)
		return 0;
	return pm_log_area_format(p->map, p->base + p->off, p->size, p->seed);
}

int pm_log_boot(const struct pm_log_place *p, struct pm_log **logp)
{
	*logp = NULL;
	if (!p->size)
		return 0;
	return pm_log_area_recover(p->map, p->base + p->off, p->size, p->seed,
				   p->flags, logp);
}

void pm_log_shutdown(struct pm_log *log, const char *path)
{
	/* Inherited over fork(): the file is the parent's to write. */
	int ret = forked(log) ? 0 : pm_log_area_seal(log);

	if (ret)
		pm_warn("%s: log: the close could not be recorded: %s", path,
			pm_strerror(ret));
	pm_log_area_close(log);
}

/* ---- append ---- */

struct reservation {
	uint64_t pos;	 /* where placement starts (the old tail) */
	uint64_t end;	 /* the new tail */
	uint64_t room;	 /* free bytes from there on, in ring order */
	int alone;	 /* every earlier append was acknowledged */
	int after_alone; /* starts in the line an append alone may write */
	uint64_t seq;	 /* of the first record */
	uint64_t next;	 /* the seq after the last one */
	uint64_t gen;
};

/* Where a record of @size goes when the previous one ended at @pos. */
static uint64_t place(const struct pm_log *log, uint64_t pos, uint64_t size)
{
	return pos + size <= log->cap ? pos : 0;
}

static int check_batch(const struct pm_log *log, const struct iovec *recs,
		       int n)
{
	uint64_t total = 0;
	int i;

	if (!log || !recs || n <= 0)
		return pm_err(-EINVAL, "pm_log_append: NULL log or no records");
	for (i = 0; i < n; i++) {
		if (!recs[i].iov_base && recs[i].iov_len)
			return pm_err(-EINVAL, "log record %d: NULL data", i);
		if (recs[i].iov_len > log->cap - REC_HDR ||
		    recs[i].iov_len > PM_LOG_LEN_MASK)
			return pm_err(-EFBIG,
				      "log record of %zu bytes is "
				      "larger than the log (%llu max)",
				      recs[i].iov_len,
				      (unsigned long long)(log->cap - REC_HDR));
		total += rec_size(recs[i].iov_len);
		if (total > log->cap)
			return pm_err(-EFBIG,
				      "log batch of %d records is "
				      "larger than the log",
				      n);
	}
	return 0;
}

/* Claim space and seqs for a batch (all or nothing), under the lock. */
static int reserve(struct pm_log *log, const struct iovec *recs, int n,
		   struct reservation *res)
{
	uint64_t pos = log->tail, used = log->used;
	int i;

	for (i = 0; i < n; i++) {
		uint64_t size = rec_size(recs[i].iov_len);
		uint64_t at = place(log, pos, size);

		used += (at != pos ? log->cap - pos : 0) + size;
		if (used > log->cap)
			return -ENOSPC;
		pos = at + size;
	}
	res->pos = log->tail;
	res->end = pos;
	res->room = log->cap - used;
	res->alone = __atomic_load_n(&log->done_seq, __ATOMIC_ACQUIRE) ==
		     log->next_seq;
	res->after_alone = !res->alone &&
			   PM_ALIGN_DOWN(res->pos, 64) == log->nt_line;
	if (res->alone)
		log->nt_line = PM_ALIGN_UP(pos, 64) - 64;
	res->seq = log->next_seq;
	res->next = log->next_seq + (uint64_t)n;
	res->gen = log->gen;
	log->tail = pos;
	log->used = used;
	log->next_seq = res->next;
	return 0;
}

/* Coalesces adjacent ranges into one flush call (one msync on PAGE). */
struct flusher {
	struct pm_map *map;
	uint8_t *lo, *hi;
	int err; /* the first write-back error of the batch */
};

static void flush_add(struct flusher *f, void *addr, uint64_t len)
{
	if (!len)
		return;
	if (f->hi == addr) {
		f->hi += len;
		return;
	}
	if (f->hi)
		f->err = pm_wb_first(f->err,
				     pm_map_flush(f->map, f->lo,
						  (size_t)(f->hi - f->lo)));
	f->lo = addr;
	f->hi = (uint8_t *)addr + len;
}

static void flush_done(struct flusher *f)
{
	if (f->hi)
		f->err = pm_wb_first(f->err,
				     pm_map_flush(f->map, f->lo,
						  (size_t)(f->hi - f->lo)));
}

/*
 * The caller's bytes are read once and the checksum is of the bytes
 * stored, so a caller that changes them meanwhile cannot leave a record
 * that recovery would take for a torn one.  With non-temporal stores the
 * whole lines after the header's line are streamed and checksummed in one
 * pass, and the header's line is stored last, from a copy of its payload
 * bytes: those stores come before that line's write-back.
 */
static void write_rec(struct pm_log *log, struct flusher *f, uint64_t pos,
		      const struct iovec *v, uint64_t seq, uint64_t gen,
		      uint32_t flags)
{
	struct pm_log_rec h;
	uint8_t *dst = log->ring + pos, *p = dst + REC_HDR, head[64];
	const uint8_t *src = v->iov_base;
	uint64_t len = v->iov_len;
	/* the payload's bytes in the header's line (pos is 8-aligned) */
	uint64_t hd = PM_MIN(len,
			     PM_ALIGN_UP(pos + REC_HDR, 64) - pos - REC_HDR);
	uint32_t crc = rec_head(log, &h, seq, gen, (uint32_t)len | flags);
	int cached = log->map->gran == PM_GRANULARITY_PAGE ||
		     !pm_nt_pays(len, PM_NT_LOG);

	if (cached) {
		if (len) /* written back with the batch */
			crc = pm_crc_copy(crc, p, src, len);
	} else {
		__builtin_prefetch(dst, 1); /* its line, stored last */
		if (hd)
			crc = pm_crc_copy(crc, head, src, hd);
		if (len > hd)
			f->err = pm_wb_first(f->err,
					     pm_map_copy_crc(log->map, p + hd,
							     src + hd, len - hd,
							     PM_MEM_NONTEMPORAL,
							     &crc));
	}
	h.crc = pm_le32(pm_crc_final(crc));
	pm_map_store(log->map, dst, &h, REC_HDR);
	if (!cached && hd)
		pm_map_store(log->map, p, head, hd);
	flush_add(f, dst, REC_HDR + (cached ? len : hd));
}

/*
 * A short record of an append alone in flight, where the CPU's write-back
 * evicts lines (non-temporal stores pay from 64 bytes): it goes out as
 * whole lines with non-temporal stores, none read for ownership nor
 * written back from the cache.  The first line's bytes before the record
 * are the previous record's, durable and acknowledged: from the copy of
 * the line the previous append wrote whole, else read from the ring.
 * The last line's bytes after it are free space (not the log's head):
 * zeros, and no other append writes that line until this one is
 * acknowledged (after_alone).
 * Returns 0 if it does not apply (nothing written).
 */
static int write_whole(struct pm_log *log, struct flusher *f,
		       const struct iovec *v, const struct reservation *res,
		       uint32_t flags)
{
	uint8_t buf[LOG_WHOLE_MAX + 128] __attribute__((aligned(64)));
	uint64_t pos = res->pos, size = rec_size(v->iov_len);
	uint64_t lo = PM_ALIGN_DOWN(pos, 64), hi = PM_ALIGN_UP(pos + size, 64);
	struct pm_log_rec h;
	uint32_t crc;

	if (!res->alone || size > LOG_WHOLE_MAX || hi > log->cap ||
	    hi - (pos + size) > res->room || ((uintptr_t)log->ring & 63) ||
	    log->map->gran != PM_GRANULARITY_CACHELINE ||
	    !pm_nt_pays(64, PM_NT_COPY))
		return 0;
	memset(buf, 0, (size_t)(hi - lo));
	if (__atomic_load_n(&log->shadow_pos, __ATOMIC_RELAXED) == lo)
		memcpy(buf, log->shadow, (size_t)(pos - lo));
	else if (pm_safe_copy(buf, log->ring + lo, (size_t)(pos - lo)))
		return 0; /* poisoned: the partial stores write, never read */
	crc = rec_head(log, &h, res->seq, res->gen,
		       (uint32_t)v->iov_len | flags);
	if (v->iov_len) /* an empty record may have no payload pointer */
		crc = pm_crc_copy(crc, buf + (pos - lo) + REC_HDR, v->iov_base,
				  v->iov_len);
	h.crc = pm_le32(pm_crc_final(crc));
	memcpy(buf + (pos - lo), &h, REC_HDR);
	f->err = pm_wb_first(f->err, pm_map_copy(log->map, log->ring + lo, buf,
						 (size_t)(hi - lo),
						 PM_MEM_NONTEMPORAL));
	memcpy(log->shadow, buf + (hi - lo) - 64, 64);
	__atomic_store_n(&log->shadow_pos, hi - 64, __ATOMIC_RELAXED);
	return 1;
}

/* Write back what @f holds, then the fence. */
static int batch_fence(struct pm_log *log, struct flusher *f)
{
	flush_done(f);
	f->lo = f->hi = NULL;
	if (PM_UNLIKELY(pm_test_break & PM_BREAK_LOG_FENCE))
		return f->err;
	return pm_wb_first(f->err, pm_map_drain(log->map));
}

static void wait_done(struct pm_log *log, uint64_t seq);

/*
 * Copy and write back a reserved batch, then the one fence; the last
 * record gets @last_flags.  Each record starts less than window() bytes
 * after @from: the end of the last acknowledged append (the first record
 * waits for the appends before it when it is farther), the start of a
 * record after a fence (a batch that spans the window takes one more), or
 * offset 0.
 */
static int write_batch(struct pm_log *log, const struct iovec *recs, int n,
		       const struct reservation *res, uint32_t last_flags)
{
	struct flusher f = { .map = log->map };
	uint64_t pos = res->pos, win = window(log);
	uint64_t from = __atomic_load_n(&log->done_pos, __ATOMIC_ACQUIRE);
	int i;

	if (res->after_alone) /* it may write our first line whole */
		wait_done(log, res->seq);
	if (n == 1 && place(log, pos, rec_size(recs->iov_len)) == pos &&
	    write_whole(log, &f, recs, res, last_flags))
		return batch_fence(log, &f);
	/* The lines written here may hold the one the shadow copies (the
	 * load spares appenders of other threads a store to a shared line). */
	if (__atomic_load_n(&log->shadow_pos, __ATOMIC_RELAXED) != UINT64_MAX)
		__atomic_store_n(&log->shadow_pos, UINT64_MAX,
				 __ATOMIC_RELAXED);

	for (i = 0; i < n; i++) {
		uint64_t size = rec_size(recs[i].iov_len);
		uint64_t at = place(log, pos, size);

		if (at != pos) {
			from = 0;
			if (log->cap - pos >= REC_HDR) {
				pm_map_store_fill(log->map, rec_at(log, pos), 0,
						  8);
				flush_add(&f, rec_at(log, pos), 8);
			}
		}
		if (ahead(log, from, at) >= win) {
			if (i)
				f.err = batch_fence(log, &f);
			else if (from != res->pos)
				wait_done(log, res->seq); /* done_pos: here */
			from = at;
		}
		write_rec(log, &f, at, &recs[i], res->seq + (uint64_t)i,
			  res->gen, i == n - 1 ? last_flags : 0);
		pos = at + size;
	}
	return batch_fence(log, &f);
}

/*
 * Acknowledge in seq order: wait for every earlier record's fence.  The
 * first batch whose write-back failed, and every one after it, is not
 * acknowledged: walks stop before it (bad_seq) and appends are refused,
 * since no later record is durable while its durability is unknown.
 * done_seq still advances, only to order the appends in flight.
 */
struct done_at {
	const struct pm_log *log;
	uint64_t seq;
};

static int done_reached(const void *arg)
{
	const struct done_at *d = arg;

	return __atomic_load_n(&d->log->done_seq, __ATOMIC_ACQUIRE) == d->seq;
}

/* Until done_seq is @seq: every earlier append has published. */
static void wait_done(struct pm_log *log, uint64_t seq)
{
	struct done_at d = { .log = log, .seq = seq };

	pm_waitq_wait(&log->done_wq, done_reached, &d);
}

static int publish(struct pm_log *log, const struct reservation *res, int err)
{
	wait_done(log, res->seq);
	/* One batch at a time from here on, in seq order. */
	if (err && !__atomic_load_n(&log->err, __ATOMIC_RELAXED)) {
		log->bad_seq = res->seq;
		__atomic_store_n(&log->err, err, __ATOMIC_RELEASE);
	} else if (!err) {
		err = __atomic_load_n(&log->err, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&log->done_pos, res->end, __ATOMIC_RELEASE);
	__atomic_store_n(&log->done_seq, res->next, __ATOMIC_RELEASE);
	pm_waitq_wake(&log->done_wq);
	return err;
}

/* End of the acknowledged records: every seq below it. */
static uint64_t acked_end(const struct pm_log *log)
{
	uint64_t end = __atomic_load_n(&log->done_seq, __ATOMIC_ACQUIRE);

	if (PM_UNLIKELY(__atomic_load_n(&log->err, __ATOMIC_ACQUIRE)))
		end = PM_MIN(end, log->bad_seq);
	return end;
}

/*
 * An empty marker with seq @seq at the tail, durable (one fence); no
 * append in flight.  Above next_seq it is a gap marker (recovery, after a
 * destructive repair dropped acknowledged records up to seq - 1, written
 * over the first failing one under the current gen: their seqs are never
 * issued again); at next_seq a close marker (a clean close: recovery ends
 * the chain there and reuses its seq and space).
 * Return: 0, -ENOSPC (nothing written) or the write-back error.
 */
static int put_marker(struct pm_log *log, uint64_t seq)
{
	static const uint8_t none;
	struct iovec v = { .iov_base = (void *)&none, .iov_len = 0 };
	struct reservation res;
	uint64_t next = log->next_seq;
	int ret;

	log->next_seq = seq;
	ret = reserve(log, &v, 1, &res);
	if (ret) {
		log->next_seq = next;
		return ret;
	}
	ret = write_batch(log, &v, 1, &res, PM_LOG_REC_END | PM_LOG_REC_SKIP);
	log->done_seq = log->next_seq;
	__atomic_store_n(&log->done_pos, res.end, __ATOMIC_RELEASE);
	return ret;
}

/**
 * pm_log_append_batch - append records with one fence
 * @log: the log
 * @recs: @n payloads (iov_len 0 is allowed)
 * @n: number of records, >= 1
 * @first_seqp: if not NULL, set to the seq of recs[0]; the others follow
 *
 * All records or none are appended.  On return they are durable, and so is
 * every record with a lower seq.  One fence, or more for a batch that
 * spans the window (write_batch()).
 *
 * Return: 0; -ENOSPC if the free space is too small now; -EFBIG if the
 * records cannot fit even an empty log; -EINVAL; or the write-back error
 * (-EIO...): the records are not acknowledged (walks do not show them, a
 * reopen may or may not find them), and the log refuses appends until it
 * is reopened.
 */
PM_EXPORT int pm_log_append_batch(struct pm_log *log, const struct iovec *recs,
				  int n, uint64_t *first_seqp)
{
	struct reservation res;
	int ret = check_batch(log, recs, n);

	if (ret)
		return ret;
	if (PM_UNLIKELY(forked(log)))
		return pm_err(PM_E_FORKED,
			      "pm_log_append: the log was opened "
			      "by the parent process; open the pool here");
	ret = __atomic_load_n(&log->err, __ATOMIC_RELAXED);
	if (ret)
		return ret;
	pthread_mutex_lock(&log->lock);
	ret = reserve(log, recs, n, &res);
	pthread_mutex_unlock(&log->lock);
	if (ret)
		return ret;
	ret = write_batch(log, recs, n, &res, PM_LOG_REC_END);
	ret = publish(log, &res, ret);
	if (!ret && first_seqp)
		*first_seqp = res.seq;
	return ret;
}

/**
 * pm_log_append - append one record with one fence
 * @log: the log
 * @rec: payload (may be NULL if @len is 0)
 * @len: payload bytes
 * @seqp: if not NULL, set to the record's sequence number
 *
 * Return: as pm_log_append_batch().
 */
PM_EXPORT int pm_log_append(struct pm_log *log, const void *rec, size_t len,
			    uint64_t *seqp)
{
	struct iovec v = { .iov_base = (void *)rec, .iov_len = len };

	return pm_log_append_batch(log, &v, 1, seqp);
}

/* ---- walk, truncate, info ---- */

/* Position of record @seq (or of a gap marker above it), the previous
 * one having ended at @pos. */
static uint64_t locate(const struct pm_log *log, uint64_t pos, uint64_t seq)
{
	if (pos <= log->cap - REC_HDR && seq_fits(rec_at(log, pos), seq))
		return pos;
	return 0;
}

/* Record @seq found at @pos? (guards against stray writes to the ring) */
static int rec_sane(const struct pm_log *log, uint64_t pos, uint64_t seq)
{
	const struct pm_log_rec *r = rec_at(log, pos);

	return pos <= log->cap - REC_HDR && seq_fits(r, seq) &&
	       rec_size(rec_len(r)) <= log->cap - pos;
}

/* A walk in progress; seq and pos survive a jump out of walk_guarded(). */
struct walk {
	struct pm_log *log;
	uint64_t pos, seq, end, from;
	pm_log_cb cb;
	void *arg;
	int ret; /* what cb returned to stop the walk */
};

enum { WALK_DONE, WALK_STOPPED, WALK_DAMAGED };

/* Read every line of a payload, so that poison there costs -EIO under
 * the guard rather than a SIGBUS in the callback. */
static void touch(const uint8_t *p, uint64_t len)
{
	for (uint64_t o = 0; o < len; o += PM_CACHELINE)
		(void)*(const volatile uint8_t *)(p + o);
	if (len)
		(void)*(const volatile uint8_t *)(p + len - 1);
}

/* The walk's reads of the ring, guarded; the callback runs unguarded. */
static int walk_guarded(void *arg)
{
	struct walk *w = arg;
	const struct pm_log *log = w->log;

	for (; w->seq < w->end; w->seq++) {
		const struct pm_log_rec *r;
		void *tok;

		w->pos = locate(log, w->pos, w->seq);
		if (!rec_sane(log, w->pos, w->seq))
			return WALK_DAMAGED;
		r = rec_at(log, w->pos);
		if (is_marker(r)) {
			w->seq = pm_le64(r->seq); /* not a record: skipped */
		} else if (w->seq >= w->from) {
			touch((const uint8_t *)(r + 1), rec_len(r));
			tok = pm_safe_pause();
			w->ret = w->cb(w->seq, r + 1, rec_len(r), w->arg);
			pm_safe_resume(tok);
			if (w->ret)
				return WALK_STOPPED;
		}
		w->pos += rec_size(rec_len(r));
	}
	return WALK_DONE;
}

/* The error for live record @seq at @pos: it fails its sanity check
 * (a stray write to the ring), or reading it failed with @ret < 0. */
static int rec_error(uint64_t seq, uint64_t pos, int ret)
{
	if (ret > 0)
		return pm_err(PM_E_CORRUPT,
			      "log record %llu at ring offset %llu damaged",
			      (unsigned long long)seq, (unsigned long long)pos);
	return pm_err(ret,
		      "log record %llu at ring offset %llu cannot be read: %s",
		      (unsigned long long)seq, (unsigned long long)pos,
		      pm_strerror(ret));
}

static int walk_range(struct walk *w)
{
	int ret = pm_safe_run(w->log->hdr, area_len(w->log), walk_guarded, w);

	switch (ret) {
	case WALK_DONE:
		return 0;
	case WALK_STOPPED:
		return w->ret;
	default:
		return rec_error(w->seq, w->pos, ret == WALK_DAMAGED ? 1 : ret);
	}
}

/**
 * pm_log_walk - call @cb for each record from @from_seq, oldest first
 * @log: the log
 * @from_seq: first seq wanted (older live records are skipped)
 * @cb: called with each record's seq, payload (in the mapping) and length
 * @arg: passed to @cb
 *
 * Walks the records acknowledged when the walk starts.  @cb may append;
 * it must not truncate this log (pm_log_truncate() returns -EDEADLK).
 *
 * Return: 0, the first non-zero value returned by @cb, or a negative code.
 */
PM_EXPORT int pm_log_walk(struct pm_log *log, uint64_t from_seq, pm_log_cb cb,
			  void *arg)
{
	const struct pm_log *outer = walking;
	struct walk w = { .log = log, .from = from_seq, .cb = cb, .arg = arg };
	int ret;

	if (!log || !cb)
		return pm_err(-EINVAL, "pm_log_walk: NULL log or callback");
	pthread_rwlock_rdlock(&log->walkers);
	pthread_mutex_lock(&log->lock);
	w.seq = log->first_seq;
	w.pos = log->head;
	pthread_mutex_unlock(&log->lock);
	w.end = acked_end(log);
	walking = log;
	ret = walk_range(&w);
	walking = outer;
	pthread_rwlock_unlock(&log->walkers);
	return ret;
}

/* Looking for the ring offset of the first record with a seq from
 * @seq on (a gap marker stands for the seqs it skips), from the head. */
struct find_at {
	const struct pm_log *log;
	uint64_t seq;
	uint64_t pos, s; /* where it is, and the seq expected there */
};

/* Under the guard (no checksums; every step checked as a walk's is, so
 * that a stray write to the ring costs an error, never a loop): 0 when
 * found, 1 at a record that fails the check. */
static int find_guarded(void *arg)
{
	struct find_at *f = arg;
	const struct pm_log_rec *r;

	for (;;) {
		f->pos = locate(f->log, f->pos, f->s);
		if (!rec_sane(f->log, f->pos, f->s))
			return 1;
		r = rec_at(f->log, f->pos);
		f->s = pm_le64(r->seq);
		if (f->s >= f->seq)
			return 0;
		f->pos += rec_size(rec_len(r));
		f->s++;
	}
}

static int truncate_locked(struct pm_log *log, uint64_t upto)
{
	uint64_t first, head, used;
	int ret;

	wait_done(log, log->next_seq); /* no append in flight */
	if (upto >= log->next_seq)
		upto = log->next_seq - 1;
	if (upto < log->first_seq)
		return 0;
	first = upto + 1;
	if (first == log->next_seq) {
		head = 0;
		used = 0;
	} else {
		struct find_at f = { log, first, log->head, log->first_seq };

		ret = pm_safe_run(log->hdr, area_len(log), find_guarded, &f);
		if (ret)
			return rec_error(f.s, f.pos, ret);
		head = f.pos;
		used = (log->tail + log->cap - head) % log->cap;
		used = used ? used : log->cap;
	}
	/* Both slots get the new start, one fence each, so that either one
	 * alone recovers this log; the space freed is reused only once both
	 * are durable (the lock keeps appends out until then). */
	for (int i = 0; i < 2; i++) {
		ret = slot_write(log->map, log->hdr, !log->slot, head, first,
				 log->gen + 1, acked_end(log), log->seed);
		if (ret)
			return ret;
		log->slot = !log->slot;
		log->gen++;
	}
	log->first_seq = first;
	log->head = head;
	log->used = used;
	if (!used)
		log->tail = 0;
	__atomic_store_n(&log->done_pos, log->tail, __ATOMIC_RELEASE);
	return 0;
}

/**
 * pm_log_truncate - drop every record with seq <= @upto_seq
 * @log: the log
 * @upto_seq: last seq to drop; values past the newest record drop all
 *
 * The space becomes free for appends.  Durable on return (two fences:
 * both header slots get the new start).
 * Waits for appends in progress to finish.
 *
 * Return: 0, -EDEADLK from inside pm_log_walk() on this log, -EINVAL,
 * PM_E_CORRUPT or -EIO if a record before the new start is damaged in
 * memory or unreadable (nothing dropped), or the write-back error.
 */
PM_EXPORT int pm_log_truncate(struct pm_log *log, uint64_t upto_seq)
{
	int ret;

	if (!log)
		return pm_err(-EINVAL, "pm_log_truncate: NULL log");
	if (walking == log)
		return pm_err(-EDEADLK, "pm_log_truncate inside pm_log_walk");
	pthread_rwlock_wrlock(&log->walkers);
	pthread_mutex_lock(&log->lock);
	ret = truncate_locked(log, upto_seq);
	pthread_mutex_unlock(&log->lock);
	pthread_rwlock_unlock(&log->walkers);
	return ret;
}

/**
 * pm_log_get_info - capacity, use and sequence numbers of a log
 * @log: the log
 * @info: filled on success
 *
 * Return: 0 or -EINVAL.
 */
PM_EXPORT int pm_log_get_info(struct pm_log *log, struct pm_log_info *info)
{
	if (!log || !info)
		return pm_err(-EINVAL, "pm_log_get_info: NULL argument");
	pthread_mutex_lock(&log->lock);
	info->capacity = log->cap;
	info->used = log->used;
	info->first_seq = log->first_seq;
	info->next_seq = log->next_seq;
	info->nrecords = log->next_seq - log->first_seq;
	info->max_record = PM_MIN(log->cap - REC_HDR,
				  (uint64_t)PM_LOG_LEN_MASK);
	pthread_mutex_unlock(&log->lock);
	return 0;
}
