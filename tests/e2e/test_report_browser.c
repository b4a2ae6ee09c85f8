/* SPDX-License-Identifier: GPL-3.0-or-later */
/* `lathe analyze --report` checked in a real browser: headless Chromium
 * loads the report made from a generated file; the serialised DOM must hold
 * every section and a figure with an <svg> in each, and screenshots at
 * laptop and phone widths must show every figure box with plotted colour in
 * it (not blank).  Without Chromium the test fails, unless LATHE_ALLOW_SKIP
 * is set: then it exits 77 (skipped). */
#include "lathe_test.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lathe/io.h"

static char dir[256];
static const char *chromium;

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

/* 30 s of stereo: a chord, pink-ish noise, a quieter middle, wide highs,
 * and in the last 5 s a quarter-rate tone whose true peak (+3 dB over its
 * samples) goes over -1 dBTP. */
static void make_input(const char *path)
{
    const double rate = 44100;
    const long n = (long)(30 * rate);
    lathe_writer_spec spec = {LATHE_FILE_WAV, LATHE_SAMPLE_PCM24, rate, 2, 1};
    lathe_error err;
    lathe_writer *w = lathe_writer_open(path, &spec, &err);
    assert_non_null(w);
    float **x = lt_alloc(2, n);
    uint64_t seed = 42;
    float *noise = malloc(sizeof(float) * (size_t)n);
    lt_noise(noise, n, 1.0, &seed);
    double lp = 0, hp_prev = 0;
    for (long i = 0; i < n; i++) {
        double t = i / rate, env = (t > 10 && t < 18) ? 0.25 : 1.0;
        double chord = 0.12 * sin(2 * M_PI * 110 * t) + 0.08 * sin(2 * M_PI * 164.8 * t) +
                       0.06 * sin(2 * M_PI * 220 * t);
        lp += 0.05 * (noise[i] - lp);
        double hi = noise[i] - hp_prev;
        hp_prev = noise[i];
        x[0][i] = (float)(env * (chord + 0.2 * lp + 0.02 * hi));
        x[1][i] = (float)(env * (chord + 0.2 * lp - 0.02 * hi));
        if (t >= 25) {
            float q = (float)(0.97 * sin(M_PI / 2 * (double)i + M_PI / 4));
            x[0][i] = q;
            x[1][i] = q;
        }
    }
    assert_int_equal(lathe_writer_write(w, (const float *const *)x, n, &err), LATHE_OK);
    assert_int_equal(lathe_writer_commit(w, &err), LATHE_OK);
    free(noise);
    lt_free(x, 2);
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

typedef struct {
    int y0, y1, x0, x1;
} box;

/* Figure boxes in a screenshot: vertical runs of the figure border colour
 * (#ddd) at the leftmost column that has any, whose inside is white (tables
 * share the border colour but their first column is tinted). */
static int find_figures(cairo_surface_t *img, box *out, int max)
{
    int w = cairo_image_surface_get_width(img), h = cairo_image_surface_get_height(img);
    int stride = cairo_image_surface_get_stride(img);
    const unsigned char *d = cairo_image_surface_get_data(img);
#define PX(x, y) (*(const uint32_t *)(d + (size_t)(y) * (size_t)stride + 4 * (size_t)(x)))
    for (int x = 0; x < w / 3; x++) {
        int n = 0;
        for (int y = 0; y < h;) {
            if ((PX(x, y) & 0xffffff) != 0xdddddd) {
                y++;
                continue;
            }
            int y0 = y;
            while (y < h && (PX(x, y) & 0xffffff) == 0xdddddd) y++;
            if (y - y0 >= 120 && (PX(x + 3, (y0 + y) / 2) & 0xffffff) == 0xffffff && n < max)
                out[n++] = (box){y0, y, x, w - 1 - x};
        }
        if (n) return n;
    }
    return 0;
#undef PX
}

/* Pixels of a saturated colour (plotted data, legends) inside a box. */
static long coloured(cairo_surface_t *img, const box *b)
{
    int stride = cairo_image_surface_get_stride(img);
    const unsigned char *d = cairo_image_surface_get_data(img);
    long n = 0;
    for (int y = b->y0; y < b->y1; y++)
        for (int x = b->x0; x < b->x1; x++) {
            uint32_t p = *(const uint32_t *)(d + (size_t)y * (size_t)stride + 4 * (size_t)x);
            int r = (p >> 16) & 255, g = (p >> 8) & 255, bl = p & 255;
            int mx = r > g ? (r > bl ? r : bl) : (g > bl ? g : bl);
            int mn = r < g ? (r < bl ? r : bl) : (g < bl ? g : bl);
            n += mx - mn >= 60;
        }
    return n;
}

static void screenshot_shows_every_figure(const char *html, int width, int figures)
{
    char png[512], prof[512];
    snprintf(png, sizeof png, "%s/shot-%d.png", dir, width);
    snprintf(prof, sizeof prof, "%s/profile-%d", dir, width);
    lt_run_result r = lt_run("'%s' --headless --no-sandbox --disable-gpu --user-data-dir='%s' "
                             "--hide-scrollbars --window-size=%d,6000 --screenshot='%s' "
                             "'file://%s' 2>&1",
                             chromium, prof, width, png, html);
    if (r.status != 0) fail_msg("chromium --screenshot failed: %s", r.out);
    lt_run_free(&r);
    cairo_surface_t *img = cairo_image_surface_create_from_png(png);
    assert_int_equal(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
    assert_int_equal(cairo_image_surface_get_width(img), width);
    box b[32];
    int n = find_figures(img, b, 32);
    print_message("%d px wide: %d figure boxes\n", width, n);
    assert_int_equal(n, figures);
    for (int i = 0; i < n; i++) {
        /* the plot area: below the title, above the axis labels and legend */
        int hgt = b[i].y1 - b[i].y0;
        box plot = {b[i].y0 + hgt / 16, b[i].y0 + hgt * 13 / 20, b[i].x0, b[i].x1};
        long c = coloured(img, &plot);
        long area = (long)(plot.y1 - plot.y0) * (plot.x1 - plot.x0);
        print_message("  figure %d: y %d-%d, %ld coloured pixels in the plot area (%.2f %%)\n",
                      i + 1, b[i].y0, b[i].y1, c, 100.0 * c / area);
        /* data drawn in palette colours (a blank plot has only greys: 0) */
        assert_true(c >= 100 && c > area / 1000);
        /* and keeps its aspect: a 900-wide plot is at least 0.4 times as tall */
        assert_true((b[i].y1 - b[i].y0) > 0.2 * (b[i].x1 - b[i].x0));
    }
    cairo_surface_destroy(img);
}

static void analyze_report_loads_in_chromium_with_every_section_and_plot(void **s)
{
    (void)s;
    char in[512], html[512], prof[512];
    snprintf(in, sizeof in, "%s/programme.wav", dir);
    snprintf(html, sizeof html, "%s/report.html", dir);
    snprintf(prof, sizeof prof, "%s/profile-dom", dir);
    make_input(in);
    lt_run_result r = lt_run("'%s' analyze '%s' --report '%s'", lt_lathe_exe(), in, html);
    if (r.status != 0) fail_msg("lathe analyze --report: %d %s", r.status, r.err);
    lt_run_free(&r);
    /* a second run refuses to replace the report without --force */
    r = lt_run("'%s' analyze '%s' --report '%s'", lt_lathe_exe(), in, html);
    assert_int_equal(r.status, 73);
    assert_non_null(strstr(r.err, "--force"));
    lt_run_free(&r);

    r = lt_run("'%s' --headless --no-sandbox --disable-gpu --user-data-dir='%s' --dump-dom "
               "'file://%s' 2>/dev/null",
               chromium, prof, html);
    assert_int_equal(r.status, 0);
    const char *dom = r.out;
    assert_non_null(strstr(dom, "</html>"));
    static const char *ids[] = {"summary", "loudness", "waveform", "spectrum",
                                "dynamics", "stereo", "levels"};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
        char key[64];
        snprintf(key, sizeof key, "<section id=\"%s\"", ids[i]);
        const char *sec = strstr(dom, key);
        if (!sec) fail_msg("the loaded page has no section '%s'", ids[i]);
        if (i == 0) continue;
        const char *end = strstr(sec, "</section>"), *fig = strstr(sec, "<figure>");
        assert_true(end && fig && fig < end);
        const char *svg = strstr(fig, "<svg"), *svg_end = strstr(fig, "</svg>");
        assert_true(svg && svg_end && svg_end < end && svg_end - svg > 2000);
    }
    /* 7 plots (no gain-reduction curves from analyze) */
    int figs = count(dom, "<figure>");
    print_message("DOM: %d figures, %d svg, %d paths\n", figs, count(dom, "<svg"),
                  count(dom, "<path"));
    assert_int_equal(figs, 7);
    assert_int_equal(count(dom, "<svg"), 7);
    assert_int_equal(count(dom, "<figcaption>"), 7);
    /* the overs of the last 5 s are marked: 50 hops of 100 ms, give or take the edges */
    const char *ov = strstr(dom, "exceeds -1.0 dBTP: ");
    assert_non_null(ov);
    long overs = strtol(ov + strlen("exceeds -1.0 dBTP: "), NULL, 10);
    print_message("true-peak overs marked: %ld hops\n", overs);
    assert_true(overs >= 49 && overs <= 51);
    lt_run_free(&r);

    screenshot_shows_every_figure(html, 1100, figs);
    screenshot_shows_every_figure(html, 400, figs); /* a phone */
}

int main(void)
{
    chromium = getenv("LATHE_CHROMIUM") ? getenv("LATHE_CHROMIUM") : "/usr/bin/chromium";
    if (access(chromium, X_OK) != 0) {
        if (getenv("LATHE_ALLOW_SKIP")) {
            fprintf(stderr, "skipped: %s is not installed (LATHE_ALLOW_SKIP is set)\n", chromium);
            return 77;
        }
        fprintf(stderr, "%s is not installed: the report browser test needs it "
                        "(apt-get install chromium), or set LATHE_ALLOW_SKIP=1 to skip\n",
                chromium);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(analyze_report_loads_in_chromium_with_every_section_and_plot),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
