/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmbench.h - what the workloads of pmbench share: the options, timing,
 * medians and the list of results the report is made from.
 */
#ifndef PMBENCH_H
#define PMBENCH_H 1

#include <stddef.h>
#include <time.h>

#define PMB_MAX_RESULTS 64

struct pmb_opts {
	const char *dir;  /* where the pool files go */
	int reps;	  /* repetitions; the median is reported */
	double secs;	  /* length of one timed repetition */
	int quick;	  /* smaller pools, fewer sizes */
	size_t pool_size; /* transaction / recovery / check pools */
};

/*
 * One line of the report.  Times are seconds per operation (for threads:
 * wall time divided by all threads' operations), so the ratio libpm/PMDK
 * of rates is t_pmdk / t_pm whatever the unit shown; for the unit "%"
 * they are fractions where more is better, and the ratio is t_pm / t_pmdk.
 */
struct pmb_result {
	const char *group; /* "persist", "memcpy", "tx", "log", ... */
	char name[48];
	size_t size;	     /* bytes per operation, 0 if not a copy */
	double t_pm, t_pmdk; /* seconds per operation */
	/* PMDK's time over libpm's in the repetition where it was lowest
	 * and highest (each repetition runs both back to back); 0: none
	 * (the churn's fractions have none) */
	double q_min, q_max;
	double t_limit;	     /* the hardware's floor (see the table); 0: none */
	double f_pm, f_pmdk; /* fences per op; < 0: not applicable */
	const char *unit;    /* "op/s", "GB/s", "ms" or "%" */
	const char *note;    /* what the line's numbers mean, or NULL */
};

extern struct pmb_result pmb_results[PMB_MAX_RESULTS];
extern int pmb_nresults;

struct pmb_result *pmb_add(const char *group, const char *name, size_t size);

static inline double pmb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline size_t pmb_rnd(unsigned *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Seconds per call of @op(@arg), called for at least @secs or, when @max
 * is above 0, until @max calls; *fences (if not NULL) gets libpm's fences
 * per call.  A call that returns non-zero (a negative errno) ends the
 * program with its message. */
double pmb_run(int (*op)(void *), void *arg, double secs, long max,
	       double *fences);
/* A result in op/s from the times of @n repetitions of each (medians). */
struct pmb_result *pmb_add_ops(const char *group, const char *name, double *pm,
			       double *pmdk, int n);
/* Warm-up, then o->reps timed runs of each operation taking turns. */
struct pmb_result *pmb_versus(const struct pmb_opts *o, const char *group,
			      const char *name, int (*pm_op)(void *),
			      void *pm_arg, int (*pmdk_op)(void *),
			      void *pmdk_arg);
/*
 * The floor the hardware puts under a durable operation on o->dir: @steps
 * times, @data bytes of a new object (0: none) and an 8-byte word of one
 * metadata line stored and written back, then one fence.  Seconds per
 * operation, the median of o->reps runs; 0 if its file cannot be made.
 */
double pmb_floor(const struct pmb_opts *o, size_t data, int steps);
/* The median of @n values (sorts them). */
double pmb_median(double *v, int n);
/* @r's times: the medians of @n repetitions of each library (sorted in
 * place), and the spread of their ratio repetition by repetition. */
void pmb_times(struct pmb_result *r, double *pm, double *pmdk, int n);
/* "/dir/pmbench-<what>.<pid>" into @buf. */
void pmb_path(char *buf, size_t len, const struct pmb_opts *o,
	      const char *what);
/* Progress on stderr, so stdout stays the report. */
void pmb_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 0: pmb_progress() says nothing. */
extern int pmb_verbose;
/* Remove every file pmb_path() named (at exit). */
void pmb_remove_files(void);

int pmb_mem(const struct pmb_opts *o);
int pmb_log(const struct pmb_opts *o);
/* Transactions, then recovery and check on the same two pool files. */
int pmb_tx(const struct pmb_opts *o, int tx, int recovery, int check);

int pmb_recovery(const struct pmb_opts *o, const char *pm_path,
		 const char *pmdk_path);
int pmb_log_recovery(const struct pmb_opts *o);
int pmb_check(const struct pmb_opts *o, const char *pm_path,
	      const char *pmdk_path);
/* Allocation and free on libpm's heap and libpmemobj's, then pmb_kv(). */
int pmb_heap(const struct pmb_opts *o);
struct pm_pool;
struct pmemobjpool;
/* examples/kvstore.c's map against the same on libpmemobj, in these pools. */
int pmb_kv(const struct pmb_opts *o, struct pm_pool *pool,
	   struct pmemobjpool *pop);
/* Fragmentation: how full a churn keeps pools of 64 MiB, 256 MiB, 1 GiB. */
int pmb_churn(const struct pmb_opts *o);

void pmb_print_table(double load);
void pmb_print_json(double load);
int pmb_plot(const char *file, double load);

#endif /* PMBENCH_H */
