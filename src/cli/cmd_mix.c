/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe mix SESSION.yaml -o MIX.wav [--check] [--threads N] [--bits 16|24|32]
 *           [--stems DIR] [--report FILE.html] [--force] [--json] [--quiet]
 * Validates the session (every problem at once, as FILE:LINE:COL: message),
 * renders it, and reports the headroom left for mastering. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lathe/engine.h"
#include "lathe/report.h"
#include "lathe/session.h"
#include "report/json.h"

static const char use[] =
    "usage: lathe mix SESSION.yaml -o OUT.wav [--check] [--threads N] [--bits 16|24|32]\n"
    "                 [--stems DIR] [--report FILE.html] [--force] [--json] [--quiet]\n";

static void progress(void *user, double f)
{
    (void)user;
    cli_progress("mixing", f);
}

static void print_report(const lathe_session *s, const lathe_mix_report *r, const char *out)
{
    char a[32], b[32];
    printf("%s: %.1f s at %.0f Hz (%s tail), latency compensated %d frames\n", out, r->rendered_s,
           s->rate, cli_duration(r->tail_s, a, sizeof a), r->latency);
    printf("  %-16s %7s LUFS   %-16s %7s LU\n", "integrated", cli_db(r->mix.integrated_lufs, a, 32),
           "loudness range", cli_db(r->mix.loudness_range_lu, b, 32));
    printf("  %-16s %7s dBTP   %-16s %7s dBFS\n", "true peak", cli_db(r->mix.true_peak_dbtp, a, 32),
           "sample peak", cli_db(r->mix.sample_peak_dbfs, b, 32));
    printf("  %-16s %7s dB\n", "headroom", cli_db(-r->mix.true_peak_dbtp, a, 32));
    printf("  %-14s %-6s %9s %9s %8s\n", "node", "kind", "peak dBFS", "RMS dBFS", "latency");
    for (int i = 0; i < r->nnodes; i++) {
        const lathe_node_level *n = &r->nodes[i];
        const char *k = n->kind == LATHE_NODE_TRACK ? "track" : n->kind == LATHE_NODE_BUS ? "bus"
                                                                                          : "master";
        printf("  %-14s %-6s %9s %9s %8d\n", n->name, k, cli_db(n->peak_dbfs, a, 32),
               cli_db(n->rms_dbfs, b, 32), n->latency);
    }
    if (r->mix.true_peak_dbtp > 0)
        printf("%swarning:%s the mix clips (true peak %+.1f dBTP); lower the master by %.1f dB "
               "(master: { gain: %.1f dB }) to leave 3 dB of headroom for mastering\n",
               cli_color(stdout, CLI_YELLOW), cli_color(stdout, CLI_RESET), r->mix.true_peak_dbtp,
               -r->suggested_trim_db, r->suggested_trim_db);
    else if (r->mix.true_peak_dbtp > -1)
        printf("%snote:%s less than 1 dB of headroom; mastering works best with the mix peaking "
               "around -3 to -6 dBTP\n",
               cli_color(stdout, CLI_BOLD), cli_color(stdout, CLI_RESET));
}

static void print_json(const lathe_session *s, const lathe_mix_report *r, const char *out)
{
    lathe_json j;
    lathe_json_init(&j, stdout);
    lathe_json_object(&j, NULL);
    lathe_json_str(&j, "output", out);
    lathe_json_int(&j, "sample_rate", (long long)s->rate);
    lathe_json_num(&j, "duration_s", r->rendered_s, 3);
    lathe_json_num(&j, "tail_s", r->tail_s, 3);
    lathe_json_int(&j, "latency_frames", r->latency);
    lathe_json_num(&j, "integrated_lufs", r->mix.integrated_lufs, 2);
    lathe_json_num(&j, "loudness_range_lu", r->mix.loudness_range_lu, 2);
    lathe_json_num(&j, "true_peak_dbtp", r->mix.true_peak_dbtp, 2);
    lathe_json_num(&j, "sample_peak_dbfs", r->mix.sample_peak_dbfs, 2);
    lathe_json_bool(&j, "clips", r->mix.true_peak_dbtp > 0);
    lathe_json_num(&j, "suggested_master_trim_db", r->suggested_trim_db, 2);
    lathe_json_array(&j, "nodes");
    for (int i = 0; i < r->nnodes; i++) {
        lathe_json_object(&j, NULL);
        lathe_json_str(&j, "name", r->nodes[i].name);
        lathe_json_str(&j, "kind", r->nodes[i].kind == LATHE_NODE_TRACK ? "track"
                                   : r->nodes[i].kind == LATHE_NODE_BUS ? "bus"
                                                                        : "master");
        lathe_json_num(&j, "peak_dbfs", r->nodes[i].peak_dbfs, 2);
        lathe_json_num(&j, "rms_dbfs", r->nodes[i].rms_dbfs, 2);
        lathe_json_int(&j, "latency_frames", r->nodes[i].latency);
        lathe_json_end(&j);
    }
    lathe_json_end(&j);
    lathe_json_end(&j);
}

/* The HTML report: the mix (loudness, waveform, spectrum, stereo) and the
 * mixing desk: every track's and bus's peak and RMS, and the headroom. */
static lathe_status write_report(const char *path, const char *session, const char *out,
                                 const lathe_mix_report *r, const lathe_series *series, int force,
                                 lathe_error *err)
{
    char title[512];
    snprintf(title, sizeof title, "lathe mix: %s", session);
    lathe_report *rp = lathe_report_new(title, err);
    if (!rp) return err->code;
    lathe_status st = lathe_report_add_analysis(rp, out, &r->mix, series, err);
    if (st == LATHE_OK) {
        lathe_report_section(rp, "mix-levels", "Tracks, buses and headroom");
        char text[256];
        snprintf(text, sizeof text,
                 "Headroom at the master: %.1f dB to 0 dBTP (true peak %.1f dBTP). Mastering works "
                 "best with 3 to 6 dB.",
                 -r->mix.true_peak_dbtp, r->mix.true_peak_dbtp);
        lathe_report_text(rp, text);
        const char **labels = calloc((size_t)r->nnodes + 1, sizeof *labels);
        double *pk = calloc((size_t)r->nnodes + 1, sizeof *pk), *rms = calloc((size_t)r->nnodes + 1, sizeof *rms);
        lathe_plot *p = lathe_plot_new("Levels per track and bus", "level (dBFS)", "", LATHE_X_LINEAR);
        if (!labels || !pk || !rms || !p) st = lathe_error_set(err, LATHE_E_NOMEM, "out of memory");
        for (int i = 0; st == LATHE_OK && i < r->nnodes; i++) {
            labels[i] = r->nodes[i].name;
            /* silent nodes sit at the left end of the axis */
            pk[i] = isfinite(r->nodes[i].peak_dbfs) ? r->nodes[i].peak_dbfs : -90;
            rms[i] = isfinite(r->nodes[i].rms_dbfs) ? r->nodes[i].rms_dbfs : -90;
        }
        if (st == LATHE_OK) {
            lathe_plot_xrange(p, -90, 6);
            lathe_plot_bar_base(p, -90);
            st = lathe_plot_bars(p, "sample peak", labels, pk, r->nnodes);
            if (st == LATHE_OK) st = lathe_plot_bars(p, "RMS", labels, rms, r->nnodes);
            if (st == LATHE_OK)
                st = lathe_report_plot(rp, p, "Peak and RMS of every node's output (post-fader); "
                                              "silent nodes at -90 dBFS", err);
        }
        if (st == LATHE_OK) {
            static const char *const heads[] = {"node", "kind", "peak (dBFS)", "RMS (dBFS)", "latency (frames)"};
            lathe_report_table(rp, "Levels", 5, heads);
            for (int i = 0; i < r->nnodes; i++) {
                char a[32], b[32], c[32];
                const lathe_node_level *n = &r->nodes[i];
                const char *row[5] = {n->name,
                                      n->kind == LATHE_NODE_TRACK ? "track"
                                      : n->kind == LATHE_NODE_BUS ? "bus"
                                                                  : "master",
                                      cli_db(n->peak_dbfs, a, sizeof a), cli_db(n->rms_dbfs, b, sizeof b), c};
                snprintf(c, sizeof c, "%d", n->latency);
                lathe_report_row(rp, row);
            }
        }
        lathe_plot_free(p);
        free(labels), free(pk), free(rms);
    }
    if (st == LATHE_OK) st = lathe_report_write(rp, path, force, err);
    lathe_report_free(rp);
    return st;
}

int cmd_mix(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"check", no_argument, NULL, 'c'},
        {"threads", required_argument, NULL, 't'}, {"bits", required_argument, NULL, 'b'},
        {"stems", required_argument, NULL, 's'},  {"force", no_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},         {"quiet", no_argument, NULL, 'q'},
        {"report", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *out = NULL, *stems = NULL, *report = NULL;
    int check = 0, threads = 0, bits = 32, force = 0, json = 0, quiet = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:ct:b:s:fjqhr:", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'o': out = optarg; break;
        case 'c': check = 1; break;
        case 't':
            threads = (int)strtol(optarg, &end, 10);
            if (*end || threads < 1 || threads > 256)
                return cli_usage_error("mix", use, "--threads takes 1 to 256, not '%s'", optarg);
            break;
        case 'b':
            bits = (int)strtol(optarg, &end, 10);
            if (*end || (bits != 16 && bits != 24 && bits != 32))
                return cli_usage_error("mix", use, "--bits takes 16, 24 or 32, not '%s'", optarg);
            break;
        case 's': stems = optarg; break;
        case 'r': {
            const char *dot = strrchr(optarg, '.');
            if (!dot || (strcasecmp(dot, ".html") && strcasecmp(dot, ".htm")))
                return cli_usage_error("mix", use, "--report wants a .html file, not '%s'", optarg);
            report = optarg;
            break;
        }
        case 'f': force = 1; break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(use, stdout); return EXIT_OK;
        case ':': return cli_usage_error("mix", use, "%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("mix", use, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("mix", use, optind >= argc ? "no session file given"
                                                          : "one session file at a time");
    const char *path = argv[optind];
    if (!check && !out) return cli_usage_error("mix", use, "no output given (-o MIX.wav)");

    lathe_diags d = {0};
    lathe_session *s = lathe_session_load(path, &d);
    if (!s) {
        char line[1024];
        for (int i = 0; i < d.count; i++)
            fprintf(stderr, "%s\n", lathe_diag_format(&d, i, line, sizeof line));
        int code = EXIT_DATAERR;
        lathe_diags_free(&d);
        return code;
    }
    lathe_diags_free(&d);
    if (check) {
        if (!quiet)
            printf("%s: valid (%d nodes, %d automation lanes, %.0f Hz)\n", path, s->nnodes,
                   s->nautos, s->rate);
        lathe_session_free(s);
        return EXIT_OK;
    }
    /* never overwrite an input: the session and every track file */
    const char **inputs = calloc((size_t)s->nnodes + 1, sizeof *inputs);
    int nin = 0;
    inputs[nin++] = path;
    for (int i = 0; i < s->nnodes; i++)
        if (s->nodes[i].file) inputs[nin++] = s->nodes[i].file;
    lathe_error err;
    lathe_status st = lathe_output_check(out, inputs, nin, force, &err);
    free(inputs);
    if (st != LATHE_OK) {
        cli_error("%s", err.msg);
        lathe_session_free(s);
        return cli_exit_for_output(st);
    }
    lathe_mix_options o = {.threads = threads,
                           .sample = bits == 16   ? LATHE_SAMPLE_PCM16
                                     : bits == 24 ? LATHE_SAMPLE_PCM24
                                                  : LATHE_SAMPLE_FLOAT32,
                           .stems_dir = stems,
                           .overwrite = force,
                           .channels = 2};
    if (!json && cli_want_progress(quiet)) o.progress = progress;
    lathe_series *series = NULL;
    if (report) {
        st = lathe_output_check(report, &path, 1, force, &err);
        if (st == LATHE_OK) series = lathe_series_new(s->rate, 2, &err);
        if (!series) {
            cli_error("%s", err.msg);
            lathe_session_free(s);
            return cli_exit_for_output(err.code);
        }
        o.series = series;
    }
    lathe_mix_report rep;
    st = lathe_mix_render(s, out, &o, &rep, &err);
    if (o.progress) cli_progress_done();
    if (st != LATHE_OK) {
        cli_error("%s", err.msg);
        lathe_session_free(s);
        return st == LATHE_E_IO ? EXIT_IOERR : cli_exit_for_input(st);
    }
    if (series) {
        lathe_series_finish(series);
        st = write_report(report, path, out, &rep, series, force, &err);
        lathe_series_free(series);
        lathe_report_release_caches();
        if (st != LATHE_OK) {
            cli_error("%s", err.msg);
            lathe_mix_report_free(&rep);
            lathe_session_free(s);
            return cli_exit_for_output(st);
        }
    }
    if (json) print_json(s, &rep, out);
    else if (!quiet) print_report(s, &rep, out);
    lathe_mix_report_free(&rep);
    lathe_session_free(s);
    return EXIT_OK;
}
