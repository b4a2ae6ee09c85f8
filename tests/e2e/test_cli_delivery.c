/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe master, delivery (issue 6, formats and metadata), end to end, with
 * independent tools reading what lathe wrote:
 *  - lossless (WAV, FLAC, AIFF at 16/24 bits, WAV float): ffmpeg decodes the
 *    file bit for bit equal to lathe's own float master quantised the same
 *    way (round to nearest, no dither); --format overrides the extension;
 *  - lossy (MP3 CBR 320 and VBR V0, Ogg Vorbis, Opus): ffprobe finds the
 *    codec, rate and bitrate; ffmpeg's decode has the duration of the input
 *    and the loudness of the encoder's input (libebur128);
 *  - codec-aware true peak: lossy masters of a loud synthetic signal and of
 *    a material song measure <= the ceiling by ffmpeg's ebur128=peak=true,
 *    with the encoder's first overshoot and the re-encodes shown;
 *  - tags read back with metaflac and ffprobe exactly, loudness tags against
 *    libebur128 on the decoded file;
 *  - bad --meta values: the exact message naming the field, exit 64, and no
 *    output file. */
#include "lathe_test.h"

#include <ebur128.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lathe/io.h"

static char *const dir = lt_dir;

/* Under the sanitizers (5-10x slower) the signals are shorter and the
 * material excerpt is left out: the same checks. */
static double dur(double seconds)
{
    return lt_sanitized() ? seconds * 0.4 : seconds;
}

static const char *path(const char *name)
{
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static void write_wav(const char *p, float **b, int ch, long n, double rate)
{
    lt_write_wav(p, b, ch, n, rate, LATHE_SAMPLE_FLOAT32);
}

/* A quiet two-tone mix with a slow envelope: mastered to -23 LUFS it is
 * never limited, so the master is the cache times one solved gain. */
static float **quiet_mix(long n, double rate)
{
    float **b = lt_alloc(2, n);
    for (long i = 0; i < n; i++) {
        double t = (double)i / rate, env = 0.6 + 0.4 * sin(2 * M_PI * 0.7 * t);
        b[0][i] = (float)(0.05 * env * (sin(2 * M_PI * 220 * t) + 0.5 * sin(2 * M_PI * 1375 * t)));
        b[1][i] = (float)(0.05 * env * (sin(2 * M_PI * 330 * t) + 0.4 * sin(2 * M_PI * 2750 * t + 1)));
    }
    return b;
}

/* Loud and dense: pink-ish noise (3 one-pole sums) with a kick every
 * 0.5 s; mastered to -9 LUFS it is limited hard, which is where encoders
 * overshoot the ceiling. */
static float **loud_mix(long n, double rate)
{
    float **b = lt_alloc(2, n);
    uint64_t seed = 0x5eedULL;
    float *w = malloc(sizeof(float) * (size_t)n);
    for (int c = 0; c < 2; c++) {
        lt_noise(w, n, 1.0, &seed);
        double y1 = 0, y2 = 0, y3 = 0;
        for (long i = 0; i < n; i++) {
            y1 = 0.997 * y1 + 0.03 * w[i];
            y2 = 0.96 * y2 + 0.1 * w[i];
            y3 = 0.5 * y3 + 0.3 * w[i];
            double t = fmod((double)i / rate, 0.5);
            double kick = exp(-t * 18) * sin(2 * M_PI * 55 * t);
            b[c][i] = (float)(0.25 * (y1 + y2 + y3) + 0.4 * kick);
        }
    }
    free(w);
    return b;
}

/* Reads raw little-endian data ffmpeg wrote. */
static void *slurp(const char *p, size_t *len)
{
    return lt_read_file(p, len);
}

/* ffmpeg decodes `file` to interleaved float at its own rate; returns the
 * frames and fills loudness and true peak (libebur128). */
static long ffmpeg_decode(const char *file, int ch, double rate, double *lufs, double *tp)
{
    const char *raw = path("decoded.f32");
    lt_run_result r = lt_run("ffmpeg -v error -y -i '%s' -f f32le -c:a pcm_f32le '%s'", file, raw);
    if (r.status) fail_msg("ffmpeg cannot decode %s: %s", file, r.err);
    lt_run_free(&r);
    size_t len;
    float *x = slurp(raw, &len);
    long n = (long)(len / sizeof(float) / (size_t)ch);
    ebur128_state *e = ebur128_init((unsigned)ch, (unsigned long)rate, EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK);
    ebur128_add_frames_float(e, x, (size_t)n);
    ebur128_loudness_global(e, lufs);
    double m = 0;
    for (int c = 0; c < ch; c++) {
        double p;
        ebur128_true_peak(e, (unsigned)c, &p);
        if (p > m) m = p;
    }
    *tp = 20 * log10(m);
    ebur128_destroy(&e);
    free(x);
    return n;
}

/* ffmpeg's own reading: ebur128=peak=true, "True peak: Peak: X dBFS". */
static double ffmpeg_true_peak(const char *file)
{
    lt_run_result r =
        lt_run("ffmpeg -hide_banner -nostats -i '%s' -af ebur128=peak=true -f null - 2>&1 | grep -A20 Summary",
               file);
    double v = NAN;
    const char *pp = strstr(r.out, "Peak:");
    if (r.status || !pp || sscanf(pp, "Peak: %lf", &v) != 1)
        fail_msg("ffmpeg ebur128 on %s: %s", file, r.out);
    lt_run_free(&r);
    return v;
}

/* ffprobe's value of one entry (e.g. "stream=codec_name"). */
static char *probe(const char *file, const char *entry, char *buf, size_t len)
{
    lt_run_result r = lt_run("ffprobe -v error -select_streams a:0 -show_entries %s -of default=nw=1:nk=1 '%s'",
                             entry, file);
    if (r.status) fail_msg("ffprobe %s: %s", file, r.err);
    snprintf(buf, len, "%s", r.out);
    buf[strcspn(buf, "\n")] = '\0';
    lt_run_free(&r);
    return buf;
}

static lt_run_result master(const char *in, const char *out, const char *args)
{
    return lt_run("'%s' master '%s' -o '%s' --force --json %s", lt_lathe_exe(), in, out, args);
}

static int tools(void)
{
    if (!lt_lathe_exe() || !lt_have("ffmpeg") || !lt_have("ffprobe")) {
        print_message("  (lathe, ffmpeg or ffprobe missing: skipped)\n");
        return 0;
    }
    return 1;
}

/* ---- lossless: bit for bit ---- */

static void delivery_lossless_formats_decode_bit_exact_by_ffmpeg(void **s)
{
    (void)s;
    if (!tools()) skip();
    const double rate = 44100;
    const long n = (long)(dur(4) * rate);
    float **b = quiet_mix(n, rate);
    char in[512];
    snprintf(in, sizeof in, "%s", path("quiet.wav"));
    write_wav(in, b, 2, n, rate);
    lt_free(b, 2);

    /* lathe's own float master: the reference */
    char ref[512];
    snprintf(ref, sizeof ref, "%s", path("ref.wav"));
    lt_run_result r = master(in, ref, "--lufs -23 --bits 32");
    if (r.status) fail_msg("exit %d: %s", r.status, r.err);
    assert_int_equal((int)lt_json_num(r.out, "passes"), 1); /* not limited: one render */
    lt_run_free(&r);
    lathe_error err;
    lathe_audio_info info;
    lathe_reader *rd = lathe_reader_open(ref, &info, &err);
    if (!rd) fail_msg("%s", err.msg);
    float **x = lt_alloc(2, n + 16);
    assert_int_equal(lathe_reader_read(rd, x, n + 16, &err), n);
    lathe_reader_close(rd);

    static const struct {
        const char *name, *args, *codec;
        int bits;
    } cases[] = {
        {"m16.wav", "--bits 16", "pcm_s16le", 16},
        {"m24.wav", "--bits 24", "pcm_s24le", 24},
        {"m32.wav", "--bits 32", "pcm_f32le", 32},
        {"m16.flac", "--bits 16", "flac", 16},
        {"m24.flac", "--bits 24", "flac", 24},
        {"m16.aiff", "--bits 16", "pcm_s16be", 16},
        {"m24.aif", "--bits 24", "pcm_s24be", 24},
        {"m24-flac.dat", "--bits 24 --format flac", "flac", 24}, /* --format wins */
        {"m16-aiff.wav", "--bits 16 --format aiff", "pcm_s16be", 16},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *out = path(cases[k].name);
        char args[128];
        snprintf(args, sizeof args, "--lufs -23 --dither off %s", cases[k].args);
        r = master(in, out, args);
        if (r.status) fail_msg("%s: exit %d: %s", cases[k].name, r.status, r.err);
        lt_run_free(&r);
        char codec[64];
        probe(out, "stream=codec_name", codec, sizeof codec);
        if (strcmp(codec, cases[k].codec) != 0)
            fail_msg("%s: ffprobe says %s, expected %s", cases[k].name, codec, cases[k].codec);
        const char *raw = path("dec.raw");
        r = lt_run("ffmpeg -v error -y -i '%s' -f %s -c:a %s '%s'", out,
                   cases[k].bits == 32 ? "f32le" : "s32le", cases[k].bits == 32 ? "pcm_f32le" : "pcm_s32le", raw);
        if (r.status) fail_msg("ffmpeg: %s", r.err);
        lt_run_free(&r);
        size_t len;
        void *d = slurp(raw, &len);
        assert_int_equal((long)(len / 8), n);
        long diff = 0, first = -1;
        for (long i = 0; i < n; i++)
            for (int c = 0; c < 2; c++) {
                int same;
                if (cases[k].bits == 32) {
                    same = memcmp(&((float *)d)[2 * i + c], &x[c][i], sizeof(float)) == 0;
                } else {
                    double sc = ldexp(1.0, cases[k].bits - 1);
                    double q = nearbyint((double)x[c][i] * sc);
                    q = fmin(sc - 1, fmax(-sc, q));
                    long long want = (long long)q * (1LL << (32 - cases[k].bits));
                    same = ((int32_t *)d)[2 * i + c] == (int32_t)want;
                }
                if (!same && first < 0) first = i;
                diff += !same;
            }
        free(d);
        print_message("  %-14s %-10s %ld frames, %ld samples differ\n", cases[k].name, codec, n, diff);
        if (diff) fail_msg("%s: %ld samples differ from the float master quantised (first at frame %ld)",
                           cases[k].name, diff, first);
    }
    lt_free(x, 2);
}

/* ---- lossy: codec, duration, loudness ---- */

static void delivery_lossy_formats_decode_by_ffmpeg_with_duration_and_loudness(void **s)
{
    (void)s;
    if (!tools()) skip();
    const double rate = 44100;
    const long n = (long)(dur(5) * rate);
    float **b = loud_mix(n, rate);
    for (int c = 0; c < 2; c++)
        for (long i = 0; i < n; i++) b[c][i] *= 0.5f;
    char in[512];
    snprintf(in, sizeof in, "%s", path("mix.wav"));
    write_wav(in, b, 2, n, rate);
    lt_free(b, 2);
    static const struct {
        const char *name, *args, *codec;
        double rate;
        long bitrate; /* ffprobe's stream bit_rate, 0: not checked (VBR) */
    } cases[] = {
        {"l.mp3", "", "mp3", 44100, 320000},
        {"l-v0.mp3", "--vbr", "mp3", 44100, 0},
        {"l-256.mp3", "--bitrate 256", "mp3", 44100, 256000},
        {"l.ogg", "", "vorbis", 44100, 0},
        {"l.opus", "", "opus", 48000, 0},
        {"l-opus.dat", "--format opus --bitrate 96", "opus", 48000, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *out = path(cases[k].name);
        lt_run_result r = master(in, out, cases[k].args);
        if (r.status) fail_msg("%s: exit %d: %s", cases[k].name, r.status, r.err);
        const char *ei = strstr(r.out, "\"encoder_input\": {");
        if (!ei) fail_msg("%s: no encoder_input in the JSON", cases[k].name);
        double want_lufs = lt_json_num(ei, "integrated_lufs");
        char codec[64], sr[64], br[64];
        probe(out, "stream=codec_name", codec, sizeof codec);
        probe(out, "stream=sample_rate", sr, sizeof sr);
        if (strcmp(codec, cases[k].codec) != 0 || atof(sr) != cases[k].rate)
            fail_msg("%s: ffprobe says %s at %s Hz", cases[k].name, codec, sr);
        if (cases[k].bitrate) {
            probe(out, "stream=bit_rate", br, sizeof br);
            if (atol(br) != cases[k].bitrate) fail_msg("%s: bit rate %s", cases[k].name, br);
        }
        double lufs, tp;
        long m = ffmpeg_decode(out, 2, cases[k].rate, &lufs, &tp);
        double d_s = (double)m / cases[k].rate - (double)n / rate;
        print_message("  %-12s %-6s %s Hz: duration %+.4f s, %.2f LUFS (encoder input %.2f), true peak %.2f dBTP\n",
                      cases[k].name, codec, sr, d_s, lufs, want_lufs, tp);
        /* Opus and Vorbis: sample exact (pre-skip / granule position); MP3:
         * LAME's gapless header, at most a frame's delay left */
        if (fabs(d_s) > (strcmp(codec, "mp3") == 0 ? 0.03 : 0.001))
            fail_msg("%s: duration off by %+.4f s", cases[k].name, d_s);
        if (fabs(lufs - want_lufs) > 0.3)
            fail_msg("%s: %.2f LUFS decoded, %.2f LUFS into the encoder", cases[k].name, lufs, want_lufs);
        if (fabs(lt_json_num(strstr(r.out, "\"after\": {"), "integrated_lufs") - lufs) > 0.05)
            fail_msg("%s: the report's after loudness is not the decoded file's", cases[k].name);
        lt_run_free(&r);
    }
}

/* ---- codec-aware true peak ---- */

static void check_lossy_ceiling(const char *in, const char *tag, const char *args, double ceiling,
                                int *overshoots)
{
    static const char *ext[] = {"mp3", "ogg", "opus"};
    for (int k = 0; k < 3; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s.%s", tag, ext[k]);
        const char *out = path(name);
        char html[512], a2[700];
        snprintf(html, sizeof html, "%s/%s.html", dir, name);
        snprintf(a2, sizeof a2, "%s --report '%s'", args, html);
        lt_run_result r = master(in, out, a2);
        if (r.status) fail_msg("%s: exit %d: %s", name, r.status, r.err);
        const char *ct = strstr(r.out, "\"codec_true_peak_dbtp\": {");
        if (!ct) fail_msg("%s: no codec_true_peak_dbtp in the JSON", name);
        double first = lt_json_num(ct, "first"), final = lt_json_num(ct, "final");
        int encodes = (int)lt_json_num(r.out, "encodes");
        double lim = lt_json_num(r.out, "limiter_ceiling_dbtp");
        double ff = ffmpeg_true_peak(out);
        double lufs, tp;
        ffmpeg_decode(out, 2, k == 2 ? 48000 : 44100, &lufs, &tp);
        print_message("  %-14s codec true peak first %+.2f final %+.2f dBTP, %d encode%s, limiter at "
                      "%+.2f; ffmpeg %+.1f dBTP, libebur128 %+.2f dBTP, %.2f LUFS\n",
                      name, first, final, encodes, encodes == 1 ? "" : "s", lim, ff, tp, lufs);
        if (first > ceiling) {
            ++*overshoots;
            if (encodes < 2) fail_msg("%s: the first encode was over and was kept", name);
        }
        /* the HTML report gives the same figures */
        char want[300];
        snprintf(want, sizeof want,
                 "its true peak was %.2f dBTP at the first encode and is %.2f dBTP as written (%d encode%s, "
                 "the limiter at %.2f dBTP)", first, final, encodes, encodes == 1 ? "" : "s", lim);
        size_t hl;
        char *h = slurp(html, &hl);
        if (!strstr(h, want)) fail_msg("%s: the report lacks \"%s\"", html, want);
        free(h);
        if (final > ceiling) fail_msg("%s: lathe measured %.2f dBTP over %.1f", name, final, ceiling);
        if (ff > ceiling) fail_msg("%s: ffmpeg measures %.1f dBTP over %.1f", name, ff, ceiling);
        if (tp > ceiling + 0.05) fail_msg("%s: libebur128 measures %.2f dBTP over %.1f", name, tp, ceiling);
        lt_run_free(&r);
    }
}

static void delivery_lossy_masters_stay_under_the_ceiling_after_decoding(void **s)
{
    (void)s;
    if (!tools()) skip();
    const double rate = 44100;
    const long n = (long)(dur(6) * rate);
    float **b = loud_mix(n, rate);
    char in[512];
    snprintf(in, sizeof in, "%s", path("loud.wav"));
    write_wav(in, b, 2, n, rate);
    lt_free(b, 2);
    int over = 0;
    check_lossy_ceiling(in, "loud", "--lufs -9 --ceiling -1", -1.0, &over);
    const char *mat = lt_material_dir();
    if (mat && !lt_sanitized()) {
        /* 20 s of a material song (from 0:40), as the WAV ffmpeg cuts */
        char song[512], cut[512];
        snprintf(song, sizeof song, "%s/music/hedgewars_nature.ogg", mat);
        snprintf(cut, sizeof cut, "%s", path("nature.wav"));
        lt_run_result r = lt_run("ffmpeg -v error -y -ss 40 -t 20 -i '%s' -c:a pcm_f32le '%s'", song, cut);
        if (r.status == 0) check_lossy_ceiling(cut, "nature", "--lufs -10 --ceiling -1", -1.0, &over);
        lt_run_free(&r);
    }
    /* the check must have had something to do: these encoders overshoot a
     * hard-limited master (MP3, Vorbis and Opus all did on the loud mix) */
    print_message("  %d of the encodes overshot the ceiling at first\n", over);
    assert_true(over >= 1);
}

/* ---- tags ---- */

#define META                                                                                      \
    "--meta title='Les Étoiles' --meta artist='Ana B' --meta album='Al 1' --meta "                \
    "album_artist='Various' --meta year=2024-02-29 --meta genre=Jazz --meta isrc=us-rc1-76-07839 " \
    "--meta track=3/12 --meta disc=1/2 --meta upc=036000291452 --meta composer='C. D.' "          \
    "--meta comment='mastered by lathe'"

static void delivery_tags_read_back_exactly_with_metaflac_and_ffprobe(void **s)
{
    (void)s;
    if (!tools()) skip();
    const double rate = 48000;
    const long n = (long)(dur(3) * rate);
    float **b = quiet_mix(n, rate);
    char in[512];
    snprintf(in, sizeof in, "%s", path("tagme.wav"));
    write_wav(in, b, 2, n, rate);
    lt_free(b, 2);

    /* FLAC: every Vorbis comment, exactly, by metaflac */
    char flac[512];
    snprintf(flac, sizeof flac, "%s", path("tagged.flac"));
    lt_run_result r = master(in, flac, "--lufs -16 " META);
    if (r.status) fail_msg("exit %d: %s", r.status, r.err);
    lt_run_free(&r);
    if (lt_have("metaflac")) {
        r = lt_run("metaflac --export-tags-to=- '%s' | grep -v '^REPLAYGAIN' | LC_ALL=C sort", flac);
        const char *want = "ALBUM=Al 1\nALBUMARTIST=Various\nARTIST=Ana B\nBARCODE=036000291452\n"
                           "COMMENT=mastered by lathe\nCOMPOSER=C. D.\nDATE=2024-02-29\nDISCNUMBER=1\n"
                           "DISCTOTAL=2\nGENRE=Jazz\nISRC=USRC17607839\nTITLE=Les \xc3\x89toiles\n"
                           "TRACKNUMBER=3\nTRACKTOTAL=12\n";
        if (strcmp(r.out, want) != 0) fail_msg("metaflac reads:\n%s\nexpected:\n%s", r.out, want);
        lt_run_free(&r);
    }
    /* the loudness tags: ReplayGain 2.0 (-18 LUFS reference) and the true
     * peak, against libebur128 on ffmpeg's decode */
    double lufs, tp;
    ffmpeg_decode(flac, 2, rate, &lufs, &tp);
    char v[128];
    probe(flac, "format_tags=REPLAYGAIN_TRACK_GAIN", v, sizeof v);
    double g = atof(v);
    print_message("  flac: REPLAYGAIN_TRACK_GAIN %s (libebur128: %.3f dB)", v, -18 - lufs);
    if (fabs(g - (-18 - lufs)) > 0.011 || !strstr(v, " dB")) fail_msg("REPLAYGAIN_TRACK_GAIN '%s'", v);
    probe(flac, "format_tags=REPLAYGAIN_TRACK_PEAK", v, sizeof v);
    print_message(", REPLAYGAIN_TRACK_PEAK %s (true peak %.6f)\n", v, pow(10, tp / 20));
    if (fabs(atof(v) - pow(10, tp / 20)) > 0.002) fail_msg("REPLAYGAIN_TRACK_PEAK '%s'", v);

    /* MP3 (ID3v2.4, ISRC as TSRC), Ogg Vorbis, Opus (R128_TRACK_GAIN), WAV,
     * AIFF: by ffprobe */
    static const struct {
        const char *name, *where, *title_key, *isrc_key, *track_key, *track;
    } cases[] = {
        {"tagged.mp3", "format_tags", "title", "TSRC", "track", "3/12"},
        {"tagged.ogg", "stream_tags", "TITLE", "ISRC", "track", "3"},
        {"tagged.opus", "stream_tags", "TITLE", "ISRC", "track", "3"},
        {"tagged.aiff", "format_tags", "title", "TSRC", "track", "3/12"},
        {"tagged.wav", "format_tags", "title", NULL, NULL, NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *out = path(cases[k].name);
        r = master(in, out, "--lufs -16 " META);
        if (r.status) fail_msg("%s: exit %d: %s", cases[k].name, r.status, r.err);
        lt_run_free(&r);
        char e[128];
        snprintf(e, sizeof e, "%s=%s", cases[k].where, cases[k].title_key);
        if (strcmp(probe(out, e, v, sizeof v), "Les \xc3\x89toiles") != 0)
            fail_msg("%s: title '%s'", cases[k].name, v);
        if (cases[k].isrc_key) {
            snprintf(e, sizeof e, "%s=%s", cases[k].where, cases[k].isrc_key);
            if (strcmp(probe(out, e, v, sizeof v), "USRC17607839") != 0)
                fail_msg("%s: %s '%s'", cases[k].name, cases[k].isrc_key, v);
            snprintf(e, sizeof e, "%s=%s", cases[k].where, cases[k].track_key);
            if (strcmp(probe(out, e, v, sizeof v), cases[k].track) != 0)
                fail_msg("%s: track '%s'", cases[k].name, v);
        }
        double l2, t2;
        if (strstr(cases[k].name, ".opus")) {
            /* RFC 7845: (-23 - loudness) dB in Q7.8 */
            ffmpeg_decode(out, 2, 48000, &l2, &t2);
            snprintf(e, sizeof e, "%s=R128_TRACK_GAIN", cases[k].where);
            probe(out, e, v, sizeof v);
            double want = (-23 - l2) * 256;
            print_message("  %-12s R128_TRACK_GAIN %s (libebur128 on the decode: %.1f)\n", cases[k].name, v, want);
            if (fabs(atof(v) - want) > 3) fail_msg("%s: R128_TRACK_GAIN %s, expected %.0f", cases[k].name, v, want);
            snprintf(e, sizeof e, "%s=REPLAYGAIN_TRACK_GAIN", cases[k].where);
            if (probe(out, e, v, sizeof v)[0]) fail_msg("Opus carries REPLAYGAIN_TRACK_GAIN '%s'", v);
        } else if (strstr(cases[k].name, ".mp3") || strstr(cases[k].name, ".ogg")) {
            ffmpeg_decode(out, 2, 48000, &l2, &t2);
            snprintf(e, sizeof e, "%s=REPLAYGAIN_TRACK_GAIN", cases[k].where);
            probe(out, e, v, sizeof v);
            print_message("  %-12s REPLAYGAIN_TRACK_GAIN %s (libebur128 on the decode: %.2f dB)\n",
                          cases[k].name, v, -18 - l2);
            if (fabs(atof(v) - (-18 - l2)) > 0.02) fail_msg("%s: REPLAYGAIN_TRACK_GAIN %s", cases[k].name, v);
        }
    }
}

/* ---- bad --meta ---- */

static void delivery_bad_meta_is_exit_64_naming_the_field_and_writes_nothing(void **s)
{
    (void)s;
    if (!lt_lathe_exe()) skip();
    const double rate = 48000;
    const long n = (long)(1 * rate);
    float **b = quiet_mix(n, rate);
    char in[512];
    snprintf(in, sizeof in, "%s", path("bad-in.wav"));
    write_wav(in, b, 2, n, rate);
    lt_free(b, 2);
    static const struct {
        const char *arg, *msg;
    } cases[] = {
        {"isrc=USRC1760783",
         "lathe master: --meta: isrc \"USRC1760783\": expected CC-XXX-YY-NNNNN (12 characters: "
         "country, registrant, year, designation)"},
        {"upc=036000291453", "lathe master: --meta: upc \"036000291453\": bad check digit 3 (expected 2)"},
        {"titel=X", "lathe master: --meta: unknown meta key \"titel\" (did you mean \"title\"?)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *outs[] = {"bad.flac", "bad.mp3", "bad.wav"};
        for (int f = 0; f < 3; f++) {
            const char *out = path(outs[f]);
            lt_run_result r = lt_run("'%s' master '%s' -o '%s' --meta title=ok --meta '%s'", lt_lathe_exe(), in,
                                     out, cases[k].arg);
            char first[512];
            snprintf(first, sizeof first, "%s", r.err);
            first[strcspn(first, "\n")] = '\0';
            if (r.status != 64 || strcmp(first, cases[k].msg) != 0)
                fail_msg("--meta %s: exit %d, '%s'\nexpected 64, '%s'", cases[k].arg, r.status, first,
                         cases[k].msg);
            if (exists(out)) fail_msg("--meta %s: %s was written", cases[k].arg, out);
            lt_run_free(&r);
        }
    }
    /* year and track must be real */
    const char *more[] = {"year=2023-02-29", "track=13/12", "disc=0", "=x", "title"};
    for (size_t k = 0; k < sizeof more / sizeof more[0]; k++) {
        const char *out = path("bad2.flac");
        lt_run_result r = lt_run("'%s' master '%s' -o '%s' --meta '%s'", lt_lathe_exe(), in, out, more[k]);
        print_message("  --meta %-16s -> exit %d: %.*s\n", more[k], r.status, (int)strcspn(r.err, "\n"), r.err);
        if (r.status != 64 || strncmp(r.err, "lathe master: --meta: ", 22) != 0)
            fail_msg("--meta %s: exit %d: %s", more[k], r.status, r.err);
        if (exists(out)) fail_msg("--meta %s: output written", more[k]);
        lt_run_free(&r);
    }
    /* format errors */
    lt_run_result r = lt_run("'%s' master '%s' -o '%s' --format wma", lt_lathe_exe(), in, path("x.wma"));
    assert_int_equal(r.status, 64);
    assert_non_null(strstr(r.err, "--format takes wav, flac, aiff, mp3, ogg or opus, not 'wma'"));
    lt_run_free(&r);
    r = lt_run("'%s' master '%s' -o '%s' --rate 44100", lt_lathe_exe(), in, path("x.opus"));
    assert_int_equal(r.status, 64);
    assert_non_null(strstr(r.err, "Opus runs at 8, 12, 16, 24 or 48 kHz, not 44100 Hz"));
    lt_run_free(&r);
    assert_false(exists(path("x.opus")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(delivery_lossless_formats_decode_bit_exact_by_ffmpeg),
        cmocka_unit_test(delivery_lossy_formats_decode_by_ffmpeg_with_duration_and_loudness),
        cmocka_unit_test(delivery_lossy_masters_stay_under_the_ceiling_after_decoding),
        cmocka_unit_test(delivery_tags_read_back_exactly_with_metaflac_and_ffprobe),
        cmocka_unit_test(delivery_bad_meta_is_exit_64_naming_the_field_and_writes_nothing),
    };
    return cmocka_run_group_tests(tests, lt_dir_setup, lt_dir_teardown);
}
