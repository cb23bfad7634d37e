/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * arch.c - the process-wide table of CPU primitives (arch.h): what the
 * arch folder finds on this CPU, generic/ fallbacks for the rest, then
 * the PM_* overrides.  Chosen once at load, before any pool is mapped.
 */
#include "arch.h"
#include "internal.h"

struct pm_arch_ops pm_arch;

/* PM_MOVNT_THRESHOLD=<bytes> (decimal, 0x hex); garbage is ignored. */
static void read_threshold(struct pm_arch_ops *ops)
{
	const char *v = pm_getenv("PM_MOVNT_THRESHOLD");
	unsigned long long n;
	char *end;

	if (!v || !*v)
		return;
	errno = 0;
	n = strtoull(v, &end, 0);
	if (errno || *end || *v == '-' || n > SIZE_MAX) {
		pm_warn("PM_MOVNT_THRESHOLD=%s not understood, ignored", v);
		return;
	}
	if (ops->memcpy_nt)
		ops->movnt_threshold = (size_t)n;
}

void pm_arch_reinit(void)
{
	struct pm_arch_ops ops = { 0 };

	pm_arch_init(&ops);
	pm_generic_init(&ops);
	read_threshold(&ops);
	pm_arch = ops;
}

__attribute__((constructor)) static void arch_init(void)
{
	pm_arch_reinit();
}
