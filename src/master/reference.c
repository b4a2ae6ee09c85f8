/* SPDX-License-Identifier: GPL-3.0-or-later */
/* master/reference.c: the reference analysis and the plan (lathe/reference.h;
 * the method and its sources are in docs/reference.md).
 *
 * Analysis, in one pass with memory flat in the length:
 * - mid (L+R)/2 and side (L-R)/2 go through a Welch estimate (P. D. Welch,
 *   "The use of fast Fourier transform for the estimation of power spectra",
 *   IEEE Trans. Audio Electroacoust. 15(2), 1967): Hann frames of 2^k >= rate/6
 *   points (~6 Hz bins), 50 % overlap, |X|^2 scaled so that the bins sum to
 *   the mean square; each frame's power is summed into ISO 266 1/3-octave
 *   bands (exact centres 1000 * 10^(k/10), edges at 10^(+-1/20) of them, each
 *   bin weighted by the share of its width inside the band) and, for mid,
 *   kept per bin;
 * - the frames are gathered into 1 s blocks; each block is labelled with the
 *   short-term (3 s) loudness of the window centred on it (lathe's K-meter,
 *   read at the end of the next block), and added to a histogram of 0.5 LU
 *   classes (-50 .. +5 LUFS; the lowest class holds everything quieter), as
 *   libebur128 keeps its gating histogram;
 * - at the end, the classes at or above the integrated loudness are the
 *   "representative loud sections": the body of the song, without intro,
 *   outro and breaks, the part that loudness normalisation, the limiter and
 *   a listener's comparison are about.  Fewer than 3 s there: every block. */
#include "lathe/reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/fft.h"
#include "lathe/analysis.h"
#include "lathe/io.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define NB LATHE_REF_BANDS
#define CLS_LO (-50.0)
#define CLS_STEP 0.5
#define NCLS 111 /* -50 .. +5 LUFS */
#define FLOOR_DB (-200.0)
#define WIDTH_FLOOR (-60.0)

struct lathe_ref_analyzer {
    double rate;
    int channels, nfft, bins, hop, block;
    lathe_fft fft;
    float *win, *frame[2];    /* nfft: window, mid and side frames */
    fftwf_complex *spec;      /* bins */
    float *ring[2];           /* nfft: the last nfft samples of mid and side */
    long ringpos, since;      /* write position, samples since the last frame */
    long long fed;            /* frames added */
    double pscale;            /* |X|^2 -> power */
    /* band weights: band j takes bins k0[j]..k1[j]-1 with weights w[off[j]..] */
    int k0[NB], k1[NB], woff[NB];
    float *w;
    /* block accumulators: 0 pending (waits for its label), 1 filling */
    double bmid[2][NB], bside[2][NB];
    float *bspec[2]; /* bins: mid power per bin */
    long bframes[2]; /* FFT frames in the block */
    long bfill;      /* audio frames in the filling block */
    int have_pending;
    /* the histogram */
    double hmid[NCLS][NB], hside[NCLS][NB];
    long hframes[NCLS];
    long hblocks[NCLS];
    float *hspec; /* NCLS x bins */
    double last_st;
    lathe_analyzer *an;
};

static double band_centre(int k) {
    return 1000.0 * pow(10.0, (k - 17) / 10.0);
}

static void on_curve(void *user, double t, double momentary, double short_term) {
    (void)t;
    (void)momentary;
    ((lathe_ref_analyzer *)user)->last_st = short_term;
}

void lathe_ref_analyzer_free(lathe_ref_analyzer *a) {
    if (!a) return;
    lathe_fft_destroy(&a->fft);
    fftwf_free(a->win);
    fftwf_free(a->frame[0]);
    fftwf_free(a->frame[1]);
    fftwf_free(a->spec);
    free(a->ring[0]);
    free(a->ring[1]);
    free(a->w);
    free(a->bspec[0]);
    free(a->bspec[1]);
    free(a->hspec);
    lathe_analyzer_free(a->an);
    free(a);
}

lathe_ref_analyzer *lathe_ref_analyzer_new(double rate, int channels, lathe_error *err) {
    if (!(rate >= 8000 && rate <= 384000) || channels < 1 || channels > LATHE_MAX_CHANNELS) {
        lathe_error_set(err, LATHE_E_INVALID, "reference analysis: %g Hz, %d channels unsupported",
                        rate, channels);
        return NULL;
    }
    lathe_ref_analyzer *a = calloc(1, sizeof *a);
    if (!a) {
        lathe_error_set(err, LATHE_E_NOMEM, "reference analysis: out of memory");
        return NULL;
    }
    a->rate = rate;
    a->channels = channels;
    int n = 256;
    while (n < rate / 6.0 && n < 2 * (LATHE_REF_MAX_BINS - 1))
        n *= 2;
    a->nfft = n;
    a->bins = n / 2 + 1;
    a->hop = n / 2;
    a->block = (int)lround(rate);
    a->last_st = -HUGE_VAL;
    a->win = fftwf_malloc(sizeof(float) * (size_t)n);
    a->frame[0] = fftwf_malloc(sizeof(float) * (size_t)n);
    a->frame[1] = fftwf_malloc(sizeof(float) * (size_t)n);
    a->spec = fftwf_malloc(sizeof(fftwf_complex) * (size_t)a->bins);
    a->ring[0] = calloc((size_t)n, sizeof(float));
    a->ring[1] = calloc((size_t)n, sizeof(float));
    a->bspec[0] = calloc((size_t)a->bins, sizeof(float));
    a->bspec[1] = calloc((size_t)a->bins, sizeof(float));
    a->hspec = calloc((size_t)NCLS * (size_t)a->bins, sizeof(float));
    a->w = malloc(sizeof(float) * (size_t)(a->bins + 4 * NB));
    a->an = lathe_analyzer_new(rate, channels, err);
    if (!a->win || !a->frame[0] || !a->frame[1] || !a->spec || !a->ring[0] || !a->ring[1] ||
        !a->bspec[0] || !a->bspec[1] || !a->hspec || !a->w || !a->an ||
        lathe_fft_init(&a->fft, n)) {
        if (a->an) lathe_error_set(err, LATHE_E_NOMEM, "reference analysis: out of memory");
        lathe_ref_analyzer_free(a);
        return NULL;
    }
    lathe_analyzer_set_curve(a->an, on_curve, a);
    double sw2 = 0;
    for (int i = 0; i < n; i++) {
        a->win[i] = (float)(0.5 - 0.5 * cos(2 * M_PI * i / n)); /* periodic Hann */
        sw2 += (double)a->win[i] * a->win[i];
    }
    /* one-sided: sum_k P_k = mean square of the windowed frame / mean w^2 */
    a->pscale = 2.0 / ((double)n * sw2);
    const double df = rate / n;
    int off = 0;
    for (int j = 0; j < NB; j++) {
        double fc = band_centre(j), lo = fc * pow(10.0, -0.05), hi = fc * pow(10.0, 0.05);
        int k0 = (int)floor(lo / df + 0.5), k1 = (int)floor(hi / df + 0.5) + 1;
        if (k0 < 1) k0 = 1;
        if (k1 > a->bins - 1) k1 = a->bins - 1;
        if (k1 < k0) k1 = k0;
        a->k0[j] = k0;
        a->k1[j] = k1;
        a->woff[j] = off;
        for (int k = k0; k < k1; k++) {
            double b0 = (k - 0.5) * df, b1 = (k + 0.5) * df;
            double o = fmin(b1, hi) - fmax(b0, lo);
            a->w[off++] = (float)(o > 0 ? o / df : 0);
        }
    }
    return a;
}

/* One Welch frame from the rings (the last nfft samples). */
/* sum of w[k] x[k] in double: four partial sums (one chain of dependent
 * adds was the cost), in a fixed order, so the same on every run */
static double band_sum(const float *w, const float *x, int n) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int k = 0;
    for (; k + 4 <= n; k += 4) {
        s0 += (double)w[k] * x[k];
        s1 += (double)w[k + 1] * x[k + 1];
        s2 += (double)w[k + 2] * x[k + 2];
        s3 += (double)w[k + 3] * x[k + 3];
    }
    for (; k < n; k++)
        s0 += (double)w[k] * x[k];
    return (s0 + s1) + (s2 + s3);
}

static void do_frame(lathe_ref_analyzer *a) {
    const int n = a->nfft, paths = a->channels >= 2 ? 2 : 1;
    double *bm = a->bmid[1], *bs = a->bside[1];
    for (int p = 0; p < paths; p++) {
        const float *r = a->ring[p];
        float *x = a->frame[p];
        const int s = (int)a->ringpos; /* oldest sample */
        /* two straight runs (the ring's wrap), which vectorise */
        for (int i = 0; i < n - s; i++)
            x[i] = r[s + i] * a->win[i];
        for (int i = n - s; i < n; i++)
            x[i] = r[i - (n - s)] * a->win[i];
        lathe_fft_forward(&a->fft, x, a->spec);
        /* power per bin into frame[p] (reused: the frame is consumed) */
        for (int k = 0; k < a->bins; k++)
            x[k] = (float)(a->pscale *
                           ((double)a->spec[k][0] * a->spec[k][0] +
                            (double)a->spec[k][1] * a->spec[k][1]));
        x[0] *= 0.5f;
        x[a->bins - 1] *= 0.5f;
        double *acc = p ? bs : bm;
        for (int j = 0; j < NB; j++)
            acc[j] += band_sum(a->w + a->woff[j], x + a->k0[j], a->k1[j] - a->k0[j]);
        if (p == 0)
            for (int k = 0; k < a->bins; k++)
                a->bspec[1][k] += x[k];
    }
    a->bframes[1]++;
}

static int class_of(double st) {
    if (!(st > CLS_LO)) return 0;
    int c = (int)floor((st - CLS_LO) / CLS_STEP);
    return c >= NCLS ? NCLS - 1 : c;
}

static void block_to_hist(lathe_ref_analyzer *a, int b, double st) {
    int c = class_of(st);
    for (int j = 0; j < NB; j++) {
        a->hmid[c][j] += a->bmid[b][j];
        a->hside[c][j] += a->bside[b][j];
    }
    float *h = a->hspec + (size_t)c * (size_t)a->bins;
    for (int k = 0; k < a->bins; k++)
        h[k] += a->bspec[b][k];
    a->hframes[c] += a->bframes[b];
    a->hblocks[c]++;
}

static void block_clear(lathe_ref_analyzer *a, int b) {
    memset(a->bmid[b], 0, sizeof a->bmid[b]);
    memset(a->bside[b], 0, sizeof a->bside[b]);
    memset(a->bspec[b], 0, sizeof(float) * (size_t)a->bins);
    a->bframes[b] = 0;
}

/* The filling block is complete: the pending one (the block before) is
 * labelled by the short-term loudness now, whose 3 s window ends here and
 * so is centred on it; the filling one becomes pending. */
static void block_end(lathe_ref_analyzer *a) {
    if (a->have_pending) block_to_hist(a, 0, a->last_st);
    memcpy(a->bmid[0], a->bmid[1], sizeof a->bmid[0]);
    memcpy(a->bside[0], a->bside[1], sizeof a->bside[0]);
    memcpy(a->bspec[0], a->bspec[1], sizeof(float) * (size_t)a->bins);
    a->bframes[0] = a->bframes[1];
    a->have_pending = 1;
    block_clear(a, 1);
    a->bfill = 0;
}

void lathe_ref_analyzer_set_flags(lathe_ref_analyzer *a, unsigned flags) {
    lathe_analyzer_set_flags(a->an, flags);
}

/* Mid and side of in[0..1][from, from + n) into the rings at ringpos (the
 * caller keeps the run inside the ring); non-finite samples count as 0. */
static void to_rings(lathe_ref_analyzer *a, const float *const *in, long from, long n) {
    float *rm = a->ring[0] + a->ringpos, *rs = a->ring[1] + a->ringpos;
    const float *x0 = in[0] + from;
    if (a->channels > 1) {
        const float *x1 = in[1] + from;
        for (long i = 0; i < n; i++) {
            float l = isfinite(x0[i]) ? x0[i] : 0.0f, r = isfinite(x1[i]) ? x1[i] : 0.0f;
            rm[i] = 0.5f * (l + r);
            rs[i] = 0.5f * (l - r);
        }
    } else {
        for (long i = 0; i < n; i++) {
            rm[i] = isfinite(x0[i]) ? x0[i] : 0.0f;
            rs[i] = 0.0f;
        }
    }
}

void lathe_ref_analyzer_add(lathe_ref_analyzer *a, const float *const *in, long n) {
    long off = 0;
    while (off < n) {
        long m = n - off, room = a->block - a->bfill;
        if (m > room) m = room;
        lathe_analyzer_add(a->an, (const float *const[LATHE_MAX_CHANNELS]){
                                      in[0] + off, a->channels > 1 ? in[1] + off : NULL,
                                      a->channels > 2 ? in[2] + off : NULL,
                                      a->channels > 3 ? in[3] + off : NULL,
                                      a->channels > 4 ? in[4] + off : NULL,
                                      a->channels > 5 ? in[5] + off : NULL,
                                      a->channels > 6 ? in[6] + off : NULL,
                                      a->channels > 7 ? in[7] + off : NULL},
                           m);
        /* runs up to the next frame or the end of the ring, whichever
         * comes first (the same values as sample by sample, in loops the
         * compiler can vectorise) */
        for (long i = 0; i < m;) {
            long run = m - i;
            if (run > a->hop - a->since) run = a->hop - a->since;
            if (run > a->nfft - a->ringpos) run = a->nfft - a->ringpos;
            to_rings(a, in, off + i, run);
            a->ringpos += run;
            if (a->ringpos == a->nfft) a->ringpos = 0;
            a->fed += run;
            a->since += run;
            if (a->since == a->hop) {
                a->since = 0;
                if (a->fed >= a->nfft) do_frame(a);
            }
            i += run;
        }
        a->bfill += m;
        off += m;
        if (a->bfill == a->block) block_end(a);
    }
}

static double to_db(double p) {
    return p > 0 ? 10 * log10(p) : FLOOR_DB;
}

void lathe_ref_analyzer_result(lathe_ref_analyzer *a, lathe_ref_analysis *out) {
    lathe_ref_analyzer_result_full(a, out, NULL);
}

void lathe_ref_analyzer_result_full(lathe_ref_analyzer *a, lathe_ref_analysis *out,
                                    lathe_analysis *full) {
    /* the last blocks: pending and partial, labelled by the last value */
    if (a->have_pending) block_to_hist(a, 0, a->last_st);
    a->have_pending = 0;
    if (a->bframes[1] > 0) block_to_hist(a, 1, a->last_st);
    block_clear(a, 1);
    lathe_analysis an;
    lathe_analyzer_result(a->an, &an);
    if (full) *full = an;
    memset(out, 0, sizeof *out);
    out->rate = a->rate;
    out->channels = a->channels;
    out->duration_s = an.duration_s;
    out->integrated_lufs = an.integrated_lufs;
    out->loudness_range_lu = an.loudness_range_lu;
    out->max_short_term_lufs = an.max_short_term_lufs;
    out->true_peak_dbtp = an.true_peak_dbtp;
    out->sample_peak_dbfs = an.sample_peak_dbfs;
    out->plr_db = an.plr_db;
    out->crest_db = an.crest_db;
    /* selection: classes at or above the integrated loudness */
    double gate = an.integrated_lufs;
    int c0 = isfinite(gate) ? class_of(gate) : 0;
    long blocks = 0;
    for (int c = c0; c < NCLS; c++)
        blocks += a->hblocks[c];
    if (blocks < 3) {
        c0 = 0;
        blocks = 0;
        for (int c = 0; c < NCLS; c++)
            blocks += a->hblocks[c];
        gate = -HUGE_VAL;
    }
    out->gate_lufs = isfinite(gate) ? CLS_LO + c0 * CLS_STEP : gate;
    out->selected_s = (double)blocks; /* 1 s blocks (the last may be shorter) */
    if (out->selected_s > out->duration_s) out->selected_s = out->duration_s;
    long frames = 0;
    double m[NB] = {0}, s[NB] = {0};
    for (int c = c0; c < NCLS; c++) {
        frames += a->hframes[c];
        for (int j = 0; j < NB; j++) {
            m[j] += a->hmid[c][j];
            s[j] += a->hside[c][j];
        }
    }
    const double nyq = a->rate / 2;
    for (int j = 0; j < NB; j++) {
        out->band_hz[j] = band_centre(j);
        out->band_ok[j] = frames > 0 && out->band_hz[j] * pow(10.0, 0.05) <= nyq;
        if (!out->band_ok[j]) {
            out->mid_db[j] = out->side_db[j] = out->side_mid_db[j] = NAN;
            continue;
        }
        out->mid_db[j] = to_db(m[j] / (double)frames);
        out->side_db[j] = a->channels > 1 ? to_db(s[j] / (double)frames) : FLOOR_DB;
        double r = out->side_db[j] - out->mid_db[j];
        out->side_mid_db[j] = r < WIDTH_FLOOR ? WIDTH_FLOOR : r;
    }
    out->bins = a->bins;
    out->bin_hz = a->rate / a->nfft;
    for (int k = 0; k < a->bins; k++) {
        double p = 0;
        for (int c = c0; c < NCLS; c++)
            p += a->hspec[(size_t)c * (size_t)a->bins + (size_t)k];
        out->mid_spec_db[k] = (float)(frames > 0 ? to_db(p / (double)frames) : FLOOR_DB);
    }
}

lathe_status lathe_ref_analyze_file(const char *path, lathe_ref_analysis *out, lathe_error *err) {
    return lathe_ref_analyze_file_flags(path, 0, out, NULL, NULL, err);
}

lathe_status lathe_ref_analyze_file_flags(const char *path, unsigned flags, lathe_ref_analysis *out,
                                          lathe_analysis *full, lathe_audio_info *info_out,
                                          lathe_error *err) {
    lathe_audio_info info;
    lathe_reader *r = lathe_reader_open(path, &info, err);
    if (!r) return err ? err->code : LATHE_E_IO;
    if (info_out) *info_out = info;
    lathe_ref_analyzer *a = lathe_ref_analyzer_new(info.rate, info.channels, err);
    enum { CHUNK = 8192 };
    float *buf = malloc(sizeof(float) * CHUNK * (size_t)info.channels);
    if (!a || !buf) {
        if (a) lathe_error_set(err, LATHE_E_NOMEM, "%s: out of memory", path);
        lathe_ref_analyzer_free(a);
        free(buf);
        lathe_reader_close(r);
        return LATHE_E_NOMEM;
    }
    lathe_ref_analyzer_set_flags(a, flags);
    float *ch[LATHE_MAX_CHANNELS];
    for (int c = 0; c < info.channels; c++)
        ch[c] = buf + (size_t)c * CHUNK;
    lathe_status st = LATHE_OK;
    for (;;) {
        long got = lathe_reader_read(r, ch, CHUNK, err);
        if (got < 0) {
            st = (lathe_status)got;
            break;
        }
        if (got == 0) break;
        lathe_ref_analyzer_add(a, (const float *const *)ch, got);
    }
    if (st == LATHE_OK) lathe_ref_analyzer_result_full(a, out, full);
    lathe_ref_analyzer_free(a);
    free(buf);
    lathe_reader_close(r);
    return st;
}

/* ---- the plan ---- */

void lathe_ref_options_default(lathe_ref_options *o) {
    o->match = LATHE_REF_MATCH_DEFAULT;
    o->amount_tone = o->amount_width = o->amount_dynamics = 1.0;
    o->max_eq_db = 6;
    o->max_width_db = 6;
    o->max_dyn_db = 3;
    o->target_lufs = NAN;
    o->warn_db = 6;
    o->lo_hz = 20;
    o->hi_hz = 20000;
}

/* Catmull-Rom through the band gains in band-index space (log frequency):
 * the same curve the match processor designs (src/dsp/match.c). */
double lathe_ref_curve_db(const double g[LATHE_REF_BANDS], double hz) {
    if (!(hz > 0)) return g[0];
    double x = 10.0 * log10(hz / 1000.0) + 17.0;
    if (x <= 0) return g[0];
    if (x >= NB - 1) return g[NB - 1];
    int i = (int)x;
    double t = x - i;
    double p0 = g[i > 0 ? i - 1 : 0], p1 = g[i], p2 = g[i + 1], p3 = g[i + 2 < NB ? i + 2 : NB - 1];
    return 0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t * t +
                  (3 * p1 - p0 - 3 * p2 + p3) * t * t * t);
}

/* Approximate K-weighting power gain at f (BS.1770-4's two stages as analog
 * prototypes: the RLB high-pass, 2nd order at 38.1 Hz, Q 0.5, and the
 * high shelf of +4 dB around 1.5 kHz), used only to weight the level
 * alignment toward what loudness hears. */
static double kweight(double f) {
    const double q = 0.5;
    double r = f / 38.1, hp = (r * r * r * r) / ((1 - r * r) * (1 - r * r) + r * r / (q * q));
    double G = pow(10.0, 4.0 / 10.0), x = (f / 1500.0) * (f / 1500.0);
    double shelf = (1 + G * x) / (1 + x);
    return hp * shelf;
}

static void warn(lathe_ref_master_plan *p, const char *msg) {
    if (p->nwarnings >= LATHE_REF_MAX_WARNINGS) return;
    char *w = p->warnings[p->nwarnings++];
    size_t l = strlen(msg);
    if (l >= sizeof p->warnings[0]) l = sizeof p->warnings[0] - 1;
    memcpy(w, msg, l);
    w[l] = 0;
}

static double clampd(double x, double m) {
    return x > m ? m : x < -m ? -m : x;
}

/* The band gains that make each band's power change equal the wanted
 * tone_db.  The curve between centres is smooth, but the mix's power inside
 * a band is not spread evenly (harmonics, a bass line), so a band does not
 * change by exactly its centre gain: with the mix's per-bin mid spectrum
 * the change of every band under gains g is computed as the analysis
 * measures it (the same bin weights), and g is corrected by the error
 * (Jacobi fixed-point steps, g += wanted - achieved; 12 steps). Gains stay
 * within max_eq + 3 dB; unused bands keep 0. */
static void solve_gains(const lathe_ref_analysis *mix, const lathe_ref_master_plan *p,
                        double max_eq, double g[NB]) {
    for (int k = 0; k < NB; k++)
        g[k] = p->tone_db[k];
    int any = 0;
    for (int k = 0; k < NB; k++)
        any |= p->tone_db[k] != 0;
    if (!any || mix->bins < 2 || mix->is_target) return;
    const double df = mix->bin_hz, lim = max_eq + 3;
    for (int it = 0; it < 12; it++) {
        double achieved[NB];
        for (int k = 0; k < NB; k++) {
            achieved[k] = 0;
            if (!p->band_used[k]) continue;
            double fc = p->band_hz[k], lo = fc * pow(10.0, -0.05), hi = fc * pow(10.0, 0.05);
            int k0 = (int)floor(lo / df + 0.5), k1 = (int)floor(hi / df + 0.5) + 1;
            if (k0 < 1) k0 = 1;
            if (k1 > mix->bins - 1) k1 = mix->bins - 1;
            double before = 0, after = 0;
            for (int b = k0; b < k1; b++) {
                double o = fmin((b + 0.5) * df, hi) - fmax((b - 0.5) * df, lo);
                if (o <= 0) continue;
                double pw = o / df * pow(10.0, mix->mid_spec_db[b] / 10);
                before += pw;
                after += pw * pow(10.0, lathe_ref_curve_db(g, b * df) / 10);
            }
            achieved[k] = before > 0 && after > 0 ? 10 * log10(after / before) : p->tone_db[k];
        }
        double worst = 0;
        for (int k = 0; k < NB; k++) {
            if (!p->band_used[k]) continue;
            double e = p->tone_db[k] - achieved[k];
            worst = fmax(worst, fabs(e));
            g[k] = clampd(g[k] + e, lim);
        }
        if (worst < 0.01) break;
    }
}

lathe_status lathe_ref_plan(const lathe_ref_analysis *mix, const lathe_ref_analysis *ref,
                            const lathe_ref_options *opt, lathe_ref_master_plan *p, lathe_error *err) {
    lathe_ref_options o;
    if (opt)
        o = *opt;
    else
        lathe_ref_options_default(&o);
    if (!(o.max_eq_db >= 0 && o.max_eq_db <= 24 && o.max_width_db >= 0 && o.max_width_db <= 24 &&
          o.amount_tone >= 0 && o.amount_tone <= 1 && o.amount_width >= 0 &&
          o.amount_width <= 1 && o.amount_dynamics >= 0 && o.amount_dynamics <= 1 &&
          o.max_dyn_db >= 0))
        return lathe_error_set(err, LATHE_E_RANGE,
                               "reference: amounts must be 0..100 %%, max-eq and max-width 0..24 dB");
    memset(p, 0, sizeof *p);
    const int tone = (o.match & LATHE_REF_MATCH_TONE) != 0;
    const int width = (o.match & LATHE_REF_MATCH_WIDTH) != 0 && mix->channels >= 2;
    /* level alignment: the offset that makes the reference's mid bands carry
     * the same K-weighted power as the mix's, over the bands used:
     * off = 10 log10(sum w_k P_mix,k / sum w_k P_ref,k), w = K-weighting */
    double num = 0, den = 0;
    for (int k = 0; k < NB; k++) {
        p->band_hz[k] = mix->band_hz[k];
        p->band_used[k] = mix->band_ok[k] && ref->band_ok[k] && p->band_hz[k] * 1.06 >= o.lo_hz &&
                          p->band_hz[k] <= o.hi_hz * 1.06 && mix->mid_db[k] > FLOOR_DB + 1 &&
                          ref->mid_db[k] > FLOOR_DB + 1;
        if (!p->band_used[k]) continue;
        double w = kweight(p->band_hz[k]);
        num += w * pow(10.0, mix->mid_db[k] / 10);
        den += w * pow(10.0, ref->mid_db[k] / 10);
    }
    p->level_offset_db = num > 0 && den > 0 ? 10 * log10(num / den) : 0;
    int nfar = 0;
    char farlist[160] = "";
    for (int k = 0; k < NB; k++) {
        if (!p->band_used[k]) {
            p->mix_db[k] = mix->mid_db[k];
            p->ref_db[k] = ref->mid_db[k] + p->level_offset_db;
            p->diff_db[k] = p->tone_db[k] = p->width_db[k] = 0;
            p->mix_width_db[k] = mix->side_mid_db[k];
            p->ref_width_db[k] = ref->side_mid_db[k];
            continue;
        }
        p->mix_db[k] = mix->mid_db[k];
        p->ref_db[k] = ref->mid_db[k] + p->level_offset_db;
        p->diff_db[k] = p->ref_db[k] - p->mix_db[k];
        p->tone_db[k] = tone ? clampd(p->diff_db[k], o.max_eq_db) * o.amount_tone : 0;
        p->mix_width_db[k] = mix->side_mid_db[k];
        p->ref_width_db[k] = ref->side_mid_db[k];
        double dw = p->ref_width_db[k] - p->mix_width_db[k];
        /* a mix with (almost) no side in the band: no side to raise */
        if (p->mix_width_db[k] <= WIDTH_FLOOR + 1 && dw > 0) dw = 0;
        p->width_db[k] = width ? clampd(dw, o.max_width_db) * o.amount_width : 0;
        p->far[k] = fabs(p->diff_db[k]) > o.warn_db;
        if (p->far[k]) {
            nfar++;
            size_t l = strlen(farlist);
            if (l < sizeof farlist - 24) {
                double f = p->band_hz[k];
                snprintf(farlist + l, sizeof farlist - l, "%s%.3g %s %+.1f dB", l ? ", " : "",
                         f >= 1000 ? f / 1000 : f, f >= 1000 ? "kHz" : "Hz", p->diff_db[k]);
            }
        }
    }
    double g[NB];
    solve_gains(mix, p, o.max_eq_db, g);
    for (int k = 0; k < NB; k++) {
        double mid = g[k], side = g[k] + p->width_db[k];
        p->match_mid_db[k] = clampd(mid, 24);
        p->match_side_db[k] = clampd(side, 24);
        if (p->match_mid_db[k] != 0 || p->match_side_db[k] != 0) p->use_match = 1;
    }
    if (nfar) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "the reference is far from the mix in %d band%s (more than %.0f dB: %s): "
                 "the mix is the place to fix that",
                 nfar, nfar > 1 ? "s" : "", o.warn_db, farlist);
        warn(p, msg);
    }
    /* loudness */
    p->target_lufs = NAN;
    if (o.match & LATHE_REF_MATCH_LOUDNESS) {
        if (isfinite(o.target_lufs))
            p->target_lufs = o.target_lufs;
        else if (!ref->is_target && isfinite(ref->integrated_lufs))
            p->target_lufs = ref->integrated_lufs;
    }
    /* dynamics: only toward less peak-to-loudness ratio, bounded */
    p->mix_plr_db = mix->plr_db;
    p->ref_plr_db = ref->plr_db;
    if ((o.match & LATHE_REF_MATCH_DYNAMICS) && isfinite(mix->plr_db) && isfinite(ref->plr_db) &&
        mix->plr_db > ref->plr_db + 0.5 && o.amount_dynamics > 0) {
        double d = mix->plr_db - ref->plr_db;
        if (d > o.max_dyn_db) d = o.max_dyn_db;
        d *= o.amount_dynamics;
        p->use_dynamics = d > 0.05;
        p->dyn_ratio = 2.0;
        p->dyn_reduction_db = d;
        /* 2:1 above T reduces a peak at the true-peak level by (TP - T) / 2 */
        p->dyn_threshold_dbfs = mix->true_peak_dbtp - 2 * d;
    }
    if (ref->is_target == 0 && isfinite(ref->true_peak_dbtp) && ref->true_peak_dbtp > 0) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "the reference peaks at %+.1f dBTP: its loudness is matched, its overs are not",
                 ref->true_peak_dbtp);
        warn(p, msg);
    }
    /* plots: the mix's mid spectrum, the correction on its grid, after = both */
    p->bins = mix->bins;
    p->bin_hz = mix->bin_hz;
    for (int k = 0; k < mix->bins; k++) {
        double c = lathe_ref_curve_db(p->match_mid_db, k * mix->bin_hz);
        p->before_db[k] = mix->mid_spec_db[k];
        p->corr_db[k] = (float)c;
        p->after_db[k] = (float)(mix->mid_spec_db[k] + c);
    }
    p->ref_bins = ref->bins;
    p->ref_bin_hz = ref->bin_hz;
    for (int k = 0; k < ref->bins; k++)
        p->ref_spec_db[k] = (float)(ref->mid_spec_db[k] + p->level_offset_db);
    return LATHE_OK;
}

int lathe_ref_plan_match_values(const lathe_ref_master_plan *p, int *idx, double *values) {
    if (!p->use_match) return 0;
    int n = 0;
    for (int k = 0; k < NB; k++) {
        idx[n] = 2 * k; /* band<k+1>.mid */
        values[n++] = p->match_mid_db[k];
        idx[n] = 2 * k + 1; /* band<k+1>.side */
        values[n++] = p->match_side_db[k];
    }
    idx[n] = 2 * NB; /* amount */
    values[n++] = 100;
    idx[n] = 2 * NB + 1; /* max */
    values[n++] = 24;
    return n;
}

static void fmt_hz(char *b, size_t n, double f) {
    if (f >= 1000)
        snprintf(b, n, "%.3g kHz", f / 1000);
    else
        snprintf(b, n, "%.3g Hz", f);
}

void lathe_ref_plan_write_text(const lathe_ref_master_plan *p, FILE *f) {
    fprintf(f, "%-10s %9s %9s %9s %9s %9s\n", "band", "mix dB", "ref dB", "tone dB", "width dB",
            "");
    for (int k = 0; k < NB; k++) {
        char hz[24];
        fmt_hz(hz, sizeof hz, p->band_hz[k]);
        if (!p->band_used[k]) {
            fprintf(f, "%-10s %9s\n", hz, "-");
            continue;
        }
        fprintf(f, "%-10s %9.1f %9.1f %+9.2f %+9.2f %s\n", hz, p->mix_db[k], p->ref_db[k],
                p->tone_db[k], p->width_db[k], p->far[k] ? "far" : "");
    }
    if (isfinite(p->target_lufs)) fprintf(f, "loudness target: %.1f LUFS\n", p->target_lufs);
    if (p->use_dynamics)
        fprintf(f, "dynamics: %.1f:1 above %.1f dBFS, about %.1f dB off the peaks (PLR %.1f -> %.1f dB)\n",
                p->dyn_ratio, p->dyn_threshold_dbfs, p->dyn_reduction_db, p->mix_plr_db,
                p->ref_plr_db);
    for (int i = 0; i < p->nwarnings; i++)
        fprintf(f, "warning: %s\n", p->warnings[i]);
}

static void json_num(FILE *f, double v) {
    if (isfinite(v))
        fprintf(f, "%.3f", v);
    else
        fputs("null", f);
}

void lathe_ref_plan_write_json(const lathe_ref_master_plan *p, FILE *f) {
    fputs("{\"bands\": [", f);
    for (int k = 0; k < NB; k++) {
        fprintf(f, "%s{\"hz\": %.1f, \"used\": %s, \"mix_db\": ", k ? ", " : "", p->band_hz[k],
                p->band_used[k] ? "true" : "false");
        json_num(f, p->mix_db[k]);
        fputs(", \"ref_db\": ", f);
        json_num(f, p->ref_db[k]);
        fputs(", \"tone_db\": ", f);
        json_num(f, p->tone_db[k]);
        fputs(", \"width_db\": ", f);
        json_num(f, p->width_db[k]);
        fprintf(f, ", \"far\": %s}", p->far[k] ? "true" : "false");
    }
    fputs("], \"target_lufs\": ", f);
    json_num(f, p->target_lufs);
    fprintf(f, ", \"dynamics\": %s", p->use_dynamics ? "{\"ratio\": " : "null");
    if (p->use_dynamics) {
        json_num(f, p->dyn_ratio);
        fputs(", \"threshold_dbfs\": ", f);
        json_num(f, p->dyn_threshold_dbfs);
        fputs(", \"reduction_db\": ", f);
        json_num(f, p->dyn_reduction_db);
        fputs("}", f);
    }
    fputs(", \"warnings\": [", f);
    for (int i = 0; i < p->nwarnings; i++) {
        fputs(i ? ", \"" : "\"", f);
        for (const char *c = p->warnings[i]; *c; c++) {
            if (*c == '"' || *c == '\\') fputc('\\', f);
            fputc(*c, f);
        }
        fputc('"', f);
    }
    fputs("]}\n", f);
}
