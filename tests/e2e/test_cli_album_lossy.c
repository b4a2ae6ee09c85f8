/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe album with lossy outputs (MP3, Ogg Vorbis, Opus), end to end, read
 * back by independent tools:
 *  - every song file and the album file decode with ffmpeg, ffprobe names
 *    the codec and rate (Opus: 48 kHz), and the decoded length equals the
 *    summary's frames to the sample (what libsndfile writes is gapless);
 *  - in the decoded album file each song starts at its INDEX 01 (the first
 *    sample over -40 dBFS after a pre-gap of digital silence), and the CUE
 *    sheet names the file with MP3 (mp3) or WAVE (Ogg: no CDRWIN type);
 *  - tags read back with ffprobe, compared exactly (title, artist, album,
 *    track, ISRC/TSRC); loudness tags (ReplayGain, Opus R128) against
 *    libebur128 on ffmpeg's decode;
 *  - codec-aware true peak: hot, bright songs at -0.1 dBTP are pushed over
 *    the ceiling by the encoder at the first encode; lathe lowers their
 *    limiter ceilings and encodes again: every file, the album file with its
 *    crossfade included, stays under the ceiling by ffmpeg's ebur128 and by
 *    libebur128. */
#include "lathe_test.h"

#include <ebur128.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "lathe/album.h"
#include "lathe/io.h"
#include "lathe/meta.h"

static char *const dir = lt_dir;

static const char *path(const char *name)
{
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static void write_wav(const char *p, float **b, int ch, long n, double rate)
{
    lt_write_wav(p, b, ch, n, rate, LATHE_SAMPLE_FLOAT32);
}

/* A two-tone song with a slow envelope, starting at full level (so its
 * first sample marks its start in the album file). */
static float **tones(long n, double rate, double f1, double f2)
{
    float **b = lt_alloc(2, n);
    for (long i = 0; i < n; i++) {
        double t = (double)i / rate, env = 0.6 + 0.4 * sin(2 * M_PI * 0.7 * t);
        b[0][i] = (float)(0.2 * env * (sin(2 * M_PI * f1 * t) + 0.5 * sin(2 * M_PI * f2 * t)));
        b[1][i] = (float)(0.2 * env * (sin(2 * M_PI * f1 * 1.5 * t) + 0.4 * sin(2 * M_PI * f2 * 2 * t + 1)));
    }
    return b;
}

/* Hot and bright: white noise through a first difference (a rising
 * spectrum) with a click train every 0.25 s. Limited to -0.1 dBTP at
 * -7 LUFS, it is what encoders push over the ceiling (their quantisation
 * noise adds to peaks that sit on the ceiling). */
static float **hot(long n, double rate, uint64_t seed)
{
    float **b = lt_alloc(2, n);
    float *w = malloc(sizeof(float) * (size_t)n);
    for (int c = 0; c < 2; c++) {
        lt_noise(w, n, 1.0, &seed);
        double prev = 0;
        for (long i = 0; i < n; i++) {
            double t = fmod((double)i / rate, 0.25);
            double click = t < 0.002 ? (c ? -0.5 : 0.5) : 0;
            b[c][i] = (float)(0.15 * (w[i] - 0.6 * prev) + 0.1 * w[i] + click);
            prev = w[i];
        }
    }
    free(w);
    return b;
}

/* Reads raw little-endian data ffmpeg wrote. */
static float *slurp(const char *p, size_t *len)
{
    return (float *)(void *)lt_read_file(p, len);
}

typedef struct {
    long frames;
    double lufs, tp; /* libebur128 on ffmpeg's decode */
    float *x;        /* interleaved stereo, owned */
} decoded;

/* ffmpeg decodes `file` to interleaved stereo float at its own rate. */
static decoded ffmpeg_decode(const char *file, double rate)
{
    const char *raw = path("decoded.f32");
    lt_run_result r = lt_run("ffmpeg -v error -y -i '%s' -f f32le -ac 2 -c:a pcm_f32le '%s'", file, raw);
    if (r.status) fail_msg("ffmpeg cannot decode %s: %s", file, r.err);
    lt_run_free(&r);
    size_t len;
    decoded d;
    d.x = slurp(raw, &len);
    d.frames = (long)(len / sizeof(float) / 2);
    ebur128_state *e = ebur128_init(2, (unsigned long)rate, EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK);
    ebur128_add_frames_float(e, d.x, (size_t)d.frames);
    ebur128_loudness_global(e, &d.lufs);
    double m = 0;
    for (int c = 0; c < 2; c++) {
        double p;
        ebur128_true_peak(e, (unsigned)c, &p);
        if (p > m) m = p;
    }
    d.tp = 20 * log10(m);
    ebur128_destroy(&e);
    return d;
}

/* ffmpeg's own reading: ebur128=peak=true, "True peak: Peak: X dBFS". */
static double ffmpeg_true_peak(const char *file)
{
    lt_run_result r =
        lt_run("ffmpeg -hide_banner -nostats -i '%s' -af ebur128=peak=true -f null - 2>&1 | grep -A20 Summary", file);
    double v = NAN;
    const char *pp = strstr(r.out, "Peak:");
    if (r.status || !pp || sscanf(pp, "Peak: %lf", &v) != 1) fail_msg("ffmpeg ebur128 on %s: %s", file, r.out);
    lt_run_free(&r);
    return v;
}

static char *probe(const char *file, const char *entry, char *buf, size_t len)
{
    lt_run_result r =
        lt_run("ffprobe -v error -select_streams a:0 -show_entries %s -of default=nw=1:nk=1 '%s'", entry, file);
    if (r.status) fail_msg("ffprobe %s: %s", file, r.err);
    snprintf(buf, len, "%s", r.out);
    buf[strcspn(buf, "\n")] = '\0';
    lt_run_free(&r);
    return buf;
}

/* Every tag ffprobe finds (format and stream), "TAG:key=value" lines. */
static char *tags_of(const char *file)
{
    lt_run_result r = lt_run("ffprobe -v error -show_entries format_tags:stream_tags -of default=nw=1 '%s'", file);
    if (r.status) fail_msg("ffprobe %s: %s", file, r.err);
    free(r.err);
    return r.out;
}

/* The value of tag `key` (any case) in tags_of's text, or "" when absent. */
static const char *tag(const char *tags, const char *key, char *buf, size_t len)
{
    buf[0] = '\0';
    size_t k = strlen(key);
    for (const char *p = tags; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, "TAG:", 4) == 0 && strncasecmp(p + 4, key, k) == 0 && p[4 + k] == '=') {
            const char *v = p + 5 + k;
            size_t n = strcspn(v, "\n");
            snprintf(buf, len, "%.*s", (int)n, v);
            break;
        }
    }
    return buf;
}

/* The number after the n-th (0-based) "key": in json, from `from`. */
static double json_nth(const char *json, const char *key, int n)
{
    char k[80];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = json;
    for (int i = 0; i <= n; i++) {
        p = strstr(p, k);
        if (!p) fail_msg("no %d-th %s in the summary", n, key);
        p += strlen(k);
    }
    while (*p == ' ') p++;
    if (strncmp(p, "null", 4) == 0) return NAN;
    return strtod(p, NULL);
}

static int tools(void)
{
    if (!lt_have("ffmpeg") || !lt_have("ffprobe")) {
        print_message("  (ffmpeg or ffprobe missing: skipped)\n");
        return 0;
    }
    return 1;
}

static const char *const FORMATS[] = {"mp3", "ogg", "opus"};
static const char *const CODECS[] = {"mp3", "vorbis", "opus"};

/* Three songs (gap, then a crossfade), one album per lossy format. */
static void album_lossy_files_round_trip_with_tags_cue_and_lengths(void **s)
{
    (void)s;
    if (!tools()) return;
    const double rate = 44100;
    const long n = (long)((lt_sanitized() ? 3.0 : 8.0) * rate);
    const double fr[3][2] = {{220, 1375}, {330, 2750}, {262, 1760}};
    for (int k = 0; k < 3; k++) {
        float **b = tones(n, rate, fr[k][0], fr[k][1]);
        char name[32];
        snprintf(name, sizeof name, "song%d.wav", k + 1);
        write_wav(path(name), b, 2, n, rate);
        lt_free(b, 2);
    }
    char yaml[512];
    snprintf(yaml, sizeof yaml, "%s", path("lossy.yaml"));
    lt_write_text(yaml, "target: spotify\nlufs: -14\nceiling: -1 dBTP\ngap: 1.5\n"
                     "meta: { album: Night Drive, artist: The Band, year: 2026 }\n"
                     "songs:\n"
                     "  - file: song1.wav\n    meta: { title: Intro, isrc: US-RC1-26-00001 }\n"
                     "  - file: song2.wav\n    meta: { title: Second }\n"
                     "  - file: song3.wav\n    meta: { title: Third }\n    crossfade: { length: 1 }\n");
    for (int f = 0; f < 3; f++) {
        if (lt_sanitized() && f != 2) continue; /* one format under the sanitizers (Opus: the resampled one) */
        char out[512];
        snprintf(out, sizeof out, "%s/out-%s", dir, FORMATS[f]);
        lt_run_result r = lt_run("'%s' album '%s' -o '%s' --format %s --json", lt_lathe_exe(), yaml, out, FORMATS[f]);
        if (r.status) fail_msg("%s: exit %d: %s", FORMATS[f], r.status, r.err);
        const char *J = r.out;
        const double orate = f == 2 ? 48000 : rate;
        assert_int_equal((long)lt_json_num(J, "sample_rate"), (long)orate);
        const char *titles[3] = {"Intro", "Second", "Third"};
        long long idx01[3];
        for (int t = 0; t < 3; t++) idx01[t] = (long long)json_nth(J, "index01", t);
        /* the song files */
        for (int t = 0; t < 3; t++) {
            char file[700], buf[256], want[64];
            snprintf(file, sizeof file, "%s/%02d %s.%s", out, t + 1, titles[t], FORMATS[f]);
            assert_string_equal(probe(file, "stream=codec_name", buf, sizeof buf), CODECS[f]);
            assert_int_equal(atol(probe(file, "stream=sample_rate", buf, sizeof buf)), (long)orate);
            decoded d = ffmpeg_decode(file, orate);
            /* gapless: the decode is as long as the song */
            long long frames = (long long)json_nth(J, "frames", 1 + t); /* files[0] comes first */
            if (d.frames != frames)
                fail_msg("%s: ffmpeg decodes %ld frames, the song is %lld", file, d.frames, frames);
            double ceiling = -1.0;
            double ff = ffmpeg_true_peak(file);
            print_message("  %-14s %ld frames, %.2f LUFS, %.2f dBTP (libebur128), %.1f (ffmpeg)\n",
                          strrchr(file, '/') + 1, d.frames, d.lufs, d.tp, ff);
            if (ff > ceiling) fail_msg("%s: ffmpeg measures %.1f dBTP over %.1f", file, ff, ceiling);
            if (d.tp > ceiling + 0.05) fail_msg("%s: libebur128 measures %.2f dBTP over %.1f", file, d.tp, ceiling);
            char *T = tags_of(file);
            assert_string_equal(tag(T, "title", buf, sizeof buf), titles[t]);
            assert_string_equal(tag(T, "artist", buf, sizeof buf), "The Band");
            assert_string_equal(tag(T, "album", buf, sizeof buf), "Night Drive");
            assert_string_equal(tag(T, "date", buf, sizeof buf), "2026");
            if (f == 0) snprintf(want, sizeof want, "%d/3", t + 1);
            else snprintf(want, sizeof want, "%d", t + 1);
            assert_string_equal(tag(T, "track", buf, sizeof buf), want);
            if (f) assert_string_equal(tag(T, "TRACKTOTAL", buf, sizeof buf), "3");
            assert_string_equal(tag(T, f == 0 ? "TSRC" : "ISRC", buf, sizeof buf), t == 0 ? "USRC12600001" : "");
            if (f == 2) {
                /* RFC 7845 5.2.1: Q7.8 of -23 - integrated; no ReplayGain */
                int q = atoi(tag(T, "R128_TRACK_GAIN", buf, sizeof buf));
                if (abs(q - lathe_r128_gain_q78(d.lufs)) > 8)
                    fail_msg("%s: R128_TRACK_GAIN %d, libebur128 gives %d", file, q, lathe_r128_gain_q78(d.lufs));
                assert_string_not_equal(tag(T, "R128_ALBUM_GAIN", buf, sizeof buf), "");
                assert_string_equal(tag(T, "REPLAYGAIN_TRACK_GAIN", buf, sizeof buf), "");
            } else {
                double g = atof(tag(T, "REPLAYGAIN_TRACK_GAIN", buf, sizeof buf));
                assert_non_null(strstr(buf, " dB"));
                if (fabs(g - (-18 - d.lufs)) > 0.03)
                    fail_msg("%s: REPLAYGAIN_TRACK_GAIN %.2f, libebur128 gives %.2f", file, g, -18 - d.lufs);
                double pk = atof(tag(T, "REPLAYGAIN_TRACK_PEAK", buf, sizeof buf));
                if (fabs(20 * log10(pk) - d.tp) > 0.1)
                    fail_msg("%s: REPLAYGAIN_TRACK_PEAK %.6f (%.2f dB), libebur128 %.2f dBTP", file, pk,
                             20 * log10(pk), d.tp);
                assert_string_not_equal(tag(T, "REPLAYGAIN_ALBUM_GAIN", buf, sizeof buf), "");
            }
            free(T);
            free(d.x);
        }
        /* the album file: its length, and each song where the CUE sheet says */
        char file[700], buf[256];
        snprintf(file, sizeof file, "%s/album.%s", out, FORMATS[f]);
        assert_string_equal(probe(file, "stream=codec_name", buf, sizeof buf), CODECS[f]);
        decoded d = ffmpeg_decode(file, orate);
        long long frames = (long long)json_nth(J, "frames", 0);
        if (d.frames != frames) fail_msg("%s: ffmpeg decodes %ld frames, the album is %lld", file, d.frames, frames);
        for (int t = 1; t < 2; t++) {
            /* song 2 follows a pre-gap of digital silence: its first sample
             * over -40 dBFS in the decode */
            long first = -1;
            for (long i = (long)idx01[t] - 4096; i < d.frames && first < 0; i++)
                if (i >= 0 && (fabsf(d.x[2 * i]) > 0.01f || fabsf(d.x[2 * i + 1]) > 0.01f)) first = i;
            print_message("  album.%s: song %d starts at %ld in the decode, INDEX 01 is %lld (%+ld)\n", FORMATS[f],
                          t + 1, first, idx01[t], first - (long)idx01[t]);
            if (labs(first - (long)idx01[t]) > 2)
                fail_msg("%s: song %d starts at %ld, INDEX 01 says %lld", file, t + 1, first, idx01[t]);
        }
        double ff = ffmpeg_true_peak(file);
        if (ff > -1.0) fail_msg("%s: ffmpeg measures %.1f dBTP over -1", file, ff);
        if (d.tp > -1.0 + 0.05) fail_msg("%s: libebur128 measures %.2f dBTP over -1", file, d.tp);
        char *T = tags_of(file);
        assert_string_equal(tag(T, "title", buf, sizeof buf), "Night Drive");
        free(T);
        free(d.x);
        /* the CUE sheet: the album file with its type, and the INDEX times */
        char cue[700];
        snprintf(cue, sizeof cue, "%s/album.cue", out);
        size_t len;
        char *C = (char *)slurp(cue, &len);
        C[len] = '\0';
        char want[128];
        snprintf(want, sizeof want, "FILE \"album.%s\" %s\n", FORMATS[f], f == 0 ? "MP3" : "WAVE");
        if (!strstr(C, want)) fail_msg("%s: no '%s' in\n%s", cue, want, C);
        for (int t = 0; t < 3; t++) {
            char tb[32];
            snprintf(want, sizeof want, "INDEX 01 %s\n", lathe_cue_time(idx01[t], orate, tb, sizeof tb));
            const char *tr = strstr(C, t == 0 ? "TRACK 01" : t == 1 ? "TRACK 02" : "TRACK 03");
            assert_non_null(tr);
            if (!strstr(tr, want)) fail_msg("%s: track %d: no '%s'", cue, t + 1, want);
            assert_int_equal(idx01[t] % (long long)(orate / 75), 0);
        }
        free(C);
        lt_run_free(&r);
    }
}

/* Hot, bright songs at -0.1 dBTP: the first encode goes over, the second
 * pass (a lower limiter ceiling for those songs) comes back under, in
 * every song file and in the album file, crossfade included. */
static void album_lossy_overshoot_lowers_the_ceiling_and_encodes_again(void **s)
{
    (void)s;
    if (!tools()) return;
    const double rate = 44100;
    const long n = (long)((lt_sanitized() ? 2.0 : 6.0) * rate);
    for (int k = 0; k < 2; k++) {
        float **b = hot(n, rate, 0x1234ULL + (uint64_t)k * 77);
        char name[32];
        snprintf(name, sizeof name, "hot%d.wav", k + 1);
        write_wav(path(name), b, 2, n, rate);
        lt_free(b, 2);
    }
    char yaml[512];
    snprintf(yaml, sizeof yaml, "%s", path("hot.yaml"));
    lt_write_text(yaml, "target: spotify\nlufs: -7\nceiling: -0.1 dBTP\nloudness: track\n"
                     "songs:\n  - file: hot1.wav\n    meta: { title: One }\n"
                     "  - file: hot2.wav\n    meta: { title: Two }\n    crossfade: { length: 1 }\n");
    const double ceiling = -0.1;
    int overshoots = 0;
    for (int f = 0; f < 3; f++) {
        if (lt_sanitized() && f > 0) break; /* one format under the sanitizers */
        char out[512];
        snprintf(out, sizeof out, "%s/hot-%s", dir, FORMATS[f]);
        char html[600];
        snprintf(html, sizeof html, "%s.html", out);
        lt_run_result r = lt_run("'%s' album '%s' -o '%s' --format %s --json --report '%s'", lt_lathe_exe(), yaml,
                                 out, FORMATS[f], html);
        if (r.status) fail_msg("%s: exit %d: %s", FORMATS[f], r.status, r.err);
        const char *J = r.out;
        char *H = (char *)slurp(html, NULL);
        const double orate = f == 2 ? 48000 : rate;
        const char *files[3] = {"album", "01 One", "02 Two"};
        for (int k = 0; k < 3; k++) {
            /* files[0] is the album file, then the tracks, in the summary's order */
            double first = json_nth(J, "codec_true_peak_first_dbtp", k);
            double final = json_nth(J, "codec_true_peak_final_dbtp", k);
            int encodes = (int)json_nth(J, "encodes", k);
            char file[700];
            snprintf(file, sizeof file, "%s/%s.%s", out, files[k], FORMATS[f]);
            decoded d = ffmpeg_decode(file, orate);
            double ff = ffmpeg_true_peak(file);
            print_message("  %-5s %-7s first encode %+.2f dBTP, final %+.2f after %d encode%s; "
                          "ffmpeg %+.1f, libebur128 %+.2f dBTP\n",
                          FORMATS[f], files[k], first, final, encodes, encodes == 1 ? "" : "s", ff, d.tp);
            if (first > ceiling) {
                overshoots++;
                if (encodes < 2) fail_msg("%s: the first encode was over and was kept", file);
            }
            /* the HTML report's delivery table: the same figures, per file */
            char row[1200];
            snprintf(row, sizeof row, "</th><td>%s</td><td>%.2f</td><td>%.2f</td><td>%d</td>", file, first, final,
                     encodes);
            if (k > 0) {
                const size_t m = strlen(row);
                snprintf(row + m, sizeof row - m, "<td>%.2f</td>", json_nth(J, "limiter_ceiling_dbtp", k - 1));
            }
            if (!strstr(H, row)) fail_msg("%s: no row %s", html, row);
            if (final > ceiling) fail_msg("%s: lathe measured %.2f dBTP over %.1f", file, final, ceiling);
            if (ff > ceiling) fail_msg("%s: ffmpeg measures %.1f dBTP over %.1f", file, ff, ceiling);
            if (d.tp > ceiling + 0.05) fail_msg("%s: libebur128 measures %.2f dBTP over %.1f", file, d.tp, ceiling);
            free(d.x);
        }
        if (overshoots > 0) {
            assert_true(lt_json_num(J, "codec_passes") >= 2);
            /* a lowered ceiling is reported for at least one song */
            double l1 = json_nth(J, "limiter_ceiling_dbtp", 0), l2 = json_nth(J, "limiter_ceiling_dbtp", 1);
            assert_true(fmin(l1, l2) < ceiling);
        }
        free(H);
        lt_run_free(&r);
    }
    print_message("  %d file%s went over the ceiling at the first encode\n", overshoots, overshoots == 1 ? "" : "s");
    /* the case is built to overshoot: it must show the second pass */
    assert_true(overshoots > 0);
}

/* Settings that do not fit the format are errors naming them; when the
 * album file's own keys clash, `album --check` already names the key's
 * line:column. */
static void album_lossy_settings_that_do_not_fit_are_errors(void **s)
{
    (void)s;
    float **b = tones(5 * 44100, 44100, 220, 1375); /* 5 s: the Red Book's 4 s minimum holds */
    write_wav(path("short.wav"), b, 2, 5 * 44100, 44100);
    lt_free(b, 2);
    const struct {
        const char *yaml, *args, *msg, *pos; /* pos: where --check puts it, or NULL */
    } cases[] = {
        {"format: opus\nrate: 44100\n", "", "rate: an Opus album is at 48000 Hz, not 44100 Hz", "2:7"},
        {"format: mp3\nrate: 22050\n", "", "rate: an MP3 album is at 32000, 44100 or 48000 Hz, not 22050 Hz", "2:7"},
        {"format: ogg\nbitrate: 192\n", "", "bitrate: Vorbis takes a quality (quality: 0.1..10), not a bitrate",
         "2:10"},
        {"format: flac\n", "--vbr", "bitrate, vbr and quality are for mp3, ogg and opus, not flac", NULL},
        {"target: cd\n", "--format mp3", "the cd preset writes 16-bit PCM (wav, flac or aiff), not mp3", NULL},
        {"format: mp3\nbits: 16\n", "", "bits: mp3 is encoded from 32-bit float masters (leave bits out)", "2:7"},
        {"format: wav\nquality: 5\n", "", "bitrate, vbr and quality are for mp3, ogg and opus, not wav", "2:10"},
        {"format: opus\nvbr: V2\n", "", "vbr is for mp3 (LAME's V0..V9), not opus", "2:6"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char y[512], out[512];
        snprintf(y, sizeof y, "%ssongs:\n  - short.wav\n", cases[k].yaml);
        lt_write_text(path("bad.yaml"), y);
        snprintf(out, sizeof out, "%s/bad-out", dir);
        lt_run_result r = lt_run("'%s' album '%s' -o '%s' %s", lt_lathe_exe(), path("bad.yaml"), out, cases[k].args);
        if (!strstr(r.err, cases[k].msg)) fail_msg("case %zu: wanted '%s', got '%s'", k, cases[k].msg, r.err);
        assert_int_not_equal(r.status, 0);
        struct stat st;
        assert_int_not_equal(stat(out, &st), 0); /* nothing left behind */
        lt_run_free(&r);
        if (!cases[k].pos) continue;
        r = lt_run("'%s' album --check '%s'", lt_lathe_exe(), path("bad.yaml"));
        char want[512];
        snprintf(want, sizeof want, "%s:%s: %s\n", path("bad.yaml"), cases[k].pos, cases[k].msg);
        if (strcmp(r.err, want) != 0) fail_msg("case %zu --check: wanted '%s', got '%s'", k, want, r.err);
        assert_int_equal(r.status, 65);
        lt_run_free(&r);
    }
}

int main(void)
{
    if (!lt_lathe_exe()) {
        print_message("LATHE_EXE not set\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(album_lossy_files_round_trip_with_tags_cue_and_lengths),
        cmocka_unit_test(album_lossy_overshoot_lowers_the_ceiling_and_encodes_again),
        cmocka_unit_test(album_lossy_settings_that_do_not_fit_are_errors),
    };
    return cmocka_run_group_tests(tests, lt_dir_setup, lt_dir_teardown);
}
