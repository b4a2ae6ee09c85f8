/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The libFLAC reader (src/io/flac.c, behind lathe_reader for native FLAC):
 * the same float bits as libsndfile's int path (sample * 2^(32-b) * 2^-31)
 * for 8, 16 and 24 bits and 1 to 8 channels, read in odd chunk sizes; seeks;
 * and exact errors for truncated and corrupt files. */
#include "lathe_test.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "io/reader_z.h"
#include "lathe/io.h"

static char *const dir = lt_dir;

static const char *tmp(const char *name)
{
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

/* n frames of random full-range `bits`-bit integers (extremes included),
 * with a stretch of digital silence and a quiet part, as libsndfile FLAC. */
static void write_flac(const char *path, int bits, int ch, int rate, long n, uint64_t seed)
{
    SF_INFO si = {0};
    si.samplerate = rate;
    si.channels = ch;
    si.format = SF_FORMAT_FLAC |
                (bits == 8 ? SF_FORMAT_PCM_S8 : bits == 16 ? SF_FORMAT_PCM_16 : SF_FORMAT_PCM_24);
    SNDFILE *sf = sf_open(path, SFM_WRITE, &si);
    if (!sf) fail_msg("%s: %s", path, sf_strerror(NULL));
    int *x = malloc(sizeof(int) * (size_t)(n + 2) * (size_t)ch);
    for (long i = 0; i < n * ch; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        int32_t v = (int32_t)(seed >> 32);         /* full 32-bit range */
        if (i / ch > n / 3 && i / ch < n / 2) v = 0; /* silence: constant subframes */
        if (i / ch >= n / 2 && i / ch < 2 * n / 3) v >>= 12; /* quiet */
        x[i] = (int)(v & ~((1u << (32 - bits)) - 1)); /* exactly `bits` significant bits */
    }
    if (n >= 2) {
        x[0] = INT32_MIN;
        x[ch] = INT32_MAX & ~((1 << (32 - bits)) - 1);
    }
    assert_int_equal(sf_writef_int(sf, x, n), n);
    sf_close(sf);
    free(x);
}

/* The reference: libsndfile's int path, scaled by 2^-31, planar. */
static float **read_libsndfile(const char *path, int *ch, long *n)
{
    SF_INFO si = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &si);
    if (!sf) fail_msg("%s: %s", path, sf_strerror(NULL));
    int *x = malloc(sizeof(int) * (size_t)si.frames * (size_t)si.channels);
    assert_int_equal(sf_readf_int(sf, x, si.frames), si.frames);
    sf_close(sf);
    float **b = lt_alloc(si.channels, si.frames);
    for (long i = 0; i < si.frames; i++)
        for (int c = 0; c < si.channels; c++)
            b[c][i] = (float)x[i * si.channels + c] * (1.0f / 2147483648.0f);
    free(x);
    *ch = si.channels, *n = (long)si.frames;
    return b;
}

/* Reads the whole file with lathe_reader in chunks of `chunk` frames. */
static float **read_lathe(const char *path, long chunk, lathe_audio_info *info, long *n)
{
    lathe_error err = {0};
    lathe_reader *r = lathe_reader_open(path, info, &err);
    if (!r) fail_msg("%s", err.msg);
    float **b = lt_alloc(info->channels, info->frames + chunk);
    long got = 0, k;
    for (;;) {
        float *o[LATHE_MAX_CHANNELS];
        for (int c = 0; c < info->channels; c++) o[c] = b[c] + got;
        k = lathe_reader_read(r, o, chunk, &err);
        if (k <= 0) break;
        got += k;
    }
    if (k < 0) fail_msg("%s", err.msg);
    lathe_reader_close(r);
    *n = got;
    return b;
}

static void flac_reads_the_same_bits_as_libsndfile(void **s)
{
    (void)s;
    const struct {
        int bits, ch, rate;
        long chunk;
    } cases[] = {{16, 2, 48000, 4096}, {24, 2, 44100, 1000}, {24, 1, 96000, 4097},
                 {8, 2, 22050, 333},   {16, 6, 48000, 65536}, {24, 8, 48000, 1}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const long frames = cases[k].chunk == 1 ? 20000 : 100003;
        const char *p = tmp("t.flac");
        write_flac(p, cases[k].bits, cases[k].ch, cases[k].rate, frames, 77 + k);
        int ch;
        long n, m;
        float **want = read_libsndfile(p, &ch, &n);
        lathe_audio_info info;
        float **got = read_lathe(p, cases[k].chunk, &info, &m);
        assert_int_equal(n, frames);
        assert_int_equal(m, frames);
        assert_int_equal(info.frames, frames);
        assert_int_equal(info.channels, cases[k].ch);
        assert_int_equal((int)info.rate, cases[k].rate);
        assert_int_equal(info.bits, cases[k].bits);
        assert_string_equal(info.container, "FLAC");
        char enc[24];
        snprintf(enc, sizeof enc, "PCM %d-bit", cases[k].bits);
        assert_string_equal(info.encoding, enc);
        for (int c = 0; c < ch; c++)
            if (memcmp(want[c], got[c], sizeof(float) * (size_t)n) != 0)
                fail_msg("%d-bit, %d ch, chunk %ld: channel %d differs from libsndfile",
                         cases[k].bits, cases[k].ch, cases[k].chunk, c);
        /* the extremes: -1 exactly and the largest positive value */
        assert_true(got[0][0] == -1.0f);
        assert_true(got[0][1] == 1.0f - 1.0f / (float)(1L << (cases[k].bits - 1)));
        lt_free(want, ch);
        lt_free(got, ch);
    }
}

/* A material stem (24-bit FLAC from another encoder), when the material is there. */
static void flac_material_stem_matches_libsndfile(void **s)
{
    (void)s;
    const char *m = lt_material_dir();
    char p[1024];
    snprintf(p, sizeof p, "%s/francium/kick.flac", m ? m : "");
    if (!m || access(p, R_OK) != 0) skip();
    int ch;
    long n, got;
    float **want = read_libsndfile(p, &ch, &n);
    lathe_audio_info info;
    float **b = read_lathe(p, 8192, &info, &got);
    assert_int_equal(got, n);
    for (int c = 0; c < ch; c++) assert_memory_equal(want[c], b[c], sizeof(float) * (size_t)n);
    lt_free(want, ch);
    lt_free(b, ch);
}

static void flac_seek_reads_the_frames_from_the_start(void **s)
{
    (void)s;
    const char *p = tmp("seek.flac");
    const long frames = 60000;
    write_flac(p, 24, 2, 48000, frames, 5);
    int ch;
    long n;
    float **want = read_libsndfile(p, &ch, &n);
    lathe_error err = {0};
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(p, &info, &err);
    assert_non_null(r);
    float **b = lt_alloc(2, 5000);
    const long at[] = {12345, 0, 59999, 4096, 30000};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        assert_int_equal(lathe_reader_seek(r, at[k], &err), LATHE_OK);
        long want_n = frames - at[k] < 5000 ? frames - at[k] : 5000;
        assert_int_equal(lathe_reader_read(r, b, 5000, &err), want_n);
        for (int c = 0; c < 2; c++)
            assert_memory_equal(b[c], want[c] + at[k], sizeof(float) * (size_t)want_n);
    }
    /* the end: nothing more */
    assert_int_equal(lathe_reader_seek(r, frames, &err), LATHE_OK);
    assert_int_equal(lathe_reader_read(r, b, 5000, &err), 0);
    lathe_reader_close(r);
    lt_free(b, 2);
    lt_free(want, 2);
}

/* Reads to the end; returns the status and copies the message. */
static long read_to_error(const char *p, char *msg, size_t len)
{
    lathe_error err = {0};
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(p, &info, &err);
    if (!r) fail_msg("%s", err.msg);
    float **b = lt_alloc(info.channels, 4096);
    long k;
    while ((k = lathe_reader_read(r, b, 4096, &err)) > 0) {}
    snprintf(msg, len, "%s", k < 0 ? err.msg : "");
    lathe_reader_close(r);
    lt_free(b, info.channels);
    return k;
}

static void flac_truncated_file_is_an_error(void **s)
{
    (void)s;
    const char *p = tmp("cut.flac");
    write_flac(p, 16, 2, 48000, 96000, 9);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    /* inside a frame: the data breaks off */
    assert_int_equal(truncate(p, st.st_size / 2 + 17), 0);
    char msg[1024], want[1024];
    assert_int_equal(read_to_error(p, msg, sizeof msg), LATHE_E_FORMAT);
    snprintf(want, sizeof want,
             "%s: truncated file (the header promises 96000 frames, the data breaks off after ",
             p);
    assert_memory_equal(msg, want, strlen(want));
    long after = atol(msg + strlen(want));
    assert_true(after > 0 && after < 96000 && after % 4096 == 0);
}

static void flac_corrupt_frame_is_an_error(void **s)
{
    (void)s;
    const char *p = tmp("bad.flac");
    write_flac(p, 24, 2, 48000, 96000, 11);
    /* scramble 200 bytes in the middle; the frames after them are intact */
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size / 2, SEEK_SET);
    unsigned char junk[200];
    for (int i = 0; i < 200; i++) junk[i] = (unsigned char)(i * 37 + 11);
    fwrite(junk, 1, sizeof junk, f);
    fclose(f);
    char msg[1024], want[1024];
    assert_int_equal(read_to_error(p, msg, sizeof msg), LATHE_E_FORMAT);
    snprintf(want, sizeof want, "%s: read error at frame ", p);
    assert_memory_equal(msg, want, strlen(want));
    assert_non_null(strstr(msg, ": corrupt FLAC data ("));
}

/* The engine's way of reading: a buffer that keeps its zeros while the file
 * is silent (out_zero), and the silent flag: the same samples as libsndfile,
 * and "silent" only for chunks that are all zeros. */
static void flac_silent_reads_keep_zeros_and_say_so(void **s)
{
    (void)s;
    const char *p = tmp("quiet.flac");
    const long frames = 200000, chunk = 3000;
    write_flac(p, 24, 2, 48000, frames, 21); /* silence from frames/3 to frames/2 */
    int ch;
    long n;
    float **want = read_libsndfile(p, &ch, &n);
    lathe_error err = {0};
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(p, &info, &err);
    assert_non_null(r);
    float **b = lt_alloc(2, chunk);
    int zero = 0, nsilent = 0;
    for (long at = 0; at < frames;) {
        int silent = -1;
        long k = lathe_reader_read_z(r, b, chunk, zero, &silent, &err);
        assert_true(k > 0);
        for (int c = 0; c < 2; c++)
            assert_memory_equal(b[c], want[c] + at, sizeof(float) * (size_t)k);
        if (silent) {
            nsilent++;
            for (int c = 0; c < 2; c++)
                for (long i = 0; i < k; i++) assert_true(want[c][at + i] == 0.0f);
        }
        /* like the engine: the buffer is known zero only after a silent chunk */
        zero = silent == 1;
        at += k;
    }
    /* about (frames/6 - 2 FLAC blocks) / chunk silent chunks */
    assert_true(nsilent >= (frames / 6 - 2 * 4608) / chunk - 1);
    lathe_reader_close(r);
    lt_free(b, 2);
    lt_free(want, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flac_reads_the_same_bits_as_libsndfile),
        cmocka_unit_test(flac_material_stem_matches_libsndfile),
        cmocka_unit_test(flac_seek_reads_the_frames_from_the_start),
        cmocka_unit_test(flac_truncated_file_is_an_error),
        cmocka_unit_test(flac_corrupt_frame_is_an_error),
        cmocka_unit_test(flac_silent_reads_keep_zeros_and_say_so),
    };
    return cmocka_run_group_tests(tests, lt_dir_setup, lt_dir_teardown);
}
