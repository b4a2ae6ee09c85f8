/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe/report.h: self-contained HTML reports with plots.
 *
 * A report is one HTML file: inline CSS, plots as inline SVG drawn with
 * cairo, no JavaScript, no network.  Build it top to bottom: parts (one per
 * file or song), inside them tables, warnings and sections holding figures;
 * then write it (temporary file beside the target, renamed into place).
 *
 * Plots: a lathe_plot collects elements (lines, min/max bands, reference
 * lines, markers, spectra, bars), copying their data, and draws them when it
 * is rendered: long series are reduced to min/max per pixel column, so a
 * one-hour series costs the same as a one-minute one.  Colours follow the
 * Okabe-Ito colour-blind-safe palette, in the order elements are added.
 *
 * For `analyze`, `mix` and `master`, lathe_report_add_analysis and
 * lathe_report_add_comparison write a whole part from an analysis and its
 * series in one call. */
#ifndef LATHE_REPORT_H
#define LATHE_REPORT_H

#include <stddef.h>

#include "lathe/analysis.h"
#include "lathe/error.h"
#include "lathe/series.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------- plots ---------------- */

typedef struct lathe_plot lathe_plot;

#define LATHE_PLOT_WIDTH 900 /* viewBox units; the SVG scales to its container */
#define LATHE_PLOT_COLUMNS 820 /* plot-area columns data is reduced to */
#define LATHE_PALETTE_SIZE 8

typedef enum {
    LATHE_X_LINEAR = 0,
    LATHE_X_TIME, /* linear, in seconds, ticks as m:ss or h:mm:ss */
    LATHE_X_LOG   /* log frequency, ticks 20 50 100 200 500 1k ... */
} lathe_plot_xscale;

/* A new empty plot; labels include units, e.g. "loudness (LUFS)". Returns
 * NULL when out of memory. The caller owns it: lathe_plot_free. */
lathe_plot *lathe_plot_new(const char *title, const char *xlabel, const char *ylabel,
                           lathe_plot_xscale xscale);
void lathe_plot_free(lathe_plot *p); /* NULL-safe */

/* Fixed axis ranges (default: from the data). NaN keeps that end automatic. */
void lathe_plot_xrange(lathe_plot *p, double lo, double hi);
void lathe_plot_yrange(lathe_plot *p, double lo, double hi);
/* Palette colour (0..7) of the next element added; otherwise the next unused one. */
void lathe_plot_next_color(lathe_plot *p, int index);

/* Elements. Data is copied. Non-finite y values leave gaps. Each returns
 * LATHE_OK or LATHE_E_NOMEM. legend may be NULL (no legend entry). */
/* y[i] at x = x0 + i * dx (a time series). */
lathe_status lathe_plot_line(lathe_plot *p, const char *legend, const float *y, long n, double x0,
                             double dx);
/* A filled band between lo[i] and hi[i] at x0 + i * dx (an envelope). */
lathe_status lathe_plot_band(lathe_plot *p, const char *legend, const float *lo, const float *hi,
                             long n, double x0, double dx);
/* Points (x[i], y[i]) joined by a line, x increasing. */
lathe_status lathe_plot_xy(lathe_plot *p, const char *legend, const double *x, const double *y,
                           long n);
/* A power spectrum in dB (bins at k * bin_hz), smoothed to 1/6 octave (mean
 * power over f * 2^(+-1/12)) and drawn on log frequency from 20 Hz. */
lathe_status lathe_plot_spectrum(lathe_plot *p, const char *legend, const float *power_db,
                                 int bins, double bin_hz);
/* A dashed horizontal reference line at y. */
lathe_status lathe_plot_hline(lathe_plot *p, const char *legend, double y);
/* Triangle markers at (x[i], y[i]); at most one per pixel column is drawn. */
lathe_status lathe_plot_markers(lathe_plot *p, const char *legend, const double *x,
                                const double *y, long n);
/* Horizontal bars: one bar per category (labels give the categories: the
 * first call fixes them; later calls add grouped bars of another colour for
 * the same categories). Bars start at the left end of the value axis. */
lathe_status lathe_plot_bars(lathe_plot *p, const char *legend, const char *const *labels,
                             const double *values, int n);

/* Where bars start (e.g. 0 for signed values: bars then go either way);
 * NaN (the default) for the left end of the value axis. */
void lathe_plot_bar_base(lathe_plot *p, double base);

/* Renders the plot as an SVG document fragment (no XML declaration; root
 * <svg> with a viewBox and width="100%"; element ids prefixed with id_prefix
 * so several plots can share one HTML page). *svg is NUL-terminated and
 * malloc'ed: the caller frees it. */
lathe_status lathe_plot_svg(const lathe_plot *p, const char *id_prefix, char **svg, size_t *len,
                            lathe_error *err);

/* ---------------- HTML reports ---------------- */

typedef struct lathe_report lathe_report;

/* A new report titled `title`. The caller owns it: lathe_report_free. */
lathe_report *lathe_report_new(const char *title, lathe_error *err);
void lathe_report_free(lathe_report *r); /* NULL-safe */

/* Target used by the analysis helpers: a dashed line on the loudness plot,
 * the true-peak ceiling on the waveform, and warnings when missed. name may
 * be NULL; lufs NaN for none (the default: waveform ceiling -1 dBTP). */
void lathe_report_set_target(lathe_report *r, const char *name, double lufs, double ceiling_dbtp);

/* A reference track for the spectrum plots of the parts added after this
 * call: its mid (or mono) spectrum is drawn with theirs, level-matched to
 * the first stream's loudness (label names it). The series is not copied:
 * keep it alive until the last part is added. NULL removes it. */
void lathe_report_set_reference(lathe_report *r, const char *label, const lathe_series *ref,
                                double ref_integrated_lufs);

/* A new part (an <article> with an <h2>): one file, one song, "Overview". */
void lathe_report_part(lathe_report *r, const char *heading);
/* A paragraph of plain text (escaped). */
void lathe_report_text(lathe_report *r, const char *text);
/* A table: caption, ncols column heads, then rows of ncols cells (escaped). */
void lathe_report_table(lathe_report *r, const char *caption, int ncols,
                        const char *const *heads);
void lathe_report_row(lathe_report *r, const char *const *cells);
/* A warning and what to do about it (remedy may be NULL). */
void lathe_report_warning(lathe_report *r, const char *problem, const char *remedy);
/* A <section> with a heading; id is made unique ("loudness", "loudness-2", ...).
 * Figures and text follow into it until the next section or part. */
void lathe_report_section(lathe_report *r, const char *id, const char *title);
/* A <figure> holding the plot and a <figcaption>. */
lathe_status lathe_report_plot(lathe_report *r, const lathe_plot *p, const char *caption,
                               lathe_error *err);

/* A part for one analysed stream: summary table, platform gains, warnings
 * with remedies, and sections loudness, waveform, spectrum, dynamics,
 * stereo (two channels or more) and levels. s may be NULL (table only). */
lathe_status lathe_report_add_analysis(lathe_report *r, const char *label,
                                       const lathe_analysis *a, const lathe_series *s,
                                       lathe_error *err);
/* The same, before against after, in one part (before/after columns,
 * overlaid curves and spectra; gain reduction from the after series). */
lathe_status lathe_report_add_comparison(lathe_report *r, const char *label,
                                         const lathe_analysis *before, const lathe_series *sb,
                                         const lathe_analysis *after, const lathe_series *sa,
                                         lathe_error *err);

/* Writes the HTML to path through a temporary file renamed into place.
 * Unless overwrite, an existing path is LATHE_E_EXISTS. */
lathe_status lathe_report_write(const lathe_report *r, const char *path, int overwrite,
                                lathe_error *err);

/* Frees cairo's font caches (fontconfig patterns it keeps for the plot
 * text). Only for leak checkers at program exit: call it once, after the
 * last plot, when no thread is drawing. */
void lathe_report_release_caches(void);

#ifdef __cplusplus
}
#endif
#endif
