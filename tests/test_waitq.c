/* SPDX-License-Identifier: BSD-3-Clause */
/* test_waitq.c - futex waits: order, no lost wake-up, no CPU while asleep. */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "waitq.h"

/*
 * Run this thread, and the threads it starts, on one CPU: a waiter's spin
 * then cannot see the other thread move, so it goes to sleep.  Return
 * the previous set, for unpin().
 */
static cpu_set_t pin(void)
{
	cpu_set_t old, one;

	assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
	CPU_ZERO(&one);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &old)) {
			CPU_SET(c, &one);
			break;
		}
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	return old;
}

static void unpin(const cpu_set_t *old)
{
	assert_int_equal(sched_setaffinity(0, sizeof(*old), old), 0);
}

/* ---- a chain: each waiter waits for the one before it ---- */

#define CHAIN 8

struct link {
	uint32_t *now;
	struct pm_waitq *q;
	uint32_t me;
	uint32_t *order;
	uint32_t *norder;
};

struct cond {
	const uint32_t *word;
	uint32_t want;
};

static int cond_reached(const void *arg)
{
	const struct cond *c = arg;

	return __atomic_load_n(c->word, __ATOMIC_ACQUIRE) == c->want;
}

static void wait_for(struct pm_waitq *q, const uint32_t *word, uint32_t want)
{
	struct cond c = { word, want };

	pm_waitq_wait(q, cond_reached, &c);
}

static void set_and_wake(struct pm_waitq *q, uint32_t *word, uint32_t v)
{
	__atomic_store_n(word, v, __ATOMIC_RELEASE);
	pm_waitq_wake(q);
}

static void *chain_link(void *arg)
{
	struct link *l = arg;

	wait_for(l->q, l->now, l->me);
	l->order[(*l->norder)++] = l->me;
	set_and_wake(l->q, l->now, l->me + 1);
	return NULL;
}

static void test_waitq_wait_chain(void **state)
{
	struct pm_waitq q;
	uint32_t now = UINT32_MAX, order[CHAIN], norder = 0;
	struct link l[CHAIN];
	pthread_t t[CHAIN];
	cpu_set_t cpus = pin();

	(void)state;
	pm_waitq_init(&q);
	/* Started last first, so that most of them have to sleep. */
	for (int i = CHAIN - 1; i >= 0; i--) {
		l[i] = (struct link){ &now, &q, (uint32_t)i, order, &norder };
		assert_int_equal(pthread_create(&t[i], NULL, chain_link, &l[i]),
				 0);
	}
	set_and_wake(&q, &now, 0);
	for (int i = 0; i < CHAIN; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	unpin(&cpus);
	assert_int_equal(now, CHAIN);
	assert_int_equal(norder, CHAIN);
	for (uint32_t i = 0; i < CHAIN; i++)
		assert_int_equal(order[i], i);
	assert_int_equal(q.waiters, 0);
}

/* ---- ping-pong: a lost wake-up hangs it ---- */

#define ROUNDS 20000U

struct ball {
	struct pm_waitq q;
	uint32_t hits;
	uint32_t rounds;
};

/* Odd hits are this thread's, even ones the caller's. */
static void *pong(void *arg)
{
	struct ball *b = arg;

	for (uint32_t i = 0; i < b->rounds; i++) {
		wait_for(&b->q, &b->hits, 2 * i + 1);
		set_and_wake(&b->q, &b->hits, 2 * i + 2);
	}
	return NULL;
}

/* On one CPU (@pinned: every wait sleeps) or on any (store buffers). */
static void ping_pong(uint32_t rounds, int pinned)
{
	struct ball b = { .rounds = rounds };
	pthread_t t;
	cpu_set_t cpus = pin();

	if (!pinned)
		unpin(&cpus);
	pm_waitq_init(&b.q);
	assert_int_equal(pthread_create(&t, NULL, pong, &b), 0);
	for (uint32_t i = 0; i < rounds; i++) {
		set_and_wake(&b.q, &b.hits, 2 * i + 1);
		wait_for(&b.q, &b.hits, 2 * i + 2);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	unpin(&cpus);
	print_message("%u round trips, %u wakes\n", rounds, b.q.seq);
	assert_int_equal(b.hits, 2 * rounds);
	assert_int_equal(b.q.waiters, 0);
	if (pinned)
		assert_true(b.q.seq > 0); /* the futex path ran */
}

static void test_waitq_wait_ping_pong(void **state)
{
	(void)state;
	ping_pong(ROUNDS, 1);
	ping_pong(ROUNDS, 0);
}

/* Without membarrier() waiters sleep with a timeout: still no hang. */
static void test_waitq_wait_no_membarrier(void **state)
{
	(void)state;
	assert_int_equal(setenv("PM_NO_MEMBARRIER", "1", 1), 0);
	pm_barrier_reinit();
	assert_int_equal(pm_barrier_asym, 0);
	ping_pong(ROUNDS / 10, 1);
	ping_pong(ROUNDS / 10, 0);
	assert_int_equal(unsetenv("PM_NO_MEMBARRIER"), 0);
	pm_barrier_reinit();
}

/* ---- a waiter asleep costs no CPU ---- */

struct sleeper {
	struct pm_waitq q;
	uint32_t go;
	uint32_t started;
	double cpu, wall; /* seconds spent in the wait */
};

static double secs(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *sleeper(void *arg)
{
	struct sleeper *s = arg;
	double cpu = secs(CLOCK_THREAD_CPUTIME_ID),
	       wall = secs(CLOCK_MONOTONIC);

	set_and_wake(&s->q, &s->started, 1);
	wait_for(&s->q, &s->go, 1);
	s->cpu = secs(CLOCK_THREAD_CPUTIME_ID) - cpu;
	s->wall = secs(CLOCK_MONOTONIC) - wall;
	return NULL;
}

static void test_waitq_wait_sleeps(void **state)
{
	struct sleeper s = { .go = 0 };
	struct timespec nap = { .tv_nsec = 200 * 1000 * 1000 };
	pthread_t t;

	(void)state;
	pm_waitq_init(&s.q);
	assert_int_equal(pthread_create(&t, NULL, sleeper, &s), 0);
	wait_for(&s.q, &s.started, 1);
	nanosleep(&nap, NULL);
	set_and_wake(&s.q, &s.go, 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	print_message("waiter: %.1f ms CPU in %.1f ms\n", s.cpu * 1e3,
		      s.wall * 1e3);
	/* A spinning or yielding waiter burns its core meanwhile. */
	assert_true(s.wall >= 0.2);
	assert_true(s.cpu < s.wall / 20);
}

/* A wake with nobody asleep touches nothing but the waiter count. */
static void test_waitq_wake_none_asleep(void **state)
{
	struct pm_waitq q;

	(void)state;
	pm_waitq_init(&q);
	pm_waitq_wake(&q);
	assert_int_equal(q.seq, 0);
	assert_int_equal(q.waiters, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_waitq_wake_none_asleep),
		cmocka_unit_test(test_waitq_wait_chain),
		cmocka_unit_test(test_waitq_wait_ping_pong),
		cmocka_unit_test(test_waitq_wait_no_membarrier),
		cmocka_unit_test(test_waitq_wait_sleeps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
