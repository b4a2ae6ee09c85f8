/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe processors [NAME] [--json | --markdown]
 * Everything here comes from the descriptor table; docs/processors.md is
 * this command's --markdown output (a test fails when the file is stale). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lathe/param.h"
#include "lathe/proc.h"
#include "report/json.h"

static const char use[] = "usage: lathe processors [NAME] [--json | --markdown]\n";

static const char *kind_name(lathe_param_kind k)
{
    switch (k) {
    case LATHE_PARAM_NUMBER: return "number";
    case LATHE_PARAM_CHOICE: return "choice";
    case LATHE_PARAM_BOOL: return "bool";
    case LATHE_PARAM_STRING: return "text";
    }
    return "?";
}

/* The first sentence of a doc paragraph, for one-line listings: up to the
 * first ". " or ": ", cut at a word boundary near 90 characters. */
static void first_sentence(const char *doc, char *buf, size_t len)
{
    size_t n = 0, max = len - 4 < 90 ? len - 4 : 90;
    int depth = 0;
    while (doc[n] && n < max) {
        if (doc[n] == '(') depth++;
        if (doc[n] == ')') depth--;
        if ((doc[n] == '.' || (doc[n] == ':' && depth == 0)) && (doc[n + 1] == ' ' || !doc[n + 1]))
            break;
        n++;
    }
    if (n == max) {
        while (n > 0 && doc[n] != ' ') n--;
        snprintf(buf, len, "%.*s ...", (int)n, doc);
    } else {
        snprintf(buf, len, "%.*s", (int)n, doc);
    }
}

/* Grouped params ("band1.freq" ... "band16.freq"): returns 1 for a member
 * of a later group (to skip), and for the first group writes the display
 * name "band<N>.freq" and the group count into *count. */
static int grouped(const lathe_proc_desc *d, const lathe_param_desc *p, char *name, size_t len,
                   int *count)
{
    const char *dot = strchr(p->name, '.');
    *count = 0;
    snprintf(name, len, "%s", p->name);
    if (!dot) return 0;
    const char *digits = dot;
    while (digits > p->name && digits[-1] >= '0' && digits[-1] <= '9') digits--;
    if (digits == dot) return 0;
    int idx = atoi(digits);
    if (idx != 1) return 1;
    int prefix = (int)(digits - p->name);
    char probe[128];
    for (int k = 1; k < 1000; k++) {
        snprintf(probe, sizeof probe, "%.*s%d%s", prefix, p->name, k, dot);
        if (lathe_proc_param_index(d, probe) < 0) break;
        *count = k;
    }
    snprintf(name, len, "%.*s<N>%s", prefix, p->name, dot);
    return 0;
}

static void range_text(const lathe_param_desc *p, char *buf, size_t len)
{
    char a[64], b[64];
    if (p->kind == LATHE_PARAM_CHOICE) {
        buf[0] = '\0';
        size_t used = 0;
        for (int i = 0; p->choices[i]; i++)
            used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s", i ? ", " : "",
                                     p->choices[i]);
    } else if (p->kind == LATHE_PARAM_BOOL) {
        snprintf(buf, len, "on, off");
    } else if (p->kind == LATHE_PARAM_STRING) {
        snprintf(buf, len, "text");
    } else {
        snprintf(buf, len, "%s to %s", lathe_param_format(p, p->min, a, sizeof a),
                 lathe_param_format(p, p->max, b, sizeof b));
    }
}

static void json_proc(lathe_json *js, const lathe_proc_desc *d, int with_params)
{
    lathe_json_object(js, NULL);
    lathe_json_str(js, "name", d->name);
    lathe_json_str(js, "doc", d->doc);
    if (with_params) {
        lathe_json_array(js, "params");
        for (int i = 0; i < d->nparams; i++) {
            const lathe_param_desc *p = &d->params[i];
            lathe_json_object(js, NULL);
            lathe_json_str(js, "name", p->name);
            lathe_json_str(js, "kind", kind_name(p->kind));
            lathe_json_str(js, "unit", p->unit);
            if (p->kind == LATHE_PARAM_NUMBER) {
                lathe_json_num(js, "min", p->min, 6);
                lathe_json_num(js, "max", p->max, 6);
                lathe_json_num(js, "default", p->def, 6);
            } else if (p->kind == LATHE_PARAM_CHOICE) {
                lathe_json_array(js, "choices");
                for (int k = 0; p->choices[k]; k++) lathe_json_str(js, NULL, p->choices[k]);
                lathe_json_end(js);
                lathe_json_str(js, "default", p->choices[(int)p->def]);
            } else if (p->kind == LATHE_PARAM_BOOL) {
                lathe_json_bool(js, "default", p->def != 0);
            }
            lathe_json_bool(js, "automatable", (p->flags & LATHE_PARAM_AUTOMATABLE) != 0);
            lathe_json_str(js, "doc", p->doc);
            lathe_json_end(js);
        }
        lathe_json_end(js);
    }
    lathe_json_end(js);
}

static void human_proc(const lathe_proc_desc *d)
{
    printf("%s: %s\n\n", d->name, d->doc);
    printf("  %-18s %-14s %s\n", "parameter", "default", "range");
    for (int i = 0; i < d->nparams; i++) {
        const lathe_param_desc *p = &d->params[i];
        char def[64], range[512], name[128];
        int count;
        if (grouped(d, p, name, sizeof name, &count)) continue;
        if (p->kind == LATHE_PARAM_STRING) snprintf(def, sizeof def, "-");
        else lathe_param_format(p, p->def, def, sizeof def);
        range_text(p, range, sizeof range);
        printf("  %-18s %-14s %s\n", name, def, range);
        if (count) printf("  %-18s (N = 1 to %d)\n", "", count);
        printf("  %-18s %s\n\n", "", p->doc);
    }
}

static void markdown(void)
{
    int n;
    const lathe_proc_desc *const *t = lathe_processors(&n);
    printf("# Processors\n\n");
    printf("Generated by `lathe processors --markdown` from the descriptor table "
           "(`make docs`); do not edit by hand.\n\n");
    printf("Values take units as in sessions and chains: `-18 dB`, `10 ms`, `1.5 s`, `2.5 kHz`, "
           "`50 %%`, `4:1`. Parameters marked A can be automated.\n\n");
    for (int i = 0; i < n; i++) printf("- [%s](#%s)\n", t[i]->name, t[i]->name);
    for (int i = 0; i < n; i++) {
        const lathe_proc_desc *d = t[i];
        printf("\n## %s\n\n%s\n\n", d->name, d->doc);
        printf("| parameter | default | range | A | description |\n|---|---|---|---|---|\n");
        for (int k = 0; k < d->nparams; k++) {
            const lathe_param_desc *p = &d->params[k];
            char def[64], range[512], name[128], group[64] = "";
            int count;
            if (grouped(d, p, name, sizeof name, &count)) continue;
            if (count) snprintf(group, sizeof group, " (N = 1 to %d)", count);
            if (p->kind == LATHE_PARAM_STRING) snprintf(def, sizeof def, "-");
            else lathe_param_format(p, p->def, def, sizeof def);
            range_text(p, range, sizeof range);
            printf("| `%s`%s | %s | %s | %s | %s |\n", name, group, def, range,
                   (p->flags & LATHE_PARAM_AUTOMATABLE) ? "A" : "", p->doc);
        }
    }
}

int cmd_processors(int argc, char **argv)
{
    int json = 0, md = 0;
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--markdown")) md = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(use, stdout);
            return EXIT_OK;
        } else if (argv[i][0] == '-')
            return cli_usage_error("processors", use, "unknown option '%s'", argv[i]);
        else if (name)
            return cli_usage_error("processors", use, "one processor name at a time");
        else
            name = argv[i];
    }
    if (md) {
        markdown();
        return EXIT_OK;
    }
    int n;
    const lathe_proc_desc *const *t = lathe_processors(&n);
    lathe_json js;
    lathe_json_init(&js, stdout);
    if (name) {
        const lathe_proc_desc *d = lathe_processor_find(name);
        if (!d) {
            char list[1024] = "";
            size_t used = 0;
            for (int i = 0; i < n; i++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                         t[i]->name);
            cli_error("no processor '%s' (there are: %s)", name, list);
            return EXIT_USAGE;
        }
        if (json) json_proc(&js, d, 1);
        else human_proc(d);
        return EXIT_OK;
    }
    if (json) {
        lathe_json_array(&js, NULL);
        for (int i = 0; i < n; i++) json_proc(&js, t[i], 1);
        lathe_json_end(&js);
        return EXIT_OK;
    }
    for (int i = 0; i < n; i++) {
        char s[160];
        first_sentence(t[i]->doc, s, sizeof s);
        printf("  %-12s %s\n", t[i]->name, s);
    }
    return EXIT_OK;
}
