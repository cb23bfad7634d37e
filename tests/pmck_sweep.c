/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmck_sweep - change every byte of the metadata of a small pool, one at a
 * time, and check each result: pm_pool_check() must not crash, must call
 * damage to a header copy damage, and after a repair a fresh check must
 * give the same verdict as the repair did, clean or PM_E_CORRUPT; a pool
 * it then calls clean must open.  Run twice: on a pool closed cleanly and
 * on one "killed" with three committed, unapplied transactions; then on
 * a heap pool, clean and killed, with every byte of the heap's metadata
 * (heap header, page headers, run bitmaps) changed too: a heap pool that
 * pm_pool_check() calls clean must open, and its heap must walk.
 *
 * Damage counts as detected when the findings differ from those of the
 * unchanged pool (the crashed one has pending transactions to begin with).
 *
 * By default every byte of both header copies and every 7th byte of the
 * rest gets one new value (its complement), to keep `make check` short;
 * with PMCK_SWEEP_FULL=1 every metadata byte gets four (complement, 0x00,
 * 0xff, low bit flipped).  Build with sanitizers to make "never crashes"
 * mean more.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "layout.h"
#include "libpm.h"
#include "testhook.h"

#define POOL_SIZE (192 * 1024)

struct stats {
	unsigned long runs, damaged, repaired, left, notpool;
	unsigned long undetected[6], masked[6];
};

static char path[64];
static uint8_t orig[POOL_SIZE];
static uint64_t meta_end; /* data_off: everything before is metadata */
static uint64_t base_sig; /* findings of the unchanged pool */
static int base_ret;
static int heap;		     /* the pool is a heap pool */
static uint8_t heap_meta[POOL_SIZE]; /* 1: a byte of the heap's metadata */

/* FNV-1a over what each finding says, to compare with the baseline. */
static void fnv(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		*h = (*h ^ b[i]) * 0x100000001b3ULL;
}

static int sig_cb(const struct pm_check_finding *f, void *arg)
{
	uint64_t *h = arg;

	fnv(h, &f->severity, sizeof(f->severity));
	fnv(h, &f->offset, sizeof(f->offset));
	fnv(h, f->structure, strlen(f->structure));
	fnv(h, f->message, strlen(f->message));
	return 0;
}

static int check_sig(uint64_t *sig)
{
	*sig = 0xcbf29ce484222325ULL;
	return pm_pool_check(path, 0, sig_cb, sig);
}

static void quiet(int level, const char *msg, void *arg)
{
	(void)level;
	(void)msg;
	(void)arg;
}

static int fail(const char *what, long off, int v)
{
	fprintf(stderr, "FAIL: %s (byte %ld = 0x%02x)\n", what, off, v);
	return 1;
}

/* Mark the heap's metadata: its header, page headers, run bitmaps. */
static void heap_mark(const uint8_t *img)
{
	const struct pm_heap_hdr *hh = (const void *)(img + meta_end);
	uint64_t n = hh->npages, hdrs = hh->hdrs_off, pages = hh->pages_off;

	memset(heap_meta, 0, sizeof(heap_meta));
	memset(heap_meta + meta_end, 1, sizeof(*hh));
	memset(heap_meta + hdrs, 1, n * 8);
	for (uint64_t p = 0; p < n; p++) {
		uint64_t v;

		memcpy(&v, img + hdrs + p * 8, 8);
		if ((v & 0xff) == PM_HEAP_T_RUN)
			memset(heap_meta + pages + p * PM_HEAP_PAGE, 1, 32);
	}
}

/* Objects in runs of two classes, an extent, the root; a killed pool
 * also has three committed, unapplied transactions that allocate and
 * free. */
static int heap_fill(struct pm_pool *pool, int crashed)
{
	static const size_t sizes[] = { 16, 16, 200, 200, 40000, 24 };
	uint64_t off[6], root;
	struct pm_tx *tx;

	if (pm_pool_root(pool, 64, &root))
		return -1;
	for (int i = 0; i < 6; i++) {
		if (i == 3 && crashed)
			pm_tx_test_skip_apply = 1;
		if (pm_tx_begin(pool, 2 * PM_TX_HEAP_RESERVE, &tx) ||
		    pm_tx_alloc(tx, sizes[i], 0, &off[i]) ||
		    pm_tx_free(tx, i == 5 ? off[0] : 0) || pm_tx_commit(tx))
			return -1;
	}
	return 0;
}

static int make_heap_pool(int crashed)
{
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .nlanes = 2,
				  .lane_size = 4096,
				  .flags = PM_POOL_HEAP };
	struct pm_pool *pool;
	struct pm_pool_info pi;
	int status, fd;
	pid_t pid;

	heap = 1;
	unlink(path);
	if (pm_pool_create(path, POOL_SIZE, &o, &pool))
		return -1;
	pm_pool_info(pool, &pi);
	meta_end = pi.data_offset;
	pm_pool_close(pool);
	pid = fork();
	if (pid == 0)
		_exit(pm_pool_open(path, 0, &pool) || heap_fill(pool, crashed));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -1;
	if (!crashed && (pm_pool_open(path, 0, &pool) == 0))
		pm_pool_close(pool); /* closed cleanly */
	fd = open(path, O_RDONLY);
	if (fd < 0 || pread(fd, orig, sizeof(orig), 0) != sizeof(orig))
		return -1;
	close(fd);
	heap_mark(orig);
	return 0;
}

static int count_cb(uint64_t off, size_t size, void *arg)
{
	(void)off;
	(void)size;
	(*(unsigned *)arg)++;
	return 0;
}

/* A heap pool called clean opens, walks and allocates. */
static int heap_opens(void)
{
	struct pm_pool *pool;
	struct pm_heap_stats st;
	struct pm_tx *tx;
	unsigned n = 0;
	uint64_t off;
	int ret = pm_pool_open(path, 0, &pool);

	if (ret)
		return ret;
	pm_heap_walk(pool, count_cb, &n);
	pm_heap_stats(pool, &st);
	if (!pm_tx_begin(pool, PM_TX_HEAP_RESERVE, &tx)) {
		if (pm_tx_alloc(tx, 100, 0, &off) == 0)
			pm_tx_free(tx, 0);
		pm_tx_abort(tx);
	}
	pm_pool_close(pool);
	return 0;
}

static int make_pool(int crashed)
{
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .nlanes = 4,
				  .lane_size = 4096,
				  .log_size = 8192 };
	struct pm_pool *pool;
	struct pm_pool_info pi;
	struct pm_log *log;
	int status;
	pid_t pid;

	unlink(path);
	if (pm_pool_create(path, POOL_SIZE, &o, &pool))
		return -1;
	pm_pool_info(pool, &pi);
	meta_end = pi.data_offset;
	for (int i = 0; i < 8; i++) {
		static const char rec[16] = "log record";

		if (pm_pool_log(pool, &log) ||
		    pm_log_append(log, rec, 6 + (size_t)i, NULL))
			return -1;
	}
	pm_pool_close(pool);
	if (!crashed)
		return 0;
	pid = fork();
	if (pid == 0) {
		char *d;

		if (pm_pool_open(path, 0, &pool))
			_exit(1);
		d = pm_pool_data(pool, NULL);
		pm_tx_test_skip_apply = 1;
		for (int i = 0; i < 3; i++) {
			struct pm_tx *tx;

			if (pm_tx_begin(pool, 64, &tx) ||
			    pm_tx_write(tx, d + 64 * i, "committed", 10) ||
			    pm_tx_commit(tx))
				_exit(1);
		}
		_exit(0);
	}
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
			       WEXITSTATUS(status) == 0 ?
		       0 :
		       -1;
}

static int load(const uint8_t *buf)
{
	int fd = open(path, O_WRONLY);
	int ok = fd >= 0 && pwrite(fd, buf, POOL_SIZE, 0) == POOL_SIZE;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

static int in_header(uint64_t off)
{
	return off < sizeof(struct pm_hdr) ||
	       (off >= PM_HDR_B_OFF &&
		off < PM_HDR_B_OFF + sizeof(struct pm_hdr));
}

static int area_of(uint64_t off)
{
	if (off < PM_HDR_B_OFF)
		return PM_AREA_HEADER_A;
	if (off < PM_LANES_OFF)
		return PM_AREA_HEADER_B;
	if (heap)
		return off < meta_end ? PM_AREA_LANES : PM_AREA_DATA;
	return off < PM_LANES_OFF + 4 * 4096 ? PM_AREA_LANES : PM_AREA_LOG;
}

/* One changed byte: check, and repair + recheck if damaged. */
static int one(struct stats *st, uint64_t off, uint8_t v)
{
	uint8_t buf[POOL_SIZE];
	struct pm_pool *pool;
	uint64_t sig;
	int r1, r2, r3;

	if (heap && off >= meta_end && !heap_meta[off])
		return 0;
	memcpy(buf, orig, sizeof(buf));
	buf[off] = v;
	if (load(buf))
		return fail("cannot write the pool", (long)off, v);
	st->runs++;
	r1 = check_sig(&sig);
	if (r1 == PM_E_NOT_POOL || r1 == PM_E_VERSION) {
		st->notpool++;
		return in_header(off) ? 0 : fail("not a pool", (long)off, v);
	}
	if (r1 != 0 && r1 != PM_E_CORRUPT)
		return fail("check could not run", (long)off, v);
	if (heap && r1 == 0 && heap_opens())
		return fail("check says clean, open refuses", (long)off, v);
	if (heap && r1 == 0 && load(buf))
		return fail("cannot write the pool", (long)off, v);
	if (r1 == base_ret && sig == base_sig) {
		st->undetected[area_of(off)]++;
		return in_header(off) ?
			       fail("header damage missed", (long)off, v) :
			       0;
	}
	if (r1 == 0) { /* the change hid what the unchanged pool showed */
		st->masked[area_of(off)]++;
		return in_header(off) ?
			       fail("header damage missed", (long)off, v) :
			       0;
	}
	st->damaged++;
	r2 = pm_pool_check(path, PM_CHECK_REPAIR, NULL, NULL);
	r3 = pm_pool_check(path, 0, NULL, NULL);
	if (r2 != r3 || (r3 != 0 && r3 != PM_E_CORRUPT))
		return fail("repair and recheck disagree", (long)off, v);
	if (r3 == PM_E_CORRUPT) {
		st->left++;
		return 0;
	}
	st->repaired++;
	if (pm_pool_open(path, 0, &pool))
		return fail("clean after repair but does not open", (long)off,
			    v);
	pm_pool_close(pool);
	return 0;
}

static int sweep(const char *name, int full)
{
	static const char *const areas[] = { "header A", "header B", "lanes",
					     "log", "heap" };
	struct stats st = { 0 };
	int fd = open(path, O_RDONLY);

	if (fd < 0 || pread(fd, orig, sizeof(orig), 0) != sizeof(orig))
		return fail("cannot read the pool", -1, 0);
	close(fd);
	base_ret = check_sig(&base_sig);
	for (uint64_t off = 0; off < (heap ? POOL_SIZE : meta_end); off++) {
		if (!full && !in_header(off) && off % 7 &&
		    !(heap && heap_meta[off]))
			continue;
		uint8_t vals[4] = { (uint8_t)~orig[off], 0x00, 0xff,
				    (uint8_t)(orig[off] ^ 1) };

		for (int k = 0; k < (full ? 4 : 1); k++) {
			if (k && vals[k] == orig[off])
				continue;
			if (one(&st, off, vals[k]))
				return 1;
		}
	}
	printf("%s: %lu changes in %llu metadata bytes: %lu damaged (%lu "
	       "repaired, %lu left), %lu not a pool, undetected:",
	       name, st.runs, (unsigned long long)meta_end, st.damaged,
	       st.repaired, st.left, st.notpool);
	for (int a = 0; a < 5; a++)
		printf(" %s %lu", areas[a], st.undetected[a]);
	printf("; turned clean:");
	for (int a = 0; a < 5; a++)
		printf(" %s %lu", areas[a], st.masked[a]);
	printf("\n");
	return load(orig);
}

int main(void)
{
	int full = getenv("PMCK_SWEEP_FULL") && atoi(getenv("PMCK_SWEEP_FULL"));
	const char *dir = access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm";
	int fd, ret;

	/* tmpfs when there is one: every repair ends in msync. */
	snprintf(path, sizeof(path), "%s/pmck_sweep.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return 99;
	close(fd);
	pm_set_log_fn(quiet, NULL);
	ret = make_pool(0) || sweep("clean pool", full) || make_pool(1) ||
	      sweep("crashed pool", full) || make_heap_pool(0) ||
	      sweep("clean heap pool", full) || make_heap_pool(1) ||
	      sweep("crashed heap pool", full);
	unlink(path);
	return ret ? 1 : 0;
}
