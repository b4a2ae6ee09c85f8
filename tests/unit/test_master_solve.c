/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe_master_render's loudness solve seeded with a gain
 * (lathe_master_options.fixed_then_solve, what lathe album gives every song
 * but the loudest): the render at that gain is kept, bit for bit, when it
 * lands within 0.05 LU of the target; otherwise the solve goes on from it
 * onto the target. fixed_gain_db alone keeps the gain whatever the
 * loudness. */
#include "lathe_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/master.h"

static char *const dir = lt_dir;

/* Dense noise with a kick every 0.5 s: at -11 LUFS the limiter works, so
 * the loudness is not the gain plus a constant. */
static void write_song(const char *path, long n, double rate)
{
    float **b = lt_alloc(2, n);
    uint64_t seed = 0x51a7eULL;
    for (int c = 0; c < 2; c++) {
        lt_noise(b[c], n, 0.05, &seed);
        for (long i = 0; i < n; i++) {
            long k = i % (long)(rate / 2);
            if (k < (long)(0.08 * rate))
                b[c][i] += (float)(0.5 * exp(-k / (0.02 * rate)) * sin(2 * M_PI * 55 * k / rate));
        }
    }
    lt_write_wav(path, b, 2, n, rate, LATHE_SAMPLE_FLOAT32);
    lt_free(b, 2);
}

static lathe_master_report master(const char *in, const char *out, double gain, int then_solve)
{
    lathe_master_options o;
    memset(&o, 0, sizeof o);
    o.lufs = -11, o.ceiling_dbtp = NAN, o.fixed_gain_db = gain;
    o.fixed_then_solve = then_solve;
    o.bits = 32, o.overwrite = 1;
    lathe_master_report rep;
    lathe_error err;
    if (lathe_master_render(in, out, &o, &rep, NULL, &err) != LATHE_OK) fail_msg("%s", err.msg);
    return rep;
}

static int same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = lt_read_file(a, &la), *y = lt_read_file(b, &lb);
    int same = la == lb && memcmp(x, y, la) == 0;
    free(x), free(y);
    return same;
}

static void solve_seeded_with_a_gain_keeps_it_on_target_and_goes_on_off_it(void **s)
{
    (void)s;
    const double rate = 48000;
    const long n = (long)((lt_sanitized() ? 6 : 20) * rate);
    char in[600], a[600], b[600], c[600], d[600];
    snprintf(in, sizeof in, "%s/song.wav", dir);
    snprintf(a, sizeof a, "%s/a.wav", dir);
    snprintf(b, sizeof b, "%s/b.wav", dir);
    snprintf(c, sizeof c, "%s/c.wav", dir);
    snprintf(d, sizeof d, "%s/d.wav", dir);
    write_song(in, n, rate);

    /* the plain solve */
    lathe_master_report ra = master(in, a, NAN, 0);
    print_message("  solve: %+.3f dB, %.3f LUFS, limiter max %.1f dB, %d passes\n", ra.gain_db,
                  ra.after.integrated_lufs, ra.limiter_max_db, ra.passes);
    assert_true(ra.limiter_max_db > 1.0); /* the case is limited */
    assert_true(fabs(ra.after.integrated_lufs + 11) <= 0.05);

    /* seeded with the solved gain: that one render, the same bytes */
    lathe_master_report rb = master(in, b, ra.gain_db, 1);
    print_message("  seeded on target: %+.3f dB, %.3f LUFS, %d pass\n", rb.gain_db, rb.after.integrated_lufs,
                  rb.passes);
    assert_true(rb.gain_db == ra.gain_db);
    assert_int_equal(rb.passes, 1);
    assert_true(same_file(a, b));

    /* seeded 2 dB low: on from there onto the target */
    lathe_master_report rc = master(in, c, ra.gain_db - 2, 1);
    print_message("  seeded 2 dB low: %+.3f dB, %.3f LUFS, %d passes\n", rc.gain_db, rc.after.integrated_lufs,
                  rc.passes);
    assert_true(fabs(rc.after.integrated_lufs + 11) <= 0.05);
    assert_true(rc.gain_db != ra.gain_db - 2);
    assert_true(rc.passes >= 2);

    /* fixed alone: the gain whatever the loudness */
    lathe_master_report rd = master(in, d, ra.gain_db - 2, 0);
    print_message("  fixed 2 dB low: %+.3f dB, %.3f LUFS, %d pass\n", rd.gain_db, rd.after.integrated_lufs,
                  rd.passes);
    assert_true(rd.gain_db == ra.gain_db - 2);
    assert_int_equal(rd.passes, 1);
    assert_true(rd.after.integrated_lufs < -12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(solve_seeded_with_a_gain_keeps_it_on_target_and_goes_on_off_it),
    };
    return cmocka_run_group_tests(tests, lt_dir_setup, lt_dir_teardown);
}
