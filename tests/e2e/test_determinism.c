/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Determinism, end to end: the same inputs give the same output bytes on
 * every run and for any thread count. Each command renders three times
 * (--threads 1, --threads 2, --threads 2 again) and every output file is
 * compared byte for byte with the first run's:
 *   - mix: a session with a bus, a reverb send, a sidechain-keyed compressor,
 *     a delay, a resampled track and automation of a fader and an EQ band;
 *     the mix and every stem (--stems);
 *   - master: plain to WAV, FLAC, MP3, Ogg Vorbis and Opus, and with --reference;
 *   - album: two songs with a crossfade into FLAC: the song files, the album
 *     file, the CUE sheet and the JSON summary.
 * Every run writes into the same folder name (renamed away afterwards), so
 * paths inside the outputs are the same too. The signals are half as long in
 * the sanitizer run (LATHE_SANITIZED).
 *
 * Every format is compared whole, Ogg Vorbis and Opus included: libsndfile
 * gives every Ogg stream a random serial number (in every page header, under
 * every page CRC), and lathe's writer replaces it with one derived from the
 * content (src/io/ogg.c), so two encodes of the same audio are the same
 * bytes. */
#include "lathe_test.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lathe/io.h"

static char *const dir = lt_dir;

static void write_wav(const char *name, float **b, int ch, long n, double rate)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    lt_write_wav(path, b, ch, n, rate, LATHE_SAMPLE_PCM24);
}

static unsigned char *slurp(const char *path, long *len)
{
    size_t n;
    unsigned char *b = (unsigned char *)lt_read_file(path, &n);
    *len = (long)n;
    return b;
}

/* Every file of folder a (recursively) equals the file of the same name in
 * b, and b holds no other files; returns the number of files compared. */
static int same_tree(const char *a, const char *b, const char *what)
{
    DIR *d = opendir(a);
    if (!d) fail_msg("%s: cannot open %s", what, a);
    int files = 0, na = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
        na++;
        char pa[1024], pb[1024];
        snprintf(pa, sizeof pa, "%s/%s", a, e->d_name);
        snprintf(pb, sizeof pb, "%s/%s", b, e->d_name);
        struct stat st;
        assert_int_equal(stat(pa, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            files += same_tree(pa, pb, what);
            continue;
        }
        long la, lb;
        unsigned char *x = slurp(pa, &la), *y = slurp(pb, &lb);
        if (la != lb) fail_msg("%s: %s is %ld bytes, %s %ld", what, pa, la, pb, lb);
        for (long i = 0; i < la; i++)
            if (x[i] != y[i]) fail_msg("%s: %s and %s differ first at byte %ld of %ld", what, pa, pb, i, la);
        free(x), free(y);
        files++;
    }
    closedir(d);
    /* nothing more in b */
    d = opendir(b);
    if (!d) fail_msg("%s: %s is missing", what, b);
    int nb = 0;
    while ((e = readdir(d)))
        if (!(e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))) nb++;
    closedir(d);
    if (na != nb) fail_msg("%s: %s holds %d entries, %s %d", what, a, na, b, nb);
    return files;
}

/* Runs `lathe ARGS --threads T` three times (T = 1, 2, 2), each writing into
 * DIR/out (created first, so the same paths go into every output), renamed to
 * DIR/NAME-K afterwards; then compares runs 2 and 3 with run 1. `args` uses
 * "@" for DIR/out. Returns the number of files each run wrote. */
static int three_runs(const char *name, const char *args)
{
    static const int threads[3] = {1, 2, 2};
    char run[3][512];
    for (int k = 0; k < 3; k++) {
        char a[4096];
        size_t o = 0;
        for (const char *p = args; *p && o + 300 < sizeof a; p++) {
            if (*p == '@') o += (size_t)snprintf(a + o, sizeof a - o, "%s/out", dir);
            else a[o++] = *p;
        }
        a[o] = '\0';
        snprintf(run[k], sizeof run[k], "%s/%s-%d", dir, name, k + 1);
        lt_run_result r = lt_run("cd '%s' && rm -rf out && mkdir out && LATHE_NO_PROGRESS=1 '%s' %s "
                                 "--threads %d --quiet && mv out '%s'",
                                 dir, lt_lathe_exe(), a, threads[k], run[k]);
        if (r.status != 0) fail_msg("%s (--threads %d): exit %d: %s", name, threads[k], r.status, r.err);
        lt_run_free(&r);
    }
    char what[600];
    snprintf(what, sizeof what, "%s, --threads 1 against 2", name);
    int n = same_tree(run[0], run[1], what);
    snprintf(what, sizeof what, "%s, two runs with --threads 2", name);
    assert_int_equal(same_tree(run[1], run[2], what), n);
    print_message("  %s: %d files, identical over 3 runs\n", name, n);
    return n;
}

/* ---- synthetic material (fixed seeds) ---- */

static const double rate = 48000;

/* Lengths in seconds, halved in the sanitizer run (LATHE_SANITIZED). */
static double len_s(double s)
{
    return getenv("LATHE_SANITIZED") ? 0.5 * s : s;
}

static void make_stems(void)
{
    const double secs = len_s(6);
    long n = (long)(rate * secs);
    uint64_t seed = 11;
    /* kick: a 60 Hz thump with a 40 ms decay twice a second (mono) */
    float **k = lt_alloc(1, n);
    for (long i = 0; i < n; i++) {
        double t = fmod(i / rate, 0.5);
        k[0][i] = (float)(0.8 * exp(-t / 0.04) * sin(2 * M_PI * (60 + 80 * exp(-t / 0.01)) * t));
    }
    write_wav("kick.wav", k, 1, n, rate);
    lt_free(k, 1);
    /* bass: 55 Hz and its octave at 44.1 kHz (the engine resamples it) */
    long nb = (long)(44100 * secs);
    float **b = lt_alloc(1, nb);
    for (long i = 0; i < nb; i++)
        b[0][i] = (float)(0.4 * sin(2 * M_PI * 55 * i / 44100.0) + 0.1 * sin(2 * M_PI * 110 * i / 44100.0));
    write_wav("bass.wav", b, 1, nb, 44100);
    lt_free(b, 1);
    /* pad: stereo low-passed noise with a slow swell */
    float **p = lt_alloc(2, n);
    lt_noise(p[0], n, 0.5, &seed);
    lt_noise(p[1], n, 0.5, &seed);
    double z0 = 0, z1 = 0;
    for (long i = 0; i < n; i++) {
        double env = 0.5 + 0.5 * sin(2 * M_PI * 0.25 * i / rate);
        z0 = 0.95 * z0 + 0.05 * p[0][i], z1 = 0.95 * z1 + 0.05 * p[1][i];
        p[0][i] = (float)(env * z0 * 4), p[1][i] = (float)(env * z1 * 4);
    }
    write_wav("pad.wav", p, 2, n, rate);
    lt_free(p, 2);
    /* vox: a vibrato tone in syllables, with a little breath noise (mono) */
    float **v = lt_alloc(1, n);
    lt_noise(v[0], n, 0.02, &seed);
    double ph = 0;
    for (long i = 0; i < n; i++) {
        double t = i / rate, f = 330 * (1 + 0.01 * sin(2 * M_PI * 5 * t));
        ph += 2 * M_PI * f / rate;
        double syl = fmod(t, 0.375) < 0.3 ? 1 : 0;
        v[0][i] += (float)(0.3 * syl * sin(ph));
    }
    write_wav("vox.wav", v, 1, n, rate);
    lt_free(v, 1);
}

static const char *session =
    "lathe: 1\n"
    "tempo: 120\n"
    "tracks:\n"
    "  - name: kick\n"
    "    file: kick.wav\n"
    "    chain: [ { eq: { bands: [ { type: highpass, freq: 30 Hz } ] } } ]\n"
    "    out: drums\n"
    "  - name: bass\n"
    "    file: bass.wav\n"
    "    chain: [ { compressor: { threshold: -30 dB, ratio: 4, key: kick } } ]\n"
    "  - name: pad\n"
    "    file: pad.wav\n"
    "    pan: -20 %\n"
    "    sends: { plate: -10 dB }\n"
    "  - name: vox\n"
    "    file: vox.wav\n"
    "    chain: [ { eq: { bands: [ { type: bell, freq: 2 kHz, gain: 0 dB, q: 1 } ] } },\n"
    "             { delay: { time: 375 ms, feedback: 30 %, mix: 20 % } } ]\n"
    "    sends: { plate: -14 dB }\n"
    "buses:\n"
    "  - { name: drums, chain: [ { compressor: { ratio: 2, threshold: -18 dB } } ] }\n"
    "  - { name: plate, chain: [ { reverb: { decay: 1.5 s, predelay: 20 ms, mix: 100 % } } ] }\n"
    "master:\n"
    "  chain: [ { limiter: { ceiling: -1 dB } } ]\n"
    "automation:\n"
    "  - { target: pad.gain, points: [ [0:00, -inf dB], [0:02, 0 dB] ] }\n"
    "  - { target: vox.eq.band1.gain, points: [ [0:01, 0 dB], [0:04, 6 dB, smooth] ] }\n";

/* The song-like signal of the album tests: filtered noise, a bass line and a
 * 4 Hz level swing, at `level`. */
static void make_song(const char *name, double level, double secs, uint64_t seed)
{
    long n = (long)(rate * secs);
    float **b = lt_songish(n, rate, level, seed);
    write_wav(name, b, 2, n, rate);
    lt_free(b, 2);
}

/* ---- the tests ---- */

static void mix_outputs_are_identical_over_runs_and_thread_counts(void **st)
{
    (void)st;
    make_stems();
    char ses[512];
    snprintf(ses, sizeof ses, "%s/det.yaml", dir);
    lt_write_text(ses, session);
    /* the mix and one stem per bus (drums, plate) */
    int n = three_runs("mix", "mix det.yaml -o @/mix.wav --stems @");
    assert_true(n >= 3);
}

static void master_outputs_are_identical_over_runs_and_thread_counts(void **st)
{
    (void)st;
    make_song("mixdown.wav", 0.25, len_s(8), 5);
    make_song("reference.wav", 0.6, len_s(8), 6);
    static const char *const outs[] = {"wav", "flac", "mp3", "ogg", "opus"};
    for (int i = 0; i < 5; i++) {
        char name[32], args[256];
        snprintf(name, sizeof name, "master-%s", outs[i]);
        snprintf(args, sizeof args, "master mixdown.wav -o @/master.%s", outs[i]);
        assert_int_equal(three_runs(name, args), 1);
    }
    assert_int_equal(three_runs("master-reference",
                                "master mixdown.wav -o @/master.wav --reference reference.wav"),
                     1);
}

static void album_outputs_are_identical_over_runs_and_thread_counts(void **st)
{
    (void)st;
    make_song("song1.wav", 0.3, len_s(7), 21);
    make_song("song2.wav", 0.15, len_s(6), 22);
    char yaml[512];
    snprintf(yaml, sizeof yaml, "%s/album.yaml", dir);
    lt_write_text(yaml, "format: flac\n"
                     "bits: 24\n"
                     "meta: {album: Determinism, artist: Tester}\n"
                     "songs:\n"
                     "  - file: song1.wav\n"
                     "    meta: {title: One}\n"
                     "    fade_out: 1\n"
                     "  - file: song2.wav\n"
                     "    meta: {title: Two}\n"
                     "    crossfade: {length: 1.5, curve: equal-power}\n");
    /* 01 One.flac, 02 Two.flac, album.flac, album.cue, album.json */
    assert_int_equal(three_runs("album", "album album.yaml -o @/release"), 5);
}

int main(void)
{
    if (!lt_lathe_exe()) {
        print_message("LATHE_EXE not set\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mix_outputs_are_identical_over_runs_and_thread_counts),
        cmocka_unit_test(master_outputs_are_identical_over_runs_and_thread_counts),
        cmocka_unit_test(album_outputs_are_identical_over_runs_and_thread_counts),
    };
    return cmocka_run_group_tests(tests, lt_dir_setup, lt_dir_teardown);
}
