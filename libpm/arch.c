/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * arch.c - the process-wide table of CPU primitives (arch.h): what the
 * arch folder finds on this CPU, generic/ fallbacks for the rest, then
 * the PM_* overrides.  Chosen once at load, before any pool is mapped.
 */
#include "arch.h"
#include "internal.h"

struct pm_arch_ops pm_arch;

/*
 * A log record's payload starts 8-byte aligned behind its header, so a
 * non-temporal copy leaves two partial lines to cached stores; for short
 * records these reads for ownership cost more than streaming saves
 * (cached copies measured faster at 256 and 512 bytes, slower at 2 KiB).
 */
#define PM_NT_LOG_MIN ((size_t)1 << 10)
/*
 * A transaction's payload staged with non-temporal stores makes its
 * commit's locked instruction wait for them to drain, a second fence
 * (4 KiB: ~975 -> ~680 ns per transaction cached, 16 KiB ~10% faster
 * cached).  From here on the copy is bound by bandwidth and streaming
 * spares the reads for ownership.
 */
#define PM_NT_STAGE_MIN ((size_t)64 << 10)

/* PM_MOVNT_THRESHOLD=<bytes> (decimal, 0x hex): 1 if set and understood
 * (garbage is ignored with a warning). */
static int read_threshold(size_t *thr)
{
	const char *v = pm_getenv("PM_MOVNT_THRESHOLD");
	unsigned long long n;
	char *end;

	if (!v || !*v)
		return 0;
	errno = 0;
	n = strtoull(v, &end, 0);
	if (errno || *end || *v == '-' || n > SIZE_MAX) {
		pm_warn("PM_MOVNT_THRESHOLD=%s not understood, ignored", v);
		return 0;
	}
	*thr = (size_t)n;
	return 1;
}

/* The CPU's threshold with each use's own floor; a threshold the user
 * set applies to every use as it is. */
static void choose_nt(struct pm_arch_ops *ops)
{
	size_t thr;
	int user = read_threshold(&thr) && ops->memcpy_nt;

	if (!user)
		thr = ops->movnt_threshold;
	ops->movnt_threshold = thr;
	ops->nt_min[PM_NT_COPY] = thr;
	ops->nt_min[PM_NT_LOG] = user ? thr : PM_MAX(thr, PM_NT_LOG_MIN);
	ops->nt_min[PM_NT_STAGE] = user ? thr : PM_MAX(thr, PM_NT_STAGE_MIN);
}

void pm_arch_reinit(void)
{
	struct pm_arch_ops ops = { 0 };

	pm_arch_init(&ops);
	pm_generic_init(&ops);
	choose_nt(&ops);
	pm_arch = ops;
}

__attribute__((constructor)) static void arch_init(void)
{
	pm_arch_reinit();
}
