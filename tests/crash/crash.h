/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * crash.h - the crash-simulation driver and its workloads.
 *
 * A workload prepares a file, runs operations on it while the simulator
 * records, and checks one crash image at a time.  It brackets each
 * operation with crash_op_begin()/crash_op_end(); the driver turns that
 * into "returned before this crash point" / "in flight" / "not started",
 * which is what the checker's invariant is about:
 *   - the pool (or file) opens, recovery included;
 *   - every operation that returned before the crash point is present;
 *   - an operation in flight is all there or not at all;
 *   - an operation not started has left no trace.
 */
#ifndef PM_CRASH_H
#define PM_CRASH_H 1

#include <stddef.h>
#include <stdint.h>

#include "libpm.h"
#include "testhook.h"

/*
 * Deliberate bugs inside libpm (pm_test_break, testhook.h) exist only in
 * pmcrash-test, the build with libpm's test hooks; pmcrash, on libpm.so,
 * lists none of them (CRASH_LIB_BREAK) and says which build has them.
 */
#define CRASH_LIB_BREAKS "log-fence,tx-fence,heap-bits"
#ifdef PM_TEST_HOOKS
#define CRASH_LIB_BREAK(name) name
static inline void crash_lib_break(unsigned bits)
{
	pm_test_break = bits;
}
/* The log's window (log.c): small enough for a small ring to cross it. */
static inline void crash_lib_log_window(unsigned bytes)
{
	pm_test_log_window = bytes;
}
#else
#define CRASH_LIB_BREAK(name) ""
static inline void crash_lib_break(unsigned bits)
{
	(void)bits;
}
static inline void crash_lib_log_window(unsigned bytes)
{
	(void)bytes;
}
#endif

#define CRASH_STREAMS 8 /* concurrent operation streams (threads) */

struct crash_ctx;

struct crash_workload {
	const char *name;
	const char *desc;
	/* comma-separated names of deliberate bugs --break accepts */
	const char *breaks;
	/* before recording: create the file (may be NULL) */
	int (*prepare)(struct crash_ctx *c);
	/* recorded: the operations */
	int (*run)(struct crash_ctx *c);
	/* one crash image, already in c->image: 0 if it satisfies the
	 * invariant, else crash_fail(c, ...) */
	int (*check)(struct crash_ctx *c, const struct pm_sim_image *img);
	void (*cleanup)(struct crash_ctx *c);
	/* a pool: each image also goes through afterlife.h (open, wrap
	 * every lane's ring, crash again, reopen) */
	int afterlife;
};

/* Where an operation stream stands at a crash point. */
struct crash_at {
	uint64_t done; /* operations that returned before the point */
	int inflight;  /* 1 if operation number @done had begun */
};

struct crash_ctx {
	const struct crash_workload *wl;
	char dir[256];	  /* this run's own directory, under --dir */
	char file[300];	  /* the recorded file */
	char image[300];  /* where each crash image is written */
	char image2[300]; /* a second copy of it, for the after-life */
	unsigned ops;	  /* workload size (operations per stream) */
	unsigned threads;
	uint64_t seed;	 /* workload data */
	const char *brk; /* the deliberate bug asked for, or NULL */
	int verbose;
	int deep;	/* --deep: workloads run longer */
	int strict;	/* --strict: known weaknesses are violations */
	int damage;	/* --damage: each image also checked with the newer
			  * slot of every lane header damaged */
	uint64_t noted; /* images showing a known weakness */
	struct pm_sim *sim;
	void *priv; /* the workload's own state */
	char msg[512];
};

/* Operation bookkeeping (driver.c); thread-safe. */
unsigned crash_op_begin(struct crash_ctx *c, unsigned stream);
void crash_op_end(struct crash_ctx *c, unsigned stream, unsigned op);
struct crash_at crash_at(struct crash_ctx *c, unsigned stream, uint64_t point);
int crash_fail(struct crash_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Deterministic test data: byte @i of item @id. */
void crash_fill(void *buf, size_t len, uint64_t seed, uint64_t id);
/* First offset where @buf differs from crash_fill(seed, id), or -1. */
long crash_cmp(const void *buf, size_t len, uint64_t seed, uint64_t id);
int crash_is_broken(const struct crash_ctx *c, const char *name);

extern const struct crash_workload crash_wl_flag;
extern const struct crash_workload crash_wl_heap;
extern const struct crash_workload crash_wl_heap_mt;
extern const struct crash_workload crash_wl_log;
extern const struct crash_workload crash_wl_pool;
extern const struct crash_workload crash_wl_tx;
extern const struct crash_workload crash_wl_tx_mt;
extern const struct crash_workload crash_wl_tx_direct;

struct crash_opts {
	unsigned ops;
	unsigned threads;
	unsigned max_exhaustive;
	unsigned max_samples;
	unsigned sim_flags;
	uint64_t seed;
	int64_t only_point; /* -1: all */
	unsigned afterlife; /* every Nth image of a pool (0: none) */
	const char *dir;
	const char *brk;
	int verbose;
	int deep;
	int strict;
	int damage;
	unsigned max_reports;
};

struct crash_result {
	uint64_t points;
	uint64_t sampled_points;
	uint64_t images;
	uint64_t violations;
	uint64_t noted; /* known weaknesses seen (not violations) */
	double seconds;
};

int crash_run(const struct crash_workload *wl, const struct crash_opts *o,
	      struct crash_result *r);

#endif /* PM_CRASH_H */
