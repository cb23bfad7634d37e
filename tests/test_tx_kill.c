/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_tx_kill.c - a child runs deterministic transfers (two accounts, a
 * counter and a memo of 8 B to 6 KiB, so both the cached and the
 * non-temporal paths run) and reports each committed count through a
 * pipe; the parent kills it with SIGKILL at a random moment, reopens the
 * pool and checks that the pool equals a model that ran exactly the
 * committed transfers (every reported one, at most one more).  Small
 * lanes make the rings wrap and reclaim all the time.  TX_KILL_SEED and
 * TX_KILL_ITERS reproduce or extend a run.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "libpm.h"
#include "killafter.h"
#include "tmpdir.h"

#define NACCT 64
#define NMEMO 8
#define MEMO_MAX 6144
#define AREA (4096 + NMEMO * 8192)

struct state {
	uint64_t done;
	uint64_t acct[NACCT];
	uint8_t pad[4096 - 8 - NACCT * 8];
	uint8_t memo[NMEMO][8192];
};

static char path[256];

static uint64_t mix(uint64_t k)
{
	k *= 0x9e3779b97f4a7c15ULL;
	return k ^ (k >> 29);
}

/* Transfer number k (from 1), applied through @put on state @s. */
struct xfer {
	unsigned from, to, memo;
	uint64_t amt;
	size_t memo_len;
};

static struct xfer plan(uint64_t k)
{
	uint64_t h = mix(k);

	return (struct xfer){ h % NACCT, (h >> 8) % NACCT, (h >> 16) % NMEMO,
			      (h >> 24) % 50, 8 + (h >> 32) % MEMO_MAX };
}

static void model(struct state *s, uint64_t k)
{
	struct xfer x = plan(k);

	if (x.from != x.to && s->acct[x.from] >= x.amt) {
		s->acct[x.from] -= x.amt;
		s->acct[x.to] += x.amt;
	}
	memset(s->memo[x.memo], (int)(k & 0xff), x.memo_len);
	s->done = k;
}

static int run_one(struct pm_pool *pool, struct state *s, uint64_t k)
{
	static uint8_t memo[MEMO_MAX + 8];
	struct xfer x = plan(k);
	uint64_t f, t;
	struct pm_tx *tx;
	int ret = pm_tx_begin(pool, 24 + x.memo_len, &tx);

	if (ret)
		return ret;
	pm_tx_read(tx, &f, &s->acct[x.from], 8);
	pm_tx_read(tx, &t, &s->acct[x.to], 8);
	if (x.from != x.to && f >= x.amt) {
		f -= x.amt;
		t += x.amt;
		ret |= pm_tx_write(tx, &s->acct[x.from], &f, 8);
		ret |= pm_tx_write(tx, &s->acct[x.to], &t, 8);
	}
	memset(memo, (int)(k & 0xff), x.memo_len);
	ret |= pm_tx_write(tx, s->memo[x.memo], memo, x.memo_len);
	ret |= pm_tx_write(tx, &s->done, &k, 8);
	if (ret) {
		pm_tx_abort(tx);
		return ret;
	}
	return pm_tx_commit(tx);
}

static void child(int fd)
{
	struct pm_pool *pool;
	struct state *s;

	if (pm_pool_open(path, 0, &pool))
		_exit(2);
	s = pm_pool_data(pool, NULL);
	for (uint64_t k = s->done + 1;; k++) {
		if (run_one(pool, s, k))
			_exit(3);
		if (write(fd, &k, sizeof(k)) != sizeof(k))
			_exit(4);
	}
}

static void test_tx_commit_survives_sigkill(void **state)
{
	const char *e = getenv("TX_KILL_SEED");
	unsigned seed = e ? (unsigned)atoi(e) : (unsigned)time(NULL);
	int iters = getenv("TX_KILL_ITERS") ? atoi(getenv("TX_KILL_ITERS")) :
					      100;
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .nlanes = 4,
				  .lane_size = 32768 };
	static struct state m;
	struct pm_pool *pool;
	uint64_t reported = 0, total = 0;
	struct state *s;

	(void)state;
	print_message("TX_KILL_SEED=%u TX_KILL_ITERS=%d\n", seed, iters);
	srand(seed);
	assert_int_equal(pm_pool_create(path, 8 << 20, &o, &pool), 0);
	s = pm_pool_data(pool, NULL);
	for (int i = 0; i < NACCT; i++)
		m.acct[i] = 1000;
	memcpy(s->acct, m.acct, sizeof(m.acct));
	assert_int_equal(pm_persist(pm_pool_map(pool), s->acct, sizeof(m.acct)),
			 0);
	pm_pool_close(pool);
	for (int i = 0; i < iters; i++) {
		reported = kill_after(child, 200 + rand() % 20000, reported);
		after_kill(path);
		assert_int_equal(pm_pool_open(path, 0, &pool), 0);
		s = pm_pool_data(pool, NULL);
		assert_true(s->done >= reported); /* every reported commit */
		assert_true(s->done <=
			    reported + 1); /* at most the one in flight */
		while (m.done < s->done)
			model(&m, m.done + 1);
		assert_memory_equal(s, &m, sizeof(m));
		reported = s->done;
		pm_pool_close(pool);
	}
	for (int i = 0; i < NACCT; i++)
		total += m.acct[i];
	assert_int_equal(total, NACCT * 1000);
	print_message("%llu transfers over %d kills\n",
		      (unsigned long long)m.done, iters);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx_commit_survives_sigkill),
	};
	int ret;

	snprintf(path, sizeof(path), "%s/test_tx_kill.%d",
		 test_tmpdir("/dev/shm"), getpid());
	setenv("PM_FORCE_GRANULARITY", "cacheline", 1);
	unlink(path);
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	return ret;
}
