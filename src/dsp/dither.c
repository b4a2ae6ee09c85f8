/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/dither.c: word-length reduction with dither and noise shaping, the
 * last stage before an integer file.
 *
 * Every output sample is k / 2^(bits-1) for an integer k in
 * [-2^(bits-1), 2^(bits-1) - 1], so lathe's writer (x * 2^(bits-1), rounded
 * and clipped) stores it unchanged.  Working in LSB units (v = x 2^(bits-1)):
 *
 *     w[n] = v[n] - sum_k h_k e[n-k]          error feedback (k = 1..N)
 *     q[n] = clip(round(w[n] + d[n]))          d: TPDF dither, +-1 LSB peak
 *     e[n] = q[n] - w[n]                       total error of the quantiser
 *
 * so q[n] = v[n] + e[n] - sum_k h_k e[n-k]: the total error e (quantisation
 * plus dither) reaches the output through the noise transfer function
 * NTF(z) = 1 - sum_k h_k z^-k.
 *
 * The dither d = u1 - u2 is the difference of two independent uniform
 * variables in [0, 1) (triangular PDF, 2 LSB peak to peak).  Vanderkooy &
 * Lipshitz, "Resolution below the least significant bit in digital systems
 * with dither", JAES 32(3), 1984, and Wannamaker, Lipshitz & Vanderkooy, "A
 * theory of non-subtractive dither", IEEE Trans. SP 48(2), 2000: with TPDF
 * dither of 2 LSB peak to peak, the first and second moments of the total
 * error are independent of the signal (no distortion, no noise modulation)
 * and its power is LSB^2/12 + LSB^2/6 = LSB^2/4.  The same holds for the
 * total error e inside an error-feedback loop, so the output noise is white
 * noise of power LSB^2/4 shaped by |NTF|^2.
 *
 * Shapes:
 *   tpdf       N = 0: flat, |e| < 1.5 LSB.
 *   highpass   N = 1, h = {1}: NTF = 1 - z^-1, |NTF| = 2 sin(pi f / fs),
 *              noise rising 6 dB/oct (-11 dB at 2 kHz, +6 dB at fs/2).
 *   fweighted  N = 9, the F-weighted filter of Wannamaker,
 *              "Psychoacoustically optimal noise shaping", JAES 40(7/8),
 *              1992 (9-coefficient design for 44.1 kHz).  At 44.1 kHz the
 *              NTF is -12 dB at low frequencies, -25 dB at its deepest near
 *              3.2 kHz (where hearing is most sensitive), -6 dB near
 *              12.5 kHz, crosses 0 dB near 14.4 kHz and rises to +27 dB at
 *              22 kHz; total noise power is +18.4 dB over flat TPDF,
 *              perceived loudness much lower.  The coefficients are fixed,
 *              so at other rates every feature moves with fs / 44.1 kHz: at
 *              48 kHz by +9 % (dip near 3.4 kHz, crossing near 15.7 kHz:
 *              still appropriate); at 96 kHz the dip is near 7 kHz and the
 *              rise starts at 31 kHz (inaudible; noise below 5 kHz still
 *              12-17 dB under flat TPDF); at 32 kHz the rise starts at
 *              10.5 kHz, audibly, and the shape is no longer a good choice.
 *
 * Stability: the feedback is an FIR on past errors.  Without overload
 * |e| < 1.5 LSB (|d| < 1, rounding <= 0.5); when the output clips, e would
 * grow with the overload, so the fed-back error is bounded to +-1.5 LSB,
 * which keeps sum |h_k e| below 32 LSB whatever the input.  Non-finite input
 * is replaced (NaN by 0, +-inf by +-2 full scale) before anything else, so
 * NaN never enters the state or the output.
 *
 * mute_silence: after MUTE_S of exact zeros on a channel its output is
 * exact zero (and its error history is cleared), until the next non-zero
 * input sample, which is dithered as usual.  A stream that starts with
 * zeros is silent from its first sample.
 *
 * Noise: one xorshift64* generator per channel (Marsaglia, "Xorshift RNGs",
 * J. Stat. Softw. 8(14), 2003; the multiplied output of Vigna, "An
 * experimental exploration of Marsaglia's xorshift generators, scrambled",
 * ACM TOMS 42(4), 2016), seeded per channel by splitmix64 from a fixed
 * constant: deterministic, restarted by reset(), independent across
 * channels.  Each 64-bit output gives both uniforms (its two halves). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "lathe/proc.h"
#include "util/simd.h"

#define DI_MAXCH 8
#define DI_MAXTAPS 9
#define DI_MUTE_S 0.001 /* zeros before the output mutes */
#define DI_E_BOUND 1.5  /* bound on the fed-back error, LSB */
#define DI_SEED 0x6c61746865646974ULL
/* Adding and subtracting 1.5 * 2^52 rounds a double to the nearest integer
 * (ties to even) in the default rounding mode, exactly for |x| < 2^51. */
#define DI_ROUND_MAGIC 6755399441055744.0

enum { SHAPE_TPDF, SHAPE_HIGHPASS, SHAPE_FWEIGHTED };
enum { P_BITS, P_SHAPE, P_MUTE, P_COUNT };

static const char *const shape_names[] = {"tpdf", "highpass", "fweighted", NULL};

/* Wannamaker 1992, 9-coefficient F-weighted error-feedback filter h_1..h_9
 * (NTF = 1 - sum h_k z^-k), designed for 44.1 kHz. */
static const double fweighted_h[DI_MAXTAPS] = {2.412,  -3.370, 3.937,  -4.174, 3.353,
                                               -2.205, 1.281,  -0.569, 0.0847};
static const double highpass_h[1] = {1.0};

static const lathe_param_desc dither_params[P_COUNT] = {
    {"bits", "",
     "output word length, rounded to a whole number: every output sample is k / 2^(bits-1) "
     "for an integer k in [-2^(bits-1), 2^(bits-1) - 1] (clipped there), so a writer with the "
     "same word length stores it unchanged (16 for CD, 24 for masters); fixed at init",
     8, 24, 16, LATHE_PARAM_NUMBER, NULL, 0},
    {"shape", "",
     "spectrum of the added noise. tpdf: flat triangular-PDF dither of +-1 LSB peak, total "
     "error power LSB^2/4 (0.5 LSB RMS: -96.3 dBFS at 16 bits), independent of the signal. "
     "highpass: the same dither with first-order error feedback, noise rising 6 dB/oct "
     "(-11 dB at 2 kHz, +6 dB at Nyquist). fweighted: Wannamaker's 9-tap F-weighted noise "
     "shaping (JAES 1992) for 44.1 kHz: 12 dB less noise at low frequencies and up to 25 dB "
     "less near 3.2 kHz, more above 14.4 kHz (+27 dB at 22 kHz). The coefficients are "
     "fixed, so at other rates the curve scales with rate / 44.1 kHz: fine at 48 kHz; at "
     "88.2/96 kHz the dip moves to about 7 kHz and the rise above 29/31 kHz; not advised "
     "below 44.1 kHz (at 32 kHz the rise starts at 10.5 kHz); fixed at init",
     0, 2, SHAPE_TPDF, LATHE_PARAM_CHOICE, shape_names, 0},
    {"mute_silence", "",
     "keep digital silence silent: after 1 ms of exact zeros on a channel its output is exact "
     "zero (no dither noise in gaps between songs or at the start); the first non-zero "
     "sample is dithered again at once",
     0, 1, 1, LATHE_PARAM_BOOL, NULL, 0},
};

typedef struct {
    uint64_t rng;
    double hist[DI_MAXTAPS]; /* e[n-1], e[n-2], ... (LSB) */
    long zeros;              /* consecutive zero inputs, up to mute_len */
    int muted;
} dither_chan;

typedef struct {
    /* params (set() only stores) */
    int bits, shape, mute;
    /* from init */
    int channels, ntaps;
    long mute_len;
    double scale, inv_scale, qmin, qmax, vlim;
    const double *h;
    dither_chan ch[DI_MAXCH];
} dither_state;

/* splitmix64 (Steele, Lea & Flood, OOPSLA 2014): spreads a seed. */
static uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* xorshift64* (shifts 12, 25, 27; multiplier from Vigna 2016). */
static inline uint64_t xorshift64s(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dULL;
}

static void restart(dither_state *s) {
    for (int c = 0; c < DI_MAXCH; c++) {
        dither_chan *ch = &s->ch[c];
        uint64_t seed = splitmix64(DI_SEED + (uint64_t)c * 0x9e3779b97f4a7c15ULL);
        ch->rng = seed ? seed : 1;
        memset(ch->hist, 0, sizeof ch->hist);
        ch->zeros = s->mute_len; /* the stream starts in silence */
        ch->muted = 1;
    }
}

static void dither_set(void *st, int i, double v) {
    dither_state *s = st;
    if (i == P_BITS)
        s->bits = (int)lrint(v);
    else if (i == P_SHAPE)
        s->shape = (int)lrint(v);
    else if (i == P_MUTE)
        s->mute = v != 0;
}

static lathe_status dither_init(void *st, double rate, int channels, int max_block,
                                lathe_error *err) {
    (void)max_block;
    (void)err;
    dither_state *s = st;
    if (s->bits < 8) s->bits = 8;
    if (s->bits > 24) s->bits = 24;
    s->channels = channels;
    s->scale = ldexp(1.0, s->bits - 1);
    s->inv_scale = 1.0 / s->scale; /* a power of two: q * inv_scale is exact */
    s->qmin = -s->scale;
    s->qmax = s->scale - 1.0;
    s->vlim = 2.0 * s->scale;
    switch (s->shape) {
    case SHAPE_HIGHPASS:
        s->h = highpass_h, s->ntaps = 1;
        break;
    case SHAPE_FWEIGHTED:
        s->h = fweighted_h, s->ntaps = DI_MAXTAPS;
        break;
    default:
        s->h = NULL, s->ntaps = 0;
        break;
    }
    s->mute_len = lrint(DI_MUTE_S * rate);
    if (s->mute_len < 1) s->mute_len = 1;
    restart(s);
    return LATHE_OK;
}

/* One channel; `ntaps` is a constant at each call site so the feedback loop
 * is unrolled per shape. */
static inline void run_channel(const dither_state *s, dither_chan *ch, float *x, int frames,
                               int ntaps) {
    const double *h = s->h;
    const double scale = s->scale, inv = s->inv_scale, qmin = s->qmin, qmax = s->qmax,
                 vlim = s->vlim;
    const long mute_len = s->mute_len;
    const int mute = s->mute;
    double hist[DI_MAXTAPS];
    for (int k = 0; k < ntaps; k++)
        hist[k] = ch->hist[k];
    uint64_t rng = ch->rng;
    long zeros = ch->zeros;
    int muted = ch->muted;
    for (int i = 0; i < frames; i++) {
        const float in = x[i];
        if (mute) {
            if (in == 0.0f) {
                if (zeros >= mute_len) {
                    if (!muted) {
                        for (int k = 0; k < ntaps; k++)
                            hist[k] = 0.0;
                        muted = 1;
                    }
                    x[i] = 0.0f;
                    continue;
                }
                zeros++;
            } else {
                zeros = 0;
                muted = 0;
            }
        }
        double v = (double)in * scale;
        if (!(fabs(v) <= vlim)) v = v > 0 ? vlim : v < 0 ? -vlim : 0.0; /* NaN -> 0 */
        double fb = 0.0;
        for (int k = 0; k < ntaps; k++)
            fb += h[k] * hist[k];
        const double w = v - fb;
        const uint64_t r = xorshift64s(&rng);
        /* TPDF: difference of two uniforms in [0, 1), 32 bits each */
        const double d = ((double)(r >> 32) - (double)(r & 0xffffffffULL)) * (1.0 / 4294967296.0);
        double q = (w + d + DI_ROUND_MAGIC) - DI_ROUND_MAGIC;
        q = q < qmin ? qmin : q > qmax ? qmax : q;
        if (ntaps > 0) {
            double e = q - w;
            e = e < -DI_E_BOUND ? -DI_E_BOUND : e > DI_E_BOUND ? DI_E_BOUND : e;
            for (int k = ntaps - 1; k > 0; k--)
                hist[k] = hist[k - 1];
            hist[0] = e;
        }
        x[i] = (float)(q * inv);
    }
    for (int k = 0; k < ntaps; k++)
        ch->hist[k] = hist[k];
    ch->rng = rng;
    ch->zeros = zeros;
    ch->muted = muted;
}

/* ---- flat TPDF without feedback: the random numbers apart from the rest ----
 * Each channel's generator is a recursion (each output waits for the one
 * before through six shifts and xors) and was the whole cost of a sample.
 * For tpdf (no error feedback) the dither values of a stretch are drawn
 * first, two channels' generators side by side so that their recursions
 * overlap, and the quantiser then runs as a loop without any recursion,
 * which vectorises.  Every sample gets the same dither value and the same
 * operations as in run_channel, so the bytes are the same.  Muting makes the
 * generator skip samples; stretches of a channel that hold an exact zero
 * (with mute_silence on) therefore take run_channel. */
#define DI_SPAN 256

/* The TPDF value of one generator output: the difference of two uniforms in
 * [0, 1), 32 bits each, as in run_channel.  The two halves are subtracted as
 * integers and converted once: both halves and their difference are exact
 * in a double, so this is the same value with one conversion fewer. */
static inline double tpdf_of(uint64_t r) {
    return (double)((int64_t)(r >> 32) - (int64_t)(r & 0xffffffffULL)) * (1.0 / 4294967296.0);
}

/* On x86-64 the quantiser also gets an AVX2 copy, picked at load time (as
 * analysis/truepeak.c): twice the vector width, the same operations (no FMA:
 * contraction is off), so the same bytes. */

/* run_channel's arithmetic for ntaps = 0 on n samples with their dither d:
 * scale, bound (NaN to 0), add dither, round, clip, back to float. */
LATHE_AVX2_CLONES static void
quantise(const dither_state *s, float *restrict x, const double *restrict d, int n) {
    const double scale = s->scale, inv = s->inv_scale, qmin = s->qmin, qmax = s->qmax,
                 vlim = s->vlim;
    for (int i = 0; i < n; i++) {
        double v = (double)x[i] * scale;
        const double bound = v > 0 ? vlim : v < 0 ? -vlim : 0.0;
        v = fabs(v) <= vlim ? v : bound;
        const double w = v - 0.0;
        double q = (w + d[i] + DI_ROUND_MAGIC) - DI_ROUND_MAGIC;
        q = q < qmin ? qmin : q > qmax ? qmax : q;
        x[i] = (float)(q * inv);
    }
}

/* Whether x[0..n) holds an exact zero (where muting may begin). */
static int has_zero(const float *x, int n) {
    int z = 0;
    for (int i = 0; i < n; i++)
        z |= x[i] == 0.0f;
    return z;
}

static void tpdf_process(dither_state *s, float *const *io, int frames) {
    double d0[DI_SPAN], d1[DI_SPAN];
    for (int off = 0; off < frames; off += DI_SPAN) {
        const int n = frames - off < DI_SPAN ? frames - off : DI_SPAN;
        int c = 0;
        while (c < s->channels) {
            float *x0 = io[c] + off;
            if (s->mute && has_zero(x0, n)) {
                run_channel(s, &s->ch[c], x0, n, 0);
                c++;
                continue;
            }
            dither_chan *a = &s->ch[c];
            float *x1 = c + 1 < s->channels ? io[c + 1] + off : NULL;
            if (x1 && !(s->mute && has_zero(x1, n))) {
                dither_chan *b = &s->ch[c + 1];
                uint64_t ra = a->rng, rb = b->rng;
                for (int i = 0; i < n; i++) {
                    d0[i] = tpdf_of(xorshift64s(&ra));
                    d1[i] = tpdf_of(xorshift64s(&rb));
                }
                a->rng = ra, b->rng = rb;
                quantise(s, x0, d0, n);
                quantise(s, x1, d1, n);
                if (s->mute) a->zeros = b->zeros = 0, a->muted = b->muted = 0;
                c += 2;
            } else {
                uint64_t ra = a->rng;
                for (int i = 0; i < n; i++)
                    d0[i] = tpdf_of(xorshift64s(&ra));
                a->rng = ra;
                quantise(s, x0, d0, n);
                if (s->mute) a->zeros = 0, a->muted = 0;
                c++;
            }
        }
    }
}

static void dither_process(void *st, float *const *io, const float *const *key, int frames) {
    (void)key;
    dither_state *s = st;
    if (s->ntaps == 0) {
        tpdf_process(s, io, frames);
        return;
    }
    for (int c = 0; c < s->channels; c++) {
        if (s->ntaps == 1)
            run_channel(s, &s->ch[c], io[c], frames, 1);
        else
            run_channel(s, &s->ch[c], io[c], frames, DI_MAXTAPS);
    }
}

static void dither_reset(void *st) {
    restart(st);
}

const lathe_proc_desc lathe_proc_dither = {
    .name = "dither",
    .doc = "Word-length reduction for the final file: adds triangular-PDF dither of +-1 LSB peak "
           "(Vanderkooy & Lipshitz, JAES 1984; Wannamaker, Lipshitz & Vanderkooy, IEEE Trans. "
           "SP 2000), so the error is signal-independent noise of power LSB^2/4 instead of "
           "distortion, and rounds every sample onto the `bits` grid (k / 2^(bits-1), clipped), "
           "which the writer then stores bit for bit. Optional error-feedback noise shaping: "
           "first-order highpass, or Wannamaker's 9-tap F-weighted filter (\"Psychoacoustically "
           "optimal noise shaping\", JAES 40(7/8), 1992), designed for 44.1 kHz; its curve "
           "scales with rate / 44.1 kHz at other rates (see `shape`). The fed-back error is "
           "bounded, so overload cannot destabilise the loop. Digital silence stays exact "
           "silence after 1 ms (`mute_silence`). Noise comes from a fixed-seed xorshift64* "
           "generator per channel: runs are repeatable, reset() restarts it, channels are "
           "uncorrelated. Put it last in the chain. No latency.",
    .params = dither_params,
    .nparams = P_COUNT,
    .state_size = sizeof(dither_state),
    .init = dither_init,
    .set = dither_set,
    .set_string = NULL,
    .process = dither_process,
    .latency = NULL,
    .reset = dither_reset,
    .fini = NULL,
    .reduction_db = NULL,
    .tail_s = NULL,
};
