/* SPDX-License-Identifier: GPL-3.0-or-later */
/* HTML report builder (lathe/report.h): one self-contained page, inline CSS,
 * inline SVG plots, no scripts, readable from a phone to a laptop.
 *
 * The page is built in memory top to bottom and written once, to a
 * temporary file beside the target renamed into place, so a reader never
 * sees half a report.  lathe_report_add_analysis / _comparison turn an
 * analysis and its series into the standard sections. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lathe/io.h"
#include "lathe/report.h"
#include "lathe/targets.h"
#include "report/sbuf.h"

#ifndef LATHE_VERSION
#define LATHE_VERSION "?"
#endif

struct lathe_report {
    char title[256];
    lathe_sbuf body;
    int in_part, in_section, in_table, nplots;
    char **ids;
    int nids, capids;
    char target_name[64];
    double target_lufs, ceiling_dbtp;
    const lathe_series *ref;
    char ref_label[128];
    double ref_lufs;
};

static const char css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;padding:0 1rem 2rem;font:16px/1.45 system-ui,-apple-system,'Segoe UI',"
    "Roboto,'DejaVu Sans',sans-serif;color:#222;background:#f6f6f4}"
    "header,main{max-width:1040px;margin:0 auto}"
    "h1{font-size:1.6rem;margin:1rem 0 .2rem}h2{font-size:1.35rem;margin:2rem 0 .5rem;"
    "padding-bottom:.2rem;border-bottom:2px solid #0072B2;overflow-wrap:anywhere}"
    "h3{font-size:1.1rem;margin:1.4rem 0 .4rem}"
    ".meta{color:#555;margin:0 0 1rem}"
    "figure{margin:.8rem 0;padding:.5rem;background:#fff;border:1px solid #ddd;"
    "border-radius:6px}"
    "figure svg{display:block;width:100%;height:auto}"
    "figcaption{font-size:.9rem;color:#444;padding:.3rem .2rem 0}"
    ".tbl{overflow-x:auto;margin:.5rem 0}"
    "table{border-collapse:collapse;min-width:60%;background:#fff;"
    "font-variant-numeric:tabular-nums}"
    "caption{text-align:left;font-weight:600;padding:.3rem 0}"
    "th,td{border:1px solid #ddd;padding:.25rem .6rem;text-align:right}"
    "th:first-child,td:first-child{text-align:left}th{background:#eef3f8}"
    ".warn{border-left:5px solid #D55E00;background:#fff3ea;padding:.5rem .8rem;margin:.5rem 0;"
    "border-radius:4px}.warn b{color:#8a3000}.ok{border-left:5px solid #009E73;"
    "background:#eefaf5;padding:.5rem .8rem;margin:.5rem 0;border-radius:4px}"
    ".plot{overflow-x:auto}"
    /* phones: plots keep 640 px (text stays legible) and scroll sideways */
    "@media (max-width:640px){body{padding:0 .4rem 1rem;font-size:15px}"
    "th,td{padding:.2rem .35rem}figure{padding:.2rem}h1{font-size:1.3rem}"
    "figure svg{min-width:640px}}";

lathe_report *lathe_report_new(const char *title, lathe_error *err)
{
    lathe_report *r = calloc(1, sizeof *r);
    if (!r) {
        lathe_error_set(err, LATHE_E_NOMEM, "report: out of memory");
        return NULL;
    }
    snprintf(r->title, sizeof r->title, "%s", title ? title : "lathe report");
    r->target_lufs = NAN;
    r->ceiling_dbtp = -1.0;
    return r;
}

void lathe_report_free(lathe_report *r)
{
    if (!r) return;
    for (int i = 0; i < r->nids; i++) free(r->ids[i]);
    free(r->ids);
    free(r->body.d);
    free(r);
}

void lathe_report_set_target(lathe_report *r, const char *name, double lufs, double ceiling_dbtp)
{
    snprintf(r->target_name, sizeof r->target_name, "%s", name ? name : "target");
    r->target_lufs = lufs;
    r->ceiling_dbtp = isfinite(ceiling_dbtp) ? ceiling_dbtp : -1.0;
}

void lathe_report_set_reference(lathe_report *r, const char *label, const lathe_series *ref,
                                double ref_integrated_lufs)
{
    r->ref = ref;
    snprintf(r->ref_label, sizeof r->ref_label, "%s", label ? label : "reference");
    r->ref_lufs = ref_integrated_lufs;
}

static void close_table(lathe_report *r)
{
    if (r->in_table) lathe_sb_str(&r->body, "</tbody></table></div>\n");
    r->in_table = 0;
}

static void close_section(lathe_report *r)
{
    close_table(r);
    if (r->in_section) lathe_sb_str(&r->body, "</section>\n");
    r->in_section = 0;
}

static void close_part(lathe_report *r)
{
    close_section(r);
    if (r->in_part) lathe_sb_str(&r->body, "</article>\n");
    r->in_part = 0;
}

/* id, or id-2, id-3 ... when it is taken; returns the stored string */
static const char *unique_id(lathe_report *r, const char *id)
{
    char buf[96];
    for (int k = 1;; k++) {
        if (k == 1) snprintf(buf, sizeof buf, "%s", id);
        else snprintf(buf, sizeof buf, "%s-%d", id, k);
        int taken = 0;
        for (int i = 0; i < r->nids && !taken; i++) taken = !strcmp(r->ids[i], buf);
        if (taken) continue;
        if (r->nids == r->capids) {
            int cap = r->capids ? r->capids * 2 : 32;
            char **v = realloc(r->ids, (size_t)cap * sizeof *v);
            if (!v) {
                r->body.fail = 1;
                return id;
            }
            r->ids = v;
            r->capids = cap;
        }
        size_t n = strlen(buf) + 1;
        char *d = malloc(n);
        if (!d) {
            r->body.fail = 1;
            return id;
        }
        memcpy(d, buf, n);
        r->ids[r->nids++] = d;
        return d;
    }
}

void lathe_report_part(lathe_report *r, const char *heading)
{
    close_part(r);
    lathe_sb_printf(&r->body, "<article id=\"%s\">\n<h2>", unique_id(r, "part"));
    lathe_sb_escaped(&r->body, heading ? heading : "");
    lathe_sb_str(&r->body, "</h2>\n");
    r->in_part = 1;
}

void lathe_report_text(lathe_report *r, const char *text)
{
    close_table(r);
    lathe_sb_str(&r->body, "<p>");
    lathe_sb_escaped(&r->body, text);
    lathe_sb_str(&r->body, "</p>\n");
}

void lathe_report_table(lathe_report *r, const char *caption, int ncols,
                        const char *const *heads)
{
    close_table(r);
    lathe_sb_str(&r->body, "<div class=\"tbl\"><table>");
    if (caption) {
        lathe_sb_str(&r->body, "<caption>");
        lathe_sb_escaped(&r->body, caption);
        lathe_sb_str(&r->body, "</caption>");
    }
    lathe_sb_str(&r->body, "<thead><tr>");
    for (int i = 0; i < ncols; i++) {
        lathe_sb_str(&r->body, "<th scope=\"col\">");
        lathe_sb_escaped(&r->body, heads[i] ? heads[i] : "");
        lathe_sb_str(&r->body, "</th>");
    }
    lathe_sb_str(&r->body, "</tr></thead><tbody>\n");
    r->in_table = ncols;
}

void lathe_report_row(lathe_report *r, const char *const *cells)
{
    if (!r->in_table) return;
    lathe_sb_str(&r->body, "<tr>");
    for (int i = 0; i < r->in_table; i++) {
        lathe_sb_str(&r->body, i ? "<td>" : "<th scope=\"row\">");
        lathe_sb_escaped(&r->body, cells[i] ? cells[i] : "");
        lathe_sb_str(&r->body, i ? "</td>" : "</th>");
    }
    lathe_sb_str(&r->body, "</tr>\n");
}

void lathe_report_warning(lathe_report *r, const char *problem, const char *remedy)
{
    close_table(r);
    lathe_sb_str(&r->body, "<div class=\"warn\" role=\"note\"><b>Warning:</b> ");
    lathe_sb_escaped(&r->body, problem);
    if (remedy) {
        lathe_sb_str(&r->body, "<br><b>Remedy:</b> ");
        lathe_sb_escaped(&r->body, remedy);
    }
    lathe_sb_str(&r->body, "</div>\n");
}

void lathe_report_section(lathe_report *r, const char *id, const char *title)
{
    close_section(r);
    lathe_sb_printf(&r->body, "<section id=\"%s\" class=\"%s\">\n<h3>", unique_id(r, id), id);
    lathe_sb_escaped(&r->body, title ? title : "");
    lathe_sb_str(&r->body, "</h3>\n");
    r->in_section = 1;
}

lathe_status lathe_report_plot(lathe_report *r, const lathe_plot *p, const char *caption,
                               lathe_error *err)
{
    close_table(r);
    char prefix[32], *svg = NULL;
    size_t len = 0;
    snprintf(prefix, sizeof prefix, "p%d-", ++r->nplots);
    lathe_status st = lathe_plot_svg(p, prefix, &svg, &len, err);
    if (st != LATHE_OK) return st;
    lathe_sb_str(&r->body, "<figure>\n<div class=\"plot\">");
    lathe_sb_put(&r->body, svg, len);
    free(svg);
    lathe_sb_str(&r->body, "</div>\n<figcaption>");
    lathe_sb_escaped(&r->body, caption ? caption : "");
    lathe_sb_str(&r->body, "</figcaption>\n</figure>\n");
    return r->body.fail ? lathe_error_set(err, LATHE_E_NOMEM, "report: out of memory") : LATHE_OK;
}

lathe_status lathe_report_write(const lathe_report *r, const char *path, int overwrite,
                                lathe_error *err)
{
    if (r->body.fail) return lathe_error_set(err, LATHE_E_NOMEM, "report: out of memory");
    lathe_status st = lathe_output_check(path, NULL, 0, overwrite, err);
    if (st != LATHE_OK) return st;
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    if (!tmp) return lathe_error_set(err, LATHE_E_NOMEM, "report: out of memory");
    snprintf(tmp, pl + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        st = lathe_error_set(err, LATHE_E_IO, "%s: cannot create: %s", path, strerror(errno));
        free(tmp);
        return st;
    }
    fchmod(fd, 0644);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        free(tmp);
        return lathe_error_set(err, LATHE_E_IO, "%s: cannot write", path);
    }
    /* the open part/section/table are closed in the output, not in r (const) */
    lathe_sbuf head = {0};
    lathe_sb_str(&head, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                        "<meta name=\"generator\" content=\"lathe " LATHE_VERSION "\">\n<title>");
    lathe_sb_escaped(&head, r->title);
    lathe_sb_str(&head, "</title>\n<style>");
    lathe_sb_str(&head, css);
    lathe_sb_str(&head, "</style>\n</head>\n<body>\n<header><h1>");
    lathe_sb_escaped(&head, r->title);
    lathe_sb_str(&head, "</h1><p class=\"meta\">Made by lathe " LATHE_VERSION
                        ". Plots are drawn to scale; levels in dBFS, dBTP, LUFS and LU."
                        "</p></header>\n<main>\n");
    const char *tail1 = r->in_table ? "</tbody></table></div>\n" : "";
    const char *tail2 = r->in_section ? "</section>\n" : "";
    const char *tail3 = r->in_part ? "</article>\n" : "";
    int bad = head.fail;
    if (!bad) {
        fwrite(head.d, 1, head.n, f);
        if (r->body.n) fwrite(r->body.d, 1, r->body.n, f);
        fprintf(f, "%s%s%s</main>\n</body>\n</html>\n", tail1, tail2, tail3);
    }
    free(head.d);
    int werr = 0; /* the reason a full disk or a size limit gives */
    if (fflush(f) != 0 || ferror(f)) bad = 1, werr = errno;
    if (fclose(f) != 0) bad = 1, werr = werr ? werr : errno;
    if (bad || rename(tmp, path) != 0) {
        st = lathe_error_set(err, LATHE_E_IO, "%s: cannot write: %s", path,
                             bad ? (werr ? strerror(werr) : "write failed") : strerror(errno));
        unlink(tmp);
        free(tmp);
        return st;
    }
    free(tmp);
    return LATHE_OK;
}

/* ---------------- analysis helpers ---------------- */

static const char *fdb(double v, char *buf, size_t n, int dec)
{
    if (isnan(v)) snprintf(buf, n, "n/a");
    else if (isinf(v)) snprintf(buf, n, v < 0 ? "\xe2\x88\x92\xe2\x88\x9e" : "+\xe2\x88\x9e");
    else snprintf(buf, n, "%.*f", dec, v);
    return buf;
}

static void fmt_duration(double s, char *buf, size_t n)
{
    long t = (long)floor(s);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%04.1f", t / 3600, t / 60 % 60, s - (double)(t / 60 * 60));
    else snprintf(buf, n, "%ld:%04.1f", t / 60, s - (double)(t / 60 * 60));
}

typedef struct {
    const char *name, *unit;
    int dec;
    double (*get)(const lathe_analysis *a);
} measure;

static double g_i(const lathe_analysis *a) { return a->integrated_lufs; }
static double g_lra(const lathe_analysis *a) { return a->loudness_range_lu; }
static double g_tp(const lathe_analysis *a) { return a->true_peak_dbtp; }
static double g_sp(const lathe_analysis *a) { return a->sample_peak_dbfs; }
static double g_plr(const lathe_analysis *a) { return a->plr_db; }
static double g_mm(const lathe_analysis *a) { return a->max_momentary_lufs; }
static double g_ms(const lathe_analysis *a) { return a->max_short_term_lufs; }
static double g_crest(const lathe_analysis *a) { return a->crest_db; }
static double g_rms(const lathe_analysis *a) { return a->rms_dbfs; }
static double g_corr(const lathe_analysis *a) { return a->correlation; }
static double g_sm(const lathe_analysis *a) { return a->side_mid_db; }
static double g_clip(const lathe_analysis *a) { return (double)a->clipped_samples; }

static const measure measures[] = {
    {"integrated loudness", "LUFS", 1, g_i},   {"loudness range", "LU", 1, g_lra},
    {"true peak", "dBTP", 1, g_tp},            {"sample peak", "dBFS", 1, g_sp},
    {"PLR (true peak − integrated)", "dB", 1, g_plr},
    {"max momentary", "LUFS", 1, g_mm},        {"max short-term", "LUFS", 1, g_ms},
    {"crest factor", "dB", 1, g_crest},        {"RMS", "dBFS", 1, g_rms},
    {"L/R correlation", "", 2, g_corr},        {"side/mid energy", "dB", 1, g_sm},
    {"clipped samples", "", 0, g_clip},
};

static void summary_table(lathe_report *r, const lathe_analysis *const *a, int n)
{
    static const char *h1[] = {"measure", "value", "unit"};
    static const char *h2[] = {"measure", "before", "after", "change", "unit"};
    lathe_report_table(r, "Measurements", n == 1 ? 3 : 5, n == 1 ? h1 : h2);
    char b[4][48];
    const char *row[5];
    const lathe_analysis *last = a[n - 1];
    fmt_duration(last->duration_s, b[0], sizeof b[0]);
    if (n == 2) fmt_duration(a[0]->duration_s, b[1], sizeof b[1]);
    row[0] = "duration";
    row[1] = n == 1 ? b[0] : b[1];
    row[2] = n == 1 ? "m:ss" : b[0];
    row[3] = "";
    row[4] = "m:ss";
    lathe_report_row(r, row);
    snprintf(b[0], sizeof b[0], "%.0f Hz, %d ch", last->rate, last->channels);
    snprintf(b[1], sizeof b[1], "%.0f Hz, %d ch", a[0]->rate, a[0]->channels);
    row[0] = "format";
    row[1] = b[1];
    row[2] = n == 1 ? "" : b[0];
    lathe_report_row(r, row);
    for (size_t i = 0; i < sizeof measures / sizeof *measures; i++) {
        const measure *m = &measures[i];
        if ((m->get == g_corr || m->get == g_sm) && last->channels != 2) continue;
        row[0] = m->name;
        if (n == 1) {
            row[1] = fdb(m->get(a[0]), b[0], sizeof b[0], m->dec);
            row[2] = m->unit;
        } else {
            double v0 = m->get(a[0]), v1 = m->get(a[1]);
            row[1] = fdb(v0, b[0], sizeof b[0], m->dec);
            row[2] = fdb(v1, b[1], sizeof b[1], m->dec);
            if (isfinite(v0) && isfinite(v1)) snprintf(b[2], sizeof b[2], "%+.*f", m->dec, v1 - v0);
            else snprintf(b[2], sizeof b[2], "–");
            row[3] = b[2];
            row[4] = m->unit;
        }
        lathe_report_row(r, row);
    }
}

static double platform_gain(const lathe_target *t, const lathe_analysis *a, double *target)
{
    int mono = a->channels == 1;
    *target = mono ? t->mono_lufs : t->lufs;
    return lathe_target_playback_gain(t, a->integrated_lufs, a->true_peak_dbtp, mono);
}

static void platform_table(lathe_report *r, const lathe_analysis *const *a, int n)
{
    static const char *h1[] = {"platform", "target (LUFS)", "playback gain (dB)",
                               "plays at (LUFS)", "peak after gain (dBTP)"};
    static const char *h2[] = {"platform", "target (LUFS)", "gain before (dB)",
                               "gain after (dB)", "after plays at (LUFS)"};
    lathe_report_table(r, "What each platform does to it", 5, n == 1 ? h1 : h2);
    int count;
    const lathe_target *t = lathe_targets(&count);
    const lathe_analysis *last = a[n - 1];
    for (int i = 0; i < count; i++) {
        if (!t[i].is_platform) continue;
        char b[5][48];
        double target, g = platform_gain(&t[i], last, &target);
        const char *row[5] = {t[i].label ? t[i].label : t[i].name, b[0], b[1], b[2], b[3]};
        snprintf(b[0], sizeof b[0], "%.0f", target);
        if (n == 1) {
            snprintf(b[1], sizeof b[1], "%+.1f", g);
            fdb(last->integrated_lufs + g, b[2], sizeof b[2], 1);
            fdb(last->true_peak_dbtp + g, b[3], sizeof b[3], 1);
        } else {
            double t0, g0 = platform_gain(&t[i], a[0], &t0);
            snprintf(b[1], sizeof b[1], "%+.1f", g0);
            snprintf(b[2], sizeof b[2], "%+.1f", g);
            fdb(last->integrated_lufs + g, b[3], sizeof b[3], 1);
        }
        lathe_report_row(r, row);
    }
}

/* Problems a mastering engineer would flag, each with what to do. */
static int warnings(lathe_report *r, const lathe_analysis *a)
{
    char p[512], m[512];
    int n = 0;
    if (!isfinite(a->integrated_lufs)) {
        lathe_report_warning(r, "The programme is silent (below the −70 LUFS gate).",
                             "Check the input file and the gain staging before it.");
        return 1;
    }
    if (a->true_peak_dbtp > r->ceiling_dbtp + 0.05) {
        snprintf(p, sizeof p,
                 "True peak %.1f dBTP is above the %.1f dBTP ceiling: lossy encoding (AAC, "
                 "Opus, MP3) and cheap converters may clip.",
                 a->true_peak_dbtp, r->ceiling_dbtp);
        snprintf(m, sizeof m,
                 "Use a true-peak limiter with its ceiling at %.1f dBTP (lathe master "
                 "--ceiling), or lower the gain by %.1f dB.",
                 r->ceiling_dbtp, a->true_peak_dbtp - r->ceiling_dbtp);
        lathe_report_warning(r, p, m), n++;
    }
    if (a->clipped_samples > 0) {
        snprintf(p, sizeof p, "%lld clipped samples (runs at full scale or overs).",
                 a->clipped_samples);
        lathe_report_warning(r, p,
                             "Find the stage that clips and lower the gain before it; "
                             "clipping cannot be undone afterwards.");
        n++;
    }
    if (isfinite(r->target_lufs) && fabs(a->integrated_lufs - r->target_lufs) > 1.0) {
        snprintf(p, sizeof p, "Integrated loudness %.1f LUFS is %.1f LU from the %s target (%.1f LUFS).",
                 a->integrated_lufs, a->integrated_lufs - r->target_lufs, r->target_name,
                 r->target_lufs);
        snprintf(m, sizeof m, "Apply %+.1f dB of gain (with a true-peak limiter when raising).",
                 r->target_lufs - a->integrated_lufs);
        lathe_report_warning(r, p, m), n++;
    }
    if (a->integrated_lufs > -9.0) {
        snprintf(p, sizeof p,
                 "Very loud (%.1f LUFS): every normalising platform turns it down by %.0f dB "
                 "or more, so the loudness buys nothing and costs dynamics.",
                 a->integrated_lufs, a->integrated_lufs + 14.0);
        lathe_report_warning(r, p,
                             "Limit less: aim for about −14 LUFS for streaming, or keep the "
                             "PLR above 8 dB.");
        n++;
    } else if (a->plr_db < 7.0 && a->plr_db > 0) {
        snprintf(p, sizeof p, "PLR %.1f dB: peaks are squashed close to the loudness (heavy limiting).",
                 a->plr_db);
        lathe_report_warning(r, p, "Reduce limiter drive or compression; 8–12 dB PLR sounds open.");
        n++;
    }
    if (a->channels == 2 && isfinite(a->correlation) && a->correlation < -0.2) {
        snprintf(p, sizeof p, "L/R correlation %.2f: the channels are largely out of phase; "
                 "the mono fold-down loses level and bass.", a->correlation);
        lathe_report_warning(r, p, "Check polarity of stereo pairs and wideners; keep the low end mono.");
        n++;
    }
    for (int c = 0; c < a->channels; c++) {
        if (fabs(a->dc_offset[c]) > 0.001) {
            snprintf(p, sizeof p, "DC offset %.2f %% of full scale in channel %d.",
                     100 * a->dc_offset[c], c + 1);
            lathe_report_warning(r, p, "High-pass at 10–20 Hz (lathe eq type=highpass).");
            n++;
            break;
        }
    }
    return n;
}

/* ---- plots from series ---- */

#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((st = (x)) != LATHE_OK) goto out;                                                      \
    } while (0)

typedef struct {
    const lathe_analysis *a;
    const lathe_series *s;
    const char *tag; /* "", "before: ", "after: " */
} stream;

static double duration_of(const stream *v, int n)
{
    double d = 0;
    for (int i = 0; i < n; i++)
        if (v[i].s) {
            double t = (double)lathe_series_frames(v[i].s) / lathe_series_rate(v[i].s);
            if (t > d) d = t;
        }
    return d > 0 ? d : 1;
}

static lathe_status nomem(lathe_error *err)
{
    return lathe_error_set(err, LATHE_E_NOMEM, "report: out of memory");
}

static lathe_status loudness_section(lathe_report *r, const stream *v, int n, lathe_error *err)
{
    lathe_status st = LATHE_OK;
    char leg[128];
    lathe_report_section(r, "loudness", "Loudness over time");
    lathe_plot *p = lathe_plot_new("Loudness over time", "time (m:ss)", "loudness (LUFS)",
                                   LATHE_X_TIME);
    if (!p) return nomem(err);
    double top = -HUGE_VAL;
    for (int i = 0; i < n; i++) {
        const lathe_series *s = v[i].s;
        long hops = lathe_series_hops(s);
        double hs = lathe_series_hop_seconds(s);
        int last = i == n - 1;
        if (last) {
            snprintf(leg, sizeof leg, "%smomentary (400 ms)", v[i].tag);
            lathe_plot_next_color(p, 5);
            TRY(lathe_plot_line(p, leg, lathe_series_momentary(s), hops, hs, hs));
        }
        snprintf(leg, sizeof leg, "%sshort-term (3 s)", v[i].tag);
        lathe_plot_next_color(p, last ? 0 : 1);
        TRY(lathe_plot_line(p, leg, lathe_series_short_term(s), hops, hs, hs));
        if (v[i].a->max_momentary_lufs > top) top = v[i].a->max_momentary_lufs;
    }
    for (int i = 0; i < n; i++) {
        if (!isfinite(v[i].a->integrated_lufs)) continue;
        snprintf(leg, sizeof leg, "%sintegrated %.1f LUFS", v[i].tag, v[i].a->integrated_lufs);
        lathe_plot_next_color(p, i == n - 1 ? 6 : 1);
        TRY(lathe_plot_hline(p, leg, v[i].a->integrated_lufs));
    }
    if (isfinite(r->target_lufs)) {
        snprintf(leg, sizeof leg, "target %.1f LUFS (%s)", r->target_lufs, r->target_name);
        lathe_plot_next_color(p, 3);
        TRY(lathe_plot_hline(p, leg, r->target_lufs));
        if (r->target_lufs > top) top = r->target_lufs;
    }
    if (!isfinite(top)) top = -20;
    double hi = ceil((top + 1) / 5) * 5;
    lathe_plot_yrange(p, hi - 45, hi);
    lathe_plot_xrange(p, 0, duration_of(v, n));
    TRY(lathe_report_plot(r, p,
                          "Momentary (400 ms window) and short-term (3 s) loudness every "
                          "100 ms, K-weighted (ITU-R BS.1770-4, EBU Tech 3341); dashed: "
                          "integrated loudness (gated) and the target.",
                          err));
out:
    lathe_plot_free(p);
    return st;
}

static lathe_status waveform_section(lathe_report *r, const stream *v, int n, lathe_error *err)
{
    lathe_status st = LATHE_OK;
    lathe_plot *p = NULL;
    double *mx = NULL, *my = NULL;
    static const char *chn[] = {"L", "R", "C", "LFE", "Ls", "Rs", "7", "8"};
    lathe_report_section(r, "waveform", "Waveform and true-peak overs");
    const double ceil_lin = pow(10.0, r->ceiling_dbtp / 20.0);
    for (int i = 0; i < n; i++) {
        const lathe_series *s = v[i].s;
        int ch = lathe_series_channels(s);
        long hops = lathe_series_hops(s);
        double hs = lathe_series_hop_seconds(s);
        char title[160], leg[128], cap[512];
        snprintf(title, sizeof title, "%sPeak envelope", n > 1 ? (i ? "After: " : "Before: ") : "");
        p = lathe_plot_new(title, "time (m:ss)", "amplitude (full scale = 1)", LATHE_X_TIME);
        if (!p) return nomem(err);
        double peak = 1.0;
        for (int c = 0; c < ch; c++) {
            const char *name = ch == 1 ? "mono" : ch == 2 ? chn[c] : chn[c];
            snprintf(leg, sizeof leg, "%s min/max", name);
            TRY(lathe_plot_band(p, leg, lathe_series_sample_min(s, c), lathe_series_sample_max(s, c),
                                hops, hs * 0.5, hs));
        }
        mx = malloc(sizeof(double) * (size_t)(hops > 0 ? hops : 1));
        my = malloc(sizeof(double) * (size_t)(hops > 0 ? hops : 1));
        if (!mx || !my) {
            st = nomem(err);
            goto out;
        }
        long novers = 0;
        for (long k = 0; k < hops; k++) {
            float t = 0;
            for (int c = 0; c < ch; c++)
                if (lathe_series_true_peak(s, c)[k] > t) t = lathe_series_true_peak(s, c)[k];
            if (t > peak) peak = t;
            if (t > ceil_lin) {
                mx[novers] = (k + 0.5) * hs;
                my[novers] = t;
                novers++;
            }
        }
        snprintf(leg, sizeof leg, "ceiling %.1f dBTP", r->ceiling_dbtp);
        lathe_plot_next_color(p, 6);
        TRY(lathe_plot_hline(p, leg, ceil_lin));
        lathe_plot_next_color(p, 6);
        TRY(lathe_plot_hline(p, NULL, -ceil_lin));
        if (novers) {
            snprintf(leg, sizeof leg, "true peak above ceiling (%ld × 100 ms)", novers);
            lathe_plot_next_color(p, 3);
            TRY(lathe_plot_markers(p, leg, mx, my, novers));
        }
        double lim = peak * 1.08;
        lathe_plot_yrange(p, -lim, lim);
        lathe_plot_xrange(p, 0, duration_of(v, n));
        snprintf(cap, sizeof cap,
                 "Smallest and largest sample of every 100 ms per channel (reduced to one "
                 "column per pixel). Markers: 100 ms stretches whose true peak (4× "
                 "oversampled, BS.1770-4 Annex 2) exceeds %.1f dBTP: %ld found.",
                 r->ceiling_dbtp, novers);
        TRY(lathe_report_plot(r, p, cap, err));
        lathe_plot_free(p), p = NULL;
        free(mx), mx = NULL;
        free(my), my = NULL;
    }
out:
    lathe_plot_free(p);
    free(mx);
    free(my);
    return st;
}

static double spec_max(const float *v, int n)
{
    double m = -HUGE_VAL;
    for (int i = 1; i < n; i++)
        if (isfinite(v[i]) && v[i] > m) m = v[i];
    return m;
}

static lathe_status spectrum_section(lathe_report *r, const stream *v, int n, lathe_error *err)
{
    lathe_status st = LATHE_OK;
    char leg[128];
    lathe_report_section(r, "spectrum", "Average spectrum");
    lathe_plot *p = lathe_plot_new("Average spectrum (1/6-octave smoothed)", "frequency (Hz)",
                                   "level (dB re full-scale sine)", LATHE_X_LOG);
    if (!p) return nomem(err);
    double top = -HUGE_VAL, nyq = 0;
    for (int i = 0; i < n; i++) {
        int bins;
        double bhz;
        int ch = lathe_series_channels(v[i].s);
        lathe_spec_kind kinds[2] = {ch >= 2 ? LATHE_SPEC_MID : LATHE_SPEC_LEFT, LATHE_SPEC_SIDE};
        int nk = (ch >= 2 && n == 1) ? 2 : 1;
        for (int k = 0; k < nk; k++) {
            const float *pw = lathe_series_spectrum(v[i].s, kinds[k], &bins, &bhz);
            if (!pw) continue;
            snprintf(leg, sizeof leg, "%s%s", v[i].tag,
                     ch == 1 ? "mono" : k == 0 ? "mid (L+R)/2" : "side (L−R)/2");
            lathe_plot_next_color(p, n == 2 ? (i ? 0 : 1) : k == 0 ? 0 : 2);
            TRY(lathe_plot_spectrum(p, leg, pw, bins, bhz));
            double m = spec_max(pw, bins);
            if (m > top) top = m;
            if ((bins - 1) * bhz > nyq) nyq = (bins - 1) * bhz;
        }
    }
    if (r->ref) {
        int bins, ch = lathe_series_channels(r->ref);
        double bhz;
        const float *pw =
            lathe_series_spectrum(r->ref, ch >= 2 ? LATHE_SPEC_MID : LATHE_SPEC_LEFT, &bins, &bhz);
        float *adj = pw ? malloc(sizeof(float) * (size_t)bins) : NULL;
        if (adj) {
            /* level-matched: the reference moved to the first stream's loudness */
            double g = isfinite(r->ref_lufs) && isfinite(v[0].a->integrated_lufs)
                           ? v[0].a->integrated_lufs - r->ref_lufs
                           : 0;
            for (int b = 0; b < bins; b++) adj[b] = (float)(pw[b] + g);
            snprintf(leg, sizeof leg, "%.90s (%+.1f dB, level-matched)", r->ref_label, g);
            lathe_plot_next_color(p, 4);
            st = lathe_plot_spectrum(p, leg, adj, bins, bhz);
            free(adj);
            if (st != LATHE_OK) goto out;
        }
    }
    if (!isfinite(top)) top = -20;
    double hi = ceil(top / 10) * 10 + 5;
    lathe_plot_yrange(p, hi - 95, hi);
    lathe_plot_xrange(p, 20, nyq > 20 ? nyq : 20000);
    TRY(lathe_report_plot(r, p,
                          "Welch average power spectrum (4096-point Hann windows, 50 % overlap), "
                          "smoothed to 1/6 octave; a sine of amplitude A reads 20·log10 A.",
                          err));
out:
    lathe_plot_free(p);
    return st;
}

static lathe_status dynamics_section(lathe_report *r, const stream *v, int n, lathe_error *err)
{
    lathe_status st = LATHE_OK;
    char leg[128];
    float *psr = NULL;
    lathe_plot *p = NULL;
    lathe_report_section(r, "dynamics", "Dynamics");
    const lathe_series *gs = v[n - 1].s;
    int ngr = lathe_series_gr_count(gs);
    if (ngr > 0) {
        p = lathe_plot_new("Gain reduction", "time (m:ss)", "gain reduction (dB)", LATHE_X_TIME);
        if (!p) return nomem(err);
        double hs = lathe_series_hop_seconds(gs);
        for (int g = 0; g < ngr; g++) {
            long cnt;
            const float *gv = lathe_series_gr(gs, g, &cnt);
            TRY(lathe_plot_line(p, lathe_series_gr_name(gs, g), gv, cnt, hs * 0.5, hs));
        }
        lathe_plot_yrange(p, 0, NAN);
        lathe_plot_xrange(p, 0, duration_of(v, n));
        TRY(lathe_report_plot(r, p,
                              "Gain reduction of each dynamics processor, one value per 100 ms "
                              "(the largest reduction in it).",
                              err));
        lathe_plot_free(p), p = NULL;
    }
    p = lathe_plot_new("Peak to short-term loudness ratio (PSR)", "time (m:ss)", "PSR (dB)",
                       LATHE_X_TIME);
    if (!p) return nomem(err);
    for (int i = 0; i < n; i++) {
        const lathe_series *s = v[i].s;
        long hops = lathe_series_hops(s);
        int ch = lathe_series_channels(s);
        double hs = lathe_series_hop_seconds(s);
        const float *stl = lathe_series_short_term(s);
        psr = malloc(sizeof(float) * (size_t)(hops > 0 ? hops : 1));
        if (!psr) {
            st = nomem(err);
            goto out;
        }
        /* true peak over the same 3 s as the short-term window */
        long w = 30;
        for (long k = 0; k < hops; k++) {
            float t = 0;
            for (long j = k - w + 1 < 0 ? 0 : k - w + 1; j <= k; j++)
                for (int c = 0; c < ch; c++)
                    if (lathe_series_true_peak(s, c)[j] > t) t = lathe_series_true_peak(s, c)[j];
            psr[k] = (t > 0 && isfinite(stl[k]) && stl[k] > -70) ? 20.0f * log10f(t) - stl[k] : NAN;
        }
        snprintf(leg, sizeof leg, "%sPSR", v[i].tag);
        lathe_plot_next_color(p, n == 2 && i == 0 ? 1 : 0);
        TRY(lathe_plot_line(p, leg, psr, hops, hs, hs));
        free(psr), psr = NULL;
    }
    lathe_plot_xrange(p, 0, duration_of(v, n));
    TRY(lathe_report_plot(r, p,
                          "True peak over the last 3 s minus short-term loudness: low values "
                          "(under about 8 dB) mean heavily limited passages.",
                          err));
out:
    free(psr);
    lathe_plot_free(p);
    return st;
}

static lathe_status stereo_section(lathe_report *r, const stream *v, int n, lathe_error *err)
{
    lathe_status st = LATHE_OK;
    char leg[128];
    lathe_report_section(r, "stereo", "Stereo image");
    lathe_plot *p = lathe_plot_new("L/R correlation over time", "time (m:ss)",
                                   "correlation (−1 … +1)", LATHE_X_TIME);
    if (!p) return nomem(err);
    for (int i = 0; i < n; i++) {
        const lathe_series *s = v[i].s;
        double hs = lathe_series_hop_seconds(s);
        snprintf(leg, sizeof leg, "%scorrelation (400 ms)", v[i].tag);
        lathe_plot_next_color(p, n == 2 && i == 0 ? 1 : 0);
        TRY(lathe_plot_line(p, leg, lathe_series_correlation(s), lathe_series_hops(s), hs, hs));
    }
    lathe_plot_next_color(p, 6);
    TRY(lathe_plot_hline(p, "0: uncorrelated", 0));
    lathe_plot_yrange(p, -1.05, 1.05);
    lathe_plot_xrange(p, 0, duration_of(v, n));
    TRY(lathe_report_plot(r, p,
                          "Correlation of L and R over 400 ms every 100 ms: +1 mono, 0 "
                          "unrelated, −1 out of phase (cancels in mono).",
                          err));
    lathe_plot_free(p);
    p = lathe_plot_new("Side/mid balance by octave band", "side − mid (dB)", "", LATHE_X_LINEAR);
    if (!p) return nomem(err);
    double vlo = -24, vhi = 6;
    for (int i = 0; i < n; i++) {
        const double *fc, *md, *sd;
        int nb = lathe_series_bands(v[i].s, &fc, &md, &sd);
        char lab[LATHE_SERIES_BANDS][24];
        const char *labs[LATHE_SERIES_BANDS];
        double val[LATHE_SERIES_BANDS];
        for (int b = 0; b < nb; b++) {
            if (fc[b] >= 1000) snprintf(lab[b], sizeof lab[b], "%g kHz", fc[b] / 1000);
            else snprintf(lab[b], sizeof lab[b], "%g Hz", fc[b]);
            labs[b] = lab[b];
            val[b] = sd[b] - md[b];
            if (!isfinite(val[b])) val[b] = sd[b] > md[b] ? 60 : -60;
            vlo = fmin(vlo, floor(val[b] / 6) * 6);
            vhi = fmax(vhi, ceil(val[b] / 6) * 6);
        }
        snprintf(leg, sizeof leg, "%sside − mid", v[i].tag);
        lathe_plot_next_color(p, n == 2 && i == 0 ? 1 : 0);
        TRY(lathe_plot_bars(p, leg, labs, val, nb));
    }
    lathe_plot_bar_base(p, 0);
    lathe_plot_yrange(p, vlo, vhi);
    TRY(lathe_report_plot(r, p,
                          "Energy of the side signal (L−R)/2 against the mid (L+R)/2 in each "
                          "octave band: 0 dB is as wide as it is centred; bass is usually "
                          "well below 0 (mono); −∞/+∞ shown as ∓60.",
                          err));
out:
    lathe_plot_free(p);
    return st;
}

static lathe_status levels_section(lathe_report *r, const stream *v, int n, lathe_error *err)
{
    lathe_status st = LATHE_OK;
    char leg[128];
    static const char *chn[] = {"L", "R", "C", "LFE", "Ls", "Rs", "7", "8"};
    lathe_report_section(r, "levels", "Levels per channel");
    lathe_plot *p = lathe_plot_new("Peak level per channel", "level (dBFS / dBTP)", "",
                                   LATHE_X_LINEAR);
    if (!p) return nomem(err);
    for (int i = 0; i < n; i++) {
        const lathe_analysis *a = v[i].a;
        const char *labs[LATHE_MAX_CHANNELS];
        double tp[LATHE_MAX_CHANNELS], sp[LATHE_MAX_CHANNELS];
        for (int c = 0; c < a->channels; c++) {
            labs[c] = a->channels == 1 ? "mono" : chn[c];
            tp[c] = a->channel_true_peak_dbtp[c];
            sp[c] = a->channel_sample_peak_dbfs[c];
        }
        snprintf(leg, sizeof leg, "%strue peak (dBTP)", v[i].tag);
        lathe_plot_next_color(p, n == 2 && i == 0 ? 1 : 0);
        TRY(lathe_plot_bars(p, leg, labs, tp, a->channels));
        if (n == 1) {
            lathe_plot_next_color(p, 5);
            TRY(lathe_plot_bars(p, "sample peak (dBFS)", labs, sp, a->channels));
        }
    }
    TRY(lathe_report_plot(r, p, "Largest true peak (4× oversampled) and sample peak of each channel.",
                          err));
out:
    lathe_plot_free(p);
    return st;
}

static lathe_status add_part(lathe_report *r, const char *label, const stream *v, int n,
                             lathe_error *err)
{
    lathe_report_part(r, label);
    lathe_report_section(r, "summary", "Summary");
    const lathe_analysis *as[2] = {v[0].a, n > 1 ? v[1].a : NULL};
    summary_table(r, as, n);
    platform_table(r, as, n);
    if (!warnings(r, v[n - 1].a))
        lathe_sb_str(&r->body, "<div class=\"ok\">No problems found.</div>\n");
    for (int i = 0; i < n; i++)
        if (!v[i].s) return r->body.fail ? nomem(err) : LATHE_OK;
    lathe_status st;
    if ((st = loudness_section(r, v, n, err)) != LATHE_OK) return st;
    if ((st = waveform_section(r, v, n, err)) != LATHE_OK) return st;
    if ((st = spectrum_section(r, v, n, err)) != LATHE_OK) return st;
    if ((st = dynamics_section(r, v, n, err)) != LATHE_OK) return st;
    int stereo = 1;
    for (int i = 0; i < n; i++) stereo &= lathe_series_channels(v[i].s) >= 2;
    if (stereo && (st = stereo_section(r, v, n, err)) != LATHE_OK) return st;
    if ((st = levels_section(r, v, n, err)) != LATHE_OK) return st;
    close_section(r);
    return r->body.fail ? nomem(err) : LATHE_OK;
}

lathe_status lathe_report_add_analysis(lathe_report *r, const char *label,
                                       const lathe_analysis *a, const lathe_series *s,
                                       lathe_error *err)
{
    stream v[1] = {{a, s, ""}};
    return add_part(r, label, v, 1, err);
}

lathe_status lathe_report_add_comparison(lathe_report *r, const char *label,
                                         const lathe_analysis *before, const lathe_series *sb,
                                         const lathe_analysis *after, const lathe_series *sa,
                                         lathe_error *err)
{
    stream v[2] = {{before, sb, "before: "}, {after, sa, "after: "}};
    return add_part(r, label, v, 2, err);
}
