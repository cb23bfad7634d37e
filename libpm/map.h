/* SPDX-License-Identifier: BSD-3-Clause */
/* map.h - platform facts the mapping layer asks for. */
#ifndef PM_MAP_H
#define PM_MAP_H 1

#include <sys/types.h>

/* 1 if every nd region behind block device @dev persists CPU caches
 * (persistence_domain "cpu_cache"), 0 otherwise (eadr.c). */
int pm_map_eadr(dev_t dev);

#endif /* PM_MAP_H */
