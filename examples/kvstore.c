/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * kvstore.c - a small crash-safe hash map in a pool: open addressing over
 * fixed 128-byte slots; every put or delete is one transaction.
 *
 *   kvstore FILE put KEY VALUE | get KEY | del KEY | list
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libpm.h>

#define NSLOTS 4096
enum { EMPTY, USED, GONE };

struct slot {
	uint64_t state;
	char key[32];
	char val[88];
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* The slot holding @key, or (want_free) the first free one on its path. */
static struct slot *find(struct slot *t, const char *key, int want_free)
{
	struct slot *gone = NULL;

	for (uint64_t i = 0, h = hash(key); i < NSLOTS; i++) {
		struct slot *s = &t[(h + i) % NSLOTS];

		if (s->state == USED && !strcmp(s->key, key))
			return s;
		if (s->state == GONE && !gone)
			gone = s;
		if (s->state == EMPTY)
			return want_free ? (gone ? gone : s) : NULL;
	}
	return want_free ? gone : NULL;
}

static int store(struct pm_pool *pool, struct slot *dst, const struct slot *s)
{
	struct pm_tx *tx;
	int ret = pm_tx_begin(pool, sizeof(*s), &tx);

	if (!ret && (ret = pm_tx_write(tx, dst, s, sizeof(*s))))
		pm_tx_abort(tx);
	return ret ? ret : pm_tx_commit(tx);
}

static int run(struct pm_pool *pool, int argc, char **argv)
{
	struct slot *t = pm_pool_data(pool, NULL), *s, n = { .state = USED };

	if (argc == 5 && !strcmp(argv[2], "put")) {
		if (strlen(argv[3]) >= sizeof(n.key) ||
		    strlen(argv[4]) >= sizeof(n.val))
			return fprintf(stderr, "kvstore: too long\n"), 1;
		strcpy(n.key, argv[3]);
		strcpy(n.val, argv[4]);
		s = find(t, n.key, 0);
		s = s ? s : find(t, n.key, 1);
		return s ? store(pool, s, &n) : (fprintf(stderr, "full\n"), 1);
	}
	if (argc == 4 && !strcmp(argv[2], "get")) {
		s = find(t, argv[3], 0);
		return s ? printf("%s\n", s->val) < 0 : 1;
	}
	if (argc == 4 && !strcmp(argv[2], "del")) {
		s = find(t, argv[3], 0);
		n.state = GONE;
		return s ? store(pool, s, &n) : 1;
	}
	if (argc == 3 && !strcmp(argv[2], "list")) {
		for (int i = 0; i < NSLOTS; i++)
			if (t[i].state == USED)
				printf("%s=%s\n", t[i].key, t[i].val);
		return 0;
	}
	fprintf(stderr, "usage: kvstore FILE put KEY VALUE | get KEY | "
			"del KEY | list\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct pm_pool_opts o = { .sz = sizeof(o), .layout = "kvstore" };
	struct pm_pool *pool;
	int ret;

	if (argc < 3)
		return run(NULL, 0, argv);
	if (access(argv[1], F_OK))
		ret = pm_pool_create(argv[1], 8 << 20, &o, &pool);
	else
		ret = pm_pool_open_layout(argv[1], "kvstore", 0, &pool);
	if (ret) {
		fprintf(stderr, "kvstore: %s: %s\n", argv[1], pm_strerror(ret));
		return 1;
	}
	ret = run(pool, argc, argv);
	pm_pool_close(pool);
	return ret;
}
