/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/delay.c: the `delay` processor, a feedback echo.
 *
 * One circular delay line per channel, read by up to two heads.  A head
 * reads at a fixed delay D = time * rate / 1000 samples: an integer D reads
 * one stored sample exactly (weights 0,1,0,0); a fractional D uses
 * third-order Lagrange interpolation (Laakso, Valimaki, Karjalainen & Laine,
 * "Splitting the unit delay", IEEE SP Magazine 1996, eq. 42) or, for
 * 1 < D < 2 where the fourth tap would be the sample being written, linear
 * interpolation.  A time change never moves a head: a second head starts at
 * the new delay and the output crossfades to it over 40 ms (equal-gain
 * raised-cosine), so there is neither a click nor a pitch glide.
 *
 * The feedback path runs the (crossfaded) echo through an optional
 * second-order Butterworth high-pass and low-pass (RBJ cookbook sections,
 * dsp/biquad.h) and multiplies by `feedback`; with ping-pong on a stereo
 * pair the two lines feed each other, so the echoes alternate L, R, L, ... */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/biquad.h"
#include "lathe/proc.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

enum { P_TIME, P_FEEDBACK, P_PINGPONG, P_FB_HPF, P_FB_LPF, P_MIX, P_COUNT };

static const lathe_param_desc params[P_COUNT] = {
    {"time", "ms",
     "delay between the input and the first echo, and between echoes. Note values "
     "(\"1/8.\") are accepted when the session has a tempo. The delay is time*rate/1000 "
     "samples, at least one sample; a fractional delay is interpolated (3rd-order "
     "Lagrange). Changes crossfade from the old to the new delay over 40 ms",
     0, 4000, 250, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE | LATHE_PARAM_LOG},
    {"feedback", "%",
     "part of each echo fed back into the line: each echo is feedback/100 times the "
     "amplitude of the one before (with the feedback filters off). Limited to 98 % so "
     "the loop always decays",
     0, 98, 30, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE},
    {"pingpong", "",
     "stereo ping-pong (two channels only; ignored otherwise): the input mono sum "
     "(L+R)/2 enters the left line, the left echo feeds the right line and the right "
     "echo the left, so successive echoes alternate left, right, left",
     0, 1, 0, LATHE_PARAM_BOOL, NULL, 0},
    {"fb_hpf", "Hz",
     "high-pass (2nd-order Butterworth) in the feedback path: each repeat loses more low "
     "end. 0 = off. The first echo is filtered once, the k-th k times",
     0, 5000, 0, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE | LATHE_PARAM_LOG},
    {"fb_lpf", "Hz",
     "low-pass (2nd-order Butterworth) in the feedback path: each repeat gets darker, "
     "like tape or analog delays. 0 = off",
     0, 40000, 0, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE | LATHE_PARAM_LOG},
    {"mix", "%",
     "wet/dry balance: out = (1 - mix) * dry + mix * wet, where dry is the input and wet "
     "is the echoes only (no direct sound). 100 % = echoes only (for a send), 50 % = "
     "equal parts",
     0, 100, 30, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE},
};

#define MAXCH 8
#define FADE_MS 40.0
#define SMOOTH_MS 20.0
#define SUB 64 /* frames per filter-coefficient update */

typedef struct {
    long off;   /* integer part of the delay (samples, >= 1) */
    float w[4]; /* taps at off-1, off, off+1, off+2 */
    double d;   /* the delay in samples */
} head;

typedef struct {
    /* params (set() only stores) */
    double p[P_COUNT];
    /* runtime */
    double rate;
    int ch, inited;
    float *line[MAXCH];
    long mask, wpos;
    head a, b; /* a = current head, b = the head being faded to */
    int fading;
    double fade_pos, fade_inc;
    double fb, fb_t, mix, mix_t, k_smooth; /* smoothed gains and their targets */
    double hpf, lpf;                       /* smoothed filter corners (Hz, 0 = off) */
    lathe_bq c_hp, c_lp;
    int hp_on, lp_on;
    lathe_bq_state s_hp[MAXCH], s_lp[MAXCH];
} delay_state;

static double delay_samples(const delay_state *s)
{
    double d = s->p[P_TIME] * s->rate / 1000.0;
    double r = floor(d + 0.5);
    if (fabs(d - r) < 1e-9) d = r; /* integer delays read one sample exactly */
    double maxd = (double)(s->mask - 4);
    if (d < 1.0) d = 1.0;
    if (d > maxd) d = maxd;
    return d;
}

static void head_set(head *h, double d)
{
    h->d = d;
    h->off = (long)floor(d);
    double f = d - (double)h->off;
    if (f == 0.0) {
        h->w[0] = 0, h->w[1] = 1, h->w[2] = 0, h->w[3] = 0;
    } else if (h->off < 2) {
        h->w[0] = 0, h->w[1] = (float)(1.0 - f), h->w[2] = (float)f, h->w[3] = 0;
    } else {
        /* Lagrange, order 3, at points delay off-1, off, off+1, off+2 with the
         * fractional delay 1+f measured from the first tap (Laakso et al. eq. 42). */
        double x = 1.0 + f;
        h->w[0] = (float)(-(x - 1) * (x - 2) * (x - 3) / 6.0);
        h->w[1] = (float)(x * (x - 2) * (x - 3) / 2.0);
        h->w[2] = (float)(-x * (x - 1) * (x - 3) / 2.0);
        h->w[3] = (float)(x * (x - 1) * (x - 2) / 6.0);
    }
}

static inline float head_read(const head *h, const float *line, long wpos, long mask)
{
    long p = wpos - h->off;
    return h->w[0] * line[(p + 1) & mask] + h->w[1] * line[p & mask] +
           h->w[2] * line[(p - 1) & mask] + h->w[3] * line[(p - 2) & mask];
}

static void design_filters(delay_state *s)
{
    double nyq = 0.49 * s->rate;
    s->hp_on = s->hpf > 0.0;
    s->lp_on = s->lpf > 0.0 && s->lpf < nyq;
    if (s->hp_on) lathe_bq_design(&s->c_hp, LATHE_BQ_HIGHPASS, s->rate, fmin(s->hpf, nyq), M_SQRT1_2, 0);
    if (s->lp_on) lathe_bq_design(&s->c_lp, LATHE_BQ_LOWPASS, s->rate, s->lpf, M_SQRT1_2, 0);
}

static void delay_set(void *st, int param, double v)
{
    delay_state *s = st;
    if (param < 0 || param >= P_COUNT) return;
    s->p[param] = v;
    if (!s->inited) return;
    if (param == P_FEEDBACK) s->fb_t = fmin(v, 98.0) / 100.0;
    if (param == P_MIX) s->mix_t = v / 100.0;
}

static lathe_status delay_init(void *st, double rate, int channels, int max_block,
                               lathe_error *err)
{
    delay_state *s = st;
    (void)max_block;
    s->rate = rate;
    s->ch = channels;
    long need = (long)ceil(params[P_TIME].max * rate / 1000.0) + 8, len = 1;
    while (len < need) len <<= 1;
    s->mask = len - 1;
    for (int c = 0; c < channels; c++) {
        s->line[c] = calloc((size_t)len, sizeof(float));
        if (!s->line[c])
            return lathe_error_set(err, LATHE_E_NOMEM, "delay: out of memory (%ld frames)", len);
    }
    s->inited = 1;
    s->wpos = 0;
    head_set(&s->a, delay_samples(s));
    s->b = s->a;
    s->fading = 0;
    s->fade_inc = 1.0 / (FADE_MS * 1e-3 * rate);
    s->fb = s->fb_t = fmin(s->p[P_FEEDBACK], 98.0) / 100.0;
    s->mix = s->mix_t = s->p[P_MIX] / 100.0;
    s->k_smooth = 1.0 - exp(-1.0 / (SMOOTH_MS * 1e-3 * rate));
    s->hpf = s->p[P_FB_HPF];
    s->lpf = s->p[P_FB_LPF];
    design_filters(s);
    return LATHE_OK;
}

/* Moves a filter corner toward its target once per SUB frames (geometric,
 * time constant ~SMOOTH_MS); switching on/off is immediate. */
static int slew_corner(double *cur, double target, double k)
{
    if (*cur == target) return 0;
    if (*cur <= 0.0 || target <= 0.0) {
        *cur = target;
        return 1;
    }
    double r = target / *cur;
    if (fabs(r - 1.0) < 1e-4)
        *cur = target;
    else
        *cur *= pow(r, k);
    return 1;
}

/* Filter state that has decayed below -600 dB is zero: it never sinks into
 * (slow) subnormal doubles, even without FTZ/DAZ. */
static inline void flush_state(lathe_bq_state *st)
{
    if (fabs(st->s1) < 1e-30) st->s1 = 0.0;
    if (fabs(st->s2) < 1e-30) st->s2 = 0.0;
}

static void delay_process(void *st, float *const *io, const float *const *key, int frames)
{
    delay_state *s = st;
    (void)key;
    const int ch = s->ch;
    const int pp = s->p[P_PINGPONG] >= 0.5 && ch == 2;
    const long mask = s->mask;
    const double ks = s->k_smooth;
    const double kc = 1.0 - exp(-(double)SUB / (SMOOTH_MS * 1e-3 * s->rate));

    for (int base = 0; base < frames; base += SUB) {
        int n = frames - base < SUB ? frames - base : SUB;
        /* time: start a crossfade to the new delay when not already fading */
        if (!s->fading) {
            double d = delay_samples(s);
            if (d != s->a.d) {
                head_set(&s->b, d);
                s->fading = 1;
                s->fade_pos = 0.0;
            }
        }
        int redo = slew_corner(&s->hpf, s->p[P_FB_HPF], kc);
        redo |= slew_corner(&s->lpf, s->p[P_FB_LPF], kc);
        if (redo) design_filters(s);

        for (int i = base; i < base + n; i++) {
            float y[MAXCH], f[MAXCH];
            double g = 0.0;
            if (s->fading) {
                /* raised-cosine crossfade: the two gains sum to one */
                g = 0.5 - 0.5 * cos(M_PI * s->fade_pos);
                s->fade_pos += s->fade_inc;
            }
            s->fb += ks * (s->fb_t - s->fb);
            s->mix += ks * (s->mix_t - s->mix);
            const float fbk = (float)s->fb, mx = (float)s->mix;
            for (int c = 0; c < ch; c++) {
                float v = head_read(&s->a, s->line[c], s->wpos, mask);
                if (s->fading)
                    v = (float)((1.0 - g) * v + g * head_read(&s->b, s->line[c], s->wpos, mask));
                y[c] = v;
                double t = v;
                if (s->hp_on) {
                    t = lathe_bq_tick(&s->c_hp, &s->s_hp[c], t);
                    flush_state(&s->s_hp[c]);
                }
                if (s->lp_on) {
                    t = lathe_bq_tick(&s->c_lp, &s->s_lp[c], t);
                    flush_state(&s->s_lp[c]);
                }
                /* Guard the loop: bounded (finite input stays finite), and no
                 * ever-decaying tiny values (no denormals fed back). */
                float tf = (float)t * fbk;
                if (!(fabsf(tf) > 1e-30f)) tf = 0.0f; /* also catches NaN */
                f[c] = fminf(fmaxf(tf, -1e6f), 1e6f);
            }
            if (pp) {
                float in = 0.5f * (io[0][i] + io[1][i]);
                s->line[0][s->wpos] = in + f[1];
                s->line[1][s->wpos] = f[0];
            } else {
                for (int c = 0; c < ch; c++) s->line[c][s->wpos] = io[c][i] + f[c];
            }
            for (int c = 0; c < ch; c++) io[c][i] = (1.0f - mx) * io[c][i] + mx * y[c];
            s->wpos = (s->wpos + 1) & mask;
            if (s->fading && s->fade_pos >= 1.0) {
                s->a = s->b;
                s->fading = 0;
            }
        }
    }
}

static void delay_reset(void *st)
{
    delay_state *s = st;
    for (int c = 0; c < s->ch; c++) {
        if (s->line[c]) memset(s->line[c], 0, (size_t)(s->mask + 1) * sizeof(float));
        s->s_hp[c] = (lathe_bq_state){0, 0};
        s->s_lp[c] = (lathe_bq_state){0, 0};
    }
    if (s->fading) s->a = s->b;
    s->fading = 0;
    s->wpos = 0;
}

static void delay_fini(void *st)
{
    delay_state *s = st;
    for (int c = 0; c < MAXCH; c++) {
        free(s->line[c]);
        s->line[c] = NULL;
    }
}

/* Time for the echoes to fall by 90 dB: the k-th echo is at k*D with level
 * feedback^(k-1), so k = 1 + 90 / (-20 log10 feedback) echoes. */
static double delay_tail_s(const void *st)
{
    const delay_state *s = st;
    double d = s->p[P_TIME] / 1000.0;
    if (d < 1.0 / s->rate) d = 1.0 / s->rate;
    double fb = fmin(s->p[P_FEEDBACK], 98.0) / 100.0;
    if (fb <= 1e-6) return d;
    double k = 1.0 + 90.0 / (-20.0 * log10(fb));
    return ceil(k) * d + FADE_MS * 1e-3;
}

const lathe_proc_desc lathe_proc_delay = {
    .name = "delay",
    .doc = "Feedback echo with filtered repeats and stereo ping-pong. Each channel has a delay line read at time*rate/1000 samples "
           "(sample-exact for integer delays, 3rd-order Lagrange interpolation otherwise: "
           "Laakso et al., \"Splitting the unit delay\", 1996); each echo is fed back through "
           "optional 2nd-order Butterworth high- and low-pass filters scaled by `feedback`, so "
           "with the filters off successive echoes fall by exactly feedback/100. Ping-pong "
           "cross-couples a stereo pair so echoes alternate sides. Time changes crossfade "
           "between two read heads over 40 ms (no clicks, no pitch glide); gains are smoothed "
           "over 20 ms. `mix` crossfades between the input (dry) and the echoes alone (wet).",
    .params = params,
    .nparams = P_COUNT,
    .state_size = sizeof(delay_state),
    .init = delay_init,
    .set = delay_set,
    .set_string = NULL,
    .process = delay_process,
    .latency = NULL,
    .reset = delay_reset,
    .fini = delay_fini,
    .reduction_db = NULL,
    .tail_s = delay_tail_s,
};
