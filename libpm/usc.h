/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * usc.h - unsafe-shutdown detection: the DIMMs' dirty-shutdown count
 * recorded in the pool header while the pool is open.
 */
#ifndef PM_USC_H
#define PM_USC_H 1

#include <stdint.h>

#include "layout.h"
#include "libpm.h"

struct pm_pool;

/*
 * The summed dirty-shutdown count of the DIMMs behind the file @fd and a
 * hash of their ids (usc_ndctl.c; usc_none.c always says -ENOTSUP).
 * Return: 0, -ENOTSUP if the platform cannot tell, or another -errno if
 * the counters could not be read.
 */
int pm_usc_read(int fd, uint64_t *usc, uint64_t *id);

/*
 * What the record in header @h means now that pm_usc_read() gave @rret,
 * @usc and @id.  DIRTY only when the pool was open (dirty flag set) with
 * a count read from the same DIMMs, and the count has changed since.
 */
enum pm_shutdown_state pm_usc_judge(const struct pm_hdr *h, int rret,
				    uint64_t usc, uint64_t id);

/*
 * At create and open: judge the record into pool->shutdown, refuse a
 * DIRTY pool with PM_E_UNSAFE_SHUTDOWN unless PM_POOL_IGNORE_SHUTDOWN,
 * then record the current count with the dirty flag set.  "Cannot tell"
 * never fails and writes nothing.
 */
int pm_usc_open(struct pm_pool *pool);
/* At close: clear the dirty flag if open set it. */
void pm_usc_close(struct pm_pool *pool);

#endif /* PM_USC_H */
