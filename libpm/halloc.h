/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * halloc.h - the heap's transactional half (halloc.c) as open.c boots it.
 */
#ifndef PM_HALLOC_H
#define PM_HALLOC_H 1

#include "pool.h"

/* pm_heap_boot(), and the hook tx.c calls at the end of a transaction
 * that allocated or freed. */
int pm_halloc_boot(struct pm_pool *pool);

#endif /* PM_HALLOC_H */
