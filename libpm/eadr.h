/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * eadr.h - what the nd regions behind a device say (eadr.c).  Asked by
 * map.c (granularity) and flush.c (pm_deep_flush).  @chr: @dev is a
 * character device (device-dax), else a block device.
 */
#ifndef PM_EADR_H
#define PM_EADR_H 1

#include <sys/types.h>

/* 1 if every nd region behind device @dev persists CPU caches
 * (persistence_domain "cpu_cache"), 0 otherwise. */
int pm_map_eadr(dev_t dev, int chr);

/* Write "1" to the deep_flush of every nd region behind @dev.  Return: 0,
 * -ENOTSUP if @dev is on no region or a region has no deep flush (no
 * deep_flush, or it reads "0"), or -errno of the write (logged). */
int pm_map_deep_flush(dev_t dev, int chr);

#endif /* PM_EADR_H */
