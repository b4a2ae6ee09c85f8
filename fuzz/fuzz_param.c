/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: the value parser (lathe_param_parse, lathe_value_parse,
 * lathe_time_parse) and the formatter.
 *
 * Input layout: byte 0 picks the processor (from the registry, so every
 * param kind and unit is reached), byte 1 its parameter, byte 2 the tempo
 * and meter; the rest is the text.  Contract checked: a parsed value is in
 * range (numbers), a valid index (choices) or 0/1 (bools), and its
 * formatted text parses again. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "lathe/param.h"
#include "lathe/session.h"

static const char *const UNITS[] = {"dB", "ms", "s", "Hz", "%", ":1", "dB/oct", "oct", "samples",
                                    "x", "LUFS", "dBTP", "LU", "", "furlongs"};
static const double TEMPI[] = {0, 120, 112, 1e-3, 1e9, 60, 33.3, 999};

int lathe_fuzz_param(const uint8_t *data, size_t size)
{
    if (size < 3 || size > 4096) return 0;
    int np = 0;
    const lathe_proc_desc *const *procs = lathe_processors(&np);
    if (np <= 0) abort();
    const lathe_proc_desc *desc = procs[data[0] % np];
    if (desc->nparams <= 0) return 0;
    const lathe_param_desc *p = &desc->params[data[1] % desc->nparams];
    lathe_param_ctx ctx = {TEMPI[data[2] % 8]};
    int beats = 1 + (data[2] >> 3) % 16;

    char *text = malloc(size - 2); /* NUL-terminated: the parsers take C strings */
    if (!text) return 0;
    memcpy(text, data + 3, size - 3);
    text[size - 3] = '\0';

    double v = NAN;
    lathe_error err = {0};
    lathe_status st = lathe_param_parse(p, text, (data[2] & 0x80) ? NULL : &ctx, &v, &err);
    if (st == LATHE_OK) {
        switch (p->kind) {
        case LATHE_PARAM_NUMBER:
            /* -inf is allowed only where the range reaches it */
            if (isnan(v) || v < p->min || v > p->max) abort();
            break;
        case LATHE_PARAM_CHOICE: {
            int n = 0;
            while (p->choices && p->choices[n]) n++;
            if (v != floor(v) || v < 0 || v >= n) abort();
            break;
        }
        case LATHE_PARAM_BOOL:
            if (v != 0 && v != 1) abort();
            break;
        case LATHE_PARAM_STRING:
            break;
        }
        /* what lathe prints (`lathe processors`, errors, reports) reads back in */
        char buf[128];
        double back;
        lathe_error e1 = {0};
        if (p->kind != LATHE_PARAM_STRING &&
            lathe_param_parse(p, lathe_param_format(p, v, buf, sizeof buf), NULL, &back, &e1) != LATHE_OK) {
            fprintf(stderr, "lathe fuzz: %s.%s: '%s' (from '%s') does not parse back\n", desc->name,
                    p->name, buf, text);
            abort();
        }
    } else if (!err.msg[0] || (st != LATHE_E_INVALID && st != LATHE_E_RANGE)) {
        abort(); /* every refusal says why, with one of the two codes */
    }

    for (size_t u = 0; u < sizeof UNITS / sizeof UNITS[0]; u++) {
        lathe_error e2 = {0};
        if (lathe_value_parse(text, UNITS[u], &ctx, &v, &e2) != LATHE_OK && !e2.msg[0]) abort();
    }
    lathe_error e3 = {0};
    double t;
    if (lathe_time_parse(text, ctx.tempo_bpm, beats, &t, &e3) == LATHE_OK) {
        if (isnan(t)) abort();
    } else if (!e3.msg[0]) {
        abort();
    }
    free(text);
    return 0;
}
