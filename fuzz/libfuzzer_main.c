/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The thin libFuzzer wrapper: one binary per target, built with
 * -DLATHE_FUZZ_ENTRY=lathe_fuzz_<target> (CMakeLists.txt, LATHE_FUZZ). */
#include <stdio.h>

#include "fuzz.h"

#ifndef LATHE_FUZZ_ENTRY
#error "LATHE_FUZZ_ENTRY must name the target's entry function"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    lathe_fuzz_dir(); /* the work folder before the first input, not inside its timing */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return LATHE_FUZZ_ENTRY(data, size);
}
