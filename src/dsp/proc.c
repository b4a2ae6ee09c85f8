/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The host side of a processor: allocates its state, sets defaults, runs
 * the life cycle that lathe/proc.h describes, and splits long buffers into
 * blocks of at most max_block frames. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/proc.h"

struct lathe_proc {
    const lathe_proc_desc *desc;
    int channels, max_block, inited;
    void *state;
};

static double clamp_param(const lathe_param_desc *p, double v)
{
    if (isnan(v)) return p->def;
    if (v < p->min) return p->min;
    if (v > p->max) return p->max;
    return v;
}

static lathe_proc *create(const lathe_proc_desc *desc, int channels, int max_block,
                          lathe_error *err)
{
    if (channels < 1 || channels > 8) {
        lathe_error_set(err, LATHE_E_INVALID, "%s: %d channels (1 to 8 supported)", desc->name,
                        channels);
        return NULL;
    }
    lathe_proc *p = calloc(1, sizeof *p);
    /* 64-byte aligned state, so processors may keep SIMD-friendly arrays inside. */
    size_t size = (desc->state_size + 63) / 64 * 64;
    void *state = size ? aligned_alloc(64, size) : NULL;
    if (!p || (size && !state)) {
        free(p);
        free(state);
        lathe_error_set(err, LATHE_E_NOMEM, "%s: out of memory", desc->name);
        return NULL;
    }
    memset(state, 0, size);
    p->desc = desc;
    p->channels = channels;
    p->max_block = max_block > 0 ? max_block : 512;
    p->state = state;
    for (int i = 0; i < desc->nparams; i++)
        if (desc->params[i].kind != LATHE_PARAM_STRING) desc->set(state, i, desc->params[i].def);
    return p;
}

static lathe_proc *finish(lathe_proc *p, double rate, lathe_error *err)
{
    lathe_status st = p->desc->init(p->state, rate, p->channels, p->max_block, err);
    if (st != LATHE_OK) {
        lathe_proc_free(p);
        return NULL;
    }
    p->inited = 1;
    return p;
}

lathe_proc *lathe_proc_new_full(const lathe_proc_desc *desc, double rate, int channels,
                                int max_block, const int *param_idx, const double *values,
                                int nvalues, const char *const *string_names,
                                const char *const *string_values, int nstrings,
                                lathe_error *err)
{
    lathe_proc *p = create(desc, channels, max_block, err);
    if (!p) return NULL;
    for (int i = 0; i < nvalues; i++) {
        int k = param_idx[i];
        if (k < 0 || k >= desc->nparams || desc->params[k].kind == LATHE_PARAM_STRING) {
            lathe_error_set(err, LATHE_E_INVALID, "%s: bad parameter index %d", desc->name, k);
            lathe_proc_free(p);
            return NULL;
        }
        desc->set(p->state, k, clamp_param(&desc->params[k], values[i]));
    }
    for (int i = 0; i < nstrings; i++) {
        int k = lathe_proc_param_index(desc, string_names[i]);
        if (k < 0 || desc->params[k].kind != LATHE_PARAM_STRING || !desc->set_string) {
            lathe_error_set(err, LATHE_E_INVALID, "%s: no text parameter '%s'", desc->name,
                            string_names[i]);
            lathe_proc_free(p);
            return NULL;
        }
        if (desc->set_string(p->state, k, string_values[i], err) != LATHE_OK) {
            lathe_proc_free(p);
            return NULL;
        }
    }
    return finish(p, rate, err);
}

lathe_proc *lathe_proc_new(const lathe_proc_desc *desc, double rate, int channels,
                           int max_block, const char *const *string_names,
                           const char *const *string_values, int nstrings, lathe_error *err)
{
    return lathe_proc_new_full(desc, rate, channels, max_block, NULL, NULL, 0, string_names,
                               string_values, nstrings, err);
}

lathe_proc *lathe_proc_new_with(const lathe_proc_desc *desc, double rate, int channels,
                                int max_block, const int *param_idx, const double *values,
                                int nvalues, lathe_error *err)
{
    return lathe_proc_new_full(desc, rate, channels, max_block, param_idx, values, nvalues, NULL,
                               NULL, 0, err);
}

void lathe_proc_free(lathe_proc *p)
{
    if (!p) return;
    if (p->desc->fini) p->desc->fini(p->state);
    free(p->state);
    free(p);
}

void lathe_proc_set(lathe_proc *p, int param, double value)
{
    if (param < 0 || param >= p->desc->nparams) return;
    const lathe_param_desc *d = &p->desc->params[param];
    if (d->kind == LATHE_PARAM_STRING) return;
    p->desc->set(p->state, param, clamp_param(d, value));
}

lathe_status lathe_proc_set_by_name(lathe_proc *p, const char *name, double value,
                                    lathe_error *err)
{
    int k = lathe_proc_param_index(p->desc, name);
    if (k < 0)
        return lathe_error_set(err, LATHE_E_INVALID, "%s: no parameter '%s'", p->desc->name, name);
    lathe_proc_set(p, k, value);
    return LATHE_OK;
}

void lathe_proc_process(lathe_proc *p, float *const *io, const float *const *key, long frames)
{
    float *iob[8];
    const float *keyb[8];
    for (long off = 0; off < frames;) {
        int n = (int)(frames - off < p->max_block ? frames - off : p->max_block);
        for (int c = 0; c < p->channels; c++) {
            iob[c] = io[c] + off;
            if (key) keyb[c] = key[c] + off;
        }
        p->desc->process(p->state, iob, key ? keyb : NULL, n);
        off += n;
    }
}

int lathe_proc_latency(const lathe_proc *p)
{
    return p->desc->latency ? p->desc->latency(p->state) : 0;
}

void lathe_proc_reset(lathe_proc *p)
{
    if (p->desc->reset) p->desc->reset(p->state);
}

double lathe_proc_reduction_db(const lathe_proc *p)
{
    return p->desc->reduction_db ? p->desc->reduction_db(p->state) : 0.0;
}

double lathe_proc_tail_s(const lathe_proc *p)
{
    return p->desc->tail_s ? p->desc->tail_s(p->state) : 0.0;
}

const lathe_proc_desc *lathe_proc_descriptor(const lathe_proc *p)
{
    return p->desc;
}

void *lathe_proc_state(lathe_proc *p)
{
    return p->state;
}
