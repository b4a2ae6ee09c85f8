/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Metadata values: every key parses and normalises, every validation error
 * message is exact, ISRC and GS1 check digits against independent checks,
 * merging (album-wide then per-song), and the loudness tag values
 * (ReplayGain 2.0 and RFC 7845 R128) against their closed forms. */
#include "lathe_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lathe/meta.h"

/* Sets one KEY=VALUE and fails the test on error. */
static void ok(lathe_meta *m, const char *arg) {
    lathe_error err = {0};
    if (lathe_meta_parse_arg(m, arg, &err) != LATHE_OK) fail_msg("%s: %s", arg, err.msg);
}

/* KEY=VALUE must fail with exactly `msg`, leaving m unchanged. */
static void bad(const char *arg, const char *msg) {
    lathe_meta m = {0};
    ok(&m, "title=Before");
    ok(&m, "year=1999");
    lathe_error err = {0};
    lathe_status st = lathe_meta_parse_arg(&m, arg, &err);
    if (st == LATHE_OK) fail_msg("%s was accepted", arg);
    assert_int_equal(st, LATHE_E_INVALID);
    assert_int_equal(err.code, LATHE_E_INVALID);
    if (strcmp(err.msg, msg) != 0) fail_msg("%s:\n  got      %s\n  expected %s", arg, err.msg, msg);
    assert_string_equal(m.title, "Before");
    assert_string_equal(m.year, "1999");
    lathe_meta_free(&m);
}

static void meta_every_key_is_stored(void **s) {
    (void)s;
    lathe_meta m = {0};
    assert_true(lathe_meta_empty(&m));
    ok(&m, "title=Café = Song ✓"); /* the first '=' splits; UTF-8 kept */
    ok(&m, "artist=The Artist");
    ok(&m, "album=An Album");
    ok(&m, "album_artist=Various");
    ok(&m, "year=2024-05-17");
    ok(&m, "genre=Ambient");
    ok(&m, "isrc=us-rc1-76-00001");
    ok(&m, "track=3/12");
    ok(&m, "disc=1/2");
    ok(&m, "upc=036000291452");
    ok(&m, "composer=J. Doe");
    ok(&m, "comment=line one\nline two");
    assert_string_equal(m.title, "Café = Song ✓");
    assert_string_equal(m.artist, "The Artist");
    assert_string_equal(m.album, "An Album");
    assert_string_equal(m.album_artist, "Various");
    assert_string_equal(m.year, "2024-05-17");
    assert_string_equal(m.genre, "Ambient");
    assert_string_equal(m.isrc, "USRC17600001");
    assert_int_equal(m.track, 3);
    assert_int_equal(m.track_total, 12);
    assert_int_equal(m.disc, 1);
    assert_int_equal(m.disc_total, 2);
    assert_string_equal(m.upc, "036000291452");
    assert_string_equal(m.composer, "J. Doe");
    assert_string_equal(m.comment, "line one\nline two");
    assert_false(lathe_meta_empty(&m));
    /* the key list is the documented one */
    const char *want[] = {"title", "artist", "album", "album_artist", "year",     "genre",
                          "isrc",  "track",  "disc",  "upc",          "composer", "comment"};
    int n = 0;
    while (lathe_meta_keys[n])
        n++;
    assert_int_equal(n, 12);
    for (int k = 0; k < n; k++)
        assert_string_equal(lathe_meta_keys[k], want[k]);
    lathe_meta_free(&m);
    assert_null(m.title);
    assert_string_equal(m.isrc, "");
    assert_int_equal(m.track, 0);
    assert_true(lathe_meta_empty(&m));
    lathe_meta_free(&m); /* twice is fine */
    lathe_meta_free(NULL);
}

static void meta_set_twice_keeps_the_last_value(void **s) {
    (void)s;
    lathe_meta m = {0};
    lathe_error err = {0};
    assert_int_equal(lathe_meta_set(&m, "title", "One", &err), LATHE_OK);
    assert_int_equal(lathe_meta_set(&m, "title", "Two", &err), LATHE_OK);
    assert_string_equal(m.title, "Two");
    ok(&m, "track=3/12");
    ok(&m, "track=4");
    assert_int_equal(m.track, 4);
    assert_int_equal(m.track_total, 0);
    lathe_meta_free(&m);
}

static void meta_isrc_forms_normalise_to_12_uppercase(void **s) {
    (void)s;
    const char *in[] = {"USRC17600001", "US-RC1-76-00001", "usrc17600001", "us-Rc1-76-00001"};
    for (int k = 0; k < 4; k++) {
        lathe_meta m = {0};
        char arg[64];
        snprintf(arg, sizeof arg, "isrc=%s", in[k]);
        ok(&m, arg);
        assert_string_equal(m.isrc, "USRC17600001");
        lathe_meta_free(&m);
    }
    lathe_meta m = {0};
    ok(&m, "isrc=GB-A1B-99-12345"); /* registrant may hold digits */
    assert_string_equal(m.isrc, "GBA1B9912345");
    lathe_meta_free(&m);
}

static void meta_isrc_errors_are_exact(void **s) {
    (void)s;
    const char *tail = ": expected CC-XXX-YY-NNNNN (12 characters: country, registrant, year, "
                       "designation)";
    const char *vals[] = {"USRC1760001",     /* 11 characters */
                          "USRC176000011",   /* 13 */
                          "U1RC17600001",    /* digit in the country */
                          "USR-C17-6-00001", /* dashes misplaced */
                          "US-RC1-7A-00001", /* letter in the year */
                          "USRC1760000X",    /* letter in the designation */
                          "US RC1 76 00001", "US_RC1_76_00001"};
    for (int k = 0; k < 8; k++) {
        char arg[64], msg[256];
        snprintf(arg, sizeof arg, "isrc=%s", vals[k]);
        snprintf(msg, sizeof msg, "isrc \"%s\"%s", vals[k], tail);
        bad(arg, msg);
    }
}

/* GS1 check digit computed here independently: from the left, EAN-13 data
 * digits weigh 1,3,1,3,...; a UPC-A is an EAN-13 with a leading 0. */
static int gs1_check(const char *digits13_without_check) {
    int sum = 0;
    for (int i = 0; i < 12; i++)
        sum += (digits13_without_check[i] - '0') * (i % 2 ? 3 : 1);
    return (10 - sum % 10) % 10;
}

static void meta_upc_accepts_exactly_the_gs1_check_digit(void **s) {
    (void)s;
    /* Published examples: UPC-A 036000291452, EAN-13 4006381333931. */
    lathe_meta m = {0};
    ok(&m, "upc=036000291452");
    assert_string_equal(m.upc, "036000291452");
    ok(&m, "upc=4006381333931");
    assert_string_equal(m.upc, "4006381333931");
    lathe_meta_free(&m);
    bad("upc=036000291453", "upc \"036000291453\": bad check digit 3 (expected 2)");
    bad("upc=4006381333932", "upc \"4006381333932\": bad check digit 2 (expected 1)");
    /* For pseudo-random payloads, exactly one of ten digits is accepted. */
    uint64_t seed = 12345;
    for (int t = 0; t < 200; t++) {
        int len = t % 2 ? 12 : 13;
        char v[16], padded[16];
        for (int i = 0; i < len - 1; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            v[i] = (char)('0' + (int)((seed >> 33) % 10));
        }
        v[len] = '\0';
        snprintf(padded, sizeof padded, "%s%.*s", len == 12 ? "0" : "", len - 1, v);
        int want = gs1_check(padded), accepted = 0;
        for (int d = 0; d < 10; d++) {
            v[len - 1] = (char)('0' + d);
            lathe_meta mm = {0};
            lathe_error err = {0};
            if (lathe_meta_set(&mm, "upc", v, &err) == LATHE_OK) {
                accepted++;
                assert_int_equal(d, want);
            }
        }
        assert_int_equal(accepted, 1);
    }
}

static void meta_upc_length_and_digit_errors_are_exact(void **s) {
    (void)s;
    const char *vals[] = {"12345", "03600029145", "40063813339310", "03600029145A",
                          "0360-0029-1452"};
    for (int k = 0; k < 5; k++) {
        char arg[64], msg[256];
        snprintf(arg, sizeof arg, "upc=%s", vals[k]);
        snprintf(msg, sizeof msg, "upc \"%s\": expected 12 digits (UPC-A) or 13 digits (EAN-13)",
                 vals[k]);
        bad(arg, msg);
    }
}

static void meta_year_accepts_years_and_real_dates_only(void **s) {
    (void)s;
    const char *good[] = {"2024", "1969", "2024-02-29", "2000-02-29", "1999-12-31", "2023-01-01"};
    for (int k = 0; k < 6; k++) {
        lathe_meta m = {0};
        lathe_error err = {0};
        assert_int_equal(lathe_meta_set(&m, "year", good[k], &err), LATHE_OK);
        assert_string_equal(m.year, good[k]);
    }
    const char *form[] = {"24",   "20245",         "2024-5-17", "2024/05/17",
                          "0000", "2024-05-17T10", "year"};
    for (int k = 0; k < 7; k++) {
        char arg[64], msg[256];
        snprintf(arg, sizeof arg, "year=%s", form[k]);
        snprintf(msg, sizeof msg, "year \"%s\": expected YYYY or YYYY-MM-DD", form[k]);
        bad(arg, msg);
    }
    const char *nodate[] = {"2023-02-29", "1900-02-29", "2024-13-01",
                            "2024-00-10", "2024-04-31", "2024-01-00"};
    for (int k = 0; k < 6; k++) {
        char arg[64], msg[256];
        snprintf(arg, sizeof arg, "year=%s", nodate[k]);
        snprintf(msg, sizeof msg, "year \"%s\": no such date", nodate[k]);
        bad(arg, msg);
    }
}

static void meta_track_and_disc_positions(void **s) {
    (void)s;
    lathe_meta m = {0};
    ok(&m, "track=3");
    assert_int_equal(m.track, 3);
    assert_int_equal(m.track_total, 0);
    ok(&m, "track=12/12");
    assert_int_equal(m.track, 12);
    assert_int_equal(m.track_total, 12);
    ok(&m, "disc=1/1");
    assert_int_equal(m.disc, 1);
    assert_int_equal(m.disc_total, 1);
    ok(&m, "track=007/100");
    assert_int_equal(m.track, 7);
    assert_int_equal(m.track_total, 100);
    lathe_meta_free(&m);
    const char *keys[] = {"track", "disc"};
    const char *vals[] = {"0",  "3/0",   "abc",    "3/",  "/3",    "-1",
                          "+3", "3 /12", "3/12/1", "1.5", "100000"};
    for (int k = 0; k < 2; k++)
        for (int v = 0; v < 11; v++) {
            char arg[64], msg[256];
            snprintf(arg, sizeof arg, "%s=%s", keys[k], vals[v]);
            snprintf(msg, sizeof msg,
                     "%s \"%s\": expected N or N/TOTAL, whole numbers from 1 (e.g. 3/12)", keys[k],
                     vals[v]);
            bad(arg, msg);
        }
    bad("track=13/12", "track \"13/12\": 13 is more than the total 12");
    bad("disc=3/2", "disc \"3/2\": 3 is more than the total 2");
}

static void meta_unknown_keys_name_the_nearest(void **s) {
    (void)s;
    bad("titel=x", "unknown meta key \"titel\" (did you mean \"title\"?)");
    bad("albumartist=x", "unknown meta key \"albumartist\" (did you mean \"album_artist\"?)");
    bad("TITLE=x", "unknown meta key \"TITLE\" (did you mean \"title\"?)");
    bad("composr=x", "unknown meta key \"composr\" (did you mean \"composer\"?)");
    bad("tit=x", "unknown meta key \"tit\" (did you mean \"title\"?)");
    bad("isrcode=x", "unknown meta key \"isrcode\" (did you mean \"isrc\"?)");
    bad("copyright=x", "unknown meta key \"copyright\" (keys: title, artist, album, album_artist, "
                       "year, genre, isrc, track, disc, upc, composer, comment)");
}

static void meta_argument_form_errors_are_exact(void **s) {
    (void)s;
    bad("title", "meta \"title\": expected KEY=VALUE (e.g. title=Song)");
    bad("=Song", "meta \"=Song\": expected KEY=VALUE (e.g. title=Song)");
    bad("title=", "title: empty value");
    bad("isrc=", "isrc: empty value");
    bad("artist=\xff\xfe", "artist: not valid UTF-8 text");
    bad("comment=\xc0\xaf", "comment: not valid UTF-8 text"); /* overlong '/' */
    bad("album=\xed\xa0\x80", "album: not valid UTF-8 text"); /* surrogate */
    bad("genre=caf\xc3", "genre: not valid UTF-8 text");      /* truncated */
    lathe_meta m = {0};
    lathe_error err = {0};
    assert_int_equal(lathe_meta_set(&m, "title", NULL, &err), LATHE_E_INVALID);
    assert_int_equal(lathe_meta_parse_arg(&m, NULL, &err), LATHE_E_INVALID);
}

static void meta_merge_song_overrides_album(void **s) {
    (void)s;
    lathe_meta album = {0}, song = {0}, out = {0};
    ok(&album, "album=The Album");
    ok(&album, "album_artist=The Band");
    ok(&album, "artist=The Band");
    ok(&album, "year=2024");
    ok(&album, "upc=036000291452");
    ok(&album, "disc=1/1");
    ok(&album, "comment=album comment");
    lathe_meta_set_loudness(&album, 1, -12.0, 0.98);
    ok(&song, "title=Song Three");
    ok(&song, "artist=Guest");
    ok(&song, "track=3/12");
    ok(&song, "isrc=USRC17600003");
    lathe_meta_set_loudness(&song, 0, -11.49, 0.912345);
    lathe_error err = {0};
    assert_int_equal(lathe_meta_merge(&out, &album, &err), LATHE_OK);
    assert_int_equal(lathe_meta_merge(&out, &song, &err), LATHE_OK);
    lathe_meta_free(&album); /* out owns copies */
    lathe_meta_free(&song);
    assert_string_equal(out.album, "The Album");
    assert_string_equal(out.album_artist, "The Band");
    assert_string_equal(out.artist, "Guest");
    assert_string_equal(out.title, "Song Three");
    assert_string_equal(out.comment, "album comment");
    assert_string_equal(out.year, "2024");
    assert_string_equal(out.upc, "036000291452");
    assert_string_equal(out.isrc, "USRC17600003");
    assert_null(out.genre);
    assert_null(out.composer);
    assert_int_equal(out.track, 3);
    assert_int_equal(out.track_total, 12);
    assert_int_equal(out.disc, 1);
    assert_int_equal(out.disc_total, 1);
    assert_true(out.track_loudness.has_gain && out.track_loudness.has_peak);
    assert_true(out.album_loudness.has_gain && out.album_loudness.has_peak);
    assert_true(out.track_loudness.lufs == -11.49);
    assert_true(out.album_loudness.peak == 0.98);
    assert_int_equal(lathe_meta_merge(&out, &(lathe_meta){0}, &err),
                     LATHE_OK); /* empty: no change */
    assert_string_equal(out.title, "Song Three");
    lathe_meta_free(&out);
}

static void meta_replaygain_gain_is_minus_18_minus_integrated(void **s) {
    (void)s;
    const double lufs[] = {-23.0, -18.0, -14.0, -11.49, -30.25, -8.0};
    for (int k = 0; k < 6; k++)
        assert_true(fabs(lathe_replaygain_gain_db(lufs[k]) - (-18.0 - lufs[k])) < 1e-12);
    char buf[32];
    assert_string_equal(lathe_replaygain_gain_str(buf, lathe_replaygain_gain_db(-11.49)),
                        "-6.51 dB");
    assert_string_equal(lathe_replaygain_gain_str(buf, lathe_replaygain_gain_db(-23.0)), "5.00 dB");
    assert_string_equal(lathe_replaygain_gain_str(buf, -0.001), "0.00 dB");
    assert_string_equal(lathe_replaygain_gain_str(buf, 0.0), "0.00 dB");
    assert_string_equal(lathe_replaygain_gain_str(buf, -12.345678), "-12.35 dB");
    assert_string_equal(lathe_replaygain_peak_str(buf, 0.912345), "0.912345");
    assert_string_equal(lathe_replaygain_peak_str(buf, 1.0234567), "1.023457");
    assert_string_equal(lathe_replaygain_peak_str(buf, 0.0), "0.000000");
}

static void meta_r128_gain_is_q7_8_of_minus_23_minus_integrated(void **s) {
    (void)s;
    /* RFC 7845 5.2.1: Q7.8 = round(dB * 256). */
    assert_int_equal(lathe_r128_gain_q78(-23.0), 0);
    assert_int_equal(lathe_r128_gain_q78(-11.49), -2947); /* -11.51 dB * 256 = -2946.56 */
    assert_int_equal(lathe_r128_gain_q78(-30.0), 1792);   /* 7 dB */
    assert_int_equal(lathe_r128_gain_q78(-23.5), 128);    /* 0.5 dB */
    assert_int_equal(lathe_r128_gain_q78(-200.0), 32767); /* clamped */
    assert_int_equal(lathe_r128_gain_q78(200.0), -32768);
    for (double l = -40.0; l <= 0.0; l += 0.37) {
        int q = lathe_r128_gain_q78(l);
        assert_true(fabs(q / 256.0 - (-23.0 - l)) <= 0.5 / 256.0 + 1e-12);
    }
    char buf[32];
    assert_string_equal(lathe_r128_gain_str(buf, -2947), "-2947");
    assert_string_equal(lathe_r128_gain_str(buf, 0), "0");
}

static void meta_set_loudness_fills_the_scope_asked(void **s) {
    (void)s;
    lathe_meta m = {0};
    lathe_meta_set_loudness(&m, 0, -14.0, 0.5);
    assert_true(m.track_loudness.has_gain && m.track_loudness.has_peak);
    assert_false(m.album_loudness.has_gain || m.album_loudness.has_peak);
    assert_true(m.track_loudness.rg_gain_db == -4.0);
    assert_int_equal(m.track_loudness.r128_gain_q78, -9 * 256);
    assert_true(m.track_loudness.peak == 0.5);
    assert_false(lathe_meta_empty(&m));
    lathe_meta_set_loudness(&m, 1, -INFINITY, NAN); /* silence: nothing to tag */
    assert_false(m.album_loudness.has_gain || m.album_loudness.has_peak);
    lathe_meta_set_loudness(&m, 1, NAN, 0.25);
    assert_false(m.album_loudness.has_gain);
    assert_true(m.album_loudness.has_peak && m.album_loudness.peak == 0.25);
    lathe_meta_free(&m);
    assert_false(m.track_loudness.has_gain);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(meta_every_key_is_stored),
        cmocka_unit_test(meta_set_twice_keeps_the_last_value),
        cmocka_unit_test(meta_isrc_forms_normalise_to_12_uppercase),
        cmocka_unit_test(meta_isrc_errors_are_exact),
        cmocka_unit_test(meta_upc_accepts_exactly_the_gs1_check_digit),
        cmocka_unit_test(meta_upc_length_and_digit_errors_are_exact),
        cmocka_unit_test(meta_year_accepts_years_and_real_dates_only),
        cmocka_unit_test(meta_track_and_disc_positions),
        cmocka_unit_test(meta_unknown_keys_name_the_nearest),
        cmocka_unit_test(meta_argument_form_errors_are_exact),
        cmocka_unit_test(meta_merge_song_overrides_album),
        cmocka_unit_test(meta_replaygain_gain_is_minus_18_minus_integrated),
        cmocka_unit_test(meta_r128_gain_is_q7_8_of_minus_23_minus_integrated),
        cmocka_unit_test(meta_set_loudness_fills_the_scope_asked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
