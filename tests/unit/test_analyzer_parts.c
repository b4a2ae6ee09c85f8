/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The analyser split into parts (lathe_analyzer_add_part): part 0 (loudness)
 * and part 1 (everything else), run by two threads at once on one analyser,
 * give exactly the figures of lathe_analyzer_add, bit for bit, for music-like
 * signals with clipped runs and overs, at several channel counts, flags and
 * block splits; and the figures do not depend on the split. */
#include "lathe_test.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/analysis.h"

/* A music-like signal of ch channels (songish, the extra channels mixed from
 * its two at other weights), with full-scale runs and float overs so the
 * clip bookkeeping has something to count. */
static float **signal(int ch, long n, double rate, uint64_t seed)
{
    float **s = lt_songish(n, rate, 0.5, seed);
    float **b = lt_alloc(ch, n);
    for (int c = 0; c < ch; c++)
        for (long i = 0; i < n; i++)
            b[c][i] = c < 2 ? s[c][i] : (float)((0.3 + 0.1 * c) * s[0][i] - 0.2 * s[1][i]);
    lt_free(s, 2);
    const float fs = 32767.0f / 32768.0f;
    for (int c = 0; c < ch; c++) {
        for (long i = n / 3 + 100 * c; i < n / 3 + 100 * c + 5; i++) b[c][i] = fs;  /* a run of 5 */
        b[c][n / 2 + 7 * c] = -fs;                                                   /* alone: not counted */
        for (long i = n / 2 + 1000; i < n / 2 + 1003; i++) b[c][i] = 1.25f;          /* overs */
        b[c][(2 * n) / 3] = -1.5f;
    }
    return b;
}

/* Block splits: a fixed length, or (len < 0) lengths drawn from 1..-len. */
typedef struct {
    long len;
    uint64_t seed;
} split;

static long next_len(split *s)
{
    if (s->len > 0) return s->len;
    s->seed = s->seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return 1 + (long)((s->seed >> 33) % (uint64_t)(-s->len));
}

typedef struct {
    lathe_analyzer *a;
    float **b;
    int ch, part;
    long n;
    split sp;
} job;

/* Feeds b to one part (or to lathe_analyzer_add when part < 0) in the job's split. */
static void feed(job *j)
{
    const float *p[LATHE_MAX_CHANNELS];
    for (long off = 0; off < j->n;) {
        long k = next_len(&j->sp);
        if (k > j->n - off) k = j->n - off;
        for (int c = 0; c < j->ch; c++) p[c] = j->b[c] + off;
        if (j->part < 0) lathe_analyzer_add(j->a, p, k);
        else lathe_analyzer_add_part(j->a, p, k, j->part);
        off += k;
    }
}

static void *feed_thread(void *arg)
{
    feed(arg);
    return NULL;
}

/* The loudness curve: every call's values, to compare the two ways. */
typedef struct {
    double v[4096][3];
    int n;
} curve;

static void on_curve(void *user, double t, double m, double s)
{
    curve *c = user;
    if (c->n < 4096) c->v[c->n][0] = t, c->v[c->n][1] = m, c->v[c->n][2] = s;
    c->n++;
}

static void assert_same(const lathe_analysis *x, const lathe_analysis *y)
{
#define SAME(f)                                                                     \
    if (memcmp(&x->f, &y->f, sizeof x->f) != 0)                                     \
        fail_msg(#f ": %.17g (add) vs %.17g (parts)", (double)x->f, (double)y->f);
    SAME(integrated_lufs) SAME(loudness_range_lu) SAME(max_momentary_lufs)
    SAME(max_short_term_lufs) SAME(sample_peak_dbfs) SAME(true_peak_dbtp) SAME(plr_db)
    SAME(crest_db) SAME(rms_dbfs) SAME(clipped_samples) SAME(correlation) SAME(side_mid_db)
    SAME(low_side_mid_db) SAME(high_share_db) SAME(frames)
    for (int c = 0; c < x->channels; c++) {
        SAME(channel_sample_peak_dbfs[c]) SAME(channel_true_peak_dbtp[c]) SAME(dc_offset[c])
    }
#undef SAME
    assert_memory_equal(x, y, sizeof *x);
}

/* add in split `ref` against the two parts on two threads, part 0 in split
 * s0 and part 1 in split s1. */
static void compare(int ch, double rate, unsigned flags, split ref, split s0, split s1)
{
    const long n = lt_sanitized() ? (long)(2.5 * rate) : (long)(7.3 * rate);
    float **b = signal(ch, n, rate, 0x5eed + (uint64_t)ch);
    lathe_error err;
    lathe_analyzer *a = lathe_analyzer_new(rate, ch, &err), *p = lathe_analyzer_new(rate, ch, &err);
    assert_non_null(a);
    assert_non_null(p);
    lathe_analyzer_set_flags(a, flags);
    lathe_analyzer_set_flags(p, flags);
    curve *ca = calloc(1, sizeof *ca), *cp = calloc(1, sizeof *cp);
    assert_non_null(ca);
    assert_non_null(cp);
    lathe_analyzer_set_curve(a, on_curve, ca);
    lathe_analyzer_set_curve(p, on_curve, cp);

    job ja = {a, b, ch, -1, n, ref};
    feed(&ja);
    job j0 = {p, b, ch, 0, n, s0}, j1 = {p, b, ch, 1, n, s1};
    pthread_t t0, t1;
    assert_int_equal(pthread_create(&t0, NULL, feed_thread, &j0), 0);
    assert_int_equal(pthread_create(&t1, NULL, feed_thread, &j1), 0);
    pthread_join(t0, NULL);
    pthread_join(t1, NULL);

    lathe_analysis ra, rp;
    lathe_analyzer_result(a, &ra);
    lathe_analyzer_result(p, &rp);
    assert_same(&ra, &rp);
    /* the signal really exercises what is compared */
    assert_int_equal(ra.frames, n);
    assert_true(isfinite(ra.integrated_lufs));
    if (!(flags & LATHE_ANALYZE_LOUDNESS_ONLY)) {
        /* per channel: the run of 5 and four overs */
        assert_int_equal(ra.clipped_samples, 9LL * ch);
        assert_true(ra.true_peak_dbtp >= 20 * log10(1.5));
    }
    assert_int_equal(ca->n, cp->n);
    assert_int_equal(ca->n, n / (10 * lrint(rate / 100)));  /* every 100 ms */
    assert_memory_equal(ca->v, cp->v, sizeof ca->v[0] * (size_t)(ca->n < 4096 ? ca->n : 4096));
    free(ca);
    free(cp);
    lathe_analyzer_free(a);
    lathe_analyzer_free(p);
    lt_free(b, ch);
}

static void parts_equal_add_stereo_same_splits(void **state)
{
    (void)state;
    static const long lens[] = {4096, 8192, 1, 37, 1000, 44100, 1L << 30, -5000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        split s = {lens[i], 42};
        compare(2, 44100, 0, s, s, s);
    }
}

/* The result does not depend on how the stream is split: add in one split,
 * part 0 in a second and part 1 in a third (blocks of one sample take the
 * K-meter's scalar path, long ones its vector path). */
static void parts_in_any_split_equal_add_in_any_other(void **state)
{
    (void)state;
    split a = {8192, 0}, b = {1, 0}, c = {-3000, 5}, d = {37, 0}, e = {1L << 30, 0};
    compare(2, 44100, 0, a, b, c);
    compare(2, 44100, 0, c, e, d);
    compare(2, 48000, LATHE_ANALYZE_BANDS | LATHE_ANALYZE_HF, e, c, b);
    compare(1, 44100, LATHE_ANALYZE_HF, d, a, c);
    compare(6, 48000, 0, b, c, e);
    compare(2, 44100, LATHE_ANALYZE_LOUDNESS_ONLY, d, b, a);
}

static void parts_equal_add_with_bands_and_hf(void **state)
{
    (void)state;
    split s = {-9000, 7}, t = {8192, 0};
    compare(2, 48000, LATHE_ANALYZE_BANDS | LATHE_ANALYZE_HF, s, s, s);
    compare(2, 44100, LATHE_ANALYZE_BANDS | LATHE_ANALYZE_HF, t, t, t);
}

static void parts_equal_add_mono_and_surround(void **state)
{
    (void)state;
    split s = {-3000, 3}, t = {4096, 0};
    compare(1, 44100, 0, s, s, s);
    compare(6, 48000, LATHE_ANALYZE_HF, t, t, t);
    compare(5, 96000, 0, s, s, s);
}

static void parts_loudness_only_part1_does_nothing(void **state)
{
    (void)state;
    split s = {-7000, 11};
    compare(2, 44100, LATHE_ANALYZE_LOUDNESS_ONLY, s, s, s);
    /* with LOUDNESS_ONLY, part 1 alone leaves the analyser empty */
    lathe_error err;
    lathe_analyzer *a = lathe_analyzer_new(44100, 2, &err);
    assert_non_null(a);
    lathe_analyzer_set_flags(a, LATHE_ANALYZE_LOUDNESS_ONLY);
    float **b = signal(2, 44100, 44100, 1);
    lathe_analyzer_add_part(a, (const float *const *)b, 44100, 1);
    lathe_analysis r;
    lathe_analyzer_result(a, &r);
    assert_int_equal(r.frames, 0);
    assert_true(isinf(r.sample_peak_dbfs) && r.sample_peak_dbfs < 0);
    assert_int_equal(r.clipped_samples, 0);
    lt_free(b, 2);
    lathe_analyzer_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parts_equal_add_stereo_same_splits),
        cmocka_unit_test(parts_in_any_split_equal_add_in_any_other),
        cmocka_unit_test(parts_equal_add_with_bands_and_hf),
        cmocka_unit_test(parts_equal_add_mono_and_surround),
        cmocka_unit_test(parts_loudness_only_part1_does_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
