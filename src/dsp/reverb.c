/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/reverb.c: the `reverb` processor, an algorithmic reverb built on a
 * feedback delay network (FDN).
 *
 * J.-M. Jot & A. Chaigne, "Digital delay networks for designing artificial
 * reverberators", AES 90th Convention, 1991 (preprint 3030):
 *   - 16 delay lines of mutually prime lengths (distinct primes) spread
 *     between ~21 and ~77 ms, scaled by `size`;
 *   - a lossless feedback matrix: the 16x16 Hadamard matrix / 4 (orthogonal),
 *     applied as a fast Walsh-Hadamard transform (64 additions);
 *   - per-line absorption gains g_i = 10^(-3 d_i / (rate * RT60)), so every
 *     loop loses 60 dB in RT60 seconds whatever its length, and the network
 *     decays at exactly that rate;
 *   - per-line absorbent filters h_i(z) = g_i (1 - b_i) / (1 - b_i z^-1)
 *     (Jot & Chaigne's first-order absorbent filter) whose Nyquist gain is
 *     g_i^(1/alpha), alpha = RT60(Nyquist) / RT60(DC), so high frequencies
 *     die away alpha times faster (b_i solved exactly; see compute_gains).
 * The input (mono sum of the channels) passes a pre-delay, an optional
 * low cut and four Schroeder all-passes for diffusion (M. R. Schroeder,
 * "Natural sounding artificial reverberation", JAES 10(3), 1962), then
 * enters every line with a fixed sign pattern.  Output channel k taps the
 * lines with row k+1 of the Hadamard matrix: these rows are orthogonal, so
 * the channels' impulse responses are decorrelated.  No modulation: the
 * output is a deterministic function of the input.
 *
 * Speed: the network runs in blocks of up to BLK frames.  Every line is
 * longer than a block, so a block's line outputs were all written before it
 * starts; each stage (diffusers, mixing matrix, output taps, write-back) is
 * then a loop over the frames of the block that the compiler vectorises,
 * and only the one-pole filters recur from frame to frame (16 lines side by
 * side).  Every sample is computed with the same operations in the same
 * order as a frame-by-frame loop, so the output does not depend on the block
 * size. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/biquad.h"
#include "lathe/proc.h"
#include "util/simd.h"

enum { P_PREDELAY, P_SIZE, P_DECAY, P_DAMPING, P_WIDTH, P_LOW_CUT, P_MIX, P_COUNT };

static const lathe_param_desc params[P_COUNT] = {
    {"predelay", "ms",
     "delay before the reverberation starts (separates the source from the room). Set "
     "before the start; not automatable",
     0, 500, 10, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_LOG},
    {"size", "%",
     "room size: scales the 16 delay-line lengths from 0.35x (0 %) to 1.65x (100 %) of "
     "21-77 ms, i.e. the echo density and the spacing of the early build-up. It does not "
     "change the decay time. Set before the start; not automatable",
     0, 100, 50, LATHE_PARAM_NUMBER, NULL, 0},
    {"decay", "s",
     "reverberation time RT60 at low and mid frequencies: the time for the reverb to "
     "fall by 60 dB (exact at DC; with damping on, slightly shorter towards the highs)",
     0.1, 20, 1.8, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE | LATHE_PARAM_LOG},
    {"damping", "%",
     "high-frequency absorption: RT60 at Nyquist is (1 - 0.9*damping/100) times `decay` "
     "(0 % = the same decay at all frequencies, 100 % = highs decay 10x faster); Jot's "
     "first-order absorbent filter in each line",
     0, 100, 40, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE},
    {"width", "%",
     "stereo width of the wet signal: 0 % = mono (every channel gets the mean), 100 % = "
     "fully decorrelated channels",
     0, 100, 100, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE},
    {"low_cut", "Hz",
     "high-pass (2nd-order Butterworth) on the reverb input, to keep the wet signal from "
     "muddying the low end. 0 = off. Set before the start",
     0, 1000, 0, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_LOG},
    {"mix", "%",
     "wet/dry balance: out = (1 - mix) * dry + mix * wet, where wet is the reverberation "
     "alone. Default 30 % for an insert; use 100 % on a send. 0 % returns the input "
     "exactly",
     0, 100, 30, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE},
};

#define N 16
#define MAXCH 8
#define NAP 4
#define SMOOTH_MS 20.0
#define FLOOR 1e-18 /* -360 dB: smaller values are flushed to zero (no denormals) */
/* Frames per inner block.  The network runs block-wise: every line and
 * diffuser is at least `blk` frames long, so a whole block of line outputs
 * was written before the block starts and each stage is a loop over frames
 * (or, for the one-pole filters, over 16 independent lines) that the
 * compiler vectorises.  The arithmetic of every sample is the same as that
 * of a sample-by-sample loop, in the same order. */
#define BLK 64
/* On x86-64 the block loops also get an AVX2 copy, picked at load time (as
 * in analysis/truepeak.c): twice the vector width, the same operations (no
 * FMA: AVX2 does not imply it, and contraction is off), so the same bytes. */

/* Line lengths at size 1.0x (ms): irregular spacing, ratio ~3.6 overall. */
static const double base_ms[N] = {21.3, 23.9, 26.7, 29.9, 32.3, 35.8, 38.9, 42.7,
                                  45.1, 49.3, 53.7, 57.1, 61.9, 66.3, 71.1, 77.3};
/* Input diffusers (ms) and their gain. */
static const double ap_ms[NAP] = {4.77, 3.59, 12.73, 9.30};
#define AP_G 0.6
/* Input sign pattern (fixed, not a Hadamard row, so every line is excited). */
static const double in_sign[N] = {1, -1, 1, 1, -1, 1, -1, -1, 1, 1, -1, 1, 1, -1, -1, 1};
/* Wet output gain: about unity energy gain for a 1.8 s decay at size 50 %. */
#define OUT_GAIN 0.25

typedef struct {
    double p[P_COUNT];
    double rate;
    int ch, inited, blk;
    /* delay lines (one allocation) */
    float *mem;
    size_t mem_len;
    float *line[N];
    int len[N], pos[N];
    double g[N], b[N], a[N], z[N]; /* absorption gain, filter pole, g (1 - b), filter state */
    /* pre-delay and diffusers */
    float *pre;
    int pre_mask, pre_pos, pre_d;
    float *ap[NAP];
    int ap_len[NAP], ap_pos[NAP];
    lathe_bq c_lc;
    lathe_bq_state s_lc;
    int lc_on;
    /* smoothed params */
    double decay, damping; /* values the gains were computed for */
    double mix, mix_t, width, width_t, k_smooth;
    /* block scratch: diffused input, all-pass taps and states, line outputs
     * (filtered, then mixed), output taps, and the per-frame mean, mix, width */
    double xb[BLK], db[BLK], vb[BLK], zb[N][BLK];
    double yb[MAXCH][BLK], mean[BLK], mixb[BLK], widthb[BLK];
} reverb_state;

static int is_prime(int n)
{
    if (n < 2) return 0;
    for (int k = 2; (long)k * k <= n; k++)
        if (n % k == 0) return 0;
    return 1;
}

/* Jot & Chaigne 1991: absorption gain and first-order absorbent filter. */
static void compute_gains(reverb_state *s)
{
    double alpha = 1.0 - 0.9 * s->damping / 100.0;
    for (int i = 0; i < N; i++) {
        double lg = -3.0 * (double)s->len[i] / (s->rate * s->decay); /* log10 g_i */
        s->g[i] = pow(10.0, lg);
        /* Jot's b_i = ln(10)/4 log10(g_i) (1 - 1/alpha^2) is the small-b
         * approximation of the exact condition used here: DC gain g_i, Nyquist
         * gain g_i^(1/alpha), i.e. (1-b)/(1+b) = r = 10^(lg (1/alpha - 1)).
         * b stays in [0, 1) for every setting (the approximation does not). */
        double r = pow(10.0, lg * (1.0 / alpha - 1.0));
        s->b[i] = (1.0 - r) / (1.0 + r);
        s->a[i] = s->g[i] * (1.0 - s->b[i]);
    }
}

static void reverb_set(void *st, int param, double v)
{
    reverb_state *s = st;
    if (param < 0 || param >= P_COUNT) return;
    s->p[param] = v;
    if (!s->inited) return;
    if (param == P_MIX) s->mix_t = v / 100.0;
    if (param == P_WIDTH) s->width_t = v / 100.0;
}

static lathe_status reverb_init(void *st, double rate, int channels, int max_block,
                                lathe_error *err)
{
    reverb_state *s = st;
    (void)max_block;
    s->rate = rate;
    s->ch = channels;
    /* line lengths: distinct primes, hence mutually prime */
    double scale = 0.35 + 1.3 * s->p[P_SIZE] / 100.0;
    size_t total = 0;
    s->blk = BLK;
    for (int i = 0; i < N; i++) {
        int d = (int)lround(base_ms[i] * scale * rate / 1000.0);
        if (d < 2) d = 2;
        for (;; d++) {
            int used = 0;
            for (int j = 0; j < i; j++) used |= s->len[j] == d;
            if (!used && is_prime(d)) break;
        }
        s->len[i] = d;
        if (d < s->blk) s->blk = d;
        total += (size_t)d;
    }
    /* the pre-delay ring holds the longest delay plus one block, so a block
     * is written before it is read */
    int pre_need = (int)ceil(params[P_PREDELAY].max * rate / 1000.0) + 1 + BLK, pl = 1;
    while (pl < pre_need) pl <<= 1;
    s->pre_mask = pl - 1;
    s->pre_d = (int)lround(s->p[P_PREDELAY] * rate / 1000.0);
    total += (size_t)pl;
    for (int k = 0; k < NAP; k++) {
        s->ap_len[k] = (int)lround(ap_ms[k] * rate / 1000.0);
        if (s->ap_len[k] < 1) s->ap_len[k] = 1;
        if (s->ap_len[k] < s->blk) s->blk = s->ap_len[k];
        total += (size_t)s->ap_len[k];
    }
    s->mem = calloc(total, sizeof(float));
    if (!s->mem) return lathe_error_set(err, LATHE_E_NOMEM, "reverb: out of memory");
    s->mem_len = total;
    float *m = s->mem;
    for (int i = 0; i < N; i++) s->line[i] = m, m += s->len[i];
    s->pre = m, m += pl;
    for (int k = 0; k < NAP; k++) s->ap[k] = m, m += s->ap_len[k];

    s->lc_on = s->p[P_LOW_CUT] > 0.0;
    if (s->lc_on)
        lathe_bq_design(&s->c_lc, LATHE_BQ_HIGHPASS, rate, fmin(s->p[P_LOW_CUT], 0.45 * rate),
                        M_SQRT1_2, 0);
    s->decay = s->p[P_DECAY];
    s->damping = s->p[P_DAMPING];
    compute_gains(s);
    s->mix = s->mix_t = s->p[P_MIX] / 100.0;
    s->width = s->width_t = s->p[P_WIDTH] / 100.0;
    s->k_smooth = 1.0 - exp(-1.0 / (SMOOTH_MS * 1e-3 * rate));
    s->inited = 1;
    return LATHE_OK;
}

static inline double flush(double v)
{
    return fabs(v) < FLOOR ? 0.0 : v;
}

/* The network's input, kept finite and bounded: NaN and inf -> 0 (a bad
 * sample leaves no trace in the state), |x| <= 1e9.  From there every
 * value inside the network stays far from the float range.  Written as
 * selects, so the loop vectorises. */
static inline double guard(double x)
{
    x = x - x == 0.0 ? x : 0.0;
    x = x < 1e9 ? x : 1e9;
    return x > -1e9 ? x : -1e9;
}

/* Input of one block: mono sum -> pre-delay -> low cut -> diffusers, into
 * s->xb[0..nb). */
LATHE_AVX2_CLONES static void
input_block(reverb_state *s, float *const *io, int off, int nb)
{
    const int ch = s->ch;
    const double inv_ch = 1.0 / ch;
    double *restrict x = s->xb;
    for (int n = 0; n < nb; n++) x[n] = 0.0 + io[0][off + n]; /* 0 + (-0) = +0 */
    for (int c = 1; c < ch; c++) {
        const float *restrict in = io[c] + off;
        for (int n = 0; n < nb; n++) x[n] += in[n];
    }
    for (int n = 0; n < nb; n++) x[n] *= inv_ch;
    for (int n = 0; n < nb; n++) x[n] = guard(x[n]);
    /* pre-delay: the ring has room for a whole block beyond the longest delay */
    const int pl = s->pre_mask + 1, wp = s->pre_pos, rd = (wp - s->pre_d) & s->pre_mask;
    const int wrun = pl - wp < nb ? pl - wp : nb, rrun = pl - rd < nb ? pl - rd : nb;
    for (int n = 0; n < wrun; n++) s->pre[wp + n] = (float)x[n];
    for (int n = wrun; n < nb; n++) s->pre[n - wrun] = (float)x[n];
    for (int n = 0; n < rrun; n++) x[n] = s->pre[rd + n];
    for (int n = rrun; n < nb; n++) x[n] = s->pre[n - rrun];
    s->pre_pos = (wp + nb) & s->pre_mask;
    if (s->lc_on)
        for (int n = 0; n < nb; n++) {
            x[n] = lathe_bq_tick(&s->c_lc, &s->s_lc, x[n]);
            s->s_lc.s1 = flush(s->s_lc.s1);
            s->s_lc.s2 = flush(s->s_lc.s2);
        }
    /* Schroeder all-passes: v[n] = x + g v[n-M], y = -g v[n] + v[n-M].  A block
     * is no longer than M, so v[n-M] is all in the ring: two straight runs. */
    for (int k = 0; k < NAP; k++) {
        float *restrict r = s->ap[k];
        int p = s->ap_pos[k], done = 0;
        while (done < nb) {
            int run = s->ap_len[k] - p < nb - done ? s->ap_len[k] - p : nb - done;
            float *restrict rp = r + p;
            double *restrict xp = x + done;
            /* separate loops: GCC (trapping math) vectorises a select only
             * in a loop that just stores it */
            double *restrict dp = s->db, *restrict vp = s->vb;
            for (int n = 0; n < run; n++) dp[n] = rp[n];
            for (int n = 0; n < run; n++) vp[n] = flush(xp[n] + AP_G * dp[n]);
            for (int n = 0; n < run; n++) xp[n] = dp[n] - AP_G * vp[n];
            for (int n = 0; n < run; n++) rp[n] = (float)vp[n];
            done += run;
            p += run;
            if (p == s->ap_len[k]) p = 0;
        }
        s->ap_pos[k] = p;
    }
}

/* One stage of the fast Walsh-Hadamard transform of 16 values: the 8
 * butterflies (x[j], x[j + h]) -> (x[j] + x[j + h], x[j] - x[j + h]). */
static inline void fwht_stage(double *x, int h)
{
    for (int k = 0; k < N / 2; k++) {
        int j = (k / h) * 2 * h + k % h;
        double a = x[j], b = x[j + h];
        x[j] = a + b;
        x[j + h] = a - b;
    }
}

/* In-place fast Walsh-Hadamard transform of 16 values (unscaled). */
static inline void fwht16(double *x)
{
    fwht_stage(x, 1);
    fwht_stage(x, 2);
    fwht_stage(x, 4);
    fwht_stage(x, 8);
}

/* One straight run of the network, `nb` frames in which no line wraps
 * around (so line i is read and written at line[i] + pos[i] + n). */
LATHE_AVX2_CLONES static void
network_run(reverb_state *s, int nb)
{
    const float *lp[N];
    for (int i = 0; i < N; i++) lp[i] = s->line[i] + s->pos[i];
    /* read and absorb: Jot's one-pole z = g (1 - b) o + b z, the 16 lines
     * side by side (the recursion runs along the frames) */
    double z[N], a[N], b[N];
    for (int i = 0; i < N; i++) z[i] = s->z[i], a[i] = s->a[i], b[i] = s->b[i];
    for (int n = 0; n < nb; n++)
        for (int i = 0; i < N; i++) {
            z[i] = flush(a[i] * lp[i][n] + b[i] * z[i]);
            s->zb[i][n] = z[i];
        }
    for (int i = 0; i < N; i++) s->z[i] = z[i];
}

/* Output channel c: the lines tapped with the signs of Hadamard row r = c + 1
 * (orthogonal rows: decorrelated channels), times OUT_GAIN, summed line by
 * line.  OUT_GAIN is a power of two, so OUT_GAIN * (+-z0 +- z1 ...) rounds
 * exactly like +-OUT_GAIN z0 +- OUT_GAIN z1 ...; with r a constant, the
 * signs fold into additions and subtractions. */
static inline void taps_row(reverb_state *s, double *restrict y, int nb, unsigned r)
{
    for (int n = 0; n < nb; n++) {
        double acc = 0;
        for (unsigned i = 0; i < N; i++) {
            double z = s->zb[i][n];
            acc = (__builtin_popcount(r & i) & 1) ? acc - z : acc + z;
        }
        y[n] = OUT_GAIN * acc;
    }
}

LATHE_AVX2_CLONES static void
output_taps(reverb_state *s, int c, int nb)
{
    double *y = s->yb[c];
    switch (c) {
    case 0: taps_row(s, y, nb, 1); break;
    case 1: taps_row(s, y, nb, 2); break;
    case 2: taps_row(s, y, nb, 3); break;
    case 3: taps_row(s, y, nb, 4); break;
    case 4: taps_row(s, y, nb, 5); break;
    case 5: taps_row(s, y, nb, 6); break;
    case 6: taps_row(s, y, nb, 7); break;
    default: taps_row(s, y, nb, 8); break;
    }
}

/* One-pole parameter smoothing x += k (target - x) for nb frames into out.
 * Once x is a fixed point of the step it stays one: no per-frame work. */
static void smooth(double *restrict out, double *state, double target, double k, int nb)
{
    double x = *state;
    if (x + k * (target - x) == x) {
        for (int n = 0; n < nb; n++) out[n] = x;
        return;
    }
    for (int n = 0; n < nb; n++) {
        x += k * (target - x);
        out[n] = x;
    }
    *state = x;
}

LATHE_AVX2_CLONES static void
reverb_process(void *st, float *const *io, const float *const *key, int frames)
{
    reverb_state *s = st;
    (void)key;
    const int ch = s->ch;

    /* decay and damping: move toward the targets once per block (time constant
     * 50 ms), recomputing the absorption gains and filters */
    double dt = s->p[P_DECAY], dp = s->p[P_DAMPING];
    if (dt != s->decay || dp != s->damping) {
        double k = 1.0 - exp(-(double)frames / (0.05 * s->rate));
        s->decay *= pow(dt / s->decay, k);
        s->damping += k * (dp - s->damping);
        if (fabs(s->decay / dt - 1.0) < 1e-4) s->decay = dt;
        if (fabs(s->damping - dp) < 1e-3) s->damping = dp;
        compute_gains(s);
    }
    const double inv_ch = 1.0 / ch;

    for (int off = 0, nb = 0; off < frames; off += nb) {
        /* a straight run: no line wraps around inside it */
        nb = frames - off < s->blk ? frames - off : s->blk;
        for (int i = 0; i < N; i++)
            if (s->len[i] - s->pos[i] < nb) nb = s->len[i] - s->pos[i];
        input_block(s, io, off, nb);

        network_run(s, nb);
        /* output taps: Hadamard rows 1..ch, summed line by line as the
         * per-frame loop did */
        for (int c = 0; c < ch; c++) output_taps(s, c, nb);
        for (int n = 0; n < nb; n++) s->mean[n] = 0.0 + s->yb[0][n];
        for (int c = 1; c < ch; c++)
            for (int n = 0; n < nb; n++) s->mean[n] += s->yb[c][n];
        for (int n = 0; n < nb; n++) s->mean[n] *= inv_ch;
        /* the feedback matrix: Hadamard / 4 (orthogonal, lossless), then the
         * input into every line with its sign */
        for (int n = 0; n < nb; n++) {
            double u[N];
            for (int i = 0; i < N; i++) u[i] = s->zb[i][n];
            fwht16(u);
            for (int i = 0; i < N; i++) s->zb[i][n] = flush(u[i] * 0.25 + in_sign[i] * s->xb[n]);
        }
        /* to float in a loop of its own: GCC (trapping math) vectorises a
         * select only in a loop that just stores it */
        for (int i = 0; i < N; i++) {
            float *restrict l = s->line[i] + s->pos[i];
            const double *restrict z = s->zb[i];
            for (int n = 0; n < nb; n++) l[n] = (float)z[n];
            s->pos[i] += nb;
            if (s->pos[i] == s->len[i]) s->pos[i] = 0;
        }

        /* smoothed mix and width, then the output */
        smooth(s->mixb, &s->mix, s->mix_t, s->k_smooth, nb);
        smooth(s->widthb, &s->width, s->width_t, s->k_smooth, nb);
        for (int c = 0; c < ch; c++) {
            float *restrict o = io[c] + off;
            const double *restrict y = s->yb[c];
            for (int n = 0; n < nb; n++) {
                const float mx = (float)s->mixb[n];
                float wet = (float)(s->mean[n] + s->widthb[n] * (y[n] - s->mean[n]));
                o[n] = (1.0f - mx) * o[n] + mx * wet;
            }
        }
    }
}

static void reverb_reset(void *st)
{
    reverb_state *s = st;
    if (!s->mem) return;
    for (int i = 0; i < N; i++) s->pos[i] = 0, s->z[i] = 0;
    for (int k = 0; k < NAP; k++) s->ap_pos[k] = 0;
    memset(s->mem, 0, s->mem_len * sizeof(float));
    s->pre_pos = 0;
    s->s_lc = (lathe_bq_state){0, 0};
}

static void reverb_fini(void *st)
{
    reverb_state *s = st;
    free(s->mem);
    s->mem = NULL;
}

/* 90 dB of decay at the low/mid RT60, after the pre-delay and the build-up
 * through the longest line and the diffusers. */
static double reverb_tail_s(const void *st)
{
    const reverb_state *s = st;
    double scale = 0.35 + 1.3 * s->p[P_SIZE] / 100.0;
    return 1.5 * s->p[P_DECAY] + s->p[P_PREDELAY] / 1000.0 + base_ms[N - 1] * scale / 1000.0 + 0.05;
}

const lathe_proc_desc lathe_proc_reverb = {
    .name = "reverb",
    .doc = "Algorithmic reverb, a 16-line feedback delay network with frequency-dependent decay. "
           "After Jot and Chaigne (\"Digital delay networks for designing artificial "
           "reverberators\", AES 90th Convention 1991, preprint 3030), with "
           "a Hadamard feedback matrix, mutually prime line lengths scaled by `size`, per-line "
           "absorption gains 10^(-3 d/(rate RT60)) that give exactly the set `decay`, and Jot's "
           "first-order absorbent filters for frequency-dependent decay (`damping`). The input "
           "(mono sum) passes a pre-delay, an optional low cut and four Schroeder all-pass "
           "diffusers; output channels tap the lines with orthogonal sign patterns, so they "
           "are decorrelated. Deterministic (no modulation); tiny values are flushed to zero so "
           "the tail ends in exact silence without denormals. `mix` crossfades dry and wet.",
    .params = params,
    .nparams = P_COUNT,
    .state_size = sizeof(reverb_state),
    .init = reverb_init,
    .set = reverb_set,
    .set_string = NULL,
    .process = reverb_process,
    .latency = NULL,
    .reset = reverb_reset,
    .fini = reverb_fini,
    .reduction_db = NULL,
    .tail_s = reverb_tail_s,
};
