/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * racer.h - a thread that keeps changing a buffer, for tests of what the
 * library does when its caller changes the bytes it passed while a call
 * reads them.  Such a test is a data race on purpose: ThreadSanitizer
 * builds skip it (racer_start() returns -1).
 */
#ifndef PM_TEST_RACER_H
#define PM_TEST_RACER_H 1

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#if defined(__SANITIZE_THREAD__)
#define RACER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RACER_TSAN 1
#endif
#endif

struct racer {
	pthread_t th;
	uint64_t *w; /* the buffer, as words */
	size_t n;    /* words */
	int on;
	uint64_t passes; /* over the whole buffer so far */
};

static void *racer_run(void *arg)
{
	struct racer *r = arg;
	volatile uint64_t *w = r->w;

	for (uint64_t k = 1; __atomic_load_n(&r->on, __ATOMIC_RELAXED); k++) {
		for (size_t i = 0; i < r->n; i++)
			w[i] += k;
		__atomic_store_n(&r->passes, k, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Start changing the @len bytes at @buf (8-byte aligned); -1 if this
 * build must not race. */
static inline int racer_start(struct racer *r, void *buf, size_t len)
{
#ifdef RACER_TSAN
	(void)r, (void)buf, (void)len;
	return -1;
#else
	r->w = buf;
	r->n = len / 8;
	r->on = 1;
	r->passes = 0;
	return pthread_create(&r->th, NULL, racer_run, r) ? -1 : 0;
#endif
}

/* Passes so far: a call during which this changed met the race. */
static inline uint64_t racer_passes(struct racer *r)
{
	return __atomic_load_n(&r->passes, __ATOMIC_RELAXED);
}

/* Go on while fewer than 200 calls met the race and less than a second
 * passed since @t0 (CLOCK_MONOTONIC): where both threads seldom run at
 * once (a loaded machine, valgrind) time ends the loop. */
static inline int racer_more(int raced, const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return raced < 200 &&
	       (double)(t.tv_sec - t0->tv_sec) +
			       (double)(t.tv_nsec - t0->tv_nsec) * 1e-9 <
		       1.0;
}

static inline void racer_stop(struct racer *r)
{
	__atomic_store_n(&r->on, 0, __ATOMIC_RELAXED);
	pthread_join(r->th, NULL);
}

#endif /* PM_TEST_RACER_H */
