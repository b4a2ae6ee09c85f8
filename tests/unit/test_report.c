/* SPDX-License-Identifier: GPL-3.0-or-later */
/* HTML reports (lathe/report.h): every section present with a non-empty
 * inline SVG in each figure, unique element ids across plots, one hour of
 * audio giving a small page (min/max reduction: the size does not grow with
 * duration), no scripts or external resources, escaping, the
 * temporary-file-and-rename write and its overwrite rule. */
#include "lathe_test.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lathe/analysis.h"
#include "lathe/report.h"
#include "lathe/series.h"

#if defined(__SANITIZE_ADDRESS__)
/* fontconfig (under cairo's plot text) leaks a little of the configuration it
 * parses once per process, unreachable from any pointer (fontconfig's own
 * allocation, not lathe's): LeakSanitizer ignores stacks through it. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "print_suppressions=0";
}
#endif

static char dir[256];

static int setup(void **s)
{
    (void)s;
    lt_tmpdir(dir, sizeof dir);
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    lt_rmdir(dir);
    lathe_report_release_caches();
    return 0;
}

static char *slurp(const char *path, long *len)
{
    size_t n;
    char *d = lt_read_file(path, &n);
    if (len) *len = (long)n;
    return d;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double urand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* `seconds` of stereo programme at `rate`: noise whose level changes every
 * 100 ms (so every curve moves), one spike per hop, a side component that
 * comes and goes; fed to an analyser and a series, plus a limiter curve. */
static void synth(double rate, double seconds, lathe_analysis *a, lathe_series **out)
{
    /* the analyser only for short runs: the hour-long ones fill in figures */
    lathe_analyzer *an = seconds <= 60 ? lathe_analyzer_new(rate, 2, NULL) : NULL;
    lathe_series *s = lathe_series_new(rate, 2, NULL);
    assert_non_null(s);
    long hop = lathe_series_hop_frames(s), total = (long)(seconds * rate);
    float **x = lt_alloc(2, hop);
    float *gr = malloc(sizeof(float) * 1000);
    int ngr = 0;
    rng = 0x9e3779b97f4a7c15ull;
    for (long done = 0; done < total; done += hop) {
        double level = 0.02 + 0.1 * urand(), side = urand() < 0.5 ? 0.3 : 0.0;
        for (long i = 0; i < hop; i++) {
            double m = level * (2 * urand() - 1), sd = side * level * (2 * urand() - 1);
            x[0][i] = (float)(m + sd);
            x[1][i] = (float)(m - sd);
        }
        x[0][hop / 2] = (float)(0.5 + 0.45 * urand()); /* a spike: the peak envelope moves */
        long k = total - done < hop ? total - done : hop;
        if (an) lathe_analyzer_add(an, (const float *const *)x, k);
        assert_int_equal(lathe_series_add(s, (const float *const *)x, k), LATHE_OK);
        gr[ngr++] = (float)(6 * level / 0.12);
        if (ngr == 1000) {
            lathe_series_add_gr(s, "limiter", gr, ngr);
            ngr = 0;
        }
    }
    lathe_series_add_gr(s, "limiter", gr, ngr);
    lathe_series_finish(s);
    if (an) {
        lathe_analyzer_result(an, a);
        lathe_analyzer_free(an);
    } else {
        *a = (lathe_analysis){.integrated_lufs = -24.2, .loudness_range_lu = 6.1,
                              .max_momentary_lufs = -15.0, .max_short_term_lufs = -18.0,
                              .sample_peak_dbfs = -0.4, .true_peak_dbtp = -0.3, .plr_db = 23.9,
                              .crest_db = 20, .rms_dbfs = -21, .correlation = 0.8,
                              .side_mid_db = -7, .duration_s = seconds, .rate = rate,
                              .channels = 2, .frames = (long long)(seconds * rate)};
        for (int c = 0; c < 2; c++)
            a->channel_true_peak_dbtp[c] = -0.3, a->channel_sample_peak_dbfs[c] = -0.4;
    }
    free(gr);
    lt_free(x, 2);
    *out = s;
}

static long write_analysis_report(const char *name, double rate, double seconds)
{
    lathe_analysis a;
    lathe_series *s;
    synth(rate, seconds, &a, &s);
    lathe_error err;
    lathe_report *r = lathe_report_new("one hour", &err);
    assert_non_null(r);
    assert_int_equal(lathe_report_add_analysis(r, "synthetic programme", &a, s, &err), LATHE_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(lathe_report_write(r, path, 1, &err), LATHE_OK);
    lathe_report_free(r);
    lathe_series_free(s);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return (long)sb.st_size;
}

/* One hour in an optimised build; under ASan (30x slower here) ten minutes,
 * which already has 7 times more hops than the plots have columns: the
 * second assertion shows the size does not grow with duration. */
#if defined(__SANITIZE_ADDRESS__)
#define LONG_S 600.0
#else
#define LONG_S 3600.0
#endif

static void report_of_one_hour_is_under_1_5_mb_and_no_bigger_than_ten_minutes(void **st)
{
    (void)st;
    long hour = write_analysis_report("hour.html", 8000, LONG_S);
    long sixth = write_analysis_report("sixth.html", 8000, LONG_S / 6);
    print_message("report sizes: %.0f s %ld bytes, %.0f s %ld bytes\n", LONG_S, hour,
                  LONG_S / 6, sixth);
    assert_true(hour < 1500000);
    assert_true(hour > 50000);
    /* min/max per pixel column: six times the data, about the same page */
    assert_true(hour < sixth * 1.15);
}

/* The part of text between a <section id="ID" ...> and its </section>. */
static char *section(const char *html, const char *id)
{
    char key[64];
    snprintf(key, sizeof key, "<section id=\"%s\"", id);
    const char *a = strstr(html, key);
    if (!a) return NULL;
    const char *b = strstr(a, "</section>");
    assert_non_null(b);
    size_t n = (size_t)(b - a);
    char *d = malloc(n + 1);
    memcpy(d, a, n);
    d[n] = 0;
    return d;
}

/* Every <figure> in text holds an <svg> with drawn paths and a caption. */
static int check_figures(const char *text)
{
    int n = 0;
    for (const char *p = strstr(text, "<figure>"); p; p = strstr(p + 1, "<figure>")) {
        const char *end = strstr(p, "</figure>");
        assert_non_null(end);
        const char *svg = strstr(p, "<svg");
        assert_true(svg && svg < end);
        const char *svg_end = strstr(svg, "</svg>");
        assert_true(svg_end && svg_end < end);
        assert_true(svg_end - svg > 2000);
        int paths = 0;
        for (const char *q = strstr(svg, "<path"); q && q < svg_end; q = strstr(q + 1, "<path"))
            paths++;
        assert_true(paths >= 10); /* frame, grid, data, glyphs */
        assert_non_null(strstr(svg, "viewBox="));
        const char *cap = strstr(p, "<figcaption>");
        assert_true(cap && cap < end && cap[12] != '<');
        n++;
    }
    return n;
}

static void report_has_every_section_with_a_nonempty_svg_in_each_figure(void **st)
{
    (void)st;
    (void)write_analysis_report("sections.html", 16000, 20);
    char path[512];
    snprintf(path, sizeof path, "%s/sections.html", dir);
    char *html = slurp(path, NULL);
    static const char *ids[] = {"summary", "loudness", "waveform", "spectrum",
                                "dynamics", "stereo", "levels"};
    int figures = 0;
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
        char *sec = section(html, ids[i]);
        if (!sec) fail_msg("section %s missing", ids[i]);
        int nf = check_figures(sec);
        if (i > 0 && nf < 1) fail_msg("section %s has no figure", ids[i]);
        figures += nf;
        free(sec);
    }
    /* loudness, waveform, spectrum, gain reduction, PSR, correlation, balance, levels */
    assert_int_equal(figures, 8);
    assert_int_equal(check_figures(html), 8);
    /* the summary carries the measurements and platform table */
    assert_non_null(strstr(html, "integrated loudness"));
    assert_non_null(strstr(html, "Spotify"));
    /* self-contained: no scripts, no linked resources */
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, " src="));
    assert_null(strstr(html, "https:"));
    assert_non_null(strstr(html, "name=\"viewport\""));
    free(html);
}

static void report_element_ids_are_unique_across_plots(void **st)
{
    (void)st;
    lathe_analysis a;
    lathe_series *s;
    synth(8000, 10, &a, &s);
    lathe_report *r = lathe_report_new("ids", NULL);
    /* two parts: section ids repeat, plot-internal ids must not collide */
    assert_int_equal(lathe_report_add_analysis(r, "first", &a, s, NULL), LATHE_OK);
    lathe_report_set_reference(r, "reference song", s, a.integrated_lufs - 3);
    assert_int_equal(lathe_report_add_comparison(r, "second", &a, s, &a, s, NULL), LATHE_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/ids.html", dir);
    assert_int_equal(lathe_report_write(r, path, 1, NULL), LATHE_OK);
    lathe_report_free(r);
    lathe_series_free(s);
    char *html = slurp(path, NULL);
    assert_non_null(strstr(html, "<section id=\"loudness-2\""));
    /* the reference is drawn in the second part's spectrum, 3 dB up to match */
    const char *spec2 = strstr(html, "<section id=\"spectrum-2\"");
    assert_non_null(spec2);
    assert_non_null(strstr(spec2, "reference song (+3.0 dB, level-matched)"));
    const char *spec1 = strstr(html, "<section id=\"spectrum\"");
    /* but not in the first part's, added before the reference was set */
    assert_true(strstr(spec1, "reference song") == strstr(spec2, "reference song"));
    assert_non_null(strstr(html, ">before</th>"));
    assert_non_null(strstr(html, ">after</th>"));
    /* collect every id="..." and check each occurs once */
    int n = 0, cap = 4096;
    char **ids = malloc(sizeof(char *) * (size_t)cap);
    for (const char *p = strstr(html, " id=\""); p; p = strstr(p + 1, " id=\"")) {
        const char *v = p + 5, *e = strchr(v, '"');
        assert_non_null(e);
        size_t len = (size_t)(e - v);
        for (int i = 0; i < n; i++)
            if (strlen(ids[i]) == len && !strncmp(ids[i], v, len))
                fail_msg("duplicate id '%.*s'", (int)len, v);
        if (n == cap) {
            cap *= 2;
            ids = realloc(ids, sizeof(char *) * (size_t)cap);
        }
        ids[n] = strndup(v, len);
        n++;
    }
    print_message("%d unique ids\n", n);
    assert_true(n > 50);
    /* every local reference points at an id that exists */
    for (const char *p = strstr(html, "href=\"#"); p; p = strstr(p + 1, "href=\"#")) {
        const char *v = p + 7, *e = strchr(v, '"');
        size_t len = (size_t)(e - v);
        int found = 0;
        for (int i = 0; i < n && !found; i++)
            found = strlen(ids[i]) == len && !strncmp(ids[i], v, len);
        if (!found) fail_msg("dangling reference #%.*s", (int)len, v);
    }
    for (int i = 0; i < n; i++) free(ids[i]);
    free(ids);
    free(html);
}

static size_t svg_size_of_line(long n)
{
    float *y = malloc(sizeof(float) * (size_t)n);
    uint64_t seed = 7;
    for (long i = 0; i < n; i++) y[i] = (float)(sin(i * 20.0 / n) + 0.3 * urand());
    (void)seed;
    lathe_plot *p = lathe_plot_new("t", "time (m:ss)", "v", LATHE_X_TIME);
    assert_int_equal(lathe_plot_line(p, "y", y, n, 0, 3600.0 / n), LATHE_OK);
    char *svg;
    size_t len;
    assert_int_equal(lathe_plot_svg(p, "x-", &svg, &len, NULL), LATHE_OK);
    assert_int_equal(strlen(svg), len);
    free(svg);
    free(y);
    lathe_plot_free(p);
    return len;
}

static void plot_of_a_million_points_is_as_small_as_of_twenty_thousand(void **st)
{
    (void)st;
    size_t big = svg_size_of_line(1000000), mid = svg_size_of_line(20000),
           few = svg_size_of_line(100);
    print_message("svg bytes: 1e6 points %zu, 2e4 points %zu, 100 points %zu\n", big, mid, few);
    assert_true(big < mid * 1.1);
    assert_true(big < 200000);
    assert_true(few < mid); /* few points are drawn as they are */
}

static void plot_svg_scales_and_has_title_axes_and_legend(void **st)
{
    (void)st;
    lathe_plot *p = lathe_plot_new("Spectrum", "frequency (Hz)", "level (dB)", LATHE_X_LOG);
    float pw[2049];
    for (int k = 0; k < 2049; k++) pw[k] = (float)(-20 - 10 * log10(1 + k));
    assert_int_equal(lathe_plot_spectrum(p, "flat-ish", pw, 2049, 48000.0 / 4096), LATHE_OK);
    assert_int_equal(lathe_plot_hline(p, "reference", -30), LATHE_OK);
    const char *labels[2] = {"a", "b"};
    double v[2] = {-3, -9};
    lathe_plot *b = lathe_plot_new("Bars", "level (dB)", "", LATHE_X_LINEAR);
    assert_int_equal(lathe_plot_bars(b, "peak", labels, v, 2), LATHE_OK);
    char *svg, *svgb;
    assert_int_equal(lathe_plot_svg(p, "q-", &svg, NULL, NULL), LATHE_OK);
    assert_int_equal(lathe_plot_svg(b, "r-", &svgb, NULL, NULL), LATHE_OK);
    /* root: a viewBox, full width, no fixed height; no XML declaration */
    assert_true(!strncmp(svg, "<svg", 4));
    const char *root_end = strchr(svg, '>');
    assert_non_null(strstr(svg, "viewBox=\"0 0 900 "));
    assert_true(strstr(svg, "width=\"100%\"") < root_end);
    const char *h = strstr(svg, "height=");
    assert_true(!h || h > root_end);
    assert_non_null(strstr(svg, "aria-label=\"Spectrum: flat-ish; reference\""));
    /* ids prefixed */
    for (const char *q = strstr(svg, " id=\""); q; q = strstr(q + 1, " id=\""))
        assert_true(!strncmp(q + 5, "q-", 2));
    free(svg);
    free(svgb);
    lathe_plot_free(p);
    lathe_plot_free(b);
}

static void report_write_refuses_existing_file_and_leaves_no_temporary(void **st)
{
    (void)st;
    char path[512];
    snprintf(path, sizeof path, "%s/w/exists.html", dir);
    char sub[512];
    snprintf(sub, sizeof sub, "%s/w", dir);
    mkdir(sub, 0755);
    FILE *f = fopen(path, "w");
    fputs("keep", f);
    fclose(f);
    lathe_report *r = lathe_report_new("<script>alert(1)</script> & co", NULL);
    lathe_report_part(r, "part <b>");
    lathe_report_text(r, "a \"quoted\" <i>text</i>");
    lathe_error err;
    assert_int_equal(lathe_report_write(r, path, 0, &err), LATHE_E_EXISTS);
    char *old = slurp(path, NULL);
    assert_string_equal(old, "keep");
    free(old);
    assert_int_equal(lathe_report_write(r, path, 1, &err), LATHE_OK);
    char *html = slurp(path, NULL);
    assert_null(strstr(html, "<script>"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
    assert_non_null(strstr(html, "part &lt;b&gt;"));
    assert_non_null(strstr(html, "</article>\n</main>"));
    free(html);
    /* a folder that does not exist: an error naming the path */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir/r.html", dir);
    assert_int_not_equal(lathe_report_write(r, bad, 1, &err), LATHE_OK);
    assert_non_null(strstr(err.msg, "no/such/dir"));
    lathe_report_free(r);
    DIR *d = opendir(sub);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            files++;
            assert_null(strstr(e->d_name, "tmp"));
        }
    closedir(d);
    assert_int_equal(files, 1);
}

static void report_warns_with_remedies_for_overs_clipping_and_target(void **st)
{
    (void)st;
    lathe_analysis a = {0};
    a.integrated_lufs = -7.5;
    a.true_peak_dbtp = 0.8;
    a.sample_peak_dbfs = 0;
    a.plr_db = 8.3;
    a.clipped_samples = 12;
    a.channels = 2;
    a.rate = 44100;
    a.correlation = -0.5;
    lathe_report *r = lathe_report_new("w", NULL);
    lathe_report_set_target(r, "spotify", -14, -1);
    assert_int_equal(lathe_report_add_analysis(r, "loud", &a, NULL, NULL), LATHE_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/warn.html", dir);
    assert_int_equal(lathe_report_write(r, path, 1, NULL), LATHE_OK);
    lathe_report_free(r);
    char *html = slurp(path, NULL);
    int warns = 0, remedies = 0;
    for (const char *p = strstr(html, "class=\"warn\""); p; p = strstr(p + 1, "class=\"warn\""))
        warns++;
    for (const char *p = strstr(html, "Remedy:"); p; p = strstr(p + 1, "Remedy:")) remedies++;
    /* over the ceiling, clipping, off target, very loud, negative correlation */
    assert_int_equal(warns, 5);
    assert_int_equal(remedies, 5);
    assert_non_null(strstr(html, "0.8 dBTP is above the -1.0 dBTP ceiling"));
    assert_null(strstr(html, "No problems found"));
    free(html);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(report_of_one_hour_is_under_1_5_mb_and_no_bigger_than_ten_minutes),
        cmocka_unit_test(report_has_every_section_with_a_nonempty_svg_in_each_figure),
        cmocka_unit_test(report_element_ids_are_unique_across_plots),
        cmocka_unit_test(plot_of_a_million_points_is_as_small_as_of_twenty_thousand),
        cmocka_unit_test(plot_svg_scales_and_has_title_axes_and_legend),
        cmocka_unit_test(report_write_refuses_existing_file_and_leaves_no_temporary),
        cmocka_unit_test(report_warns_with_remedies_for_overs_clipping_and_target),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
