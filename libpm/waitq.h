/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * waitq.h - sleeping until a condition holds, and the asymmetric barrier
 * pair under it.  A waker makes its condition true with ordinary stores,
 * then pm_waitq_wake(): one load and no locked instruction unless some
 * thread sleeps.  The barriers: pm_barrier_light() is a compiler barrier
 * when pm_barrier_heavy() can make every running thread of the process
 * execute a full barrier (membarrier()), else a full fence.
 */
#ifndef PM_WAITQ_H
#define PM_WAITQ_H 1

#include <stdint.h>

#include "internal.h"

/* 1 if pm_barrier_heavy() stands in for the light side's fence. */
extern int pm_barrier_asym;

/* Decide pm_barrier_asym, once per process (PM_NO_MEMBARRIER=1: never). */
void pm_barrier_init(void);
/* Decide again (tests): not while other threads rely on the barriers. */
void pm_barrier_reinit(void);

/* The fast side of a Dekker pair: orders this thread's earlier stores
 * before its later loads against a pm_barrier_heavy() elsewhere. */
static inline __attribute__((always_inline)) void pm_barrier_light(void)
{
	if (pm_barrier_asym)
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
	else
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* The slow side: a full barrier in every running thread of the process.
 * Return: 0, or -1 if there is none (the light side then fenced itself
 * only if pm_barrier_asym is 0). */
int pm_barrier_heavy(void);

struct pm_waitq {
	uint32_t seq;	  /* futex word: changes when sleepers are woken */
	uint32_t waiters; /* threads registered to sleep */
};

/* Return non-zero once the awaited condition holds (acquire loads). */
typedef int (*pm_waitq_ready_fn)(const void *arg);

void pm_waitq_init(struct pm_waitq *q);

/* Return once @ready(@arg) is non-zero: a short spin, then sleep until a
 * pm_waitq_wake() on @q, checking again after each. */
void pm_waitq_wait(struct pm_waitq *q, pm_waitq_ready_fn ready,
		   const void *arg);

void pm_waitq_wake_all(struct pm_waitq *q);

/* After the stores that may make a waiter's condition true.  No fence:
 * a waiter that registers runs pm_barrier_heavy(), or sleeps with a
 * timeout where there is none. */
static inline void pm_waitq_wake(struct pm_waitq *q)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (PM_UNLIKELY(__atomic_load_n(&q->waiters, __ATOMIC_RELAXED)))
		pm_waitq_wake_all(q);
}

#endif /* PM_WAITQ_H */
