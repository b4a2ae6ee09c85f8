/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The registry: the one table of processor descriptors (procs.def). */
#include <string.h>

#include "lathe/proc.h"

#define LATHE_PROC(n) extern const lathe_proc_desc lathe_proc_##n;
#include "procs.def"
#undef LATHE_PROC

static const lathe_proc_desc *const table[] = {
#define LATHE_PROC(n) &lathe_proc_##n,
#include "procs.def"
#undef LATHE_PROC
    NULL};

const lathe_proc_desc *const *lathe_processors(int *count)
{
    if (count) *count = (int)(sizeof table / sizeof table[0]) - 1;
    return table;
}

const lathe_proc_desc *lathe_processor_find(const char *name)
{
    for (int i = 0; table[i]; i++)
        if (strcmp(table[i]->name, name) == 0) return table[i];
    return NULL;
}

int lathe_proc_param_index(const lathe_proc_desc *desc, const char *name)
{
    for (int i = 0; i < desc->nparams; i++)
        if (strcmp(desc->params[i].name, name) == 0) return i;
    return -1;
}
