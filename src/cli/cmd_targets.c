/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lathe targets [--json]: the loudness presets (lathe/targets.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lathe/targets.h"
#include "report/json.h"

static const char *policy_name(lathe_norm_policy p)
{
    switch (p) {
    case LATHE_NORM_NONE: return "none";
    case LATHE_NORM_DOWN: return "down only";
    case LATHE_NORM_UP_LIMITED: return "down, up within peak headroom";
    case LATHE_NORM_BOTH: return "delivery spec";
    }
    return "?";
}

int cmd_targets(int argc, char **argv)
{
    int json = argc > 1 && !strcmp(argv[1], "--json");
    if (argc > 1 && !json)
        return cli_usage_error("targets", "usage: lathe targets [--json]\n", "unknown argument '%s'",
                               argv[1]);
    int n;
    const lathe_target *t = lathe_targets(&n);
    if (json) {
        lathe_json js;
        lathe_json_init(&js, stdout);
        lathe_json_array(&js, NULL);
        for (int i = 0; i < n; i++) {
            lathe_json_object(&js, NULL);
            lathe_json_str(&js, "name", t[i].name);
            lathe_json_str(&js, "label", t[i].label);
            lathe_json_num(&js, "target_lufs", t[i].lufs, 1);
            lathe_json_num(&js, "mono_target_lufs", t[i].mono_lufs, 1);
            lathe_json_num(&js, "ceiling_dbtp", t[i].ceiling_dbtp, 1);
            lathe_json_str(&js, "normalisation", policy_name(t[i].policy));
            lathe_json_int(&js, "sample_rate", (long long)t[i].rate);
            lathe_json_int(&js, "bits", t[i].bits);
            lathe_json_bool(&js, "dither", t[i].dither);
            lathe_json_str(&js, "format", t[i].format);
            lathe_json_str(&js, "source", t[i].source);
            lathe_json_end(&js);
        }
        lathe_json_end(&js);
        return EXIT_OK;
    }
    printf("  %-12s %7s %7s %8s %5s  %-30s %s\n", "target", "LUFS", "dBTP", "rate", "bits",
           "playback normalisation", "source");
    for (int i = 0; i < n; i++) {
        char rate[16];
        if (t[i].rate) snprintf(rate, sizeof rate, "%.1fk", t[i].rate / 1000.0);
        else snprintf(rate, sizeof rate, "keep");
        printf("  %-12s %7.1f %7.1f %8s %5d  %-30s %s\n", t[i].name, t[i].lufs, t[i].ceiling_dbtp,
               rate, t[i].bits, policy_name(t[i].policy), t[i].source);
    }
    return EXIT_OK;
}
