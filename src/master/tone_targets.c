/* SPDX-License-Identifier: GPL-3.0-or-later */
/* master/tone_targets.c: built-in tone targets for reference mastering
 * without a reference track (`--tone-target neutral|warm|bright`).
 *
 * Each target is a 1/3-octave band curve (dB at the ISO 266 centres 20 Hz ..
 * 20 kHz, a relative shape: the plan aligns its level to the mix by
 * K-weighted power) in the same measure as the reference analysis: band
 * power of the mid signal over the loud sections.
 *
 * Where the numbers come from, honestly: the shape follows the published
 * finding that the long-term average spectrum of commercial popular music
 * falls with frequency, roughly flat in 1/3-octave band power through the
 * bass and falling ever faster above a few hundred hertz (P. D. Pestana,
 * Z. Ma, J. D. Reiss, A. Barbosa, D. A. A. Black, "Spectral characteristics
 * of popular commercial recordings 1950-2010", AES 135th Convention, paper
 * 8960, 2013), but the breakpoint values below are lathe's own design
 * values, not figures copied from that paper's tables (which were not
 * available when they were written): `neutral` is the middle curve, `warm`
 * adds about 2 dB of low end and takes about 3 dB off the top octave,
 * `bright` the reverse.  Replace the tables with the paper's measured
 * averages when they are at hand; the code needs no other change. */
#include <math.h>
#include <string.h>

#include "lathe/reference.h"

#define NB LATHE_REF_BANDS

/* breakpoints (Hz, dB), joined linearly in log frequency */
typedef struct {
    double hz, db;
} point;

typedef struct {
    const char *name;
    const point *pts;
    int n;
} target;

static const point neutral_pts[] = {
    {20, -4.0},   {31.5, -1.0}, {50, 0.0},    {125, 0.0},    {250, -1.0},  {500, -3.0},
    {1000, -5.5}, {2000, -8.5}, {4000, -11.5}, {8000, -15.0}, {16000, -21.0}, {20000, -25.0},
};
static const point warm_pts[] = {
    {20, -2.5},   {31.5, 1.0},  {50, 2.0},     {125, 1.5},    {250, -0.5},  {500, -3.0},
    {1000, -6.0}, {2000, -9.5}, {4000, -13.0}, {8000, -17.5}, {16000, -24.0}, {20000, -28.0},
};
static const point bright_pts[] = {
    {20, -5.5},   {31.5, -2.5}, {50, -1.5},    {125, -1.0},   {250, -1.5},  {500, -3.0},
    {1000, -5.0}, {2000, -7.5}, {4000, -10.0}, {8000, -12.5}, {16000, -18.0}, {20000, -22.0},
};

static const target targets[] = {
    {"neutral", neutral_pts, (int)(sizeof neutral_pts / sizeof neutral_pts[0])},
    {"warm", warm_pts, (int)(sizeof warm_pts / sizeof warm_pts[0])},
    {"bright", bright_pts, (int)(sizeof bright_pts / sizeof bright_pts[0])},
};
static const char *const names[] = {"neutral", "warm", "bright", NULL};

const char *const *lathe_ref_tone_target_names(void) {
    return names;
}

static double eval(const target *t, double hz) {
    if (hz <= t->pts[0].hz) return t->pts[0].db;
    for (int i = 1; i < t->n; i++)
        if (hz <= t->pts[i].hz) {
            double a = log(hz / t->pts[i - 1].hz) / log(t->pts[i].hz / t->pts[i - 1].hz);
            return t->pts[i - 1].db + a * (t->pts[i].db - t->pts[i - 1].db);
        }
    return t->pts[t->n - 1].db;
}

static const target *find(const char *name) {
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
        if (name && !strcmp(name, targets[i].name)) return &targets[i];
    return NULL;
}

lathe_status lathe_ref_tone_target_curve(const char *name, double db[LATHE_REF_BANDS]) {
    const target *t = find(name);
    if (!t) return LATHE_E_INVALID;
    for (int k = 0; k < NB; k++)
        db[k] = eval(t, 1000.0 * pow(10.0, (k - 17) / 10.0));
    return LATHE_OK;
}

lathe_status lathe_ref_tone_target(const char *name, const lathe_ref_analysis *mix,
                                   lathe_ref_analysis *out, lathe_error *err) {
    double db[NB];
    if (lathe_ref_tone_target_curve(name, db) != LATHE_OK)
        return lathe_error_set(err, LATHE_E_INVALID,
                               "unknown tone target '%s' (neutral, warm or bright)",
                               name ? name : "");
    memset(out, 0, sizeof *out);
    out->rate = mix->rate;
    out->channels = mix->channels;
    out->duration_s = out->selected_s = 0;
    out->integrated_lufs = out->loudness_range_lu = out->max_short_term_lufs = NAN;
    out->true_peak_dbtp = out->sample_peak_dbfs = out->plr_db = out->crest_db = NAN;
    out->gate_lufs = NAN;
    out->is_target = 1;
    for (int k = 0; k < NB; k++) {
        out->band_hz[k] = mix->band_hz[k];
        out->band_ok[k] = mix->band_ok[k];
        out->mid_db[k] = mix->band_ok[k] ? db[k] : NAN;
        out->side_mid_db[k] = mix->side_mid_db[k]; /* no width change */
        out->side_db[k] = mix->band_ok[k] ? db[k] + mix->side_mid_db[k] : NAN;
    }
    /* the per-bin "spectrum" of a target: its curve, for plots */
    out->bins = mix->bins;
    out->bin_hz = mix->bin_hz;
    const target *t = find(name);
    for (int k = 0; k < mix->bins; k++) {
        /* band power -> power per bin: a 1/3-octave band is 0.2316 f wide */
        double f = k * mix->bin_hz;
        double bw = 0.23156 * (f > 10 ? f : 10);
        out->mid_spec_db[k] = (float)(eval(t, f) + 10 * log10(mix->bin_hz / bw));
    }
    return LATHE_OK;
}
