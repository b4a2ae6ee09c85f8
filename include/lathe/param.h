/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe/param.h: the one parser for values with units, shared by sessions,
 * chains, the CLI and automation.  "-18 dB", "-18dB", "4:1", "10 ms",
 * "1.5 s", "2.5 kHz", "50 %", "-inf dB", note values "1/8." at a tempo,
 * choice names ("highpass") and booleans ("on").
 *
 * Errors name the parameter, echo the text, and state range and unit:
 *   threshold: -90 dB is out of range (-60 dB to 0 dB) */
#ifndef LATHE_PARAM_H
#define LATHE_PARAM_H

#include "lathe/error.h"
#include "lathe/proc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    double tempo_bpm; /* for note values ("1/8"); 0 = unknown (note values are an error) */
} lathe_param_ctx;

/* Parses `text` for param `p` into *out (in p->unit; choice index; 0/1).
 * Range is checked. On error fills err ("NAME: ...") and returns
 * LATHE_E_INVALID (bad text or unit) or LATHE_E_RANGE. ctx may be NULL. */
lathe_status lathe_param_parse(const lathe_param_desc *p, const char *text,
                               const lathe_param_ctx *ctx, double *out, lathe_error *err);

/* Parses a value with unit without a descriptor: converts to `unit`
 * ("dB", "ms", "s", "Hz", "%", ":1", ...). No range check. */
lathe_status lathe_value_parse(const char *text, const char *unit, const lathe_param_ctx *ctx,
                               double *out, lathe_error *err);

/* Formats v in p's unit for humans ("-18 dB", "2.5 kHz", "highpass", "on")
 * into buf; returns buf. */
const char *lathe_param_format(const lathe_param_desc *p, double v, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
