/* SPDX-License-Identifier: GPL-3.0-or-later */
/* K-weighted momentary and short-term loudness with exact sliding windows.
 *
 * Filters: BS.1770-4 Annex 1.  The stage-1 shelf and stage-2 high-pass are
 * re-derived for any rate from their analog prototypes (shelf at
 * 1681.97 Hz, +4.00 dB, Q 0.7072; high-pass at 38.135 Hz, Q 0.5003), the
 * published parameters that reproduce the standard's 48 kHz coefficients.
 *
 * Windows: Tech 3341 section 2.2: M is a 400 ms rectangular window, S 3 s,
 * neither gated.  A meter that updates only every 100 ms under-reads a burst
 * that straddles two updates (Tech 3341 cases 13 and 14 probe this), so M is
 * evaluated at every sample and S every 10 ms. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/kmeter.h"
#include "util/simd.h"

#define SUB_PER_S 300 /* 10 ms sub-blocks in a 3 s short-term window */
/* Histograms of block loudness: 0.01 LU bins from -70 to +30 LUFS. */
#define HIST_LO (-70.0)
#define HIST_BINS 10000
#define HIST_STEP 0.01

/* K-filter state per channel: stage 1 input x1 x2 and output y1 y2 (which
 * are also stage 2's input history), stage 2 output w1 w2. */
enum { X1, X2, Y1, Y2, W1, W2, NSTATE };

struct lathe_kmeter {
    int channels;
    double rate;
    lathe_kfilter f1, f2;
    double state[LATHE_MAX_CHANNELS][NSTATE]; /* direct form I histories */
    double gain[LATHE_MAX_CHANNELS];
    int stereo; /* 2 channels of weight 1: run_stereo */
    /* momentary: ring of per-sample weighted energies (the last 400 ms, so
     * the 10 and 100 ms sub-block sums are read back from it too) */
    double *mring;
    long mlen, mpos, msince;
    double msum, mmax;
    /* short-term: a ring of 10 ms sub-block energies */
    long sublen, subfill;
    double sring[SUB_PER_S], ssum, smax;
    int spos, nsub;
    long long subs_done;
    /* 100 ms gating sub-blocks: the last 4 (integrated) and 30 (LRA) */
    long hlen, hfill;
    double hring[30];
    int hpos;
    long long hcount;
    /* histograms: count and exact energy sum per bin */
    unsigned *icount, *scount;
    double *ienergy, *senergy;
    lathe_kmeter_cb cb;
    void *user;
};

void lathe_kweight_design(double rate, lathe_kfilter *shelf, lathe_kfilter *hp)
{
    /* Stage 1: high shelf. */
    const double f0 = 1681.974450955533, G = 3.999843853973347, Q = 0.7071752369554196;
    double K = tan(M_PI * f0 / rate);
    double Vh = pow(10.0, G / 20.0), Vb = pow(Vh, 0.4996667741545416);
    double a0 = 1.0 + K / Q + K * K;
    shelf->b0 = (Vh + Vb * K / Q + K * K) / a0;
    shelf->b1 = 2.0 * (K * K - Vh) / a0;
    shelf->b2 = (Vh - Vb * K / Q + K * K) / a0;
    shelf->a1 = 2.0 * (K * K - 1.0) / a0;
    shelf->a2 = (1.0 - K / Q + K * K) / a0;
    /* Stage 2: RLB high-pass. */
    const double f1 = 38.13547087602444, Q1 = 0.5003270373238773;
    K = tan(M_PI * f1 / rate);
    a0 = 1.0 + K / Q1 + K * K;
    hp->b0 = 1.0, hp->b1 = -2.0, hp->b2 = 1.0;
    hp->a1 = 2.0 * (K * K - 1.0) / a0;
    hp->a2 = (1.0 - K / Q1 + K * K) / a0;
}

double lathe_kweight_channel_gain(int c, int n)
{
    /* BS.1770-4 Table 3: 1.0 for L, R, C; 1.41 for surrounds; LFE excluded. */
    if (n == 5) return c >= 3 ? 1.41 : 1.0;
    if (n >= 6) return c == 3 ? 0.0 : (c == 4 || c == 5) ? 1.41 : 1.0;
    return 1.0;
}

double lathe_energy_to_lufs(double ms)
{
    return ms > 0 ? -0.691 + 10.0 * log10(ms) : -HUGE_VAL;
}

lathe_kmeter *lathe_kmeter_new(double rate, int channels)
{
    lathe_kmeter *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->channels = channels;
    m->rate = rate;
    lathe_kweight_design(rate, &m->f1, &m->f2);
    for (int c = 0; c < channels; c++) m->gain[c] = lathe_kweight_channel_gain(c, channels);
    m->stereo = channels == 2 && m->gain[0] == 1.0 && m->gain[1] == 1.0;
    m->mlen = lrint(0.4 * rate);
    m->hlen = lrint(rate / 10.0);
    m->icount = calloc(HIST_BINS, sizeof *m->icount);
    m->scount = calloc(HIST_BINS, sizeof *m->scount);
    m->ienergy = calloc(HIST_BINS, sizeof *m->ienergy);
    m->senergy = calloc(HIST_BINS, sizeof *m->senergy);
    m->sublen = lrint(rate / 100.0);
    m->mring = calloc((size_t)m->mlen, sizeof *m->mring);
    if (!m->mring || !m->icount || !m->scount || !m->ienergy || !m->senergy) {
        lathe_kmeter_free(m);
        return NULL;
    }
    lathe_kmeter_reset(m);
    return m;
}

void lathe_kmeter_free(lathe_kmeter *m)
{
    if (!m) return;
    free(m->mring);
    free(m->icount);
    free(m->scount);
    free(m->ienergy);
    free(m->senergy);
    free(m);
}

void lathe_kmeter_reset(lathe_kmeter *m)
{
    memset(m->state, 0, sizeof m->state);
    memset(m->mring, 0, (size_t)m->mlen * sizeof *m->mring);
    memset(m->sring, 0, sizeof m->sring);
    m->mpos = m->msince = 0;
    m->msum = m->ssum = 0;
    m->mmax = m->smax = 0;
    m->subfill = 0;
    m->spos = m->nsub = 0;
    m->subs_done = 0;
    m->hfill = 0;
    m->hpos = 0;
    m->hcount = 0;
    memset(m->hring, 0, sizeof m->hring);
    memset(m->icount, 0, HIST_BINS * sizeof *m->icount);
    memset(m->scount, 0, HIST_BINS * sizeof *m->scount);
    memset(m->ienergy, 0, HIST_BINS * sizeof *m->ienergy);
    memset(m->senergy, 0, HIST_BINS * sizeof *m->senergy);
}

/* Bin of a mean-square energy, or -1 below the absolute gate (-70 LUFS). */
static int bin_of(double ms)
{
    double l = lathe_energy_to_lufs(ms);
    if (!(l > HIST_LO)) return -1;
    int b = (int)((l - HIST_LO) / HIST_STEP);
    return b < HIST_BINS ? b : HIST_BINS - 1;
}

/* A 100 ms sub-block is complete: one gating block (the last 4) and, every
 * time, one short-term value (the last 30) enter their histograms. */
static void gate_block(lathe_kmeter *m, double energy)
{
    m->hring[m->hpos] = energy;
    m->hpos = (m->hpos + 1) % 30;
    m->hcount++;
    if (m->hcount >= 4) {
        double e = 0;
        for (int j = 1; j <= 4; j++) e += m->hring[(m->hpos - j + 30) % 30];
        e /= 4.0 * (double)m->hlen;
        int b = bin_of(e);
        if (b >= 0) m->icount[b]++, m->ienergy[b] += e;
    }
    if (m->hcount >= 30) {
        double e = 0;
        for (int j = 0; j < 30; j++) e += m->hring[j];
        e /= 30.0 * (double)m->hlen;
        int b = bin_of(e);
        if (b >= 0) m->scount[b]++, m->senergy[b] += e;
    }
}

double lathe_kmeter_integrated(const lathe_kmeter *m)
{
    /* Relative gate: -10 LU under the mean energy of blocks above -70 LUFS. */
    double sum = 0;
    unsigned long long n = 0;
    for (int b = 0; b < HIST_BINS; b++) sum += m->ienergy[b], n += m->icount[b];
    if (!n) return -HUGE_VAL;
    double gate = lathe_energy_to_lufs(sum / (double)n) - 10.0;
    int from = gate <= HIST_LO ? 0 : (int)((gate - HIST_LO) / HIST_STEP);
    sum = 0, n = 0;
    for (int b = from < 0 ? 0 : from; b < HIST_BINS; b++) {
        if (b == from && m->icount[b]) {
            /* the bin the gate cuts: keep it if its mean lies above the gate */
            double mean = m->ienergy[b] / m->icount[b];
            if (!(lathe_energy_to_lufs(mean) > gate)) continue;
        }
        sum += m->ienergy[b], n += m->icount[b];
    }
    return n ? lathe_energy_to_lufs(sum / (double)n) : -HUGE_VAL;
}

double lathe_kmeter_range(const lathe_kmeter *m)
{
    double sum = 0;
    unsigned long long n = 0;
    for (int b = 0; b < HIST_BINS; b++) sum += m->senergy[b], n += m->scount[b];
    if (!n) return 0.0;
    double gate = lathe_energy_to_lufs(sum / (double)n) - 20.0;
    int from = gate <= HIST_LO ? 0 : (int)((gate - HIST_LO) / HIST_STEP) + 1;
    n = 0;
    for (int b = from; b < HIST_BINS; b++) n += m->scount[b];
    if (!n) return 0.0;
    /* Tech 3342: the value at index round((n-1) p / 100 + 1), 1-based. */
    unsigned long long lo_i = (unsigned long long)llround((double)(n - 1) * 0.10 + 1.0);
    unsigned long long hi_i = (unsigned long long)llround((double)(n - 1) * 0.95 + 1.0);
    double lo = 0, hi = 0;
    unsigned long long seen = 0;
    int have_lo = 0;
    for (int b = from; b < HIST_BINS; b++) {
        seen += m->scount[b];
        double centre = HIST_LO + (b + 0.5) * HIST_STEP;
        if (!have_lo && seen >= lo_i) lo = centre, have_lo = 1;
        if (seen >= hi_i) {
            hi = centre;
            break;
        }
    }
    return hi - lo;
}

void lathe_kmeter_set_curve(lathe_kmeter *m, lathe_kmeter_cb cb, void *user)
{
    m->cb = cb;
    m->user = user;
}

/* The K-filters run as direct form I in double, ordered so that the only
 * loop-carried chain of a stage is one multiply and one subtraction:
 *   y[n] = (((b0 x[n] + b1 x[n-1]) + b2 x[n-2]) - a2 y[n-2]) - a1 y[n-1].
 * Everything before the last term is known a sample early, so the core
 * overlaps it with the previous sample (transposed direct form II had three
 * dependent operations per sample).  In double the form makes no measurable
 * difference at the 38 Hz high-pass poles: the rounding of either form is
 * ~1e-16 relative, amplified at most 1/A(1) times (3e4 at 44.1 kHz); the
 * integrated loudness of the test songs moved by 1e-14 LU.  Every path (the
 * scalar one, both vector lanes, prologue and epilogue) evaluates exactly
 * this expression, so a channel's values do not depend on the path. */
static inline double kstep(const lathe_kfilter *f, double v, double *x1, double *x2, double *y1,
                           double *y2)
{
    double y = (((f->b0 * v + f->b1 * *x1) + f->b2 * *x2) - f->a2 * *y2) - f->a1 * *y1;
    *x2 = *x1, *x1 = v, *y2 = *y1, *y1 = y;
    return y;
}

/* One channel's K-weighted output, squared and weighted, added into z[0..n). */
static void weigh_chan(const lathe_kmeter *m, double *st, const float *x, long n, double g,
                       double *z)
{
    double x1 = st[X1], x2 = st[X2], y1 = st[Y1], y2 = st[Y2], w1 = st[W1], w2 = st[W2];
    for (long i = 0; i < n; i++) {
        double u1 = y1, u2 = y2; /* stage 2's input history is stage 1's output */
        double y = kstep(&m->f1, x[i], &x1, &x2, &y1, &y2);
        double w = kstep(&m->f2, y, &u1, &u2, &w1, &w2);
        z[i] += g * (w * w);
    }
    st[X1] = x1, st[X2] = x2, st[Y1] = y1, st[Y2] = y2, st[W1] = w1, st[W2] = w2;
}

/* One weighted energy z into the momentary ring, its running sum and its
 * maximum.  One sample after the other, so the values do not depend on
 * where the caller's blocks begin. */
static inline void momentary(double *msum, double *mmax, double *ring, double z)
{
    *msum += z - *ring;
    *ring = z;
    *mmax = *msum > *mmax ? *msum : *mmax;
}

/* momentary() over one run of z[0..n) (no event inside; ring at the run's
 * first sample). */
static void accumulate(lathe_kmeter *m, const double *z, double *ring, long n)
{
    double msum = m->msum, mmax = m->mmax;
    for (long j = 0; j < n; j++) momentary(&msum, &mmax, ring + j, z[j]);
    m->msum = msum, m->mmax = mmax;
}

/* Stereo with unit weights: the four recursions (L and R, stage 1 and
 * stage 2) in the four lanes of one vector, filters and momentary sums in
 * one loop.  Stage 2 runs LAG samples behind stage 1 and takes its input
 * from the stage-1 output of LAG samples before: a lane fed by the sample
 * just computed would put that sample's whole computation on the vector's
 * recursion chain.  A scalar prologue runs stage 1 alone on the first LAG
 * samples, a scalar epilogue stage 2 alone on the last LAG, so a run ends
 * with both stages at its last sample. */
typedef double v2d __attribute__((vector_size(16)));
typedef double v4d __attribute__((vector_size(32)));
#define LAG 3
LATHE_AVX2_CLONES static void
run_stereo(lathe_kmeter *m, const float *xl, const float *xr, double *ring, long n)
{
    const lathe_kfilter a = m->f1, b = m->f2;
    double *st[2] = {m->state[0], m->state[1]};
    double msum = m->msum, mmax = m->mmax;
    /* prologue: stage 1 on samples 0..LAG-1; s1[k][c] its outputs */
    double s1[LAG][2], hist[2][4];
    for (int c = 0; c < 2; c++) {
        const float *x = c ? xr : xl;
        double x1 = st[c][X1], x2 = st[c][X2], y1 = st[c][Y1], y2 = st[c][Y2];
        hist[c][0] = y1, hist[c][1] = y2; /* stage 2's input history at sample -1 */
        for (int k = 0; k < LAG; k++) s1[k][c] = kstep(&a, x[k], &x1, &x2, &y1, &y2);
        hist[c][2] = x1, hist[c][3] = x2;
    }
    const v4d b0 = {a.b0, a.b0, b.b0, b.b0}, b1 = {a.b1, a.b1, b.b1, b.b1},
              b2 = {a.b2, a.b2, b.b2, b.b2}, a1 = {a.a1, a.a1, b.a1, b.a1},
              a2 = {a.a2, a.a2, b.a2, b.a2};
    /* lanes: L stage 1, R stage 1, L stage 2, R stage 2; yk is the output
     * k samples back, so y3's stage-1 lanes are stage 2's next input */
    v4d x1 = {hist[0][2], hist[1][2], hist[0][0], hist[1][0]},
        x2 = {hist[0][3], hist[1][3], hist[0][1], hist[1][1]},
        y1 = {s1[2][0], s1[2][1], st[0][W1], st[1][W1]},
        y2 = {s1[1][0], s1[1][1], st[0][W2], st[1][W2]}, y3 = {s1[0][0], s1[0][1], 0, 0};
    for (long j = LAG; j < n; j++) {
        v2d in = {xl[j], xr[j]};
        v4d v = __builtin_shufflevector(in, __builtin_shufflevector(y3, y3, 0, 1), 0, 1, 2, 3);
        v4d y = (((b0 * v + b1 * x1) + b2 * x2) - a2 * y2) - a1 * y1;
        v4d sq = y * y;
        x2 = x1, x1 = v, y3 = y2, y2 = y1, y1 = y;
        momentary(&msum, &mmax, ring + j - LAG, sq[2] + sq[3]);
    }
    /* epilogue: stage 2 on the last LAG samples, whose stage-1 outputs are
     * y3 y2 y1 (stage-1 lanes) */
    double w[LAG][2];
    for (int c = 0; c < 2; c++) {
        double u1 = x1[2 + c], u2 = x2[2 + c], w1 = y1[2 + c], w2 = y2[2 + c];
        const double in[LAG] = {y3[c], y2[c], y1[c]};
        for (int k = 0; k < LAG; k++) w[k][c] = kstep(&b, in[k], &u1, &u2, &w1, &w2);
        st[c][X1] = x1[c], st[c][X2] = x2[c], st[c][Y1] = y1[c], st[c][Y2] = y2[c];
        st[c][W1] = w1, st[c][W2] = w2;
    }
    for (int k = 0; k < LAG; k++)
        momentary(&msum, &mmax, ring + n - LAG + k, w[k][0] * w[k][0] + w[k][1] * w[k][1]);
    m->msum = msum, m->mmax = mmax;
}

/* n samples from in[c] + off with no event inside. */
static void run(lathe_kmeter *m, const float *const *in, long off, long n)
{
    double *ring = m->mring + m->mpos;
    if (m->stereo && n > LAG) {
        run_stereo(m, in[0] + off, in[1] + off, ring, n);
        return;
    }
    double z[1024];
    for (long i = 0; i < n;) {
        long k = n - i < 1024 ? n - i : 1024;
        for (long j = 0; j < k; j++) z[j] = 0;
        for (int c = 0; c < m->channels; c++)
            if (m->gain[c] != 0) weigh_chan(m, m->state[c], in[c] + off + i, k, m->gain[c], z);
        accumulate(m, z, ring + i, k);
        i += k;
    }
}

/* Sum of r[0..n) in eight partial sums (a fixed order, so the same value
 * every time, and four times fewer dependent adds than one running sum). */
static double sum8(const double *r, long n)
{
    double p[8] = {0};
    long j = 0;
    for (; j + 8 <= n; j += 8)
        for (int k = 0; k < 8; k++) p[k] += r[j + k];
    for (int k = 0; j < n; j++, k++) p[k] += r[j];
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

/* Energy of the last len samples (len <= mlen), read back from the
 * momentary ring, which ends at mpos.  Where the range begins in the ring
 * depends only on the sample count, so the sum does too. */
static double ring_tail(const lathe_kmeter *m, long len)
{
    if (len <= m->mpos) return sum8(m->mring + m->mpos - len, len);
    long wrap = len - m->mpos;
    return sum8(m->mring + m->mlen - wrap, wrap) + sum8(m->mring, m->mpos);
}

void lathe_kmeter_add(lathe_kmeter *m, const float *const *in, long n)
{
    for (long i = 0; i < n;) {
        /* a run of samples up to the next event (the momentary ring wraps
         * or is re-summed, a gating or short-term sub-block ends), then the
         * events in the order of a sample-by-sample loop */
        long len = n - i;
        if (len > m->mlen - m->mpos) len = m->mlen - m->mpos;
        if (len > m->mlen - m->msince) len = m->mlen - m->msince;
        if (len > m->hlen - m->hfill) len = m->hlen - m->hfill;
        if (len > m->sublen - m->subfill) len = m->sublen - m->subfill;
        run(m, in, i, len);
        i += len;
        m->mpos += len;
        m->msince += len;
        m->hfill += len;
        m->subfill += len;
        /* the sub-block sums are read back from the ring (vectorised) before it wraps */
        if (m->hfill == m->hlen) {
            m->hfill = 0;
            gate_block(m, ring_tail(m, m->hlen));
        }
        if (m->subfill == m->sublen) {
            double sub = ring_tail(m, m->sublen);
            m->ssum += sub - m->sring[m->spos];
            m->sring[m->spos] = sub;
            if (++m->spos == SUB_PER_S) {
                m->spos = 0;
                double s = 0;
                for (int j = 0; j < SUB_PER_S; j++) s += m->sring[j];
                m->ssum = s;
            }
            if (m->ssum > m->smax) m->smax = m->ssum;
            m->subfill = 0;
            m->subs_done++;
        }
        if (m->msince == m->mlen) {
            /* re-sum once per window so rounding never drifts */
            m->msum = sum8(m->mring, m->mlen);
            m->msince = 0;
        }
        if (m->mpos == m->mlen) m->mpos = 0;
        if (m->subfill == 0 && m->cb && m->subs_done % 10 == 0 && m->subs_done > 0)
            m->cb(m->user, (double)m->subs_done * (double)m->sublen / m->rate,
                  lathe_kmeter_momentary(m), lathe_kmeter_short_term(m));
    }
}

double lathe_kmeter_max_momentary(const lathe_kmeter *m)
{
    return lathe_energy_to_lufs(m->mmax / (double)m->mlen);
}

double lathe_kmeter_max_short_term(const lathe_kmeter *m)
{
    return lathe_energy_to_lufs(m->smax / (double)(SUB_PER_S * m->sublen));
}

double lathe_kmeter_momentary(const lathe_kmeter *m)
{
    return lathe_energy_to_lufs(m->msum / (double)m->mlen);
}

double lathe_kmeter_short_term(const lathe_kmeter *m)
{
    return lathe_energy_to_lufs(m->ssum / (double)(SUB_PER_S * m->sublen));
}
