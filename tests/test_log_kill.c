/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_log_kill.c - a child appends numbered records to a pool's log (and
 * truncates when it is full), reporting each acknowledged seq through a
 * pipe; the parent kills it with SIGKILL at a random moment, reopens the
 * pool and checks that every acknowledged record is there, in order and
 * intact.  LOG_KILL_SEED and LOG_KILL_ITERS reproduce or extend a run.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "libpm.h"
#include "tmpdir.h"

#define MSG_TRUNC_REQ (1ULL << 63) /* about to truncate up to the value */
#define MSG_TRUNC_ACK (1ULL << 62) /* truncation returned 0 */
#define MSG_VALUE (MSG_TRUNC_ACK - 1)
#define MAX(a, b) ((a) > (b) ? (a) : (b))

static char path[256];

static size_t rec_len(uint64_t seq)
{
	uint64_t h = seq * 0x9e3779b97f4a7c15ULL;

	if ((h >> 40) % 64 == 0)
		return 20000 + (h >> 20) % 3000; /* non-temporal path */
	return 8 + (h >> 32) % 600;
}

static void rec_fill(uint8_t *buf, uint64_t seq, size_t len)
{
	size_t i;

	memcpy(buf, &seq, 8);
	for (i = 8; i < len; i++)
		buf[i] = (uint8_t)(seq ^ (i * 13));
}

static void send_msg(int fd, uint64_t v)
{
	if (write(fd, &v, sizeof(v)) != sizeof(v))
		_exit(3);
}

static void child(int fd, int gran)
{
	static uint8_t buf[32 << 10];
	struct pm_pool *pool;
	struct pm_log *log;
	struct pm_log_info info;
	uint64_t seq;

	setenv("PM_FORCE_GRANULARITY", gran ? "page" : "cacheline", 1);
	if (pm_pool_open(path, 0, &pool) || pm_pool_log(pool, &log))
		_exit(2);
	for (;;) {
		size_t len;
		int ret;

		pm_log_get_info(log, &info);
		len = rec_len(info.next_seq);
		rec_fill(buf, info.next_seq, len);
		ret = pm_log_append(log, buf, len, &seq);
		if (ret == -ENOSPC) {
			uint64_t upto = info.first_seq + info.nrecords / 2;

			send_msg(fd, MSG_TRUNC_REQ | upto);
			if (pm_log_truncate(log, upto))
				_exit(4);
			send_msg(fd, MSG_TRUNC_ACK | upto);
			continue;
		}
		if (ret || seq != info.next_seq)
			_exit(5);
		send_msg(fd, seq);
	}
}

struct state {
	uint64_t acked;	    /* highest acknowledged seq */
	uint64_t truncated; /* every seq <= it may be gone */
	uint64_t pending;   /* truncation requested, not acknowledged */
};

static void read_msgs(int fd, struct state *st)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == sizeof(v)) {
		if (v & MSG_TRUNC_REQ)
			st->pending = v & MSG_VALUE;
		else if (v & MSG_TRUNC_ACK)
			st->truncated = MAX(st->truncated, v & MSG_VALUE);
		else
			st->acked = MAX(st->acked, v);
	}
}

struct walk {
	uint64_t next;
	int bad;
};

static int check_cb(uint64_t seq, const void *rec, size_t len, void *arg)
{
	static uint8_t want[32 << 10];
	struct walk *w = arg;

	rec_fill(want, seq, rec_len(seq));
	if ((w->next && seq != w->next) || len != rec_len(seq) ||
	    memcmp(rec, want, len))
		w->bad = 1;
	w->next = seq + 1;
	return 0;
}

static void verify(struct state *st, unsigned iter, unsigned seed)
{
	struct pm_pool *pool;
	struct pm_log *log;
	struct pm_log_info info;
	struct walk w = { 0 };
	uint64_t may_drop = MAX(st->truncated, st->pending);

	assert_int_equal(pm_pool_open(path, 0, &pool), 0);
	assert_int_equal(pm_pool_log(pool, &log), 0);
	assert_int_equal(pm_log_get_info(log, &info), 0);
	assert_int_equal(pm_log_walk(log, 0, check_cb, &w), 0);
	if (w.bad || info.next_seq <= st->acked ||
	    info.first_seq > may_drop + 1 ||
	    (info.nrecords && w.next != info.next_seq))
		fail_msg("iteration %u (seed %u): log [%llu, %llu) bad %d, "
			 "acked %llu, truncated %llu/%llu",
			 iter, seed, (unsigned long long)info.first_seq,
			 (unsigned long long)info.next_seq, w.bad,
			 (unsigned long long)st->acked,
			 (unsigned long long)st->truncated,
			 (unsigned long long)st->pending);
	st->truncated = info.first_seq - 1;
	st->pending = 0;
	pm_pool_close(pool);
}

static void test_log_append_survives_sigkill(void **unused)
{
	struct pm_pool_opts o = { .sz = sizeof(o), .log_size = 256 << 10 };
	const char *s = getenv("LOG_KILL_SEED"), *n = getenv("LOG_KILL_ITERS");
	unsigned seed = s ? (unsigned)atoi(s) : (unsigned)time(NULL);
	unsigned iters = n ? (unsigned)atoi(n) : 120, i;
	struct state st = { 0 };
	struct pm_pool *pool;

	(void)unused;
	printf("# seed %u, %u iterations\n", seed, iters);
	srand(seed);
	assert_int_equal(pm_pool_create(path, 4 << 20, &o, &pool), 0);
	pm_pool_close(pool);
	for (i = 0; i < iters; i++) {
		int fds[2], status;
		pid_t pid;

		assert_int_equal(pipe(fds), 0);
		fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);
		pid = fork();
		assert_true(pid >= 0);
		if (!pid) {
			close(fds[0]);
			child(fds[1], i % 3 == 2);
		}
		close(fds[1]);
		usleep((useconds_t)(rand() % 4000));
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status))
			fail_msg("child exited with %d", WEXITSTATUS(status));
		read_msgs(fds[0], &st);
		close(fds[0]);
		verify(&st, i, seed);
	}
	printf("# %llu records acknowledged\n", (unsigned long long)st.acked);
}

static int setup(void **unused)
{
	(void)unused;
	snprintf(path, sizeof(path), "%s/test_log_kill.%d",
		 test_tmpdir("/dev/shm"), getpid());
	unlink(path);
	setenv("PM_FORCE_GRANULARITY", "cacheline", 1);
	return 0;
}

static int teardown(void **unused)
{
	(void)unused;
	unlink(path);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_append_survives_sigkill),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
