/* SPDX-License-Identifier: BSD-3-Clause */
/* eadr.h - does the platform persist CPU caches (eadr.c)? Asked by map.c. */
#ifndef PM_EADR_H
#define PM_EADR_H 1

#include <sys/types.h>

/* 1 if every nd region behind block device @dev persists CPU caches
 * (persistence_domain "cpu_cache"), 0 otherwise. */
int pm_map_eadr(dev_t dev);

#endif /* PM_EADR_H */
