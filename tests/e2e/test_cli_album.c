/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe album, end to end: pre-gaps, fades and crossfades sample-exact
 * against expectations computed here from the documented rules (lathe/album.h);
 * CUE INDEX times equal the sample positions in the continuous file; album
 * mode keeps the songs' relative loudness (+-0.1 LU) and track mode puts
 * every song on target, both as libebur128 reads the files; a crossfade of
 * two limited songs stays under the true-peak ceiling (libebur128); the CD
 * preset's Red Book checks fire with exact messages on inputs built to
 * break them and leave no output; YAML problems come all at once with
 * FILE:LINE:COL; vinyl sides give one file per side and a long-side warning. */
#include "lathe_test.h"

#include <ebur128.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lathe/album.h"
#include "lathe/io.h"

static char *const dir = lt_dir;

static void write_file(const char *path, float **b, int ch, long n, double rate, lathe_sample_type t)
{
    lt_write_wav(path, b, ch, n, rate, t);
}

typedef lt_measured measured;
#define measure lt_measure_file

static lt_run_result album(const char *yaml, const char *out)
{
    return lt_run("LATHE_NO_PROGRESS=1 '%s' album '%s' -o '%s' --json", lt_lathe_exe(), yaml, out);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* ---- the documented fade curves, written again here ---- */
static double curve(const char *name, double x)
{
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    if (!strcmp(name, "linear")) return x;
    if (!strcmp(name, "log")) return (pow(1000, x) - 1) / 999;
    if (!strcmp(name, "s-curve")) return 0.5 - 0.5 * cos(M_PI * x);
    if (!strcmp(name, "equal-power")) return sin(M_PI / 2 * x);
    fail_msg("curve %s", name);
    return 0;
}

/* Position of "INDEX nn mm:ss:ff" for track `track` in a CUE text, in frames of 1/75 s; -1 if absent. */
static long cue_index(const char *cue, int track, int index)
{
    char pat[32];
    snprintf(pat, sizeof pat, "TRACK %02d AUDIO", track);
    const char *p = strstr(cue, pat);
    if (!p) return -1;
    const char *next = strstr(p + 1, "TRACK ");
    snprintf(pat, sizeof pat, "INDEX %02d ", index);
    const char *q = strstr(p, pat);
    if (!q || (next && q > next)) return -1;
    int mm, ss, ff;
    if (sscanf(q + 9, "%d:%d:%d", &mm, &ss, &ff) != 3) return -1;
    return (mm * 60L + ss) * 75 + ff;
}

static char *slurp(const char *path)
{
    return lt_read_file(path, NULL);
}

/* Three songs (master: off, float output, 48 kHz: a CUE frame is 640
 * samples), with a fade-in, a log fade-out, a 0.41 s S-curve crossfade (the
 * start rounds to 119 CUE frames), a 0.5 s pre-gap (rounds to 38 frames) and
 * a song whose length is not a whole frame (padded with silence). */
static void album_gaps_fades_crossfades_are_sample_exact(void **s)
{
    (void)s;
    const double rate = 48000;
    const long len[3] = {96000, 72000, 48007};
    float **in[3];
    char path[512], yaml[512], out[400];
    uint64_t seed = 99;
    for (int i = 0; i < 3; i++) {
        in[i] = lt_alloc(2, len[i]);
        lt_noise(in[i][0], len[i], 0.1 / (i + 1), &seed);
        lt_sine(in[i][1], len[i], rate, 200 + 300 * i, 0.2, 0.3 * i);
        snprintf(path, sizeof path, "%s/seq%d.wav", dir, i + 1);
        write_file(path, in[i], 2, len[i], rate, LATHE_SAMPLE_FLOAT32);
    }
    snprintf(yaml, sizeof yaml, "%s/seq.yaml", dir);
    lt_write_text(yaml, "master: off\n"
                     "bits: 32\n"
                     "format: wav\n"
                     "meta: {album: Sequence, artist: Tester}\n"
                     "songs:\n"
                     "  - file: seq1.wav\n"
                     "    meta: {title: First, isrc: GB-AAA-26-00001}\n"
                     "    fade_in: 0.25\n"
                     "    fade_out: {length: 0.3, curve: log}\n"
                     "  - file: seq2.wav\n"
                     "    meta: {title: Second}\n"
                     "    crossfade: {length: 0.41, curve: s-curve}\n"
                     "  - file: seq3.wav\n"
                     "    meta: {title: Third}\n"
                     "    gap: 0.5\n"
                     "    fade_in: {length: 0.1, curve: equal-power}\n");
    snprintf(out, sizeof out, "%s/seq-out", dir);
    lt_run_result r = album(yaml, out);
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);

    /* the expected timeline */
    const long F = 640;
    long start[3], idx00[3];
    long xf = 96000 - 19680;                     /* song 2 starts the overlap before song 1's end */
    start[0] = 0, idx00[0] = 0;
    start[1] = (xf + F / 2) / F * F, idx00[1] = start[1];
    long ov = 96000 - start[1];
    long cursor = (start[1] + len[1] + F - 1) / F * F;
    idx00[2] = cursor;
    start[2] = cursor + (24000 + F / 2) / F * F;
    long total = (start[2] + len[2] + F - 1) / F * F;
    print_message("  starts %ld %ld (gap from %ld) %ld, overlap %ld, total %ld\n", start[0], start[1], idx00[2],
                  start[2], ov, total);
    assert_int_equal(start[1], 119 * 640);
    assert_int_equal(start[2], (232 + 38) * 640);

    double *want[2];
    for (int c = 0; c < 2; c++) want[c] = calloc((size_t)total, sizeof(double));
    for (int i = 0; i < 3; i++)
        for (long k = 0; k < len[i]; k++) {
            double g = 1;
            if (i == 0 && k < 12000) g *= curve("linear", (k + 0.5) / 12000);
            if (i == 0 && k >= len[0] - 14400) g *= curve("log", 1 - (k - (len[0] - 14400) + 0.5) / 14400);
            if (i == 0 && k >= len[0] - ov) g *= curve("s-curve", 1 - (k - (len[0] - ov) + 0.5) / ov);
            if (i == 1 && k < ov) g *= curve("s-curve", (k + 0.5) / ov);
            if (i == 2 && k < 4800) g *= curve("equal-power", (k + 0.5) / 4800);
            for (int c = 0; c < 2; c++) want[c][start[i] + k] += in[i][c][k] * g;
        }
    char p[600];
    snprintf(p, sizeof p, "%s/album.wav", out);
    measured m = measure(p, 1);
    assert_int_equal(m.frames, total);
    double worst = 0;
    long worst_at = 0;
    for (int c = 0; c < 2; c++)
        for (long k = 0; k < total; k++) {
            double e = fabs(m.b[c][k] - want[c][k]);
            if (e > worst) worst = e, worst_at = k;
        }
    print_message("  album file: worst sample error %.3g at %ld (of %ld frames)\n", worst, worst_at, total);
    assert_true(worst < 2e-7);
    /* silence exactly where the gap and the padding are */
    for (long k = start[1] + len[1]; k < start[2]; k++) assert_true(m.b[0][k] == 0 && m.b[1][k] == 0);
    lt_free(m.b, 2);

    /* song files: the song with its own fades, no crossfade curve */
    snprintf(p, sizeof p, "%s/02 Second.wav", out);
    m = measure(p, 1);
    assert_int_equal(m.frames, len[1]);
    for (long k = 0; k < len[1]; k++) assert_true(m.b[0][k] == in[1][0][k] && m.b[1][k] == in[1][1][k]);
    lt_free(m.b, 2);
    snprintf(p, sizeof p, "%s/01 First.wav", out);
    m = measure(p, 1);
    worst = 0;
    for (long k = 0; k < len[0]; k++) {
        double g = 1;
        if (k < 12000) g *= (k + 0.5) / 12000;
        if (k >= len[0] - 14400) g *= curve("log", 1 - (k - (len[0] - 14400) + 0.5) / 14400);
        worst = fmax(worst, fabs(m.b[1][k] - in[0][1][k] * g));
    }
    assert_true(worst < 2e-7);
    lt_free(m.b, 2);

    /* CUE: INDEX times are the sample positions; JSON agrees */
    snprintf(p, sizeof p, "%s/album.cue", out);
    char *cue = slurp(p);
    print_message("%s", cue);
    assert_non_null(strstr(cue, "FILE \"album.wav\" WAVE"));
    assert_non_null(strstr(cue, "ISRC GBAAA2600001"));
    assert_non_null(strstr(cue, "TITLE \"Second\""));
    for (int t = 0; t < 3; t++) {
        assert_int_equal(cue_index(cue, t + 1, 1) * F, start[t]);
        long i0 = cue_index(cue, t + 1, 0);
        if (idx00[t] < start[t]) assert_int_equal(i0 * F, idx00[t]);
        else assert_int_equal(i0, -1);
    }
    const char *tr3 = strstr(r.out, "\"number\": 3");
    assert_non_null(tr3);
    assert_int_equal((long)lt_json_num(tr3, "index01"), start[2]);
    assert_int_equal((long)lt_json_num(tr3, "index00"), idx00[2]);
    free(cue);
    for (int c = 0; c < 2; c++) free(want[c]);
    for (int i = 0; i < 3; i++) lt_free(in[i], 2);
    lt_run_free(&r);
}

/* A music-like signal: filtered noise, a bass line and a 4 Hz level swing. */
static float **songish(long n, double rate, double level, uint64_t seed)
{
    return lt_songish(n, rate, level, seed);
}

static void make_songs(const double *levels, int n, double secs, const char *prefix)
{
    const double rate = 48000;
    for (int i = 0; i < n; i++) {
        float **b = songish((long)(secs * rate), rate, levels[i], 1000 + (uint64_t)i);
        char p[512];
        snprintf(p, sizeof p, "%s/%s%d.wav", dir, prefix, i + 1);
        write_file(p, b, 2, (long)(secs * rate), rate, LATHE_SAMPLE_FLOAT32);
        lt_free(b, 2);
    }
}

/* Album mode, once where nothing is limited (spotify, -14 LUFS) and once
 * where the loudest song is driven hard into the limiter (cd at -9 LUFS, so
 * the fixed drive alone would leave the others 1-2 LU too loud). */
static void album_mode_keeps_relative_loudness_within_0_1_lu(void **s)
{
    (void)s;
    const double levels[3] = {0.05, 0.25, 0.1};
    make_songs(levels, 3, 4, "rel");
    const char *targets[2] = {"spotify", "cd"};
    const double lufs[2] = {-14, -9}, ceil[2] = {-1, -0.3};
    for (int v = 0; v < 2; v++) {
        char yaml[512], out[400], p[700], text[600];
        snprintf(yaml, sizeof yaml, "%s/rel-%s.yaml", dir, targets[v]);
        snprintf(text, sizeof text,
                 "target: %s\nlufs: %g\nformat: wav\n"
                 "songs:\n"
                 "  - {file: rel1.wav, meta: {title: Quiet}}\n"
                 "  - {file: rel2.wav, meta: {title: Loud}}\n"
                 "  - {file: rel3.wav, meta: {title: Middle}}\n",
                 targets[v], lufs[v]);
        lt_write_text(yaml, text);
        snprintf(out, sizeof out, "%s/rel-%s-out", dir, targets[v]);
        lt_run_result r = album(yaml, out);
        if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
        const char *titles[3] = {"Quiet", "Loud", "Middle"};
        double li[3], lo[3];
        print_message("  %s, %.0f LUFS, ceiling %.1f dBTP; album drive %.2f dB\n", targets[v], lufs[v], ceil[v],
                      lt_json_num(r.out, "album_gain_db"));
        for (int i = 0; i < 3; i++) {
            snprintf(p, sizeof p, "%s/rel%d.wav", dir, i + 1);
            li[i] = measure(p, 0).lufs;
            snprintf(p, sizeof p, "%s/%02d %s.wav", out, i + 1, titles[i]);
            measured m = measure(p, 0);
            lo[i] = m.lufs;
            char key[32];
            snprintf(key, sizeof key, "\"number\": %d", i + 1);
            const char *t = strstr(r.out, key);
            assert_non_null(t);
            print_message("  %-6s in %7.2f LUFS  out %7.2f LUFS  %6.2f dBTP  drive %+.2f dB%s\n", titles[i], li[i],
                          lo[i], m.tp, lt_json_num(t, "gain_db"), strstr(t, "\"solved\": true") < strstr(t, "}")
                          && strstr(t, "\"solved\": true") ? " (solved)" : "");
            assert_true(m.tp <= ceil[v]);
        }
        assert_true(fabs(lo[1] - lufs[v]) <= 0.1); /* the loudest lands on the target */
        for (int i = 0; i < 3; i++) {
            double kept = (lo[i] - lo[1]) - (li[i] - li[1]);
            print_message("  %-6s relative level kept within %+.3f LU\n", titles[i], kept);
            assert_true(fabs(kept) <= 0.1);
        }
        /* the continuous file holds the ceiling */
        snprintf(p, sizeof p, "%s/album.wav", out);
        assert_true(measure(p, 0).tp <= ceil[v]);
        lt_run_free(&r);
    }
}

static void track_mode_puts_every_song_on_target(void **s)
{
    (void)s;
    const double levels[2] = {0.04, 0.2};
    make_songs(levels, 2, 3, "trk");
    char yaml[512], out[400], p[700];
    snprintf(yaml, sizeof yaml, "%s/trk.yaml", dir);
    lt_write_text(yaml, "target: apple-music\nloudness: track\nformat: flac\n"
                     "meta: {album: Tracks, artist: Tester}\n"
                     "songs:\n  - {file: trk1.wav, meta: {isrc: us-rc1-76-00001}}\n  - {file: trk2.wav, lufs: -18}\n");
    snprintf(out, sizeof out, "%s/trk-out", dir);
    lt_run_result r = album(yaml, out);
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    const double want[2] = {-16, -18};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/%02d trk%d.flac", out, i + 1, i + 1);
        measured m = measure(p, 0);
        print_message("  song %d: %.2f LUFS (target %.0f), %.2f dBTP\n", i + 1, m.lufs, want[i], m.tp);
        assert_true(fabs(m.lufs - want[i]) <= 0.1);
        assert_true(m.tp <= -1.0);
        if (!lt_have("metaflac")) continue;
        /* tags, read back by metaflac: track numbers, ISRC, ReplayGain 2.0 (-18 LUFS reference) */
        lt_run_result t = lt_run("metaflac --export-tags-to=- '%s'", p);
        print_message("%s", t.out);
        char want_tag[64];
        snprintf(want_tag, sizeof want_tag, "TRACKNUMBER=%d\n", i + 1);
        assert_non_null(strstr(t.out, want_tag));
        assert_non_null(strstr(t.out, "TRACKTOTAL=2\n"));
        assert_non_null(strstr(t.out, "ALBUM=Tracks\n"));
        if (i == 0) assert_non_null(strstr(t.out, "ISRC=USRC17600001\n"));
        const char *g = strstr(t.out, "REPLAYGAIN_TRACK_GAIN=");
        assert_non_null(g);
        assert_true(fabs(atof(g + 22) - (-18 - m.lufs)) <= 0.011);
        g = strstr(t.out, "REPLAYGAIN_ALBUM_GAIN=");
        assert_non_null(g);
        assert_true(fabs(atof(g + 22) - (-18 - lt_json_num(r.out, "album_lufs"))) <= 0.011);
        lt_run_free(&t);
    }
    lt_run_free(&r);
}

/* Two loud, heavily limited songs crossfaded over 2 s with equal power sum
 * to up to +3 dB: the dip must keep the CD file under -0.3 dBTP. */
static void cd_crossfade_of_limited_songs_stays_under_the_ceiling(void **s)
{
    (void)s;
    const double levels[2] = {0.3, 0.3};
    make_songs(levels, 2, 5, "xf");
    char yaml[512], out[400], p[700];
    snprintf(yaml, sizeof yaml, "%s/xf.yaml", dir);
    lt_write_text(yaml, "target: cd\nlufs: -8\n"
                     "meta: {album: Loud, upc: '036000291452'}\n"
                     "songs:\n  - xf1.wav\n  - {file: xf2.wav, crossfade: {length: 2, curve: equal-power}}\n");
    snprintf(out, sizeof out, "%s/xf-out", dir);
    lt_run_result r = album(yaml, out);
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    snprintf(p, sizeof p, "%s/album.wav", out);
    measured m = measure(p, 0);
    const char *t2 = strstr(r.out, "\"number\": 2");
    double before = lt_json_num(t2, "crossfade_peak_dbtp"), dip = lt_json_num(t2, "crossfade_dip_db");
    print_message("  crossfade peaked at %.2f dBTP before the dip (%.2f dB); album file %.3f dBTP, %.2f LUFS, "
                  "%.0f Hz\n", before, dip, m.tp, m.lufs, m.rate);
    assert_true(before > -0.3); /* the case is real */
    assert_true(dip > 0);
    assert_true(m.tp <= -0.3);
    assert_true(m.rate == 44100);
    assert_int_equal(m.frames % 588, 0);
    long i01 = (long)lt_json_num(t2, "index01");
    assert_int_equal(i01 % 588, 0);
    snprintf(p, sizeof p, "%s/02 xf2.wav", out);
    m = measure(p, 0);
    assert_int_equal(m.frames % 588, 0);
    assert_true(m.tp <= -0.3);
    lathe_audio_info info;
    lathe_error err;
    lathe_reader *rd = lathe_reader_open(p, &info, &err);
    assert_non_null(rd);
    lathe_reader_close(rd);
    assert_int_equal(info.bits, 16);
    snprintf(p, sizeof p, "%s/album.cue", out);
    char *cue = slurp(p);
    assert_non_null(strstr(cue, "CATALOG 0036000291452"));
    assert_int_equal(cue_index(cue, 2, 1) * 588, i01);
    free(cue);
    lt_run_free(&r);
}

static void expect_fail(const char *yaml_name, const char *yaml, const char *const *msgs, int nmsgs)
{
    char y[512], out[512];
    snprintf(y, sizeof y, "%s/%s", dir, yaml_name);
    lt_write_text(y, yaml);
    snprintf(out, sizeof out, "%s/fail-out", dir);
    lt_run_result r = album(y, out);
    print_message("  exit %d: %.*s%s", r.status, 600, r.err, strlen(r.err) > 600 ? "...\n" : "");
    assert_int_equal(r.status, 65);
    for (int i = 0; i < nmsgs; i++) {
        char want[700];
        snprintf(want, sizeof want, "%s/%s", dir, msgs[i]);
        if (!strstr(r.err, want)) fail_msg("missing message: %s", want);
    }
    assert_false(exists(out)); /* no output on errors */
    assert_int_equal(r.out[0], 0);
    lt_run_free(&r);
}

static void cd_red_book_checks_fire_with_exact_messages(void **s)
{
    (void)s;
    char p[512];
    /* a 3 s track */
    float **b = lt_alloc(2, 44100 * 5);
    snprintf(p, sizeof p, "%s/five.wav", dir);
    write_file(p, b, 2, 44100 * 5, 44100, LATHE_SAMPLE_PCM16);
    snprintf(p, sizeof p, "%s/three.wav", dir);
    write_file(p, b, 2, 44100 * 3, 44100, LATHE_SAMPLE_PCM16);
    snprintf(p, sizeof p, "%s/tiny.wav", dir);
    write_file(p, b, 1, 800, 8000, LATHE_SAMPLE_PCM16);
    lt_free(b, 2);
    const char *m1[] = {"short.yaml:5:5: track 2 (three.wav) is 3.00 s long: the Red Book needs at least 4 s per track"};
    expect_fail("short.yaml", "target: cd\nsongs:\n  - five.wav\n  -\n    file: three.wav\n  - five.wav\n", m1, 1);

    /* 100 tiny tracks */
    char *y = malloc(4000);
    strcpy(y, "target: cd\nsongs:\n");
    for (int i = 0; i < 100; i++) strcat(y, "  - tiny.wav\n");
    const char *m2[] = {"many.yaml:3:3: 100 tracks: the Red Book allows at most 99 on a CD",
                        "many.yaml:3:5: track 1 (tiny.wav) is 0.10 s long: the Red Book needs at least 4 s per track",
                        "many.yaml:102:5: track 100 (tiny.wav) is 0.10 s long"};
    expect_fail("many.yaml", y, m2, 3);

    /* 97 x 50 s + 96 pre-gaps of 2 s = 84:02 (a small silent 8 kHz mono file) */
    float **z = lt_alloc(1, 8000 * 50);
    snprintf(p, sizeof p, "%s/fifty.wav", dir);
    write_file(p, z, 1, 8000 * 50, 8000, LATHE_SAMPLE_PCM16);
    lt_free(z, 1);
    strcpy(y, "target: cd\nsongs:\n");
    for (int i = 0; i < 97; i++) strcat(y, "  - fifty.wav\n");
    const char *m3[] = {"long.yaml:3:3: the album is 84:02.00 long (pre-gaps included): a CD holds at most 79:57"};
    expect_fail("long.yaml", y, m3, 1);
    free(y);
}

static void album_yaml_problems_come_all_at_once(void **s)
{
    (void)s;
    char p[512];
    float **b = lt_alloc(2, 4800);
    snprintf(p, sizeof p, "%s/ok.wav", dir);
    write_file(p, b, 2, 4800, 48000, LATHE_SAMPLE_FLOAT32);
    lt_free(b, 2);
    const char *msgs[] = {
        "bad.yaml:1:1: unknown key 'targte' (did you mean 'target'?)",
        "bad.yaml:4:18: isrc \"XX\"",
        "bad.yaml:5:33: fade_in.curve: unknown value 'scurve' (did you mean 's-curve'?)",
        "bad.yaml:6:11: side: sides are for the vinyl preset (target: vinyl)",
        "bad.yaml:7:11: ",
        "bad.yaml:8:11: lufs: a song's own target needs `loudness: track`",
    };
    expect_fail("bad.yaml",
                "targte: cd\nsongs:\n"
                "  - file: ok.wav\n"
                "    meta: {isrc: XX}\n"
                "    fade_in: {length: 1, curve: scurve}\n"
                "    side: A\n"
                "  - file: missing.wav\n"
                "    lufs: -12\n",
                msgs, 6);
}

/* Sides: one file per side, a FILE per side in the CUE sheet, a side starts
 * with its song (no pre-gap); and the 22-minute warning, from the declared
 * durations (`--check`) and from a render. */
static void vinyl_sides_make_one_file_per_side_and_warn_past_22_minutes(void **s)
{
    (void)s;
    char p[700], yaml[512], out[400];
    const double rate = 8000;
    float **z = lt_alloc(1, (long)rate * 60 * 11);
    lt_sine(z[0], (long)rate * 60 * 11, rate, 100, 0.1, 0);
    snprintf(p, sizeof p, "%s/eleven.wav", dir);
    write_file(p, z, 1, (long)rate * 60 * 11, rate, LATHE_SAMPLE_PCM16);
    snprintf(p, sizeof p, "%s/short.wav", dir);
    write_file(p, z, 1, (long)rate * 3, rate, LATHE_SAMPLE_PCM16);
    lt_free(z, 1);
    /* declared: side A 11:00 + 3 s + 11:00 = 22:03 */
    snprintf(yaml, sizeof yaml, "%s/vinyl-long.yaml", dir);
    lt_write_text(yaml, "target: vinyl\ngap: 3\n"
                     "songs:\n  - {file: eleven.wav, side: A}\n  - eleven.wav\n  - {file: short.wav, side: B}\n");
    lt_run_result r = lt_run("'%s' album --check '%s'", lt_lathe_exe(), yaml);
    print_message("  %s", r.out);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "side A 22:03.0, side B 0:03.0"));
    assert_non_null(strstr(r.out, "warning: side A is 22:03.00 long: past about 22 minutes"));
    assert_null(strstr(r.out, "side B is"));
    lt_run_free(&r);
    /* 21:57 is not a warning */
    lt_write_text(yaml, "target: vinyl\ngap: 3\n"
                     "songs:\n  - {file: eleven.wav, side: A}\n  - {file: eleven.wav, crossfade: 9}\n"
                     "  - {file: short.wav, side: B}\n");
    r = lt_run("'%s' album --check '%s'", lt_lathe_exe(), yaml);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "side A 21:51.0"));
    assert_null(strstr(r.out, "warning"));
    lt_run_free(&r);

    /* rendered: short songs, two sides */
    snprintf(yaml, sizeof yaml, "%s/vinyl.yaml", dir);
    lt_write_text(yaml, "target: vinyl\nmaster: off\nbits: 16\ngap: 1\n"
                     "songs:\n  - {file: short.wav, side: A, meta: {title: A1}}\n"
                     "  - {file: short.wav, meta: {title: A2}}\n"
                     "  - {file: short.wav, side: B, meta: {title: B1}}\n");
    snprintf(out, sizeof out, "%s/vinyl-out", dir);
    r = album(yaml, out);
    if (r.status != 0) fail_msg("exit %d: %s", r.status, r.err);
    snprintf(p, sizeof p, "%s/album - side A.wav", out);
    lathe_audio_info ia, ib;
    lathe_error err;
    lathe_reader *ra = lathe_reader_open(p, &ia, &err);
    assert_non_null(ra);
    lathe_reader_close(ra);
    snprintf(p, sizeof p, "%s/album - side B.wav", out);
    lathe_reader *rb = lathe_reader_open(p, &ib, &err);
    assert_non_null(rb);
    lathe_reader_close(rb);
    assert_int_equal(ia.frames, (long)rate * 7); /* two songs and one 1 s gap */
    assert_int_equal(ib.frames, (long)rate * 3); /* a side starts with its song */
    assert_null(strstr(r.out, "long-side"));
    snprintf(p, sizeof p, "%s/album.cue", out);
    char *cue = slurp(p);
    assert_non_null(strstr(cue, "FILE \"album - side A.wav\" WAVE"));
    const char *fb = strstr(cue, "FILE \"album - side B.wav\" WAVE");
    assert_non_null(fb);
    assert_true(strstr(cue, "TRACK 03") > fb);
    assert_int_equal(cue_index(cue, 3, 1), 0);
    assert_int_equal(cue_index(cue, 2, 0), 3 * 75);
    assert_int_equal(cue_index(cue, 2, 1), 4 * 75);
    free(cue);
    lt_run_free(&r);
}

static void album_refuses_existing_outputs_without_force(void **s)
{
    (void)s;
    char p[700], yaml[512], out[400];
    float **b = lt_alloc(2, 48000);
    lt_sine(b[0], 48000, 48000, 440, 0.1, 0);
    snprintf(p, sizeof p, "%s/one.wav", dir);
    write_file(p, b, 2, 48000, 48000, LATHE_SAMPLE_FLOAT32);
    lt_free(b, 2);
    snprintf(yaml, sizeof yaml, "%s/one.yaml", dir);
    lt_write_text(yaml, "master: off\nformat: wav\nsongs: [one.wav]\n");
    snprintf(out, sizeof out, "%s/one-out", dir);
    lt_run_result r = album(yaml, out);
    assert_int_equal(r.status, 0);
    lt_run_free(&r);
    r = album(yaml, out);
    print_message("  again: exit %d: %s", r.status, r.err);
    assert_int_equal(r.status, 73);
    lt_run_free(&r);
    r = lt_run("LATHE_NO_PROGRESS=1 '%s' album '%s' -o '%s' --force --quiet", lt_lathe_exe(), yaml, out);
    assert_int_equal(r.status, 0);
    lt_run_free(&r);
    /* nothing but the outputs is left in OUTDIR */
    r = lt_run("ls -A '%s' | tr '\\n' '|'", out);
    print_message("  %s\n", r.out);
    assert_string_equal(r.out, "01 one.wav|album.cue|album.json|album.wav|");
    lt_run_free(&r);
}

/* Album mode measures every song's loudness first, several songs at once:
 * when two songs are bad, the error is the first bad song's in album order,
 * whichever thread finds its problem first (song 3 is short with NaN at
 * once; song 2 is long with NaN near its end), exit 65, nothing written. */
static void album_a_bad_song_is_named_the_same_at_every_thread_count(void **s)
{
    (void)s;
    const double rate = 48000;
    const long len[3] = {48000, 20 * 48000, 4800};
    const long nan_at[3] = {-1, 20 * 48000 - 100, 10};
    for (int k = 0; k < 3; k++) {
        float **b = lt_alloc(2, len[k]);
        lt_sine(b[0], len[k], rate, 440, 0.1, 0);
        lt_sine(b[1], len[k], rate, 550, 0.1, 0);
        if (nan_at[k] >= 0) b[1][nan_at[k]] = NAN;
        char p[700];
        snprintf(p, sizeof p, "%s/bad%d.wav", dir, k + 1);
        write_file(p, b, 2, len[k], rate, LATHE_SAMPLE_FLOAT32);
        lt_free(b, 2);
    }
    char yaml[512], out[400], want[1200];
    snprintf(yaml, sizeof yaml, "%s/bad.yaml", dir);
    lt_write_text(yaml, "format: wav\nsongs: [bad1.wav, bad2.wav, bad3.wav]\n");
    snprintf(out, sizeof out, "%s/bad-out", dir);
    snprintf(want, sizeof want, "lathe: %s/bad2.wav: sample is NaN at 0:19.998 (frame 959900, channel 2)\n", dir);
    for (int threads = 1; threads <= 3; threads++) {
        lt_run_result r = lt_run("LATHE_NO_PROGRESS=1 '%s' album '%s' -o '%s' --quiet --threads %d", lt_lathe_exe(),
                                 yaml, out, threads);
        print_message("  --threads %d: exit %d: %s", threads, r.status, r.err);
        assert_int_equal(r.status, 65);
        assert_string_equal(r.err, want);
        lt_run_free(&r);
        assert_false(exists(out));
    }
}

/* --report: an overview (every song's loudness against the target, the
 * album file) and one part per song, before against after. */
static void album_report_has_an_overview_and_every_song(void **s)
{
    (void)s;
    const double levels[2] = {0.05, 0.2};
    make_songs(levels, 2, 4, "rep");
    char yaml[512], out[400], html[512];
    snprintf(yaml, sizeof yaml, "%s/rep.yaml", dir);
    snprintf(out, sizeof out, "%s/rep-out", dir);
    snprintf(html, sizeof html, "%s/album.html", dir);
    lt_write_text(yaml, "target: spotify\nformat: wav\nsongs:\n  - {file: rep1.wav, meta: {title: First}}\n"
                     "  - {file: rep2.wav, meta: {title: Second}}\n");
    lt_run_result r = lt_run("LATHE_NO_PROGRESS=1 '%s' album '%s' -o '%s' --quiet --report '%s'", lt_lathe_exe(),
                             yaml, out, html);
    if (r.status) fail_msg("exit %d: %s", r.status, r.err);
    lt_run_free(&r);
    char *h = slurp(html);
    assert_non_null(h);
    const char *ov = strstr(h, "<section id=\"album-loudness\"");
    assert_non_null(ov);
    assert_non_null(strstr(ov, "<svg"));
    /* one part per song, before against after; the album file's own part */
    if (!strstr(h, "1. First") || !strstr(h, "2. Second")) {
        for (const char *p = h; (p = strstr(p, "<h2")); p++) print_message("  %.60s\n", p);
        fail_msg("no part per song");
    }
    int parts = 0;
    for (const char *p = h; (p = strstr(p, "<section id=\"loudness")); p++) parts++;
    if (parts != 3) fail_msg("%d loudness sections, want 3 (album file + 2 songs)", parts);
    assert_non_null(strstr(h, ">before<"));
    free(h);
}

/* One reference for the whole album: its loudness becomes the album's
 * target (the loudest song lands on it) and every song gets a match stage;
 * a bad tone target is a diagnostic with its place. */
static void album_reference_sets_the_target_for_every_song(void **s)
{
    (void)s;
    const double levels[3] = {0.05, 0.12, 0.3};
    make_songs(levels, 3, 4, "refal");
    char yaml[512], out[400], ref[512];
    snprintf(ref, sizeof ref, "%s/refal3.wav", dir); /* the loudest file doubles as the reference */
    measured mr = measure(ref, 0);
    snprintf(yaml, sizeof yaml, "%s/refal.yaml", dir);
    snprintf(out, sizeof out, "%s/refal-out", dir);
    lt_write_text(yaml, "format: wav\nreference: refal3.wav\namount: 50 %\nsongs:\n"
                     "  - {file: refal1.wav, meta: {title: A}}\n  - {file: refal2.wav, meta: {title: B}}\n");
    lt_run_result r = album(yaml, out);
    if (r.status) fail_msg("exit %d: %s", r.status, r.err);
    char p[700];
    snprintf(p, sizeof p, "%s/02 B.wav", out);
    measured m = measure(p, 0);
    print_message("  reference %.2f LUFS; the louder song %.2f LUFS\n", mr.lufs, m.lufs);
    assert_true(fabs(m.lufs - mr.lufs) <= 0.1);
    lt_run_free(&r);
    lt_write_text(yaml, "reference: refal3.wav\ntone_target: dull\nsongs:\n  - {file: refal1.wav}\n");
    r = lt_run("'%s' album '%s' -o '%s/never'", lt_lathe_exe(), yaml, dir);
    assert_int_equal(r.status, 65);
    char want[800];
    snprintf(want, sizeof want,
             "%s:2:14: tone_target: unknown target 'dull' (neutral, warm, bright)\n", yaml);
    assert_string_equal(r.err, want);
    lt_run_free(&r);
}

int main(void)
{
    if (!lt_lathe_exe()) {
        print_message("LATHE_EXE not set\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(album_gaps_fades_crossfades_are_sample_exact),
        cmocka_unit_test(album_mode_keeps_relative_loudness_within_0_1_lu),
        cmocka_unit_test(track_mode_puts_every_song_on_target),
        cmocka_unit_test(cd_crossfade_of_limited_songs_stays_under_the_ceiling),
        cmocka_unit_test(cd_red_book_checks_fire_with_exact_messages),
        cmocka_unit_test(album_yaml_problems_come_all_at_once),
        cmocka_unit_test(vinyl_sides_make_one_file_per_side_and_warn_past_22_minutes),
        cmocka_unit_test(album_refuses_existing_outputs_without_force),
        cmocka_unit_test(album_a_bad_song_is_named_the_same_at_every_thread_count),
        cmocka_unit_test(album_report_has_an_overview_and_every_song),
        cmocka_unit_test(album_reference_sets_the_target_for_every_song),
    };
    return cmocka_run_group_tests(tests, lt_dir_setup, lt_dir_teardown);
}
