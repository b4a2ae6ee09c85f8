/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Time series and average spectra for reports, collected in one streaming
 * pass (see lathe/series.h).
 *
 * Loudness comes from lathe's K-meter (analysis/kmeter.h): its 100 ms curve
 * callback gives momentary and short-term loudness at the end of each hop, so
 * the K-weighting is neither re-designed nor run twice.  Hops are cut at the
 * same frames as the K-meter's readings (10 x round(rate / 100) frames), so
 * peak, true-peak and correlation values line up with the loudness values.
 *
 * True peak per hop uses the shared BS.1770-4 Annex 2 interpolator; its 16
 * sample delay (0.36 ms at 44.1 kHz) is ignored, well under one hop.
 *
 * Spectrum: Welch's method (Welch 1967, "The use of fast Fourier transform
 * for the estimation of power spectra"): 4096-point Hann segments with 50 %
 * overlap, |X|^2 averaged.  Scaled by 4 / (sum w)^2 so a sine of amplitude A
 * reads A^2 at its bin (coherent gain corrected).  Band sums divide by the
 * Hann window's equivalent noise bandwidth (1.5 bins, Harris 1978, Table 1)
 * so a tone inside a band reads its own level there too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/kmeter.h"
#include "analysis/truepeak.h"
#include "dsp/fft.h"
#include "lathe/analysis.h"
#include "lathe/io.h"
#include "lathe/series.h"

#define NFFT LATHE_SERIES_FFT
#define NBIN (NFFT / 2 + 1)
#define CORR_HOPS 4 /* 400 ms */

typedef struct {
    float *v;
    long n, cap;
} fvec;

typedef struct {
    char name[48];
    fvec v;
} grcurve;

struct lathe_series {
    int channels, nspec, finished, nomem;
    double rate;
    long hop, fill;
    long long frames;
    lathe_kmeter *km;
    lathe_tp_design tpd;
    lathe_tp_chan *tp;
    /* the hop being collected */
    float hmin[LATHE_MAX_CHANNELS], hmax[LATHE_MAX_CHANNELS], htp[LATHE_MAX_CHANNELS];
    double ll[CORR_HOPS], rr[CORR_HOPS], lr[CORR_HOPS];
    int cpos;
    /* per-hop results */
    fvec mom, st, corr;
    fvec smin[LATHE_MAX_CHANNELS], smax[LATHE_MAX_CHANNELS], tpk[LATHE_MAX_CHANNELS];
    /* Welch */
    lathe_fft fft;
    float *seg[2]; /* last NFFT frames of channels 0 and 1 */
    long segfill;
    float *win, *work;
    fftwf_complex *spec, *spec2;
    double *acc[LATHE_SPEC_COUNT];
    long long nseg;
    double wsum, enbw;
    float *power[LATHE_SPEC_COUNT];
    double band_fc[LATHE_SERIES_BANDS], band_mid[LATHE_SERIES_BANDS],
        band_side[LATHE_SERIES_BANDS];
    int nbands;
    grcurve gr[LATHE_SERIES_MAX_GR];
    int ngr;
};

static int push(lathe_series *s, fvec *f, float v)
{
    if (f->n == f->cap) {
        long cap = f->cap ? f->cap * 2 : 1024;
        float *p = realloc(f->v, (size_t)cap * sizeof *p);
        if (!p) {
            s->nomem = 1;
            return -1;
        }
        f->v = p;
        f->cap = cap;
    }
    f->v[f->n++] = v;
    return 0;
}

static void on_loudness(void *user, double t, double momentary, double short_term)
{
    (void)t;
    lathe_series *s = user;
    push(s, &s->mom, (float)momentary);
    push(s, &s->st, (float)short_term);
}

static void hop_reset(lathe_series *s)
{
    for (int c = 0; c < s->channels; c++) {
        s->hmin[c] = HUGE_VALF;
        s->hmax[c] = -HUGE_VALF;
        s->htp[c] = 0;
    }
    s->cpos = (s->cpos + 1) % CORR_HOPS;
    s->ll[s->cpos] = s->rr[s->cpos] = s->lr[s->cpos] = 0;
    s->fill = 0;
}

lathe_series *lathe_series_new(double rate, int channels, lathe_error *err)
{
    if (channels < 1 || channels > LATHE_MAX_CHANNELS || !(rate >= 8000 && rate <= 384000)) {
        lathe_error_set(err, LATHE_E_INVALID, "series: %d channels at %g Hz not supported",
                        channels, rate);
        return NULL;
    }
    lathe_series *s = calloc(1, sizeof *s);
    if (!s) goto nomem;
    s->channels = channels;
    s->rate = rate;
    s->hop = 10 * lrint(rate / 100.0); /* the K-meter's 100 ms reading grid */
    s->nspec = channels >= 2 ? LATHE_SPEC_COUNT : 1;
    s->km = lathe_kmeter_new(rate, channels);
    s->tp = aligned_alloc(64, (sizeof(lathe_tp_chan) * (size_t)channels + 63) / 64 * 64);
    if (!s->km || !s->tp) goto nomem;
    lathe_kmeter_set_curve(s->km, on_loudness, s);
    lathe_tp_design_init(&s->tpd, rate);
    for (int c = 0; c < channels; c++) lathe_tp_chan_init(&s->tp[c], &s->tpd);
    if (lathe_fft_init(&s->fft, NFFT) != 0) goto nomem;
    s->win = fftwf_malloc(sizeof(float) * NFFT);
    s->work = fftwf_malloc(sizeof(float) * NFFT);
    s->spec = fftwf_malloc(sizeof(fftwf_complex) * NBIN);
    s->spec2 = fftwf_malloc(sizeof(fftwf_complex) * NBIN);
    for (int i = 0; i < 2; i++) s->seg[i] = calloc(NFFT, sizeof(float));
    for (int k = 0; k < s->nspec; k++) s->acc[k] = calloc(NBIN, sizeof(double));
    if (!s->win || !s->work || !s->spec || !s->spec2 || !s->seg[0] || !s->seg[1]) goto nomem;
    for (int k = 0; k < s->nspec; k++)
        if (!s->acc[k]) goto nomem;
    /* periodic Hann, the form that overlaps-adds to a constant at 50 % */
    double w2 = 0;
    for (int i = 0; i < NFFT; i++) {
        s->win[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / NFFT));
        s->wsum += s->win[i];
        w2 += (double)s->win[i] * s->win[i];
    }
    s->enbw = NFFT * w2 / (s->wsum * s->wsum);
    s->cpos = CORR_HOPS - 1;
    hop_reset(s);
    return s;
nomem:
    lathe_series_free(s);
    lathe_error_set(err, LATHE_E_NOMEM, "series: out of memory");
    return NULL;
}

void lathe_series_free(lathe_series *s)
{
    if (!s) return;
    lathe_kmeter_free(s->km);
    free(s->tp);
    lathe_fft_destroy(&s->fft);
    fftwf_free(s->win);
    fftwf_free(s->work);
    fftwf_free(s->spec);
    fftwf_free(s->spec2);
    for (int i = 0; i < 2; i++) free(s->seg[i]);
    for (int k = 0; k < LATHE_SPEC_COUNT; k++) {
        free(s->acc[k]);
        free(s->power[k]);
    }
    free(s->mom.v);
    free(s->st.v);
    free(s->corr.v);
    for (int c = 0; c < LATHE_MAX_CHANNELS; c++) {
        free(s->smin[c].v);
        free(s->smax[c].v);
        free(s->tpk[c].v);
    }
    for (int i = 0; i < s->ngr; i++) free(s->gr[i].v.v);
    free(s);
}

/* One Welch segment from seg[0..1] into the accumulators.  Mid and side
 * spectra come from L and R by linearity of the DFT (X_M = (X_L + X_R) / 2,
 * X_S = (X_L - X_R) / 2): two transforms per segment, not four. */
static void welch_segment(lathe_series *s)
{
    const float *L = s->seg[0], *R = s->seg[1];
    float *x = s->work;
    for (int i = 0; i < NFFT; i++) x[i] = s->win[i] * L[i];
    lathe_fft_forward(&s->fft, x, s->spec);
    double *al = s->acc[LATHE_SPEC_LEFT];
    if (s->nspec == 1) {
        for (int b = 0; b < NBIN; b++) {
            double re = s->spec[b][0], im = s->spec[b][1];
            al[b] += re * re + im * im;
        }
        s->nseg++;
        return;
    }
    for (int i = 0; i < NFFT; i++) x[i] = s->win[i] * R[i];
    lathe_fft_forward(&s->fft, x, s->spec2);
    double *ar = s->acc[LATHE_SPEC_RIGHT], *am = s->acc[LATHE_SPEC_MID],
           *as = s->acc[LATHE_SPEC_SIDE];
    for (int b = 0; b < NBIN; b++) {
        double lr = s->spec[b][0], li = s->spec[b][1], rr = s->spec2[b][0], ri = s->spec2[b][1];
        al[b] += lr * lr + li * li;
        ar[b] += rr * rr + ri * ri;
        double mr = 0.5 * (lr + rr), mi = 0.5 * (li + ri), sr = 0.5 * (lr - rr),
               si = 0.5 * (li - ri);
        am[b] += mr * mr + mi * mi;
        as[b] += sr * sr + si * si;
    }
    s->nseg++;
}

static void welch_add(lathe_series *s, const float *const *in, long n)
{
    const float *l = in[0], *r = s->channels >= 2 ? in[1] : in[0];
    for (long off = 0; off < n;) {
        long k = NFFT - s->segfill;
        if (k > n - off) k = n - off;
        memcpy(s->seg[0] + s->segfill, l + off, (size_t)k * sizeof(float));
        memcpy(s->seg[1] + s->segfill, r + off, (size_t)k * sizeof(float));
        s->segfill += k;
        off += k;
        if (s->segfill == NFFT) {
            welch_segment(s);
            for (int i = 0; i < 2; i++)
                memmove(s->seg[i], s->seg[i] + NFFT / 2, sizeof(float) * (NFFT / 2));
            s->segfill = NFFT / 2;
        }
    }
}

static void close_hop(lathe_series *s)
{
    for (int c = 0; c < s->channels; c++) {
        float mn = s->hmin[c], mx = s->hmax[c];
        if (mn > mx) mn = mx = 0; /* empty hop */
        float tp = s->htp[c];
        if (fabsf(mn) > tp) tp = fabsf(mn);
        if (fabsf(mx) > tp) tp = fabsf(mx);
        push(s, &s->smin[c], mn);
        push(s, &s->smax[c], mx);
        push(s, &s->tpk[c], tp);
    }
    if (s->channels >= 2) {
        double ll = 0, rr = 0, lr = 0;
        for (int i = 0; i < CORR_HOPS; i++) ll += s->ll[i], rr += s->rr[i], lr += s->lr[i];
        /* below ~-200 dBFS a window counts as silent */
        float v = (ll > 1e-20 && rr > 1e-20) ? (float)(lr / sqrt(ll * rr)) : NAN;
        if (v > 1) v = 1;
        if (v < -1) v = -1;
        push(s, &s->corr, v);
    }
    hop_reset(s);
}

static void hop_stats(lathe_series *s, const float *const *in, long n)
{
    for (int c = 0; c < s->channels; c++) {
        const float *x = in[c];
        float mn = s->hmin[c], mx = s->hmax[c];
        for (long i = 0; i < n; i++) {
            mn = x[i] < mn ? x[i] : mn;
            mx = x[i] > mx ? x[i] : mx;
        }
        s->hmin[c] = mn;
        s->hmax[c] = mx;
        /* the sample peak is a floor for the true peak: stretches that cannot
         * exceed it are skipped by the detector */
        float floor = fmaxf(s->htp[c], fmaxf(fabsf(mn), fabsf(mx)));
        s->htp[c] = lathe_tp_chan_peak(&s->tp[c], x, (int)n, floor);
    }
    if (s->channels >= 2) {
        const float *l = in[0], *r = in[1];
        double ll = 0, rr = 0, lr = 0;
        for (long i = 0; i < n; i++) {
            ll += (double)l[i] * l[i];
            rr += (double)r[i] * r[i];
            lr += (double)l[i] * r[i];
        }
        s->ll[s->cpos] += ll;
        s->rr[s->cpos] += rr;
        s->lr[s->cpos] += lr;
    }
}

lathe_status lathe_series_add(lathe_series *s, const float *const *in, long n)
{
    if (s->finished) return LATHE_OK;
    for (long off = 0; off < n;) {
        long k = s->hop - s->fill;
        if (k > n - off) k = n - off;
        const float *blk[LATHE_MAX_CHANNELS];
        for (int c = 0; c < s->channels; c++) blk[c] = in[c] + off;
        lathe_kmeter_add(s->km, blk, k); /* its callback fires at the hop's end */
        hop_stats(s, blk, k);
        welch_add(s, blk, k);
        s->fill += k;
        s->frames += k;
        off += k;
        if (s->fill == s->hop) close_hop(s);
    }
    return s->nomem ? LATHE_E_NOMEM : LATHE_OK;
}

static double to_db10(double p)
{
    return p > 0 ? 10.0 * log10(p) : -HUGE_VAL;
}

void lathe_series_finish(lathe_series *s)
{
    if (s->finished) return;
    if (s->fill > 0) {
        push(s, &s->mom, (float)lathe_kmeter_momentary(s->km));
        push(s, &s->st, (float)lathe_kmeter_short_term(s->km));
        close_hop(s);
    }
    if (s->nseg == 0 && s->segfill > 0) {
        for (int i = 0; i < 2; i++)
            memset(s->seg[i] + s->segfill, 0, sizeof(float) * (size_t)(NFFT - s->segfill));
        welch_segment(s);
    }
    s->finished = 1;
    if (s->nseg == 0) return;
    const double scale = 4.0 / (s->wsum * s->wsum * (double)s->nseg);
    for (int k = 0; k < s->nspec; k++) {
        s->power[k] = malloc(sizeof(float) * NBIN);
        if (!s->power[k]) {
            s->nomem = 1;
            continue;
        }
        for (int b = 0; b < NBIN; b++) {
            /* DC and Nyquist have no mirror image: half the one-sided factor */
            double f = (b == 0 || b == NBIN - 1) ? 0.25 : 1.0;
            s->power[k][b] = (float)to_db10(s->acc[k][b] * scale * f);
        }
    }
    if (s->nspec < LATHE_SPEC_COUNT) return;
    const double bin_hz = s->rate / NFFT;
    for (int j = 0; j < LATHE_SERIES_BANDS; j++) {
        /* nominal octave centres 31.5, 63, 125 ... 16000 (IEC 61260: 1000 * 2^k) */
        double fc = 1000.0 * pow(2.0, j - 5);
        if (fc >= 0.45 * s->rate) break;
        double lo = fc / M_SQRT2, hi = fc * M_SQRT2;
        double em = 0, es = 0;
        for (int b = 1; b < NBIN; b++) {
            double f = b * bin_hz;
            if (f < lo || f >= hi) continue;
            em += s->acc[LATHE_SPEC_MID][b];
            es += s->acc[LATHE_SPEC_SIDE][b];
        }
        static const double nominal[LATHE_SERIES_BANDS] = {31.5, 63,   125,  250,  500,
                                                           1000, 2000, 4000, 8000, 16000};
        s->band_fc[j] = nominal[j];
        s->band_mid[j] = to_db10(em * scale / s->enbw);
        s->band_side[j] = to_db10(es * scale / s->enbw);
        s->nbands = j + 1;
    }
}

lathe_status lathe_series_add_gr(lathe_series *s, const char *name, const float *gr_db, long n)
{
    int i;
    for (i = 0; i < s->ngr; i++)
        if (!strcmp(s->gr[i].name, name)) break;
    if (i == s->ngr) {
        if (s->ngr == LATHE_SERIES_MAX_GR) return LATHE_E_RANGE;
        snprintf(s->gr[i].name, sizeof s->gr[i].name, "%s", name);
        s->ngr++;
    }
    for (long k = 0; k < n; k++)
        if (push(s, &s->gr[i].v, gr_db[k])) return LATHE_E_NOMEM;
    return LATHE_OK;
}

double lathe_series_rate(const lathe_series *s) { return s->rate; }
int lathe_series_channels(const lathe_series *s) { return s->channels; }
long long lathe_series_frames(const lathe_series *s) { return s->frames; }
long lathe_series_hop_frames(const lathe_series *s) { return s->hop; }
double lathe_series_hop_seconds(const lathe_series *s) { return (double)s->hop / s->rate; }

long lathe_series_hops(const lathe_series *s)
{
    /* every per-hop vector has this length unless memory ran out */
    long n = s->smax[0].n;
    if (s->mom.n < n) n = s->mom.n;
    return n;
}

const float *lathe_series_momentary(const lathe_series *s) { return s->mom.v; }
const float *lathe_series_short_term(const lathe_series *s) { return s->st.v; }

const float *lathe_series_sample_min(const lathe_series *s, int c)
{
    return c >= 0 && c < s->channels ? s->smin[c].v : NULL;
}

const float *lathe_series_sample_max(const lathe_series *s, int c)
{
    return c >= 0 && c < s->channels ? s->smax[c].v : NULL;
}

const float *lathe_series_true_peak(const lathe_series *s, int c)
{
    return c >= 0 && c < s->channels ? s->tpk[c].v : NULL;
}

const float *lathe_series_correlation(const lathe_series *s)
{
    return s->channels >= 2 ? s->corr.v : NULL;
}

const float *lathe_series_spectrum(const lathe_series *s, lathe_spec_kind kind, int *bins,
                                   double *bin_hz)
{
    const float *p = ((int)kind >= 0 && (int)kind < s->nspec) ? s->power[kind] : NULL;
    if (bins) *bins = p ? NBIN : 0;
    if (bin_hz) *bin_hz = s->rate / NFFT;
    return p;
}

int lathe_series_bands(const lathe_series *s, const double **centre_hz, const double **mid_db,
                       const double **side_db)
{
    if (centre_hz) *centre_hz = s->band_fc;
    if (mid_db) *mid_db = s->band_mid;
    if (side_db) *side_db = s->band_side;
    return s->nbands;
}

int lathe_series_gr_count(const lathe_series *s) { return s->ngr; }

const char *lathe_series_gr_name(const lathe_series *s, int i)
{
    return i >= 0 && i < s->ngr ? s->gr[i].name : NULL;
}

const float *lathe_series_gr(const lathe_series *s, int i, long *n)
{
    if (i < 0 || i >= s->ngr) {
        if (n) *n = 0;
        return NULL;
    }
    if (n) *n = s->gr[i].v.n;
    return s->gr[i].v.v;
}

lathe_status lathe_series_analyze_file(const char *path, lathe_series **series, lathe_analysis *an,
                                       lathe_audio_info *info, lathe_error *err)
{
    enum { BLOCK = 4096 };
    *series = NULL;
    lathe_audio_info inf;
    lathe_reader *r = lathe_reader_open(path, &inf, err);
    if (!r) return err->code ? err->code : LATHE_E_IO;
    if (info) *info = inf;
    lathe_status st = LATHE_OK;
    lathe_analyzer *a = lathe_analyzer_new(inf.rate, inf.channels, err);
    lathe_series *s = a ? lathe_series_new(inf.rate, inf.channels, err) : NULL;
    float *mem = malloc(sizeof(float) * BLOCK * (size_t)inf.channels);
    if (!a || !s || !mem) {
        if (a && s) lathe_error_set(err, LATHE_E_NOMEM, "%s: out of memory", path);
        st = LATHE_E_NOMEM;
        goto out;
    }
    float *buf[LATHE_MAX_CHANNELS];
    for (int c = 0; c < inf.channels; c++) buf[c] = mem + (size_t)c * BLOCK;
    long n;
    while ((n = lathe_reader_read(r, buf, BLOCK, err)) > 0) {
        lathe_analyzer_add(a, (const float *const *)buf, n);
        if (lathe_series_add(s, (const float *const *)buf, n) != LATHE_OK) {
            st = lathe_error_set(err, LATHE_E_NOMEM, "%s: out of memory", path);
            goto out;
        }
    }
    if (n < 0) {
        st = (lathe_status)n;
        goto out;
    }
    if (an) lathe_analyzer_result(a, an);
    lathe_series_finish(s);
    *series = s;
    s = NULL;
out:
    free(mem);
    lathe_series_free(s);
    lathe_analyzer_free(a);
    lathe_reader_close(r);
    return st;
}
