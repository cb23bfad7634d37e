/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmck_crash_sweep - damage every metadata byte of a crashed pool and
 * check that nothing committed or acknowledged is ever lost silently.
 *
 * The pool (3 lanes, a log, a data area) is made in two sessions, three
 * threads taking turns, each on a lane of its own, and every turn one
 * transaction and one log append (a truncation at every tenth).  The
 * first session runs 144 turns (the rings and the log wrap; the rings
 * keep retired entries) and closes.  The second runs 33 applied turns
 * (which move the lane headers) and then 12 transactions committed but
 * not applied (pm_tx_test_skip_apply: as if killed right after each
 * commit fence), interleaved over the lanes and ending with a run of five
 * on one lane, whose homes overlap; then it exits unclosed.  The model:
 * the data area as if every committed transaction were applied in commit
 * order, and the acknowledged records.
 *
 * Each case changes one byte of metadata and, in a child with a watchdog
 * (a signal is a crash, the timeout a hang), does:
 *   a. pm_pool_open: if it succeeds, the data area and the live records
 *      must equal the model (truncated records coming back intact are
 *      told apart and not counted, and so is dropping what damage made
 *      look like a commit or an append the crash cut short: see judge());
 *      the next tx seq must be past every one issued; then one
 *      transaction per lane over the same homes, with appends, a clean
 *      close and a reopen: the reopened data must be what the first open
 *      showed plus those writes (a stale entry replayed over newer data
 *      shows here), the appends must get seqs past every acknowledged
 *      one;
 *   b. pm_pool_check without repair: "clean" (no finding beyond those of
 *      the undamaged crashed pool, its pending transactions) while (a)
 *      did not give the model is a violation;
 *   c. pm_pool_check with PM_CHECK_REPAIR: "repaired" (0) and then an
 *      open that does not give the model is a violation.
 * Open and check must also agree: open refuses exactly when the check
 * reports unrepairable damage.  Counts are printed, per kind and area,
 * with examples; any violation, crash or hang fails the test.
 *
 * Swept: both header copies, lane headers, log header (512/64/64 bytes),
 * every byte of unretired entries and live log records, four values each
 * (low bit, high bit, 0xff, 0).  Retired entries and the rest of the log
 * ring are sampled, 1 byte in 8 with two values (seeded: SWEEP_SEED),
 * unless SWEEP_FULL=1 (make check-sweep).  SWEEP_JOBS: workers (2).
 * SWEEP_VERBOSE=1 lists every violating case; SWEEP_CASE=OFFSET:VALUE
 * runs one case in the open, with the library's messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "layout.h"
#include "libpm.h"
#include "tmpdir.h"
#include "testhook.h"

#define POOL_SIZE (48 * 1024)
#define NLANES 3
#define LANE_SIZE 8192
#define LOG_SIZE 4096
#define HOT 1024	/* homes live in [0, 2 * HOT) of the data area */
#define T1 144		/* first session: applied transactions */
#define T2A 33		/* second session: applied transactions, */
#define T2 12		/* then committed ones, not applied */
#define T3 NLANES	/* each check: one transaction per lane */
#define CASE_TIMEOUT 20 /* seconds; a case taking longer hangs */
#define NEXAMPLES 2	/* per kind and area */

/* ---- the workload and its model ---------------------------------------- */

struct wr {
	uint64_t off, len;
};

/* Transaction @t of session @phase writes these two ranges. */
static void plan(int phase, int t, struct wr w[2])
{
	if (phase == 3) /* the homes and sizes of the unapplied ones again */
		t += T2A;
	if (phase == 1 || t < T2A) {
		w[0] = (struct wr){ (uint64_t)(t * 56) % HOT,
				    40 + (uint64_t)(t % 5) * 8 };
		w[1] = (struct wr){ HOT + (uint64_t)(t * 88) % HOT, 24 };
	} else { /* neighbours overlap, and every one hits [HOT, HOT+64) */
		w[0] = (struct wr){ (uint64_t)(t * 72) % 512, 100 };
		w[1] = (struct wr){ HOT + (uint64_t)(t % 3) * 16, 32 };
	}
}

static uint8_t pat(int phase, int t, int r, uint64_t i)
{
	return (uint8_t)(phase * 97 + t * 31 + r * 53 + (int)i * 7 + 1);
}

/* Log record @seq's payload; returns its length. */
static size_t rec_payload(uint64_t seq, uint8_t *buf)
{
	size_t len = 20 + (size_t)(seq * 13 % 50);

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seq * 7 + i * 3 + 5);
	memcpy(buf, &seq, sizeof(seq));
	return len;
}

/* After appending @seq, truncate up to this (0: no); the last one comes
 * among the unapplied transactions. */
static uint64_t truncate_after(uint64_t seq)
{
	return seq % 10 == 0 ? seq - 6 : 0;
}

struct model {
	uint8_t data[POOL_SIZE];
	uint64_t data_size;
	uint64_t first_rec, next_rec; /* live records [first, next) */
	uint64_t tx_next;	      /* every tx seq below it was issued */
	uint64_t log_sync; /* last append before the crashed session's last
			    * log header write (its open or a truncation) */
};

static struct model model;

static void model_tx(uint8_t *data, int phase, int t)
{
	struct wr w[2];

	plan(phase, t, w);
	for (int r = 0; r < 2; r++)
		for (uint64_t i = 0; i < w[r].len; i++)
			data[w[r].off + i] = pat(phase, t, r, i);
}

static void model_build(void)
{
	uint64_t seq = 1, first = 1, sync = T1, up;

	memset(model.data, 0, sizeof(model.data));
	for (int phase = 1; phase <= 2; phase++)
		for (int t = 0; t < (phase == 1 ? T1 : T2A + T2); t++, seq++) {
			model_tx(model.data, phase, t);
			up = truncate_after(seq);
			if (up)
				first = up + 1;
			if (up && phase == 2)
				sync = seq;
		}
	model.first_rec = first;
	model.next_rec = seq;
	model.log_sync = sync;
}

/* The model without transaction @seq. */
static void model_without(uint64_t seq, uint8_t *data)
{
	uint64_t s = 1;

	memset(data, 0, POOL_SIZE);
	for (int phase = 1; phase <= 2; phase++)
		for (int t = 0; t < (phase == 1 ? T1 : T2A + T2); t++, s++)
			if (s != seq)
				model_tx(data, phase, t);
}

/* ---- making the pool ----------------------------------------------------- */

struct turns {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int next, total, phase, err;
	uint64_t first_seq; /* of the session's first append */
	struct pm_pool *pool;
	struct pm_log *log;
};

struct thr_arg {
	struct turns *tr;
	int idx;
};

static int do_turn(struct turns *tr, int t)
{
	uint8_t *d = pm_pool_data(tr->pool, NULL), buf[128];
	uint64_t want = (uint64_t)t + 1 + (tr->phase == 2 ? T1 : 0), seq, up;
	struct pm_log_info li;
	struct pm_tx *tx;
	struct wr w[2];

	if (tr->phase == 3) { /* after damage: whatever the log gives */
		if (pm_log_get_info(tr->log, &li))
			return -1;
		want = li.next_seq;
	}
	plan(tr->phase, t, w);
	pm_tx_test_skip_apply = tr->phase == 2 && t >= T2A;
	if (pm_tx_begin(tr->pool, 256, &tx))
		return -1;
	for (int r = 0; r < 2; r++) {
		for (uint64_t i = 0; i < w[r].len; i++)
			buf[i] = pat(tr->phase, t, r, i);
		if (pm_tx_write(tx, d + w[r].off, buf, w[r].len)) {
			pm_tx_abort(tx);
			return -1;
		}
	}
	if (pm_tx_commit(tx) ||
	    pm_log_append(tr->log, buf, rec_payload(want, buf), &seq))
		return -1;
	if (seq != want)
		return -1;
	if (!t)
		tr->first_seq = seq;
	up = tr->phase == 3 ? 0 : truncate_after(seq);
	return up ? pm_log_truncate(tr->log, up) : 0;
}

/* Whose turn @t of session @phase is.  The unapplied transactions end
 * with a run of five on one lane, holding the newest seqs: losing one of
 * them is where a reissued seq lets an older entry replay later. */
static int owner(int phase, int t)
{
	static const int tail[T2] = { 0, 1, 2, 1, 2, 1, 2, 0, 0, 0, 0, 0 };

	return phase == 2 && t >= T2A ? tail[t - T2A] : t % NLANES;
}

/* Threads take turns, each on a lane of its own. */
static void *thr_main(void *arg)
{
	struct thr_arg *a = arg;
	struct turns *tr = a->tr;
	int first = 1;

	for (int t = 0; t < tr->total; t++) {
		struct pm_tx *tx;

		if (owner(tr->phase, t) != a->idx)
			continue;
		pthread_mutex_lock(&tr->mu);
		while (tr->next != t)
			pthread_cond_wait(&tr->cv, &tr->mu);
		pthread_mutex_unlock(&tr->mu);
		/* The lane's reach grows to its whole ring at once (layout.h),
		 * so that the unapplied commits of session 2 fit in the ring
		 * without a retire, which would count them applied. */
		if (first && tr->phase == 1) {
			if (pm_tx_begin(tr->pool, LANE_SIZE - 1024, &tx))
				__atomic_store_n(&tr->err, 1, __ATOMIC_RELAXED);
			else
				pm_tx_abort(tx);
		}
		first = 0;
		if (do_turn(tr, t))
			__atomic_store_n(&tr->err, 1, __ATOMIC_RELAXED);
		pthread_mutex_lock(&tr->mu);
		tr->next++;
		pthread_cond_broadcast(&tr->cv);
		pthread_mutex_unlock(&tr->mu);
	}
	return NULL;
}

static int run_turns(struct pm_pool *pool, int phase, int total,
		     uint64_t *first_seq)
{
	struct turns tr = { .mu = PTHREAD_MUTEX_INITIALIZER,
			    .cv = PTHREAD_COND_INITIALIZER,
			    .total = total,
			    .phase = phase,
			    .pool = pool };
	struct thr_arg a[NLANES];
	pthread_t th[NLANES];

	if (pm_pool_log(pool, &tr.log))
		return -1;
	for (int i = 0; i < NLANES; i++) {
		a[i] = (struct thr_arg){ &tr, i };
		if (pthread_create(&th[i], NULL, thr_main, &a[i]))
			_exit(98); /* not the library's failure: give up */
	}
	for (int i = 0; i < NLANES; i++)
		pthread_join(th[i], NULL);
	*first_seq = tr.first_seq;
	return tr.err ? -1 : 0;
}

/* Session 1 creates and closes; session 2 commits unapplied and dies. */
static int session(const char *path, int phase)
{
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .nlanes = NLANES,
				  .lane_size = LANE_SIZE,
				  .log_size = LOG_SIZE };
	struct pm_pool *pool;
	uint64_t first_seq;
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (phase == 1 ? pm_pool_create(path, POOL_SIZE, &o, &pool) :
				 pm_pool_open(path, 0, &pool))
			_exit(1);
		if (run_turns(pool, phase, phase == 1 ? T1 : T2A + T2,
			      &first_seq))
			_exit(1);
		if (phase == 1)
			pm_pool_close(pool);
		_exit(0);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid &&
			       WIFEXITED(status) && !WEXITSTATUS(status) ?
		       0 :
		       -1;
}

/* ---- where a byte is ------------------------------------------------------ */

enum {
	A_HDR_A,
	A_HDR_B,
	A_LANE_HDR,
	A_PENDING,
	A_RETIRED,
	A_LOG_HDR,
	A_LOG_LIVE,
	A_LOG_DEAD,
	A_N
};
static const char *const area_names[] = { "header A",	     "header B",
					  "lane header",     "unretired entry",
					  "retired entry",   "log header",
					  "live log record", "dead log ring" };

struct region {
	uint64_t off, len, seq;
	int area, lane;
	int torn_ok; /* damage here may pass for a torn commit or append */
};

static struct region regions[512];
static unsigned nregions;
static struct pm_pool_info pinfo;

static void add_region(uint64_t off, uint64_t len, int area, int lane,
		       uint64_t seq)
{
	if (nregions < sizeof(regions) / sizeof(regions[0]))
		regions[nregions++] = (struct region){ off,  len,  seq,
						       area, lane, 0 };
}

static const struct region *region_of(uint64_t off)
{
	for (unsigned i = 0; i < nregions; i++)
		if (off >= regions[i].off &&
		    off < regions[i].off + regions[i].len)
			return &regions[i];
	return NULL;
}

static const struct region *torn_region(uint64_t off)
{
	const struct region *rg = off == UINT64_MAX ? NULL : region_of(off);

	return rg && rg->torn_ok ? rg : NULL;
}

/* ---- checking one pool against the model -------------------------------- */

enum {
	W_DATA = 1,
	W_LOG = 2,
	W_TXSEQ = 4,
	W_LOGSEQ = 8,
	W_REOPEN = 16,
	W_REDATA = 32,
	W_RELOG = 64,
	W_NEWTX = 128,
	W_BACK = 256,
	W_TORN = 512,
	W_NBITS = 10
};
/* W_BACK and W_TORN are allowed outcomes, told apart for the counts. */
#define W_WRONG (W_BACK - 1)
static const char *const why_names[] = { "data",
					 "log",
					 "tx-seq-reuse",
					 "log-seq-reuse",
					 "reopen-refused",
					 "data-after-reopen",
					 "log-after-reopen",
					 "new-tx-failed",
					 "truncated-records-back",
					 "torn-looking-dropped" };

/* Records before the live ones may come back (a truncation undone, as
 * when a log header slot falls back): no loss, if they are the records
 * appended under those seqs. */
struct walkst {
	uint64_t first, expect; /* expect 0: no record seen yet */
	int bad, back;
};

static int walk_cb(uint64_t seq, const void *rec, size_t len, void *arg)
{
	struct walkst *w = arg;
	uint8_t buf[128];

	if (!w->expect)
		w->expect = seq > w->first ? w->first : seq;
	if (seq != w->expect++ || len != rec_payload(seq, buf) ||
	    memcmp(rec, buf, len))
		w->bad = 1;
	w->back |= seq < w->first;
	return w->bad;
}

/* W_LOG unless the records are the ones appended under their seqs, in
 * a row from the first live one or before; *endp: where they end. */
static unsigned walk_log(struct pm_pool *pool, uint64_t *endp)
{
	struct walkst w = { .first = model.first_rec };
	struct pm_log *log;
	unsigned why = 0;

	if (pm_pool_log(pool, &log) || pm_log_walk(log, 0, walk_cb, &w) ||
	    w.bad)
		why |= W_LOG;
	*endp = w.expect ? w.expect : model.first_rec;
	return why | (w.back ? W_BACK : 0);
}

/*
 * The first open after damage at @off against the model.  Some damage
 * looks exactly like a commit or an append the crash cut short, which
 * recovery drops as never acknowledged: in the newest entry of a lane (a
 * lane commits one transaction at a time), or in a record appended after
 * the crashed session's last log header write (appends may be in flight
 * together: a torn one may be followed by complete ones, none of them
 * acknowledged).  Then the model without that transaction, or without the
 * records from the damaged one on, is accepted too (W_TORN), and their
 * seqs may be issued again.  *tx_floor, *rec_floor: the least next seqs
 * allowed.
 */
static unsigned judge(struct pm_pool *pool, uint64_t off, uint64_t *tx_floor,
		      uint64_t *rec_floor)
{
	static uint8_t alt[POOL_SIZE];
	const struct region *rg = torn_region(off);
	uint64_t end, seq = rg ? rg->seq : 0;
	size_t sz;
	uint8_t *d = pm_pool_data(pool, &sz);
	unsigned why = walk_log(pool, &end);
	int log = rg && rg->area == A_LOG_LIVE;

	*tx_floor = model.tx_next;
	*rec_floor = model.next_rec;
	if (sz != model.data_size) {
		why |= W_DATA;
	} else if (memcmp(d, model.data, sz)) {
		if (rg && !log)
			model_without(seq, alt);
		if (!rg || log || memcmp(d, alt, sz))
			why |= W_DATA;
		else if (seq + 1 == model.tx_next)
			*tx_floor = seq;
		why |= why & W_DATA ? 0 : W_TORN;
	}
	if (end != model.next_rec) {
		if (rg && log && end == seq)
			*rec_floor = seq;
		why |= rg && log && end == seq ? W_TORN : W_LOG;
	}
	return why;
}

/* The user's next steps: one transaction per lane over the homes of the
 * unapplied ones, appends; *endp: where the log should end then. */
static unsigned carry_on(struct pm_pool *pool, uint8_t *data, uint64_t tx_floor,
			 uint64_t rec_floor, uint64_t *endp)
{
	struct pm_pool_info pi;
	unsigned why = 0;
	uint64_t first;

	if (pm_pool_info(pool, &pi) || pi.next_seq < tx_floor)
		why |= W_TXSEQ;
	if (run_turns(pool, 3, T3, &first))
		return why | W_NEWTX;
	for (int t = 0; t < T3; t++)
		model_tx(data, 3, t);
	*endp = first + T3;
	return why | (first < rec_floor ? W_LOGSEQ : 0);
}

/* ---- one case ----------------------------------------------------------- */

enum { O_REFUSED = 1, O_CORRECT, O_WRONG };
enum { C_CLEAN = 1, C_REPAIRABLE, C_FATAL };
enum { R_NOT = 1, R_CORRECT, R_LOST };
enum { F_NONE = 0, F_CRASH, F_HANG };
enum { S_OPEN = 1, S_CHECK, S_REPAIR };

struct result {
	uint8_t done, open, check, repair, fate, stage;
	uint16_t why;
	int open_ret;
};

struct kase {
	uint64_t off;
	uint8_t val;
};

static uint8_t img[POOL_SIZE];
static char path_a[8][128], path_b[8][128];

static int put_file(const char *p, const uint8_t *buf)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int ok = fd >= 0 && write(fd, buf, POOL_SIZE) == POOL_SIZE;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/* The findings of the undamaged crashed pool (its pending transactions):
 * a check that reports nothing else calls the damage clean. */
static uint64_t base_find[32];
static unsigned nbase_find;
static int collect_base;

static uint64_t finding_hash(const struct pm_check_finding *f)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ f->severity ^ (f->offset << 8);
	const char *p[2] = { f->structure, f->message };

	for (int k = 0; k < 2; k++)
		for (const char *c = p[k]; c && *c; c++)
			h = (h ^ (uint8_t)*c) * 0x100000001b3ULL;
	return h;
}

/* *arg: the worst severity among findings that are not the baseline's. */
static int debug; /* SWEEP_CASE: one case, told step by step */

static int sev_cb(const struct pm_check_finding *f, void *arg)
{
	uint64_t h = finding_hash(f);
	int *worst = arg;

	if (debug)
		printf("  finding: sev %d %s @%" PRIu64 ": %s\n", f->severity,
		       f->structure, f->offset, f->message);

	if (collect_base) {
		if (nbase_find < 32)
			base_find[nbase_find++] = h;
		return 0;
	}
	for (unsigned i = 0; i < nbase_find; i++)
		if (base_find[i] == h)
			return 0;
	if ((int)f->severity > *worst)
		*worst = (int)f->severity;
	return 0;
}

static unsigned case_open(const char *p, uint64_t off, struct result *r)
{
	static uint8_t data[POOL_SIZE];
	uint64_t tx_floor, rec_floor, end = 0, got;
	struct pm_pool *pool;
	unsigned why;

	r->open_ret = pm_pool_open(p, 0, &pool);
	if (r->open_ret)
		return O_REFUSED;
	why = judge(pool, off, &tx_floor, &rec_floor);
	if (debug) {
		struct pm_pool_info pi;

		pm_pool_info(pool, &pi);
		printf("  open: replayed %" PRIu64 ", next seq %" PRIu64
		       " (model %" PRIu64 "), judged %#x\n",
		       pi.tx_replayed, pi.next_seq, model.tx_next, why);
	}
	/* Carry on even if it is wrong already: from what this open shows,
	 * only the new transactions may change the data area, so stale
	 * replays and reused seqs still show. */
	memcpy(data, pm_pool_data(pool, NULL), model.data_size);
	why |= carry_on(pool, data, tx_floor, rec_floor, &end);
	pm_pool_close(pool);
	if (!(why & W_NEWTX)) {
		if (pm_pool_open(p, 0, &pool)) {
			why |= W_REOPEN;
		} else {
			if (memcmp(pm_pool_data(pool, NULL), data,
				   model.data_size))
				why |= W_REDATA;
			if (!(why & W_LOG) &&
			    ((walk_log(pool, &got) & W_LOG) || got != end))
				why |= W_RELOG;
			pm_pool_close(pool);
		}
	}
	r->why = (uint16_t)why;
	return why & W_WRONG ? O_WRONG : O_CORRECT;
}

static void run_case(int job, const struct kase *k, struct result *r)
{
	static uint8_t buf[POOL_SIZE];
	struct pm_pool *pool;
	int worst = -1, ret;

	memcpy(buf, img, sizeof(buf));
	if (k)
		buf[k->off] = k->val;
	r->stage = S_OPEN;
	if (put_file(path_a[job], buf))
		_exit(98);
	r->open = (uint8_t)case_open(path_a[job], k ? k->off : UINT64_MAX, r);

	r->stage = S_CHECK;
	if (put_file(path_b[job], buf))
		_exit(98);
	ret = pm_pool_check(path_b[job], 0, sev_cb, &worst);
	r->check = ret && ret != PM_E_CORRUPT	? C_FATAL :
		   worst == PM_CHECK_FATAL	? C_FATAL :
		   worst == PM_CHECK_REPAIRABLE ? C_REPAIRABLE :
						  C_CLEAN;

	r->stage = S_REPAIR;
	r->repair = R_NOT;
	if (pm_pool_check(path_b[job], PM_CHECK_REPAIR, NULL, NULL) == 0) {
		r->repair = R_LOST;
		if (!pm_pool_open(path_b[job], 0, &pool)) {
			uint64_t tf, rf;

			if (!(judge(pool, k ? k->off : UINT64_MAX, &tf, &rf) &
			      W_WRONG))
				r->repair = R_CORRECT;
			pm_pool_close(pool);
		}
	}
	r->done = 1;
}

/* ---- the metadata of the crashed pool -------------------------------------- */

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Where the entry at ring offset @p ends (just past its commit record),
 * or 0: range records, then a commit record, inside the ring. */
static uint64_t entry_end(const uint8_t *ring, uint64_t rs, uint64_t p)
{
	uint64_t q = p, len;

	while (q + sizeof(struct pm_tx_range) <= rs &&
	       rd32(ring + q) == PM_REC_RANGE) {
		len = rd64(ring + q + 16);
		if (len > rs)
			return 0;
		q += sizeof(struct pm_tx_range) + ((len + 7) & ~7ULL);
	}
	if (q == p || q + sizeof(struct pm_tx_commit) > rs ||
	    rd32(ring + q) != PM_REC_COMMIT)
		return 0;
	return q + sizeof(struct pm_tx_commit);
}

/* The entries in lane @i's ring (every 64-byte aligned range-commit
 * sequence that parses; checksums are the library's business): those
 * from @first_pending on are unretired.  Returns how many are. */
static unsigned find_entries(unsigned i, uint64_t first_pending)
{
	const uint8_t *ring = img + pinfo.lanes_offset +
			      (uint64_t)i * pinfo.lane_size +
			      sizeof(struct pm_lane_hdr);
	uint64_t rs = pinfo.lane_size - sizeof(struct pm_lane_hdr), p, end;
	unsigned pending = 0, newest = UINT32_MAX; /* region index */

	for (p = 0; p + 64 <= rs; p = (end + 63) & ~63ULL) {
		end = entry_end(ring, rs, p);
		if (!end) {
			end = p + 1;
			continue;
		}
		uint64_t seq = rd64(ring + end - sizeof(struct pm_tx_commit) +
				    8);
		int pend = seq >= first_pending;

		pending += pend;
		if (pend && (newest == UINT32_MAX || regions[newest].seq < seq))
			newest = nregions;
		add_region((uint64_t)(ring - img) + p, end - p,
			   pend ? A_PENDING : A_RETIRED, (int)i, seq);
	}
	if (newest < nregions)
		regions[newest].torn_ok = 1;
	return pending;
}

static int rec_cb(uint64_t seq, const void *rec, size_t len, void *arg)
{
	const uint8_t *base = arg;
	uint64_t off = (uint64_t)((const uint8_t *)rec - base) -
		       sizeof(struct pm_log_rec);

	add_region(off, sizeof(struct pm_log_rec) + ((len + 7) & ~7ULL),
		   A_LOG_LIVE, -1, seq);
	regions[nregions - 1].torn_ok = seq > model.log_sync;
	return 0;
}

static int area_of(uint64_t off)
{
	const struct region *rg = region_of(off);

	if (rg)
		return rg->area;
	if (off >= pinfo.log_offset + sizeof(struct pm_log_hdr) &&
	    off < pinfo.log_offset + pinfo.log_size)
		return A_LOG_DEAD;
	return -1;
}

static void describe(uint64_t off, char *s, size_t n)
{
	const struct region *rg = region_of(off);
	uint64_t in = rg ? off - rg->off : 0;

	if (!rg)
		snprintf(s, n, "%s +%" PRIu64, area_names[area_of(off)],
			 off - pinfo.log_offset - sizeof(struct pm_log_hdr));
	else if (rg->area == A_LANE_HDR)
		snprintf(s, n, "lane %d header slot %" PRIu64 " +%" PRIu64,
			 rg->lane, in / 32, in % 32);
	else if (rg->area == A_PENDING || rg->area == A_RETIRED)
		snprintf(s, n,
			 "lane %d %s seq %" PRIu64 " +%" PRIu64 "/%" PRIu64,
			 rg->lane, area_names[rg->area], rg->seq, in, rg->len);
	else if (rg->area == A_LOG_LIVE)
		snprintf(s, n,
			 "log record seq %" PRIu64 " +%" PRIu64 "/%" PRIu64,
			 rg->seq, in, rg->len);
	else
		snprintf(s, n, "%s +%" PRIu64, area_names[rg->area], in);
}

/* Map the crashed image's metadata; returns -1 if the fixture is off. */
static int map_regions(void)
{
	uint8_t *base;
	struct pm_pool *pool;
	struct pm_log *log;
	unsigned busy = 0, n;
	uint64_t lh;
	int ret;

	if (put_file(path_a[0], img) || pm_pool_open(path_a[0], 0, &pool))
		return -1;
	pm_pool_info(pool, &pinfo);
	model.tx_next = pinfo.next_seq;
	model.data_size = pinfo.data_size;
	add_region(PM_HDR_A_OFF, sizeof(struct pm_hdr), A_HDR_A, -1, 0);
	add_region(PM_HDR_B_OFF, sizeof(struct pm_hdr), A_HDR_B, -1, 0);
	for (unsigned i = 0; i < pinfo.nlanes; i++) {
		lh = pinfo.lanes_offset + i * pinfo.lane_size;
		add_region(lh, sizeof(struct pm_lane_hdr), A_LANE_HDR, (int)i,
			   0);
		n = find_entries(i, pinfo.next_seq - pinfo.tx_replayed);
		printf("  lane %u: %u unretired entries, header slot gens %" PRIu64
		       "/%" PRIu64 "\n",
		       i, n,
		       rd64(img + lh + offsetof(struct pm_lane_slot, gen)),
		       rd64(img + lh + 32 +
			    offsetof(struct pm_lane_slot, gen)));
		busy += n >= 2;
	}
	printf("  tx seqs 1..%" PRIu64 " (%" PRIu64 " replayed), live log "
	       "records %" PRIu64 "..%" PRIu64 "\n",
	       pinfo.next_seq - 1, pinfo.tx_replayed, model.first_rec,
	       model.next_rec - 1);
	add_region(pinfo.log_offset, sizeof(struct pm_log_hdr), A_LOG_HDR, -1,
		   0);
	base = pm_map_addr(pm_pool_map(pool));
	ret = pm_pool_log(pool, &log) || pm_log_walk(log, 0, rec_cb, base) ||
	      busy < 2 || pinfo.tx_replayed < T2;
	pm_pool_close(pool);
	return ret ? -1 : 0;
}

/* ---- the sweep ----------------------------------------------------------- */

static uint64_t rng;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static struct kase *cases;
static size_t ncases;
static unsigned per_area[A_N];

static void add_case(uint64_t off, uint8_t v)
{
	if (v == img[off])
		return;
	cases[ncases++] = (struct kase){ off, v };
	per_area[area_of(off)]++;
}

/* Every byte of the always-swept areas with four values; a sample (1 in
 * 8, two values) of retired entries and dead log ring bytes, unless
 * @full. */
static void build_cases(int full)
{
	uint64_t log_end = pinfo.log_offset + pinfo.log_size;

	cases = calloc((size_t)log_end * 4, sizeof(*cases));
	if (!cases)
		exit(99);
	for (uint64_t off = 0; off < log_end; off++) {
		int a = area_of(off), sampled;
		uint8_t o = img[off];
		uint8_t v[4] = { o ^ 0x01, o ^ 0x80, 0xff, 0x00 };

		if (a < 0)
			continue;
		sampled = !full && (a == A_RETIRED || a == A_LOG_DEAD);
		if (sampled && next_rand() % 8)
			continue;
		/* sampled: a low bit, and a high bit or 0xff or 0 in turn */
		for (unsigned k = 0; k < 4; k++)
			if (!sampled || k == 0 || k == 1 + off % 3)
				add_case(off, v[k]);
	}
}

static struct result *res; /* shared with the workers */
static volatile size_t *cur;

/* Worker @job runs every njobs-th case from @from (interleaved: the cost
 * of a case depends on the area it damages). */
static void worker(int job, int njobs, size_t from)
{
	for (size_t i = from; i < ncases; i += (size_t)njobs) {
		cur[job] = i;
		alarm(CASE_TIMEOUT);
		run_case(job, &cases[i], &res[i]);
	}
	alarm(0);
	_exit(0);
}

/* Run every case in children, a new one after each crash or hang. */
static void run_all(int njobs)
{
	size_t next[8];
	pid_t pid[8], p;
	int status, live = 0, j;

	for (j = 0; j < njobs; j++) {
		next[j] = (size_t)j;
		pid[j] = 0;
	}
	for (;;) {
		for (j = 0; j < njobs; j++) {
			if (pid[j] || next[j] >= ncases)
				continue;
			pid[j] = fork();
			if (pid[j] == 0)
				worker(j, njobs, next[j]);
			if (pid[j] < 0)
				exit(99);
			live++;
		}
		if (!live)
			return;
		p = wait(&status);
		for (j = 0; j < njobs && pid[j] != p; j++)
			;
		if (j == njobs)
			continue;
		live--;
		pid[j] = 0;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			next[j] = ncases;
			continue;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 98)
			exit(99);
		res[cur[j]].fate = WIFSIGNALED(status) &&
						   WTERMSIG(status) == SIGALRM ?
					   F_HANG :
					   F_CRASH;
		next[j] = cur[j] + (size_t)njobs;
	}
}

/* ---- report --------------------------------------------------------------- */

enum {
	V_CRASH,
	V_HANG,
	V_OPEN_WRONG,
	V_CLEAN_LOST,
	V_REPAIRED_LOST,
	V_OPEN_NOT_FATAL,
	V_REFUSED_NOT_FATAL,
	V_N
};
static const char *const v_names[] = { "crashes",
				       "hangs",
				       "opens-wrong",
				       "pmck-clean-but-lost",
				       "repaired-but-lost",
				       "open-ok-but-pmck-fatal",
				       "open-refused-but-pmck-not-fatal" };

static int violation(const struct result *r, int v)
{
	switch (v) {
	case V_CRASH:
		return r->fate == F_CRASH;
	case V_HANG:
		return r->fate == F_HANG;
	}
	if (!r->done)
		return 0;
	switch (v) {
	case V_OPEN_WRONG:
		return r->open == O_WRONG;
	case V_CLEAN_LOST:
		return r->check == C_CLEAN && r->open != O_CORRECT;
	case V_REPAIRED_LOST:
		return r->repair == R_LOST;
	case V_OPEN_NOT_FATAL:
		return r->open != O_REFUSED && r->check == C_FATAL;
	default:
		return r->open == O_REFUSED && r->check != C_FATAL;
	}
}

static void example(size_t i)
{
	static const char *const stage[] = { "-", "open", "check", "repair" };
	const struct result *r = &res[i];
	char where[96], why[160] = "";

	describe(cases[i].off, where, sizeof(where));
	for (unsigned b = 0; b < W_NBITS; b++)
		if (r->why & (1U << b))
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 "%s%s", *why ? "," : "", why_names[b]);
	printf("    byte %" PRIu64 " 0x%02x->0x%02x %s: open %s%s%s check "
	       "%s repair %s%s%s\n",
	       cases[i].off, img[cases[i].off], cases[i].val, where,
	       r->open == O_REFUSED ? "refused" :
	       r->open == O_CORRECT ? "ok" :
	       r->open		    ? "WRONG" :
				      "-",
	       *why ? ":" : "", why,
	       r->check == C_CLEAN	? "clean" :
	       r->check == C_REPAIRABLE ? "repairable" :
	       r->check			? "fatal" :
					  "-",
	       r->repair == R_CORRECT ? "ok" :
	       r->repair == R_LOST    ? "LOST" :
	       r->repair	      ? "not done" :
					"-",
	       r->fate ? " in " : "", r->fate ? stage[r->stage] : "");
}

static int verbose; /* SWEEP_VERBOSE=1: every case of every violation */

/* Up to NEXAMPLES cases of violation @v in area @a, distinct bytes. */
static void examples(int v, int a)
{
	uint64_t last = UINT64_MAX;
	unsigned shown = 0;

	for (size_t i = 0; i < ncases && (shown < NEXAMPLES || verbose); i++)
		if ((cases[i].off != last || verbose) &&
		    area_of(cases[i].off) == a && violation(&res[i], v)) {
			example(i);
			last = cases[i].off;
			shown++;
		}
}

static int report(void)
{
	unsigned long refused = 0, correct = 0, wrong = 0, back = 0, torn = 0;
	unsigned long nv[V_N] = { 0 }, byarea[V_N][A_N] = { { 0 } };
	unsigned long nwhy[W_NBITS] = { 0 };
	const char *sep = " (";
	unsigned long total = 0;

	for (size_t i = 0; i < ncases; i++) {
		const struct result *r = &res[i];

		refused += r->done && r->open == O_REFUSED;
		correct += r->done && r->open == O_CORRECT;
		wrong += r->done && r->open == O_WRONG;
		back += r->done && r->open == O_CORRECT && (r->why & W_BACK);
		torn += r->done && r->open == O_CORRECT && (r->why & W_TORN);
		for (unsigned b = 0;
		     b < W_NBITS && r->done && r->open == O_WRONG; b++)
			nwhy[b] += !!(r->why & (1U << b));
		for (int v = 0; v < V_N; v++)
			if (violation(r, v)) {
				nv[v]++;
				byarea[v][area_of(cases[i].off)]++;
			}
	}
	printf("cases %zu:", ncases);
	for (int a = 0; a < A_N; a++)
		printf(" %s %u%s", area_names[a], per_area[a],
		       a + 1 < A_N ? "," : "\n");
	printf("open: refused %lu, ok-correct %lu (%lu dropping what a torn "
	       "commit or append looks like, %lu with truncated log records "
	       "back), "
	       "ok-wrong %lu",
	       refused, correct, torn, back, wrong);
	for (unsigned b = 0; b < W_NBITS; b++)
		if (nwhy[b]) {
			printf("%s%s %lu", sep, why_names[b], nwhy[b]);
			sep = ", ";
		}
	printf("%s\n", wrong ? ")" : "");
	for (int v = 0; v < V_N; v++) {
		total += nv[v];
		printf("%-32s %lu", v_names[v], nv[v]);
		sep = " (";
		for (int a = 0; a < A_N; a++)
			if (byarea[v][a]) {
				printf("%s%s %lu", sep, area_names[a],
				       byarea[v][a]);
				sep = ", ";
			}
		printf("%s\n", nv[v] ? ")" : "");
		for (int a = 0; a < A_N; a++)
			examples(v, a);
	}
	return total ? 1 : 0;
}

static void quiet(int level, const char *msg, void *arg)
{
	(void)level;
	(void)msg;
	(void)arg;
}

int main(void)
{
	const char *dir = test_tmpdir(access("/dev/shm", W_OK) ? "/tmp" :
								 "/dev/shm");
	const char *e = getenv("SWEEP_FULL");
	int full = e && atoi(e), njobs, ret, fd;
	struct result base = { 0 };
	struct timespec t0, t1;
	char path[96];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	e = getenv("SWEEP_SEED");
	rng = e ? strtoull(e, NULL, 0) : (uint64_t)time(NULL);
	rng = rng ? rng : 1;
	printf("pmck_crash_sweep: seed %" PRIu64 " (SWEEP_SEED), %s\n", rng,
	       full ? "full" : "sampled (SWEEP_FULL=1 for all)");
	e = getenv("SWEEP_VERBOSE");
	verbose = e && atoi(e);
	e = getenv("SWEEP_JOBS");
	njobs = e ? atoi(e) : 2;
	njobs = njobs < 1 ? 1 : njobs > 8 ? 8 : njobs;
	pm_set_log_fn(quiet, NULL);

	snprintf(path, sizeof(path), "%s/crash_sweep.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return 99;
	close(fd);
	for (int j = 0; j < 8; j++) {
		snprintf(path_a[j], sizeof(path_a[j]), "%s.a%d", path, j);
		snprintf(path_b[j], sizeof(path_b[j]), "%s.b%d", path, j);
	}
	unlink(path);
	alarm(300); /* the fixture and the undamaged pool never hang */
	model_build();
	ret = session(path, 1) || session(path, 2);
	fd = ret ? -1 : open(path, O_RDONLY);
	ret = fd < 0 || read(fd, img, sizeof(img)) != sizeof(img);
	if (fd >= 0)
		close(fd);
	unlink(path);
	if (ret || map_regions()) {
		fprintf(stderr, "FAIL: the crashed pool is not as planned\n");
		return 99;
	}
	/* The harness itself: the undamaged image must pass every step. */
	collect_base = 1;
	run_case(0, NULL, &base);
	collect_base = 0;
	if (base.open != O_CORRECT || !nbase_find || base.repair != R_CORRECT) {
		fprintf(stderr,
			"FAIL: the undamaged crashed pool does not "
			"check out (open %d why %#x, check %d, "
			"repair %d)\n",
			base.open, base.why, base.check, base.repair);
		return 99;
	}
	e = getenv("SWEEP_CASE"); /* OFFSET:VALUE, one case in the open */
	if (e) {
		struct kase k = { strtoull(e, NULL, 0), 0 };
		char where[96];

		k.val = (uint8_t)strtoul(strchr(e, ':') ? strchr(e, ':') + 1 :
							  "0",
					 NULL, 0);
		debug = 1;
		pm_set_log_fn(NULL, NULL);
		describe(k.off, where, sizeof(where));
		printf("case: byte %" PRIu64 " (%s) 0x%02x -> 0x%02x\n", k.off,
		       where, img[k.off], k.val);
		run_case(0, &k, &base);
		printf("open %d (ret %d) why %#x, check %d, repair %d\n",
		       base.open, base.open_ret, base.why, base.check,
		       base.repair);
		return 0;
	}
	alarm(0);
	build_cases(full);
	res = mmap(NULL, ncases * sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cur = mmap(NULL, 8 * sizeof(*cur), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED || cur == MAP_FAILED)
		return 99;
	run_all(njobs);
	for (int j = 0; j < 8; j++) {
		unlink(path_a[j]);
		unlink(path_b[j]);
	}
	ret = report();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%s in %.1f s (%d workers)\n", ret ? "FAIL" : "PASS",
	       (double)(t1.tv_sec - t0.tv_sec) +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       njobs);
	return ret;
}
