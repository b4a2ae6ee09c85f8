/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: album files (lathe_album_parse), parsed as <work>/album.yaml
 * so song1.wav, song2.flac, long.wav, song.yaml and chain.yaml exist. */
#include <stdlib.h>

#include "fuzz.h"
#include "lathe/album.h"

int lathe_fuzz_album(const uint8_t *data, size_t size)
{
    char path[600];
    lathe_fuzz_path(path, sizeof path, "album.yaml");
    lathe_diags d;
    lathe_album *a = lathe_album_parse((const char *)data, size, path, &d);
    if (a ? d.count != 0 : d.count == 0) abort();
    if (a) {
        /* what `lathe album --check` prints next */
        double side_s[2];
        lathe_master_warning w[8];
        int nw = lathe_album_declared(a, side_s, w, 8);
        if (nw < 0 || nw > 8) abort();
    }
    lathe_fuzz_check_diags(&d);
    lathe_album_free(a);
    return 0;
}
