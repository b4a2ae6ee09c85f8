/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/gate.c: noise gate with hysteresis, hold and linear ramps.
 *
 * Per channel a two-state machine on the detector level (dsp/dynamics.c:
 * max |x| over `window` ms, after the sidechain filters, linked across
 * channels): closed -> open when the level reaches `threshold`; open ->
 * closed when it has stayed below `threshold - hysteresis` for `hold` ms.
 * The hysteresis is what keeps a level hovering at the threshold from
 * chattering.  The gain moves linearly in amplitude between 1 (open) and the
 * `range` floor: a full opening takes `attack` ms, a full closing `release`
 * ms, so the times are exactly the ones set. */
#include <math.h>
#include <string.h>

#include "dsp/dynamics.h"
#include "lathe/proc.h"

enum {
    P_THRESHOLD,
    P_HYSTERESIS,
    P_RANGE,
    P_ATTACK,
    P_HOLD,
    P_RELEASE,
    P_WINDOW,
    P_SC_HPF,
    P_SC_LPF,
    P_LINK,
    NPARAMS
};

#define AUTO LATHE_PARAM_AUTOMATABLE
#define LOG LATHE_PARAM_LOG
#define MAX_WINDOW_MS 100.0
#define SMOOTH_MS 20.0

static const lathe_param_desc params[NPARAMS] = {
    {"threshold", "dB",
     "the gate opens when the detector level (peak of |x| over `window`) reaches this", -90, 0, -40,
     LATHE_PARAM_NUMBER, NULL, AUTO},
    {"hysteresis", "dB",
     "the gate closes only below threshold - hysteresis, so a level hovering at the threshold "
     "does not chatter",
     0, 24, 3, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"range", "dB", "gain while closed; -inf = silence", -INFINITY, 0, -80, LATHE_PARAM_NUMBER,
     NULL, AUTO},
    {"attack", "ms",
     "opening ramp: time for the gain to go from the range floor to unity (linear in "
     "amplitude)",
     0.01, 500, 0.5, LATHE_PARAM_NUMBER, NULL, AUTO | LOG},
    {"hold", "ms", "time the gate stays open after the level falls below threshold - hysteresis", 0,
     2000, 20, LATHE_PARAM_NUMBER, NULL, AUTO},
    {"release", "ms",
     "closing ramp: time for the gain to go from unity to the range floor (linear in "
     "amplitude), after the hold",
     1, 5000, 100, LATHE_PARAM_NUMBER, NULL, AUTO | LOG},
    {"window", "ms",
     "detector peak-hold window (max |x| over it); the close decision lags the signal by up "
     "to this; should exceed half the period of the lowest frequency",
     0.1, MAX_WINDOW_MS, 5, LATHE_PARAM_NUMBER, NULL, AUTO | LOG},
    LATHE_DYN_PARAM_SC_HPF,
    LATHE_DYN_PARAM_SC_LPF,
    {"link", "%",
     "stereo link: each channel's detector level (dB) moves this far toward the loudest "
     "channel's; 100 % = all channels open and close together",
     0, 100, 100, LATHE_PARAM_NUMBER, NULL, AUTO},
};

typedef struct {
    double p[NPARAMS];
    double rate;
    int channels, max_block;
    lathe_dyn_detector det;
    double floor, ks; /* smoothed closed gain (linear), smoothing coefficient */
    double g[LATHE_DYN_MAXCH];
    int open[LATHE_DYN_MAXCH], hold[LATHE_DYN_MAXCH];
    double red;
} gate;

static double floor_of(double range_db) {
    return isinf(range_db) ? 0.0 : pow(10.0, range_db / 20.0);
}

static void set(void *st, int i, double v) {
    gate *s = st;
    if (i >= 0 && i < NPARAMS) s->p[i] = v;
}

static void reset(void *st) {
    gate *s = st;
    lathe_dyn_detector_reset(&s->det);
    s->floor = floor_of(s->p[P_RANGE]);
    for (int c = 0; c < LATHE_DYN_MAXCH; c++) {
        s->g[c] = s->floor; /* silence: closed */
        s->open[c] = 0;
        s->hold[c] = 0;
    }
    s->red = 0;
}

static void fini(void *st) {
    lathe_dyn_detector_free(&((gate *)st)->det);
}

static lathe_status init(void *st, double rate, int channels, int max_block, lathe_error *err) {
    gate *s = st;
    s->rate = rate;
    s->channels = channels;
    s->max_block = max_block;
    lathe_status r =
        lathe_dyn_detector_init(&s->det, rate, channels, max_block, MAX_WINDOW_MS, err);
    if (r != LATHE_OK) return r;
    s->ks = 1.0 - lathe_dyn_coef(SMOOTH_MS, rate);
    reset(s);
    return LATHE_OK;
}

static void process(void *st, float *const *io, const float *const *key, int frames) {
    gate *s = st;
    s->det.cfg.mode = LATHE_DYN_PEAK;
    s->det.cfg.window_ms = s->p[P_WINDOW];
    s->det.cfg.hpf_hz = s->p[P_SC_HPF];
    s->det.cfg.lpf_hz = s->p[P_SC_LPF];
    s->det.cfg.link = s->p[P_LINK] / 100.0;
    lathe_dyn_detect(&s->det, key ? key : (const float *const *)io, frames);

    const double t_open = s->p[P_THRESHOLD], t_close = t_open - s->p[P_HYSTERESIS];
    const double tf = floor_of(s->p[P_RANGE]), k = s->ks;
    const double na = fmax(s->p[P_ATTACK] * 1e-3 * s->rate, 1.0);
    const double nr = fmax(s->p[P_RELEASE] * 1e-3 * s->rate, 1.0);
    const int hold = (int)lround(s->p[P_HOLD] * 1e-3 * s->rate);
    double fl = s->floor, gmin = 1.0;
    for (int i = 0; i < frames; i++) {
        if (fl != tf) {
            fl += k * (tf - fl);
            if (fabs(tf - fl) < 1e-12) fl = tf;
        }
        const double up = (1.0 - fl) / na, down = (1.0 - fl) / nr;
        for (int c = 0; c < s->channels; c++) {
            double lev = s->det.level[(size_t)c * s->max_block + i];
            if (s->open[c]) {
                if (lev >= t_close)
                    s->hold[c] = hold;
                else if (s->hold[c] > 0)
                    s->hold[c]--;
                else
                    s->open[c] = 0;
            } else if (lev >= t_open) {
                s->open[c] = 1;
                s->hold[c] = hold;
            }
            double g = s->g[c], target = s->open[c] ? 1.0 : fl;
            if (g < target)
                g = g + up < target ? g + up : target;
            else if (g > target)
                g = g - down > target ? g - down : target;
            s->g[c] = isfinite(g) ? g : fl; /* a NaN input does not stay in the state */
            if (g < gmin) gmin = g;
            io[c][i] = (float)(io[c][i] * g);
        }
    }
    s->floor = fl;
    s->red = -20.0 * log10(fmax(gmin, 1e-12));
}

static double reduction_db(const void *st) {
    return ((const gate *)st)->red;
}

const lathe_proc_desc lathe_proc_gate = {
    .name = "gate",
    .doc = "Noise gate: opens when the detector level (peak of |x| over a short window, after "
           "optional sidechain high- and low-pass, linked across channels; from the external "
           "key when one is given) reaches the threshold, and closes once it has stayed below "
           "threshold minus hysteresis for the hold time. The hysteresis is the standard "
           "remedy for chatter (the Schmitt trigger). The gain ramps linearly in amplitude "
           "between unity and the range floor, taking exactly `attack` ms to open and "
           "`release` ms to close.",
    .params = params,
    .nparams = NPARAMS,
    .state_size = sizeof(gate),
    .init = init,
    .set = set,
    .set_string = NULL,
    .process = process,
    .latency = NULL,
    .reset = reset,
    .fini = fini,
    .reduction_db = reduction_db,
    .tail_s = NULL,
};
