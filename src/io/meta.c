/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Metadata values: parsing and validating `--meta KEY=VALUE` (and the same
 * keys from YAML), merging album-wide and per-song values, and the loudness
 * tag values (ReplayGain 2.0, Opus R128).  Writing them into files is
 * src/io/tags.cc. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/meta.h"

const char *const lathe_meta_keys[] = {"title",    "artist",  "album", "album_artist", "year",
                                       "genre",    "isrc",    "track", "disc",         "upc",
                                       "composer", "comment", NULL};

enum { NKEYS = sizeof lathe_meta_keys / sizeof lathe_meta_keys[0] - 1 };

/* ---- helpers ---- */

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}
static int is_alpha(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
static char to_upper(char c) {
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}
static char to_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static int utf8_valid(const char *str) {
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned c = *s;
        int n;
        unsigned min, cp;
        if (c < 0x80) {
            s++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, min = 0x80, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, min = 0x800, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return 0;
        }
        for (int k = 1; k <= n; k++) {
            if ((s[k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        s += n + 1;
    }
    return 1;
}

/* Case-insensitive Levenshtein distance (short strings only). */
static int edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    int row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int cost = to_lower(a[i - 1]) == to_lower(b[j - 1]) ? 0 : 1;
            int best = diag + cost;
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static lathe_status unknown_key(const char *key, lathe_error *err) {
    int best = -1, bestd = 99;
    for (int k = 0; k < NKEYS; k++) {
        int d = edit_distance(key, lathe_meta_keys[k]);
        if (d < bestd) bestd = d, best = k;
    }
    /* A suggestion only when it is plausibly a typo (at most a third of the
     * name differs) or one name begins with the other ("isrc_code"). */
    /* best stays -1 when every distance gives up (keys over 63 bytes) */
    int near = best >= 0 && bestd <= 3 && (size_t)bestd * 3 <= strlen(lathe_meta_keys[best]) + 1;
    for (int k = 0; !near && k < NKEYS; k++) {
        size_t a = strlen(key), b = strlen(lathe_meta_keys[k]);
        size_t n = a < b ? a : b;
        if (n >= 3 && !strncmp(key, lathe_meta_keys[k], n)) near = 1, best = k;
    }
    if (near)
        return lathe_error_set(err, LATHE_E_INVALID,
                               "unknown meta key \"%s\" (did you mean \"%s\"?)", key,
                               lathe_meta_keys[best]);
    char list[256] = "";
    for (int k = 0; k < NKEYS; k++) {
        if (k) strcat(list, ", ");
        strcat(list, lathe_meta_keys[k]);
    }
    return lathe_error_set(err, LATHE_E_INVALID, "unknown meta key \"%s\" (keys: %s)", key, list);
}

/* Whole number of 1..99999 made of digits only, from s[0..n). */
static int parse_count(const char *s, size_t n, int *out) {
    if (n == 0 || n > 5) return 0;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i])) return 0;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1) return 0;
    *out = v;
    return 1;
}

/* "N" or "N/TOTAL" (track and disc). */
static lathe_status parse_position(const char *key, const char *v, int *num, int *total,
                                   lathe_error *err) {
    const char *slash = strchr(v, '/');
    int n = 0, t = 0;
    int ok = slash ? parse_count(v, (size_t)(slash - v), &n) &&
                         parse_count(slash + 1, strlen(slash + 1), &t)
                   : parse_count(v, strlen(v), &n);
    if (!ok)
        return lathe_error_set(err, LATHE_E_INVALID,
                               "%s \"%s\": expected N or N/TOTAL, whole numbers from 1 (e.g. 3/12)",
                               key, v);
    if (t && n > t)
        return lathe_error_set(err, LATHE_E_INVALID, "%s \"%s\": %d is more than the total %d", key,
                               v, n, t);
    *num = n;
    *total = t;
    return LATHE_OK;
}

static int days_in_month(int y, int m) {
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

static lathe_status parse_year(const char *v, char out[11], lathe_error *err) {
    size_t n = strlen(v);
    int ok = (n == 4 || n == 10);
    for (size_t i = 0; ok && i < n; i++)
        ok = (i == 4 || i == 7) ? v[i] == '-' : is_digit(v[i]);
    if (!ok)
        return lathe_error_set(err, LATHE_E_INVALID, "year \"%s\": expected YYYY or YYYY-MM-DD", v);
    int y = atoi(v);
    if (y < 1)
        return lathe_error_set(err, LATHE_E_INVALID, "year \"%s\": expected YYYY or YYYY-MM-DD", v);
    if (n == 10) {
        int m = (v[5] - '0') * 10 + (v[6] - '0');
        int d = (v[8] - '0') * 10 + (v[9] - '0');
        if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
            return lathe_error_set(err, LATHE_E_INVALID, "year \"%s\": no such date", v);
    }
    memcpy(out, v, n + 1);
    return LATHE_OK;
}

/* ISO 3901 ISRC: country code (2 letters), registrant code (3 alphanumeric),
 * year of reference (2 digits), designation code (5 digits); written
 * CC-XXX-YY-NNNNN or without the dashes. */
static lathe_status parse_isrc(const char *v, char out[13], lathe_error *err) {
    char s[13];
    size_t n = strlen(v), k = 0;
    int ok = 1;
    if (n == 15) {
        ok = v[2] == '-' && v[6] == '-' && v[9] == '-';
        for (size_t i = 0; ok && i < n; i++)
            if (i != 2 && i != 6 && i != 9) s[k++] = to_upper(v[i]);
    } else if (n == 12) {
        for (size_t i = 0; i < n; i++)
            s[k++] = to_upper(v[i]);
    } else {
        ok = 0;
    }
    for (size_t i = 0; ok && i < 12; i++) {
        if (i < 2)
            ok = is_alpha(s[i]);
        else if (i < 5)
            ok = is_alpha(s[i]) || is_digit(s[i]);
        else
            ok = is_digit(s[i]);
    }
    if (!ok)
        return lathe_error_set(err, LATHE_E_INVALID,
                               "isrc \"%s\": expected CC-XXX-YY-NNNNN (12 characters: country, "
                               "registrant, year, designation)",
                               v);
    memcpy(out, s, 12);
    out[12] = '\0';
    return LATHE_OK;
}

/* GS1 check digit (GS1 General Specifications, 7.9.1): weights 3 and 1
 * alternating from the rightmost data digit; check = (10 - sum mod 10) mod
 * 10. UPC-A is the same as EAN-13 with a leading 0. */
static lathe_status parse_upc(const char *v, char out[14], lathe_error *err) {
    size_t n = strlen(v);
    int ok = n == 12 || n == 13;
    for (size_t i = 0; ok && i < n; i++)
        ok = is_digit(v[i]);
    if (!ok)
        return lathe_error_set(err, LATHE_E_INVALID,
                               "upc \"%s\": expected 12 digits (UPC-A) or 13 digits (EAN-13)", v);
    int sum = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        size_t from_right = n - 2 - i; /* 0 for the digit next to the check digit */
        sum += (v[i] - '0') * (from_right % 2 == 0 ? 3 : 1);
    }
    int check = (10 - sum % 10) % 10;
    if (v[n - 1] - '0' != check)
        return lathe_error_set(err, LATHE_E_INVALID, "upc \"%s\": bad check digit %c (expected %d)",
                               v, v[n - 1], check);
    memcpy(out, v, n + 1);
    return LATHE_OK;
}

static lathe_status set_text(char **field, const char *key, const char *v, lathe_error *err) {
    if (!utf8_valid(v))
        return lathe_error_set(err, LATHE_E_INVALID, "%s: not valid UTF-8 text", key);
    char *copy = strdup(v);
    if (!copy) return lathe_error_set(err, LATHE_E_NOMEM, "%s: out of memory", key);
    free(*field);
    *field = copy;
    return LATHE_OK;
}

/* ---- public ---- */

lathe_status lathe_meta_set(lathe_meta *m, const char *key, const char *value, lathe_error *err) {
    if (!m || !key || !value)
        return lathe_error_set(err, LATHE_E_INVALID, "meta: missing key or value");
    int k = 0;
    while (k < NKEYS && strcmp(key, lathe_meta_keys[k]) != 0)
        k++;
    if (k == NKEYS) return unknown_key(key, err);
    if (!value[0]) return lathe_error_set(err, LATHE_E_INVALID, "%s: empty value", key);
    switch (k) {
    case 0:
        return set_text(&m->title, key, value, err);
    case 1:
        return set_text(&m->artist, key, value, err);
    case 2:
        return set_text(&m->album, key, value, err);
    case 3:
        return set_text(&m->album_artist, key, value, err);
    case 4:
        return parse_year(value, m->year, err);
    case 5:
        return set_text(&m->genre, key, value, err);
    case 6:
        return parse_isrc(value, m->isrc, err);
    case 7:
        return parse_position(key, value, &m->track, &m->track_total, err);
    case 8:
        return parse_position(key, value, &m->disc, &m->disc_total, err);
    case 9:
        return parse_upc(value, m->upc, err);
    case 10:
        return set_text(&m->composer, key, value, err);
    default:
        return set_text(&m->comment, key, value, err);
    }
}

lathe_status lathe_meta_parse_arg(lathe_meta *m, const char *arg, lathe_error *err) {
    const char *eq = arg ? strchr(arg, '=') : NULL;
    if (!eq || eq == arg)
        return lathe_error_set(err, LATHE_E_INVALID,
                               "meta \"%s\": expected KEY=VALUE (e.g. title=Song)", arg ? arg : "");
    char key[64];
    size_t n = (size_t)(eq - arg);
    if (n >= sizeof key) n = sizeof key - 1; /* too long to be a key: still reported as unknown */
    memcpy(key, arg, n);
    key[n] = '\0';
    return lathe_meta_set(m, key, eq + 1, err);
}

static lathe_status merge_text(char **dst, const char *src, lathe_error *err) {
    if (!src) return LATHE_OK;
    char *copy = strdup(src);
    if (!copy) return lathe_error_set(err, LATHE_E_NOMEM, "meta: out of memory");
    free(*dst);
    *dst = copy;
    return LATHE_OK;
}

lathe_status lathe_meta_merge(lathe_meta *dst, const lathe_meta *src, lathe_error *err) {
    if (!dst || !src) return LATHE_OK;
    lathe_status st;
    if ((st = merge_text(&dst->title, src->title, err)) ||
        (st = merge_text(&dst->artist, src->artist, err)) ||
        (st = merge_text(&dst->album, src->album, err)) ||
        (st = merge_text(&dst->album_artist, src->album_artist, err)) ||
        (st = merge_text(&dst->genre, src->genre, err)) ||
        (st = merge_text(&dst->composer, src->composer, err)) ||
        (st = merge_text(&dst->comment, src->comment, err)))
        return st;
    if (src->year[0]) memcpy(dst->year, src->year, sizeof dst->year);
    if (src->isrc[0]) memcpy(dst->isrc, src->isrc, sizeof dst->isrc);
    if (src->upc[0]) memcpy(dst->upc, src->upc, sizeof dst->upc);
    if (src->track) dst->track = src->track, dst->track_total = src->track_total;
    if (src->disc) dst->disc = src->disc, dst->disc_total = src->disc_total;
    const lathe_meta_loudness *s[2] = {&src->track_loudness, &src->album_loudness};
    lathe_meta_loudness *d[2] = {&dst->track_loudness, &dst->album_loudness};
    for (int i = 0; i < 2; i++) {
        if (s[i]->has_gain) {
            d[i]->has_gain = 1;
            d[i]->lufs = s[i]->lufs;
            d[i]->rg_gain_db = s[i]->rg_gain_db;
            d[i]->r128_gain_q78 = s[i]->r128_gain_q78;
        }
        if (s[i]->has_peak) d[i]->has_peak = 1, d[i]->peak = s[i]->peak;
    }
    return LATHE_OK;
}

void lathe_meta_free(lathe_meta *m) {
    if (!m) return;
    free(m->title);
    free(m->artist);
    free(m->album);
    free(m->album_artist);
    free(m->genre);
    free(m->composer);
    free(m->comment);
    memset(m, 0, sizeof *m);
}

int lathe_meta_empty(const lathe_meta *m) {
    return !m ||
           (!m->title && !m->artist && !m->album && !m->album_artist && !m->genre && !m->composer &&
            !m->comment && !m->year[0] && !m->isrc[0] && !m->upc[0] && !m->track && !m->disc &&
            !m->track_loudness.has_gain && !m->track_loudness.has_peak &&
            !m->album_loudness.has_gain && !m->album_loudness.has_peak);
}

/* ---- loudness ---- */

double lathe_replaygain_gain_db(double integrated_lufs) {
    /* ReplayGain 2.0 specification: reference level -18 LUFS (BS.1770). */
    return -18.0 - integrated_lufs;
}

int lathe_r128_gain_q78(double integrated_lufs) {
    /* RFC 7845 5.2.1: EBU R 128 reference -23 LUFS, Q7.8 in dB. */
    double q = round((-23.0 - integrated_lufs) * 256.0);
    if (!(q > -32768.0)) q = -32768.0; /* also NaN */
    if (q > 32767.0) q = 32767.0;
    return (int)q;
}

void lathe_meta_set_loudness(lathe_meta *m, int album, double integrated_lufs, double peak) {
    lathe_meta_loudness *l = album ? &m->album_loudness : &m->track_loudness;
    if (isfinite(integrated_lufs)) {
        l->has_gain = 1;
        l->lufs = integrated_lufs;
        l->rg_gain_db = lathe_replaygain_gain_db(integrated_lufs);
        l->r128_gain_q78 = lathe_r128_gain_q78(integrated_lufs);
    }
    if (isfinite(peak) && peak >= 0) {
        l->has_peak = 1;
        l->peak = peak;
    }
}

char *lathe_replaygain_gain_str(char *buf, double gain_db) {
    snprintf(buf, 32, "%.2f dB", gain_db);
    if (!strcmp(buf, "-0.00 dB")) strcpy(buf, "0.00 dB");
    return buf;
}

char *lathe_replaygain_peak_str(char *buf, double peak) {
    snprintf(buf, 32, "%.6f", peak);
    return buf;
}

char *lathe_r128_gain_str(char *buf, int q78) {
    snprintf(buf, 32, "%d", q78);
    return buf;
}
