/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kv.c - a put of a 100 B value at a random one of 100,000 keys (20,000
 * with --quick), all present, into the hash map of examples/kvstore.c (the
 * example itself, included here) against the same map on libpmemobj: the
 * same root, entries and table, the same probing and growth, a put in one
 * transaction and a rehash in another.  A put allocates the new entry,
 * links it and frees the old one.  libpmemobj writes the new entry in
 * place (an object allocated in the transaction needs no snapshot) and
 * snapshots the slot and root it changes.  The limit is the heap's floor
 * for the new entry plus what a put does on the map without the library
 * (op_lookup).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libpmemobj.h>

#include "pmbench.h"

int kvstore_main(int argc, char **argv);
#define main kvstore_main
#include "../../examples/kvstore.c"
#undef main

static PMEMobjpool *pop;
static uint64_t ob_uuid;
static struct root *ob_r;
static uint64_t *ob_t;

#define OB_ENT(off) ((struct ent *)((char *)pop + (off)))

static int64_t ob_find(const char *k, size_t n, uint64_t *freep)
{
	uint64_t h = hash(k, n), m = ob_r->cap - 1, i, f = UINT64_MAX;

	for (i = h & m; ob_r->cap && ob_t[i]; i = (i + 1) & m) {
		if (ob_t[i] == GONE)
			f = f == UINT64_MAX ? i : f;
		else if (OB_ENT(ob_t[i])->hash == h &&
			 OB_ENT(ob_t[i])->klen == n &&
			 !memcmp(OB_ENT(ob_t[i])->kv, k, n))
			return (int64_t)i;
	}
	*freep = f == UINT64_MAX ? i : f;
	return -1;
}

static int ob_end(void)
{
	if (pmemobj_tx_stage() == TX_STAGE_WORK)
		pmemobj_tx_commit();
	return pmemobj_tx_end() ? -errno : 0;
}

static int ob_rehash(uint64_t cap)
{
	PMEMoid oid;
	uint64_t *nt, j;

	if (pmemobj_tx_begin(pop, NULL, TX_PARAM_NONE))
		return -errno;
	oid = pmemobj_tx_zalloc(cap * 8, 2);
	nt = pmemobj_direct(oid);
	for (uint64_t i = 0; nt && i < ob_r->cap; i++) {
		if (ob_t[i] <= GONE)
			continue;
		for (j = OB_ENT(ob_t[i])->hash & (cap - 1); nt[j];)
			j = (j + 1) & (cap - 1);
		nt[j] = ob_t[i];
	}
	if (nt && !pmemobj_tx_add_range_direct(ob_r, sizeof(*ob_r))) {
		if (ob_r->tab)
			pmemobj_tx_free((PMEMoid){ ob_uuid, ob_r->tab });
		*ob_r = (struct root){ oid.off, cap, ob_r->count, ob_r->count };
	}
	ob_t = pmemobj_direct((PMEMoid){ ob_uuid, ob_r->tab });
	return ob_end();
}

static int ob_put(const char *k, const char *v)
{
	size_t kl = strlen(k), vl = strlen(v),
	       sz = sizeof(struct ent) + kl + vl;
	uint64_t cap = 16, f = 0, *slot;
	struct ent *e;
	PMEMoid oid;
	int64_t i;
	int ret = 0;

	while (cap < 2 * (ob_r->count + 1))
		cap *= 2;
	if ((ob_r->used + 1) * 4 > ob_r->cap * 3 && (ret = ob_rehash(cap)))
		return ret;
	if (pmemobj_tx_begin(pop, NULL, TX_PARAM_NONE))
		return -errno;
	i = ob_find(k, kl, &f);
	slot = &ob_t[i < 0 ? f : (uint64_t)i];
	oid = pmemobj_tx_alloc(sz, 1);
	e = pmemobj_direct(oid);
	if (e && !pmemobj_tx_add_range_direct(slot, 8) &&
	    (i >= 0 || !pmemobj_tx_add_range_direct(ob_r, sizeof(*ob_r)))) {
		*e = (struct ent){ hash(k, kl), (uint32_t)kl, (uint32_t)vl };
		memcpy(e->kv, k, kl);
		memcpy(e->kv + kl, v, vl);
		if (i >= 0)
			pmemobj_tx_free((PMEMoid){ ob_uuid, *slot });
		else
			*ob_r = (struct root){ ob_r->tab, ob_r->cap,
					       ob_r->count + 1,
					       ob_r->used + !*slot };
		*slot = oid.off;
	}
	return ob_end();
}

struct kv {
	int pmdk;
	unsigned seed;
	size_t nkeys, next; /* keys; the next one to fill */
	char key[24], val[101];
	int64_t found; /* op_lookup's last slot: kept, so the probe is made */
};

static int op_put(void *arg)
{
	struct kv *c = arg;

	snprintf(c->key, sizeof(c->key), "key%06zu",
		 c->next < c->nkeys ? c->next++ : pmb_rnd(&c->seed) % c->nkeys);
	return c->pmdk ? ob_put(c->key, c->val) : put(c->key, c->val);
}

/* A put's own work on the map, no library call: the key, its hash and
 * the probe for its slot (a random entry and slot, both cold). */
static int op_lookup(void *arg)
{
	struct kv *c = arg;
	uint64_t f;

	snprintf(c->key, sizeof(c->key), "key%06zu",
		 pmb_rnd(&c->seed) % c->nkeys);
	c->found = find(c->key, strlen(c->key), &f);
	return 0;
}

int pmb_kv(const struct pmb_opts *o, struct pm_pool *lpool,
	   struct pmemobjpool *ppop)
{
	size_t nkeys = o->quick ? 20000 : 100000;
	struct kv c[2] = { { 0, 2463534242u, nkeys, 0, "", "", 0 },
			   { 1, 2463534242u, nkeys, 0, "", "", 0 } };
	PMEMoid root = pmemobj_root(ppop, sizeof(struct root));
	struct pmb_result *res;
	int ret;

	pool = lpool;
	ret = pm_pool_root(pool, sizeof(*r), &root_off);
	if (ret || OID_IS_NULL(root)) {
		fprintf(stderr, "pmbench: kv roots: %s\n", pm_strerror(ret));
		return -1;
	}
	r = pm_pool_ptr(pool, root_off);
	t = pm_pool_ptr(pool, r->tab);
	pop = ppop;
	ob_uuid = root.pool_uuid_lo;
	ob_r = pmemobj_direct(root);
	ob_t = pmemobj_direct((PMEMoid){ ob_uuid, ob_r->tab });
	pmb_progress("kv: %zu keys", nkeys);
	for (int l = 0; l < 2; l++) {
		memset(c[l].val, 'v', sizeof(c[l].val) - 1);
		pmb_run(op_put, &c[l], 1e9, (long)nkeys, NULL); /* the keys */
	}
	res = pmb_versus(o, "kv", "put 100 B value (key present)", op_put,
			 &c[0], op_put, &c[1]);
	if (res) {
		struct kv look = c[0];
		double tl[o->reps];

		for (int i = 0; i < o->reps; i++)
			tl[i] = pmb_run(op_lookup, &look, o->secs, 0, NULL);
		res->f_pmdk = 7; /* known count, as in heap.c */
		/* the new entry (16 B header, 9 B key, 100 B value) made
		 * durable, after the lookup every put makes */
		res->t_limit = pmb_floor(o, 128, 1) + pmb_median(tl, o->reps);
	}
	return 0;
}
