/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe album ALBUM.yaml -o OUTDIR [--meta KEY=VALUE]... [--threads N]
 *             [--format wav|flac|aiff|mp3|ogg|opus] [--bitrate KBPS] [--vbr] [--quality Q]
 *             [--report FILE.html] [--force] [--json] [--quiet]
 * Masters and sequences an album (lathe/album.h, docs/album.md): one file
 * per song, the continuous album file, a CUE sheet and a JSON summary. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lathe/album.h"
#include "lathe/master.h"
#include "lathe/analysis.h"
#include "lathe/report.h"
#include "lathe/series.h"

static const char use[] =
    "usage: lathe album ALBUM.yaml -o OUTDIR [--meta KEY=VALUE]... [--threads N]\n"
    "                   [--format wav|flac|aiff|mp3|ogg|opus] [--bitrate KBPS] [--vbr] [--quality Q]\n"
    "                   [--report FILE.html] [--force] [--json] [--quiet]\n"
    "       lathe album --check ALBUM.yaml\n";

static void progress(void *user, const char *what, double f)
{
    (void)user;
    cli_progress(what, f);
}


/* The HTML report: an overview (every song's loudness, peak and range, the
 * album files), then each song before against after. */
static lathe_status write_report(const char *path, const char *album, const lathe_album *a,
                                 const lathe_album_report *R, int force, lathe_error *err)
{
    char title[600];
    snprintf(title, sizeof title, "lathe album: %s", album);
    lathe_report *r = lathe_report_new(title, err);
    if (!r) return err->code;
    lathe_report_set_target(r, R->target, R->target_lufs, R->ceiling_dbtp);
    lathe_status st = LATHE_OK;
    lathe_report_part(r, "Overview");
    char text[400];
    snprintf(text, sizeof text, "%d songs for %s: target %.1f LUFS (%s mode), ceiling %.1f dBTP.", R->ntracks,
             R->target, R->target_lufs, R->track_mode ? "track" : "album", R->ceiling_dbtp);
    lathe_report_text(r, text);
    static const char *const heads[] = {"#", "song", "LUFS", "true peak (dBTP)", "LRA (LU)", "drive (dB)"};
    lathe_report_table(r, "Songs", 6, heads);
    const char **labels = calloc((size_t)R->ntracks + 1, sizeof *labels);
    double *lufs = calloc((size_t)R->ntracks + 1, sizeof *lufs);
    for (int i = 0; i < R->ntracks; i++) {
        const lathe_album_track *t = &R->tracks[i];
        char c0[16], c2[32], c3[32], c4[32], c5[32];
        snprintf(c0, sizeof c0, "%d", t->number);
        const char *row[6] = {c0, t->title, cli_db(t->lufs, c2, sizeof c2), cli_db(t->true_peak_dbtp, c3, sizeof c3),
                              cli_db(t->lra_lu, c4, sizeof c4), c5};
        if (isfinite(t->gain_db)) snprintf(c5, sizeof c5, "%+.2f", t->gain_db);
        else snprintf(c5, sizeof c5, "n/a");
        lathe_report_row(r, row);
        if (labels && lufs) labels[i] = t->title, lufs[i] = isfinite(t->lufs) ? t->lufs : -70;
    }
    if (R->lossy) {
        /* the codec-aware ceiling (docs/album.md): each file decoded again */
        static const char *const dh[] = {"#", "file", "first encode (dBTP)", "as written (dBTP)", "encodes",
                                         "limiter ceiling (dBTP)"};
        snprintf(text, sizeof text, "Delivered as %s; each file decoded again and its true peak measured "
                 "(%d encode pass%s over the album).", R->codec, R->codec_passes, R->codec_passes == 1 ? "" : "es");
        lathe_report_text(r, text);
        lathe_report_table(r, "Delivery", 6, dh);
        for (int i = 0; i < R->nsegments + R->ntracks; i++) {
            const int seg = i < R->nsegments;
            const lathe_album_track *t = seg ? NULL : &R->tracks[i - R->nsegments];
            const double first = seg ? R->segments[i].codec_tp_first_dbtp : t->codec_tp_first_dbtp;
            const double final = seg ? R->segments[i].codec_tp_final_dbtp : t->codec_tp_final_dbtp;
            const int encodes = seg ? R->segments[i].encodes : t->encodes;
            char c0[16], c2[32], c3[32], c4[16], c5[32];
            if (seg) snprintf(c0, sizeof c0, "album");
            else snprintf(c0, sizeof c0, "%d", t->number);
            snprintf(c4, sizeof c4, "%d", encodes);
            const char *row[6] = {c0, seg ? R->segments[i].path : t->path, cli_db_n(first, 2, c2, sizeof c2),
                                  cli_db_n(final, 2, c3, sizeof c3), c4,
                                  seg ? "" : cli_db_n(t->limiter_ceiling_dbtp, 2, c5, sizeof c5)};
            lathe_report_row(r, row);
        }
    }
    for (int i = 0; i < R->nwarnings; i++) lathe_report_warning(r, R->warnings[i].text, NULL);
    if (labels && lufs && R->ntracks > 0) {
        lathe_report_section(r, "album-loudness", "Loudness of every song");
        lathe_plot *p = lathe_plot_new("Integrated loudness per song", "loudness (LUFS)", "", LATHE_X_LINEAR);
        if (p) {
            lathe_plot_xrange(p, -40, 0);
            lathe_plot_bar_base(p, -40);
            st = lathe_plot_bars(p, "song", labels, lufs, R->ntracks);
            if (st == LATHE_OK) st = lathe_plot_hline(p, "target", R->target_lufs);
            if (st == LATHE_OK)
                st = lathe_report_plot(r, p, "Each song's file as written, by libebur128-compatible BS.1770 gating",
                                       err);
            lathe_plot_free(p);
        }
    }
    free(labels), free(lufs);
    /* the continuous album file(s) */
    for (int g = 0; st == LATHE_OK && g < R->nsegments; g++) {
        lathe_analysis an;
        lathe_series *s = NULL;
        if ((st = lathe_series_analyze_file(R->segments[g].path, &s, &an, NULL, err)) != LATHE_OK)
            return lathe_report_free(r), st;
        st = lathe_report_add_analysis(r, R->segments[g].path, &an, s, err);
        lathe_series_free(s);
    }
    /* each song, before and after */
    for (int i = 0; st == LATHE_OK && i < R->ntracks && i < a->nsongs; i++) {
        lathe_analysis ab, aa;
        lathe_series *sa = NULL, *sb = NULL;
        st = lathe_series_analyze_file(R->tracks[i].path, &sa, &aa, NULL, err);
        if (st == LATHE_OK && !a->songs[i].is_session)
            st = lathe_series_analyze_file(a->songs[i].file, &sb, &ab, NULL, err);
        char label[400];
        snprintf(label, sizeof label, "%d. %s", R->tracks[i].number, R->tracks[i].title);
        if (st == LATHE_OK && sb) st = lathe_report_add_comparison(r, label, &ab, sb, &aa, sa, err);
        else if (st == LATHE_OK) st = lathe_report_add_analysis(r, label, &aa, sa, err);
        lathe_series_free(sa);
        lathe_series_free(sb);
    }
    if (st == LATHE_OK) st = lathe_report_write(r, path, force, err);
    lathe_report_free(r);
    lathe_report_release_caches();
    return st;
}

static void print_report(const lathe_album_report *r)
{
    char a[32], b[32], c[32];
    printf("album: %d track%s, %s target %.1f LUFS, ceiling %.1f dBTP, %.0f Hz %s, loudness %s\n", r->ntracks,
           r->ntracks == 1 ? "" : "s", r->target, r->target_lufs, r->ceiling_dbtp, r->rate,
           r->lossy ? r->codec : r->bits == 32 ? "32-bit float" : r->bits == 16 ? "16-bit" : "24-bit",
           r->track_mode ? "track" : "album");
    if (isfinite(r->album_gain_db)) printf("  album drive %+.2f dB (set by the loudest song)\n", r->album_gain_db);
    for (int i = 0; i < r->ntracks; i++) {
        const lathe_album_track *t = &r->tracks[i];
        char g[32];
        if (isfinite(t->gain_db)) snprintf(g, sizeof g, "%+.2f", t->gain_db);
        else snprintf(g, sizeof g, "n/a");
        printf("  %2d %-28.28s %s  %7s LUFS %7s dBTP  drive %s dB%s\n", t->number, t->title,
               cli_duration((double)t->frames / r->rate, a, sizeof a), cli_db(t->lufs, b, sizeof b),
               cli_db(t->true_peak_dbtp, c, sizeof c), g, t->solved ? " (solved)" : "");
        if (r->lossy && t->encodes > 0) {
            if (t->encodes > 1)
                printf("     %s: decoded %.2f dBTP at the first encode, over the ceiling; limiter ceiling lowered to "
                       "%.2f dBTP: %.2f dBTP after %d encodes\n",
                       r->codec, t->codec_tp_first_dbtp, t->limiter_ceiling_dbtp, t->codec_tp_final_dbtp, t->encodes);
            else
                printf("     %s: decoded %.2f dBTP\n", r->codec, t->codec_tp_final_dbtp);
        }
        if (t->xfade_dip_db > 0)
            printf("     crossfade peaked at %.2f dBTP: lowered by up to %.2f dB in the overlap\n", t->xfade_peak_dbtp,
                   t->xfade_dip_db);
        for (int w = 0; w < t->nwarnings; w++) printf("     warning: %s\n", t->warnings[w].text);
    }
    for (int g = 0; g < r->nsegments; g++) {
        printf("  %s: %s, %s LUFS, %s dBTP\n", r->segments[g].path,
               cli_duration((double)r->segments[g].frames / r->rate, a, sizeof a),
               cli_db(r->segments[g].lufs, b, sizeof b), cli_db(r->segments[g].true_peak_dbtp, c, sizeof c));
        if (r->lossy && r->segments[g].encodes > 1)
            printf("     decoded %.2f dBTP at the first encode, %.2f dBTP after %d encodes\n",
                   r->segments[g].codec_tp_first_dbtp, r->segments[g].codec_tp_final_dbtp, r->segments[g].encodes);
    }
    printf("  album loudness %s LUFS; %s, %s\n", cli_db(r->album_lufs, a, sizeof a), r->cue_path, r->json_path);
    for (int w = 0; w < r->nwarnings; w++) printf("warning: %s\n", r->warnings[w].text);
}

int cmd_album(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"meta", required_argument, NULL, 'm'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"force", no_argument, NULL, 'f'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"check", no_argument, NULL, 'c'},
                                         {"report", required_argument, NULL, 'R'},
                                         {"format", required_argument, NULL, 'F'},
                                         {"bitrate", required_argument, NULL, 'B'},
                                         {"vbr", no_argument, NULL, 'V'},
                                         {"quality", required_argument, NULL, 'Q'},
                                         {NULL, 0, NULL, 0}};
    lathe_album_options o;
    memset(&o, 0, sizeof o);
    const char *out = NULL, *report = NULL, *format = NULL;
    lathe_codec_options codec;
    memset(&codec, 0, sizeof codec);
    int json = 0, quiet = 0, check = 0, c;
    const char *metas[64];
    int nmeta = 0;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:m:t:fjqhcR:F:B:VQ:", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'o': out = optarg; break;
        case 'm':
            if (nmeta == 64) return cli_usage_error("album", use, "too many --meta");
            metas[nmeta++] = optarg;
            break;
        case 't':
            o.threads = (int)strtol(optarg, &end, 10);
            if (*end || o.threads < 1 || o.threads > 256)
                return cli_usage_error("album", use, "--threads takes 1 to 256, not '%s'", optarg);
            break;
        case 'f': o.overwrite = 1; break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        case 'c': check = 1; break;
        case 'R': {
            const char *dot = strrchr(optarg, '.');
            if (!dot || (strcasecmp(dot, ".html") && strcasecmp(dot, ".htm")))
                return cli_usage_error("album", use, "--report wants a .html file, not '%s'", optarg);
            report = optarg;
            break;
        }
        case 'F':
            if (lathe_file_type_from_name(optarg) == LATHE_FILE_AUTO)
                return cli_usage_error("album", use, "--format takes wav, flac, aiff, mp3, ogg or opus, not '%s'",
                                       optarg);
            format = optarg;
            break;
        case 'B':
            codec.bitrate_kbps = (int)strtol(optarg, &end, 10);
            if (*end || codec.bitrate_kbps < 6 || codec.bitrate_kbps > 512)
                return cli_usage_error("album", use, "--bitrate takes 6 to 512 kbps, not '%s'", optarg);
            break;
        case 'V': codec.vbr = 1; break;
        case 'Q': {
            double v = strtod(optarg, &end);
            if (*end || !(v >= 0.1 && v <= 10))
                return cli_usage_error("album", use, "--quality takes 0.1 to 10 (Vorbis), not '%s'", optarg);
            codec.quality = v / 10;
            break;
        }
        case 'h': fputs(use, stdout); return EXIT_OK;
        case ':': return cli_usage_error("album", use, "%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("album", use, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("album", use, optind >= argc ? "no album file given" : "one album file at a time");
    if (!out && !check) return cli_usage_error("album", use, "no output folder given (-o OUTDIR)");
    const char *path = argv[optind];

    lathe_diags d;
    lathe_album *a = lathe_album_load(path, &d);
    char line[1024];
    if (!a) {
        for (int i = 0; i < d.count; i++) fprintf(stderr, "%s\n", lathe_diag_format(&d, i, line, sizeof line));
        int code = d.count == 1 && d.items[0].line == 0 && strncmp(d.items[0].msg, "cannot read", 11) == 0
                       ? EXIT_NOINPUT
                       : EXIT_DATAERR;
        lathe_diags_free(&d);
        return code;
    }
    lathe_diags_free(&d);
    if (check) {
        /* the songs that are sessions are checked as `lathe mix --check`
         * would, the chain files as `lathe master --chain` reads them */
        int bad = 0;
        for (int i = -1; i < a->nsongs; i++) {
            const char *chain = i < 0 ? a->chain : a->songs[i].chain;
            for (int j = -1; chain && j < i; j++) { /* each file once */
                const char *seen = j < 0 ? a->chain : a->songs[j].chain;
                if (seen && strcmp(seen, chain) == 0) chain = NULL;
            }
            lathe_diags sd;
            if (chain && !lathe_master_chain_check(chain, &sd)) {
                for (int k = 0; k < sd.count; k++) fprintf(stderr, "%s\n", lathe_diag_format(&sd, k, line, sizeof line));
                bad = 1;
            }
            if (chain) lathe_diags_free(&sd);
            if (i < 0 || !a->songs[i].is_session) continue;
            lathe_session *ss = lathe_session_load(a->songs[i].file, &sd);
            for (int k = 0; !ss && k < sd.count; k++)
                fprintf(stderr, "%s\n", lathe_diag_format(&sd, k, line, sizeof line));
            bad |= !ss;
            lathe_session_free(ss);
            lathe_diags_free(&sd);
        }
        if (bad) {
            lathe_album_free(a);
            return EXIT_DATAERR;
        }
        double side_s[2];
        lathe_master_warning w[4];
        int nw = lathe_album_declared(a, side_s, w, 4);
        char b1[32], b2[32];
        int sides = a->nsongs && a->songs[a->nsongs - 1].side == 'B' && a->songs[0].side == 'A';
        if (sides)
            printf("%s: %d song%s; side A %s, side B %s (declared durations)\n", path, a->nsongs, a->nsongs == 1 ? "" : "s",
                   cli_duration(side_s[0], b1, sizeof b1), cli_duration(side_s[1], b2, sizeof b2));
        else
            printf("%s: %d song%s, %s (declared durations)\n", path, a->nsongs, a->nsongs == 1 ? "" : "s", cli_duration(side_s[0], b1, sizeof b1));
        for (int i = 0; i < nw; i++) printf("warning: %s\n", w[i].text);
        lathe_album_free(a);
        return EXIT_OK;
    }
    lathe_error err;
    if (codec.vbr && codec.bitrate_kbps) {
        lathe_album_free(a);
        return cli_usage_error("album", use, "--vbr (V0) and --bitrate exclude each other");
    }
    if (format) {
        /* --format wins over the album file's; so do the codec options */
        const char *name = lathe_file_type_name(lathe_file_type_from_name(format));
        free(a->format);
        a->format = strdup(name);
    }
    if (codec.bitrate_kbps || codec.vbr || codec.quality > 0) a->codec = codec;
    for (int i = 0; i < nmeta; i++)
        if (lathe_meta_parse_arg(&a->meta, metas[i], &err) != LATHE_OK) {
            lathe_album_free(a);
            return cli_usage_error("album", use, "--meta: %s", err.msg);
        }
    if (report) {
        lathe_status rs = lathe_output_check(report, &path, 1, o.overwrite, &err);
        if (rs != LATHE_OK) {
            cli_error("%s", err.msg);
            lathe_album_free(a);
            return cli_exit_for_output(rs);
        }
    }
    if (!json && cli_want_progress(quiet)) o.progress = progress;
    lathe_album_report rep;
    lathe_status st = lathe_album_render(a, out, &o, &rep, &d, &err);
    if (o.progress) cli_progress_done();
    if (d.count > 0) {
        for (int i = 0; i < d.count; i++) fprintf(stderr, "%s\n", lathe_diag_format(&d, i, line, sizeof line));
        lathe_diags_free(&d);
        lathe_album_report_free(&rep);
        lathe_album_free(a);
        return EXIT_DATAERR;
    }
    lathe_diags_free(&d);
    if (st == LATHE_OK && report) st = write_report(report, path, a, &rep, o.overwrite, &err);
    lathe_album_free(a);
    if (st != LATHE_OK) {
        cli_error("%s", err.msg);
        lathe_album_report_free(&rep);
        if (st == LATHE_E_EXISTS || st == LATHE_E_SAME) return EXIT_CANTCREAT;
        return st == LATHE_E_IO ? EXIT_IOERR : cli_exit_for_input(st);
    }
    if (json) lathe_album_report_json(&rep, stdout);
    else if (!quiet) print_report(&rep);
    lathe_album_report_free(&rep);
    return EXIT_OK;
}
