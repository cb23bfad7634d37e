/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * testhook.c - the test switches of testhook.h, in the builds that have
 * them (PM_TEST_HOOKS).  Invariant: all stay 0 unless a test sets them.
 */
#include "testhook.h"

#ifdef PM_TEST_HOOKS
unsigned pm_test_break;
int pm_tx_test_skip_apply;
unsigned pm_test_log_window;
#endif
