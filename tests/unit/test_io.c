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

/* ---- delivery formats (issue 6) ---- */

static void io_file_types_by_extension_name_and_lossiness(void **s)
{
    (void)s;
    static const struct {
        const char *path;
        lathe_file_type t;
    } ext[] = {{"a.wav", LATHE_FILE_WAV},  {"a.RF64", LATHE_FILE_WAV},   {"a.flac", LATHE_FILE_FLAC},
               {"a.aif", LATHE_FILE_AIFF}, {"a.AIFF", LATHE_FILE_AIFF},  {"a.mp3", LATHE_FILE_MP3},
               {"a.Ogg", LATHE_FILE_OGG},  {"a.oga", LATHE_FILE_OGG},    {"a.opus", LATHE_FILE_OPUS},
               {"a.wma", LATHE_FILE_AUTO}, {"d.mp3/a", LATHE_FILE_AUTO}, {"mp3", LATHE_FILE_AUTO}};
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (lathe_file_type_from_path(ext[i].path) != ext[i].t) fail_msg("%s", ext[i].path);
    const char *names[] = {"wav", "flac", "aiff", "mp3", "ogg", "opus"};
    const lathe_file_type types[] = {LATHE_FILE_WAV, LATHE_FILE_FLAC, LATHE_FILE_AIFF,
                                     LATHE_FILE_MP3, LATHE_FILE_OGG,  LATHE_FILE_OPUS};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(lathe_file_type_from_name(names[i]), types[i]);
        assert_string_equal(lathe_file_type_name(types[i]), names[i]);
        /* the extension maps back to the type */
        char p[32];
        snprintf(p, sizeof p, "x%s", lathe_file_type_ext(types[i]));
        assert_int_equal(lathe_file_type_from_path(p), types[i]);
        assert_int_equal(lathe_file_type_lossy(types[i]), i >= 3);
    }
    assert_int_equal(lathe_file_type_from_name("VORBIS"), LATHE_FILE_OGG);
    assert_int_equal(lathe_file_type_from_name("wma"), LATHE_FILE_AUTO);
    assert_int_equal(lathe_file_type_from_name(NULL), LATHE_FILE_AUTO);
}

static void probe(const char *file, const char *entry, char *buf, size_t len)
{
    lt_run_result r = lt_run("ffprobe -v error -select_streams a:0 -show_entries %s "
                             "-of default=nw=1:nk=1 '%s'", entry, file);
    if (r.status) fail_msg("ffprobe %s: %s", file, r.err);
    snprintf(buf, len, "%s", r.out);
    buf[strcspn(buf, "\n")] = '\0';
    lt_run_free(&r);
}

/* A 1 kHz sine at -6 dBFS (left) and 0.25 (right), encoded with each
 * codec setting; ffprobe names codec, rate and (CBR) bitrate; ffmpeg's
 * decode holds the tone at its amplitude within 0.1 dB and the duration
 * within one MP3 frame (Vorbis and Opus exactly). */
static void io_lossy_writers_encode_what_ffmpeg_decodes(void **s)
{
    (void)s;
    if (!lt_have("ffmpeg") || !lt_have("ffprobe")) skip();
    static const struct {
        const char *name;
        lathe_file_type t;
        lathe_codec_options co;
        double rate;
        const char *codec;
        long bitrate;
        double tol_db; /* tone level; LAME at 128 kbps measured -0.45 dB */
    } cases[] = {
        {"t.mp3", LATHE_FILE_MP3, {0, 0, 0, 0}, 44100, "mp3", 320000, 0.1},
        {"t128.mp3", LATHE_FILE_MP3, {0, 0, 128, 0}, 48000, "mp3", 128000, 0.6},
        {"tv0.mp3", LATHE_FILE_MP3, {1, 0, 0, 0}, 44100, "mp3", 0, 0.1},
        {"t.ogg", LATHE_FILE_OGG, {0, 0, 0, 0}, 44100, "vorbis", 0, 0.1},
        {"t3.ogg", LATHE_FILE_OGG, {0, 0, 0, 0.3}, 96000, "vorbis", 0, 0.1},
        {"t.opus", LATHE_FILE_OPUS, {0, 0, 0, 0}, 48000, "opus", 0, 0.1},
        {"t64.opus", LATHE_FILE_OPUS, {0, 0, 64, 0}, 24000, "opus", 0, 0.1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const double rate = cases[k].rate;
        const long n = (long)rate;
        float **b = lt_alloc(2, n);
        lt_sine(b[0], n, rate, 1000, 0.5, 0);
        lt_sine(b[1], n, rate, 1000, 0.25, 0);
        b[1][100] = 1.5f; /* one over full scale: counted, the decoder will clip it */
        lathe_error err = {0};
        lathe_writer_spec spec = {cases[k].t, LATHE_SAMPLE_PCM16, rate, 2, 1};
        const char *p = tmp(cases[k].name);
        lathe_writer *w = lathe_writer_open_codec(p, &spec, &cases[k].co, &err);
        if (!w) fail_msg("%s: %s", cases[k].name, err.msg);
        assert_int_equal(lathe_writer_write(w, (const float *const *)b, n, &err), LATHE_OK);
        assert_int_equal(lathe_writer_clipped(w), 1);
        assert_int_equal(lathe_writer_commit(w, &err), LATHE_OK);
        lt_free(b, 2);
        char v[64];
        probe(p, "stream=codec_name", v, sizeof v);
        assert_string_equal(v, cases[k].codec);
        probe(p, "stream=sample_rate", v, sizeof v);
        /* Opus streams say 48 kHz whatever the input rate: the header's
         * input rate is what libsndfile was given */
        if (cases[k].t != LATHE_FILE_OPUS) assert_true(atof(v) == rate);
        if (cases[k].bitrate) {
            probe(p, "stream=bit_rate", v, sizeof v);
            assert_int_equal(atol(v), cases[k].bitrate);
        }
        /* ffmpeg decodes at the file's rate (Opus: 48 kHz) */
        const double drate = cases[k].t == LATHE_FILE_OPUS ? 48000 : rate;
        const char *raw = tmp("t.f32");
        lt_run_result r = lt_run("ffmpeg -v error -y -i '%s' -f f32le -c:a pcm_f32le '%s'", p, raw);
        if (r.status) fail_msg("%s", r.err);
        lt_run_free(&r);
        FILE *f = fopen(raw, "rb");
        fseek(f, 0, SEEK_END);
        long m = ftell(f) / 8;
        fseek(f, 0, SEEK_SET);
        float *il = malloc((size_t)m * 8);
        assert_int_equal((long)fread(il, 8, (size_t)m, f), m);
        fclose(f);
        float *l = malloc(sizeof(float) * (size_t)m), *rr = malloc(sizeof(float) * (size_t)m);
        for (long i = 0; i < m; i++) l[i] = il[2 * i], rr[i] = il[2 * i + 1];
        long a = m / 4, len = m / 2;
        double al = lt_tone_amp(l + a, len, drate, 1000, NULL), ar = lt_tone_amp(rr + a, len, drate, 1000, NULL);
        double dd = (double)m / drate - 1.0;
        print_message("  %-9s %-6s %6.0f Hz: %ld frames (%+.4f s), tone %+.3f dB / %+.3f dB\n", cases[k].name,
                      cases[k].codec, drate, m, dd, lt_db(al / 0.5), lt_db(ar / 0.25));
        if (fabs(lt_db(al / 0.5)) > cases[k].tol_db || fabs(lt_db(ar / 0.25)) > cases[k].tol_db)
            fail_msg("%s: tone level off", cases[k].name);
        /* MP3: LAME's gapless header, within a frame; Opus exact (pre-skip
         * and end trimming); Vorbis: libsndfile 1.2's encoder may end the
         * stream up to one short block early (measured: 128 frames of a
         * 1 s tone; 0 in test_cli_delivery's 8 s) */
        double tol = cases[k].t == LATHE_FILE_MP3 ? 0.03 : cases[k].t == LATHE_FILE_OGG ? 256 / rate : 0.001;
        if (fabs(dd) > tol)
            fail_msg("%s: duration off by %+.4f s", cases[k].name, dd);
        free(il), free(l), free(rr);
    }
}

static void io_lossy_writers_refuse_what_the_codec_cannot_take(void **s)
{
    (void)s;
    lathe_error err = {0};
    char want[1024];
    lathe_writer_spec spec = {LATHE_FILE_OPUS, LATHE_SAMPLE_AUTO, 44100, 2, 1};
    const char *p = tmp("x.opus");
    assert_null(lathe_writer_open(p, &spec, &err));
    snprintf(want, sizeof want, "%s: Opus runs at 8, 12, 16, 24 or 48 kHz, not 44100 Hz (resample to 48 kHz)", p);
    assert_string_equal(err.msg, want);
    spec = (lathe_writer_spec){LATHE_FILE_MP3, LATHE_SAMPLE_AUTO, 48000, 6, 1};
    p = tmp("x.mp3");
    assert_null(lathe_writer_open(p, &spec, &err));
    snprintf(want, sizeof want, "%s: MP3 holds 1 or 2 channels, not 6", p);
    assert_string_equal(err.msg, want);
    spec.channels = 2;
    lathe_codec_options co = {0, 0, 400, 0};
    assert_null(lathe_writer_open_codec(p, &spec, &co, &err));
    snprintf(want, sizeof want, "%s: MP3 bitrate is 32 to 320 kbps, not 400", p);
    assert_string_equal(err.msg, want);
    co = (lathe_codec_options){1, 12, 0, 0};
    assert_null(lathe_writer_open_codec(p, &spec, &co, &err));
    snprintf(want, sizeof want, "%s: MP3 VBR quality is V0 to V9, not V12", p);
    assert_string_equal(err.msg, want);
    co = (lathe_codec_options){0, 0, 0, 1.5};
    spec.type = LATHE_FILE_OGG;
    p = tmp("x.ogg");
    assert_null(lathe_writer_open_codec(p, &spec, &co, &err));
    snprintf(want, sizeof want, "%s: Vorbis quality is 0 to 1, not 1.5", p);
    assert_string_equal(err.msg, want);
    /* nothing left behind */
    assert_int_equal(access(tmp("x.opus"), F_OK), -1);
    assert_int_equal(access(tmp("x.mp3"), F_OK), -1);
    assert_int_equal(access(tmp("x.ogg"), F_OK), -1);
}

/* lathe_writer_commit_tagged: the tags are in the file when it appears
 * under its name (metaflac reads them); a tagging failure leaves nothing. */
static void io_commit_tagged_tags_before_the_rename(void **s)
{
    (void)s;
    lathe_error err = {0};
    float **b = lt_alloc(2, 4800);
    lt_sine(b[0], 4800, 48000, 440, 0.5, 0);
    lathe_meta m = {0};
    assert_int_equal(lathe_meta_parse_arg(&m, "title=Tagged \xc3\xa9", &err), LATHE_OK);
    assert_int_equal(lathe_meta_parse_arg(&m, "isrc=GB-AAA-24-00001", &err), LATHE_OK);
    lathe_meta_set_loudness(&m, 0, -16.5, 0.5);
    lathe_writer_spec spec = {LATHE_FILE_FLAC, LATHE_SAMPLE_PCM16, 48000, 2, 1};
    const char *p = tmp("tagged.flac");
    int before = count_entries();
    lathe_writer *w = lathe_writer_open(p, &spec, &err);
    assert_non_null(w);
    assert_int_equal(lathe_writer_write(w, (const float *const *)b, 4800, &err), LATHE_OK);
    assert_int_equal(lathe_writer_commit_tagged(w, &m, &err), LATHE_OK);
    assert_int_equal(count_entries(), before + 1); /* the file, no temporary */
    if (lt_have("metaflac")) {
        lt_run_result r = lt_run("metaflac --export-tags-to=- '%s' | LC_ALL=C sort", p);
        assert_string_equal(r.out, "ISRC=GBAAA2400001\nREPLAYGAIN_TRACK_GAIN=-1.50 dB\n"
                                   "REPLAYGAIN_TRACK_PEAK=0.500000\nTITLE=Tagged \xc3\xa9\n");
        lt_run_free(&r);
    }
    /* the tagger fails (the temporary file vanished): an error naming the
     * target, and nothing under its name */
    const char *q = tmp("lost.flac");
    w = lathe_writer_open(q, &spec, &err);
    assert_non_null(w);
    assert_int_equal(lathe_writer_write(w, (const float *const *)b, 4800, &err), LATHE_OK);
    unlink(lathe_writer_temp_path(w));
    assert_int_not_equal(lathe_writer_commit_tagged(w, &m, &err), LATHE_OK);
    print_message("  error: %s\n", err.msg);
    assert_non_null(strstr(err.msg, q));
    assert_int_equal(access(q, F_OK), -1);
    assert_int_equal(count_entries(), before + 1);
    /* empty meta: a plain commit */
    lathe_meta none = {0};
    w = lathe_writer_open(tmp("plain.flac"), &spec, &err);
    assert_int_equal(lathe_writer_write(w, (const float *const *)b, 4800, &err), LATHE_OK);
    assert_int_equal(lathe_writer_commit_tagged(w, &none, &err), LATHE_OK);
    assert_int_equal(access(tmp("plain.flac"), F_OK), 0);
    lathe_meta_free(&m);
    lt_free(b, 2);
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
        cmocka_unit_test(io_file_types_by_extension_name_and_lossiness),
        cmocka_unit_test(io_lossy_writers_encode_what_ffmpeg_decodes),
        cmocka_unit_test(io_lossy_writers_refuse_what_the_codec_cannot_take),
        cmocka_unit_test(io_commit_tagged_tags_before_the_rename),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
