/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe/series.h: what a report plots, collected while streaming.
 *
 * A series is fed the same planar blocks as an analyser and keeps, for every
 * 100 ms hop of audio (exactly 10 x round(rate / 100) frames, the K-meter's
 * reading grid):
 *   - momentary (400 ms) and short-term (3 s) loudness, LUFS (BS.1770-4 /
 *     EBU Tech 3341, from lathe's K-meter at the end of the hop);
 *   - per channel, the sample minimum and maximum (for a peak envelope) and
 *     the true-peak maximum |x| (4x oversampled, BS.1770-4 Annex 2), linear;
 *   - the L/R correlation over the last 400 ms (stereo and up: channels 0
 *     and 1), NaN where either channel is silent or for mono;
 *   - gain-reduction curves pushed by the caller (one value per hop, dB).
 * and for the whole stream an average power spectrum (Welch: 4096-point Hann
 * windows, 50 % overlap) of L, R, mid and side, plus mid and side energy per
 * octave band.  Memory is a few floats per hop (one hour at 100 ms hops is
 * 36 000 hops) plus fixed buffers.
 *
 * Conventions: levels are dB/LUFS with -INFINITY for silence; arrays returned
 * by accessors belong to the series and stay valid until the next add or
 * lathe_series_free. */
#ifndef LATHE_SERIES_H
#define LATHE_SERIES_H

#include "lathe/analysis.h"
#include "lathe/error.h"
#include "lathe/io.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LATHE_SERIES_HOP_S 0.1
#define LATHE_SERIES_FFT 4096  /* Welch segment length, frames */
#define LATHE_SERIES_BANDS 10  /* octave bands 31.5 Hz .. 16 kHz */
#define LATHE_SERIES_MAX_GR 16 /* named gain-reduction curves */

typedef struct lathe_series lathe_series;

typedef enum {
    LATHE_SPEC_LEFT = 0, /* channel 0 (the only one for mono) */
    LATHE_SPEC_RIGHT,    /* channel 1 */
    LATHE_SPEC_MID,      /* (L + R) / 2 */
    LATHE_SPEC_SIDE,     /* (L - R) / 2 */
    LATHE_SPEC_COUNT
} lathe_spec_kind;

/* A new series for `channels` (1..8) at `rate` (8 kHz..384 kHz). Returns NULL
 * and fills err on failure. The caller owns it: lathe_series_free. */
lathe_series *lathe_series_new(double rate, int channels, lathe_error *err);
void lathe_series_free(lathe_series *s); /* NULL-safe */

/* Adds n frames of planar audio. Returns LATHE_OK or LATHE_E_NOMEM (the
 * series then stops growing but stays usable). */
lathe_status lathe_series_add(lathe_series *s, const float *const *in, long n);

/* Closes the last, partial hop and the spectra. Call once after the last
 * add; further adds are ignored. */
void lathe_series_finish(lathe_series *s);

/* Gain reduction: appends n per-hop values (dB, >= 0 means "reduced by") to
 * the curve called `name` ("limiter", "compressor 1", ...), created on first
 * use. A master pushes one value per hop per processor; values beyond
 * lathe_series_hops are kept (a curve may be pushed before its audio).
 * LATHE_E_RANGE past LATHE_SERIES_MAX_GR names, LATHE_E_NOMEM. */
lathe_status lathe_series_add_gr(lathe_series *s, const char *name, const float *gr_db, long n);

/* One pass over a file: its analysis (an, may be NULL), its series
 * (*series, finished; the caller frees it) and its format (info, may be
 * NULL). Errors name the file. */
lathe_status lathe_series_analyze_file(const char *path, lathe_series **series, lathe_analysis *an,
                                       lathe_audio_info *info, lathe_error *err);

/* ---- accessors ---- */
double lathe_series_rate(const lathe_series *s);
int lathe_series_channels(const lathe_series *s);
long long lathe_series_frames(const lathe_series *s);
long lathe_series_hop_frames(const lathe_series *s);
double lathe_series_hop_seconds(const lathe_series *s); /* hop_frames / rate, ~0.1 */
long lathe_series_hops(const lathe_series *s);          /* hops so far (partial one after finish) */

/* Per hop, LUFS (-INFINITY for silence); index i covers hop i and the value
 * is the reading at its end. */
const float *lathe_series_momentary(const lathe_series *s);
const float *lathe_series_short_term(const lathe_series *s);
/* Per hop for channel c: smallest and largest sample, and true-peak max |x|. */
const float *lathe_series_sample_min(const lathe_series *s, int c);
const float *lathe_series_sample_max(const lathe_series *s, int c);
const float *lathe_series_true_peak(const lathe_series *s, int c);
/* Per hop: L/R correlation over the last 400 ms, NaN when undefined; NULL for mono. */
const float *lathe_series_correlation(const lathe_series *s);

/* Average power spectrum of `kind` in dB relative to a full-scale sine: a
 * sine of amplitude A reads 20 log10 A at its bin (Hann window, coherent gain
 * corrected). *bins receives LATHE_SERIES_FFT/2 + 1 and *bin_hz rate/FFT.
 * NULL (and *bins 0) before finish, for RIGHT/MID/SIDE of mono, or when no
 * full segment was seen (a stream shorter than 4096 frames is zero-padded
 * into one segment at finish). */
const float *lathe_series_spectrum(const lathe_series *s, lathe_spec_kind kind, int *bins,
                                   double *bin_hz);

/* Octave bands: centre frequencies (31.5 Hz .. 16 kHz; bands above 0.45 rate
 * are absent: *count may be < LATHE_SERIES_BANDS), mid and side mean power in
 * dB (same scale as the spectrum, summed over the band). Returns the count;
 * 0 for mono or before finish. */
int lathe_series_bands(const lathe_series *s, const double **centre_hz, const double **mid_db,
                       const double **side_db);

/* Gain-reduction curves: count, name, values (*n receives their number). */
int lathe_series_gr_count(const lathe_series *s);
const char *lathe_series_gr_name(const lathe_series *s, int i);
const float *lathe_series_gr(const lathe_series *s, int i, long *n);

#ifdef __cplusplus
}
#endif
#endif
