/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kvstore.c - a crash-safe hash map on a pool's heap.  Each pair is one
 * object of its own size; a table of their offsets (linear probing) doubles
 * or halves with the map.  Every put, delete and rehash is one transaction.
 *
 *   kvstore FILE put KEY VALUE | get KEY | del KEY... | list
 *   kvstore FILE churn COUNT [SEED]   random puts and deletes
 *   kvstore FILE check    the map is whole and owns every heap object
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpm.h>

/* A pair bigger than this is copied into its new object before the commit
 * rather than logged: half the writes, and no size limit from the lane
 * (the pool's transactions are retired first, so that no replay of an
 * older one lands on the copy). */
#define BIG 4096

#define GONE 1 /* a deleted slot; 0 is an empty one, others hold offsets */

struct root {
	uint64_t tab, cap;    /* the slot array, its size (a power of two) */
	uint64_t count, used; /* keys; slots not empty (keys and GONE) */
};

struct ent {
	uint64_t hash;
	uint32_t klen, vlen;
	char kv[]; /* the key, then the value */
};

static struct pm_pool *pool;
static struct root *r;
static uint64_t root_off, *t; /* t: the slots, r->tab mapped */

#define ENT(off) ((struct ent *)pm_pool_ptr(pool, off))

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* The slot holding the key, or -1 and in *freep the slot a put takes. */
static int64_t find(const char *k, size_t n, uint64_t *freep)
{
	uint64_t h = hash(k, n), m = r->cap - 1, i, f = UINT64_MAX;

	for (i = h & m; r->cap && t[i]; i = (i + 1) & m) {
		if (t[i] == GONE)
			f = f == UINT64_MAX ? i : f;
		else if (ENT(t[i])->hash == h && ENT(t[i])->klen == n &&
			 !memcmp(ENT(t[i])->kv, k, n))
			return (int64_t)i;
	}
	*freep = f == UINT64_MAX ? i : f;
	return -1;
}

static int end(struct pm_tx *tx, int ret)
{
	if (ret)
		pm_tx_abort(tx);
	return ret ? ret : pm_tx_commit(tx);
}

/* A new table, written directly: no one sees it before the commit. */
static int rehash(uint64_t cap)
{
	uint64_t *nt = calloc(cap, 8), j;
	struct root nr = { 0, cap, r->count, r->count };
	struct pm_tx *tx;
	int ret = nt ? 0 : -ENOMEM;

	for (uint64_t i = 0; !ret && i < r->cap; i++) {
		if (t[i] <= GONE)
			continue;
		for (j = ENT(t[i])->hash & (cap - 1); nt[j];)
			j = (j + 1) & (cap - 1);
		nt[j] = t[i];
	}
	/* no replay of an older transaction may land on the new table */
	if (!ret && !(ret = pm_tx_retire(pool)) &&
	    !(ret = pm_tx_begin(pool, sizeof(nr) + 2 * PM_TX_HEAP_RESERVE,
				&tx))) {
		ret = pm_tx_alloc(tx, cap * 8, 0, &nr.tab);
		if (!ret)
			ret = pm_memcpy(pm_pool_map(pool),
					pm_pool_ptr(pool, nr.tab), nt, cap * 8,
					0);
		if (!ret)
			ret = pm_tx_write(tx, r, &nr, sizeof(nr));
		if (!ret && r->tab)
			ret = pm_tx_free(tx, r->tab);
		ret = end(tx, ret);
	}
	t = pm_pool_ptr(pool, r->tab);
	free(nt);
	return ret;
}

static int put(const char *k, const char *v)
{
	size_t kl = strlen(k), vl = strlen(v),
	       sz = sizeof(struct ent) + kl + vl;
	struct ent *e = malloc(sz);
	uint64_t cap = 16, f = 0, off;
	struct root nr;
	struct pm_tx *tx;
	int64_t i;
	int ret = e ? 0 : -ENOMEM;

	while (cap < 2 * (r->count + 1))
		cap *= 2;
	if (!ret && (r->used + 1) * 4 > r->cap * 3)
		ret = rehash(cap);
	if (!ret && sz > BIG) /* as in rehash() */
		ret = pm_tx_retire(pool);
	if (ret || (ret = pm_tx_begin(pool,
				      (sz > BIG ? 0 : sz) + 8 + sizeof(nr) +
					      2 * PM_TX_HEAP_RESERVE,
				      &tx)))
		return free(e), ret;
	*e = (struct ent){ hash(k, kl), (uint32_t)kl, (uint32_t)vl };
	memcpy(e->kv, k, kl);
	memcpy(e->kv + kl, v, vl);
	i = find(k, kl, &f);
	nr = (struct root){ r->tab, r->cap, r->count + 1,
			    r->used + (i < 0 && !t[f]) };
	ret = pm_tx_alloc(tx, sz, 0, &off);
	if (!ret) /* a big one is written directly: no one sees it yet */
		ret = sz > BIG ?
			      pm_memcpy(pm_pool_map(pool), ENT(off), e, sz, 0) :
			      pm_tx_write(tx, ENT(off), e, sz);
	if (!ret)
		ret = pm_tx_write(tx, &t[i < 0 ? f : (uint64_t)i], &off, 8);
	if (!ret) /* a new key counts, an old one's object goes */
		ret = i < 0 ? pm_tx_write(tx, r, &nr, sizeof(nr)) :
			      pm_tx_free(tx, t[i]);
	free(e);
	return end(tx, ret);
}

static int del(const char *k)
{
	uint64_t f, gone = GONE;
	int64_t i = find(k, strlen(k), &f);
	struct root nr = { r->tab, r->cap, r->count - 1, r->used };
	struct pm_tx *tx;
	int ret;

	if (i < 0)
		return 1;
	if ((ret = pm_tx_begin(pool, 8 + sizeof(nr) + PM_TX_HEAP_RESERVE, &tx)))
		return ret;
	ret = pm_tx_write(tx, &t[i], &gone, 8);
	if (!ret)
		ret = pm_tx_write(tx, r, &nr, sizeof(nr));
	if (!ret)
		ret = pm_tx_free(tx, t[i]);
	ret = end(tx, ret);
	if (!ret && r->cap > 16 && r->count * 8 < r->cap)
		ret = rehash(r->cap / 2);
	return ret;
}

/* Keys of many lengths, values their key repeated to a random length;
 * mostly puts for 2000 steps, then mostly deletes (the table shrinks), and
 * again. */
static int churn(long n)
{
	static const char dots[] = "........................................";
	char k[64], v[320];
	int ret = 0;

	for (long i = 0; ret >= 0 && i < n; i++) {
		int id = rand() % 1000, vl = rand() % 300;
		int kl = sprintf(k, "k%d-%.*s", id, id % 40, dots);

		for (int j = 0; j < vl; j++)
			v[j] = k[j % kl];
		v[vl] = '\0';
		ret = rand() % 20 < (i / 2000 % 2 ? 1 : 19) ? put(k, v) :
							      del(k);
	}
	return ret < 0 ? ret : 0;
}

/* Every heap object is the root, the table or an entry in the map. */
static int owned(uint64_t off, size_t size, void *nent)
{
	struct ent *e = ENT(off);
	uint64_t f;
	int64_t i;

	if (off == root_off || off == r->tab)
		return 0;
	i = size >= sizeof(*e) && sizeof(*e) + e->klen + e->vlen <= size ?
		    find(e->kv, e->klen, &f) :
		    -1;
	if (i < 0 || t[i] != off) {
		fprintf(stderr, "kvstore: object at %#llx is not in the map\n",
			(unsigned long long)off);
		return -EUCLEAN;
	}
	++*(uint64_t *)nent;
	return 0;
}

static int check(void)
{
	uint64_t n = 0, used = 0, nent = 0, f;
	int ret = 0;

	for (uint64_t i = 0; !ret && i < r->cap; i++) {
		struct ent *e = t[i] > GONE ? ENT(t[i]) : NULL;

		used += t[i] != 0;
		n += t[i] > GONE;
		if (t[i] > GONE &&
		    (!e || pm_usable_size(pool, t[i]) < sizeof(*e) ||
		     pm_usable_size(pool, t[i]) <
			     sizeof(*e) + e->klen + e->vlen ||
		     hash(e->kv, e->klen) != e->hash ||
		     find(e->kv, e->klen, &f) != (int64_t)i))
			ret = -EUCLEAN;
	}
	if (!ret)
		ret = pm_heap_walk(pool, owned, &nent);
	if (!ret && (n != r->count || used != r->used || nent != n))
		ret = -EUCLEAN;
	printf("%llu keys (%llu counted, %llu objects), %llu of %llu slots: %s\n",
	       (unsigned long long)n, (unsigned long long)r->count,
	       (unsigned long long)nent, (unsigned long long)used,
	       (unsigned long long)r->cap, ret ? "BROKEN" : "ok");
	return ret;
}

static int run(int argc, char **argv)
{
	const char *c = argc > 2 ? argv[2] : "";
	uint64_t f;
	int64_t i;

	if (argc == 5 && !strcmp(c, "put"))
		return put(argv[3], argv[4]);
	if (argc > 3 && !strcmp(c, "del")) {
		int ret = 0, one;

		for (int k = 3; ret >= 0 && k < argc; k++)
			if ((one = del(argv[k])))
				ret = one; /* 1: a key was not there */
		return ret;
	}
	if (argc == 4 && !strcmp(c, "get")) {
		if ((i = find(argv[3], strlen(argv[3]), &f)) < 0)
			return 1;
		return printf("%.*s\n", (int)ENT(t[i])->vlen,
			      ENT(t[i])->kv + ENT(t[i])->klen) < 0;
	}
	if (argc == 3 && !strcmp(c, "list")) {
		for (i = 0; i < (int64_t)r->cap; i++)
			if (t[i] > GONE)
				printf("%.*s=%.*s\n", (int)ENT(t[i])->klen,
				       ENT(t[i])->kv, (int)ENT(t[i])->vlen,
				       ENT(t[i])->kv + ENT(t[i])->klen);
		return 0;
	}
	if ((argc == 4 || argc == 5) && !strcmp(c, "churn")) {
		srand(argc == 5 ? (unsigned)atoi(argv[4]) : 1);
		return churn(atol(argv[3]));
	}
	if (argc == 3 && !strcmp(c, "check"))
		return check();
	fprintf(stderr, "usage: kvstore FILE put KEY VALUE | get KEY | "
			"del KEY... | list | churn COUNT [SEED] | check\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct pm_pool_opts o = { .sz = sizeof(o),
				  .layout = "kvstore",
				  .flags = PM_POOL_HEAP };
	int ret;

	if (argc < 3)
		return run(argc, argv);
	if (access(argv[1], F_OK))
		ret = pm_pool_create(argv[1], 16 << 20, &o, &pool);
	else
		ret = pm_pool_open_layout(argv[1], "kvstore", 0, &pool);
	if (!ret && !(ret = pm_pool_root(pool, sizeof(*r), &root_off))) {
		r = pm_pool_ptr(pool, root_off);
		t = pm_pool_ptr(pool, r->tab);
		ret = run(argc, argv);
	}
	if (ret < 0)
		fprintf(stderr, "kvstore: %s: %s\n", argv[1], pm_strerror(ret));
	pm_pool_close(pool);
	return ret < 0 ? 1 : ret;
}
