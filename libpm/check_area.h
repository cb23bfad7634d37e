/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * check_area.h - what the checker says about each structure
 * (check_area.c): one function per structure, in the order a pass calls
 * them.
 */
#ifndef PM_CHECK_AREA_H
#define PM_CHECK_AREA_H 1

#include "check_scan.h"

/* Judge both header copies and set up c->view (read-only mapping) when a
 * copy is valid; PM_E_NOT_POOL / PM_E_VERSION mean "nothing to check". */
int pm_ck_headers(struct pm_ck *c);
void pm_ck_view_free(struct pm_ck *c);
void pm_ck_shutdown(struct pm_ck *c);
int pm_ck_badblocks(struct pm_ck *c);
void pm_ck_lanes(struct pm_ck *c);
void pm_ck_log(struct pm_ck *c);
void pm_ck_data(struct pm_ck *c);
/* A heap pool's heap, as recovery would leave it. */
void pm_ck_heap(struct pm_ck *c);

#endif /* PM_CHECK_AREA_H */
