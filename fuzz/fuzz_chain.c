/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: master chain files (lathe_chain_file_parse), with the stages
 * of lathe master's chain as master itself hands them to the parser
 * (lathe_master_chain_stages: the processors and the `reference:` table). */
#include <stdlib.h>

#include "fuzz.h"
#include "lathe/master.h"
#include "lathe/session.h"

int lathe_fuzz_chain(const uint8_t *data, size_t size)
{
    char path[600];
    lathe_fuzz_path(path, sizeof path, "chain.yaml");
    lathe_stage st[32];
    int n = lathe_master_chain_stages(st, 32);
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
