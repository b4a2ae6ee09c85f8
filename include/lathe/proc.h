/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe/proc.h: the processor descriptor.  One table of these drives
 * everything: session validation, automation targets, `lathe processors`,
 * the generated docs/processors.md.
 *
 * A processor is a state struct of desc->state_size bytes plus the
 * functions below.  Life cycle (the host, e.g. lathe_proc_new, does this):
 *
 *   memset(st, 0, state_size)
 *   for each param: set(st, i, default)          -- before init, no smoothing
 *   set_string(st, i, text, err)                 -- string params, if any
 *   init(st, rate, channels, max_block, err)     -- may allocate, may read files
 *   [ set(st, i, v) ... process(st, io, key, n) ]*  -- n <= max_block
 *   fini(st)                                     -- frees what init allocated
 *
 * Rules for process(): no allocation, locking, logging or I/O; planar float
 * buffers, processed in place, channel count fixed at init; parameter
 * changes from set() are smoothed (no zipper noise); denormals never slow it
 * down (the host runs with FTZ/DAZ, and recursive state adds no denormals);
 * NaN never comes out.  `key` is an optional external sidechain (same channel
 * count and frame count as io), NULL when there is none. */
#ifndef LATHE_PROC_H
#define LATHE_PROC_H

#include <stddef.h>

#include "lathe/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LATHE_PARAM_NUMBER = 0, /* a double in [min, max], in `unit` */
    LATHE_PARAM_CHOICE,     /* an index into `choices` (NULL-terminated) */
    LATHE_PARAM_BOOL,       /* 0 or 1; text: on/off, true/false, yes/no */
    LATHE_PARAM_STRING      /* text (e.g. a file path), via set_string, before init only */
} lathe_param_kind;

typedef enum {
    LATHE_PARAM_AUTOMATABLE = 1 << 0, /* may change while running (smoothed) */
    LATHE_PARAM_LOG = 1 << 1          /* log-scaled (frequency, time): for UIs and sweeps */
} lathe_param_flags;

/* Units that the parameter parser understands (lathe/param.h):
 *   "dB"  accepts "-18 dB", "-18dB", "-18", "-inf dB"
 *   "ms"  accepts "10 ms", "1.5 s", "10"; note values "1/8", "1/4.", "1/8t" when a tempo is known
 *   "s"   accepts "1.8 s", "200 ms", "1.8"
 *   "Hz"  accepts "120 Hz", "2.5 kHz", "120"
 *   "%"   accepts "50 %", "50%", "50"
 *   ":1"  a ratio: "4:1", "4"
 *   "oct" octaves, "dB/oct" slopes, "samples", "x" (factor), "" (plain number) */
typedef struct {
    const char *name; /* "threshold"; may contain a dot for grouped params: "band3.freq" */
    const char *unit; /* see above; "" for choices/bools/strings */
    const char *doc;  /* "level where gain reduction starts" */
    double min, max, def;
    lathe_param_kind kind;
    const char *const *choices; /* CHOICE only: NULL-terminated list of names */
    unsigned flags;             /* lathe_param_flags */
} lathe_param_desc;

typedef struct lathe_proc_desc {
    const char *name; /* "compressor" */
    const char *doc;  /* one paragraph: what it does, the method, the source it follows */
    const lathe_param_desc *params;
    int nparams;
    size_t state_size;

    /* Prepare for `rate` Hz, `channels` (1..8), blocks of at most max_block frames.
     * Allocation and file reading happen here. Returns LATHE_OK or fills err. */
    lathe_status (*init)(void *st, double rate, int channels, int max_block, lathe_error *err);
    /* Set a NUMBER/CHOICE/BOOL param (value already range-checked by the host). */
    void (*set)(void *st, int param, double value);
    /* Set a STRING param; may be NULL when the processor has none. Before init only. */
    lathe_status (*set_string)(void *st, int param, const char *value, lathe_error *err);
    /* Process `frames` frames in place. key: external sidechain or NULL. */
    void (*process)(void *st, float *const *io, const float *const *key, int frames);
    /* Latency in frames that process() adds (lookahead, linear-phase FIR). NULL = 0. */
    int (*latency)(const void *st);
    /* Return to silence: clear filter state, delay lines, envelopes. Params are kept. */
    void (*reset)(void *st);
    /* Free what init allocated. NULL-safe on a state whose init failed. */
    void (*fini)(void *st);
    /* Largest gain reduction (dB, >= 0) applied during the last process() call,
     * for meters and reports; NULL for processors that do not reduce gain. */
    double (*reduction_db)(const void *st);
    /* Tail in seconds after input stops (reverb, delay); NULL = none. Used by the
     * engine as an upper bound; it renders until the tail decays below -90 dBFS. */
    double (*tail_s)(const void *st);
} lathe_proc_desc;

/* ---- the registry ---- */

/* All processors, in a fixed order; *count receives the number. Static data. */
const lathe_proc_desc *const *lathe_processors(int *count);
/* The processor named `name`, or NULL. */
const lathe_proc_desc *lathe_processor_find(const char *name);
/* Index of the param named `name` in desc, or -1. */
int lathe_proc_param_index(const lathe_proc_desc *desc, const char *name);

/* ---- a running instance (host side) ---- */

typedef struct lathe_proc lathe_proc;

/* Creates an instance with every param at its default. Strings (e.g. the IR
 * file of convolve) are given as name/value pairs before init: strings may be
 * NULL when nstrings is 0. Returns NULL and fills err on failure.
 * The caller owns the result: free it with lathe_proc_free. */
lathe_proc *lathe_proc_new(const lathe_proc_desc *desc, double rate, int channels,
                           int max_block, const char *const *string_names,
                           const char *const *string_values, int nstrings,
                           lathe_error *err);
/* Like lathe_proc_new, with params set before init (values in param units;
 * indices into desc->params). Used by tests and by the engine. */
lathe_proc *lathe_proc_new_with(const lathe_proc_desc *desc, double rate, int channels,
                                int max_block, const int *param_idx, const double *values,
                                int nvalues, lathe_error *err);
/* Both at once: values (indices into desc->params) and strings (by name),
 * all set before init. */
lathe_proc *lathe_proc_new_full(const lathe_proc_desc *desc, double rate, int channels,
                                int max_block, const int *param_idx, const double *values,
                                int nvalues, const char *const *string_names,
                                const char *const *string_values, int nstrings,
                                lathe_error *err);
void lathe_proc_free(lathe_proc *p); /* NULL-safe */
/* Sets a param, range-checked; out-of-range values are clamped. */
void lathe_proc_set(lathe_proc *p, int param, double value);
/* Sets a param by name; returns LATHE_E_INVALID for an unknown name. */
lathe_status lathe_proc_set_by_name(lathe_proc *p, const char *name, double value,
                                    lathe_error *err);
/* Processes any number of frames (split into max_block pieces internally). */
void lathe_proc_process(lathe_proc *p, float *const *io, const float *const *key, long frames);
int lathe_proc_latency(const lathe_proc *p);
void lathe_proc_reset(lathe_proc *p);
double lathe_proc_reduction_db(const lathe_proc *p);
double lathe_proc_tail_s(const lathe_proc *p);
const lathe_proc_desc *lathe_proc_descriptor(const lathe_proc *p);
void *lathe_proc_state(lathe_proc *p); /* for tests that look inside */

#ifdef __cplusplus
}
#endif
#endif
