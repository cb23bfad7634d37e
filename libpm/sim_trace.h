/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim_trace.h - a recording session and its trace, shared by the recorder
 * (sim.c) and the crash-image generator (sim_image.c).
 *
 * The trace is a byte string of events, 8-byte aligned:
 *   GROW  (arg = new size)      D grows, new bytes zero
 *   FOLD  (arg = line offset)   + 64 bytes: D's new contents of that line
 *   POINT (arg = kind, n lines) + n x (struct sim_line + nver x 64 bytes):
 *         each line's known states after D, oldest first, live last
 */
#ifndef PM_SIM_TRACE_H
#define PM_SIM_TRACE_H 1

#include <pthread.h>
#include <sys/types.h>

#include "map.h"

enum { SIM_EV_GROW = 1, SIM_EV_FOLD = 2, SIM_EV_POINT = 3 };

struct sim_ev {
	uint32_t type;
	uint32_t n;
	uint64_t arg;
};

struct sim_line {
	uint64_t off;
	uint32_t nver;
	uint32_t pad;
};

/* A state of one line not known to be durable. */
struct sim_ver {
	uint64_t off;
	uint64_t seq; /* recording order */
	uint32_t tid; /* recording thread */
	uint32_t wb;  /* 1: written back, durable at tid's next fence */
	uint8_t data[PM_CACHELINE];
};

struct pm_sim {
	pthread_mutex_t lock;
	char *path;
	dev_t dev;
	ino_t ino;
	int have_ino;
	unsigned flags; /* PM_SIM_* */
	unsigned max_exhaustive;
	unsigned max_samples;
	uint64_t seed;
	int err; /* first recording failure, returned by pm_sim_explore() */

	struct pm_map *map; /* the recorded mapping, if one is open */
	const struct pm_persist_ops *real;

	uint8_t *d0; /* the file at pm_sim_start() */
	size_t size0;
	uint8_t *dur; /* D */
	size_t size;
	uint64_t *dur_seq; /* per line: seq of the state D holds */
	uint64_t seq;

	struct sim_ver *pend;
	size_t npend, cpend;
	uint64_t npoints;

	uint8_t *trace;
	size_t tlen, tcap;
};

/* The session recording now, if any (sim.c). */
extern struct pm_sim *pm_sim_active;

#endif /* PM_SIM_TRACE_H */
