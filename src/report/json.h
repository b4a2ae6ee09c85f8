/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A small streaming JSON writer for reports and --json output.  Keys are
 * snake_case by convention; non-finite numbers are written as null (JSON
 * has no infinity). Internal header. */
#ifndef LATHE_REPORT_JSON_H
#define LATHE_REPORT_JSON_H

#include <stdio.h>

#define LATHE_JSON_DEPTH 32

typedef struct {
    FILE *f;
    int depth;
    int count[LATHE_JSON_DEPTH]; /* members written at each depth */
    char close[LATHE_JSON_DEPTH]; /* '}' or ']' for each open level */
} lathe_json;

void lathe_json_init(lathe_json *j, FILE *f);
/* key is NULL inside arrays and at the top level. */
void lathe_json_object(lathe_json *j, const char *key);
void lathe_json_array(lathe_json *j, const char *key);
void lathe_json_end(lathe_json *j); /* closes the innermost object or array */
void lathe_json_num(lathe_json *j, const char *key, double v, int decimals);
void lathe_json_int(lathe_json *j, const char *key, long long v);
void lathe_json_str(lathe_json *j, const char *key, const char *s);
void lathe_json_bool(lathe_json *j, const char *key, int v);
void lathe_json_null(lathe_json *j, const char *key);
/* Starts a member whose value the caller writes to j->f itself (valid JSON). */
void lathe_json_raw(lathe_json *j, const char *key);
/* Writes s as a JSON string literal (with quotes and escapes). */
void lathe_json_write_string(FILE *f, const char *s);

#endif
