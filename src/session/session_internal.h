/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Internal to src/session: the YAML node tree (with line/column marks),
 * diagnostics collection and "did you mean" suggestions. */
#ifndef LATHE_SESSION_INTERNAL_H
#define LATHE_SESSION_INTERNAL_H

#include <stddef.h>

#include "lathe/session.h"

/* ---- YAML tree ---- */

typedef enum { LATHE_YN_SCALAR = 0, LATHE_YN_SEQ, LATHE_YN_MAP } lathe_yn_kind;

typedef struct lathe_yn {
    lathe_yn_kind kind;
    int line, col;          /* 1-based mark of the node's first character */
    char *str;              /* SCALAR: the text (never NULL) */
    int quoted;             /* SCALAR: written in quotes */
    struct lathe_yn **kids; /* SEQ: items; MAP: key, value, key, value, ... */
    int n, cap;             /* number of kids (MAP: 2 x entries) */
} lathe_yn;

/* Parses text into a tree. On a YAML syntax error adds the diagnostic
 * (libyaml's problem and its mark) and returns NULL. Returns NULL without a
 * diagnostic for an empty document (*empty set to 1). */
lathe_yn *lathe_yaml_tree(const char *text, size_t len, lathe_diags *d, int *empty);
void lathe_yaml_free(lathe_yn *n); /* NULL-safe */

/* A null value: an empty plain scalar ("key:" with nothing after it) or "~"/"null". */
int lathe_yn_is_null(const lathe_yn *n);
/* Value of key `k` in map m, or NULL (the first occurrence). */
lathe_yn *lathe_yn_get(const lathe_yn *m, const char *k);

/* ---- diagnostics ---- */

void lathe_diag_add(lathe_diags *d, int line, int col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Reports keys of map m that are not in `valid` (NULL: any key), with the
 * nearest valid name, and keys given twice. */
void lathe_yn_check_keys(lathe_diags *d, const lathe_yn *m, const char *const *valid);
/* Sorts by line, then column (stable: same place keeps the order found). */
void lathe_diags_sort(lathe_diags *d);

/* ---- suggestions ---- */

/* Levenshtein distance (insert, delete, substitute cost 1), case-insensitive. */
int lathe_edit_distance(const char *a, const char *b);

typedef struct {
    const char *word;
    const char *best;
    int dist; /* score of best: 2 x distance, 3 for a prefix */
} lathe_suggest;

void lathe_suggest_init(lathe_suggest *s, const char *word);
void lathe_suggest_add(lathe_suggest *s, const char *candidate);
/* The nearest candidate when it is close enough to be a typo (edit
 * distance <= 2 and at most half the candidate's length, rounded up) or an
 * abbreviation (the word is a prefix of 3+ letters), else NULL. */
const char *lathe_suggest_result(const lathe_suggest *s);
/* " (did you mean 'X'?)" or "" into buf; returns buf. */
const char *lathe_suggest_text(const lathe_suggest *s, char *buf, size_t len);

/* ---- processors that take a sidechain key ---- */
int lathe_proc_takes_key(const lathe_proc_desc *d);

#endif
