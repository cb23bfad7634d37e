/* SPDX-License-Identifier: BSD-3-Clause */
/* generic/arch.c - CPUs without an arch folder: everything from generic/
 * (PAGE granularity through msync, or eADR with a full fence). */
#include "../arch.h"

void pm_arch_init(struct pm_arch_ops *ops)
{
	(void)ops;
}
