/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The one parser for values with units.  Everything that reads a value a
 * person typed (sessions, chains, the CLI, automation) comes through here, so
 * "-18 dB", "-18dB" and "-18" mean the same thing everywhere, and every error
 * states the parameter, the range and the unit. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lathe/param.h"

/* A unit family: the canonical unit, the suffixes accepted and their factor
 * to the canonical unit, and a word for error messages. */
typedef struct {
    const char *unit;
    const char *what; /* "a level", "a time" */
    const char *example;
    struct {
        const char *suffix;
        double factor;
    } alt[4];
} unit_family;

static const unit_family families[] = {
    {"dB", "a level or gain in dB", "-18 dB", {{"dB", 1}, {"db", 1}}},
    {"ms", "a time", "10 ms or 1.5 s", {{"ms", 1}, {"s", 1000}, {"sec", 1000}}},
    {"s", "a time", "1.8 s or 200 ms", {{"s", 1}, {"ms", 0.001}, {"sec", 1}}},
    {"Hz", "a frequency", "120 Hz or 2.5 kHz", {{"Hz", 1}, {"kHz", 1000}, {"hz", 1}, {"khz", 1000}}},
    {"%", "a percentage", "50 %", {{"%", 1}}},
    {":1", "a ratio", "4:1", {{":1", 1}}},
    {"dB/oct", "a slope", "24 dB/oct", {{"dB/oct", 1}, {"db/oct", 1}}},
    {"oct", "a width in octaves", "1 oct", {{"oct", 1}}},
    {"samples", "a count of samples", "12 samples", {{"samples", 1}, {"smp", 1}}},
    {"x", "a factor", "4x", {{"x", 1}}},
    {"LUFS", "a loudness", "-14 LUFS", {{"LUFS", 1}, {"LKFS", 1}}},
    {"dBTP", "a true-peak level", "-1 dBTP", {{"dBTP", 1}, {"dB", 1}}},
    {"LU", "a loudness difference", "6 LU", {{"LU", 1}}},
};

static const unit_family *family_of(const char *unit)
{
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strcmp(families[i].unit, unit) == 0) return &families[i];
    return NULL;
}

static const char *skip_space(const char *s)
{
    while (*s && isspace((unsigned char)*s)) s++;
    return s;
}

/* Trailing-space-trimmed equality. */
static int rest_is(const char *rest, const char *suffix)
{
    size_t n = strlen(suffix);
    if (strncmp(rest, suffix, n) != 0) return 0;
    return *skip_space(rest + n) == '\0';
}

/* Note values at a tempo: "1/8", "1/4.", "1/8t", "3/16"; returns ms or -1. */
static double note_value_ms(const char *s, double bpm)
{
    char *end;
    errno = 0;
    long num = strtol(s, &end, 10);
    if (end == s || *end != '/' || num <= 0) return -1;
    const char *d = end + 1;
    long den = strtol(d, &end, 10);
    if (end == d || den <= 0) return -1;
    double mult = 1.0;
    if (*end == '.') mult = 1.5, end++;
    else if (*end == 't' || *end == 'T') mult = 2.0 / 3.0, end++;
    if (*skip_space(end) != '\0') return -1;
    /* A whole note is four beats of 60000/bpm ms. */
    return 4.0 * 60000.0 / bpm * (double)num / (double)den * mult;
}

lathe_status lathe_value_parse(const char *text, const char *unit, const lathe_param_ctx *ctx,
                               double *out, lathe_error *err)
{
    const unit_family *fam = family_of(unit ? unit : "");
    const char *s = skip_space(text ? text : "");
    if (*s == '\0') return lathe_error_set(err, LATHE_E_INVALID, "empty value");

    /* Note values for times. */
    if (fam && (strcmp(fam->unit, "ms") == 0 || strcmp(fam->unit, "s") == 0) &&
        strchr(s, '/')) {
        double bpm = ctx ? ctx->tempo_bpm : 0;
        if (bpm <= 0)
            return lathe_error_set(err, LATHE_E_INVALID,
                                   "'%s' is a note value, but no tempo is set", text);
        double ms = note_value_ms(s, bpm);
        if (ms < 0)
            return lathe_error_set(err, LATHE_E_INVALID,
                                   "'%s' is not a note value (write e.g. 1/8, 1/4. or 1/8t)", text);
        *out = strcmp(fam->unit, "s") == 0 ? ms / 1000.0 : ms;
        return LATHE_OK;
    }

    double v;
    const char *rest;
    char *end;
    if (strncasecmp(s, "-inf", 4) == 0) {
        v = -INFINITY, rest = s + 4;
    } else if (strncasecmp(s, "+inf", 4) == 0) {
        v = INFINITY, rest = s + 4;
    } else if (strncasecmp(s, "inf", 3) == 0) {
        v = INFINITY, rest = s + 3;
    } else {
        errno = 0;
        v = strtod(s, &end);
        /* strtod also reads "nan" and hex floats: accept neither. */
        if (end == s || errno == ERANGE || isnan(v) ||
            (strchr(s, 'x') && strchr(s, 'x') < end) || (strchr(s, 'X') && strchr(s, 'X') < end))
            return lathe_error_set(err, LATHE_E_INVALID, "'%s' is not a number%s%s%s", text,
                                   fam ? " (write e.g. " : "", fam ? fam->example : "",
                                   fam ? ")" : "");
        rest = end;
    }
    rest = skip_space(rest);
    if (*rest == '\0') {
        *out = v;
        return LATHE_OK;
    }
    if (fam) {
        for (int i = 0; i < 4 && fam->alt[i].suffix; i++)
            if (rest_is(rest, fam->alt[i].suffix)) {
                *out = v * fam->alt[i].factor;
                return LATHE_OK;
            }
        return lathe_error_set(err, LATHE_E_INVALID, "'%s' is not %s (write e.g. %s)", text,
                               fam->what, fam->example);
    }
    if (unit && *unit && rest_is(rest, unit)) {
        *out = v;
        return LATHE_OK;
    }
    return lathe_error_set(err, LATHE_E_INVALID, "'%s' is not a plain number", text);
}

static void fmt_num(char *buf, size_t len, double v)
{
    if (isinf(v)) snprintf(buf, len, "%sinf", v < 0 ? "-" : "");
    else snprintf(buf, len, "%.6g", v);
}

const char *lathe_param_format(const lathe_param_desc *p, double v, char *buf, size_t len)
{
    if (!len) return buf;
    switch (p->kind) {
    case LATHE_PARAM_CHOICE: {
        int n = 0;
        while (p->choices && p->choices[n]) n++;
        int i = (int)lrint(v);
        snprintf(buf, len, "%s", (i >= 0 && i < n) ? p->choices[i] : "?");
        return buf;
    }
    case LATHE_PARAM_BOOL:
        snprintf(buf, len, "%s", v != 0 ? "on" : "off");
        return buf;
    case LATHE_PARAM_STRING:
        snprintf(buf, len, "(text)");
        return buf;
    case LATHE_PARAM_NUMBER:
        break;
    }
    char num[48];
    if (strcmp(p->unit, "Hz") == 0 && fabs(v) >= 1000 && isfinite(v)) {
        fmt_num(num, sizeof num, v / 1000.0);
        snprintf(buf, len, "%s kHz", num);
    } else if (strcmp(p->unit, ":1") == 0) {
        fmt_num(num, sizeof num, v);
        snprintf(buf, len, "%s:1", num);
    } else {
        fmt_num(num, sizeof num, v);
        snprintf(buf, len, "%s%s%s", num, *p->unit ? " " : "", p->unit);
    }
    return buf;
}

lathe_status lathe_param_parse(const lathe_param_desc *p, const char *text,
                               const lathe_param_ctx *ctx, double *out, lathe_error *err)
{
    const char *s = skip_space(text ? text : "");
    if (p->kind == LATHE_PARAM_CHOICE) {
        size_t n = strlen(s);
        while (n && isspace((unsigned char)s[n - 1])) n--;
        char list[512] = "";
        for (int i = 0; p->choices && p->choices[i]; i++) {
            if (strlen(p->choices[i]) == n && strncasecmp(p->choices[i], s, n) == 0) {
                *out = i;
                return LATHE_OK;
            }
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", p->choices[i]);
        }
        return lathe_error_set(err, LATHE_E_INVALID, "%s: '%s' is not one of: %s", p->name, text,
                               list);
    }
    if (p->kind == LATHE_PARAM_BOOL) {
        static const char *yes[] = {"on", "true", "yes", "1"}, *no[] = {"off", "false", "no", "0"};
        for (int i = 0; i < 4; i++) {
            if (strcasecmp(s, yes[i]) == 0) return *out = 1, LATHE_OK;
            if (strcasecmp(s, no[i]) == 0) return *out = 0, LATHE_OK;
        }
        return lathe_error_set(err, LATHE_E_INVALID, "%s: '%s' is not on or off", p->name, text);
    }
    if (p->kind == LATHE_PARAM_STRING)
        return lathe_error_set(err, LATHE_E_INVALID, "%s: takes text, not a value", p->name);

    double v;
    lathe_status st = lathe_value_parse(text, p->unit, ctx, &v, err);
    if (st != LATHE_OK) {
        lathe_error_prefix(err, p->name);
        return st;
    }
    if (!(v >= p->min && v <= p->max)) {
        char a[64], lo[64], hi[64];
        lathe_param_format(p, v, a, sizeof a);
        lathe_param_format(p, p->min, lo, sizeof lo);
        lathe_param_format(p, p->max, hi, sizeof hi);
        return lathe_error_set(err, LATHE_E_RANGE, "%s: %s is out of range (%s to %s)", p->name, a,
                               lo, hi);
    }
    *out = v;
    return LATHE_OK;
}
