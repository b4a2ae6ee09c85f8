/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: master chain files (lathe_chain_file_parse), with the stage
 * names and processors of lathe master's chain (src/master/master.c). */
#include <stdlib.h>

#include "fuzz.h"
#include "lathe/session.h"

static const struct {
    const char *name, *proc;
} STAGES[] = {
    {"highpass", "eq"}, {"eq", "eq"}, {"match", "match"}, {"glue", "compressor"},
    {"multiband", "multiband"}, {"deesser", "deesser"}, {"stereo", "stereo"},
    {"saturate", "saturate"}, {"reverb", "reverb"}, {"limiter", "limiter"}, {"dither", "dither"},
};
#define NSTAGES ((int)(sizeof STAGES / sizeof STAGES[0]))

/* `reference:` rides along as one more stage with a parameter table of its
 * own; a copy of the one in src/master/master.c (static there), so the
 * parser sees the same kinds: a path, choices, grouped bools, numbers. */
static const char *const TONES[] = {"neutral", "warm", "bright", NULL};
static const char *const PHASES[] = {"linear", "minimum", NULL};
static const lathe_param_desc REF_PARAMS[] = {
    {"file", "", "", 0, 0, 0, LATHE_PARAM_STRING, NULL, 0},
    {"tone_target", "", "", 0, 2, 0, LATHE_PARAM_CHOICE, TONES, 0},
    {"match.loudness", "", "", 0, 1, 1, LATHE_PARAM_BOOL, NULL, 0},
    {"match.tone", "", "", 0, 1, 1, LATHE_PARAM_BOOL, NULL, 0},
    {"match.width", "", "", 0, 1, 1, LATHE_PARAM_BOOL, NULL, 0},
    {"match.dynamics", "", "", 0, 1, 0, LATHE_PARAM_BOOL, NULL, 0},
    {"amount", "%", "", 0, 100, 100, LATHE_PARAM_NUMBER, NULL, 0},
    {"amount_tone", "%", "", 0, 100, 100, LATHE_PARAM_NUMBER, NULL, 0},
    {"amount_width", "%", "", 0, 100, 100, LATHE_PARAM_NUMBER, NULL, 0},
    {"amount_dynamics", "%", "", 0, 100, 100, LATHE_PARAM_NUMBER, NULL, 0},
    {"max_eq", "dB", "", 0, 24, 6, LATHE_PARAM_NUMBER, NULL, 0},
    {"max_width", "dB", "", 0, 24, 6, LATHE_PARAM_NUMBER, NULL, 0},
    {"phase", "", "", 0, 1, 0, LATHE_PARAM_CHOICE, PHASES, 0},
};
static const lathe_proc_desc REF_DESC = {
    "reference", "", REF_PARAMS, (int)(sizeof REF_PARAMS / sizeof REF_PARAMS[0]), 0,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};

int lathe_fuzz_chain(const uint8_t *data, size_t size)
{
    char path[600];
    lathe_fuzz_path(path, sizeof path, "chain.yaml");
    lathe_stage st[NSTAGES + 1];
    int n = 0;
    for (int i = 0; i < NSTAGES; i++) {
        const lathe_proc_desc *desc = lathe_processor_find(STAGES[i].proc);
        if (!desc) continue; /* as lathe master does: a stage without its processor is left out */
        st[n] = (lathe_stage){.name = STAGES[i].name, .desc = desc};
        n++;
    }
    st[n++] = (lathe_stage){.name = "reference", .desc = &REF_DESC};
    lathe_diags d;
    lathe_session *s = lathe_chain_file_parse((const char *)data, size, path, st, n, &d);
    if (s ? d.count != 0 : d.count == 0) abort();
    if (s)
        for (int i = 0; i < n; i++)
            if (st[i].state < -1 || st[i].state > 1) abort();
    lathe_fuzz_check_diags(&d);
    lathe_session_free(s);
    lathe_stages_free(st, n);
    return 0;
}
