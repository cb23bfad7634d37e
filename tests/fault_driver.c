/* SPDX-License-Identifier: BSD-3-Clause */
/* fault_driver.c - the loop behind tests/test_fault*.c (fault_driver.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault.h"
#include "fault_driver.h"
#include "libpm.h"
#include "tmpdir.h"

#define MAX_N 10000 /* more injectable calls than any operation makes */
#define MAX_SITES 1024

char fault_dir[128];
char fault_path[160];

static unsigned errors_logged;
static int verbose;

/* Totals for the summary line. */
static unsigned long runs, faults, absorbed;
/* Injectable calls the last run made. */
static unsigned long last_calls;
static struct {
	const char *kind;
	unsigned long n;
} by_kind[16];
/* Distinct call stacks (3 frames) at which a fault was injected. */
static void *sites[MAX_SITES][3];
static unsigned nsites;

static void log_fn(int level, const char *msg, void *arg)
{
	(void)arg;
	if (level == PM_LOG_ERR)
		errors_logged++;
	if (verbose)
		fprintf(stderr, "    log %d: %s\n", level, msg);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Mappings of any file in the test directory. */
static int count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, fault_dir) != NULL;
	fclose(f);
	return n;
}

static void note_hit(void)
{
	const char *kind = pm_fault_last();
	void *st[3] = { NULL, NULL, NULL };
	unsigned i;

	for (i = 0; i < 16 && by_kind[i].kind; i++)
		if (!strcmp(by_kind[i].kind, kind))
			break;
	if (i < 16) {
		by_kind[i].kind = kind;
		by_kind[i].n++;
	}
	pm_fault_last_stack(st, 3);
	for (i = 0; i < nsites; i++)
		if (!memcmp(sites[i], st, sizeof(st)))
			return;
	if (nsites < MAX_SITES)
		memcpy(sites[nsites++], st, sizeof(st));
}

/* Check one run's result; @n and @sticky only name it in messages. */
static void judge(const struct fault_op *op, unsigned long n, int sticky,
		  int ret, int hit)
{
	const char *how = sticky ? "from call" : "call";

	if (!hit) {
		if (ret)
			fail_msg("%s: no fault, yet %d (%s)", op->name, ret,
				 pm_strerror(ret));
		return;
	}
	if (ret == 0) {
		absorbed++;
		/* A sysfs read probes the platform: by design, any doubt
		 * answers "no" (no eADR, bad blocks unknown, with a warning). */
		if (!op->may_absorb && strcmp(pm_fault_last(), "sysfs"))
			fail_msg("%s: fault at %s %lu (%s) absorbed, ret 0",
				 op->name, how, n, pm_fault_last());
		return;
	}
	if (ret > 0)
		fail_msg("%s: fault at %s %lu (%s) gave %d", op->name, how, n,
			 pm_fault_last(), ret);
	if (!errors_logged)
		fail_msg("%s: fault at %s %lu (%s) gave %d (%s) without a "
			 "logged error",
			 op->name, how, n, pm_fault_last(), ret,
			 pm_strerror(ret));
}

/* One run with the fault armed at @n; returns 1 if a fault was hit. */
static int run_once(const struct fault_op *op, unsigned long n, int sticky)
{
	int fds = count_fds(), maps = count_maps(), ret, hit;
	long allocs = pm_fault_live_allocs();

	if (op->before)
		op->before();
	errors_logged = 0;
	assert_int_equal(pm_fault_arm(NULL, n, sticky ? PM_FAULT_STICKY : 0),
			 0);
	ret = op->run();
	hit = pm_fault_hits() != 0;
	last_calls = pm_fault_calls(NULL);
	pm_fault_disarm();
	runs++;
	if (hit) {
		faults++;
		note_hit();
	}
	if (verbose)
		fprintf(stderr, "%s %s%lu: %s -> %d (%s)\n", op->name,
			sticky ? "N>=" : "N=", n,
			hit ? pm_fault_last() : "no fault", ret,
			pm_strerror(ret));
	judge(op, n, sticky, ret, hit);
	if (op->release)
		op->release(ret);
	if (allocs != pm_fault_live_allocs())
		fail_msg("%s: fault at %lu (%s): %ld allocations leaked",
			 op->name, n, pm_fault_last(),
			 pm_fault_live_allocs() - allocs);
	if (fds != count_fds())
		fail_msg("%s: fault at %lu (%s): %d descriptors leaked",
			 op->name, n, pm_fault_last(), count_fds() - fds);
	if (maps != count_maps())
		fail_msg("%s: fault at %lu (%s): %d mappings leaked", op->name,
			 n, pm_fault_last(), count_maps() - maps);
	if (op->check)
		op->check(ret == 0);
	return hit;
}

void fault_run(const struct fault_op *op)
{
	unsigned long n, calls;

	for (n = 1; n <= MAX_N && run_once(op, n, 0); n++)
		;
	if (n > MAX_N)
		fail_msg("%s: still failing after %d faults", op->name, MAX_N);
	/* The clean run's count of injectable calls bounds the sticky
	 * loop. */
	calls = last_calls;
	for (n = 1; n <= calls + 1 && run_once(op, n, 1); n++)
		;
}

void fault_run_all(const struct fault_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fault_run(&ops[i]);
}

int fault_setup(void **state)
{
	(void)state;
	verbose = getenv("TEST_FAULT_VERBOSE") != NULL;
	snprintf(fault_dir, sizeof(fault_dir), "%s/test_fault.%d",
		 test_tmpdir("/dev/shm"), getpid());
	if (mkdir(fault_dir, 0700))
		return -1;
	snprintf(fault_path, sizeof(fault_path), "%s/pool", fault_dir);
	pm_set_log_fn(log_fn, NULL);
	pm_set_log_level(verbose ? PM_LOG_DEBUG : PM_LOG_ERR);
	return 0;
}

int fault_teardown(void **state)
{
	DIR *d = opendir(fault_dir);
	char p[512];
	struct dirent *e;

	(void)state;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", fault_dir, e->d_name);
			unlink(p);
		}
	if (d)
		closedir(d);
	rmdir(fault_dir);
	printf("# fault injection: %lu runs, %lu with a fault (%lu absorbed), "
	       "%u distinct call stacks;",
	       runs, faults, absorbed, nsites);
	for (unsigned i = 0; i < 16 && by_kind[i].kind; i++)
		printf(" %s %lu", by_kind[i].kind, by_kind[i].n);
	printf("\n");
	return 0;
}

/* ---- file helpers ------------------------------------------------------ */

unsigned char fault_pattern(size_t i, unsigned seed)
{
	return (unsigned char)((i * 131 + seed * 7 + (i >> 12)) & 0xff);
}

void fault_write_file(const char *path, size_t size, unsigned seed)
{
	unsigned char *buf = malloc(size);
	int fd;

	assert_non_null(buf);
	for (size_t i = 0; i < size; i++)
		buf[i] = fault_pattern(i, seed);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	close(fd);
	free(buf);
}

void fault_assert_file(const char *path, size_t size, size_t len, unsigned seed)
{
	unsigned char *buf = malloc(len ? len : 1);
	struct stat st;
	int fd;

	assert_non_null(buf);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, (off_t)size);
	assert_int_equal(pread(fd, buf, len, 0), (ssize_t)len);
	close(fd);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != fault_pattern(i, seed))
			fail_msg("%s: byte %zu is 0x%02x, not 0x%02x", path, i,
				 buf[i], fault_pattern(i, seed));
	free(buf);
}

void fault_assert_no_file(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		fail_msg("%s exists (%lld bytes) after a failed create", path,
			 (long long)st.st_size);
	assert_int_equal(errno, ENOENT);
}

static void *read_all(const char *path, size_t *sizep)
{
	struct stat st;
	void *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0),
			 (ssize_t)st.st_size);
	close(fd);
	*sizep = (size_t)st.st_size;
	return buf;
}

void fault_copy_file(const char *from, const char *to)
{
	size_t size;
	void *buf = read_all(from, &size);
	int fd = open(to, O_RDWR | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, size), (ssize_t)size);
	close(fd);
	free(buf);
}

int fault_files_equal(const char *a, const char *b)
{
	size_t na, nb;
	void *ba = read_all(a, &na), *bb = read_all(b, &nb);
	int eq = na == nb && !memcmp(ba, bb, na);

	free(ba);
	free(bb);
	return eq;
}
