/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * killafter.h - the fork + SIGKILL loop of the kill tests: a child
 * counts what it committed on a pipe until it is killed mid-run.
 * Include after <cmocka.h>.
 */
#ifndef PM_TEST_KILLAFTER_H
#define PM_TEST_KILLAFTER_H 1

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "afterlife.h"

/* Fork, run @child(fd) for about @us, kill it; the last count it wrote
 * to fd (after a commit returned), or @last if none. */
static inline uint64_t kill_after(void (*child)(int fd), long us, uint64_t last)
{
	struct timespec t0, now;
	int fds[2], st;
	uint64_t v;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		child(fds[1]);
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };

		poll(&p, 1, 1);
		while (read(fds[0], &v, sizeof(v)) == sizeof(v))
			last = v;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - t0.tv_sec) * 1000000 +
			 (now.tv_nsec - t0.tv_nsec) / 1000 <
		 us);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st)); /* not an early exit of its own */
	while (read(fds[0], &v, sizeof(v)) == sizeof(v))
		last = v;
	close(fds[0]);
	return last;
}

/* The killed pool at @path opens (recovery) and goes on working until
 * every lane's ring has wrapped twice, its data as recovered (see
 * afterlife.h); then the caller checks that data as usual. */
static inline void after_kill(const char *path)
{
	char msg[512];

	if (afterlife(path, msg, sizeof(msg)))
		fail_msg("after the kill: %s", msg);
}

#endif /* PM_TEST_KILLAFTER_H */
