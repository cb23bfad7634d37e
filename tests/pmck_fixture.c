/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pmck_fixture - make pools in known states for the pmck tests and the
 * fuzz seed corpus.
 *
 *   pmck_fixture make FILE SIZE   a pool with 4 lanes of 4 KiB and an
 *                                 8 KiB log of 16 records, closed cleanly
 *   pmck_fixture crash FILE       open FILE, commit 3 transactions without
 *                                 applying them (as if killed right after
 *                                 the commit fence) and exit unclosed
 *   pmck_fixture logcrash FILE N  open FILE, append N log records and exit
 *                                 unclosed (as if killed after the appends)
 *   pmck_fixture recoff FILE SEQ  print the file offset of log record SEQ
 *   pmck_fixture seal FILE OFF    recompute the checksum of the header
 *                                 copy at OFF (after editing a field)
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc.h"
#include "layout.h"
#include "libpm.h"
#include "testhook.h"

static int die(const char *what, int err)
{
	fprintf(stderr, "pmck_fixture: %s: %s\n", what, pm_strerror(err));
	return 1;
}

/* Transaction @tag.i writes "transaction TAG.I" at data offset 128 * i. */
static int do_txs(struct pm_pool *pool, int n, int tag)
{
	char *data = pm_pool_data(pool, NULL);

	for (int i = 0; i < n; i++) {
		struct pm_tx *tx;
		char buf[64];
		int ret;

		snprintf(buf, sizeof(buf), "transaction %d.%d", tag, i);
		ret = pm_tx_begin(pool, 256, &tx);
		if (ret)
			return die("pm_tx_begin", ret);
		ret = pm_tx_write(tx, data + 128 * (size_t)i, buf,
				  strlen(buf) + 1);
		if (ret) {
			pm_tx_abort(tx);
			return die("pm_tx_write", ret);
		}
		ret = pm_tx_commit(tx);
		if (ret)
			return die("pm_tx_commit", ret);
	}
	return 0;
}

static int crash(const char *path)
{
	struct pm_pool *pool;
	int ret = pm_pool_open(path, 0, &pool);

	if (ret)
		return die("pm_pool_open", ret);
	pm_tx_test_skip_apply = 1;
	if (do_txs(pool, 3, 1))
		return 1;
	_exit(0);
}

static int do_appends(struct pm_pool *pool, int n)
{
	struct pm_log *log;
	int ret = pm_pool_log(pool, &log);

	if (ret)
		return die("pm_pool_log", ret);
	for (int i = 0; i < n; i++) {
		char rec[48];
		uint64_t seq;

		snprintf(rec, sizeof(rec), "log record number %d", i);
		ret = pm_log_append(log, rec, strlen(rec) + (size_t)(i % 7),
				    &seq);
		if (ret)
			return die("pm_log_append", ret);
	}
	return 0;
}

static int logcrash(const char *path, const char *n_s)
{
	struct pm_pool *pool;
	int ret = pm_pool_open(path, 0, &pool);

	if (ret)
		return die("pm_pool_open", ret);
	if (do_appends(pool, atoi(n_s)))
		return 1;
	_exit(0);
}

static int make(const char *path, const char *size_s)
{
	struct pm_pool_opts o = {
		.sz = sizeof(o),
		.layout = "pmck-test",
		.nlanes = 4,
		.lane_size = 4096,
		.log_size = 8192,
	};
	struct pm_pool *pool;
	int ret = pm_pool_create(path, strtoull(size_s, NULL, 0), &o, &pool);

	if (ret)
		return die("pm_pool_create", ret);
	ret = do_txs(pool, 4, 0) || do_appends(pool, 16);
	pm_pool_close(pool);
	return ret;
}

struct find {
	uint64_t seq;
	const void *rec;
};

static int find_rec(uint64_t seq, const void *rec, size_t len, void *arg)
{
	struct find *f = arg;

	(void)len;
	if (seq != f->seq)
		return 0;
	f->rec = rec;
	return 1;
}

/* The file offset of a record's header: its payload follows the header. */
static int recoff(const char *path, const char *seq_s)
{
	struct find f = { .seq = strtoull(seq_s, NULL, 0) };
	struct pm_pool *pool;
	struct pm_log *log;
	int ret = pm_pool_open(path, 0, &pool);

	if (ret)
		return die("pm_pool_open", ret);
	ret = pm_pool_log(pool, &log);
	if (!ret)
		ret = pm_log_walk(log, f.seq, find_rec, &f) == 1 ? 0 : -ENOENT;
	if (!ret)
		printf("%td\n",
		       (const char *)f.rec -
			       (const char *)pm_map_addr(pm_pool_map(pool)) -
			       (ptrdiff_t)sizeof(struct pm_log_rec));
	pm_pool_close(pool);
	return ret ? die("recoff", ret) : 0;
}

static int seal(const char *path, const char *off_s)
{
	off_t off = (off_t)strtoull(off_s, NULL, 0);
	struct pm_hdr h;
	FILE *f = fopen(path, "r+");
	int ret = 1;

	if (!f)
		return die(path, -errno);
	if (fseeko(f, off, SEEK_SET) == 0 && fread(&h, sizeof(h), 1, f) == 1) {
		h.crc = pm_crc32c(&h, offsetof(struct pm_hdr, crc));
		if (fseeko(f, off, SEEK_SET) == 0 &&
		    fwrite(&h, sizeof(h), 1, f) == 1)
			ret = 0;
	}
	if (fclose(f) || ret)
		return die("seal", -EIO);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "make"))
		return make(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "seal"))
		return seal(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "crash"))
		return crash(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "logcrash"))
		return logcrash(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "recoff"))
		return recoff(argv[2], argv[3]);
	fprintf(stderr, "usage: pmck_fixture make FILE SIZE | seal FILE OFF | "
			"crash FILE | recoff FILE SEQ\n");
	return 2;
}
