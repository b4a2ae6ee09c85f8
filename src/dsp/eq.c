/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/eq.c: the parametric equaliser, up to 16 bands plus output gain.
 *
 * Design (dsp/biquad.c): bells, shelves, tilt, Butterworth passes, notch and
 * band-pass follow their analog prototypes up to Nyquist with M. Vicanek's
 * "Matched Second Order Digital Filters" (2016): impulse-invariant poles,
 * numerator fitted to the analog magnitude at DC, f0 and Nyquist, so a 10 kHz
 * bell keeps its shape at 44.1 kHz instead of being cramped by the bilinear
 * transform.  Cuts are the exact inverse of the matching boost.
 * Linkwitz-Riley passes are designed with the bilinear transform (RBJ
 * cookbook): only then do a low-pass and high-pass at the same corner sum to
 * an exact all-pass, which is what a crossover alignment is for.
 *
 * Realisation: every section runs as A. Simper's trapezoidal state-variable
 * filter ("Linear Trap Optimised SVF", Cytomic 2013), into which each digital
 * biquad is mapped exactly (inverse bilinear transform).  Frequency, gain and
 * Q are smoothed (one-pole, 20 ms, in octaves / dB / log Q), redesigned every
 * 32 samples, and the SVF coefficients are interpolated per sample between
 * designs: automation neither clicks nor zippers.  State is double. */
#include <math.h>
#include <string.h>

#include "dsp/biquad.h"
#include "dsp/fir.h"
#include "lathe/proc.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define NBANDS 16
#define NSEC 4   /* sections per band: 48 dB/oct = 4 biquads */
#define CHUNK 32 /* control rate: a design every CHUNK samples while moving */
#define NFIELD 6 /* params per band */
#define SMOOTH_S 0.020

enum { B_OFF, B_BELL, B_LOWSHELF, B_HIGHSHELF, B_HIGHPASS, B_LOWPASS, B_NOTCH, B_BANDPASS, B_TILT };
enum { F_TYPE, F_FREQ, F_GAIN, F_Q, F_SLOPE, F_SHAPE };
enum { SHAPE_BUTTERWORTH, SHAPE_LR };

static const char *const band_types[] = {"off",     "bell",  "lowshelf", "highshelf", "highpass",
                                         "lowpass", "notch", "bandpass", "tilt",      NULL};
static const char *const shapes[] = {"butterworth", "linkwitz_riley", NULL};
static const char *const phases[] = {"minimum", "linear", NULL};
enum { PHASE_MINIMUM, PHASE_LINEAR };

#define FIR_DEFAULT 32769 /* taps at 48 kHz: see DOC_FIR_LENGTH and test_eq */
#define KAISER_BETA 8.0   /* side lobes ~ -80 dB: a 48 dB/oct low-pass keeps -92 dB at 4 f0 */
#define LIN_ITER 2        /* window pre-compensation steps (lin_design) */

#define DOC_TYPE                                                                                   \
    "filter type: off (costs nothing), bell (peaking, gain at freq), lowshelf/highshelf "          \
    "(gain below/above freq, half the gain at freq), highpass/lowpass (slope and shape), "         \
    "notch, bandpass (0 dB peak at freq), tilt (first order: -gain/2 at the bottom, "              \
    "+gain/2 at the top, 0 dB at freq)"
#define DOC_FREQ "centre (bell, notch, bandpass, tilt), midpoint (shelves) or corner (passes)"
#define DOC_GAIN                                                                                   \
    "bell: gain at freq; shelves: gain of the shelf (half of it at freq); tilt: difference "       \
    "between top and bottom; ignored by passes, notch and bandpass"
#define DOC_Q                                                                                      \
    "quality as in the RBJ cookbook: bell bandwidth (Q 1.41 ~ 1 octave), notch/bandpass "          \
    "width; 12 dB/oct shelves: 0.7071 is the steepest shelf without overshoot (cookbook "          \
    "slope S = 1), higher Q adds a resonant bump; ignored by passes (aligned by shape), by "       \
    "shelves of other slopes (Butterworth) and by tilt"
#define DOC_SLOPE                                                                                  \
    "high/low-pass steepness in 6 dB/oct steps: 6 = first order, 12 = one second-order "           \
    "section, ... 48 = eighth order; shelves: 12 = the RBJ shelf shaped by q (default), "          \
    "6 and 18..48 = Butterworth shelf of order slope/6 (steeper transition, no overshoot; "        \
    "Holters & Zoelzer 2006), still half the gain at freq"
#define DOC_SHAPE                                                                                  \
    "high/low-pass alignment: butterworth (-3 dB at freq, maximally flat) or linkwitz_riley "      \
    "(two cascaded Butterworth of half the order, -6 dB at freq; an LR low-pass and "              \
    "high-pass at the same freq sum flat, LR24/LR48 in phase, LR12/LR36 with one side "            \
    "inverted); odd orders (6, 18, 30, 42) are always Butterworth"

#define DOC_PHASE                                                                                  \
    "minimum: the IIR cascade (no latency, the phase of analog EQ); linear: one symmetric FIR "    \
    "with exactly the magnitude response of the same bands and output gain, no phase shift, "      \
    "latency (fir_length - 1) / 2 frames; fixed at init"
#define DOC_FIR_LENGTH                                                                             \
    "linear phase only: FIR length in taps at 48 kHz (scaled with the rate, made odd; latency "    \
    "(fir_length - 1) / 2 frames, the same time at every rate); longer resolves sharper detail "   \
    "at low frequencies. The default 32769 (341 ms) holds a 30 Hz bell of Q 3 within 0.1 dB of "   \
    "the minimum-phase response (Q 1: within 0.004 dB); 16385 (171 ms) still holds a 30 Hz bell "  \
    "of Q 1 within 0.06 dB; fixed at init"

#define AUTO (LATHE_PARAM_AUTOMATABLE)
#define BAND_PARAMS(n)                                                                             \
    {"band" #n ".type", "", DOC_TYPE, 0, 8, B_OFF, LATHE_PARAM_CHOICE, band_types, 0},             \
        {"band" #n ".freq",     "Hz", DOC_FREQ, 10, 24000, 1000, LATHE_PARAM_NUMBER, NULL,         \
         AUTO | LATHE_PARAM_LOG},                                                                  \
        {"band" #n ".gain", "dB", DOC_GAIN, -24, 24, 0, LATHE_PARAM_NUMBER, NULL, AUTO},           \
        {"band" #n ".q",        "", DOC_Q, 0.1, 50, 0.7071, LATHE_PARAM_NUMBER, NULL,              \
         AUTO | LATHE_PARAM_LOG},                                                                  \
        {"band" #n ".slope", "dB/oct", DOC_SLOPE, 6, 48, 12, LATHE_PARAM_NUMBER, NULL, 0}, {       \
        "band" #n ".shape", "", DOC_SHAPE, 0, 1, SHAPE_BUTTERWORTH, LATHE_PARAM_CHOICE, shapes, 0  \
    }

static const lathe_param_desc eq_params[] = {
    BAND_PARAMS(1),
    BAND_PARAMS(2),
    BAND_PARAMS(3),
    BAND_PARAMS(4),
    BAND_PARAMS(5),
    BAND_PARAMS(6),
    BAND_PARAMS(7),
    BAND_PARAMS(8),
    BAND_PARAMS(9),
    BAND_PARAMS(10),
    BAND_PARAMS(11),
    BAND_PARAMS(12),
    BAND_PARAMS(13),
    BAND_PARAMS(14),
    BAND_PARAMS(15),
    BAND_PARAMS(16),
    {"output", "dB", "gain after all bands (smoothed)", -INFINITY, 24, 0, LATHE_PARAM_NUMBER, NULL,
     AUTO},
    {"phase", "", DOC_PHASE, 0, 1, PHASE_MINIMUM, LATHE_PARAM_CHOICE, phases, 0},
    {"fir_length", "samples", DOC_FIR_LENGTH, 4097, 65537, FIR_DEFAULT, LATHE_PARAM_NUMBER, NULL,
     0},
};
#define P_OUTPUT (NBANDS * NFIELD)
#define P_PHASE (P_OUTPUT + 1)
#define P_FIR_LENGTH (P_OUTPUT + 2)

typedef struct {
    /* stored by set() */
    int type, shape, slope;
    double freq, gain, q;
    /* running */
    int run_type, run_shape, run_slope, nsec, moving;
    double lf, g, lq;    /* smoothed: log2 freq, dB, ln q */
    lathe_svf cur[NSEC]; /* coefficients now */
    lathe_svf_state st[NSEC][8];
} eq_band;

typedef struct {
    eq_band band[NBANDS];
    double output_db, out_gain, out_target;
    double rate, decay[CHUNK + 1]; /* one-pole factor over n samples */
    int channels, inited;
    double work[8][CHUNK];
    /* linear phase: set() stores phase and fir_length, init allocates the rest */
    int phase, lin_dirty;
    double fir_length;
    int lin_n, lin_taps, lin_half; /* reported length N, designed taps (N - 2B), their centre */
    lathe_pconv conv;
    lathe_fft dfft;                            /* design grid: M points */
    fftwf_complex *dspec;                      /* M/2 + 1 */
    float *dtime, *win, *taps, *target, *corr; /* |H| and corrected |H| on the M/2 + 1 bins */
    double *phi;                               /* sin^2(pi k / M) */
} eq_state;

/* ---- design ---- */

/* Butterworth of order n: ceil(n/2) sections (the last one first order when n
 * is odd), pole Q_k = 1 / (2 sin((2k-1) pi / (2n))). */
static int butterworth(lathe_bq *out, int n, int high, int bilinear, double rate, double f0) {
    int ns = 0;
    void (*design)(lathe_bq *, lathe_bq_type, double, double, double, double) =
        bilinear ? lathe_bq_design_bilinear : lathe_bq_design;
    for (int k = 1; k <= n / 2; k++) {
        double q = 1.0 / (2.0 * sin((2 * k - 1) * M_PI / (2.0 * n)));
        design(&out[ns++], high ? LATHE_BQ_HIGHPASS : LATHE_BQ_LOWPASS, rate, f0, q, 0);
    }
    if (n & 1) design(&out[ns++], high ? LATHE_BQ_HIGHPASS1 : LATHE_BQ_LOWPASS1, rate, f0, 1, 0);
    return ns;
}

/* Two first-order sections as one biquad (their product). */
static void square1(lathe_bq *c) {
    lathe_bq s = *c;
    c->b0 = s.b0 * s.b0;
    c->b1 = 2 * s.b0 * s.b1;
    c->b2 = s.b1 * s.b1;
    c->a1 = 2 * s.a1;
    c->a2 = s.a1 * s.a1;
}

/* Butterworth shelf of order n (Holters & Zoelzer, "Parametric higher-order
 * shelving filters", EUSIPCO 2006):
 *   |H(jx)|^2 = (1 + (x/wz)^2n) / (1 + (x/wp)^2n),  wp/wz = G^(1/n), wz wp = 1
 * (high shelf, G the linear gain; low shelf mirrored).  It factors into RBJ
 * shelves of gain 2g/n dB with the Butterworth pole Qs at the same f0, plus a
 * first-order shelf of g/n dB when n is odd, so each section passes through
 * its own half gain at f0 and the cascade through g/2. */
static int butterworth_shelf(lathe_bq *out, int n, int high, double rate, double f0, double gain) {
    int ns = 0;
    for (int k = 1; k <= n / 2; k++) {
        double q = 1.0 / (2.0 * sin((2 * k - 1) * M_PI / (2.0 * n)));
        lathe_bq_design(&out[ns++], high ? LATHE_BQ_HIGHSHELF : LATHE_BQ_LOWSHELF, rate, f0, q,
                        2.0 * gain / n);
    }
    if (n & 1) {
        /* first-order shelf of g1 dB = 10^(g1/40) x tilt(+-g1): the tilt already
         * has 0 dB at f0 and the g1 dB difference between its ends */
        double g1 = gain / n, t = pow(10.0, g1 / 40.0);
        lathe_bq *c = &out[ns++];
        lathe_bq_design(c, LATHE_BQ_TILT, rate, f0, 1, high ? g1 : -g1);
        c->b0 *= t;
        c->b1 *= t;
        c->b2 *= t;
    }
    return ns;
}

static int design_band(lathe_bq *sec, int type, int slope, int shape, double rate, double f,
                       double gain, double q) {
    switch (type) {
    case B_BELL:
        lathe_bq_design(sec, LATHE_BQ_BELL, rate, f, q, gain);
        return 1;
    case B_LOWSHELF:
    case B_HIGHSHELF: {
        lathe_bq_type t = type == B_LOWSHELF ? LATHE_BQ_LOWSHELF : LATHE_BQ_HIGHSHELF;
        if (slope == 12) {
            lathe_bq_design(sec, t, rate, f, q, gain);
            return 1;
        }
        return butterworth_shelf(sec, slope / 6, t == LATHE_BQ_HIGHSHELF, rate, f, gain);
    }
    case B_NOTCH:
        lathe_bq_design(sec, LATHE_BQ_NOTCH, rate, f, q, 0);
        return 1;
    case B_BANDPASS:
        lathe_bq_design(sec, LATHE_BQ_BANDPASS, rate, f, q, 0);
        return 1;
    case B_TILT:
        lathe_bq_design(sec, LATHE_BQ_TILT, rate, f, q, gain);
        return 1;
    case B_HIGHPASS:
    case B_LOWPASS: {
        int order = slope / 6, high = type == B_HIGHPASS;
        if (shape == SHAPE_LR && !(order & 1)) {
            /* LR of order 2m: Butterworth of order m, twice (bilinear, see top). */
            int m = order / 2;
            lathe_bq half[NSEC];
            int nh = butterworth(half, m, high, 1, rate, f), ns = 0;
            for (int i = 0; i < nh; i++) {
                if (half[i].a2 == 0 && half[i].b2 == 0) {
                    sec[ns] = half[i];
                    square1(&sec[ns++]);
                } else {
                    sec[ns++] = half[i];
                    sec[ns++] = half[i];
                }
            }
            return ns;
        }
        return butterworth(sec, order, high, 0, rate, f);
    }
    default:
        return 0;
    }
}

static int round_slope(double v) {
    int s = (int)floor(v / 6.0 + 0.5) * 6;
    return s < 6 ? 6 : s > 48 ? 48 : s;
}

/* Designs band b from its smoothed values into out[]; returns the section count. */
static int band_coefs(const eq_state *s, const eq_band *b, lathe_svf *out) {
    lathe_bq sec[NSEC];
    double f = exp2(b->lf);
    if (f > 0.49 * s->rate) f = 0.49 * s->rate;
    int ns =
        design_band(sec, b->run_type, b->run_slope, b->run_shape, s->rate, f, b->g, exp(b->lq));
    for (int i = 0; i < ns; i++)
        lathe_svf_from_bq(&out[i], &sec[i]);
    return ns;
}

/* ---- life cycle ---- */

static void eq_set(void *st, int i, double v) {
    eq_state *s = st;
    if (i == P_PHASE || i == P_FIR_LENGTH) {
        if (s->inited) return; /* fixed at init */
        if (i == P_PHASE)
            s->phase = (int)v;
        else
            s->fir_length = v;
        return;
    }
    s->lin_dirty = 1; /* linear phase: redesign at the next partition */
    if (i == P_OUTPUT) {
        s->output_db = v;
        s->out_target = v == -INFINITY ? 0.0 : pow(10.0, v / 20.0);
        return;
    }
    if (i < 0 || i >= P_OUTPUT) return;
    eq_band *b = &s->band[i / NFIELD];
    switch (i % NFIELD) {
    case F_TYPE:
        b->type = (int)v;
        break;
    case F_FREQ:
        b->freq = v;
        break;
    case F_GAIN:
        b->gain = v;
        break;
    case F_Q:
        b->q = v;
        break;
    case F_SLOPE:
        b->slope = round_slope(v);
        break;
    case F_SHAPE:
        b->shape = (int)v;
        break;
    }
    b->moving = 1;
}

static void band_start(eq_state *s, eq_band *b) {
    b->run_type = b->type;
    b->run_shape = b->shape;
    b->run_slope = b->slope;
    b->lf = log2(b->freq);
    b->g = b->gain;
    b->lq = log(b->q);
    b->nsec = band_coefs(s, b, b->cur);
    b->moving = 0;
}

/* ---- linear phase ----
 * The target is the exact magnitude of the digital sections the minimum-phase
 * path runs (design_band, at the set values), times the output gain, on the
 * M/2+1 bins of an M-point grid (M >= 2 x taps), evaluated in the
 * numerically safe form of the RBJ cookbook with phi = sin^2(w/2):
 *   |H|^2 = ((b0+b1+b2)^2 - 4 (b0 b1 + 4 b0 b2 + b1 b2) phi + 16 b0 b2 phi^2)
 *         / ((1+a1+a2)^2 - 4 (a1 + 4 a2 + a1 a2) phi + 16 a2 phi^2).
 * Its inverse DFT is the zero-phase impulse response; a Kaiser window cuts it
 * to the odd length (dsp/fir.c).  The window smooths the response (the
 * window's transform is convolved with it), which would cost 0.13 dB on a
 * +12 dB 30 Hz bell of Q 1; LIN_ITER fixed-point steps measure the designed
 * response on the grid and pre-compensate the target (below): 0.003 dB.
 * The result runs in a uniformly partitioned FFT convolver of partition B,
 * whose block delay B is part of the latency: the processor's impulse
 * response is the designed one delayed by B, i.e. a symmetric FIR of
 * N = taps + 2B taps whose first and last B are zero, and
 * latency() = (N - 1) / 2. */
static void lin_design(eq_state *s) {
    double num[NBANDS * NSEC][3], den[NBANDS * NSEC][3];
    int S = 0;
    for (int k = 0; k < NBANDS; k++) {
        const eq_band *b = &s->band[k];
        if (b->type == B_OFF) continue;
        lathe_bq sec[NSEC];
        double f = b->freq > 0.49 * s->rate ? 0.49 * s->rate : b->freq;
        int ns = design_band(sec, b->type, b->slope, b->shape, s->rate, f, b->gain, b->q);
        for (int i = 0; i < ns; i++, S++) {
            const lathe_bq *c = &sec[i];
            double n0 = c->b0 + c->b1 + c->b2, d0 = 1 + c->a1 + c->a2;
            num[S][0] = n0 * n0;
            num[S][1] = -4 * (c->b0 * c->b1 + 4 * c->b0 * c->b2 + c->b1 * c->b2);
            num[S][2] = 16 * c->b0 * c->b2;
            den[S][0] = d0 * d0;
            den[S][1] = -4 * (c->a1 + 4 * c->a2 + c->a1 * c->a2);
            den[S][2] = 16 * c->a2;
        }
    }
    const double g2 = s->out_target * s->out_target;
    const int bins = s->dfft.n / 2 + 1;
    for (int k = 0; k < bins; k++) {
        double ph = s->phi[k], m = g2;
        for (int i = 0; i < S; i++) {
            double a = num[i][0] + ph * (num[i][1] + ph * num[i][2]);
            double d = den[i][0] + ph * (den[i][1] + ph * den[i][2]);
            m *= (a > 0 ? a : 0) / d;
        }
        s->target[k] = s->corr[k] = (float)sqrt(m > 0 ? m : 0);
        s->dspec[k][0] = s->target[k];
    }
    lathe_fir_from_magnitude(&s->dfft, s->dspec, s->dtime, s->win, s->lin_half, s->taps);
    for (int it = 0; it < LIN_ITER; it++) {
        /* The window smooths the response (its transform is convolved with
         * the target): measure the result A on the grid and pre-compensate,
         * C' = C * T / A (a fixed-point step toward A = T, C the corrected
         * design target, first C = T), where A is close enough to T for the
         * ratio to mean something. */
        const int M = s->dfft.n, h = s->lin_half;
        memset(s->dtime, 0, sizeof(float) * (size_t)M);
        s->dtime[0] = s->taps[h];
        for (int k = 1; k <= h; k++)
            s->dtime[k] = s->dtime[M - k] = s->taps[h + k];
        lathe_fft_forward(&s->dfft, s->dtime, s->dspec);
        for (int k = 0; k < bins; k++) {
            double t = s->target[k], a = s->dspec[k][0], r = a > 0 ? t / a : 1;
            s->corr[k] = (float)(s->corr[k] * (r > 0.5 && r < 2 ? r : 1));
            s->dspec[k][0] = s->corr[k];
        }
        lathe_fir_from_magnitude(&s->dfft, s->dspec, s->dtime, s->win, s->lin_half, s->taps);
    }
}

static void lin_free(eq_state *s) {
    lathe_pconv_free(&s->conv);
    lathe_fft_destroy(&s->dfft);
    fftwf_free(s->dspec);
    fftwf_free(s->dtime);
    fftwf_free(s->win);
    fftwf_free(s->taps);
    fftwf_free(s->target);
    fftwf_free(s->corr);
    s->target = s->corr = NULL;
    fftwf_free(s->phi);
    s->dspec = NULL;
    s->dtime = s->win = s->taps = NULL;
    s->phi = NULL;
}

static lathe_status lin_init(eq_state *s, lathe_error *err) {
    double len = s->fir_length > 0 ? s->fir_length : FIR_DEFAULT;
    double x = len * s->rate / 48000.0;
    int N = 2 * (int)floor(x / 2) + 1;
    int B = 128; /* partition: about N/32, 128..4096 */
    while (B < 4096 && 2 * B <= N / 32)
        B *= 2;
    while (B > 16 && 4 * B > N) /* very low rates: keep at least half the taps */
        B /= 2;
    if (N < 4 * B) N = 4 * B + 1;
    int taps = N - 2 * B, M = 2;
    while (M < 2 * taps)
        M *= 2;
    s->lin_n = N;
    s->lin_taps = taps;
    s->lin_half = (taps - 1) / 2;
    s->dspec = fftwf_malloc(sizeof(fftwf_complex) * (size_t)(M / 2 + 1));
    s->dtime = fftwf_malloc(sizeof(float) * (size_t)M);
    s->win = fftwf_malloc(sizeof(float) * (size_t)(s->lin_half + 1));
    s->taps = fftwf_malloc(sizeof(float) * (size_t)taps);
    s->target = fftwf_malloc(sizeof(float) * (size_t)(M / 2 + 1));
    s->corr = fftwf_malloc(sizeof(float) * (size_t)(M / 2 + 1));
    s->phi = fftwf_malloc(sizeof(double) * (size_t)(M / 2 + 1));
    if (!s->dspec || !s->dtime || !s->win || !s->taps || !s->target || !s->corr || !s->phi ||
        lathe_fft_init(&s->dfft, M) || lathe_pconv_init(&s->conv, s->channels, B, taps)) {
        lin_free(s);
        lathe_error_set(err, LATHE_E_NOMEM, "eq: cannot allocate a %d-tap linear-phase FIR", N);
        return LATHE_E_NOMEM;
    }
    for (int k = 0; k <= M / 2; k++) {
        double h = sin(M_PI * k / M);
        s->phi[k] = h * h;
    }
    lathe_kaiser_half(s->win, s->lin_half, KAISER_BETA);
    lin_design(s);
    lathe_pconv_load(&s->conv, s->taps, taps, 1);
    s->lin_dirty = 0;
    return LATHE_OK;
}

static void eq_process_linear(eq_state *s, float *const *io, int frames) {
    long off = 0;
    while (off < frames) {
        if (s->conv.pos == 0 && s->lin_dirty) {
            /* a change: design the new FIR (no allocation) and crossfade to
             * it over the next output block */
            lin_design(s);
            lathe_pconv_load(&s->conv, s->taps, s->lin_taps, 0);
            s->lin_dirty = 0;
        }
        int n = lathe_pconv_room(&s->conv);
        if (n > frames - off) n = (int)(frames - off);
        lathe_pconv_run(&s->conv, io, off, n);
        off += n;
    }
}

static int eq_latency(const void *st) {
    const eq_state *s = st;
    return s->phase == PHASE_LINEAR && s->inited ? (s->lin_n - 1) / 2 : 0;
}

static void eq_fini(void *st) {
    lin_free(st);
}

static lathe_status eq_init(void *st, double rate, int channels, int max_block, lathe_error *err) {
    (void)max_block;
    eq_state *s = st;
    s->rate = rate;
    s->channels = channels;
    for (int n = 0; n <= CHUNK; n++)
        s->decay[n] = exp(-n / (SMOOTH_S * rate));
    s->out_gain = s->out_target;
    for (int i = 0; i < NBANDS; i++)
        band_start(s, &s->band[i]);
    if (s->phase == PHASE_LINEAR) {
        lathe_status r = lin_init(s, err);
        if (r != LATHE_OK) return r;
    }
    s->inited = 1;
    return LATHE_OK;
}

static void eq_reset(void *st) {
    eq_state *s = st;
    for (int i = 0; i < NBANDS; i++)
        memset(s->band[i].st, 0, sizeof s->band[i].st);
    if (s->phase == PHASE_LINEAR && s->inited) lathe_pconv_reset(&s->conv);
}

/* One-pole step toward t over a chunk; snaps when within eps. */
static double approach(double x, double t, double decay, double eps, int *moving) {
    double y = t + (x - t) * decay;
    if (fabs(y - t) < eps) return t;
    *moving = 1;
    return y;
}

static void run_static(const lathe_svf *c, lathe_svf_state *z, double *x, int n) {
    double a1 = 1.0 / (1.0 + c->g * (c->g + c->k)), a2 = c->g * a1, a3 = c->g * a2;
    double m0 = c->m0, m1 = c->m1, m2 = c->m2;
    lathe_svf_state w = *z;
    for (int i = 0; i < n; i++)
        x[i] = lathe_svf_tick(a1, a2, a3, m0, m1, m2, &w, x[i]);
    *z = w;
}

/* Two channels in one loop: the recursions are independent, so the CPU
 * overlaps them (the SVF is latency bound, not throughput bound). */
static void run_static2(const lathe_svf *c, lathe_svf_state *z0, lathe_svf_state *z1, double *x,
                        double *y, int n) {
    double a1 = 1.0 / (1.0 + c->g * (c->g + c->k)), a2 = c->g * a1, a3 = c->g * a2;
    double m0 = c->m0, m1 = c->m1, m2 = c->m2;
    lathe_svf_state w0 = *z0, w1 = *z1;
    for (int i = 0; i < n; i++) {
        x[i] = lathe_svf_tick(a1, a2, a3, m0, m1, m2, &w0, x[i]);
        y[i] = lathe_svf_tick(a1, a2, a3, m0, m1, m2, &w1, y[i]);
    }
    *z0 = w0;
    *z1 = w1;
}

typedef struct {
    double a1[CHUNK], a2[CHUNK], a3[CHUNK], m0[CHUNK], m1[CHUNK], m2[CHUNK];
} coef_ramp;

static void make_ramp(coef_ramp *r, const lathe_svf *from, const lathe_svf *to, int n) {
    for (int i = 0; i < n; i++) {
        double t = (double)(i + 1) / n;
        double g = from->g + (to->g - from->g) * t, k = from->k + (to->k - from->k) * t;
        r->a1[i] = 1.0 / (1.0 + g * (g + k));
        r->a2[i] = g * r->a1[i];
        r->a3[i] = g * r->a2[i];
        r->m0[i] = from->m0 + (to->m0 - from->m0) * t;
        r->m1[i] = from->m1 + (to->m1 - from->m1) * t;
        r->m2[i] = from->m2 + (to->m2 - from->m2) * t;
    }
}

static void run_ramp(const coef_ramp *r, lathe_svf_state *z, double *x, int n) {
    lathe_svf_state w = *z;
    for (int i = 0; i < n; i++)
        x[i] = lathe_svf_tick(r->a1[i], r->a2[i], r->a3[i], r->m0[i], r->m1[i], r->m2[i], &w, x[i]);
    *z = w;
}

/* Silence below ~-600 dB is flushed to exact zero (no denormals); a state
 * that went non-finite (non-finite input) is cleared. */
static void tidy(lathe_svf_state *z) {
    double m = fabs(z->ic1) + fabs(z->ic2);
    if (!(m > 1e-30) || !isfinite(m)) z->ic1 = z->ic2 = 0;
}

static void process_band(eq_state *s, eq_band *b, int n) {
    if (b->type != b->run_type || b->shape != b->run_shape || b->slope != b->run_slope) {
        /* Structure changed (not automatable): switch at once, keep states of
         * sections that stay in use, clear new ones. */
        int old = b->run_type == B_OFF ? 0 : b->nsec;
        if (b->run_type == B_OFF) { /* switched on: start at the set values */
            b->lf = log2(b->freq);
            b->g = b->gain;
            b->lq = log(b->q);
            b->moving = 0;
        }
        b->run_type = b->type;
        b->run_shape = b->shape;
        b->run_slope = b->slope;
        b->nsec = band_coefs(s, b, b->cur);
        for (int i = old; i < b->nsec; i++)
            memset(b->st[i], 0, sizeof b->st[i]);
    }
    if (b->run_type == B_OFF) return;
    lathe_svf next[NSEC];
    int ramp = 0;
    if (b->moving) {
        int mv = 0;
        b->lf = approach(b->lf, log2(b->freq), s->decay[n], 1e-7, &mv);
        b->g = approach(b->g, b->gain, s->decay[n], 1e-6, &mv);
        b->lq = approach(b->lq, log(b->q), s->decay[n], 1e-7, &mv);
        b->moving = mv;
        band_coefs(s, b, next);
        ramp = 1;
    }
    for (int i = 0; i < b->nsec; i++) {
        if (ramp) {
            coef_ramp r;
            make_ramp(&r, &b->cur[i], &next[i], n);
            for (int c = 0; c < s->channels; c++)
                run_ramp(&r, &b->st[i][c], s->work[c], n);
            b->cur[i] = next[i];
        } else {
            int c = 0;
            for (; c + 1 < s->channels; c += 2)
                run_static2(&b->cur[i], &b->st[i][c], &b->st[i][c + 1], s->work[c], s->work[c + 1],
                            n);
            if (c < s->channels) run_static(&b->cur[i], &b->st[i][c], s->work[c], n);
        }
        for (int c = 0; c < s->channels; c++)
            tidy(&b->st[i][c]);
    }
}

/* ---- the static fast path ----
 * When no band is moving or changing structure and the output gain is not
 * ramping, every active section of every band forms one cascade.  A section
 * is latency-bound (each sample waits for the last through five dependent
 * operations, see single2), so the cascade runs as a wavefront: in step i section k works
 * on sample i - k, and the S sections' dependency chains overlap.  Channel
 * pairs share one SIMD register.  Each lane performs exactly the operations
 * of lathe_svf_tick in the same order (2 v1 is computed as v1 + v1, which
 * is exact), so the output is bit-identical to the per-band path; a single
 * section runs in state-space form instead (single2, below), equal to it
 * within double rounding. */
typedef double v2d __attribute__((vector_size(16)));
#define SPAN 256

static int all_static(const eq_state *s) {
    if (s->out_gain != s->out_target) return 0;
    for (int k = 0; k < NBANDS; k++) {
        const eq_band *b = &s->band[k];
        if (b->type != b->run_type || b->shape != b->run_shape || b->slope != b->run_slope ||
            (b->run_type != B_OFF && b->moving))
            return 0;
    }
    return 1;
}

/* Steps i0 <= i < i1 of cascade2's wavefront when all S sections are busy
 * (section k on sample i - k), S a constant after inlining. */
static inline __attribute__((always_inline)) void
wave_full(const int S, const v2d *a1, const v2d *a2, const v2d *a3, const v2d *m0,
          const v2d *m1, const v2d *m2, v2d *i1, v2d *i2, double *x, double *y, int i0, int i1e) {
    v2d c1[4], c2[4], c3[4], d0[4], d1[4], d2[4], s1[4], s2[4];
    for (int k = 0; k < S; k++) {
        c1[k] = a1[k], c2[k] = a2[k], c3[k] = a3[k];
        d0[k] = m0[k], d1[k] = m1[k], d2[k] = m2[k];
        s1[k] = i1[k], s2[k] = i2[k];
    }
    for (int i = i0; i < i1e; i++) {
        for (int k = 0; k < S; k++) {
            const int j = i - k;
            v2d v0 = {x[j], y[j]};
            v2d v3 = v0 - s2[k];
            v2d v1 = c1[k] * s1[k] + c2[k] * v3;
            v2d v2 = s2[k] + c2[k] * s1[k] + c3[k] * v3;
            s1[k] = (v1 + v1) - s1[k];
            s2[k] = (v2 + v2) - s2[k];
            v2d o = d0[k] * v0 + d1[k] * v1 + d2[k] * v2;
            x[j] = o[0], y[j] = o[1];
        }
    }
    for (int k = 0; k < S; k++)
        i1[k] = s1[k], i2[k] = s2[k];
}

static void cascade2(eq_state *s, int c0, int c1, double *x, double *y, int n) {
    v2d a1[NBANDS * NSEC], a2[NBANDS * NSEC], a3[NBANDS * NSEC], m0[NBANDS * NSEC],
        m1[NBANDS * NSEC], m2[NBANDS * NSEC], i1[NBANDS * NSEC], i2[NBANDS * NSEC];
    lathe_svf_state *z0[NBANDS * NSEC], *z1[NBANDS * NSEC];
    int S = 0;
    for (int k = 0; k < NBANDS; k++) {
        eq_band *b = &s->band[k];
        if (b->run_type == B_OFF) continue;
        for (int q = 0; q < b->nsec; q++, S++) {
            const lathe_svf *c = &b->cur[q];
            double A1 = 1.0 / (1.0 + c->g * (c->g + c->k)), A2 = c->g * A1, A3 = c->g * A2;
            a1[S] = (v2d){A1, A1}, a2[S] = (v2d){A2, A2}, a3[S] = (v2d){A3, A3};
            m0[S] = (v2d){c->m0, c->m0}, m1[S] = (v2d){c->m1, c->m1}, m2[S] = (v2d){c->m2, c->m2};
            z0[S] = &b->st[q][c0], z1[S] = &b->st[q][c1];
            i1[S] = (v2d){z0[S]->ic1, z1[S]->ic1};
            i2[S] = (v2d){z0[S]->ic2, z1[S]->ic2};
        }
    }
    /* the wavefront fills (i < S - 1), runs full (all S sections busy), drains */
    const int full0 = S - 1, full1 = n > 0 ? n : 0;
    for (int i = 0; i < n + S - 1; i++) {
        if (i == full0 && full0 < full1 && S <= 4) {
            /* all sections busy: a loop with S fixed keeps the coefficients in
             * registers (the same operations in the same order) */
            switch (S) {
            case 1: wave_full(1, a1, a2, a3, m0, m1, m2, i1, i2, x, y, full0, full1); break;
            case 2: wave_full(2, a1, a2, a3, m0, m1, m2, i1, i2, x, y, full0, full1); break;
            case 3: wave_full(3, a1, a2, a3, m0, m1, m2, i1, i2, x, y, full0, full1); break;
            default: wave_full(4, a1, a2, a3, m0, m1, m2, i1, i2, x, y, full0, full1); break;
            }
            i = full1 - 1;
            continue;
        }
        int kmin = i - (n - 1) > 0 ? i - (n - 1) : 0, kmax = i < S - 1 ? i : S - 1;
        for (int k = kmin; k <= kmax; k++) {
            int j = i - k;
            v2d v0 = {x[j], y[j]};
            v2d v3 = v0 - i2[k];
            v2d v1 = a1[k] * i1[k] + a2[k] * v3;
            v2d v2 = i2[k] + a2[k] * i1[k] + a3[k] * v3;
            i1[k] = (v1 + v1) - i1[k];
            i2[k] = (v2 + v2) - i2[k];
            v2d o = m0[k] * v0 + m1[k] * v1 + m2[k] * v2;
            x[j] = o[0], y[j] = o[1];
        }
    }
    for (int k = 0; k < S; k++) {
        z0[k]->ic1 = i1[k][0], z0[k]->ic2 = i2[k][0];
        z1[k]->ic1 = i1[k][1], z1[k]->ic2 = i2[k][1];
        tidy(z0[k]);
        tidy(z1[k]);
    }
}

/* One section alone (the master's 20 Hz high-pass) has nothing to overlap
 * in a wavefront: the SVF's own recursion, five dependent operations a
 * sample (v3, a3 v3, the sum v2, 2 v2, minus ic2), is its whole cost.  The
 * same section is run here as the state-space update the SVF equations
 * multiply out to (with v3 = v0 - ic2, v1 = a1 ic1 + a2 v3,
 * v2 = ic2 + a2 ic1 + a3 v3):
 *   ic1' = 2 v1 - ic1 = (2 a1 - 1) ic1 - 2 a2 ic2 + 2 a2 v0
 *   ic2' = 2 v2 - ic2 = 2 a2 ic1 + (1 - 2 a3) ic2 + 2 a3 v0
 *   y    = (m0 + m1 a2 + m2 a3) v0 + (m1 a1 + m2 a2) ic1 + (m2 - m1 a2 - m2 a3) ic2
 * whose recursion is a multiply and two adds (three dependent operations).
 * The states are the SVF's (ic1, ic2), so moving to and from the per-band
 * path is seamless; the results differ from the SVF's order of operations
 * by double rounding only (about 1e-16 of the signal, far below the float
 * output's resolution). */
static void single2(const lathe_svf *q, lathe_svf_state *z0, lathe_svf_state *z1,
                    const float *x0, const float *x1, float *y0, float *y1, int n, double g) {
    const double a1 = 1.0 / (1.0 + q->g * (q->g + q->k)), a2 = q->g * a1, a3 = q->g * a2;
    const double p11 = 2 * a1 - 1, p12 = -2 * a2, p21 = 2 * a2, p22 = 1 - 2 * a3;
    const double c0 = q->m0 + q->m1 * a2 + q->m2 * a3, c1 = q->m1 * a1 + q->m2 * a2,
                 c2 = q->m2 - q->m1 * a2 - q->m2 * a3;
    const v2d A11 = {p11, p11}, A12 = {p12, p12}, A21 = {p21, p21}, A22 = {p22, p22};
    const v2d B1 = {p21, p21}, B2 = {2 * a3, 2 * a3}, C0 = {c0, c0}, C1 = {c1, c1}, C2 = {c2, c2};
    const v2d G = {g, g};
    v2d i1 = {z0->ic1, z1->ic1}, i2 = {z0->ic2, z1->ic2};
    for (int i = 0; i < n; i++) {
        const v2d v0 = {x0[i], x1[i]};
        const v2d o = (C0 * v0 + C1 * i1 + C2 * i2) * G;
        const v2d n1 = (B1 * v0 + A12 * i2) + A11 * i1;
        i2 = (B2 * v0 + A21 * i1) + A22 * i2;
        i1 = n1;
        y0[i] = (float)o[0], y1[i] = (float)o[1];
    }
    z0->ic1 = i1[0], z0->ic2 = i2[0];
    z1->ic1 = i1[1], z1->ic2 = i2[1];
    tidy(z0);
    tidy(z1);
}

static void eq_process_static(eq_state *s, float *const *io, int frames) {
    double x[SPAN], y[SPAN];
    const double g = s->out_gain;
    const lathe_svf *one = NULL; /* the only active section, if there is one */
    int nsec = 0, bandk = 0;
    for (int k = 0; k < NBANDS; k++)
        if (s->band[k].run_type != B_OFF) nsec += s->band[k].nsec, bandk = k;
    if (nsec == 1) one = &s->band[bandk].cur[0];
    for (int off = 0; off < frames; off += SPAN) {
        int n = frames - off < SPAN ? frames - off : SPAN;
        for (int c = 0; c < s->channels; c += 2) {
            int c1 = c + 1 < s->channels ? c + 1 : c; /* mono: the second lane is a copy */
            if (one) {
                lathe_svf_state *st = s->band[bandk].st[0];
                single2(one, &st[c], &st[c1], io[c] + off, io[c1] + off, io[c] + off,
                        io[c1] + off, n, g);
                continue;
            }
            for (int i = 0; i < n; i++)
                x[i] = io[c][off + i], y[i] = io[c1][off + i];
            /* a lone channel runs in both lanes from the same state: both lanes
             * compute the same values, so the state is written back once in effect */
            cascade2(s, c, c1, x, y, n);
            for (int i = 0; i < n; i++)
                io[c][off + i] = (float)(x[i] * g);
            if (c1 != c)
                for (int i = 0; i < n; i++)
                    io[c1][off + i] = (float)(y[i] * g);
        }
    }
}

static void eq_process(void *st, float *const *io, const float *const *key, int frames) {
    (void)key;
    eq_state *s = st;
    if (s->phase == PHASE_LINEAR) {
        eq_process_linear(s, io, frames);
        return;
    }
    if (all_static(s)) {
        eq_process_static(s, io, frames);
        return;
    }
    for (int off = 0; off < frames; off += CHUNK) {
        int n = frames - off < CHUNK ? frames - off : CHUNK;
        for (int c = 0; c < s->channels; c++)
            for (int i = 0; i < n; i++)
                s->work[c][i] = io[c][off + i];
        for (int k = 0; k < NBANDS; k++)
            if (s->band[k].type != B_OFF || s->band[k].run_type != B_OFF)
                process_band(s, &s->band[k], n);
        double g0 = s->out_gain, g1 = g0;
        if (g0 != s->out_target) {
            int mv = 0;
            g1 = approach(g0, s->out_target, s->decay[n], 1e-9, &mv);
        }
        s->out_gain = g1;
        for (int c = 0; c < s->channels; c++) {
            if (g0 == g1) {
                for (int i = 0; i < n; i++)
                    io[c][off + i] = (float)(s->work[c][i] * g1);
            } else {
                double dg = (g1 - g0) / n;
                for (int i = 0; i < n; i++)
                    io[c][off + i] = (float)(s->work[c][i] * (g0 + dg * (i + 1)));
            }
        }
    }
}

const lathe_proc_desc lathe_proc_eq = {
    .name = "eq",
    .doc = "Parametric equaliser with up to 16 bands (bell, low/high shelf, high/low-pass "
           "6-48 dB/oct in Butterworth or Linkwitz-Riley alignment, notch, band-pass, tilt) "
           "and an output gain. Bells, shelves, tilt and Butterworth passes are matched to "
           "their analog prototypes up to Nyquist (M. Vicanek, \"Matched Second Order Digital "
           "Filters\", 2016: impulse-invariant poles, magnitude fitted at DC, f0 and Nyquist), "
           "so high bands are not cramped; cuts are the exact inverse of boosts. Q and shelf "
           "definitions follow the RBJ Audio EQ Cookbook (shelves reach half their gain at "
           "freq). Linkwitz-Riley passes use the bilinear transform so that low-pass plus "
           "high-pass is an exact all-pass. Sections run as trapezoidal state-variable "
           "filters (A. Simper, \"Linear Trap Optimised SVF\") with per-sample coefficient "
           "interpolation; freq, gain and q are smoothed over ~20 ms, so automation does not "
           "click. Bands of type off cost nothing. No latency. With phase = linear the same "
           "bands run as one linear-phase FIR instead: the exact magnitude response of the "
           "sections above (and the output gain) is sampled on a dense grid, its zero-phase "
           "impulse response cut to fir_length taps with a Kaiser window (the window method, "
           "Oppenheim & Schafer, \"Discrete-Time Signal Processing\", 7.5-7.6; J. F. Kaiser 1974), "
           "with two fixed-point steps that pre-compensate the window's smoothing of the "
           "response, and applied by uniformly partitioned FFT convolution (overlap-save with a "
           "frequency-domain delay line, F. Wefers 2015); the magnitude matches the minimum-phase "
           "eq within 0.01 dB from 30 Hz up at the default length, and latency() reports "
           "(fir_length - 1) / 2 frames. Every parameter change costs a redesign of the whole FIR "
           "(a few milliseconds of CPU at the next partition, no allocation) and crossfades "
           "to it over one partition, so automation does not click; automate sparingly.",
    .params = eq_params,
    .nparams = (int)(sizeof eq_params / sizeof eq_params[0]),
    .state_size = sizeof(eq_state),
    .init = eq_init,
    .set = eq_set,
    .process = eq_process,
    .latency = eq_latency,
    .reset = eq_reset,
    .fini = eq_fini,
};
