/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe analyze FILE... [--json] [--threads N] [--report FILE.html [--target NAME] [--force]]
 * Measures each file (loudness, peaks, statistics) and says what every
 * platform will do to it.  Files are analysed in parallel and printed in
 * the order given; a file that fails is reported and the others go on.
 * --report also collects time series and spectra (lathe/series.h) in the
 * same pass and writes one HTML page with a part per file. */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lathe/analysis.h"
#include "lathe/report.h"
#include "lathe/series.h"
#include "lathe/targets.h"
#include "report/json.h"
#include "util/fpu.h"


/* The usage line in error messages stays the one tests and scripts know; --help tells all. */
static const char use[] = "usage: lathe analyze FILE... [--json] [--threads N]\n";
static const char help[] =
    "usage: lathe analyze FILE... [--json] [--threads N]\n"
    "                     [--report FILE.html [--target NAME] [--force]]\n"
    "  --json            one JSON object per file\n"
    "  --threads N       files analysed in parallel (default: all cores)\n"
    "  --report FILE     also write an HTML report with plots, one part per file\n"
    "  --target NAME     loudness target and true-peak ceiling drawn and checked in the\n"
    "                    report (a name from `lathe targets`)\n"
    "  --force           replace an existing report\n";

typedef struct {
    const char *path;
    lathe_analysis res;
    lathe_audio_info info;
    lathe_error err;
    lathe_status st;
    int done;
    int want_series;
    lathe_series *series; /* with --report */
} job;

typedef struct {
    job *jobs;
    int n, next;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} pool;


static void *worker(void *arg)
{
    pool *p = arg;
    lathe_denormals_off();
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int i = p->next < p->n ? p->next++ : -1;
        pthread_mutex_unlock(&p->mu);
        if (i < 0) return NULL;
        job *j = &p->jobs[i];
        j->st = j->want_series ? lathe_series_analyze_file(j->path, &j->series, &j->res, &j->info, &j->err)
                               : lathe_analyze_file(j->path, &j->res, &j->info, &j->err);
        pthread_mutex_lock(&p->mu);
        j->done = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

static const char *chan_name(int c, int n)
{
    static const char *st[] = {"L", "R"};
    static const char *sur[] = {"L", "R", "C", "LFE", "Ls", "Rs", "7", "8"};
    static const char *five[] = {"L", "R", "C", "Ls", "Rs"};
    static const char *num[] = {"1", "2", "3", "4", "5", "6", "7", "8"};
    if (n == 1) return "M";
    if (n == 2) return st[c];
    if (n == 5) return five[c];
    if (n >= 6) return sur[c];
    return num[c];
}

static const char *platform_action(const lathe_target *t, double gain, double want)
{
    if (t->policy == LATHE_NORM_NONE) return "no normalisation";
    if (t->policy == LATHE_NORM_BOTH) {
        if (fabs(gain) < 0.05) return "meets the spec";
        return gain < 0 ? "must be turned down" : "must be raised";
    }
    if (fabs(gain) < 0.05) {
        if (want <= 0.05) return "unchanged";
        return t->policy == LATHE_NORM_DOWN ? "not raised (down only)"
                                            : "not raised (true-peak headroom)";
    }
    if (gain < 0) return "turned down";
    return gain < want - 0.05 ? "raised (held by true-peak headroom)" : "raised";
}

/* What a platform does to the file: the gain it applies; *target its
 * loudness target (mono files use the mono one), *want the gain that would
 * land exactly on it. */
static double platform_gain(const lathe_target *t, const lathe_analysis *a, double *target,
                            double *want)
{
    int mono = a->channels == 1;
    *target = mono ? t->mono_lufs : t->lufs;
    *want = *target - a->integrated_lufs;
    return lathe_target_playback_gain(t, a->integrated_lufs, a->true_peak_dbtp, mono);
}

static void print_human(const job *j)
{
    const lathe_analysis *a = &j->res;
    char b1[32], b2[32], b3[32];
    printf("%s\n", j->path);
    printf("  %s %s, %.0f Hz, %d ch, %s\n", j->info.container, j->info.encoding, a->rate,
           a->channels, cli_duration(a->duration_s, b1, sizeof b1));
    printf("  %-16s %7s LUFS   %-16s %7s LU\n", "integrated", cli_db(a->integrated_lufs, b1, 32),
           "loudness range", cli_db(a->loudness_range_lu, b2, 32));
    printf("  %-16s %7s dBTP   %-16s %7s dBFS\n", "true peak", cli_db(a->true_peak_dbtp, b1, 32),
           "sample peak", cli_db(a->sample_peak_dbfs, b2, 32));
    printf("  %-16s %7s LUFS   %-16s %7s LUFS\n", "max momentary",
           cli_db(a->max_momentary_lufs, b1, 32), "max short-term",
           cli_db(a->max_short_term_lufs, b2, 32));
    printf("  %-16s %7s dB     %-16s %7s dB\n", "PLR", cli_db(a->plr_db, b1, 32), "crest factor",
           cli_db(a->crest_db, b2, 32));
    if (a->channels == 2) {
        snprintf(b1, sizeof b1, isnan(a->correlation) ? "n/a" : "%+.2f", a->correlation);
        printf("  %-16s %7s        %-16s %7s dB\n", "correlation", b1, "side/mid",
               cli_db(a->side_mid_db, b2, 32));
    }
    printf("  %-16s %7lld\n", "clipped samples", a->clipped_samples);
    printf("  %-8s %9s %9s %9s\n", "channel", "TP dBTP", "SP dBFS", "DC %");
    for (int c = 0; c < a->channels; c++)
        printf("  %-8s %9s %9s %9.3f\n", chan_name(c, a->channels),
               cli_db(a->channel_true_peak_dbtp[c], b1, 32),
               cli_db(a->channel_sample_peak_dbfs[c], b2, 32), 100.0 * a->dc_offset[c]);
    printf("  %-12s %7s %8s %10s\n", "platform", "target", "gain", "plays at");
    int n;
    const lathe_target *t = lathe_targets(&n);
    for (int i = 0; i < n; i++) {
        if (!t[i].is_platform) continue;
        double target, want, g = platform_gain(&t[i], a, &target, &want);
        snprintf(b1, sizeof b1, "%.0f", target);
        snprintf(b2, sizeof b2, "%+.1f dB", g);
        snprintf(b3, sizeof b3, "%.1f LUFS", a->integrated_lufs + g);
        printf("  %-12s %7s %8s %10s  %s\n", t[i].name, b1, b2,
               isfinite(a->integrated_lufs) ? b3 : "-", platform_action(&t[i], g, want));
    }
}

static void print_json(lathe_json *js, const job *j)
{
    const lathe_analysis *a = &j->res;
    lathe_json_object(js, NULL);
    lathe_json_str(js, "file", j->path);
    lathe_json_str(js, "container", j->info.container);
    lathe_json_str(js, "encoding", j->info.encoding);
    lathe_json_int(js, "sample_rate", (long long)a->rate);
    lathe_json_int(js, "channels", a->channels);
    lathe_json_int(js, "frames", a->frames);
    lathe_json_num(js, "duration_s", a->duration_s, 3);
    lathe_json_num(js, "integrated_lufs", a->integrated_lufs, 2);
    lathe_json_num(js, "loudness_range_lu", a->loudness_range_lu, 2);
    lathe_json_num(js, "max_momentary_lufs", a->max_momentary_lufs, 2);
    lathe_json_num(js, "max_short_term_lufs", a->max_short_term_lufs, 2);
    lathe_json_num(js, "true_peak_dbtp", a->true_peak_dbtp, 2);
    lathe_json_num(js, "sample_peak_dbfs", a->sample_peak_dbfs, 2);
    lathe_json_num(js, "plr_db", a->plr_db, 2);
    lathe_json_num(js, "crest_db", a->crest_db, 2);
    lathe_json_num(js, "rms_dbfs", a->rms_dbfs, 2);
    lathe_json_int(js, "clipped_samples", a->clipped_samples);
    lathe_json_num(js, "correlation", a->correlation, 4);
    lathe_json_num(js, "side_mid_ratio_db", a->side_mid_db, 2);
    lathe_json_array(js, "channel_true_peak_dbtp");
    for (int c = 0; c < a->channels; c++) lathe_json_num(js, NULL, a->channel_true_peak_dbtp[c], 2);
    lathe_json_end(js);
    lathe_json_array(js, "channel_sample_peak_dbfs");
    for (int c = 0; c < a->channels; c++)
        lathe_json_num(js, NULL, a->channel_sample_peak_dbfs[c], 2);
    lathe_json_end(js);
    lathe_json_array(js, "dc_offset");
    for (int c = 0; c < a->channels; c++) lathe_json_num(js, NULL, a->dc_offset[c], 6);
    lathe_json_end(js);
    lathe_json_object(js, "platforms");
    int n;
    const lathe_target *t = lathe_targets(&n);
    for (int i = 0; i < n; i++) {
        if (!t[i].is_platform) continue;
        double target, want, g = platform_gain(&t[i], a, &target, &want);
        lathe_json_object(js, t[i].name);
        lathe_json_num(js, "target_lufs", target, 1);
        lathe_json_num(js, "gain_db", g, 2);
        lathe_json_num(js, "playback_lufs", a->integrated_lufs + g, 2);
        lathe_json_num(js, "playback_true_peak_dbtp", a->true_peak_dbtp + g, 2);
        lathe_json_str(js, "action", platform_action(&t[i], g, want));
        lathe_json_end(js);
    }
    lathe_json_end(js);
    lathe_json_end(js);
}

/* The HTML report: one part per analysed file, in the order given. */
static int write_report(const char *path, job *jobs, int n, const lathe_target *target, int force)
{
    lathe_error err = {0};
    char title[512];
    int ok = 0, last = -1;
    for (int i = 0; i < n; i++)
        if (jobs[i].st == LATHE_OK) ok++, last = i;
    if (!ok) return EXIT_OK; /* nothing analysed: the errors are already printed */
    if (ok == 1) snprintf(title, sizeof title, "lathe analyze: %s", jobs[last].path);
    else snprintf(title, sizeof title, "lathe analyze: %d files", ok);
    lathe_report *r = lathe_report_new(title, &err);
    if (!r) {
        cli_error("%s: %s", path, err.msg);
        return EXIT_FAIL;
    }
    if (target) lathe_report_set_target(r, target->name, target->lufs, target->ceiling_dbtp);
    lathe_status st = LATHE_OK;
    for (int i = 0; i < n && st == LATHE_OK; i++) {
        job *j = &jobs[i];
        if (j->st != LATHE_OK) continue;
        char label[1200], dur[32];
        snprintf(label, sizeof label, "%s (%s %s, %.0f Hz, %d ch, %s)", j->path, j->info.container,
                 j->info.encoding, j->res.rate, j->res.channels,
                 cli_duration(j->res.duration_s, dur, sizeof dur));
        st = lathe_report_add_analysis(r, label, &j->res, j->series, &err);
    }
    if (st == LATHE_OK) st = lathe_report_write(r, path, force, &err);
    lathe_report_free(r);
    if (st != LATHE_OK) {
        cli_error("%s", err.msg);
        return cli_exit_for_output(st);
    }
    return EXIT_OK;
}

int cmd_analyze(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"report", required_argument, NULL, 'r'},
                                         {"target", required_argument, NULL, 'T'},
                                         {"force", no_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int json = 0, force = 0, threads = (int)sysconf(_SC_NPROCESSORS_ONLN), c;
    const char *report = NULL, *target_name = NULL;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":jt:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'r': report = optarg; break;
        case 'T': target_name = optarg; break;
        case 'f': force = 1; break;
        case 't': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 256)
                return cli_usage_error("analyze", use, "--threads takes 1 to 256, not '%s'",
                                       optarg);
            threads = (int)v;
            break;
        }
        case 'h': fputs(help, stdout); return EXIT_OK;
        case ':': return cli_usage_error("analyze", use, "%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("analyze", use, "unknown option '%s'", argv[optind - 1]);
        }
    }
    /* GNU getopt moves the files after the options, wherever they were given
     * ("--" ends the options) */
    char **files = argv + optind;
    const int nfiles = argc - optind;
    int rc = EXIT_OK;
    if (!nfiles) return cli_usage_error("analyze", use, "no files given");
    const lathe_target *target = NULL;
    if (target_name) {
        if (!report) return cli_usage_error("analyze", use, "--target is used by --report only");
        target = lathe_target_find(target_name);
        if (!target)
            return cli_usage_error("analyze", use, "unknown target '%s' (lathe targets lists them)",
                                   target_name);
    }
    if (report) {
        lathe_error err = {0};
        const char *suffix = strrchr(report, '.');
        lathe_status st;
        if (!suffix || (strcmp(suffix, ".html") && strcmp(suffix, ".htm")))
            return cli_usage_error("analyze", use, "--report wants a .html file, not '%s'", report);
        st = lathe_output_check(report, (const char *const *)files, nfiles, force, &err);
        if (st != LATHE_OK) {
            cli_error("%s", err.msg);
            return cli_exit_for_output(st);
        }
        /* the folder must take the report: say so now, not after the analysis */
        char folder[4096];
        const char *slash = strrchr(report, '/');
        if (!slash) snprintf(folder, sizeof folder, ".");
        else if (slash == report) snprintf(folder, sizeof folder, "/");
        else snprintf(folder, sizeof folder, "%.*s", (int)(slash - report), report);
        if (access(folder, W_OK | X_OK) != 0) {
            cli_error("%s: cannot create the report: folder %s %s", report, folder,
                      access(folder, F_OK) ? "does not exist" : "is not writable");
            return EXIT_CANTCREAT;
        }
    }
    if (threads > nfiles) threads = nfiles;
    if (threads < 1) threads = 1;

    pool p = {calloc((size_t)nfiles, sizeof(job)), nfiles, 0, PTHREAD_MUTEX_INITIALIZER,
              PTHREAD_COND_INITIALIZER};
    for (int i = 0; i < nfiles; i++) {
        p.jobs[i].path = files[i];
        p.jobs[i].want_series = report != NULL;
    }
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    for (int i = 0; i < threads; i++) pthread_create(&tid[i], NULL, worker, &p);

    int shown = 0;
    lathe_json js;
    lathe_json_init(&js, stdout);
    if (json) lathe_json_array(&js, NULL);
    for (int i = 0; i < nfiles; i++) {
        pthread_mutex_lock(&p.mu);
        while (!p.jobs[i].done) pthread_cond_wait(&p.cv, &p.mu);
        pthread_mutex_unlock(&p.mu);
        job *j = &p.jobs[i];
        if (j->st != LATHE_OK) {
            fflush(stdout);
            cli_error("%s", j->err.msg);
            if (rc == EXIT_OK) rc = cli_exit_for_input(j->st);
            continue;
        }
        if (json) print_json(&js, j);
        else {
            if (shown) putchar('\n');
            print_human(j);
        }
        shown++;
        fflush(stdout);
    }
    if (json) lathe_json_end(&js);
    for (int i = 0; i < threads; i++) pthread_join(tid[i], NULL);
    if (report) {
        int wrc = write_report(report, p.jobs, nfiles, target, force);
        if (rc == EXIT_OK) rc = wrc;
        lathe_report_release_caches(); /* the workers are joined: nothing draws now */
    }
    for (int i = 0; i < nfiles; i++) lathe_series_free(p.jobs[i].series);
    free(tid);
    free(p.jobs);
    return rc;
}
