// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * compose: writes the lathe demo song, "Spin It Round", as one Standard MIDI
 * File per instrument, so that fluidsynth can render each part into its own
 * stem. Every file has the same conductor track (tempo, meter, key) and the
 * same length, so the stems line up sample for sample from time 0.
 *
 * The song (A minor, 112 bpm, 4/4, 22 bars of music plus 2 bars of tails):
 *   bars  1-4   intro   Am7 Fmaj7 C G        pad, saw-lead arpeggio; hats, kick
 *                                            and bass join in bar 3
 *   bars  5-12  verse   Am7 Fmaj7 C G        full groove, e-piano stabs; the
 *                       Am7 Fmaj7 G E7       voice speaks, the lead answers
 *   bars 13-20  chorus  Fmaj7 G C Am7        four on the floor, pumping bass,
 *                       Fmaj7 G E7 Am7       strings, the lead sings the hook
 *   bars 21-22  outro   Fmaj7 Am(add9)       last hits, everything rings out
 *
 * Content is fixed: no randomness, so every run writes identical files.
 *
 * usage: compose DIR            write DIR/<part>.mid for every part
 *        compose --time BAR [BEAT]
 *                               print the time in seconds of a bar|beat
 *                               position (1|1 = 0), for placing the vocal
 *        compose --length       print the length of every file in seconds
 *
 * Build: cc -O2 -Wall -Wextra -o compose compose.c   (libc only)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- time ------------------------------------------------------------- */

#define PPQ 480                 /* ticks per quarter note */
#define BEATS 4                 /* 4/4 */
#define BAR_TICKS (PPQ * BEATS) /* ticks per bar */
#define TEMPO_US 535714L        /* microseconds per quarter: 112 bpm */
#define SONG_BARS 22            /* bars with music */
#define FILE_BARS 24            /* every file ends here: room for release tails */

/* A position as the session file writes it: 1-based bar, 1-based beat. */
static long at(int bar, double beat)
{
    return (long)(bar - 1) * BAR_TICKS + (long)((beat - 1.0) * PPQ + 0.5);
}

static long beats(double b) { return (long)(b * PPQ + 0.5); }

/* ---- events and parts ------------------------------------------------- */

typedef struct {
    long tick;
    int prio; /* at equal ticks: 0 setup, 1 note off, 2 note on */
    int seq;  /* insertion order, for a stable sort */
    unsigned char msg[3];
} event;

typedef struct {
    const char *file;  /* output name without .mid */
    const char *title; /* MIDI track name */
    int channel;       /* 0-based; 9 is the GM drum channel */
    int program;       /* 0-based GM program, -1 for drums */
    int volume;        /* CC 7 */
    event *ev;
    int n, cap;
} part;

static void add(part *p, long tick, int prio, int status, int d1, int d2)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 256;
        p->ev = realloc(p->ev, (size_t)p->cap * sizeof *p->ev);
        if (!p->ev) {
            perror("compose");
            exit(1);
        }
    }
    event *e = &p->ev[p->n];
    e->tick = tick;
    e->prio = prio;
    e->seq = p->n;
    e->msg[0] = (unsigned char)(status | p->channel);
    e->msg[1] = (unsigned char)d1;
    e->msg[2] = (unsigned char)d2;
    p->n++;
}

/* A note at bar|beat lasting `dur` beats. */
static void note(part *p, int bar, double beat, double dur, int key, int vel)
{
    long on = at(bar, beat), off = on + beats(dur);
    if (vel < 1)
        vel = 1;
    if (vel > 127)
        vel = 127;
    add(p, on, 2, 0x90, key, vel);
    add(p, off, 1, 0x80, key, 0);
}

/* ---- harmony ---------------------------------------------------------- */

enum { C = 0, D = 2, E = 4, F = 5, Gs = 8, G = 7, A = 9, B = 11 };

typedef struct {
    const char *name;
    int root;   /* pitch class */
    int pc[4];  /* chord tones, root first */
    int n;
} chord;

static const chord AM7 = {"Am7", A, {A, C, E, G}, 4};
static const chord FMAJ7 = {"Fmaj7", F, {F, A, C, E}, 4};
static const chord CMAJ = {"C", C, {C, E, G, D}, 3}; /* D: add9 on the pad */
static const chord GMAJ = {"G", G, {G, B, D, E}, 3}; /* E: 6th on the pad */
static const chord E7 = {"E7", E, {E, Gs, B, D}, 4};
static const chord AM9 = {"Am(add9)", A, {A, C, E, B}, 4};

/* The chord of every bar, 1-based (index 0 unused). */
static const chord *const SONG[SONG_BARS + 1] = {
    NULL,
    &AM7, &FMAJ7, &CMAJ, &GMAJ,                           /* intro */
    &AM7, &FMAJ7, &CMAJ, &GMAJ, &AM7, &FMAJ7, &GMAJ, &E7, /* verse */
    &FMAJ7, &GMAJ, &CMAJ, &AM7, &FMAJ7, &GMAJ, &E7, &AM7, /* chorus */
    &FMAJ7, &AM9,                                         /* outro */
};

/* The MIDI note of pitch class pc in the octave [lo, lo + 11]. */
static int place(int pc, int lo) { return lo + (((pc - lo) % 12) + 12) % 12; }

/* All chord tones (n of them; 4 gives the colour tone) in [lo, lo + 11]:
 * close voicings whose voice leading stays smooth from bar to bar. A tone a
 * semitone under another (the 7th under the root of Fmaj7, the 9th under the
 * 3rd of Am(add9)) goes up an octave, so no voicing holds a minor-second
 * cluster. */
static void chord_notes(part *p, int bar, double beat, double dur, const chord *c,
                        int lo, int n, int vel)
{
    int key[4];
    for (int i = 0; i < n; i++)
        key[i] = place(c->pc[i], lo);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (key[j] - key[i] == 1)
                key[i] += 12;
    for (int i = 0; i < n; i++)
        note(p, bar, beat, dur, key[i], vel);
}

/* The note a step below the next bar's root (in A minor; the leading tone
 * G# below A), for bass approach notes. */
static int approach(int bar, int lo)
{
    int next = bar < SONG_BARS ? SONG[bar + 1]->root : A;
    int below = next == A ? Gs : (next + 10) % 12;
    if (below == 6 || below == 1 || below == 3 || below == 10) /* not in the scale */
        below = (next + 11) % 12;
    return place(below, lo);
}

enum { INTRO = 1, VERSE = 5, CHORUS = 13, OUTRO = 21 };

/* ---- the parts -------------------------------------------------------- */

/* GM drum keys */
enum { KICK = 36, SNARE = 38, CLAP = 39, HAT = 42, OPEN_HAT = 46, CRASH = 49 };

/* Where the kick plays in a bar, in eighths (0..7); the bass locks to it. */
static int kick_eighths(int bar, int out[8])
{
    int n = 0;
    if (bar >= 3 && bar < VERSE) { /* intro: half time */
        out[n++] = 0;
        out[n++] = 4;
    } else if (bar >= VERSE && bar < CHORUS) { /* verse: 1, 2-and, 3 (+ 4-and) */
        out[n++] = 0;
        out[n++] = 3;
        out[n++] = 4;
        if (bar % 2 == 0 && bar != 12)
            out[n++] = 7;
    } else if (bar >= CHORUS && bar < OUTRO) { /* chorus: four on the floor */
        for (int i = 0; i < 8; i += 2)
            out[n++] = i;
        if (bar == 16 || bar == 20)
            out[n++] = 7;
    } else if (bar == OUTRO) {
        out[n++] = 0;
        out[n++] = 3;
        out[n++] = 4;
    } else if (bar == OUTRO + 1) {
        out[n++] = 0;
    }
    return n;
}

static void write_kick(part *p)
{
    for (int bar = 1; bar <= SONG_BARS; bar++) {
        int k[8], n = kick_eighths(bar, k);
        for (int i = 0; i < n; i++) {
            int vel = k[i] == 0 ? 112 : (k[i] % 2 ? 92 : 104);
            note(p, bar, 1 + 0.5 * k[i], 0.5, KICK, vel);
        }
    }
}

static void write_snare(part *p)
{
    /* intro pickup: four sixteenths on beat 4 of bar 4 */
    for (int i = 0; i < 4; i++)
        note(p, 4, 4 + 0.25 * i, 0.25, SNARE, 52 + 14 * i);
    for (int bar = VERSE; bar < CHORUS; bar++) {
        note(p, bar, 2, 0.5, SNARE, 100);
        if (bar == 12) { /* fill into the chorus: 8 sixteenths, crescendo */
            for (int i = 0; i < 8; i++)
                note(p, bar, 3 + 0.25 * i, 0.25, SNARE, 46 + 9 * i);
            continue;
        }
        note(p, bar, 4, 0.5, SNARE, 106);
        if (bar % 2 == 0) { /* ghost notes */
            note(p, bar, 2.75, 0.25, SNARE, 30);
            note(p, bar, 3.5, 0.25, SNARE, 26);
        }
    }
    for (int bar = CHORUS; bar < OUTRO; bar++) {
        note(p, bar, 2, 0.5, SNARE, 104);
        note(p, bar, 2, 0.5, CLAP, 96);
        note(p, bar, 4, 0.5, SNARE, 110);
        note(p, bar, 4, 0.5, CLAP, 100);
        if (bar == 16 || bar == 20) /* short pickups */
            for (int i = 1; i < 4; i++)
                note(p, bar, 4 + 0.25 * i, 0.25, SNARE, 60 + 12 * i);
    }
    note(p, OUTRO, 2, 0.5, SNARE, 92);
    note(p, OUTRO, 4, 0.5, SNARE, 96);
}

static void write_hats(part *p)
{
    /* crashes mark the sections */
    note(p, VERSE, 1, 4, CRASH, 92);
    note(p, CHORUS, 1, 4, CRASH, 108);
    note(p, CHORUS + 4, 1, 4, CRASH, 96);
    note(p, OUTRO, 1, 4, CRASH, 92);
    note(p, OUTRO + 1, 1, 8, CRASH, 104);
    for (int bar = 3; bar <= OUTRO; bar++) {
        int crash = bar == VERSE || bar == CHORUS || bar == CHORUS + 4 || bar == OUTRO;
        if (bar >= CHORUS && bar < OUTRO) { /* sixteenths, open hat on the offbeats */
            for (int s = 0; s < 16; s++) {
                if (s == 0 && crash)
                    continue;
                if (s % 4 == 2)
                    note(p, bar, 1 + 0.25 * s, 0.25, OPEN_HAT, 72);
                else
                    note(p, bar, 1 + 0.25 * s, 0.25, HAT, s % 4 == 0 ? 86 : 44 + 4 * (s % 2));
            }
            continue;
        }
        int soft = bar < VERSE ? 22 : 0; /* the intro hats are quieter */
        for (int e = 0; e < 8; e++) {
            if (e == 0 && crash)
                continue;
            if (e == 7 && (bar == 8 || bar == 12))
                note(p, bar, 1 + 0.5 * e, 0.5, OPEN_HAT, 70);
            else
                note(p, bar, 1 + 0.5 * e, 0.5, HAT, (e % 2 ? 56 : 82) - soft);
        }
        if (bar >= VERSE && bar % 2 == 1) /* a sixteenth pickup now and then */
            note(p, bar, 4.75, 0.25, HAT, 40);
    }
}

static void write_bass(part *p)
{
    const int lo = 36; /* roots from C2 to B2 */
    /* intro: the bass enters on bar 3 with long roots */
    for (int bar = 3; bar < VERSE; bar++)
        note(p, bar, 1, 3.75, place(SONG[bar]->root, lo), 88);
    for (int bar = VERSE; bar <= OUTRO; bar++) {
        int root = place(SONG[bar]->root, lo);
        if (bar >= CHORUS && bar < OUTRO) { /* pulsing eighths with octave jumps */
            static const int oct[8] = {0, 0, 12, 0, 0, 0, 12, 0};
            static const int vel[8] = {104, 72, 92, 74, 102, 72, 92, 78};
            for (int e = 0; e < 8; e++) {
                int key = root + oct[e];
                if (e == 7 && (bar == 16 || bar == 20))
                    key = approach(bar, lo);
                note(p, bar, 1 + 0.5 * e, 0.42, key, vel[e]);
            }
            continue;
        }
        /* verse and outro: on every kick, plus the octave on beat 4 and a
         * step into the next chord on 4-and; each held until the next note */
        int k[8], n = kick_eighths(bar, k);
        int pos[10], key[10], m = 0;
        for (int i = 0; i < n; i++) {
            pos[m] = k[i];
            key[m++] = root;
        }
        if (bar != OUTRO) {
            if (pos[m - 1] < 6) {
                pos[m] = 6;
                key[m++] = root + 12;
            }
            if (pos[m - 1] < 7) {
                pos[m] = 7;
                key[m++] = approach(bar, lo);
            }
        }
        for (int i = 0; i < m; i++) {
            int next = i + 1 < m ? pos[i + 1] : 8;
            double dur = 0.5 * (next - pos[i]) - 0.1;
            if (bar == OUTRO && i == m - 1)
                dur = 1.9; /* let the F ring into the last bar */
            note(p, bar, 1 + 0.5 * pos[i], dur, key[i], pos[i] == 0 ? 104 : pos[i] >= 6 ? 80 : 90);
        }
    }
    note(p, OUTRO + 1, 1, 4, place(A, 24), 108); /* A1: the deep last note */
}

static void write_keys(part *p) /* electric piano */
{
    const int lo = 57; /* close voicings from A3 to G#4 */
    for (int bar = VERSE; bar < CHORUS; bar++) { /* stabs on 1, 2-and, 3-and */
        const chord *c = SONG[bar];
        chord_notes(p, bar, 1, 1.2, c, lo, c->n, 74);
        chord_notes(p, bar, 2.5, 0.45, c, lo, c->n, 60);
        chord_notes(p, bar, 3.5, 0.9, c, lo, c->n, 66);
    }
    for (int bar = CHORUS; bar < OUTRO; bar++) { /* on the beats, pushed 4-and */
        const chord *c = SONG[bar];
        chord_notes(p, bar, 1, 0.8, c, lo, c->n, 82);
        chord_notes(p, bar, 2, 0.8, c, lo, c->n, 62);
        chord_notes(p, bar, 3, 0.45, c, lo, c->n, 74);
        chord_notes(p, bar, 3.5, 0.45, c, lo, c->n, 60);
        chord_notes(p, bar, 4.5, 0.45, c, lo, c->n, 68);
    }
    chord_notes(p, OUTRO, 1, 3.9, SONG[OUTRO], lo, 4, 76);
    chord_notes(p, OUTRO + 1, 1, 6, SONG[OUTRO + 1], lo, 4, 72);
}

static void write_pad(part *p) /* warm pad, one chord per bar */
{
    const int lo = 52; /* E3 to D#4 */
    for (int bar = 1; bar <= SONG_BARS; bar++) {
        const chord *c = SONG[bar];
        int vel = bar < VERSE ? 76 : bar < CHORUS ? 58 : 70;
        double dur = bar == SONG_BARS ? 6 : 4;
        chord_notes(p, bar, 1, dur, c, lo, 4, vel);
    }
}

static void write_strings(part *p) /* chorus and outro */
{
    const int lo = 62; /* D4 to C#5: triads above the keys */
    for (int bar = CHORUS; bar <= SONG_BARS; bar++) {
        const chord *c = SONG[bar];
        int vel = 58 + 3 * (bar - CHORUS); /* a slow crescendo */
        double dur = bar == SONG_BARS ? 6 : 4;
        chord_notes(p, bar, 1, dur, c, lo, 3, vel);
        /* the root an octave below for body */
        note(p, bar, 1, dur, place(c->root, lo - 12), vel - 8);
    }
}

/* A melody as (beat, duration in beats, key) steps; key 0 ends it. */
typedef struct {
    double beat, dur;
    int key;
} step;

static void phrase(part *p, int bar, const step *s, int vel)
{
    for (; s->key; s++)
        note(p, bar, s->beat, s->dur * 0.92, s->key, vel + (s->beat == 1.0 ? 8 : 0));
}

static void write_lead(part *p) /* sawtooth lead */
{
    /* intro: an eighth-note arpeggio (up and back down through the chord);
     * the session opens a low-pass over it */
    for (int bar = 1; bar < VERSE; bar++) {
        const chord *c = SONG[bar];
        int r = place(c->root, 57);
        int v[5] = {r, place(c->pc[1], r), place(c->pc[2], r), r + 12, place(c->pc[1], r) + 12};
        static const int order[8] = {0, 1, 2, 3, 4, 3, 2, 1};
        for (int e = 0; e < 8; e++)
            note(p, bar, 1 + 0.5 * e, 0.4, v[order[e]], e % 2 ? 70 : 84);
    }
    /* verse: answers in the gaps between the spoken lines */
    static const step ans6[] = {{3, .5, 72}, {3.5, .5, 69}, {4, .5, 67}, {4.5, .5, 69}, {0, 0, 0}};
    static const step ans8[] = {{3, .5, 71}, {3.5, .5, 74}, {4, 1, 79}, {0, 0, 0}};
    static const step ans10[] = {{3, .5, 69}, {3.5, .5, 72}, {4, 1, 76}, {0, 0, 0}};
    static const step ans12[] = {{3, .5, 64}, {3.5, .5, 68}, {4, .5, 71}, {4.5, .5, 74}, {0, 0, 0}};
    phrase(p, 6, ans6, 76);
    phrase(p, 8, ans8, 76);
    phrase(p, 10, ans10, 76);
    phrase(p, 12, ans12, 84);
    /* chorus: the hook */
    static const step h13[] = {{1, 1.5, 76}, {2.5, .5, 74}, {3, 1, 72}, {4, 1, 69}, {0, 0, 0}};
    static const step h14[] = {{1, 1, 71}, {2, .5, 72}, {2.5, 1.5, 74}, {4, .5, 67}, {4.5, .5, 71}, {0, 0, 0}};
    static const step h15[] = {{1, 1.5, 72}, {2.5, 1.5, 76}, {4, 1, 79}, {0, 0, 0}};
    static const step h16[] = {{1, 3, 76}, {4, .5, 74}, {4.5, .5, 72}, {0, 0, 0}};
    static const step h18[] = {{1, 1, 71}, {2, .5, 72}, {2.5, 1, 74}, {3.5, .5, 79}, {4, 1, 77}, {0, 0, 0}};
    static const step h19[] = {{1, 1.5, 76}, {2.5, .5, 74}, {3, 1, 71}, {4, 1, 68}, {0, 0, 0}};
    static const step h20[] = {{1, 3, 69}, {4.5, .5, 76}, {0, 0, 0}};
    static const step h21[] = {{1, 2, 72}, {3, 1, 71}, {4, 1, 72}, {0, 0, 0}};
    static const step h22[] = {{1, 4, 69}, {0, 0, 0}};
    phrase(p, 13, h13, 88);
    phrase(p, 14, h14, 84);
    phrase(p, 15, h15, 86);
    phrase(p, 16, h16, 84);
    phrase(p, 17, h13, 90);
    phrase(p, 18, h18, 86);
    phrase(p, 19, h19, 88);
    phrase(p, 20, h20, 86);
    phrase(p, 21, h21, 80);
    phrase(p, 22, h22, 78);
}

/* ---- Standard MIDI File writer ----------------------------------------- */

typedef struct {
    unsigned char *b;
    size_t n, cap;
} buf;

static void put(buf *o, const void *src, size_t n)
{
    if (n == 0) /* e.g. the empty end-of-track meta event */
        return;
    if (o->n + n > o->cap) {
        while (o->n + n > o->cap)
            o->cap = o->cap ? 2 * o->cap : 1024;
        o->b = realloc(o->b, o->cap);
        if (!o->b) {
            perror("compose");
            exit(1);
        }
    }
    memcpy(o->b + o->n, src, n);
    o->n += n;
}

static void put1(buf *o, int v)
{
    unsigned char c = (unsigned char)v;
    put(o, &c, 1);
}

static void put_be(buf *o, unsigned long v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        put1(o, (int)((v >> (8 * i)) & 0xff));
}

/* variable-length quantity: 7 bits per byte, high bit = more follows */
static void put_vlq(buf *o, unsigned long v)
{
    unsigned char tmp[5];
    int n = 0;
    tmp[n++] = (unsigned char)(v & 0x7f);
    while (v >>= 7)
        tmp[n++] = (unsigned char)(0x80 | (v & 0x7f));
    while (n--)
        put1(o, tmp[n]);
}

static void put_meta(buf *o, unsigned long delta, int type, const void *data, size_t n)
{
    put_vlq(o, delta);
    put1(o, 0xff);
    put1(o, type);
    put_vlq(o, n);
    put(o, data, n);
}

static void put_chunk(buf *file, const char *id, const buf *body)
{
    put(file, id, 4);
    put_be(file, body->n, 4);
    put(file, body->b, body->n);
}

static int cmp_event(const void *pa, const void *pb)
{
    const event *a = pa, *b = pb;
    if (a->tick != b->tick)
        return a->tick < b->tick ? -1 : 1;
    if (a->prio != b->prio)
        return a->prio - b->prio;
    return a->seq - b->seq;
}

static const long END_TICK = (long)FILE_BARS * BAR_TICKS;

/* The conductor track, identical in every file: the one tempo map. */
static void conductor(buf *t)
{
    static const char name[] = "Spin It Round (lathe demo)";
    put_meta(t, 0, 0x03, name, sizeof name - 1);
    const unsigned char meter[4] = {4, 2, 24, 8}; /* 4/4 */
    put_meta(t, 0, 0x58, meter, 4);
    const unsigned char key[2] = {0, 1}; /* no sharps or flats, minor: A minor */
    put_meta(t, 0, 0x59, key, 2);
    const unsigned char tempo[3] = {(unsigned char)(TEMPO_US >> 16), (unsigned char)(TEMPO_US >> 8),
                                    (unsigned char)TEMPO_US};
    put_meta(t, 0, 0x51, tempo, 3);
    put_meta(t, (unsigned long)END_TICK, 0x2f, NULL, 0);
}

static int write_part(const char *dir, part *p)
{
    /* setup at tick 0: program, volume, centred pan, no reverb or chorus
     * send (the mix adds its own space) */
    if (p->program >= 0)
        add(p, 0, 0, 0xc0, p->program, 0);
    add(p, 0, 0, 0xb0, 7, p->volume);
    add(p, 0, 0, 0xb0, 10, 64);
    add(p, 0, 0, 0xb0, 91, 0);
    add(p, 0, 0, 0xb0, 93, 0);
    qsort(p->ev, (size_t)p->n, sizeof *p->ev, cmp_event);

    buf t0 = {0}, t1 = {0}, file = {0};
    conductor(&t0);
    put_meta(&t1, 0, 0x03, p->title, strlen(p->title));
    long now = 0;
    int notes = 0;
    for (int i = 0; i < p->n; i++) {
        const event *e = &p->ev[i];
        if (e->tick > END_TICK) {
            fprintf(stderr, "compose: %s: event after the end\n", p->file);
            return 1;
        }
        put_vlq(&t1, (unsigned long)(e->tick - now));
        now = e->tick;
        int len = (e->msg[0] & 0xf0) == 0xc0 ? 2 : 3;
        notes += (e->msg[0] & 0xf0) == 0x90;
        put(&t1, e->msg, (size_t)len);
    }
    put_meta(&t1, (unsigned long)(END_TICK - now), 0x2f, NULL, 0);

    buf hdr = {0};
    put_be(&hdr, 1, 2); /* format 1: conductor + one part */
    put_be(&hdr, 2, 2);
    put_be(&hdr, PPQ, 2);
    put_chunk(&file, "MThd", &hdr);
    put_chunk(&file, "MTrk", &t0);
    put_chunk(&file, "MTrk", &t1);

    char path[4096];
    snprintf(path, sizeof path, "%s/%s.mid", dir, p->file);
    FILE *f = fopen(path, "wb");
    int bad = !f || fwrite(file.b, 1, file.n, f) != file.n;
    if (f && fclose(f) != 0)
        bad = 1;
    if (bad)
        fprintf(stderr, "compose: %s: %s\n", path, strerror(errno));
    else
        printf("  %-8s %-20s %4d notes\n", p->file, p->title, notes);
    free(hdr.b);
    free(t0.b);
    free(t1.b);
    free(file.b);
    return bad;
}

static double seconds(long tick) { return (double)tick * TEMPO_US / PPQ / 1e6; }

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--time") == 0) {
        int bar = atoi(argv[2]);
        double beat = argc >= 4 ? atof(argv[3]) : 1.0;
        printf("%.6f\n", seconds(at(bar, beat)));
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--length") == 0) {
        printf("%.6f\n", seconds(END_TICK));
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: compose DIR | --time BAR [BEAT] | --length\n");
        return 2;
    }
    part parts[] = {
        {"kick", "Kick", 9, -1, 127, NULL, 0, 0},
        {"snare", "Snare and clap", 9, -1, 110, NULL, 0, 0},
        {"hats", "Hi-hats and crash", 9, -1, 127, NULL, 0, 0},
        {"bass", "Fingered bass", 0, 33, 120, NULL, 0, 0},
        {"keys", "Electric piano", 1, 4, 100, NULL, 0, 0},
        {"pad", "Warm pad", 2, 89, 110, NULL, 0, 0},
        {"lead", "Saw lead", 3, 81, 60, NULL, 0, 0},
        {"strings", "Strings", 4, 48, 110, NULL, 0, 0},
    };
    void (*const writers[])(part *) = {write_kick, write_snare, write_hats, write_bass,
                                       write_keys, write_pad, write_lead, write_strings};
    int bad = 0;
    printf("Spin It Round: A minor, 112 bpm, %d bars + %d of tails, %.1f s\n", SONG_BARS,
           FILE_BARS - SONG_BARS, seconds(END_TICK));
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        writers[i](&parts[i]);
        bad |= write_part(argv[1], &parts[i]);
        free(parts[i].ev);
    }
    return bad;
}
