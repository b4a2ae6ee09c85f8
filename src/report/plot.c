/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Plots for reports, drawn with cairo onto an SVG surface in memory.
 *
 * Elements copy their data when added and are drawn at render time.  Series
 * longer than twice the plot width are reduced to the minimum and maximum of
 * each pixel column (the "min/max decimation" every waveform display uses),
 * so the drawn path has at most two points per column whatever the length.
 * Spectra are smoothed to 1/6 octave (mean power over f * 2^(+-1/12)) on
 * 480 log-spaced frequencies.  Colours: Okabe & Ito 2008, "Color Universal
 * Design", the palette chosen to stay distinct under common colour-vision
 * deficiencies.  Ticks use 1-2-5 steps (Heckbert 1990, "Nice numbers for
 * graph labels"). */
#include <cairo-svg.h>
#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/report.h"
#include "report/sbuf.h"

#define W LATHE_PLOT_WIDTH
#define ML 84.0  /* left margin (numbers and the y label) */
#define MR 22.0
#define MT 46.0  /* title */
#define PH 300.0 /* plot area height for x/y plots */
#define FONT "DejaVu Sans"
#define SPEC_POINTS 480

static const double palette[LATHE_PALETTE_SIZE][3] = {
    {0x00 / 255.0, 0x72 / 255.0, 0xB2 / 255.0}, /* blue */
    {0xE6 / 255.0, 0x9F / 255.0, 0x00 / 255.0}, /* orange */
    {0x00 / 255.0, 0x9E / 255.0, 0x73 / 255.0}, /* bluish green */
    {0xD5 / 255.0, 0x5E / 255.0, 0x00 / 255.0}, /* vermillion */
    {0xCC / 255.0, 0x79 / 255.0, 0xA7 / 255.0}, /* reddish purple */
    {0x56 / 255.0, 0xB4 / 255.0, 0xE9 / 255.0}, /* sky blue */
    {0.0, 0.0, 0.0},                            /* black */
    {0xF0 / 255.0, 0xE4 / 255.0, 0x42 / 255.0}, /* yellow */
};

typedef enum { E_LINE, E_BAND, E_XY, E_HLINE, E_MARK, E_BARS } ekind;

typedef struct {
    ekind kind;
    int color;
    char *legend;
    long n;
    double x0, dx, yv;
    float *a, *b;   /* E_LINE: a; E_BAND: a = lo, b = hi */
    double *x, *y;  /* E_XY, E_MARK; E_BARS: y = values */
    char **labels;  /* E_BARS */
} elem;

struct lathe_plot {
    char *title, *xlabel, *ylabel;
    lathe_plot_xscale xscale;
    double xlo, xhi, ylo, yhi;
    int next_color, auto_color;
    double bar_base;
    elem *e;
    int ne, cap;
};

static char *dupstr(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

lathe_plot *lathe_plot_new(const char *title, const char *xlabel, const char *ylabel,
                           lathe_plot_xscale xscale)
{
    lathe_plot *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->title = dupstr(title ? title : "");
    p->xlabel = dupstr(xlabel ? xlabel : "");
    p->ylabel = dupstr(ylabel ? ylabel : "");
    p->xscale = xscale;
    p->xlo = p->xhi = p->ylo = p->yhi = NAN;
    p->next_color = -1;
    p->bar_base = NAN;
    if (!p->title || !p->xlabel || !p->ylabel) {
        lathe_plot_free(p);
        return NULL;
    }
    return p;
}

void lathe_plot_free(lathe_plot *p)
{
    if (!p) return;
    for (int i = 0; i < p->ne; i++) {
        elem *e = &p->e[i];
        free(e->legend);
        free(e->a);
        free(e->b);
        free(e->x);
        free(e->y);
        if (e->labels)
            for (long k = 0; k < e->n; k++) free(e->labels[k]);
        free(e->labels);
    }
    free(p->e);
    free(p->title);
    free(p->xlabel);
    free(p->ylabel);
    free(p);
}

void lathe_plot_xrange(lathe_plot *p, double lo, double hi)
{
    p->xlo = lo;
    p->xhi = hi;
}

void lathe_plot_yrange(lathe_plot *p, double lo, double hi)
{
    p->ylo = lo;
    p->yhi = hi;
}

void lathe_plot_bar_base(lathe_plot *p, double base)
{
    p->bar_base = base;
}

void lathe_plot_next_color(lathe_plot *p, int index)
{
    p->next_color = ((index % LATHE_PALETTE_SIZE) + LATHE_PALETTE_SIZE) % LATHE_PALETTE_SIZE;
}

static elem *new_elem(lathe_plot *p, ekind kind, const char *legend)
{
    if (p->ne == p->cap) {
        int cap = p->cap ? p->cap * 2 : 8;
        elem *e = realloc(p->e, (size_t)cap * sizeof *e);
        if (!e) return NULL;
        p->e = e;
        p->cap = cap;
    }
    elem *e = &p->e[p->ne];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    if (legend && !(e->legend = dupstr(legend))) return NULL;
    if (p->next_color >= 0) e->color = p->next_color;
    else e->color = p->auto_color++ % LATHE_PALETTE_SIZE;
    p->next_color = -1;
    p->ne++;
    return e;
}

static float *dupf(const float *v, long n)
{
    float *d = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    if (d && n > 0) memcpy(d, v, sizeof(float) * (size_t)n);
    return d;
}

static double *dupd(const double *v, long n)
{
    double *d = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    if (d && n > 0) memcpy(d, v, sizeof(double) * (size_t)n);
    return d;
}

lathe_status lathe_plot_line(lathe_plot *p, const char *legend, const float *y, long n, double x0,
                             double dx)
{
    elem *e = new_elem(p, E_LINE, legend);
    if (!e || !(e->a = dupf(y, n))) return LATHE_E_NOMEM;
    e->n = n, e->x0 = x0, e->dx = dx;
    return LATHE_OK;
}

lathe_status lathe_plot_band(lathe_plot *p, const char *legend, const float *lo, const float *hi,
                             long n, double x0, double dx)
{
    elem *e = new_elem(p, E_BAND, legend);
    if (!e || !(e->a = dupf(lo, n)) || !(e->b = dupf(hi, n))) return LATHE_E_NOMEM;
    e->n = n, e->x0 = x0, e->dx = dx;
    return LATHE_OK;
}

lathe_status lathe_plot_xy(lathe_plot *p, const char *legend, const double *x, const double *y,
                           long n)
{
    elem *e = new_elem(p, E_XY, legend);
    if (!e || !(e->x = dupd(x, n)) || !(e->y = dupd(y, n))) return LATHE_E_NOMEM;
    e->n = n;
    return LATHE_OK;
}

lathe_status lathe_plot_spectrum(lathe_plot *p, const char *legend, const float *power_db,
                                 int bins, double bin_hz)
{
    double x[SPEC_POINTS], y[SPEC_POINTS];
    long m = 0;
    if (bins > 2 && bin_hz > 0) {
        /* prefix sums of linear power, so each smoothing window is O(1) */
        double *cum = malloc(sizeof(double) * ((size_t)bins + 1));
        if (!cum) return LATHE_E_NOMEM;
        cum[0] = 0;
        for (int k = 0; k < bins; k++)
            cum[k + 1] = cum[k] + (isfinite(power_db[k]) ? pow(10.0, power_db[k] / 10.0) : 0.0);
        double fmax = (bins - 1) * bin_hz, f0 = 20.0;
        double r = pow(fmax / f0, 1.0 / (SPEC_POINTS - 1));
        double h = pow(2.0, 1.0 / 12.0); /* half of 1/6 octave */
        for (int i = 0; i < SPEC_POINTS; i++) {
            double f = f0 * pow(r, i);
            long k0 = lround(f / h / bin_hz), k1 = lround(f * h / bin_hz);
            if (k0 < 1) k0 = 1;
            if (k1 > bins - 1) k1 = bins - 1;
            if (k1 < k0) k1 = k0;
            double mean = (cum[k1 + 1] - cum[k0]) / (double)(k1 - k0 + 1);
            x[m] = f;
            y[m] = mean > 0 ? 10.0 * log10(mean) : -HUGE_VAL;
            m++;
        }
        free(cum);
    }
    return lathe_plot_xy(p, legend, x, y, m);
}

lathe_status lathe_plot_hline(lathe_plot *p, const char *legend, double y)
{
    elem *e = new_elem(p, E_HLINE, legend);
    if (!e) return LATHE_E_NOMEM;
    e->yv = y;
    return LATHE_OK;
}

lathe_status lathe_plot_markers(lathe_plot *p, const char *legend, const double *x,
                                const double *y, long n)
{
    elem *e = new_elem(p, E_MARK, legend);
    if (!e || !(e->x = dupd(x, n)) || !(e->y = dupd(y, n))) return LATHE_E_NOMEM;
    e->n = n;
    return LATHE_OK;
}

lathe_status lathe_plot_bars(lathe_plot *p, const char *legend, const char *const *labels,
                             const double *values, int n)
{
    elem *e = new_elem(p, E_BARS, legend);
    if (!e || !(e->y = dupd(values, n)) || !(e->labels = calloc((size_t)(n > 0 ? n : 1),
                                                                  sizeof(char *))))
        return LATHE_E_NOMEM;
    e->n = n;
    for (int i = 0; i < n; i++)
        if (!(e->labels[i] = dupstr(labels[i] ? labels[i] : ""))) return LATHE_E_NOMEM;
    return LATHE_OK;
}

/* ---------------- layout ---------------- */

typedef struct {
    double x0, x1, y0, y1;      /* plot area in viewBox units */
    double xlo, xhi, ylo, yhi;  /* data ranges */
    int log, bars;
} frame;

static double map_x(const frame *f, double x)
{
    double t = f->log ? (log10(x) - log10(f->xlo)) / (log10(f->xhi) - log10(f->xlo))
                      : (x - f->xlo) / (f->xhi - f->xlo);
    return f->x0 + t * (f->x1 - f->x0);
}

static double map_y(const frame *f, double y)
{
    double t = (y - f->ylo) / (f->yhi - f->ylo);
    double v = f->y1 - t * (f->y1 - f->y0);
    /* keep far-off values inside cairo's fixed-point range; the clip hides them */
    if (v < f->y0 - 50) v = f->y0 - 50;
    if (v > f->y1 + 50) v = f->y1 + 50;
    return v;
}

static double nice_step(double range, int target)
{
    double raw = range / target, mag = pow(10.0, floor(log10(raw))), r = raw / mag;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

static double time_step(double range)
{
    static const double steps[] = {0.1, 0.2, 0.5, 1,   2,   5,    10,   15,   30,   60,  120,
                                   300, 600, 900, 1200, 1800, 3600, 7200, 18000, 36000};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
        if (range / steps[i] <= 9) return steps[i];
    return nice_step(range, 8);
}

static void fmt_num(char *buf, size_t len, double v, double step)
{
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (fabs(v) < 0.5 * pow(10.0, -dec)) v = 0; /* no "-0.0" */
    snprintf(buf, len, "%.*f", dec, v);
    /* typographic minus */
    if (buf[0] == '-') {
        memmove(buf + 3, buf + 1, strlen(buf));
        memcpy(buf, "\xe2\x88\x92", 3);
    }
}

static void fmt_time(char *buf, size_t len, double s, double step)
{
    if (s < 0) s = 0;
    long t = (long)floor(s + 1e-9);
    if (step < 1) snprintf(buf, len, "%ld:%04.1f", t / 60, s - (double)(t / 60 * 60));
    else if (t >= 3600) snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

static void fmt_hz(char *buf, size_t len, double f)
{
    if (f >= 1000) snprintf(buf, len, "%gk", f / 1000);
    else snprintf(buf, len, "%g", f);
}

static void grow(double v, double *lo, double *hi)
{
    if (!isfinite(v)) return;
    if (v < *lo) *lo = v;
    if (v > *hi) *hi = v;
}

static void data_ranges(const lathe_plot *p, frame *f)
{
    double xl = HUGE_VAL, xh = -HUGE_VAL, yl = HUGE_VAL, yh = -HUGE_VAL;
    for (int i = 0; i < p->ne; i++) {
        const elem *e = &p->e[i];
        switch (e->kind) {
        case E_LINE:
        case E_BAND:
            if (e->n > 0) {
                grow(e->x0, &xl, &xh);
                grow(e->x0 + (double)(e->n - 1) * e->dx, &xl, &xh);
            }
            for (long k = 0; k < e->n; k++) {
                grow(e->a[k], &yl, &yh);
                if (e->b) grow(e->b[k], &yl, &yh);
            }
            break;
        case E_XY:
        case E_MARK:
            for (long k = 0; k < e->n; k++) {
                if (!(p->xscale == LATHE_X_LOG && e->x[k] <= 0)) grow(e->x[k], &xl, &xh);
                grow(e->y[k], &yl, &yh);
            }
            break;
        case E_HLINE: grow(e->yv, &yl, &yh); break;
        case E_BARS:
            for (long k = 0; k < e->n; k++) grow(e->y[k], &yl, &yh);
            break;
        }
    }
    if (!(xl <= xh)) xl = 0, xh = 1;
    if (!(yl <= yh)) yl = 0, yh = 1;
    if (xh - xl < 1e-9) xh = xl + 1;
    if (yh - yl < 1e-9) yl -= 1, yh += 1;
    if (!isnan(p->xlo)) xl = p->xlo;
    if (!isnan(p->xhi)) xh = p->xhi;
    int fixed_y_lo = !isnan(p->ylo), fixed_y_hi = !isnan(p->yhi);
    if (fixed_y_lo) yl = p->ylo;
    if (fixed_y_hi) yh = p->yhi;
    if (p->xscale == LATHE_X_LOG && xl <= 0) xl = 20;
    /* round automatic y ends out to the tick step */
    double st = nice_step(yh - yl, 6);
    if (!fixed_y_lo) yl = floor(yl / st) * st;
    if (!fixed_y_hi) yh = ceil(yh / st) * st;
    if (yh - yl < 1e-9) yh = yl + 1;
    f->xlo = xl, f->xhi = xh, f->ylo = yl, f->yhi = yh;
}

static void set_font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

static double text_w(cairo_t *cr, const char *s)
{
    cairo_text_extents_t te;
    cairo_text_extents(cr, s, &te);
    return te.x_advance;
}

/* align: 0 left, 1 centre, 2 right; y is the baseline */
static void text_at(cairo_t *cr, const char *s, double x, double y, int align)
{
    double w = text_w(cr, s);
    cairo_move_to(cr, x - (align == 1 ? w / 2 : align == 2 ? w : 0), y);
    cairo_show_text(cr, s);
}

static void rgb(cairo_t *cr, int c, double alpha)
{
    cairo_set_source_rgba(cr, palette[c][0], palette[c][1], palette[c][2], alpha);
}

/* Legend layout: rows of entries, wrapped at the width. Returns the rows;
 * draws when draw is set, starting at baseline y. */
static int legend(cairo_t *cr, const lathe_plot *p, double y, int draw)
{
    set_font(cr, 14, 0);
    double x = ML;
    int rows = 0;
    for (int i = 0; i < p->ne; i++) {
        const elem *e = &p->e[i];
        if (!e->legend) continue;
        double w = 28 + text_w(cr, e->legend) + 18;
        if (rows == 0) rows = 1;
        if (x + w > W - MR && x > ML) {
            x = ML;
            rows++;
        }
        if (draw) {
            double yy = y + (rows - 1) * 24.0, cy = yy - 5;
            rgb(cr, e->color, 1);
            switch (e->kind) {
            case E_BAND:
            case E_BARS:
                rgb(cr, e->color, e->kind == E_BAND ? 0.5 : 1);
                cairo_rectangle(cr, x, cy - 5, 22, 10);
                cairo_fill(cr);
                break;
            case E_MARK:
                cairo_move_to(cr, x + 5, cy - 5);
                cairo_line_to(cr, x + 17, cy - 5);
                cairo_line_to(cr, x + 11, cy + 5);
                cairo_close_path(cr);
                cairo_fill(cr);
                break;
            default: {
                double dash[] = {6, 4};
                cairo_set_line_width(cr, e->kind == E_HLINE ? 1.5 : 2.5);
                cairo_set_dash(cr, dash, e->kind == E_HLINE ? 2 : 0, 0);
                cairo_move_to(cr, x, cy);
                cairo_line_to(cr, x + 22, cy);
                cairo_stroke(cr);
                cairo_set_dash(cr, NULL, 0, 0);
            }
            }
            cairo_set_source_rgb(cr, 0.13, 0.13, 0.13);
            cairo_move_to(cr, x + 28, yy);
            cairo_show_text(cr, e->legend);
        }
        x += w;
    }
    return rows;
}

/* Columns of (min, max) for a uniformly spaced series, or the raw points
 * when there are few. Returns the number of points written to px/mn/mx. */
static long reduce(const frame *f, const float *lo, const float *hi, long n, double x0, double dx,
                   double *px, double *mn, double *mx, long cap)
{
    long cols = (long)(f->x1 - f->x0);
    if (n <= 2 * cols) {
        long m = 0;
        for (long i = 0; i < n && m < cap; i++) {
            px[m] = map_x(f, x0 + (double)i * dx);
            mn[m] = lo[i];
            mx[m] = hi[i];
            m++;
        }
        return m;
    }
    for (long c = 0; c < cols; c++) mn[c] = HUGE_VAL, mx[c] = -HUGE_VAL;
    for (long i = 0; i < n; i++) {
        double x = map_x(f, x0 + (double)i * dx) - f->x0;
        long c = (long)floor(x);
        if (c < 0 || c >= cols) continue;
        if (isfinite(lo[i]) && lo[i] < mn[c]) mn[c] = lo[i];
        if (isfinite(hi[i]) && hi[i] > mx[c]) mx[c] = hi[i];
    }
    for (long c = 0; c < cols; c++) {
        px[c] = f->x0 + (double)c + 0.5;
        if (mn[c] > mx[c]) mn[c] = mx[c] = NAN;
    }
    return cols;
}

static void draw_columns(cairo_t *cr, const frame *f, const double *px, const double *mn,
                         const double *mx, long m, int fill)
{
    if (!fill) {
        int open = 0;
        for (long i = 0; i < m; i++) {
            if (!isfinite(mn[i]) || !isfinite(mx[i])) {
                open = 0;
                continue;
            }
            if (!open) cairo_move_to(cr, px[i], map_y(f, mn[i]));
            else cairo_line_to(cr, px[i], map_y(f, mn[i]));
            if (mx[i] != mn[i]) cairo_line_to(cr, px[i], map_y(f, mx[i]));
            open = 1;
        }
        cairo_stroke(cr);
        return;
    }
    /* filled: one polygon per finite run, along the tops and back along the bottoms */
    for (long s = 0; s < m;) {
        if (!isfinite(mn[s]) || !isfinite(mx[s])) {
            s++;
            continue;
        }
        long e = s;
        while (e < m && isfinite(mn[e]) && isfinite(mx[e])) e++;
        double half = e - s == 1 ? 0.5 : 0;
        cairo_move_to(cr, px[s] - half, map_y(f, mx[s]));
        for (long i = s; i < e; i++) cairo_line_to(cr, px[i] + (i == e - 1 ? half : 0), map_y(f, mx[i]));
        for (long i = e - 1; i >= s; i--) cairo_line_to(cr, px[i] + (i == s ? -half : 0), map_y(f, mn[i]));
        cairo_close_path(cr);
        cairo_fill(cr);
        s = e;
    }
}

static void draw_xy_axes(cairo_t *cr, const lathe_plot *p, const frame *f)
{
    char buf[64];
    set_font(cr, 14, 0);
    cairo_set_line_width(cr, 1);
    /* y grid and ticks */
    double st = nice_step(f->yhi - f->ylo, 6);
    for (double v = ceil(f->ylo / st - 1e-9) * st; v <= f->yhi + st * 1e-6; v += st) {
        double y = map_y(f, v);
        cairo_set_source_rgb(cr, 0.87, 0.87, 0.87);
        cairo_move_to(cr, f->x0, y);
        cairo_line_to(cr, f->x1, y);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.13, 0.13, 0.13);
        fmt_num(buf, sizeof buf, v, st);
        text_at(cr, buf, f->x0 - 6, y + 5, 2);
    }
    /* x grid and ticks */
    if (f->log) {
        static const double m[] = {1, 2, 5};
        for (double dec = pow(10, floor(log10(f->xlo))); dec <= f->xhi; dec *= 10)
            for (int i = 0; i < 3; i++) {
                double v = dec * m[i];
                if (v < f->xlo * 0.999 || v > f->xhi * 1.001) continue;
                double x = map_x(f, v);
                cairo_set_source_rgb(cr, 0.87, 0.87, 0.87);
                cairo_move_to(cr, x, f->y0);
                cairo_line_to(cr, x, f->y1);
                cairo_stroke(cr);
                cairo_set_source_rgb(cr, 0.13, 0.13, 0.13);
                fmt_hz(buf, sizeof buf, v);
                text_at(cr, buf, x, f->y1 + 19, 1);
            }
    } else {
        int tm = p->xscale == LATHE_X_TIME;
        double sx = tm ? time_step(f->xhi - f->xlo) : nice_step(f->xhi - f->xlo, 8);
        for (double v = ceil(f->xlo / sx - 1e-9) * sx; v <= f->xhi + sx * 1e-6; v += sx) {
            double x = map_x(f, v);
            cairo_set_source_rgb(cr, 0.87, 0.87, 0.87);
            cairo_move_to(cr, x, f->y0);
            cairo_line_to(cr, x, f->y1);
            cairo_stroke(cr);
            cairo_set_source_rgb(cr, 0.13, 0.13, 0.13);
            if (tm) fmt_time(buf, sizeof buf, v, sx);
            else fmt_num(buf, sizeof buf, v, sx);
            text_at(cr, buf, x, f->y1 + 19, 1);
        }
    }
}

static void draw_elements(cairo_t *cr, const lathe_plot *p, const frame *f, double *px,
                          double *mn, double *mx, long cap)
{
    cairo_save(cr);
    cairo_rectangle(cr, f->x0, f->y0, f->x1 - f->x0, f->y1 - f->y0);
    cairo_clip(cr);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    /* bands first, so lines stay visible on top */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < p->ne; i++) {
            const elem *e = &p->e[i];
            if ((e->kind == E_BAND) != (pass == 0)) continue;
            switch (e->kind) {
            case E_BAND: {
                rgb(cr, e->color, 0.55);
                long m = reduce(f, e->a, e->b, e->n, e->x0, e->dx, px, mn, mx, cap);
                draw_columns(cr, f, px, mn, mx, m, 1);
                break;
            }
            case E_LINE: {
                rgb(cr, e->color, 1);
                cairo_set_line_width(cr, 2.0); /* still 0.9 px on a 400 px phone */
                long m = reduce(f, e->a, e->a, e->n, e->x0, e->dx, px, mn, mx, cap);
                draw_columns(cr, f, px, mn, mx, m, 0);
                break;
            }
            case E_XY: {
                rgb(cr, e->color, 1);
                cairo_set_line_width(cr, 2.2);
                int open = 0;
                for (long k = 0; k < e->n; k++) {
                    if (!isfinite(e->y[k]) || (f->log && e->x[k] <= 0)) {
                        open = 0;
                        continue;
                    }
                    double x = map_x(f, e->x[k]), y = map_y(f, e->y[k]);
                    if (open) cairo_line_to(cr, x, y);
                    else cairo_move_to(cr, x, y);
                    open = 1;
                }
                cairo_stroke(cr);
                break;
            }
            case E_HLINE: {
                double dash[] = {7, 5};
                rgb(cr, e->color, 1);
                cairo_set_line_width(cr, 1.5);
                cairo_set_dash(cr, dash, 2, 0);
                cairo_move_to(cr, f->x0, map_y(f, e->yv));
                cairo_line_to(cr, f->x1, map_y(f, e->yv));
                cairo_stroke(cr);
                cairo_set_dash(cr, NULL, 0, 0);
                break;
            }
            case E_MARK: {
                rgb(cr, e->color, 1);
                long last = -1000;
                for (long k = 0; k < e->n; k++) {
                    if (!isfinite(e->y[k]) || !isfinite(e->x[k])) continue;
                    double x = map_x(f, e->x[k]), y = map_y(f, e->y[k]);
                    if ((long)x <= last + 3) continue; /* one per few columns */
                    last = (long)x;
                    cairo_move_to(cr, x - 5, y - 9);
                    cairo_line_to(cr, x + 5, y - 9);
                    cairo_line_to(cr, x, y);
                    cairo_close_path(cr);
                    cairo_fill(cr);
                }
                break;
            }
            case E_BARS: break;
            }
        }
    cairo_restore(cr);
}

/* Bars: categories down the left, values along x. */
static void draw_bars(cairo_t *cr, const lathe_plot *p, const frame *f, int ncat, int ngroups,
                      double row)
{
    char buf[64];
    const elem *first = NULL;
    for (int i = 0; i < p->ne && !first; i++)
        if (p->e[i].kind == E_BARS) first = &p->e[i];
    /* grid and value ticks */
    set_font(cr, 14, 0);
    cairo_set_line_width(cr, 1);
    double st = nice_step(f->yhi - f->ylo, 8);
    double base = isnan(p->bar_base) ? f->ylo : p->bar_base;
    if (base < f->ylo) base = f->ylo;
    if (base > f->yhi) base = f->yhi;
    const double xb = f->x0 + (base - f->ylo) / (f->yhi - f->ylo) * (f->x1 - f->x0);
    for (double v = ceil(f->ylo / st - 1e-9) * st; v <= f->yhi + st * 1e-6; v += st) {
        double x = f->x0 + (v - f->ylo) / (f->yhi - f->ylo) * (f->x1 - f->x0);
        cairo_set_source_rgb(cr, 0.87, 0.87, 0.87);
        cairo_move_to(cr, x, f->y0);
        cairo_line_to(cr, x, f->y1);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.13, 0.13, 0.13);
        fmt_num(buf, sizeof buf, v, st);
        text_at(cr, buf, x, f->y1 + 19, 1);
    }
    for (int c = 0; c < ncat; c++) {
        double ytop = f->y0 + c * row;
        cairo_set_source_rgb(cr, 0.13, 0.13, 0.13);
        set_font(cr, 14, 0);
        text_at(cr, first->labels[c], f->x0 - 8, ytop + row / 2 + 5, 2);
        int gi = 0;
        for (int i = 0; i < p->ne; i++) {
            const elem *e = &p->e[i];
            if (e->kind != E_BARS) continue;
            double bh = (row - 8) / ngroups, y = ytop + 4 + gi * bh;
            gi++;
            if (c >= e->n || !isfinite(e->y[c])) continue;
            double v = e->y[c];
            if (v < f->ylo) v = f->ylo;
            if (v > f->yhi) v = f->yhi;
            double x = f->x0 + (v - f->ylo) / (f->yhi - f->ylo) * (f->x1 - f->x0);
            rgb(cr, e->color, 1);
            cairo_rectangle(cr, fmin(xb, x), y + 1, fabs(x - xb), bh - 2);
            cairo_fill(cr);
            set_font(cr, 12.5, 0);
            cairo_set_source_rgb(cr, 0.13, 0.13, 0.13);
            fmt_num(buf, sizeof buf, e->y[c], 0.1);
            double tw = text_w(cr, buf);
            /* the value beside the bar's free end, or inside it when there is no room */
            if (x >= xb) {
                if (x + 4 + tw < f->x1) text_at(cr, buf, x + 4, y + bh / 2 + 4.5, 0);
                else cairo_set_source_rgb(cr, 1, 1, 1), text_at(cr, buf, x - 4, y + bh / 2 + 4, 2);
            } else {
                if (x - 4 - tw > f->x0) text_at(cr, buf, x - 4, y + bh / 2 + 4, 2);
                else cairo_set_source_rgb(cr, 1, 1, 1), text_at(cr, buf, x + 4, y + bh / 2 + 4.5, 0);
            }
        }
    }
}

/* ---------------- SVG output ---------------- */

static cairo_status_t svg_write(void *closure, const unsigned char *data, unsigned int length)
{
    lathe_sbuf *b = closure;
    lathe_sb_put(b, (const char *)data, length);
    return b->fail ? CAIRO_STATUS_NO_MEMORY : CAIRO_STATUS_SUCCESS;
}

/* Cairo's SVG: drop the XML declaration, make the root scale (width 100 %,
 * height from the viewBox) and name it, and prefix every id and reference so
 * that glyph and clip ids of several plots on one page never collide. */
static void rewrite_svg(lathe_sbuf *out, const char *svg, const char *prefix, const char *title)
{
    const char *s = strstr(svg, "<svg");
    if (!s) s = svg;
    const char *end = strchr(s, '>');
    if (!end) end = s + strlen(s);
    /* the root tag: keep attributes other than width and height */
    lathe_sb_put(out, "<svg", 4);
    for (const char *q = s + 4; q < end;) {
        while (q < end && (*q == ' ' || *q == '\n' || *q == '\t')) q++;
        const char *a = q;
        while (q < end && *q != '=' && *q != ' ' && *q != '/') q++;
        size_t an = (size_t)(q - a);
        if (q < end && *q == '=') {
            q++;
            char quote = *q;
            const char *v = ++q;
            while (q < end && *q != quote) q++;
            size_t vn = (size_t)(q - v);
            if (q < end) q++;
            if ((an == 5 && !strncmp(a, "width", 5)) || (an == 6 && !strncmp(a, "height", 6)))
                continue;
            lathe_sb_put(out, " ", 1);
            lathe_sb_put(out, a, an);
            lathe_sb_put(out, "=\"", 2);
            lathe_sb_put(out, v, vn);
            lathe_sb_put(out, "\"", 1);
        } else if (q < end) {
            q++;
        }
    }
    lathe_sb_put(out, " width=\"100%\" role=\"img\" aria-label=\"", 37);
    lathe_sb_escaped(out, title);
    lathe_sb_put(out, "\">", 2);
    for (const char *q = *end ? end + 1 : end; *q;) {
        static const char *keys[] = {"id=\"", "href=\"#", "url(#"};
        int hit = -1;
        for (int k = 0; k < 3; k++) {
            size_t kn = strlen(keys[k]);
            if (!strncmp(q, keys[k], kn)) {
                /* only the attribute " id=", not e.g. "uuid=" */
                if (k == 0 && q > svg && q[-1] != ' ' && q[-1] != '\n') continue;
                hit = k;
                lathe_sb_put(out, q, kn);
                lathe_sb_put(out, prefix, strlen(prefix));
                q += kn;
                break;
            }
        }
        if (hit < 0) lathe_sb_put(out, q++, 1);
    }
}

lathe_status lathe_plot_svg(const lathe_plot *p, const char *id_prefix, char **svg, size_t *len,
                            lathe_error *err)
{
    *svg = NULL;
    if (len) *len = 0;
    frame f = {0};
    data_ranges(p, &f);
    f.log = p->xscale == LATHE_X_LOG;
    int ncat = 0, ngroups = 0;
    for (int i = 0; i < p->ne; i++)
        if (p->e[i].kind == E_BARS) {
            if (!ngroups) ncat = (int)p->e[i].n;
            ngroups++;
        }
    f.bars = ngroups > 0;
    /* bars from the left end: one more step, so the shortest bar still shows */
    if (f.bars && isnan(p->ylo) && isnan(p->bar_base)) f.ylo -= nice_step(f.yhi - f.ylo, 8);
    /* measure: legend rows and (bars) the label column */
    cairo_surface_t *ms = cairo_image_surface_create(CAIRO_FORMAT_A8, 4, 4);
    cairo_t *mc = cairo_create(ms);
    int rows = legend(mc, p, 0, 0);
    double ml = ML;
    if (f.bars) {
        set_font(mc, 14, 0);
        const elem *b = NULL;
        for (int i = 0; i < p->ne && !b; i++)
            if (p->e[i].kind == E_BARS) b = &p->e[i];
        double lw = 0;
        for (int c = 0; c < ncat; c++) {
            double w = text_w(mc, b->labels[c]);
            if (w > lw) lw = w;
        }
        ml = lw + 16 > 260 ? 260 : lw + 16 < ML ? ML : lw + 16;
    }
    cairo_destroy(mc);
    cairo_surface_destroy(ms);

    double row = 10 + 21.0 * (ngroups ? ngroups : 1);
    double ph = f.bars ? row * (ncat ? ncat : 1) : PH;
    f.x0 = ml, f.x1 = W - MR, f.y0 = MT, f.y1 = MT + ph;
    double H = f.y1 + 28 + (p->xlabel[0] ? 26 : 0) + rows * 24.0 + 12;

    lathe_sbuf raw = {0};
    cairo_surface_t *surf = cairo_svg_surface_create_for_stream(svg_write, &raw, W, H);
    cairo_svg_surface_set_document_unit(surf, CAIRO_SVG_UNIT_USER);
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    /* title */
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    set_font(cr, 19, 1);
    text_at(cr, p->title, W / 2.0, 28, 1);
    long cap = (long)(f.x1 - f.x0) * 2 + 16;
    double *px = NULL, *mn = NULL, *mx = NULL;
    long need = cap; /* reduce() never writes more than 2 * columns */
    px = malloc(sizeof(double) * (size_t)need);
    mn = malloc(sizeof(double) * (size_t)need);
    mx = malloc(sizeof(double) * (size_t)need);
    if (px && mn && mx) {
        if (f.bars) {
            /* value axis on x; reuse ylo/yhi as its range */
            draw_bars(cr, p, &f, ncat, ngroups, row);
        } else {
            draw_xy_axes(cr, p, &f);
            draw_elements(cr, p, &f, px, mn, mx, need);
        }
    }
    free(px);
    free(mn);
    free(mx);
    /* frame and axis labels */
    cairo_set_source_rgb(cr, 0.27, 0.27, 0.27);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.13, 0.13, 0.13);
    set_font(cr, 15.5, 0);
    if (p->xlabel[0]) text_at(cr, p->xlabel, (f.x0 + f.x1) / 2, f.y1 + 46, 1);
    if (p->ylabel[0] && !f.bars) {
        cairo_save(cr);
        cairo_translate(cr, 20, (f.y0 + f.y1) / 2);
        cairo_rotate(cr, -M_PI / 2);
        text_at(cr, p->ylabel, 0, 0, 1);
        cairo_restore(cr);
    }
    legend(cr, p, f.y1 + 28 + (p->xlabel[0] ? 26 : 0) + 18, 1);
    cairo_destroy(cr);
    cairo_surface_finish(surf);
    cairo_status_t cst = cairo_surface_status(surf);
    cairo_surface_destroy(surf);
    if (cst != CAIRO_STATUS_SUCCESS || raw.fail || !raw.d) {
        free(raw.d);
        return lathe_error_set(err, LATHE_E_NOMEM, "plot '%s': cairo: %s", p->title,
                               cairo_status_to_string(cst));
    }
    /* the accessible name: the title and the legend (the drawn text is glyph outlines) */
    lathe_sbuf label = {0};
    lathe_sb_put(&label, p->title, strlen(p->title));
    for (int i = 0, k = 0; i < p->ne; i++) {
        if (!p->e[i].legend) continue;
        lathe_sb_put(&label, k++ ? "; " : ": ", 2);
        lathe_sb_put(&label, p->e[i].legend, strlen(p->e[i].legend));
    }
    lathe_sbuf out = {0};
    rewrite_svg(&out, raw.d, id_prefix ? id_prefix : "", label.d ? label.d : "");
    free(label.d);
    free(raw.d);
    if (out.fail || !out.d) {
        free(out.d);
        return lathe_error_set(err, LATHE_E_NOMEM, "plot '%s': out of memory", p->title);
    }
    *svg = out.d;
    if (len) *len = out.n;
    return LATHE_OK;
}

void lathe_report_release_caches(void)
{
    cairo_debug_reset_static_data();
}
