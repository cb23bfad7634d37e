/* SPDX-License-Identifier: BSD-3-Clause */
/* test_sim.c - the crash simulator: recording, durable image, crash images. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "libpm.h"
#include "map.h"

#define SIZE (64 * 1024)
#define MAXIMG 256

static char path[64];

/* What pm_sim_explore() produced at one point. */
struct seen {
	uint64_t npoints;
	uint64_t nimages[64];
	enum pm_sim_point_kind kind[64];
	int sampled[64];
	/* words 0..3 of line 0 and word 0 of line 1 of each image of the
	 * point the test watches */
	uint64_t watch;
	unsigned n;
	uint64_t w[MAXIMG][5];
};

static int collect(const struct pm_sim_image *img, void *arg)
{
	struct seen *s = arg;
	const uint64_t *d = img->data;

	assert_true(img->point < 64);
	s->npoints = img->point + 1;
	s->nimages[img->point] = img->nimages;
	s->kind[img->point] = img->kind;
	s->sampled[img->point] = img->sampled;
	if (img->point == s->watch && s->n < MAXIMG) {
		memcpy(s->w[s->n], d, 4 * sizeof(*d));
		s->w[s->n][4] = d[8];
		s->n++;
	}
	return 0;
}

static int setup(void **state)
{
	snprintf(path, sizeof(path), "/dev/shm/test_sim.%d", getpid());
	setenv("PM_FORCE_GRANULARITY", "cacheline", 1);
	unlink(path);
	(void)state;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static struct pm_map *start(struct pm_sim **simp, unsigned flags)
{
	struct pm_sim_opts o = { .sz = sizeof(o), .flags = flags, .seed = 7 };
	struct pm_map *m;

	unlink(path);
	assert_int_equal(pm_sim_start(path, &o, simp), 0);
	assert_int_equal(pm_map_file(path, SIZE, PM_MAP_CREATE, &m), 0);
	return m;
}

static void finish(struct pm_sim *sim, struct pm_map *m, struct seen *s)
{
	pm_unmap(m);
	pm_sim_stop(sim);
	assert_int_equal(pm_sim_explore(sim, collect, s), 0);
	pm_sim_free(sim);
}

static int has(const struct seen *s, uint64_t a, uint64_t b, uint64_t c)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->w[i][0] == a && s->w[i][1] == b && s->w[i][2] == c)
			return 1;
	return 0;
}

static void test_pm_sim_explore_unflushed_words_any_order(void **state)
{
	struct seen s = { .watch = 0 };
	struct pm_sim *sim;
	struct pm_map *m = start(&sim, 0);
	uint64_t *p = pm_map_addr(m);

	(void)state;
	p[0] = 1;
	p[1] = 2;
	assert_int_equal(pm_drain(m), 0); /* point 0 */
	finish(sim, m, &s);
	/* point 0 (fence), 1 (unmap), 2 (end) */
	assert_int_equal(s.npoints, 3);
	assert_int_equal(s.kind[0], PM_SIM_FENCE);
	assert_int_equal(s.kind[1], PM_SIM_UNMAP);
	assert_int_equal(s.kind[2], PM_SIM_END);
	assert_int_equal(s.nimages[0], 4);
	assert_true(has(&s, 0, 0, 0) && has(&s, 1, 0, 0) && has(&s, 0, 2, 0) &&
		    has(&s, 1, 2, 0));
	/* never flushed: still undecided at the end */
	assert_int_equal(s.nimages[2], 4);
}

static void test_pm_sim_explore_flush_fence_durable(void **state)
{
	struct seen s = { .watch = 1 };
	struct pm_sim *sim;
	struct pm_map *m = start(&sim, 0);
	uint64_t *p = pm_map_addr(m);

	(void)state;
	p[0] = 5;
	p[8] = 6;				  /* next line, never flushed */
	assert_int_equal(pm_persist(m, p, 8), 0); /* point 0 */
	assert_int_equal(pm_drain(m), 0);	  /* point 1 */
	finish(sim, m, &s);
	/* at point 0 the flushed line is pending, the other unflushed */
	assert_int_equal(s.nimages[0], 4);
	/* at point 1 only the unflushed line is open, line 0 is durable */
	assert_int_equal(s.nimages[1], 2);
	for (unsigned i = 0; i < s.n; i++)
		assert_int_equal(s.w[i][0], 5);
	assert_true(s.w[0][4] != s.w[1][4]);
}

static void test_pm_map_store64_keeps_line_order(void **state)
{
	struct seen s = { .watch = 0 };
	struct pm_sim *sim;
	struct pm_map *m = start(&sim, 0);
	uint64_t *p = pm_map_addr(m);

	(void)state;
	pm_map_store64(m, &p[0], 1);
	pm_map_store64(m, &p[1], 2);
	pm_map_store64(m, &p[2], 3);
	assert_int_equal(pm_drain(m), 0);
	finish(sim, m, &s);
	/* prefixes only: {}, {0}, {0,1}, {0,1,2} */
	assert_int_equal(s.nimages[0], 4);
	assert_true(has(&s, 0, 0, 0) && has(&s, 1, 0, 0) && has(&s, 1, 2, 0) &&
		    has(&s, 1, 2, 3));
}

static void test_pm_sim_explore_words_mode_ignores_order(void **state)
{
	struct seen s = { .watch = 0 };
	struct pm_sim *sim;
	struct pm_map *m = start(&sim, PM_SIM_WORDS);
	uint64_t *p = pm_map_addr(m);

	(void)state;
	pm_map_store64(m, &p[0], 1);
	pm_map_store64(m, &p[1], 2);
	pm_map_store64(m, &p[2], 3);
	assert_int_equal(pm_drain(m), 0);
	finish(sim, m, &s);
	assert_int_equal(s.nimages[0], 8);
	assert_true(has(&s, 0, 0, 3) && has(&s, 0, 2, 0));
}

static void test_pm_sim_explore_flush_snapshot_is_a_known_state(void **state)
{
	struct seen s = { .watch = 0 };
	struct pm_sim *sim;
	struct pm_map *m = start(&sim, 0);
	uint64_t *p = pm_map_addr(m);

	(void)state;
	p[0] = 1;
	pm_flush(m, p, 8);
	p[1] = 2;
	assert_int_equal(pm_drain(m), 0);
	finish(sim, m, &s);
	/* D -> {0} -> {0,1}: word 1 is never new without word 0 */
	assert_int_equal(s.nimages[0], 3);
	assert_false(has(&s, 0, 2, 0));
}

static void test_pm_sim_explore_samples_large_points(void **state)
{
	struct seen s = { .watch = 0 };
	struct pm_sim *sim;
	struct pm_map *m = start(&sim, 0);
	uint64_t *p = pm_map_addr(m);

	(void)state;
	for (unsigned i = 0; i < 16; i++)
		p[i] = i + 100;
	assert_int_equal(pm_drain(m), 0);
	finish(sim, m, &s);
	assert_int_equal(s.sampled[0], 1);
	assert_int_equal(s.nimages[0], 64);
	assert_int_equal(s.w[0][0], 0);	  /* D first */
	assert_int_equal(s.w[1][0], 100); /* then the live state */
	assert_int_equal(s.w[1][4], 108);
}

static void *other_thread_fence(void *arg)
{
	assert_int_equal(pm_drain(arg), 0);
	return NULL;
}

static void test_pm_sim_explore_fence_is_per_thread(void **state)
{
	struct seen s = { .watch = 1 };
	struct pm_sim *sim;
	struct pm_map *m = start(&sim, 0);
	uint64_t *p = pm_map_addr(m);
	pthread_t t;

	(void)state;
	p[0] = 9;
	pm_flush(m, p, 8);
	assert_int_equal(pthread_create(&t, NULL, other_thread_fence, m), 0);
	pthread_join(t, NULL);		  /* point 0: not ours */
	assert_int_equal(pm_drain(m), 0); /* point 1: still open */
	assert_int_equal(pm_drain(m), 0); /* point 2: durable */
	finish(sim, m, &s);
	assert_int_equal(s.nimages[0], 2);
	assert_int_equal(s.nimages[1], 2);
	assert_int_equal(s.nimages[2], 1);
}

static void test_pm_sim_explore_unflushed_survives_remap(void **state)
{
	struct seen s = { .watch = 4 };
	struct pm_sim *sim;
	struct pm_map *m = start(&sim, 0);
	uint64_t *p = pm_map_addr(m);

	(void)state;
	p[0] = 1;				      /* never flushed */
	assert_int_equal(pm_persist(m, &p[8], 8), 0); /* point 0 */
	pm_unmap(m);				      /* point 1 */
	assert_int_equal(pm_map_file(path, 0, 0, &m), 0);
	p = pm_map_addr(m);
	assert_int_equal(p[0], 1);	  /* the page cache kept it... */
	assert_int_equal(pm_drain(m), 0); /* point 2 */
	p[16] = 3;
	pm_flush(m, &p[16], 8);
	assert_int_equal(pm_drain(m), 0); /* point 3 */
	finish(sim, m, &s);		  /* point 4 (unmap), 5 (end) */
	assert_int_equal(s.npoints, 6);
	/* ...but no fence ever made it durable */
	assert_int_equal(s.nimages[2], 2);
	assert_int_equal(s.nimages[3], 4);
	assert_int_equal(s.nimages[4], 2);
	assert_true(has(&s, 0, 0, 0) && has(&s, 1, 0, 0));
}

static void test_pm_sim_explore_flush_points(void **state)
{
	struct seen s = { .watch = 0 };
	struct pm_sim *sim;
	struct pm_map *m = start(&sim, PM_SIM_FLUSH_POINTS);
	uint64_t *p = pm_map_addr(m);

	(void)state;
	p[0] = 1;
	pm_flush(m, p, 8); /* point 0 */
	p[0] = 2;
	pm_flush(m, p, 8);		  /* point 1 */
	assert_int_equal(pm_drain(m), 0); /* point 2 */
	assert_int_equal(pm_sim_points(sim), 3);
	finish(sim, m, &s);
	/* at point 0 the line is D or 1; at the fence D, 1 or 2 */
	assert_int_equal(s.kind[0], PM_SIM_FLUSH);
	assert_int_equal(s.nimages[0], 2);
	assert_int_equal(s.nimages[2], 3);
}

static void test_pm_sim_start_one_session(void **state)
{
	struct pm_sim *a, *b;

	(void)state;
	assert_int_equal(pm_sim_start(path, NULL, &a), 0);
	assert_int_equal(pm_sim_start(path, NULL, &b), -EBUSY);
	assert_int_equal(pm_sim_explore(a, collect, NULL), -EBUSY);
	assert_int_equal(pm_sim_points(a), 0);
	pm_sim_stop(a);
	assert_int_equal(pm_sim_points(a), 1);
	pm_sim_free(a);
}

static void test_pm_sim_start_bad_opts(void **state)
{
	struct pm_sim_opts o = { .sz = sizeof(o), .flags = 1U << 30 };
	struct pm_sim *a;

	(void)state;
	assert_int_equal(pm_sim_start(path, &o, &a), -EINVAL);
	assert_int_equal(pm_sim_start(NULL, NULL, &a), -EINVAL);
	/* a FIFO without a writer would block a plain open (the alarm
	 * fails that) */
	unlink(path);
	assert_int_equal(mkfifo(path, 0644), 0);
	alarm(10);
	assert_int_equal(pm_sim_start(path, NULL, &a), -EINVAL);
	alarm(0);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pm_sim_explore_unflushed_words_any_order),
		cmocka_unit_test(test_pm_sim_explore_flush_fence_durable),
		cmocka_unit_test(test_pm_map_store64_keeps_line_order),
		cmocka_unit_test(test_pm_sim_explore_words_mode_ignores_order),
		cmocka_unit_test(
			test_pm_sim_explore_flush_snapshot_is_a_known_state),
		cmocka_unit_test(test_pm_sim_explore_samples_large_points),
		cmocka_unit_test(test_pm_sim_explore_fence_is_per_thread),
		cmocka_unit_test(test_pm_sim_explore_unflushed_survives_remap),
		cmocka_unit_test(test_pm_sim_explore_flush_points),
		cmocka_unit_test(test_pm_sim_start_one_session),
		cmocka_unit_test(test_pm_sim_start_bad_opts),
	};

	pm_set_log_level(0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
