/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Diagnostics: collected, sorted by place, formatted as "file:line:col: msg";
 * and the "did you mean" suggestions (Levenshtein distance). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "session/session_internal.h"

void lathe_diag_add(lathe_diags *d, int line, int col, const char *fmt, ...) {
    if (d->count == d->cap) {
        int cap = d->cap ? 2 * d->cap : 16;
        lathe_diag *it = realloc(d->items, (size_t)cap * sizeof *it);
        if (!it) return; /* out of memory: the diagnostic is lost, the load still fails */
        d->items = it, d->cap = cap;
    }
    lathe_diag *x = &d->items[d->count++];
    x->line = line, x->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->msg, sizeof x->msg, fmt, ap);
    va_end(ap);
}

void lathe_diags_sort(lathe_diags *d) {
    /* insertion sort: stable, and the lists are short */
    for (int i = 1; i < d->count; i++) {
        lathe_diag x = d->items[i];
        int j = i;
        while (j > 0 && (d->items[j - 1].line > x.line ||
                         (d->items[j - 1].line == x.line && d->items[j - 1].col > x.col))) {
            d->items[j] = d->items[j - 1];
            j--;
        }
        d->items[j] = x;
    }
}

const char *lathe_diag_format(const lathe_diags *d, int i, char *buf, size_t len) {
    if (!len) return buf;
    if (!d || i < 0 || i >= d->count) {
        buf[0] = '\0';
        return buf;
    }
    const lathe_diag *x = &d->items[i];
    const char *file = d->file ? d->file : "session";
    if (x->line > 0)
        snprintf(buf, len, "%s:%d:%d: %s", file, x->line, x->col, x->msg);
    else
        snprintf(buf, len, "%s: %s", file, x->msg);
    return buf;
}

void lathe_diags_free(lathe_diags *d) {
    if (!d) return;
    free(d->items);
    free(d->file);
    d->items = NULL, d->file = NULL;
    d->count = d->cap = 0;
}

int lathe_edit_distance(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    if (n > 64 || m > 64) return 1000; /* names are short; long text is not a typo */
    int row[65];
    for (size_t j = 0; j <= m; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int up = row[j];
            int sub = diag + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            int best = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
            row[j] = sub < best ? sub : best;
            diag = up;
        }
    }
    return row[m];
}

void lathe_suggest_init(lathe_suggest *s, const char *word) {
    s->word = word, s->best = NULL, s->dist = 100000;
}

/* Scores are in half steps: 2 x the edit distance, or 3 for an abbreviation
 * (a prefix of 3+ letters: "lin" for "linear"), so that a real one-letter
 * typo wins over an abbreviation. */
void lathe_suggest_add(lathe_suggest *s, const char *candidate) {
    int score = 2 * lathe_edit_distance(s->word, candidate);
    size_t n = strlen(s->word);
    if (score > 3 && n >= 3 && strncasecmp(s->word, candidate, n) == 0) score = 3;
    if (score < s->dist) s->dist = score, s->best = candidate;
}

const char *lathe_suggest_result(const lathe_suggest *s) {
    if (!s->best) return NULL;
    int len = (int)strlen(s->best);
    return (s->dist <= 4 && s->dist <= len + 1) ? s->best : NULL;
}

const char *lathe_suggest_text(const lathe_suggest *s, char *buf, size_t len) {
    const char *r = lathe_suggest_result(s);
    if (r)
        snprintf(buf, len, " (did you mean '%s'?)", r);
    else if (len)
        buf[0] = '\0';
    return buf;
}

/* Reports keys of map m that are not in `valid` (with the nearest valid
 * name) and keys given twice. */
void lathe_yn_check_keys(lathe_diags *d, const lathe_yn *m, const char *const *valid) {
    for (int i = 0; i + 1 < m->n; i += 2) {
        const lathe_yn *k = m->kids[i];
        if (k->kind != LATHE_YN_SCALAR) {
            lathe_diag_add(d, k->line, k->col, "a key must be a plain name, not %s", k->kind == LATHE_YN_SEQ ? "a list" : "a map");
            continue;
        }
        for (int j = 0; j < i; j += 2)
            if (m->kids[j]->kind == LATHE_YN_SCALAR && strcmp(m->kids[j]->str, k->str) == 0) {
                lathe_diag_add(d, k->line, k->col, "duplicate key '%s' (first given at line %d)", k->str, m->kids[j]->line);
                break;
            }
        if (!valid) continue;
        int ok = 0;
        lathe_suggest sg;
        lathe_suggest_init(&sg, k->str);
        for (int v = 0; valid[v]; v++) {
            if (strcmp(valid[v], k->str) == 0) ok = 1;
            lathe_suggest_add(&sg, valid[v]);
        }
        if (ok) continue;
        if (lathe_suggest_result(&sg)) {
            lathe_diag_add(d, k->line, k->col, "unknown key '%s' (did you mean '%s'?)", k->str, lathe_suggest_result(&sg));
        } else {
            char list[400] = "";
            for (int v = 0; valid[v]; v++) {
                size_t u = strlen(list);
                snprintf(list + u, sizeof list - u, "%s%s", v ? ", " : "", valid[v]);
            }
            lathe_diag_add(d, k->line, k->col, "unknown key '%s' (valid here: %s)", k->str, list);
        }
    }
}
