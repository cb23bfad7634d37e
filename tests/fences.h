/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fences.h - the fences one commit or append owes, for tests that count
 * them: one, except where the CPU's flush orders itself (clflush, the only
 * flush of valgrind's CPU) and no non-temporal store is left to wait for.
 */
#ifndef PM_TEST_FENCES_H
#define PM_TEST_FENCES_H 1

#include <stdint.h>

#include "arch.h"

/* @bytes_nt: what the operation wrote with non-temporal stores. */
static inline uint64_t fences_owed(uint64_t bytes_nt)
{
	return pm_arch.flush_orders && !bytes_nt ? 0 : 1;
}

#endif /* PM_TEST_FENCES_H */
