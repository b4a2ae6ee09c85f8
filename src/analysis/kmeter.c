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

#define SUB_PER_S 300 /* 10 ms sub-blocks in a 3 s short-term window */
/* Histograms of block loudness: 0.01 LU bins from -70 to +30 LUFS. */
#define HIST_LO (-70.0)
#define HIST_BINS 10000
#define HIST_STEP 0.01

struct lathe_kmeter {
    int channels;
    double rate;
    lathe_kfilter f1, f2;
    double state[LATHE_MAX_CHANNELS][4]; /* TDF-II states: shelf s1 s2, high-pass s1 s2 */
    double gain[LATHE_MAX_CHANNELS];
    /* momentary: ring of per-sample weighted energies */
    double *mring;
    long mlen, mpos, msince;
    double msum, mmax;
    /* short-term: sub-block accumulation and a ring of sub-block energies */
    long sublen, subfill;
    double subacc, sring[SUB_PER_S], ssum, smax;
    int spos, nsub;
    long long subs_done;
    /* 100 ms gating sub-blocks: the last 4 (integrated) and 30 (LRA) */
    long hlen, hfill;
    double hacc, hring[30];
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
    m->msum = m->ssum = m->subacc = 0;
    m->mmax = m->smax = 0;
    m->subfill = 0;
    m->spos = m->nsub = 0;
    m->subs_done = 0;
    m->hfill = 0;
    m->hacc = 0;
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
static void gate_block(lathe_kmeter *m)
{
    m->hring[m->hpos] = m->hacc;
    m->hpos = (m->hpos + 1) % 30;
    m->hcount++;
    m->hacc = 0;
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

/* Weighted energy of one block into z[] (sum over channels of G_c * y_c^2). */
static void weigh(lathe_kmeter *m, const float *const *in, long off, long n, double *z)
{
    if (m->channels == 2 && m->gain[0] == 1.0 && m->gain[1] == 1.0) {
        /* stereo: both channels in one loop, two independent recursions
         * side by side (twice the throughput of one after the other; the
         * same operations in the same order, so the same values) */
        const lathe_kfilter a = m->f1, b = m->f2;
        double *s = m->state[0], *r = m->state[1];
        double s1 = s[0], s2 = s[1], t1 = s[2], t2 = s[3];
        double r1 = r[0], r2 = r[1], u1 = r[2], u2 = r[3];
        const float *x = in[0] + off, *xr = in[1] + off;
        for (long i = 0; i < n; i++) {
            double v = x[i], vr = xr[i];
            double y = a.b0 * v + s1, yr = a.b0 * vr + r1;
            s1 = a.b1 * v - a.a1 * y + s2, r1 = a.b1 * vr - a.a1 * yr + r2;
            s2 = a.b2 * v - a.a2 * y, r2 = a.b2 * vr - a.a2 * yr;
            double w = b.b0 * y + t1, wr = b.b0 * yr + u1;
            t1 = b.b1 * y - b.a1 * w + t2, u1 = b.b1 * yr - b.a1 * wr + u2;
            t2 = b.b2 * y - b.a2 * w, u2 = b.b2 * yr - b.a2 * wr;
            z[i] = (0.0 + 1.0 * (w * w)) + 1.0 * (wr * wr);
        }
        s[0] = s1, s[1] = s2, s[2] = t1, s[3] = t2;
        r[0] = r1, r[1] = r2, r[2] = u1, r[3] = u2;
        return;
    }
    for (long i = 0; i < n; i++) z[i] = 0;
    for (int c = 0; c < m->channels; c++) {
        if (m->gain[c] == 0) continue;
        const lathe_kfilter a = m->f1, b = m->f2;
        double *s = m->state[c];
        double s1 = s[0], s2 = s[1], t1 = s[2], t2 = s[3];
        const double g = m->gain[c];
        const float *x = in[c] + off;
        for (long i = 0; i < n; i++) {
            /* transposed direct form II, both stages */
            double v = x[i];
            double y = a.b0 * v + s1;
            s1 = a.b1 * v - a.a1 * y + s2;
            s2 = a.b2 * v - a.a2 * y;
            double w = b.b0 * y + t1;
            t1 = b.b1 * y - b.a1 * w + t2;
            t2 = b.b2 * y - b.a2 * w;
            z[i] += g * w * w;
        }
        s[0] = s1, s[1] = s2, s[2] = t1, s[3] = t2;
    }
}

void lathe_kmeter_add(lathe_kmeter *m, const float *const *in, long n)
{
    double z[1024];
    for (long off = 0; off < n;) {
        long k = n - off < 1024 ? n - off : 1024;
        weigh(m, in, off, k, z);
        for (long i = 0; i < k;) {
            /* a run of samples up to the next event (the momentary ring
             * wraps or is re-summed, a gating or short-term sub-block
             * ends): the per-sample work in registers, then the events in
             * the order and with the values of a sample-by-sample loop */
            long run = k - i;
            if (run > m->mlen - m->mpos) run = m->mlen - m->mpos;
            if (run > m->mlen - m->msince) run = m->mlen - m->msince;
            if (run > m->hlen - m->hfill) run = m->hlen - m->hfill;
            if (run > m->sublen - m->subfill) run = m->sublen - m->subfill;
            double msum = m->msum, mmax = m->mmax, hacc = m->hacc, subacc = m->subacc;
            double *ring = m->mring + m->mpos;
            const double *zi = z + i;
            for (long j = 0; j < run; j++) {
                /* momentary: running sum over the last 400 ms, checked every sample */
                msum += zi[j] - ring[j];
                ring[j] = zi[j];
                if (msum > mmax) mmax = msum;
                hacc += zi[j];   /* gating: 100 ms sub-blocks */
                subacc += zi[j]; /* short-term: 10 ms sub-blocks */
            }
            m->msum = msum, m->mmax = mmax, m->hacc = hacc, m->subacc = subacc;
            i += run;
            m->mpos += run;
            if (m->mpos == m->mlen) m->mpos = 0;
            m->msince += run;
            if (m->msince == m->mlen) {
                /* re-sum once per window so rounding never drifts */
                double s = 0;
                for (long j = 0; j < m->mlen; j++) s += m->mring[j];
                m->msum = s;
                m->msince = 0;
            }
            m->hfill += run;
            if (m->hfill == m->hlen) {
                m->hfill = 0;
                gate_block(m);
            }
            m->subfill += run;
            if (m->subfill == m->sublen) {
                m->ssum += m->subacc - m->sring[m->spos];
                m->sring[m->spos] = m->subacc;
                if (++m->spos == SUB_PER_S) {
                    m->spos = 0;
                    double s = 0;
                    for (int j = 0; j < SUB_PER_S; j++) s += m->sring[j];
                    m->ssum = s;
                }
                if (m->ssum > m->smax) m->smax = m->ssum;
                m->subacc = 0;
                m->subfill = 0;
                m->subs_done++;
                if (m->cb && m->subs_done % 10 == 0)
                    m->cb(m->user, (double)m->subs_done * (double)m->sublen / m->rate,
                          lathe_kmeter_momentary(m), lathe_kmeter_short_term(m));
            }
        }
        off += k;
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
