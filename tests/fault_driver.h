/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fault_driver.h - run one public operation under every single resource
 * failure (tests/test_fault*.c).  For N = 1, 2, ... the Nth injectable
 * call fails, until the operation runs without reaching a fault; then the
 * same again with every call from the Nth on failing (a retry loop would
 * never end).  For every N the operation must return a negative errno
 * with a logged message (or 0 where it may survive the failure), leak no
 * allocation, descriptor or mapping of a test file, and leave the files
 * as check() expects.
 */
#ifndef FAULT_DRIVER_H
#define FAULT_DRIVER_H 1

#include <stddef.h>

struct fault_op {
	const char *name;
	/* Build the starting state (no fault armed). */
	void (*before)(void);
	/* The operation; its return value is checked. */
	int (*run)(void);
	/* Release whatever before() and run() left open (no fault armed). */
	void (*release)(int ret);
	/* Check the files; @done: run() returned 0. */
	void (*check)(int done);
	/* A fault may be absorbed (a best-effort step): 0 despite a hit. */
	int may_absorb;
};

/* The test directory (under $TMPDIR, else /dev/shm) and a file name in
 * it. */
extern char fault_dir[128];
extern char fault_path[160];

/* cmocka group setup/teardown: directory, log callback, summary. */
int fault_setup(void **state);
int fault_teardown(void **state);

void fault_run(const struct fault_op *op);
void fault_run_all(const struct fault_op *ops, size_t n);

/* Bytes of test pattern @seed. */
unsigned char fault_pattern(size_t i, unsigned seed);
/* Write @size bytes of pattern @seed to @path (plain I/O). */
void fault_write_file(const char *path, size_t size, unsigned seed);
/* @path is @size bytes long and holds pattern @seed over [0, len). */
void fault_assert_file(const char *path, size_t size, size_t len,
		       unsigned seed);
void fault_assert_no_file(const char *path);
/* Byte copy of a file, e.g. a pool image taken while the pool is open:
 * what a crash at that instant would leave if every store had landed. */
void fault_copy_file(const char *from, const char *to);
/* 1 if the two files have the same size and bytes. */
int fault_files_equal(const char *a, const char *b);

#endif /* FAULT_DRIVER_H */
