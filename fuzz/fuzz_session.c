/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: the session YAML parser and validator (lathe_session_parse).
 * The input is the session text, parsed as if it were <work>/session.yaml,
 * so relative file names find the work folder's tiny stems. */
#include <math.h>
#include <stdlib.h>

#include "fuzz.h"
#include "lathe/session.h"

int lathe_fuzz_session(const uint8_t *data, size_t size)
{
    char path[600];
    lathe_fuzz_path(path, sizeof path, "session.yaml");
    lathe_diags d;
    lathe_session *s = lathe_session_parse((const char *)data, size, path, &d);
    if (s) {
        /* a valid session: its automation lanes evaluate anywhere on the timeline */
        for (int i = 0; i < s->nautos; i++)
            for (double t = -1; t < 10; t += 0.7) {
                double v = lathe_automation_value(&s->autos[i], t);
                if (isnan(v)) abort();
            }
        if (d.count != 0) abort(); /* the contract: a session comes with no diagnostics */
    } else if (d.count == 0) {
        abort(); /* a refusal always says why */
    }
    lathe_fuzz_check_diags(&d);
    lathe_session_free(s);
    return 0;
}
