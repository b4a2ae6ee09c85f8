/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A growing string buffer for the report writers (SVG from cairo, HTML).
 * On allocation failure it stops growing and sets fail; callers check once
 * at the end.  Internal header. */
#ifndef LATHE_REPORT_SBUF_H
#define LATHE_REPORT_SBUF_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *d; /* NUL-terminated once anything was written */
    size_t n, cap;
    int fail;
} lathe_sbuf;

static inline void lathe_sb_put(lathe_sbuf *b, const char *s, size_t n)
{
    if (b->fail) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1) cap *= 2;
        char *d = realloc(b->d, cap);
        if (!d) {
            b->fail = 1;
            return;
        }
        b->d = d;
        b->cap = cap;
    }
    memcpy(b->d + b->n, s, n);
    b->n += n;
    b->d[b->n] = 0;
}

static inline void lathe_sb_str(lathe_sbuf *b, const char *s)
{
    lathe_sb_put(b, s, strlen(s));
}

/* Text with &, <, > and " escaped for HTML/XML. */
static inline void lathe_sb_escaped(lathe_sbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': lathe_sb_put(b, "&amp;", 5); break;
        case '<': lathe_sb_put(b, "&lt;", 4); break;
        case '>': lathe_sb_put(b, "&gt;", 4); break;
        case '"': lathe_sb_put(b, "&quot;", 6); break;
        default: lathe_sb_put(b, s, 1);
        }
    }
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static inline void lathe_sb_printf(lathe_sbuf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        lathe_sb_put(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->fail = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    lathe_sb_put(b, big, (size_t)n);
    free(big);
}

#endif
