/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pool.c - the pool as the modules see it: the two header copies, the
 * geometry taken from the trusted one, and the public getters.  Create,
 * open and close live in open.c.
 *
 * Invariant: at every instant at least one header copy is complete and
 * checksummed.  Create (open.c) persists the lanes and the log area first,
 * then header B, then header A, so a file cut short during create has no
 * valid copy and is "not a pool".  An update (pm_pool_hdr_write) bumps gen and
 * writes B then A, each persisted before the other is touched; open takes
 * the valid copy with the highest gen and rewrites the other one.  While
 * a copy is on a bad block the header is not written at all: a store there
 * would fault, and writing the good copy alone would leave no valid copy
 * while it is being written.
 */
#include "crc.h"
#include "pool.h"
#include "safe.h"

/* ---- header checks ---------------------------------------------------- */

static uint32_t hdr_crc(const struct pm_hdr *h)
{
	return pm_crc32c(h, offsetof(struct pm_hdr, crc));
}

static int geometry_ok(const struct pm_hdr *h, const char **why)
{
	uint64_t lsz = pm_le64(h->lane_size), lanes_end, log_end;
	uint64_t log_off = pm_le64(h->log_off), log_size = pm_le64(h->log_size);
	uint64_t data_off = pm_le64(h->data_off);
	uint32_t n = pm_le32(h->nlanes);

	if (pm_le64(h->lanes_off) != PM_LANES_OFF)
		return *why = "lanes_off is not 8192", 0;
	if (n == 0 || n > PM_LANES_MAX)
		return *why = "nlanes out of range", 0;
	if (lsz < PM_LANE_SIZE_MIN || lsz > PM_LANE_SIZE_MAX ||
	    lsz % PM_LANE_ALIGN)
		return *why = "lane_size out of range or misaligned", 0;
	lanes_end = PM_LANES_OFF + (uint64_t)n * lsz; /* < 2^41: no overflow */
	log_end = lanes_end;
	if (log_size || log_off) {
		if (log_off < lanes_end || log_off % PM_AREA_ALIGN ||
		    log_size < PM_AREA_ALIGN || log_size % PM_AREA_ALIGN ||
		    pm_add_overflows(log_off, log_size, &log_end))
			return *why = "log area misplaced", 0;
	}
	if (data_off < log_end || data_off % PM_AREA_ALIGN)
		return *why = "data_off misplaced", 0;
	if (pm_le64(h->pool_size) < data_off ||
	    pm_le64(h->data_size) != pm_le64(h->pool_size) - data_off)
		return *why = "data_size does not match pool_size", 0;
	if (!memchr(h->layout, 0, sizeof(h->layout)))
		return *why = "layout name not terminated", 0;
	if (pm_le32(h->flags) & ~PM_HDR_F_KNOWN)
		return *why = "unknown incompatible feature flags", 0;
	return 1;
}

int pm_hdr_check(const struct pm_hdr *h, uint64_t file_size, const char **why)
{
	*why = NULL;
	if (memcmp(h->magic, PM_POOL_MAGIC, sizeof(h->magic)))
		return *why = "no pool magic", PM_E_NOT_POOL;
	/* Create writes the magic before the version: 0 is a torn copy. */
	if (pm_le32(h->version) == 0)
		return *why = "incomplete (version 0)", PM_E_CORRUPT;
	if (pm_le32(h->version) != PM_POOL_VERSION)
		return *why = "format version not supported", PM_E_VERSION;
	if (pm_le32(h->hdr_size) != sizeof(*h))
		return *why = "hdr_size is wrong", PM_E_CORRUPT;
	if (pm_le32(h->crc) != hdr_crc(h))
		return *why = "checksum mismatch", PM_E_CORRUPT;
	if (!geometry_ok(h, why))
		return PM_E_CORRUPT;
	if (pm_le64(h->pool_size) > file_size)
		return *why = "file shorter than pool_size", PM_E_TRUNCATED;
	return 0;
}

int pm_hdr_pick(const struct pm_hdr h[2], const int st[2])
{
	const int ok[2] = { st[0] == 0, st[1] == 0 };

	return pm_pick_copy(ok, pm_le64(h[0].gen), pm_le64(h[1].gen));
}

/* ---- header writes ---------------------------------------------------- */

static int hdr_store(struct pm_pool *pool, uint64_t off)
{
	int ret = pm_map_copy(pool->map, pool->base + off, &pool->hdr,
			      sizeof(pool->hdr), PM_MEM_TEMPORAL);

	return pm_wb_first(ret, pm_map_drain(pool->map));
}

int pm_pool_hdr_write(struct pm_pool *pool)
{
	int ret;

	if (pool->hdr_bad)
		return pm_err(PM_E_BADBLOCKS,
			      "%s: header %c is on a bad "
			      "block: the header is not rewritten until it "
			      "is cleared",
			      pool->path, pool->hdr_bad & 1 ? 'A' : 'B');
	pool->hdr.gen = pm_le64(pm_le64(pool->hdr.gen) + 1);
	pool->hdr.crc = pm_le32(hdr_crc(&pool->hdr));
	ret = hdr_store(pool, PM_HDR_B_OFF);
	if (!ret)
		ret = hdr_store(pool, PM_HDR_A_OFF);
	if (ret)
		return pm_err(ret, "%s: cannot write the pool header: %s",
			      pool->path, pm_strerror(ret));
	return 0;
}

/* ---- the copy open trusts -------------------------------------------- */

/* Errors rank: a copy with our magic beats one without, a checked one
 * beats both. */
int pm_pool_hdr_load(struct pm_pool *pool, uint64_t fsize)
{
	static const uint64_t offs[2] = { PM_HDR_A_OFF, PM_HDR_B_OFF };
	struct pm_hdr h[2];
	const char *why[2] = { "missing", "missing" };
	int st[2] = { PM_E_NOT_POOL, PM_E_NOT_POOL }, best, ret;
	int bad[2] = { 0, 0 };

	for (int i = 0; i < 2; i++) {
		if (!pm_range_ok(offs[i], sizeof(h[i]), fsize))
			continue;
		ret = pm_safe_copy(&h[i], pool->base + offs[i], sizeof(h[i]));
		if (ret && ret != -EIO)
			return ret;
		if (ret) {
			why[i] = "is on a bad block";
			st[i] = PM_E_CORRUPT;
			bad[i] = 1;
			pool->hdr_bad |= 1U << i;
			continue;
		}
		st[i] = pm_hdr_check(&h[i], fsize, &why[i]);
	}
	best = pm_hdr_pick(h, st);
	if (best < 0) {
		ret = st[0] == PM_E_NOT_POOL ? st[1] : st[0];
		if (st[0] == PM_E_TRUNCATED || st[1] == PM_E_TRUNCATED)
			ret = PM_E_TRUNCATED;
		return pm_err(ret, "%s: %s (header A: %s; header B: %s)",
			      pool->path, pm_strerror(ret), why[0], why[1]);
	}
	pool->hdr = h[best];
	if (bad[!best]) /* a store there would fault: clearing rebuilds it */
		return 0;
	if (st[!best] || memcmp(&h[0], &h[1], sizeof(h[0]))) {
		pm_warn("%s: header %c %s, rewritten from header %c",
			pool->path, best ? 'A' : 'B',
			st[!best] ? why[!best] : "older", best ? 'B' : 'A');
		ret = hdr_store(pool, offs[!best]);
		if (ret)
			return pm_err(ret, "%s: cannot repair the header: %s",
				      pool->path, pm_strerror(ret));
		pool->header_repaired = 1;
	}
	return 0;
}

/* ---- the volatile pool ------------------------------------------------- */

void pm_pool_fill(struct pm_pool *pool)
{
	const struct pm_hdr *h = &pool->hdr;

	pool->seed = pm_crc_update(~0U, h->uuid, sizeof(h->uuid));
	pool->pool_size = pm_le64(h->pool_size);
	pool->lanes_off = pm_le64(h->lanes_off);
	pool->lane_size = pm_le64(h->lane_size);
	pool->nlanes = pm_le32(h->nlanes);
	pool->log_off = pm_le64(h->log_off);
	pool->log_size = pm_le64(h->log_size);
	pool->data_off = pm_le64(h->data_off);
	pool->data_size = pm_le64(h->data_size);
	pool->features = pm_le32(h->flags);
	pool->shutdown = PM_SHUTDOWN_UNSUPPORTED;
	pool->bb_status = -ENOTSUP;
}

void pm_pool_view(struct pm_pool *pool, const struct pm_hdr *h)
{
	memset(pool, 0, sizeof(*pool));
	pool->hdr = *h;
	pm_pool_fill(pool);
}

/**
 * pm_pool_data - the user data area of a pool
 * @pool: the pool
 * @sizep: receives the area's size in bytes, or NULL
 *
 * Return: the start of the data area (page aligned), NULL if @pool is NULL
 * or a heap pool (PM_POOL_HEAP: the heap manages the area).
 */
PM_EXPORT void *pm_pool_data(struct pm_pool *pool, size_t *sizep)
{
	int raw = pool && !(pool->features & PM_HDR_F_HEAP);

	if (sizep)
		*sizep = raw ? pool->data_size : 0;
	return raw ? pool->base + pool->data_off : NULL;
}

/**
 * pm_pool_map - the mapping behind a pool, for pm_persist() and friends
 * @pool: the pool
 *
 * Return: the mapping (owned by the pool), NULL if @pool is NULL.
 */
PM_EXPORT struct pm_map *pm_pool_map(struct pm_pool *pool)
{
	return pool ? pool->map : NULL;
}

/**
 * pm_pool_log - the append log of a pool
 * @pool: an open pool
 * @logp: set to the log, owned by the pool and valid until pm_pool_close()
 *
 * Return: 0, PM_E_NO_LOG if the pool was created without a log area, or
 * -EINVAL.
 */
PM_EXPORT int pm_pool_log(struct pm_pool *pool, struct pm_log **logp)
{
	if (!pool || !logp)
		return pm_err(-EINVAL, "pm_pool_log: NULL argument");
	if (!pool->log)
		return PM_E_NO_LOG;
	*logp = pool->log;
	return 0;
}
