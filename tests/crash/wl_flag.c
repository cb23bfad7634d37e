/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * wl_flag.c - the smallest protocol worth checking, on a raw mapping:
 * write a record into a slot, persist it, then publish it by storing the
 * record count in a flag word and persisting that.  Invariant: every
 * record the flag covers (except the oldest slot, being reused by the
 * record in flight) is intact; the flag never goes back.
 *
 * --break one-fence: flush the record and the flag, then one fence.  The
 * flag can then be durable while the record is not.
 */
#include <stdio.h>
#include <string.h>

#include "crash.h"

#define FILE_SIZE (64 * 1024)
#define SLOTS 4
#define REC 200 /* bytes; not line-aligned on purpose */
#define SLOT_OFF(k) (4096 + ((k) % SLOTS) * 256)

static int flag_publish(struct crash_ctx *c, struct pm_map *m, uint64_t k)
{
	uint8_t *base = pm_map_addr(m);
	uint8_t rec[REC];
	uint64_t *flag = (uint64_t *)base;
	int ret;

	crash_fill(rec, REC, c->seed, k);
	memcpy(base + SLOT_OFF(k), rec, REC);
	if (crash_is_broken(c, "one-fence")) {
		pm_flush(m, base + SLOT_OFF(k), REC);
	} else {
		ret = pm_persist(m, base + SLOT_OFF(k), REC);
		if (ret)
			return ret;
	}
	*flag = k + 1;
	return pm_persist(m, flag, sizeof(*flag));
}

static int flag_run(struct crash_ctx *c)
{
	struct pm_map *m;
	int ret;

	if (!c->ops)
		c->ops = c->deep ? 400 : 100;
	ret = pm_map_file(c->file, FILE_SIZE, PM_MAP_CREATE, &m);
	if (ret)
		return ret;
	for (uint64_t k = 0; k < c->ops && !ret; k++) {
		unsigned op = crash_op_begin(c, 0);

		ret = flag_publish(c, m, k);
		crash_op_end(c, 0, op);
	}
	pm_unmap(m);
	return ret;
}

static int flag_check(struct crash_ctx *c, const struct pm_sim_image *img)
{
	struct crash_at at = crash_at(c, 0, img->point);
	struct pm_map *m;
	const uint8_t *base;
	uint64_t flag;
	int ret;

	ret = pm_map_file(c->image, 0, PM_MAP_READONLY, &m);
	if (ret)
		return crash_fail(c, "the image does not map: %s",
				  pm_strerror(ret));
	base = pm_map_addr(m);
	memcpy(&flag, base, sizeof(flag));
	if (flag < at.done || flag > at.done + (uint64_t)at.inflight) {
		pm_unmap(m);
		return crash_fail(c, "flag says %llu records, %llu returned%s",
				  (unsigned long long)flag,
				  (unsigned long long)at.done,
				  at.inflight ? ", 1 in flight" : "");
	}
	for (uint64_t k = flag > SLOTS - 1 ? flag - (SLOTS - 1) : 0; k < flag;
	     k++) {
		long bad = crash_cmp(base + SLOT_OFF(k), REC, c->seed, k);

		if (bad >= 0) {
			pm_unmap(m);
			return crash_fail(c,
					  "record %llu is published (flag "
					  "%llu) but byte %ld of it is wrong",
					  (unsigned long long)k,
					  (unsigned long long)flag, bad);
		}
	}
	pm_unmap(m);
	return 0;
}

const struct crash_workload crash_wl_flag = {
	.name = "flag",
	.desc = "raw mapping: record, persist, then publish with a flag",
	.breaks = "one-fence",
	.run = flag_run,
	.check = flag_check,
};
