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

int lathe_fuzz_chain(const uint8_t *data, size_t size)
{
    char path[600];
    lathe_fuzz_path(path, sizeof path, "chain.yaml");
    lathe_stage st[NSTAGES];
    int n = 0;
    for (int i = 0; i < NSTAGES; i++) {
        const lathe_proc_desc *desc = lathe_processor_find(STAGES[i].proc);
        if (!desc) continue; /* as lathe master does: a stage without its processor is left out */
        st[n] = (lathe_stage){.name = STAGES[i].name, .desc = desc};
        n++;
    }
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
