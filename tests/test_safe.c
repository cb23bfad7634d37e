/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_safe.c - pm_read_safe(), its users (the log walk, the checker)
 * and the library's own guarded reads against real SIGBUS: pages of a
 * mapping whose file was truncated underneath (or never had pages).
 * Each case runs in a forked child
 * (the test runner swaps SIGBUS handlers between cases, and some cases are
 * meant to die); the child's exit status is the verdict.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fakesys.h"
#include "libpm.h"
#include "log.h"
#include "tmpdir.h"

#define PG 4096
#define NPG 4

static char path[256];

/* A child-side check: exit with the line number on failure. */
#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "child: %s failed (line %d)\n", #c,    \
				__LINE__);                                     \
			_exit(100 + __LINE__ % 100);                           \
		}                                                              \
	} while (0)

/* Map NPG pages of a fresh file, page i filled with 'A' + i, then cut
 * the file to @keep pages: the rest of the mapping raises SIGBUS. */
static struct pm_map *map_cut(unsigned keep)
{
	struct pm_map *m;
	char *p;

	unlink(path);
	CHECK(pm_map_file(path, NPG * PG, PM_MAP_CREATE, &m) == 0);
	p = pm_map_addr(m);
	for (unsigned i = 0; i < NPG; i++)
		memset(p + i * PG, 'A' + i, PG);
	CHECK(pm_persist(m, p, NPG * PG) == 0);
	CHECK(truncate(path, (off_t)keep * PG) == 0);
	return m;
}

static void default_sigbus(void)
{
	signal(SIGBUS, SIG_DFL);
}

/* Map the stack the child will use before any fault: valgrind cannot
 * grow a stack while it delivers a signal. */
static void __attribute__((noinline)) grow_stack(void)
{
	volatile char pad[256 << 10];

	pad[0] = 0;
	pad[sizeof(pad) - 1] = 0;
	for (size_t i = 0; i < sizeof(pad); i += 4096)
		pad[i] = 0;
}

static int run_child(void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid) {
		grow_stack();
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* Run @fn in a child, which must exit (not die) with status @code. */
static void expect_exit(void (*fn)(void), int code)
{
	int st = run_child(fn);

	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), code);
}

static void child_truncated(void)
{
	struct pm_map *m;
	char *p, buf[2 * PG];

	default_sigbus();
	m = map_cut(1);
	p = pm_map_addr(m);
	CHECK(pm_read_safe(m, buf, p + PG, 64) == -EIO);
	/* The process lives on; good pages read as written. */
	CHECK(pm_read_safe(m, buf, p + 100, PG - 100) == 0);
	CHECK(buf[0] == 'A' && buf[PG - 101] == 'A');
	/* A copy that runs into a bad page fails whole. */
	CHECK(pm_read_safe(m, buf, p + PG / 2, PG) == -EIO);
	/* A second fault is caught too: SIGBUS is not left blocked. */
	CHECK(pm_read_safe(m, buf, p + 3 * PG, 8) == -EIO);
	CHECK(pm_read_safe(m, buf, p, 8) == 0 && buf[7] == 'A');
	pm_unmap(m);
}

static void test_pm_read_safe_truncated_page(void **state)
{
	expect_exit(child_truncated, 0);
}

static void *thread_reads(void *arg)
{
	struct pm_map *m = arg;
	char *p = pm_map_addr(m), buf[16];

	for (int i = 0; i < 100; i++) {
		CHECK(pm_read_safe(m, buf, p + 2 * PG + i, 16) == -EIO);
		CHECK(pm_read_safe(m, buf, p + i, 16) == 0 && buf[0] == 'A');
	}
	return NULL;
}

static void child_threads(void)
{
	struct pm_map *m;
	pthread_t t[4];

	default_sigbus();
	m = map_cut(1);
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], NULL, thread_reads, m) == 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	pm_unmap(m);
}

static void test_pm_read_safe_threads(void **state)
{
	expect_exit(child_threads, 0);
}

static void own_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	_exit(sig == SIGBUS && si->si_code == BUS_ADRERR ? 42 : 43);
}

/* A SIGBUS outside any pm_read_safe() reaches the handler installed
 * before libpm's. */
static void child_foreign_chained(void)
{
	struct sigaction sa = { 0 };
	struct pm_map *m;
	char *p, buf[8];

	sa.sa_sigaction = own_sigbus;
	sa.sa_flags = SA_SIGINFO;
	CHECK(sigaction(SIGBUS, &sa, NULL) == 0);
	m = map_cut(1);
	p = pm_map_addr(m);
	CHECK(pm_read_safe(m, buf, p + PG, 8) == -EIO);
	buf[0] = *(volatile char *)(p + PG);
	_exit(1);
}

static void test_pm_read_safe_foreign_chained(void **state)
{
	expect_exit(child_foreign_chained, 42);
}

/* With no handler before libpm's, a foreign fault still kills. */
static void child_foreign_default(void)
{
	struct pm_map *m;
	char *p, buf[8];

	default_sigbus();
	m = map_cut(1);
	p = pm_map_addr(m);
	CHECK(pm_read_safe(m, buf, p, 8) == 0);
	buf[0] = *(volatile char *)(p + 2 * PG);
	_exit(1);
}

static void test_pm_read_safe_foreign_default(void **state)
{
	int st = run_child(child_foreign_default);

	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGBUS);
}

static volatile sig_atomic_t got_plain;

static void plain_sigbus(int sig)
{
	got_plain = sig;
}

/* A SIGBUS sent by kill() is never taken for poison. */
static void child_sent_signal(void)
{
	struct pm_map *m;
	char buf[8];

	signal(SIGBUS, plain_sigbus);
	m = map_cut(NPG);
	CHECK(pm_read_safe(m, buf, pm_map_addr(m), 8) == 0);
	CHECK(raise(SIGBUS) == 0);
	CHECK(got_plain == SIGBUS);
	pm_unmap(m);
}

static void test_pm_read_safe_sent_signal(void **state)
{
	expect_exit(child_sent_signal, 0);
}

static void test_pm_read_safe_bad_args(void **state)
{
	struct pm_map *m;
	char *p, buf[16];

	unlink(path);
	assert_int_equal(pm_map_file(path, PG, PM_MAP_CREATE, &m), 0);
	p = pm_map_addr(m);
	assert_int_equal(pm_read_safe(m, buf, p + PG - 8, 16), -EINVAL);
	assert_int_equal(pm_read_safe(m, buf, p - 1, 1), -EINVAL);
	assert_int_equal(pm_read_safe(NULL, buf, p, 1), -EINVAL);
	assert_int_equal(pm_read_safe(m, NULL, p, 1), -EINVAL);
	assert_int_equal(pm_read_safe(m, buf, p + PG, 0), 0);
	pm_unmap(m);
}

/* ---- log walks and recovery read the ring guarded --------------------- */

#define LOG_PG 16
#define LOG_SEED 5

static int count_rec(uint64_t seq, const void *rec, size_t len, void *arg)
{
	(void)seq;
	CHECK(len == 1000 && ((const char *)rec)[999] == 'r');
	++*(unsigned *)arg;
	return 0;
}

/* A log area over LOG_PG pages, 60 records of 1000 bytes, then the file
 * cut to 4 pages: walk, scan and open meet a vanished page (SIGBUS) and
 * return -EIO; the process lives on. */
static void child_log_truncated(void)
{
	struct pm_log_scan sc;
	struct pm_log *log;
	struct pm_map *m;
	char rec[1000];
	unsigned n = 0;
	void *a;

	default_sigbus();
	unlink(path);
	CHECK(pm_map_file(path, LOG_PG * PG, PM_MAP_CREATE, &m) == 0);
	a = pm_map_addr(m);
	CHECK(pm_log_area_format(m, a, LOG_PG * PG, LOG_SEED) == 0);
	CHECK(pm_log_area_open(m, a, LOG_PG * PG, LOG_SEED, &log) == 0);
	memset(rec, 'r', sizeof(rec));
	for (int i = 0; i < 60; i++)
		CHECK(pm_log_append(log, rec, sizeof(rec), NULL) == 0);
	CHECK(pm_log_walk(log, 0, count_rec, &n) == 0 && n == 60);
	CHECK(truncate(path, 4 * PG) == 0);
	n = 0;
	CHECK(pm_log_walk(log, 0, count_rec, &n) == -EIO);
	CHECK(n > 0 && n < 60); /* the records before the hole were seen */
	/* from a seq past the hole's first record: still -EIO */
	CHECK(pm_log_walk(log, 50, count_rec, &n) == -EIO);
	pm_log_area_close(log);
	CHECK(pm_log_area_scan(a, LOG_PG * PG, LOG_SEED, &sc) == -EIO);
	CHECK(pm_log_area_open(m, a, LOG_PG * PG, LOG_SEED, &log) == -EIO);
	pm_unmap(m);
}

static void test_pm_log_walk_truncated_ring(void **state)
{
	(void)state;
	expect_exit(child_log_truncated, 0);
}

/* A walk's callback may read safely itself: guards nest. */
static int read_in_cb(uint64_t seq, const void *rec, size_t len, void *arg)
{
	struct pm_map *m = arg;
	char *p = pm_map_addr(m), buf[8];

	(void)seq, (void)rec, (void)len;
	CHECK(pm_read_safe(m, buf, p + 5 * PG, 8) == -EIO);
	CHECK(pm_read_safe(m, buf, rec, 8) == 0 && buf[0] == 'r');
	return 1;
}

static void child_log_nested(void)
{
	struct pm_log *log;
	struct pm_map *m;
	char rec[1000];
	void *a;

	default_sigbus();
	unlink(path);
	CHECK(pm_map_file(path, LOG_PG * PG, PM_MAP_CREATE, &m) == 0);
	a = pm_map_addr(m);
	CHECK(pm_log_area_format(m, a, LOG_PG * PG, LOG_SEED) == 0);
	CHECK(pm_log_area_open(m, a, LOG_PG * PG, LOG_SEED, &log) == 0);
	memset(rec, 'r', sizeof(rec));
	CHECK(pm_log_append(log, rec, sizeof(rec), NULL) == 0);
	CHECK(truncate(path, 4 * PG) == 0);
	CHECK(pm_log_walk(log, 0, read_in_cb, m) == 1);
	CHECK(pm_log_walk(log, 0, read_in_cb, m) == 1);
	pm_log_area_close(log);
	pm_unmap(m);
}

static void test_pm_log_walk_nested_read_safe(void **state)
{
	(void)state;
	expect_exit(child_log_nested, 0);
}

#define CHECK_POOL (8UL << 20)

/* Cut the last MiB off the pool file once the check has read into the
 * data area, before it reads that MiB. */
static void cut_midway(uint64_t done, uint64_t total, void *arg)
{
	int *cut = arg;

	(void)total;
	if (*cut || done < CHECK_POOL / 2)
		return;
	CHECK(truncate(path, (off_t)(CHECK_POOL - (1UL << 20))) == 0);
	*cut = 1;
}

static int count_damage(const struct pm_check_finding *f, void *arg)
{
	*(unsigned *)arg += f->severity != PM_CHECK_INFO;
	return 0;
}

/* The check reads the pool in place: pages the file loses under it fault,
 * and are read again with pread, which reads them as zero, as a check
 * with pread alone did.  The process lives and nothing is reported. */
static void child_check_cut(void)
{
	struct pm_pool *pool;
	unsigned damage = 0;
	int cut = 0;
	struct pm_check_opts o = {
		.sz = sizeof(o),
		.cb = count_damage,
		.cb_arg = &damage,
		.progress = cut_midway,
		.progress_arg = &cut,
	};

	default_sigbus();
	unlink(path);
	CHECK(pm_pool_create(path, CHECK_POOL, NULL, &pool) == 0);
	pm_pool_close(pool);
	CHECK(pm_pool_check_opts(path, &o) == 0);
	CHECK(cut && damage == 0);
}

static void test_pm_pool_check_file_cut(void **state)
{
	(void)state;
	expect_exit(child_check_cut, 0);
}

/* ---- device-dax: a poisoned first page ---- */

/* /dev/zero (1:5) stands in for a 4 MiB device-dax device through a fake
 * sysfs tree; while poison_dax is set, its mapping is one of an empty
 * file instead, every page of which raises SIGBUS like a bad block. */
static int poison_dax;

void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off);

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off)
{
	struct stat st;
	void *p;
	int e;

	if (!poison_dax || fstat(fd, &st) || !S_ISCHR(st.st_mode) ||
	    st.st_rdev != makedev(1, 5))
		return __real_mmap(addr, len, prot, flags, fd, off);
	e = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (e < 0)
		return MAP_FAILED;
	p = __real_mmap(addr, len, prot, flags, e, off);
	close(e);
	return p;
}

/* Formatting the device reads its first page (is it in use?): -EIO, and
 * the process lives on; without the poison it is taken. */
static void child_devdax_poisoned(void)
{
	struct pm_map *m;

	default_sigbus();
	poison_dax = 1;
	CHECK(pm_map_file("/dev/zero", 2 << 20, PM_MAP_CREATE | PM_MAP_EXCL,
			  &m) == -EIO);
	CHECK(pm_map_file("/dev/zero", 0, PM_MAP_CREATE | PM_MAP_EXCL, &m) ==
	      -EIO);
	poison_dax = 0;
	CHECK(pm_map_file("/dev/zero", 2 << 20, PM_MAP_CREATE | PM_MAP_EXCL,
			  &m) == 0);
	pm_unmap(m);
	unlink(path);
}

static void test_devdax_first_page_poisoned(void **state)
{
	char root[300];

	(void)state;
	snprintf(root, sizeof(root), "%s.sys", path);
	fakesys_devdax(root, "4194304\n"); /* 4 MiB */
	expect_exit(child_devdax_poisoned, 0);
	fakesys_devdax_done(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pm_read_safe_truncated_page),
		cmocka_unit_test(test_pm_read_safe_threads),
		cmocka_unit_test(test_pm_read_safe_foreign_chained),
		cmocka_unit_test(test_pm_read_safe_foreign_default),
		cmocka_unit_test(test_pm_read_safe_sent_signal),
		cmocka_unit_test(test_pm_read_safe_bad_args),
		cmocka_unit_test(test_pm_log_walk_truncated_ring),
		cmocka_unit_test(test_pm_log_walk_nested_read_safe),
		cmocka_unit_test(test_pm_pool_check_file_cut),
		cmocka_unit_test(test_devdax_first_page_poisoned),
	};
	int ret;

	snprintf(path, sizeof(path), "%s/test_safe.%d", test_tmpdir("/tmp"),
		 getpid());
	if (!getenv("PM_LOG"))
		pm_set_log_level(0); /* the -EIO cases are expected */
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	return ret;
}
