/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tx.h - what tx.c (the transaction path: begin, write, read, commit,
 * abort, retire) offers the rest of the library besides libpm.h.
 */
#ifndef PM_TX_H
#define PM_TX_H 1

/* Test hook (tests only): commit without applying, as if the process died
 * right after the durability fence. */
extern int pm_tx_test_skip_apply;

#endif /* PM_TX_H */
