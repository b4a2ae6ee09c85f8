/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/gain.c: gain and polarity.
 *
 * Each channel gets one factor, +-10^(gain/20).  Every change (gain or
 * polarity) moves the factors along a linear ramp of RAMP_S seconds, so a
 * step makes no click; a polarity flip passes through zero.  When no ramp is
 * running the factor is exact: the output is the float product x * factor,
 * and an inverted channel is exactly -x. */
#include <math.h>

#include "lathe/proc.h"

#define RAMP_S 0.020
#define MAXCH 8

enum { P_GAIN, P_INVERT, P_INVERT1 };

static const lathe_param_desc gain_params[] = {
    {"gain", "dB", "gain applied to every channel; -inf is silence; changes ramp over 20 ms",
     -INFINITY, 24, 0, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE},
    {"invert", "", "invert the polarity of every channel", 0, 1, 0, LATHE_PARAM_BOOL, NULL,
     LATHE_PARAM_AUTOMATABLE},
    {"invert1", "",
     "invert channel 1 (left); a channel is inverted when invert or its own "
     "flag is on",
     0, 1, 0, LATHE_PARAM_BOOL, NULL, LATHE_PARAM_AUTOMATABLE},
    {"invert2", "", "invert channel 2 (right)", 0, 1, 0, LATHE_PARAM_BOOL, NULL,
     LATHE_PARAM_AUTOMATABLE},
    {"invert3", "", "invert channel 3", 0, 1, 0, LATHE_PARAM_BOOL, NULL, LATHE_PARAM_AUTOMATABLE},
    {"invert4", "", "invert channel 4", 0, 1, 0, LATHE_PARAM_BOOL, NULL, LATHE_PARAM_AUTOMATABLE},
    {"invert5", "", "invert channel 5", 0, 1, 0, LATHE_PARAM_BOOL, NULL, LATHE_PARAM_AUTOMATABLE},
    {"invert6", "", "invert channel 6", 0, 1, 0, LATHE_PARAM_BOOL, NULL, LATHE_PARAM_AUTOMATABLE},
    {"invert7", "", "invert channel 7", 0, 1, 0, LATHE_PARAM_BOOL, NULL, LATHE_PARAM_AUTOMATABLE},
    {"invert8", "", "invert channel 8", 0, 1, 0, LATHE_PARAM_BOOL, NULL, LATHE_PARAM_AUTOMATABLE},
};

typedef struct {
    double gain_db;
    int invert_all, invert[MAXCH];
    int channels, inited, dirty;
    long ramp_len, remaining;
    double cur[MAXCH], target[MAXCH], step[MAXCH];
} gain_state;

static void targets(gain_state *s) {
    double g = s->gain_db == -INFINITY ? 0.0 : pow(10.0, s->gain_db / 20.0);
    for (int c = 0; c < MAXCH; c++)
        s->target[c] = (s->invert_all || s->invert[c]) ? -g : g;
}

static void gain_set(void *st, int i, double v) {
    gain_state *s = st;
    if (i == P_GAIN)
        s->gain_db = v;
    else if (i == P_INVERT)
        s->invert_all = v != 0;
    else if (i >= P_INVERT1 && i < P_INVERT1 + MAXCH)
        s->invert[i - P_INVERT1] = v != 0;
    s->dirty = 1;
}

static lathe_status gain_init(void *st, double rate, int channels, int max_block,
                              lathe_error *err) {
    (void)max_block;
    (void)err;
    gain_state *s = st;
    s->channels = channels;
    s->ramp_len = (long)(RAMP_S * rate + 0.5);
    if (s->ramp_len < 1) s->ramp_len = 1;
    targets(s);
    for (int c = 0; c < MAXCH; c++)
        s->cur[c] = s->target[c];
    s->remaining = 0;
    s->dirty = 0;
    s->inited = 1;
    return LATHE_OK;
}

static void gain_process(void *st, float *const *io, const float *const *key, int frames) {
    (void)key;
    gain_state *s = st;
    if (s->dirty) {
        /* a new ramp from wherever the factors are now */
        targets(s);
        for (int c = 0; c < s->channels; c++)
            s->step[c] = (s->target[c] - s->cur[c]) / (double)s->ramp_len;
        s->remaining = s->ramp_len;
        s->dirty = 0;
    }
    int i = 0;
    if (s->remaining > 0) {
        int n = s->remaining < frames ? (int)s->remaining : frames;
        for (int c = 0; c < s->channels; c++) {
            double g = s->cur[c], d = s->step[c];
            float *x = io[c];
            for (int k = 0; k < n; k++) {
                g += d;
                x[k] = (float)(x[k] * g);
            }
            s->cur[c] = g;
        }
        s->remaining -= n;
        if (s->remaining == 0)
            for (int c = 0; c < s->channels; c++)
                s->cur[c] = s->target[c];
        i = n;
    }
    for (int c = 0; c < s->channels; c++) {
        double g = s->cur[c];
        float *x = io[c];
        if (g == 1.0) continue;
        if (g == -1.0) {
            for (int k = i; k < frames; k++)
                x[k] = -x[k];
        } else if (g == 0.0) {
            for (int k = i; k < frames; k++)
                x[k] = 0.0f;
        } else {
            for (int k = i; k < frames; k++)
                x[k] = (float)(x[k] * g);
        }
    }
}

static void gain_reset(void *st) {
    gain_state *s = st;
    /* no signal state; finish any ramp */
    targets(s);
    for (int c = 0; c < MAXCH; c++)
        s->cur[c] = s->target[c];
    s->remaining = 0;
    s->dirty = 0;
}

const lathe_proc_desc lathe_proc_gain = {
    .name = "gain",
    .doc = "Gain and polarity. `gain` scales every channel (-inf dB = silence); `invert` flips "
           "the polarity of all channels, `invert1`..`invert8` of single channels (1 = left, "
           "2 = right). Every change moves a per-channel factor along a 20 ms linear ramp "
           "(a polarity flip passes through zero), so steps do not click; once the ramp is "
           "over the factor is exact. No latency.",
    .params = gain_params,
    .nparams = (int)(sizeof gain_params / sizeof gain_params[0]),
    .state_size = sizeof(gain_state),
    .init = gain_init,
    .set = gain_set,
    .process = gain_process,
    .reset = gain_reset,
};
