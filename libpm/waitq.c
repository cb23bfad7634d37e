/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * waitq.c - futex sleep until a condition holds; the membarrier() pair.
 *
 * Invariant: no wake-up is lost.  A waiter registers (waiters + 1), runs
 * pm_barrier_heavy() and stays registered until it returns; each round it
 * reads seq, then its condition, and sleeps only while seq is unchanged.
 * A waker stores its condition, then (compiler barrier only) reads
 * waiters.  The heavy barrier makes the two a Dekker pair: either the
 * waiter sees the condition, or the waker sees it registered and bumps
 * seq (release, after the condition's stores) before FUTEX_WAKE, so the
 * waiter's FUTEX_WAIT on the seq it read finds it changed or is woken;
 * and a waiter that reads the new seq sees the condition.  Without
 * membarrier() a waker's load may pass its own store: waiters then sleep
 * PM_WAITQ_TIMEOUT_NS at most before they look again.
 */
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "waitq.h"

/* Checks before sleeping: a publisher is usually a fence away. */
#define PM_WAITQ_SPINS 256
#define PM_WAITQ_TIMEOUT_NS 1000000L

int pm_barrier_asym;
static pthread_once_t barrier_once = PTHREAD_ONCE_INIT;

static long membarrier(int cmd)
{
	return syscall(SYS_membarrier, cmd, 0, 0);
}

void pm_barrier_reinit(void)
{
	long q = -1;

	if (!pm_env_flag("PM_NO_MEMBARRIER"))
		q = membarrier(MEMBARRIER_CMD_QUERY);
	pm_barrier_asym =
		q > 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
		membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

void pm_barrier_init(void)
{
	pthread_once(&barrier_once, pm_barrier_reinit);
}

int pm_barrier_heavy(void)
{
	if (!pm_barrier_asym) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		return 0;
	}
	if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0)
		return 0;
	/* Registered before a fork(), say: register this process again. */
	if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) ||
	    membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED))
		return -1;
	return 0;
}

void pm_waitq_init(struct pm_waitq *q)
{
	pm_barrier_init();
	q->seq = 0;
	q->waiters = 0;
}

static void futex_wait(uint32_t *word, uint32_t val, int timed)
{
	struct timespec ts = { .tv_nsec = PM_WAITQ_TIMEOUT_NS };

	/* EAGAIN (changed), EINTR, ETIMEDOUT: the caller looks again. */
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, timed ? &ts : NULL,
		NULL, 0);
}

void pm_waitq_wait(struct pm_waitq *q, pm_waitq_ready_fn ready, const void *arg)
{
	int timed;

	for (unsigned i = 0; i < PM_WAITQ_SPINS; i++)
		if (ready(arg))
			return;
	__atomic_fetch_add(&q->waiters, 1, __ATOMIC_SEQ_CST);
	timed = !pm_barrier_asym || pm_barrier_heavy();
	for (;;) {
		uint32_t seq = __atomic_load_n(&q->seq, __ATOMIC_ACQUIRE);

		if (ready(arg))
			break;
		futex_wait(&q->seq, seq, timed);
	}
	__atomic_fetch_sub(&q->waiters, 1, __ATOMIC_RELEASE);
}

void pm_waitq_wake_all(struct pm_waitq *q)
{
	__atomic_fetch_add(&q->seq, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &q->seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}
