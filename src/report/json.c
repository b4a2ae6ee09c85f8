/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Streaming JSON writer: two-space indentation, one member per line. */
#include <math.h>

#include "report/json.h"

void lathe_json_init(lathe_json *j, FILE *f)
{
    j->f = f;
    j->depth = 0;
    j->count[0] = 0;
}

void lathe_json_write_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void member(lathe_json *j, const char *key)
{
    if (j->count[j->depth]++) fputc(',', j->f);
    if (j->depth) {
        fputc('\n', j->f);
        for (int i = 0; i < j->depth; i++) fputs("  ", j->f);
    }
    if (key) {
        lathe_json_write_string(j->f, key);
        fputs(": ", j->f);
    }
}

static void open_(lathe_json *j, const char *key, char c)
{
    member(j, key);
    fputc(c, j->f);
    if (j->depth < LATHE_JSON_DEPTH - 1) {
        j->close[++j->depth] = c == '{' ? '}' : ']';
        j->count[j->depth] = 0;
    }
}

void lathe_json_object(lathe_json *j, const char *key)
{
    open_(j, key, '{');
}

void lathe_json_array(lathe_json *j, const char *key)
{
    open_(j, key, '[');
}

void lathe_json_end(lathe_json *j)
{
    if (j->depth == 0) return;
    int had = j->count[j->depth];
    char c = j->close[j->depth--];
    if (had) {
        fputc('\n', j->f);
        for (int i = 0; i < j->depth; i++) fputs("  ", j->f);
    }
    fputc(c, j->f);
    if (j->depth == 0) fputc('\n', j->f);
}

void lathe_json_num(lathe_json *j, const char *key, double v, int decimals)
{
    member(j, key);
    if (!isfinite(v)) fputs("null", j->f);
    else if (v == 0) fputs("0", j->f);
    else fprintf(j->f, "%.*f", decimals, v);
}

void lathe_json_int(lathe_json *j, const char *key, long long v)
{
    member(j, key);
    fprintf(j->f, "%lld", v);
}

void lathe_json_str(lathe_json *j, const char *key, const char *s)
{
    member(j, key);
    lathe_json_write_string(j->f, s);
}

void lathe_json_bool(lathe_json *j, const char *key, int v)
{
    member(j, key);
    fputs(v ? "true" : "false", j->f);
}

void lathe_json_raw(lathe_json *j, const char *key)
{
    member(j, key);
}

void lathe_json_null(lathe_json *j, const char *key)
{
    member(j, key);
    fputs("null", j->f);
}
