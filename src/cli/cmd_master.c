/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe master IN -o OUT [--target PRESET | --lufs X --ceiling Y] [--chain FILE]
 *              [--rate HZ] [--bits 16|24|32] [--dither auto|off|SHAPE]
 *              [--format wav|flac|aiff|mp3|ogg|opus] [--bitrate KBPS] [--vbr]
 *              [--quality Q] [--meta KEY=VALUE]... [--threads N] [--force] [--json] [--quiet]
 * Masters one stereo or mono mix to a loudness target under a true-peak
 * ceiling and reports what was done (lathe/master.h, docs/master.md). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lathe/master.h"
#include "lathe/report.h"
#include "lathe/series.h"
#include "lathe/targets.h"
#include "report/json.h"

static const char use[] =
    "usage: lathe master IN -o OUT [--target PRESET | --lufs X --ceiling Y] [--chain FILE]\n"
    "                    [--rate HZ] [--bits 16|24|32] [--dither auto|off|tpdf|highpass|fweighted]\n"
    "                    [--format wav|flac|aiff|mp3|ogg|opus] [--bitrate KBPS] [--vbr] [--quality Q]\n"
    "                    [--meta KEY=VALUE]... [--report FILE.html] [--threads N] [--force] [--json]\n"
    "                    [--quiet] [--reference REF | --tone-target neutral|warm|bright]\n"
    "                    [--match loudness,tone,width,dynamics] [--amount P] [--amount-tone P]\n"
    "                    [--amount-width P] [--amount-dynamics P] [--max-eq DB]\n";

static void progress(void *user, double f)
{
    (void)user;
    cli_progress("mastering", f);
}

static const char *fmt_red(double max, double mean, char *buf, size_t len)
{
    if (isnan(max)) snprintf(buf, len, "off");
    else snprintf(buf, len, "max %.1f dB, mean %.1f dB", max, mean);
    return buf;
}

static void print_report(const lathe_master_report *r, const char *in, const char *out)
{
    char a[32], b[32], c[32], x[96];
    printf("%s -> %s: %s target %.1f LUFS, ceiling %.1f dBTP, %.0f Hz %s%s, %s\n", in, out,
           r->target, r->target_lufs, r->ceiling_dbtp, r->out_rate,
           r->lossy ? r->codec : r->out_bits == 32 ? "32-bit float" : r->out_bits == 16 ? "16-bit" : "24-bit",
           r->out_channels == 1 ? " mono" : "", strcmp(r->dither, "off") ? r->dither : "no dither");
    printf("  %-20s %12s %12s\n", "", "before", "after");
    printf("  %-20s %7s LUFS %7s LUFS\n", "integrated", cli_db(r->before.integrated_lufs, a, 32),
           cli_db(r->after.integrated_lufs, b, 32));
    printf("  %-20s %7s LU   %7s LU\n", "loudness range", cli_db(r->before.loudness_range_lu, a, 32),
           cli_db(r->after.loudness_range_lu, b, 32));
    printf("  %-20s %7s dBTP %7s dBTP\n", "true peak", cli_db(r->before.true_peak_dbtp, a, 32),
           cli_db(r->after.true_peak_dbtp, b, 32));
    printf("  %-20s %7s dB   %7s dB\n", "PLR", cli_db(r->before.plr_db, a, 32),
           cli_db(r->after.plr_db, b, 32));
    printf("  %-20s %+7.2f dB (%d limiter pass%s)\n", "gain into limiter", r->gain_db, r->passes,
           r->passes == 1 ? "" : "es");
    if (r->lossy)
        printf("  %-20s %s dBTP first, %s dBTP final (%d encode%s)\n", "codec true peak",
               cli_db(r->codec_true_peak_first_dbtp, a, 32), cli_db(r->codec_true_peak_final_dbtp, b, 32),
               r->encodes, r->encodes == 1 ? "" : "s");
    printf("  %-20s %s\n", "limiter reduction", fmt_red(r->limiter_max_db, r->limiter_mean_db, x, sizeof x));
    printf("  %-20s %s\n", "glue compressor", fmt_red(r->glue_max_db, r->glue_mean_db, x, sizeof x));
    if (!isnan(r->multiband_max_db))
        printf("  %-20s %s\n", "multiband", fmt_red(r->multiband_max_db, r->multiband_mean_db, x, sizeof x));
    printf("  chain:\n");
    for (int i = 0; i < r->nstages; i++)
        printf("    %-10s %-11s %s\n", r->stages[i].name, r->stages[i].proc,
               r->stages[i].settings[0] ? r->stages[i].settings : "(defaults)");
    int n = 0;
    const lathe_target *t = lathe_targets(&n);
    printf("  playback gain:");
    int col = 16;
    for (int i = 0; i < n; i++) {
        if (!t[i].is_platform) continue;
        double g = lathe_target_playback_gain(&t[i], r->after.integrated_lufs, r->after.true_peak_dbtp,
                                              r->out_channels == 1);
        int w = printf(" %s %s dB", t[i].name, cli_db(g, c, sizeof c));
        col += w;
        if (col > 80 && i + 1 < n) printf("\n               "), col = 16;
    }
    printf("\n");
    for (int i = 0; i < r->nwarnings; i++) {
        int note = strcmp(r->warnings[i].code, "turned-down") == 0;
        printf("%s%s:%s %s\n", cli_color(stdout, note ? CLI_BOLD : CLI_YELLOW), note ? "note" : "warning",
               cli_color(stdout, CLI_RESET), r->warnings[i].text);
    }
}

static void json_analysis(lathe_json *j, const char *key, const lathe_analysis *a)
{
    lathe_json_object(j, key);
    lathe_json_num(j, "integrated_lufs", a->integrated_lufs, 2);
    lathe_json_num(j, "loudness_range_lu", a->loudness_range_lu, 2);
    lathe_json_num(j, "true_peak_dbtp", a->true_peak_dbtp, 2);
    lathe_json_num(j, "sample_peak_dbfs", a->sample_peak_dbfs, 2);
    lathe_json_num(j, "plr_db", a->plr_db, 2);
    lathe_json_num(j, "max_short_term_lufs", a->max_short_term_lufs, 2);
    lathe_json_num(j, "correlation", a->correlation, 3);
    lathe_json_num(j, "duration_s", a->duration_s, 3);
    lathe_json_num(j, "sample_rate", a->rate, 0);
    lathe_json_int(j, "channels", a->channels);
    lathe_json_end(j);
}

static void print_json(const lathe_master_report *r, const char *in, const char *out)
{
    lathe_json j;
    lathe_json_init(&j, stdout);
    lathe_json_object(&j, NULL);
    lathe_json_str(&j, "input", in);
    lathe_json_str(&j, "output", out);
    lathe_json_str(&j, "target", r->target);
    lathe_json_num(&j, "target_lufs", r->target_lufs, 2);
    lathe_json_num(&j, "ceiling_dbtp", r->ceiling_dbtp, 2);
    lathe_json_num(&j, "sample_rate", r->out_rate, 0);
    lathe_json_int(&j, "bits", r->out_bits);
    lathe_json_int(&j, "channels", r->out_channels);
    lathe_json_str(&j, "dither", r->dither);
    lathe_json_str(&j, "format", r->format);
    lathe_json_str(&j, "codec", r->codec);
    lathe_json_bool(&j, "tagged", r->tagged);
    json_analysis(&j, "before", &r->before);
    json_analysis(&j, "pre_limiter", &r->pre_limiter);
    json_analysis(&j, "after", &r->after);
    if (r->lossy) {
        json_analysis(&j, "encoder_input", &r->encoder_input);
        lathe_json_object(&j, "codec_true_peak_dbtp");
        lathe_json_num(&j, "first", r->codec_true_peak_first_dbtp, 2);
        lathe_json_num(&j, "final", r->codec_true_peak_final_dbtp, 2);
        lathe_json_end(&j);
        lathe_json_int(&j, "encodes", r->encodes);
        lathe_json_int(&j, "reencodes", r->encodes > 0 ? r->encodes - 1 : 0);
    }
    lathe_json_num(&j, "gain_db", r->gain_db, 3);
    lathe_json_int(&j, "passes", r->passes);
    lathe_json_num(&j, "limiter_ceiling_dbtp", r->limiter_ceiling_dbtp, 2);
    lathe_json_num(&j, "limiter_max_db", r->limiter_max_db, 2);
    lathe_json_num(&j, "limiter_mean_db", r->limiter_mean_db, 2);
    lathe_json_num(&j, "glue_max_db", r->glue_max_db, 2);
    lathe_json_num(&j, "glue_mean_db", r->glue_mean_db, 2);
    lathe_json_num(&j, "multiband_max_db", r->multiband_max_db, 2);
    lathe_json_num(&j, "multiband_mean_db", r->multiband_mean_db, 2);
    lathe_json_bool(&j, "limited", r->limited);
    lathe_json_bool(&j, "turned_down", r->turned_down);
    lathe_json_object(&j, "time_s");
    lathe_json_num(&j, "analysis", r->time_analysis_s, 3);
    lathe_json_num(&j, "chain", r->time_chain_s, 3);
    lathe_json_num(&j, "solve", r->time_solve_s, 3);
    lathe_json_end(&j);
    lathe_json_array(&j, "chain");
    for (int i = 0; i < r->nstages; i++) {
        lathe_json_object(&j, NULL);
        lathe_json_str(&j, "stage", r->stages[i].name);
        lathe_json_str(&j, "processor", r->stages[i].proc);
        lathe_json_str(&j, "settings", r->stages[i].settings);
        lathe_json_end(&j);
    }
    lathe_json_end(&j);
    lathe_json_object(&j, "playback_gain_db");
    int n = 0;
    const lathe_target *t = lathe_targets(&n);
    for (int i = 0; i < n; i++)
        if (t[i].is_platform)
            lathe_json_num(&j, t[i].name,
                           lathe_target_playback_gain(&t[i], r->after.integrated_lufs,
                                                      r->after.true_peak_dbtp, r->out_channels == 1),
                           2);
    lathe_json_end(&j);
    lathe_json_array(&j, "warnings");
    for (int i = 0; i < r->nwarnings; i++) {
        lathe_json_object(&j, NULL);
        lathe_json_str(&j, "code", r->warnings[i].code);
        lathe_json_str(&j, "text", r->warnings[i].text);
        lathe_json_end(&j);
    }
    lathe_json_end(&j);
    if (r->reference) {
        lathe_json_raw(&j, "reference");
        lathe_ref_plan_write_json(r->reference, stdout);
    }
    lathe_json_end(&j);
}

static int parse_num(const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    while (*end == ' ') end++;
    if (end != s && (strcasecmp(end, "lufs") == 0 || strcasecmp(end, "db") == 0 ||
                     strcasecmp(end, "dbtp") == 0 || strcasecmp(end, "hz") == 0))
        end += strlen(end);
    return end != s && *end == '\0' && isfinite(*out);
}

/* "70", "70%" or "70 %", 0..100 */
static int parse_pct(const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    while (*end == ' ') end++;
    if (*end == '%') end++;
    return end != s && *end == '\0' && *out >= 0 && *out <= 100;
}

static int run(int argc, char **argv, lathe_meta *meta);

int cmd_master(int argc, char **argv)
{
    lathe_meta meta;
    memset(&meta, 0, sizeof meta);
    int rc = run(argc, argv, &meta);
    lathe_meta_free(&meta);
    return rc;
}


/* The HTML report: before against after (loudness, waveform, spectrum,
 * gain reduction, stereo), the chain and the findings. */
static lathe_status write_report(const char *path, const char *in, const char *out,
                                 const lathe_master_report *rep, int force, lathe_error *err)
{
    lathe_series *sb = NULL;
    lathe_status rs = lathe_series_analyze_file(in, &sb, NULL, NULL, err);
    if (rs != LATHE_OK) return rs;
    char title[600];
    snprintf(title, sizeof title, "lathe master: %s", out);
    lathe_report *r = lathe_report_new(title, err);
    lathe_status st = r ? LATHE_OK : err->code;
    if (r) {
        lathe_report_set_target(r, rep->target, rep->target_lufs, rep->ceiling_dbtp);
        char text[700];
        snprintf(text, sizeof text,
                 "%s mastered for %s: target %.1f LUFS, ceiling %.1f dBTP. Gain into the limiter %+.2f dB "
                 "(%d render%s); limiter reduction max %.1f dB, mean %.2f dB; glue max %.1f dB, mean %.2f dB.",
                 in, rep->target, rep->target_lufs, rep->ceiling_dbtp, rep->gain_db, rep->passes,
                 rep->passes == 1 ? "" : "s", rep->limiter_max_db, rep->limiter_mean_db,
                 isnan(rep->glue_max_db) ? 0.0 : rep->glue_max_db,
                 isnan(rep->glue_mean_db) ? 0.0 : rep->glue_mean_db);
        lathe_report_part(r, "What was done");
        lathe_report_text(r, text);
        if (rep->lossy) {
            char a[32], b[32], c[32];
            snprintf(text, sizeof text,
                     "Delivered as %s. Decoded again, its true peak was %s dBTP at the first encode and is %s dBTP "
                     "as written (%d encode%s, the limiter at %s dBTP).",
                     rep->codec, cli_db_n(rep->codec_true_peak_first_dbtp, 2, a, sizeof a),
                     cli_db_n(rep->codec_true_peak_final_dbtp, 2, b, sizeof b), rep->encodes,
                     rep->encodes == 1 ? "" : "s", cli_db_n(rep->limiter_ceiling_dbtp, 2, c, sizeof c));
            lathe_report_text(r, text);
        }
        static const char *const heads[] = {"stage", "processor", "settings"};
        lathe_report_table(r, "The chain", 3, heads);
        for (int i = 0; i < rep->nstages; i++) {
            const char *row[3] = {rep->stages[i].name, rep->stages[i].proc,
                                  rep->stages[i].settings[0] ? rep->stages[i].settings : "(defaults)"};
            lathe_report_row(r, row);
        }
        for (int i = 0; i < rep->nwarnings; i++) lathe_report_warning(r, rep->warnings[i].text, NULL);
        if (rep->reference) {
            const lathe_ref_master_plan *pl = rep->reference;
            lathe_report_section(r, "reference", "Reference match");
            lathe_plot *p = lathe_plot_new("Mid spectrum: mix, reference and correction", "frequency (Hz)",
                                           "level (dB)", LATHE_X_LOG);
            st = p ? LATHE_OK : lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
            if (st == LATHE_OK) st = lathe_plot_spectrum(p, "mix before", pl->before_db, pl->bins, pl->bin_hz);
            if (st == LATHE_OK) st = lathe_plot_spectrum(p, "mix after", pl->after_db, pl->bins, pl->bin_hz);
            if (st == LATHE_OK)
                st = lathe_plot_spectrum(p, "reference (level-aligned)", pl->ref_spec_db, pl->ref_bins,
                                         pl->ref_bin_hz);
            if (st == LATHE_OK)
                st = lathe_report_plot(r, p, "Loud sections' average mid spectra, 1/6-octave smoothed", err);
            lathe_plot_free(p);
            p = lathe_plot_new("Correction applied (mid)", "frequency (Hz)", "gain (dB)", LATHE_X_LOG);
            if (st == LATHE_OK && !p) st = lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
            if (st == LATHE_OK) st = lathe_plot_spectrum(p, "correction", pl->corr_db, pl->bins, pl->bin_hz);
            if (st == LATHE_OK) st = lathe_report_plot(r, p, "The match stage's mid curve", err);
            lathe_plot_free(p);
            static const char *const rh[] = {"band (Hz)", "mix (dB)", "reference (dB)", "tone (dB)",
                                             "width change (dB)"};
            lathe_report_table(r, "Per band", 5, rh);
            for (int k = 0; st == LATHE_OK && k < LATHE_REF_BANDS; k++) {
                if (!pl->band_used[k]) continue;
                char c0[32], c1[32], c2[32], c3[32], c4[32];
                snprintf(c0, sizeof c0, "%.0f", pl->band_hz[k]);
                snprintf(c1, sizeof c1, "%.1f", pl->mix_db[k]);
                snprintf(c2, sizeof c2, "%.1f%s", pl->ref_db[k], pl->far[k] ? " (far)" : "");
                snprintf(c3, sizeof c3, "%+.1f", pl->tone_db[k]);
                snprintf(c4, sizeof c4, "%+.1f", pl->width_db[k]);
                const char *row[5] = {c0, c1, c2, c3, c4};
                lathe_report_row(r, row);
            }
        }
        if (st == LATHE_OK)
            st = lathe_report_add_comparison(r, out, &rep->before, sb, &rep->after, rep->series, err);
        if (st == LATHE_OK) st = lathe_report_write(r, path, force, err);
    }
    lathe_report_free(r);
    lathe_series_free(sb);
    lathe_report_release_caches();
    return st;
}

static int run(int argc, char **argv, lathe_meta *meta)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},  {"target", required_argument, NULL, 'T'},
        {"lufs", required_argument, NULL, 'L'},    {"ceiling", required_argument, NULL, 'C'},
        {"chain", required_argument, NULL, 'c'},   {"rate", required_argument, NULL, 'r'},
        {"bits", required_argument, NULL, 'b'},    {"dither", required_argument, NULL, 'd'},
        {"threads", required_argument, NULL, 't'}, {"force", no_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},          {"quiet", no_argument, NULL, 'q'},
        {"format", required_argument, NULL, 'F'},  {"meta", required_argument, NULL, 'm'},
        {"bitrate", required_argument, NULL, 'B'}, {"vbr", no_argument, NULL, 'V'},
        {"quality", required_argument, NULL, 'Q'}, {"report", required_argument, NULL, 'R'},
        {"reference", required_argument, NULL, 1000},       {"tone-target", required_argument, NULL, 1001},
        {"match", required_argument, NULL, 1002},           {"amount", required_argument, NULL, 1003},
        {"amount-tone", required_argument, NULL, 1004},     {"amount-width", required_argument, NULL, 1005},
        {"amount-dynamics", required_argument, NULL, 1006}, {"max-eq", required_argument, NULL, 1007},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    int have_meta = 0;
    const char *report = NULL;
    lathe_master_options o;
    memset(&o, 0, sizeof o);
    o.lufs = NAN, o.ceiling_dbtp = NAN, o.fixed_gain_db = NAN;
    /* the reference flags given; the rest comes from the chain file's
     * reference: map, else the defaults (NaN and match 0: not given) */
    lathe_ref_options ro;
    lathe_ref_options_default(&ro);
    ro.match = 0;
    ro.amount_tone = ro.amount_width = ro.amount_dynamics = ro.max_eq_db = ro.max_width_db = NAN;
    const char *out = NULL;
    int json = 0, quiet = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:T:L:C:c:r:b:d:t:fjqhF:m:B:VQ:R:", opts, NULL)) != -1) {
        char *end;
        double v;
        switch (c) {
        case 'o': out = optarg; break;
        case 'T':
            if (!lathe_target_find(optarg))
                return cli_usage_error("master", use, "unknown target '%s' (`lathe targets` lists them)",
                                       optarg);
            o.target = optarg;
            break;
        case 'L':
            if (!parse_num(optarg, &v) || v < -70 || v > 0)
                return cli_usage_error("master", use, "--lufs takes -70 to 0, not '%s'", optarg);
            o.lufs = v;
            break;
        case 'C':
            if (!parse_num(optarg, &v) || v < -20 || v > 0)
                return cli_usage_error("master", use, "--ceiling takes -20 to 0 dBTP, not '%s'", optarg);
            o.ceiling_dbtp = v;
            break;
        case 'c': o.chain_path = optarg; break;
        case 'r':
            if (!parse_num(optarg, &v) || v < 8000 || v > 384000)
                return cli_usage_error("master", use, "--rate takes 8000 to 384000 Hz, not '%s'", optarg);
            o.rate = v;
            break;
        case 'b':
            o.bits = (int)strtol(optarg, &end, 10);
            if (*end || (o.bits != 16 && o.bits != 24 && o.bits != 32))
                return cli_usage_error("master", use, "--bits takes 16, 24 or 32, not '%s'", optarg);
            break;
        case 'd': o.dither = optarg; break;
        case 't':
            o.threads = (int)strtol(optarg, &end, 10);
            if (*end || o.threads < 1 || o.threads > 256)
                return cli_usage_error("master", use, "--threads takes 1 to 256, not '%s'", optarg);
            break;
        case 'F':
            o.format = lathe_file_type_from_name(optarg);
            if (!o.format)
                return cli_usage_error("master", use,
                                       "--format takes wav, flac, aiff, mp3, ogg or opus, not '%s'", optarg);
            break;
        case 'm': {
            lathe_error merr;
            if (lathe_meta_parse_arg(meta, optarg, &merr) != LATHE_OK)
                return cli_usage_error("master", use, "--meta: %s", merr.msg);
            have_meta = 1;
            break;
        }
        case 'B':
            o.codec.bitrate_kbps = (int)strtol(optarg, &end, 10);
            if (*end || o.codec.bitrate_kbps < 6 || o.codec.bitrate_kbps > 512)
                return cli_usage_error("master", use, "--bitrate takes 6 to 512 kbps, not '%s'", optarg);
            break;
        case 'V': o.codec.vbr = 1; break;
        case 'Q':
            if (!parse_num(optarg, &v) || v <= 0 || v > 10)
                return cli_usage_error("master", use, "--quality takes 0.1 to 10 (Vorbis), not '%s'", optarg);
            o.codec.quality = v / 10;
            break;
        case 'f': o.overwrite = 1; break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        case 1000: o.reference = optarg; break;
        case 1001: {
            const char *const *names = lathe_ref_tone_target_names();
            int ok = 0;
            for (int i = 0; names[i]; i++) ok |= strcmp(names[i], optarg) == 0;
            if (!ok) return cli_usage_error("master", use, "--tone-target: unknown target '%s' (neutral, warm, bright)", optarg);
            o.tone_target = optarg;
            break;
        }
        case 1002: {
            ro.match = 0;
            char buf[128];
            snprintf(buf, sizeof buf, "%s", optarg);
            for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
                if (!strcmp(t, "loudness")) ro.match |= LATHE_REF_MATCH_LOUDNESS;
                else if (!strcmp(t, "tone")) ro.match |= LATHE_REF_MATCH_TONE;
                else if (!strcmp(t, "width")) ro.match |= LATHE_REF_MATCH_WIDTH;
                else if (!strcmp(t, "dynamics")) ro.match |= LATHE_REF_MATCH_DYNAMICS;
                else return cli_usage_error("master", use, "--match: unknown dimension '%s' (loudness, tone, width, dynamics)", t);
            }
            if (!ro.match)
                return cli_usage_error("master", use, "--match needs one or more of loudness, tone, width, dynamics");
            break;
        }
        case 1003: case 1004: case 1005: case 1006: {
            if (!parse_pct(optarg, &v))
                return cli_usage_error("master", use, "--%s takes 0 to 100 %%, not '%s'",
                                       c == 1003 ? "amount" : c == 1004 ? "amount-tone"
                                                         : c == 1005 ? "amount-width" : "amount-dynamics",
                                       optarg);
            if (c == 1003 || c == 1004) ro.amount_tone = v / 100;
            if (c == 1003 || c == 1005) ro.amount_width = v / 100;
            if (c == 1003 || c == 1006) ro.amount_dynamics = v / 100;
            break;
        }
        case 1007:
            if (!parse_num(optarg, &v) || v < 0 || v > 24)
                return cli_usage_error("master", use, "--max-eq takes 0 to 24 dB, not '%s'", optarg);
            ro.max_eq_db = v;
            break;
        case 'R': {
            const char *dot = strrchr(optarg, '.');
            if (!dot || (strcasecmp(dot, ".html") && strcasecmp(dot, ".htm")))
                return cli_usage_error("master", use, "--report wants a .html file, not '%s'", optarg);
            report = optarg;
            o.want_series = 1;
            break;
        }
        case 'h': fputs(use, stdout); return EXIT_OK;
        case ':': return cli_usage_error("master", use, "%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("master", use, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("master", use, optind >= argc ? "no input given" : "one input at a time");
    const char *in = argv[optind];
    if (!out) return cli_usage_error("master", use, "no output given (-o MASTER.wav)");
    lathe_file_type ft = o.format ? o.format : lathe_file_type_from_path(out);
    if (!ft)
        return cli_usage_error("master", use,
                               "%s: unknown output format (use .wav, .flac, .aiff, .mp3, .ogg or .opus, "
                               "or --format)", out);
    if (ft == LATHE_FILE_OPUS && o.rate > 0 && o.rate != 48000 && o.rate != 24000 && o.rate != 16000 &&
        o.rate != 12000 && o.rate != 8000)
        return cli_usage_error("master", use, "%s: Opus runs at 8, 12, 16, 24 or 48 kHz, not %.0f Hz", out,
                               o.rate);
    if (ft == LATHE_FILE_MP3 && o.codec.vbr && o.codec.bitrate_kbps)
        return cli_usage_error("master", use, "--vbr (V0) and --bitrate exclude each other");
    if (ft == LATHE_FILE_MP3 && o.codec.bitrate_kbps && (o.codec.bitrate_kbps < 32 || o.codec.bitrate_kbps > 320))
        return cli_usage_error("master", use, "--bitrate: MP3 takes 32 to 320 kbps, not %d", o.codec.bitrate_kbps);
    if (ft == LATHE_FILE_MP3 && !o.codec.vbr && o.rate > 0 && o.rate < 32000)
        return cli_usage_error("master", use, "MP3 CBR needs 32 kHz or more (MPEG-1), not %.0f Hz; use --vbr",
                               o.rate);
    if (ft == LATHE_FILE_MP3 && o.rate > 48000)
        return cli_usage_error("master", use, "MP3 stops at 48 kHz, not %.0f Hz", o.rate);
    if (have_meta) o.meta = meta;
    if (o.reference && o.tone_target)
        return cli_usage_error("master", use, "--reference and --tone-target exclude each other");
    o.ref_options = &ro;

    lathe_error err;
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(in, &info, &err);
    if (!r) {
        cli_error("%s", err.msg);
        return cli_exit_for_input(err.code);
    }
    lathe_reader_close(r);
    if (ft == LATHE_FILE_OPUS && o.codec.bitrate_kbps &&
        (o.codec.bitrate_kbps < 6 * info.channels || o.codec.bitrate_kbps > 256 * info.channels))
        return cli_usage_error("master", use, "--bitrate: Opus takes %d to %d kbps for %d channel%s, not %d",
                               6 * info.channels, 256 * info.channels, info.channels,
                               info.channels == 1 ? "" : "s", o.codec.bitrate_kbps);
    if (info.channels > 2) {
        cli_error("%s: %d channels; lathe master takes mono or stereo mixes", in, info.channels);
        return EXIT_DATAERR;
    }
    lathe_status st = lathe_output_check(out, &in, 1, o.overwrite, &err);
    if (st != LATHE_OK) {
        cli_error("%s", err.msg);
        return cli_exit_for_output(st);
    }
    if (report) {
        const char *ins[2] = {in, out};
        st = lathe_output_check(report, ins, 2, o.overwrite, &err);
        if (st != LATHE_OK) {
            cli_error("%s", err.msg);
            return cli_exit_for_output(st);
        }
    }
    if (!json && cli_want_progress(quiet)) o.progress = progress;
    lathe_master_report rep;
    lathe_diags d;
    st = lathe_master_render(in, out, &o, &rep, &d, &err);
    if (o.progress) cli_progress_done();
    if (d.count > 0) {
        char line[1024];
        for (int i = 0; i < d.count; i++) fprintf(stderr, "%s\n", lathe_diag_format(&d, i, line, sizeof line));
        lathe_diags_free(&d);
        return EXIT_DATAERR;
    }
    lathe_diags_free(&d);
    if (st != LATHE_OK) {
        cli_error("%s", err.msg);
        return st == LATHE_E_IO ? EXIT_IOERR : cli_exit_for_input(st);
    }
    if (report) {
        st = write_report(report, in, out, &rep, o.overwrite, &err);
        lathe_series_free(rep.series);
        if (st != LATHE_OK) {
            cli_error("%s", err.msg);
            free(rep.reference);
            return cli_exit_for_output(st);
        }
    }
    if (json) print_json(&rep, in, out);
    else if (!quiet) {
        print_report(&rep, in, out);
        if (rep.reference) lathe_ref_plan_write_text(rep.reference, stdout);
    }
    free(rep.reference);
    return EXIT_OK;
}
