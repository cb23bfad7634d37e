/* SPDX-License-Identifier: BSD-3-Clause */
/* journal.c - an application journal on a libpm log.  Deposits are appended
 * as events (one fence per batch); after a restart the balance is the last
 * checkpoint plus the events logged since; a checkpoint stores the balance
 * and drops the events it covers from the log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpm.h>

/* Two in the data area; the one with the higher seq is current. */
struct ckpt {
	int64_t balance;
	uint64_t seq; /* last event included */
};

static int apply(uint64_t seq, const void *rec, size_t len, void *arg)
{
	struct ckpt *st = arg;
	int64_t amount;

	if (len != sizeof(amount))
		return -EINVAL;
	memcpy(&amount, rec, sizeof(amount));
	st->balance += amount;
	st->seq = seq;
	return 0;
}

#define latest(c) (&(c)[(c)[1].seq > (c)[0].seq])

static int replay(struct pm_log *log, struct ckpt *c, struct ckpt *st)
{
	*st = *latest(c);
	return pm_log_walk(log, st->seq + 1, apply, st);
}

/* The balance is durable before the seq that makes its slot current. */
static int checkpoint(struct pm_map *map, struct pm_log *log, struct ckpt *c)
{
	struct ckpt st, *slot = &c[latest(c) == c];
	int ret = replay(log, c, &st);

	if (ret || st.seq == latest(c)->seq)
		return ret;
	slot->balance = st.balance;
	if ((ret = pm_persist(map, &slot->balance, sizeof(slot->balance))))
		return ret;
	slot->seq = st.seq;
	if ((ret = pm_persist(map, &slot->seq, sizeof(slot->seq))))
		return ret;
	return pm_log_truncate(log, st.seq); /* the events it covers */
}

static int add(struct pm_log *log, char **args, int n)
{
	struct iovec v[64];
	int64_t amount[64];
	uint64_t first;
	int i, ret;

	for (i = 0; i < n && i < 64; i++) {
		amount[i] = strtoll(args[i], NULL, 0);
		v[i] = (struct iovec){ &amount[i], sizeof(amount[i]) };
	}
	if (!(ret = pm_log_append_batch(log, v, i, &first)))
		printf("events from %llu\n", (unsigned long long)first);
	return ret;
}

int main(int argc, char **argv)
{
	struct pm_pool_opts o = { .sz = sizeof(o), .log_size = 64 << 10 };
	struct pm_pool *pool;
	struct pm_log *log;
	struct ckpt *c, st;
	int ret;

	if (argc < 3)
		return fputs("usage: journal FILE add N...|balance|checkpoint\n",
			     stderr),
		       2;
	ret = access(argv[1], F_OK) ?
		      pm_pool_create(argv[1], 1 << 20, &o, &pool) :
		      pm_pool_open(argv[1], 0, &pool);
	if (ret || (ret = pm_pool_log(pool, &log)))
		return fprintf(stderr, "%s: %s\n", argv[1], pm_strerror(ret)),
		       1;
	c = pm_pool_data(pool, NULL);
	if (!strcmp(argv[2], "add"))
		ret = add(log, argv + 3, argc - 3);
	else if (!strcmp(argv[2], "checkpoint"))
		ret = checkpoint(pm_pool_map(pool), log, c);
	else if (!(ret = replay(log, c, &st)))
		printf("balance %lld\n", (long long)st.balance);
	pm_pool_close(pool);
	if (ret)
		fprintf(stderr, "%s %s: %s\n", argv[1], argv[2],
			pm_strerror(ret));
	return !!ret;
}
