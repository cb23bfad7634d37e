/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * args.h - the one parser of numbers on the tools' command lines (pmtool,
 * pmcrash, pmbench), so that each is checked the same way: a value that
 * overflows, has trailing junk, is negative or is out of the option's
 * range is an error naming the option, never a different number.
 */
#ifndef PM_TOOLS_ARGS_H
#define PM_TOOLS_ARGS_H 1

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* arg_u64() flags */
#define ARG_SUFFIX 1U /* K, M, G or T: powers of 1024 */

static inline int arg_bad(const char *opt, const char *s, const char *why)
{
	fprintf(stderr, "%s: %s: '%s' %s\n", program_invocation_short_name, opt,
		s, why);
	return -1;
}

/*
 * @s (decimal, 0x hex or 0 octal, with a size suffix if @flags has
 * ARG_SUFFIX) into *@v, which must lie in [@min, @max].  @opt names the
 * option (or operand) in the message.  Return: 0, or -1 after a message
 * on stderr.
 */
static inline int arg_u64(const char *opt, const char *s, uint64_t min,
			  uint64_t max, unsigned flags, uint64_t *v)
{
	unsigned long long n;
	unsigned shift = 0;
	char range[64];
	char *end;

	if (!isdigit((unsigned char)*s))
		return arg_bad(opt, s,
			       *s == '-' ? "is negative" : "is not a number");
	errno = 0;
	n = strtoull(s, &end, 0);
	if (end == s)
		return arg_bad(opt, s, "is not a number");
	if ((flags & ARG_SUFFIX) && *end) {
		switch (toupper((unsigned char)*end)) {
		case 'K':
			shift = 10;
			end++;
			break;
		case 'M':
			shift = 20;
			end++;
			break;
		case 'G':
			shift = 30;
			end++;
			break;
		case 'T':
			shift = 40;
			end++;
			break;
		}
	}
	if (*end)
		return arg_bad(
			opt, s,
			flags & ARG_SUFFIX ?
				"is not a number with an optional K, M, G or T" :
				"is not a number");
	snprintf(range, sizeof(range), "is out of range (%llu..%llu)",
		 (unsigned long long)min, (unsigned long long)max);
	if (errno == ERANGE || n > (UINT64_MAX >> shift))
		return arg_bad(opt, s, range);
	n <<= shift;
	if (n < min || n > max)
		return arg_bad(opt, s, range);
	*v = n;
	return 0;
}

/* arg_u64() into an unsigned int. */
static inline int arg_uint(const char *opt, const char *s, unsigned min,
			   unsigned max, unsigned *v)
{
	uint64_t n;

	if (arg_u64(opt, s, min, max, 0, &n))
		return -1;
	*v = (unsigned)n;
	return 0;
}

/* A finite decimal number in [@min, @max] into *@v; as arg_u64(). */
static inline int arg_double(const char *opt, const char *s, double min,
			     double max, double *v)
{
	char range[64];
	char *end;
	double d;

	if (!isdigit((unsigned char)*s) && *s != '.')
		return arg_bad(opt, s,
			       *s == '-' ? "is negative" : "is not a number");
	errno = 0;
	d = strtod(s, &end);
	if (end == s || *end)
		return arg_bad(opt, s, "is not a number");
	snprintf(range, sizeof(range), "is out of range (%g..%g)", min, max);
	if (errno == ERANGE || !isfinite(d) || d < min || d > max)
		return arg_bad(opt, s, range);
	*v = d;
	return 0;
}

#endif /* PM_TOOLS_ARGS_H */
