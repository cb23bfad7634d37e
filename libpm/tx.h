/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tx.h - what tx.c offers the modules above it (the heap): checking a
 * transaction handle and staging records of the heap's kinds.
 */
#ifndef PM_TX_H
#define PM_TX_H 1

#include <stdint.h>

#include "lane.h"

/* 0 if @tx is an open transaction of this thread, else -EINVAL (logged
 * as @fn's). */
int pm_tx_check(const struct pm_tx *tx, const char *fn);
/* Room for @bytes of records besides the commit record: 0, or the
 * transaction fails (-ENOSPC, or PM_E_TX_FAILED if it already had). */
int pm_tx_room(struct pm_tx *tx, uint64_t bytes);
/* Stage a record of @type (layout.h) for data-area offset @off covering
 * @len bytes, payload @src (pm_redo_plen() bytes): the caller checked
 * the room with pm_tx_room(). */
void pm_tx_put(struct pm_tx *tx, uint32_t type, uint64_t off, const void *src,
	       uint64_t len);

/* Bytes of the ring a record of @type covering @len takes. */
#define PM_TX_REC_BYTES(plen) (24 + (((plen) + 7) & ~(uint64_t)7))

#endif /* PM_TX_H */
