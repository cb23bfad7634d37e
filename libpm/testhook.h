/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * testhook.h - switches that make the library misbehave on purpose, for
 * tests: pmcrash-test --break proves the crash simulator catches a missing
 * fence, and pm_tx_test_skip_apply leaves a commit unapplied, as if the
 * process had died right after it was durable.  They exist (testhook.c)
 * only in the test and fault-injection builds (PM_TEST_HOOKS:
 * libpm-internal.la, libpm-fault.la); elsewhere each is the constant 0, so
 * the data path of libpm.so has no load and no branch for them.
 */
#ifndef PM_TESTHOOK_H
#define PM_TESTHOOK_H 1

#define PM_BREAK_LOG_FENCE (1U << 0) /* log: appends skip their fence */
#define PM_BREAK_TX_FENCE (1U << 1)  /* tx: commit skips its fence */
/* heap: an allocation sets its bitmap bit in place (written back at once)
 * instead of in the transaction's redo entry */
#define PM_BREAK_HEAP_BITS (1U << 2)

#ifdef PM_TEST_HOOKS
/* PM_BREAK_* bits; 0 in every real use. */
extern unsigned pm_test_break;
/* Commit without applying, as if the process died right after the
 * durability fence. */
extern int pm_tx_test_skip_apply;
/* The log's window (log.c) in bytes when not 0, to reach it in a small
 * ring. */
extern unsigned pm_test_log_window;
#else
#define pm_test_break 0U
#define pm_tx_test_skip_apply 0
#define pm_test_log_window 0U
#endif

#endif /* PM_TESTHOOK_H */
