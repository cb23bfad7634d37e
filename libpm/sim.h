/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sim.h - the crash simulator as the mapping layer sees it.  While a
 * recording session is active (pm_sim_start()), every new writable mapping
 * of the recorded file gets the recording persistence table; nothing else
 * in the library knows the simulator exists.  When no session is active
 * the cost is one load per pm_map_file() and one per pm_unmap().
 */
#ifndef PM_SIM_H
#define PM_SIM_H 1

#include "persist.h"

extern struct pm_sim *pm_sim_active;

void pm_sim_attach(struct pm_map *m);
void pm_sim_detach(struct pm_map *m);

/* map.c, once the mapping and its table exist. */
static inline void pm_sim_map_created(struct pm_map *m)
{
	if (PM_UNLIKELY(__atomic_load_n(&pm_sim_active, __ATOMIC_ACQUIRE)))
		pm_sim_attach(m);
}

/* map.c, before the mapping goes away. */
static inline void pm_sim_map_gone(struct pm_map *m)
{
	if (PM_UNLIKELY(m->sim != NULL))
		pm_sim_detach(m);
}

#endif /* PM_SIM_H */
