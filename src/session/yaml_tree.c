/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libyaml's event stream turned into a small tree of scalars, lists and
 * maps, each node keeping the 1-based line and column where it starts, so
 * that every diagnostic can point at the offending key or value. */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "session/session_internal.h"

static lathe_yn *yn_new(lathe_yn_kind kind, const yaml_mark_t *m) {
    lathe_yn *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->kind = kind;
    n->line = (int)m->line + 1;
    n->col = (int)m->column + 1;
    return n;
}

void lathe_yaml_free(lathe_yn *n) {
    if (!n) return;
    for (int i = 0; i < n->n; i++)
        lathe_yaml_free(n->kids[i]);
    free(n->kids);
    free(n->str);
    free(n);
}

static int yn_push(lathe_yn *parent, lathe_yn *kid) {
    if (parent->n == parent->cap) {
        int cap = parent->cap ? 2 * parent->cap : 8;
        lathe_yn **k = realloc(parent->kids, (size_t)cap * sizeof *k);
        if (!k) return 0;
        parent->kids = k, parent->cap = cap;
    }
    parent->kids[parent->n++] = kid;
    return 1;
}

int lathe_yn_is_null(const lathe_yn *n) {
    if (!n) return 1;
    if (n->kind != LATHE_YN_SCALAR || n->quoted) return 0;
    return n->str[0] == '\0' || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
           strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

lathe_yn *lathe_yn_get(const lathe_yn *m, const char *k) {
    if (!m || m->kind != LATHE_YN_MAP) return NULL;
    for (int i = 0; i + 1 < m->n; i += 2)
        if (m->kids[i]->kind == LATHE_YN_SCALAR && strcmp(m->kids[i]->str, k) == 0)
            return m->kids[i + 1];
    return NULL;
}

#define MAX_DEPTH 64

/* libyaml reports a tab in the indentation as "found character that cannot
 * start any token": 1 when the problem line is indented with a tab or the
 * problem character is one, so the message can say so. */
static int tab_at(const char *text, size_t len, size_t line, size_t col) {
    size_t i = 0;
    for (size_t l = 0; l < line && i < len; i++)
        if (text[i] == '\n') l++;
    for (size_t c = 0; i < len && (text[i] == ' ' || text[i] == '\t'); i++, c++)
        if (text[i] == '\t' && c <= col) return 1;
    return 0;
}

lathe_yn *lathe_yaml_tree(const char *text, size_t len, lathe_diags *d, int *empty) {
    yaml_parser_t p;
    yaml_event_t ev;
    lathe_yn *stack[MAX_DEPTH];
    int depth = 0, skip = 0, docs = 0, done = 0, failed = 0;
    lathe_yn *root = NULL;
    *empty = 0;
    if (!yaml_parser_initialize(&p)) {
        lathe_diag_add(d, 0, 0, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            const char *problem = p.problem ? p.problem : "cannot be parsed";
            if (tab_at(text, len, p.problem_mark.line, p.problem_mark.column))
                lathe_diag_add(d, (int)p.problem_mark.line + 1, (int)p.problem_mark.column + 1,
                               "YAML syntax error: a tab character; YAML indents with spaces only");
            else if (p.context)
                lathe_diag_add(d, (int)p.problem_mark.line + 1, (int)p.problem_mark.column + 1,
                               "YAML syntax error: %s (%s at line %d)", problem, p.context,
                               (int)p.context_mark.line + 1);
            else
                lathe_diag_add(d, (int)p.problem_mark.line + 1, (int)p.problem_mark.column + 1,
                               "YAML syntax error: %s", problem);
            failed = 1;
            break;
        }
        lathe_yn *node = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs == 2)
                lathe_diag_add(d, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                               "a lathe YAML file holds one document; this is a second one");
            break;
        case YAML_SCALAR_EVENT:
            node = yn_new(LATHE_YN_SCALAR, &ev.start_mark);
            if (node) {
                node->str = malloc(ev.data.scalar.length + 1);
                if (node->str) {
                    memcpy(node->str, ev.data.scalar.value, ev.data.scalar.length);
                    node->str[ev.data.scalar.length] = '\0';
                }
                node->quoted = ev.data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                               ev.data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE ||
                               ev.data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
                               ev.data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
                if (!node->str) {
                    free(node);
                    node = NULL;
                }
            }
            break;
        case YAML_ALIAS_EVENT:
            lathe_diag_add(
                d, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                "YAML aliases (*%s) are not supported in lathe files; write the value out",
                (const char *)ev.data.alias.anchor);
            node = yn_new(LATHE_YN_SCALAR, &ev.start_mark);
            if (node && !(node->str = calloc(1, 1))) free(node), node = NULL;
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            node = yn_new(ev.type == YAML_SEQUENCE_START_EVENT ? LATHE_YN_SEQ : LATHE_YN_MAP,
                          &ev.start_mark);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (skip > 0)
                skip--;
            else if (depth > 0)
                depth--;
            break;
        default:
            break;
        }
        int opens = ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT;
        int makes = opens || ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT;
        yaml_event_delete(&ev);
        if (!makes) continue;
        if (!node) {
            lathe_diag_add(d, 0, 0, "out of memory");
            failed = 1;
            break;
        }
        if (docs >= 2) { /* later documents are reported once and skipped */
            lathe_yaml_free(node);
            if (opens) skip++;
            continue;
        }
        if (depth == 0) {
            if (!root)
                root = node;
            else
                lathe_yaml_free(node);
        } else if (!yn_push(stack[depth - 1], node)) {
            lathe_yaml_free(node);
            lathe_diag_add(d, 0, 0, "out of memory");
            failed = 1;
            break;
        }
        if (opens) {
            if (depth == MAX_DEPTH) {
                lathe_diag_add(d, node->line, node->col, "nested deeper than %d levels", MAX_DEPTH);
                failed = 1;
                break;
            }
            stack[depth++] = node;
        }
    }
    yaml_parser_delete(&p);
    if (failed) {
        lathe_yaml_free(root);
        return NULL;
    }
    if (!root) *empty = 1;
    return root;
}
