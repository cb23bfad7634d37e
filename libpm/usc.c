/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * usc.c - unsafe-shutdown detection.  While a pool is open its header
 * holds the summed dirty-shutdown count (USC) of the DIMMs behind it, a
 * hash of their ids, and dirty = 1.  If the count has moved when the pool
 * is next opened and dirty is still set, the platform lost power without
 * completing its flush (ADR failure) while the pool was open: stores the
 * library had made durable may be gone.
 *
 * Invariant: this module only judges the record and says what to write;
 * open.c writes it, only ever through pm_pool_hdr_write() (two copies, one
 * valid at every instant), so that dirty = 1 is durable before the pool
 * is used and cleared only after everything else at close.  A platform
 * that cannot tell (no libndctl, no DIMMs, no counter) never blocks
 * create or open and leaves the record untouched.
 */
#include "internal.h"
#include "usc.h"

enum pm_shutdown_state pm_usc_judge(const struct pm_hdr *h, int rret,
				    uint64_t usc, uint64_t id)
{
	uint32_t was = pm_le32(h->sds_state);

	if (rret == -ENOTSUP)
		return PM_SHUTDOWN_UNSUPPORTED;
	if (rret)
		return PM_SHUTDOWN_ERROR;
	if (!pm_le32(h->dirty))
		return PM_SHUTDOWN_CLEAN;
	/* The stored count was never read, or from other DIMMs (the pool
	 * moved): there is nothing to compare with. */
	if ((was != PM_SHUTDOWN_CLEAN && was != PM_SHUTDOWN_DIRTY) ||
	    pm_le64(h->dimm_id) != id)
		return PM_SHUTDOWN_CLEAN;
	return pm_le64(h->usc) == usc ? PM_SHUTDOWN_CLEAN : PM_SHUTDOWN_DIRTY;
}

static int refuse_dirty(const char *path, unsigned flags,
			const struct pm_hdr *h, uint64_t usc)
{
	unsigned long long was = pm_le64(h->usc);

	if (!(flags & PM_POOL_IGNORE_SHUTDOWN))
		return pm_err(PM_E_UNSAFE_SHUTDOWN,
			      "%s: the DIMMs' dirty-"
			      "shutdown count went from %llu to %llu while "
			      "the pool was open: data made durable may be "
			      "lost; check the pool, then open it with "
			      "PM_POOL_IGNORE_SHUTDOWN",
			      path, was, (unsigned long long)usc);
	pm_warn("%s: unsafe shutdown while open (count %llu -> %llu), "
		"opened as asked",
		path, was, (unsigned long long)usc);
	return 0;
}

int pm_usc_open(int fd, const char *path, unsigned flags,
		const struct pm_hdr *h, enum pm_shutdown_state *state,
		struct pm_usc_rec *rec)
{
	uint64_t usc = 0, id = 0;
	int rret = pm_usc_read(fd, &usc, &id);
	int ret;

	*state = pm_usc_judge(h, rret, usc, id);
	switch (*state) {
	case PM_SHUTDOWN_UNSUPPORTED:
		return 0;
	case PM_SHUTDOWN_ERROR:
		pm_warn("%s: dirty-shutdown count unreadable (%s): an unsafe "
			"shutdown would go unnoticed",
			path, pm_strerror(rret));
		return rret == -ENOMEM ? rret : 0;
	case PM_SHUTDOWN_DIRTY:
		ret = refuse_dirty(path, flags, h, usc);
		if (ret)
			return ret;
		break;
	case PM_SHUTDOWN_CLEAN:
		break;
	}
	rec->usc = usc;
	rec->dimm_id = id;
	rec->dirty = 1;
	rec->sds_state = (uint32_t)*state;
	return 1;
}

void pm_usc_put(struct pm_hdr *h, const struct pm_usc_rec *rec)
{
	h->usc = pm_le64(rec->usc);
	h->dimm_id = pm_le64(rec->dimm_id);
	h->dirty = pm_le32(rec->dirty);
	h->sds_state = pm_le32(rec->sds_state);
}
