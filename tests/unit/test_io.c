/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Audio I/O: bit-exact round trips, every channel count and rate range,
 * exact error messages, and output safety (temp file, no overwrite). */
#include "lathe_test.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "lathe/io.h"

static char dir[256];

static int setup(void **s)
{
    (void)s;
    snprintf(dir, sizeof dir, "/tmp/lathe-test-io-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **s)
{
    (void)s;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *tmp(const char *name)
{
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", dir, name);
    return path[k];
}

/* Random integer sample values of `bits`, as floats, full range incl. extremes. */
static void fill_int(float **b, int ch, long n, int bits, uint64_t seed)
{
    const double scale = ldexp(1.0, bits - 1);
    for (int c = 0; c < ch; c++) {
        lt_noise(b[c], n, 1.0, &seed);
        for (long i = 0; i < n; i++) b[c][i] = (float)(floor(b[c][i] * scale) / scale);
        b[c][0] = (float)(-1.0);
        b[c][1] = (float)((scale - 1) / scale);
    }
}

static void write_file(const char *path, lathe_file_type t, lathe_sample_type s, double rate,
                       int ch, float **b, long n)
{
    lathe_error err = {0};
    lathe_writer_spec spec = {t, s, rate, ch, 1};
    lathe_writer *w = lathe_writer_open(path, &spec, &err);
    if (!w) fail_msg("%s", err.msg);
    /* in uneven pieces, to cross block boundaries */
    for (long off = 0; off < n;) {
        long m = n - off < 3001 ? n - off : 3001;
        const float *p[8];
        for (int c = 0; c < ch; c++) p[c] = b[c] + off;
        assert_int_equal(lathe_writer_write(w, p, m, &err), LATHE_OK);
        off += m;
    }
    assert_int_equal(lathe_writer_commit(w, &err), LATHE_OK);
}

static float **read_file(const char *path, lathe_audio_info *info)
{
    lathe_error err = {0};
    lathe_reader *r = lathe_reader_open(path, info, &err);
    if (!r) fail_msg("%s", err.msg);
    float **b = lt_alloc(info->channels, info->frames + 1);
    long got = 0, k;
    while ((k = lathe_reader_read(r, (float *const[]){b[0] + got, info->channels > 1 ? b[1] + got : NULL,
                                                     info->channels > 2 ? b[2] + got : NULL,
                                                     info->channels > 3 ? b[3] + got : NULL,
                                                     info->channels > 4 ? b[4] + got : NULL,
                                                     info->channels > 5 ? b[5] + got : NULL,
                                                     info->channels > 6 ? b[6] + got : NULL,
                                                     info->channels > 7 ? b[7] + got : NULL},
                                  777, &err)) > 0)
        got += k;
    assert_true(k == 0);
    assert_int_equal(got, info->frames);
    lathe_reader_close(r);
    return b;
}

static void round_trip(lathe_file_type t, lathe_sample_type s, int bits, const char *name,
                       double rate, int ch)
{
    const long n = 20000;
    float **b = lt_alloc(ch, n);
    if (bits)
        fill_int(b, ch, n, bits, 12345);
    else {
        uint64_t seed = 99;
        for (int c = 0; c < ch; c++) lt_noise(b[c], n, 3.0, &seed); /* float keeps > 1.0 */
    }
    const char *path = tmp(name);
    write_file(path, t, s, rate, ch, b, n);
    lathe_audio_info info;
    float **r = read_file(path, &info);
    assert_int_equal(info.channels, ch);
    assert_true(info.rate == rate);
    for (int c = 0; c < ch; c++) assert_memory_equal(b[c], r[c], (size_t)n * sizeof(float));
    lt_free(b, ch);
    lt_free(r, ch);
}

static void io_wav16_round_trip_is_bit_exact(void **s)
{
    (void)s;
    round_trip(LATHE_FILE_WAV, LATHE_SAMPLE_PCM16, 16, "a16.wav", 44100, 2);
}

static void io_wav24_round_trip_is_bit_exact(void **s)
{
    (void)s;
    round_trip(LATHE_FILE_WAV, LATHE_SAMPLE_PCM24, 24, "a24.wav", 48000, 2);
}

static void io_flac16_and_flac24_round_trips_are_bit_exact(void **s)
{
    (void)s;
    round_trip(LATHE_FILE_FLAC, LATHE_SAMPLE_PCM16, 16, "a16.flac", 48000, 2);
    round_trip(LATHE_FILE_FLAC, LATHE_SAMPLE_PCM24, 24, "a24.flac", 96000, 6);
}

static void io_float_wav_round_trip_is_exact_beyond_full_scale(void **s)
{
    (void)s;
    round_trip(LATHE_FILE_WAV, LATHE_SAMPLE_FLOAT32, 0, "f32.wav", 48000, 2);
}

static void io_channels_1_to_8_and_rates_8k_to_384k(void **s)
{
    (void)s;
    round_trip(LATHE_FILE_WAV, LATHE_SAMPLE_PCM24, 24, "c1.wav", 8000, 1);
    round_trip(LATHE_FILE_WAV, LATHE_SAMPLE_PCM24, 24, "c8.wav", 384000, 8);
    round_trip(LATHE_FILE_AIFF, LATHE_SAMPLE_PCM24, 24, "c3.aiff", 22050, 3);
}

/* Formats written by libsndfile directly: 8-bit, 32-bit int, double, Vorbis. */
static void io_reads_other_encodings(void **s)
{
    (void)s;
    struct {
        int format;
        const char *name;
        double tol;
        const char *enc;
    } cases[] = {
        {SF_FORMAT_WAV | SF_FORMAT_PCM_U8, "u8.wav", 1.0 / 128, "PCM 8-bit"},
        {SF_FORMAT_WAV | SF_FORMAT_PCM_32, "i32.wav", 1e-7, "PCM 32-bit"},
        {SF_FORMAT_WAV | SF_FORMAT_DOUBLE, "f64.wav", 1e-7, "DOUBLE"},
        {SF_FORMAT_AIFF | SF_FORMAT_PCM_16, "i16.aiff", 1.0 / 32768, "PCM 16-bit"},
        {SF_FORMAT_OGG | SF_FORMAT_VORBIS, "v.ogg", 0.05, "VORBIS"},
    };
    const long n = 48000;
    float *x = malloc(n * sizeof *x);
    lt_sine(x, n, 48000, 997, 0.5, 0);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        SF_INFO si = {.samplerate = 48000, .channels = 1, .format = cases[k].format};
        SNDFILE *f = sf_open(tmp(cases[k].name), SFM_WRITE, &si);
        assert_non_null(f);
        assert_int_equal(sf_writef_float(f, x, n), n);
        sf_close(f);
        lathe_audio_info info;
        float **r = read_file(tmp(cases[k].name), &info);
        assert_string_equal(info.encoding, cases[k].enc);
        double err = 0;
        for (long i = 1000; i < n - 1000; i++) err = fmax(err, fabs(r[0][i] - x[i]));
        if (err > cases[k].tol) fail_msg("%s: max error %g", cases[k].name, err);
        lt_free(r, 1);
    }
    free(x);
}

static const char *open_error(const char *path, lathe_status want)
{
    static lathe_error err;
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(path, &info, &err);
    assert_null(r);
    assert_int_equal(err.code, want);
    return err.msg;
}

static void io_open_errors_name_the_file_and_the_reason(void **s)
{
    (void)s;
    char want[1024];
    const char *p = tmp("missing.wav");
    snprintf(want, sizeof want, "%s: no such file", p);
    assert_string_equal(open_error(p, LATHE_E_IO), want);

    snprintf(want, sizeof want, "%s: is a directory, not an audio file", dir);
    assert_string_equal(open_error(dir, LATHE_E_IO), want);

    p = tmp("empty.wav");
    fclose(fopen(p, "w"));
    snprintf(want, sizeof want, "%s: empty file", p);
    assert_string_equal(open_error(p, LATHE_E_FORMAT), want);

    p = tmp("text.wav");
    FILE *f = fopen(p, "w");
    fputs("this is not audio\n", f);
    fclose(f);
    snprintf(want, sizeof want,
             "%s: not an audio file lathe can read (libsndfile: Format not recognised.)", p);
    assert_string_equal(open_error(p, LATHE_E_FORMAT), want);
}

static void io_truncated_wav_is_an_error(void **s)
{
    (void)s;
    const long n = 48000;
    float **b = lt_alloc(2, n);
    const char *p = tmp("full.wav");
    write_file(p, LATHE_FILE_WAV, LATHE_SAMPLE_PCM16, 48000, 2, b, n);
    /* Keep the header (whatever its size) and 100000 bytes of data. */
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    off_t header = st.st_size - 192000;
    assert_int_equal(truncate(p, header + 100000), 0);
    char want[1024];
    snprintf(want, sizeof want,
             "%s: truncated file (the header promises 192000 bytes of audio, the file holds "
             "100000)",
             p);
    assert_string_equal(open_error(p, LATHE_E_FORMAT), want);
    lt_free(b, 2);
}

static void io_nan_sample_is_an_error_naming_its_time(void **s)
{
    (void)s;
    const long n = 96000;
    float **b = lt_alloc(2, n);
    b[1][72000] = NAN; /* 1.5 s at 48 kHz, channel 2 */
    const char *p = tmp("nan.wav");
    write_file(p, LATHE_FILE_WAV, LATHE_SAMPLE_FLOAT32, 48000, 2, b, n);
    lathe_error err = {0};
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(p, &info, &err);
    assert_non_null(r);
    long k, total = 0;
    while ((k = lathe_reader_read(r, b, 5000, &err)) > 0) total += k;
    assert_int_equal(k, LATHE_E_DATA);
    char want[1024];
    snprintf(want, sizeof want, "%s: sample is NaN at 0:01.500 (frame 72000, channel 2)", p);
    assert_string_equal(err.msg, want);
    lathe_reader_close(r);
    lt_free(b, 2);
}

static int count_entries(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void io_output_safety(void **s)
{
    (void)s;
    lathe_error err = {0};
    float **b = lt_alloc(1, 100);
    const char *in = tmp("in.wav");
    write_file(in, LATHE_FILE_WAV, LATHE_SAMPLE_PCM16, 48000, 1, b, 100);

    /* same path, and the same file by another name */
    char want[1024];
    assert_int_equal(lathe_output_check(in, &in, 1, 1, &err), LATHE_E_SAME);
    snprintf(want, sizeof want, "%s: output is the input file; lathe never overwrites an input",
             in);
    assert_string_equal(err.msg, want);
    char other[600];
    snprintf(other, sizeof other, "%s/./in.wav", dir);
    assert_int_equal(lathe_output_check(other, &in, 1, 1, &err), LATHE_E_SAME);

    /* existing output without --force */
    assert_int_equal(lathe_output_check(in, NULL, 0, 0, &err), LATHE_E_EXISTS);
    snprintf(want, sizeof want, "%s: exists (use --force to overwrite it)", in);
    assert_string_equal(err.msg, want);
    assert_int_equal(lathe_output_check(tmp("new.wav"), &in, 1, 0, &err), LATHE_OK);

    /* missing folder */
    lathe_writer_spec spec = {LATHE_FILE_WAV, LATHE_SAMPLE_PCM16, 48000, 1, 0};
    const char *nodir = tmp("nodir/out.wav");
    assert_null(lathe_writer_open(nodir, &spec, &err));
    snprintf(want, sizeof want, "%s: folder %s/nodir does not exist", nodir, dir);
    assert_string_equal(err.msg, want);

    /* the temp file lives beside the target until commit; abort leaves nothing */
    int before = count_entries();
    lathe_writer *w = lathe_writer_open(tmp("aborted.wav"), &spec, &err);
    assert_non_null(w);
    assert_int_equal(count_entries(), before + 1);
    struct stat st;
    assert_int_not_equal(stat(tmp("aborted.wav"), &st), 0);
    lathe_writer_abort(w);
    assert_int_equal(count_entries(), before);

    /* clipping on integer output is counted */
    w = lathe_writer_open(tmp("clip.wav"), &spec, &err);
    b[0][0] = 1.5f, b[0][1] = -2.0f, b[0][2] = 0.999f;
    assert_int_equal(lathe_writer_write(w, (const float *const *)b, 100, &err), LATHE_OK);
    assert_int_equal(lathe_writer_clipped(w), 2);
    assert_int_equal(lathe_writer_commit(w, &err), LATHE_OK);
    lt_free(b, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(io_wav16_round_trip_is_bit_exact),
        cmocka_unit_test(io_wav24_round_trip_is_bit_exact),
        cmocka_unit_test(io_flac16_and_flac24_round_trips_are_bit_exact),
        cmocka_unit_test(io_float_wav_round_trip_is_exact_beyond_full_scale),
        cmocka_unit_test(io_channels_1_to_8_and_rates_8k_to_384k),
        cmocka_unit_test(io_reads_other_encodings),
        cmocka_unit_test(io_open_errors_name_the_file_and_the_reason),
        cmocka_unit_test(io_truncated_wav_is_an_error),
        cmocka_unit_test(io_nan_sample_is_an_error_naming_its_time),
        cmocka_unit_test(io_output_safety),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
