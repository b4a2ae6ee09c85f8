/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `lathe analyze` end to end: agreement with ffmpeg's ebur128 filter on the
 * real recordings in ../shared/material/music, exact error messages and exit
 * codes, JSON keys. */
#include "lathe_test.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lathe/io.h"

static char dir[256];

static int setup(void **s)
{
    (void)s;
    if (!lt_lathe_exe()) return -1;
    lt_tmpdir(dir, sizeof dir);
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    lt_rmdir(dir);
    return 0;
}

/* ffmpeg's integrated loudness and overall true peak (dBTP), from the
 * filter's per-frame metadata (3 decimals; the summary prints only 1). */
static void ffmpeg_measure(const char *path, double *I, double *tp, double *lra)
{
    char meta[400];
    snprintf(meta, sizeof meta, "%s/meta.txt", dir);
    lt_run_result r = lt_run("ffmpeg -nostdin -hide_banner -nostats -v error -i '%s' -af "
                             "ebur128=peak=true:metadata=1,ametadata=mode=print:file='%s' -f null -",
                             path, meta);
    assert_int_equal(r.status, 0);
    lt_run_free(&r);
    FILE *f = fopen(meta, "r");
    assert_non_null(f);
    char line[256];
    double peak = 0;
    *I = NAN;
    while (fgets(line, sizeof line, f)) {
        double v;
        if (sscanf(line, "lavfi.r128.I=%lf", &v) == 1) *I = v;
        if (sscanf(line, "lavfi.r128.LRA=%lf", &v) == 1) *lra = v;
        if (sscanf(line, "lavfi.r128.true_peak=%lf", &v) == 1 && v > peak) peak = v;
    }
    fclose(f);
    *tp = 20 * log10(peak);
}

static void analyze_agrees_with_ffmpeg_on_every_material_song(void **s)
{
    (void)s;
    const char *mat = lt_material_dir();
    if (!mat) {
        print_message("skipped: ../shared/material is absent\n");
        skip();
    }
    if (!lt_have("ffmpeg")) fail_msg("ffmpeg is a test dependency (make deps installs it)");
    char music[4096];
    snprintf(music, sizeof music, "%s/music", mat);
    DIR *d = opendir(music);
    assert_non_null(d);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strstr(e->d_name, "COPYRIGHT")) continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", music, e->d_name);
        lt_run_result r = lt_run("'%s' analyze --json '%s'", lt_lathe_exe(), path);
        assert_int_equal(r.status, 0);
        double I = lt_json_num(r.out, "integrated_lufs"), tp = lt_json_num(r.out, "true_peak_dbtp");
        double lra = lt_json_num(r.out, "loudness_range_lu");
        lt_run_free(&r);
        double fI, ftp, flra;
        ffmpeg_measure(path, &fI, &ftp, &flra);
        print_message("%-46s I %7.2f (ffmpeg %7.3f)  TP %6.2f (ffmpeg %6.3f)  LRA %5.2f (ffmpeg "
                      "%5.2f)\n",
                      e->d_name, I, fI, tp, ftp, lra, flra);
        if (fabs(lra - flra) > 0.2) fail_msg("%s: LRA %.2f vs ffmpeg %.2f", e->d_name, lra, flra);
        if (fabs(I - fI) > 0.1) fail_msg("%s: integrated %.3f vs ffmpeg %.3f", e->d_name, I, fI);
        if (fabs(tp - ftp) > 0.2) fail_msg("%s: true peak %.3f vs ffmpeg %.3f", e->d_name, tp, ftp);
        files++;
    }
    closedir(d);
    assert_true(files >= 3);
}

static void write_wav(const char *path, lathe_sample_type t, long n, float fill, long nan_at)
{
    lathe_error err;
    lathe_writer_spec spec = {LATHE_FILE_WAV, t, 48000, 2, 1};
    lathe_writer *w = lathe_writer_open(path, &spec, &err);
    assert_non_null(w);
    float **b = lt_alloc(2, n);
    for (long i = 0; i < n; i++) b[0][i] = b[1][i] = fill * (float)sin(0.1 * (double)i);
    if (nan_at >= 0) b[0][nan_at] = NAN;
    assert_int_equal(lathe_writer_write(w, (const float *const *)b, n, &err), LATHE_OK);
    assert_int_equal(lathe_writer_commit(w, &err), LATHE_OK);
    lt_free(b, 2);
}

static void expect(const char *args, int status, const char *err_text)
{
    lt_run_result r = lt_run("'%s' %s", lt_lathe_exe(), args);
    if (r.status != status || strcmp(r.err, err_text) != 0)
        fail_msg("lathe %s\n  exit %d (want %d)\n  stderr [%s]\n  want   [%s]", args, r.status,
                 status, r.err, err_text);
    lt_run_free(&r);
}

static void analyze_error_messages_and_exit_codes(void **s)
{
    (void)s;
    char p[1024], args[2048], want[2048];

    snprintf(p, sizeof p, "%s/missing.wav", dir);
    snprintf(args, sizeof args, "analyze '%s'", p);
    snprintf(want, sizeof want, "lathe: %s: no such file\n", p);
    expect(args, 66, want);

    snprintf(args, sizeof args, "analyze '%s'", dir);
    snprintf(want, sizeof want, "lathe: %s: is a directory, not an audio file\n", dir);
    expect(args, 66, want);

    snprintf(p, sizeof p, "%s/empty.wav", dir);
    fclose(fopen(p, "w"));
    snprintf(args, sizeof args, "analyze '%s'", p);
    snprintf(want, sizeof want, "lathe: %s: empty file\n", p);
    expect(args, 65, want);

    snprintf(p, sizeof p, "%s/notes.wav", dir);
    FILE *f = fopen(p, "w");
    fputs("shopping list: eggs, flour\n", f);
    fclose(f);
    snprintf(args, sizeof args, "analyze '%s'", p);
    snprintf(want, sizeof want,
             "lathe: %s: not an audio file lathe can read (libsndfile: Format not recognised.)\n", p);
    expect(args, 65, want);

    snprintf(p, sizeof p, "%s/cut.wav", dir);
    write_wav(p, LATHE_SAMPLE_PCM16, 48000, 0.5f, -1);
    struct stat st;
    stat(p, &st);
    assert_int_equal(truncate(p, st.st_size - 100000), 0);
    snprintf(args, sizeof args, "analyze '%s'", p);
    snprintf(want, sizeof want,
             "lathe: %s: truncated file (the header promises 192000 bytes of audio, the file "
             "holds 92000)\n",
             p);
    expect(args, 65, want);

    snprintf(p, sizeof p, "%s/nan.wav", dir);
    write_wav(p, LATHE_SAMPLE_FLOAT32, 96000, 0.5f, 60000);
    snprintf(args, sizeof args, "analyze '%s'", p);
    snprintf(want, sizeof want, "lathe: %s: sample is NaN at 0:01.250 (frame 60000, channel 1)\n",
             p);
    expect(args, 65, want);

    expect("analyze", 64, "lathe analyze: no files given\nusage: lathe analyze FILE... [--json] "
                          "[--threads N]\n");
    expect("analyze --loud x.wav", 64,
           "lathe analyze: unknown option '--loud'\nusage: lathe analyze FILE... [--json] "
           "[--threads N]\n");
    /* options after the files are options too (--threads was "unknown" there) */
    expect("analyze x.wav --threads 0", 64,
           "lathe analyze: --threads takes 1 to 256, not '0'\nusage: lathe analyze FILE... [--json] "
           "[--threads N]\n");
    expect("analyze x.wav --threads", 64,
           "lathe analyze: --threads needs a value\nusage: lathe analyze FILE... [--json] [--threads N]\n");
    /* the first lines exactly; the command list names every command */
    lt_run_result r = lt_run("'%s' frobnicate", lt_lathe_exe());
    assert_int_equal(r.status, 64);
    const char *head = "lathe: unknown command 'frobnicate'\n"
                       "usage: lathe COMMAND [OPTIONS] ...\n"
                       "\n"
                       "commands:\n";
    if (strncmp(r.err, head, strlen(head)) != 0) fail_msg("stderr [%s]", r.err);
    static const char *const cmds[] = {"analyze", "mix", "master", "processors", "targets", "version"};
    for (int i = 0; i < 6; i++) {
        char pat[64];
        snprintf(pat, sizeof pat, "\n  %s ", cmds[i]);
        if (!strstr(r.err, pat)) fail_msg("usage lists no '%s': [%s]", cmds[i], r.err);
    }
    if (!strstr(r.err, "\n`lathe COMMAND --help` shows a command's options.\n")) fail_msg("stderr [%s]", r.err);
    lt_run_free(&r);
}

static void analyze_goes_on_after_a_bad_file(void **s)
{
    (void)s;
    char good[1024], bad[1024];
    snprintf(good, sizeof good, "%s/good.wav", dir);
    snprintf(bad, sizeof bad, "%s/nothere.wav", dir);
    write_wav(good, LATHE_SAMPLE_PCM24, 48000 * 3, 0.25f, -1);
    lt_run_result r = lt_run("'%s' analyze --json '%s' '%s' '%s'", lt_lathe_exe(), bad, good, bad);
    assert_int_equal(r.status, 66);
    char want[4096];
    snprintf(want, sizeof want, "lathe: %s: no such file\nlathe: %s: no such file\n", bad, bad);
    assert_string_equal(r.err, want);
    /* the good file is still measured: a 0.25 sine, both channels */
    assert_true(fabs(lt_json_num(r.out, "sample_peak_dbfs") - 20 * log10(0.25)) < 0.01);
    assert_true(fabs(lt_json_num(r.out, "correlation") - 1.0) < 1e-6);
    lt_run_free(&r);
}

static void analyze_json_has_every_documented_key(void **s)
{
    (void)s;
    char good[1024];
    snprintf(good, sizeof good, "%s/keys.wav", dir);
    write_wav(good, LATHE_SAMPLE_PCM16, 48000 * 2, 0.5f, -1);
    lt_run_result r = lt_run("'%s' analyze '%s' --json", lt_lathe_exe(), good);
    assert_int_equal(r.status, 0);
    static const char *keys[] = {
        "integrated_lufs", "loudness_range_lu", "true_peak_dbtp", "sample_peak_dbfs",
        "max_momentary_lufs", "max_short_term_lufs", "plr_db", "crest_db", "clipped_samples",
        "correlation", "side_mid_ratio_db", "duration_s", "sample_rate", "channels"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) (void)lt_json_num(r.out, keys[i]);
    assert_non_null(strstr(r.out, "\"dc_offset\": ["));
    assert_non_null(strstr(r.out, "\"platforms\": {"));
    assert_non_null(strstr(r.out, "\"spotify\": {"));
    assert_non_null(strstr(r.out, "\"podcast\": {"));
    assert_true(lt_json_num(r.out, "sample_rate") == 48000);
    assert_true(fabs(lt_json_num(r.out, "duration_s") - 2.0) < 1e-9);
    /* a sine: crest factor 3.01 dB */
    assert_true(fabs(lt_json_num(r.out, "crest_db") - 3.01) < 0.02);
    lt_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(analyze_agrees_with_ffmpeg_on_every_material_song),
        cmocka_unit_test(analyze_error_messages_and_exit_codes),
        cmocka_unit_test(analyze_goes_on_after_a_bad_file),
        cmocka_unit_test(analyze_json_has_every_documented_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
