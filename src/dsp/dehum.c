/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/dehum.c: mains hum removal with adaptive notches that follow drift.
 *
 * For each harmonic k = 1..K of the mains frequency f, a reference phasor
 * u^k (u = e^{j 2 pi f t}, by complex rotation, no per-sample sin/cos) and a
 * complex weight z_k per channel form Widrow's adaptive noise canceller with
 * a sinusoidal reference (Widrow et al., "Adaptive noise cancelling:
 * principles and applications", Proc. IEEE 63(12), 1975, sec. V):
 *
 *   hum = sum_k 2 Re(z_k u^k),   e = x - hum,   z_k += mu e conj(u^k)
 *
 * which is a linear notch at k f with -3 dB bandwidth B = mu fs / pi Hz
 * (mu = pi B / fs): the music between the lines passes untouched.  Drift:
 * every 50 ms the rotation of each weight since the last look gives the
 * frequency error (a weight turning at d rad/s means the line is d/(2 pi k)
 * Hz off).  The rotations are summed over 1 s (unwrapped, 50 ms at a time):
 * over a second the music's random contribution to the weights largely
 * cancels, where the per-look estimates wander by more than the 0.001 Hz
 * that 30 dB at the 11th harmonic needs.  The errors of all lines, weighted
 * by line power times k^2, move f by 0.7 of the estimate each second,
 * within 1.5 % of the nominal 50 or 60 Hz (a 0.2 Hz offset settles in about
 * 6 s; an integral term made the loop overshoot).  Tracking is off by
 * default: on one test song the 60 Hz bank's estimate still wanders enough
 * to leave the lines only 17 dB down.  `auto`
 * runs a 50 Hz and a 60 Hz bank side by side and outputs the one whose lines
 * hold more power (smoothed over about a second, switching only at a 2x
 * ratio, with a 50 ms crossfade). */
#include <complex.h>
#include <math.h>
#include <string.h>

#include "lathe/proc.h"

enum { P_MAINS, P_HARMONICS, P_WIDTH, P_TRACK, NPARAMS };

#define AUTO LATHE_PARAM_AUTOMATABLE
#define MAXCH 8
#define MAXH 40
#define TRACK_S 0.05
#define LOOK_N 20 /* the frequency loop updates every LOOK_N * TRACK_S = 1 s */

static const char *const mains_choices[] = {"auto", "50", "60", NULL};

static const lathe_param_desc params[NPARAMS] = {
    {"mains", "",
     "mains frequency: 50 Hz, 60 Hz, or auto (both are tracked; the one whose harmonic lines "
     "hold more power is removed)",
     0, 2, 0, LATHE_PARAM_CHOICE, mains_choices, 0},
    {"harmonics", "",
     "number of lines removed: the fundamental and its multiples up to this count (12 at 50 Hz "
     "reaches 600 Hz)",
     1, MAXH, 12, LATHE_PARAM_NUMBER, NULL, 0},
    {"width", "Hz",
     "-3 dB bandwidth of each notch; narrower leaves more of the music but settles more slowly "
     "(time constant 1 / (pi width) s)",
     0.1, 10, 1, LATHE_PARAM_NUMBER, NULL, AUTO | LATHE_PARAM_LOG},
    {"track", "",
     "follow slow drift or an offset of the mains frequency (within 1.5 % of nominal; settles "
     "in about 6 s); off by default: on some music the estimate still wanders (60 Hz lines "
     "under one test song keep only 17 dB)",
     0, 1, 0, LATHE_PARAM_BOOL, NULL, 0},
};

typedef struct {
    double nominal, f;
    double complex u, rot;
    double complex z[MAXCH][MAXH];
    double complex zlast[MAXH];
    double energy; /* smoothed line power */
    double df;     /* integral term of the frequency loop (Hz per update) */
    double acc[MAXH], pw[MAXH]; /* summed rotation and power since the last update */
    int looks;
} bank;

typedef struct {
    double p[NPARAMS];
    double rate;
    int ch, nh, count, track_n, chosen;
    double mu, mix; /* mix: 0 = bank 0, 1 = bank 1 (auto crossfade) */
    double mix_step, e_coef;
    bank b[2];
    int nbanks;
} dehum;

static void set(void *st, int i, double v) {
    dehum *s = st;
    if (i >= 0 && i < NPARAMS) s->p[i] = v;
}

static void set_freq(dehum *s, bank *b, double f) {
    b->f = f;
    b->rot = cexp(I * 2.0 * M_PI * f / s->rate);
}

static void reset(void *st) {
    dehum *s = st;
    for (int k = 0; k < s->nbanks; k++) {
        bank *b = &s->b[k];
        memset(b->z, 0, sizeof b->z);
        memset(b->zlast, 0, sizeof b->zlast);
        b->u = 1.0;
        b->energy = 0;
        b->df = 0;
        memset(b->acc, 0, sizeof b->acc);
        memset(b->pw, 0, sizeof b->pw);
        b->looks = 0;
        set_freq(s, b, b->nominal);
    }
    s->count = 0;
    s->chosen = 0;
    s->mix = 0;
}

static lathe_status init(void *st, double rate, int channels, int max_block, lathe_error *err) {
    dehum *s = st;
    (void)max_block;
    (void)err;
    s->rate = rate;
    s->ch = channels;
    int mains = (int)s->p[P_MAINS];
    s->nbanks = mains == 0 ? 2 : 1;
    s->b[0].nominal = mains == 2 ? 60.0 : 50.0;
    s->b[1].nominal = 60.0;
    s->nh = (int)s->p[P_HARMONICS];
    while (s->nh > 1 && s->nh * s->b[s->nbanks - 1].nominal * 1.015 >= 0.45 * rate) s->nh--;
    s->track_n = (int)lround(TRACK_S * rate);
    s->mix_step = 1.0 / (0.05 * rate);
    s->e_coef = 1.0 - exp(-TRACK_S / 1.0);
    reset(s);
    return LATHE_OK;
}

/* Frequency error of a bank from the rotation of its weights (see top):
 * the rotation of each weight is summed over LOOK_N looks (unwrapped, since
 * each look's step is small), then the loop moves f. */
static void track(dehum *s, bank *b) {
    double en = 0;
    for (int k = 0; k < s->nh; k++) {
        double complex zs = 0;
        for (int c = 0; c < s->ch; c++) zs += b->z[c][k];
        double p = creal(zs * conj(zs));
        en += p;
        double complex r = zs * conj(b->zlast[k]);
        b->zlast[k] = zs;
        if (p > 0 && cabs(r) > 0) {
            b->acc[k] += carg(r);
            b->pw[k] += p;
        }
        for (int c = 0; c < s->ch; c++) /* no denormals, no NaN kept */
            if (!isfinite(creal(b->z[c][k])) || !isfinite(cimag(b->z[c][k])) ||
                cabs(b->z[c][k]) < 1e-15)
                b->z[c][k] = 0;
    }
    b->energy += s->e_coef * (en - b->energy);
    if (!isfinite(b->energy)) b->energy = 0;
    b->u /= cabs(b->u); /* the rotation recurrence keeps |u| = 1 */
    if (++b->looks < LOOK_N) return;
    b->looks = 0;
    double num = 0, den = 0;
    const double t = (double)LOOK_N * s->track_n / s->rate;
    for (int k = 0; k < s->nh; k++) {
        double w = b->pw[k] * (k + 1) * (k + 1);
        num += w * b->acc[k] / (2.0 * M_PI * (k + 1) * t);
        den += w;
        b->acc[k] = b->pw[k] = 0;
    }
    if (s->p[P_TRACK] >= 0.5 && den > 0 && b->energy > 1e-12) {
        double err = num / den; /* proportional only: an integral term overshoots */
        double f = b->f + 0.7 * err;
        double lo = b->nominal * 0.985, hi = b->nominal * 1.015;
        if (!isfinite(f) || !isfinite(b->df)) f = b->nominal, b->df = 0;
        if (f < lo || f > hi) b->df = 0;
        set_freq(s, b, f < lo ? lo : f > hi ? hi : f);
    }
}

static void process(void *st, float *const *io, const float *const *key, int frames) {
    dehum *s = st;
    (void)key;
    const double mu = M_PI * s->p[P_WIDTH] / s->rate;
    const int nh = s->nh, nb = s->nbanks;
    double complex h[MAXH];
    for (int i = 0; i < frames; i++) {
        double x[MAXCH], out[2][MAXCH] = {{0}};
        for (int c = 0; c < s->ch; c++) {
            float v = io[c][i];
            x[c] = isfinite(v) ? v : 0.0;
        }
        for (int k = 0; k < nb; k++) {
            bank *b = &s->b[k];
            b->u *= b->rot;
            h[0] = b->u;
            for (int j = 1; j < nh; j++) h[j] = h[j - 1] * b->u;
            for (int c = 0; c < s->ch; c++) {
                double complex *z = b->z[c];
                double hum = 0;
                for (int j = 0; j < nh; j++) hum += creal(z[j]) * creal(h[j]) - cimag(z[j]) * cimag(h[j]);
                double e = x[c] - 2.0 * hum;
                out[k][c] = e;
                double me = mu * e;
                for (int j = 0; j < nh; j++) z[j] += me * conj(h[j]);
            }
        }
        if (nb == 2) {
            double target = s->chosen;
            if (s->mix < target) s->mix = fmin(target, s->mix + s->mix_step);
            else if (s->mix > target) s->mix = fmax(target, s->mix - s->mix_step);
            for (int c = 0; c < s->ch; c++)
                io[c][i] = (float)((1.0 - s->mix) * out[0][c] + s->mix * out[1][c]);
        } else {
            for (int c = 0; c < s->ch; c++) io[c][i] = (float)out[0][c];
        }
        if (++s->count >= s->track_n) {
            s->count = 0;
            for (int k = 0; k < nb; k++) track(s, &s->b[k]);
            if (nb == 2) {
                if (s->chosen == 0 && s->b[1].energy > 2.0 * s->b[0].energy) s->chosen = 1;
                else if (s->chosen == 1 && s->b[0].energy > 2.0 * s->b[1].energy) s->chosen = 0;
            }
        }
    }
}

const lathe_proc_desc lathe_proc_dehum = {
    .name = "dehum",
    .doc = "Mains hum removal: the 50 or 60 Hz fundamental (or whichever of the two holds more "
           "power, with `auto`) and its harmonics are cancelled by adaptive notches, Widrow's "
           "noise canceller with sinusoidal references (Proc. IEEE 63(12), 1975): each line is a "
           "linear notch of `width` Hz, so the music between the lines passes untouched. The "
           "references follow slow drift of the mains frequency, estimated every 50 ms from the "
           "rotation of the notch weights. No latency.",
    .params = params,
    .nparams = NPARAMS,
    .state_size = sizeof(dehum),
    .init = init,
    .set = set,
    .set_string = NULL,
    .process = process,
    .latency = NULL,
    .reset = reset,
    .fini = NULL,
    .reduction_db = NULL,
    .tail_s = NULL,
};
