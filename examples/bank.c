/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bank.c - accounts in a pool, moved by transactions.  Every transfer is
 * atomic and durable, so the total never changes, whatever kills us.
 *
 *   bank FILE init N          create FILE with N accounts of 1000 each
 *   bank FILE transfer COUNT [SEED]   COUNT random transfers
 *   bank FILE --check         verify the total; exit 1 if it changed
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpm.h>

struct bank {
	uint64_t n;	    /* accounts */
	uint64_t total;	    /* what they must add up to */
	uint64_t transfers; /* committed so far */
	uint64_t acct[];
};

static int fail(const char *what, int err)
{
	fprintf(stderr, "bank: %s: %s\n", what, pm_strerror(err));
	return 1;
}

/* One write in one transaction. */
static int put(struct pm_pool *pool, void *dst, const void *src, size_t len)
{
	struct pm_tx *tx;
	int ret = pm_tx_begin(pool, len, &tx);

	if (!ret && (ret = pm_tx_write(tx, dst, src, len)))
		pm_tx_abort(tx);
	return ret ? ret : pm_tx_commit(tx);
}

/* Accounts in chunks, then the header: no header, no bank. */
static int init(const char *path, uint64_t n)
{
	struct pm_pool_opts o = { .sz = sizeof(o), .layout = "bank" };
	struct bank hdr = { .n = n, .total = n * 1000 };
	uint64_t ones[512];
	struct pm_pool *pool;
	struct bank *b;
	int ret = pm_pool_create(path, n * 8 + (16 << 20), &o, &pool);

	if (ret)
		return fail(path, ret);
	b = pm_pool_data(pool, NULL);
	for (int i = 0; i < 512; i++)
		ones[i] = 1000;
	for (uint64_t i = 0; !ret && i < n; i += 512)
		ret = put(pool, &b->acct[i], ones,
			  (n - i < 512 ? n - i : 512) * 8);
	if (!ret)
		ret = put(pool, b, &hdr, sizeof(hdr));
	pm_pool_close(pool);
	return ret ? fail("init", ret) : 0;
}

/* Move a random amount between two random accounts: one transaction. */
static int transfer(struct pm_pool *pool, struct bank *b)
{
	uint64_t from = (uint64_t)rand() % b->n, to = (uint64_t)rand() % b->n;
	uint64_t amt = (uint64_t)rand() % 100, f, t, done;
	struct pm_tx *tx;
	int ret = pm_tx_begin(pool, 24, &tx);

	if (ret)
		return ret;
	pm_tx_read(tx, &f, &b->acct[from], 8);
	pm_tx_read(tx, &t, &b->acct[to], 8);
	if (f < amt || from == to)
		amt = 0;
	f -= amt;
	t += amt;
	done = b->transfers + 1;
	ret = pm_tx_write(tx, &b->acct[from], &f, 8);
	if (!ret)
		ret = pm_tx_write(tx, &b->acct[to], &t, 8);
	if (!ret)
		ret = pm_tx_write(tx, &b->transfers, &done, 8);
	if (ret) {
		pm_tx_abort(tx);
		return ret;
	}
	return pm_tx_commit(tx);
}

int main(int argc, char **argv)
{
	struct pm_pool *pool;
	struct bank *b;
	uint64_t sum = 0;
	int ret;

	if (argc >= 4 && !strcmp(argv[2], "init"))
		return init(argv[1], strtoull(argv[3], NULL, 0));
	if (argc < 3 || (strcmp(argv[2], "--check") && argc < 4)) {
		fprintf(stderr, "usage: bank FILE init N | transfer COUNT "
				"[SEED] | --check\n");
		return 2;
	}
	ret = pm_pool_open_layout(argv[1], "bank", 0, &pool);
	if (ret)
		return fail(argv[1], ret);
	b = pm_pool_data(pool, NULL);
	if (!strcmp(argv[2], "transfer")) {
		srand(argc > 4 ? (unsigned)atoi(argv[4]) : 1);
		for (long i = atol(argv[3]); !ret && i > 0; i--)
			ret = transfer(pool, b);
	}
	for (uint64_t i = 0; !ret && i < b->n; i++)
		sum += b->acct[i];
	if (!ret)
		printf("%llu accounts, %llu transfers, total %llu (%s)\n",
		       (unsigned long long)b->n,
		       (unsigned long long)b->transfers,
		       (unsigned long long)sum,
		       sum == b->total ? "ok" : "WRONG");
	ret = ret ? fail("transfer", ret) : sum != b->total;
	pm_pool_close(pool);
	return ret;
}
