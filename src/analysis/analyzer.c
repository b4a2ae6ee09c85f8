/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The analyser: one streaming pass that measures everything `lathe analyze`
 * reports.  Loudness (integrated, range, momentary and short-term maxima)
 * comes from one K-weighting pass in the K-meter; true peak from the shared
 * 4x interpolator; the rest from running sums in double.
 *
 * Why not libebur128 for integrated and LRA: it would K-filter every sample a
 * second time (37 % of the run time when both ran), and it cannot give
 * momentary/short-term maxima at every position without re-summing its
 * window per query.  libebur128 stays the independent reference: the tests
 * compare against it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/kmeter.h"
#include "analysis/truepeak.h"
#include "lathe/analysis.h"
#include "util/simd.h"

#define CLIP_LEVEL (32767.0f / 32768.0f)
#define BLOCK 4096

/* The running sums keep LANES partial sums, sample i going to lane i mod
 * LANES (i counted from the start of the stream), and fold them into the
 * totals at every multiple of BLOCK samples: the same additions in the same
 * order however the caller splits the stream, and independent partial sums
 * the compiler can vectorise (one running sum is one dependent add per
 * sample). */
#define LANES 8

struct lathe_analyzer {
    int channels;
    double rate;
    unsigned flags;
    /* part 0 */
    lathe_kmeter *km;
    long long frames;
    char pad[64]; /* part 1 below, on other cache lines than the part-0 counter */
    /* part 1 */
    long long pos; /* frames part 1 has seen */
    lathe_tp_design tpd;
    lathe_tp_chan *tp; /* one per channel */
    float tpeak[LATHE_MAX_CHANNELS], speak[LATHE_MAX_CHANNELS];
    double sum[LATHE_MAX_CHANNELS], sumsq[LATHE_MAX_CHANNELS], sumlr;
    double lsum[LATHE_MAX_CHANNELS][LANES], lsumsq[LATHE_MAX_CHANNELS][LANES], lsumlr[LANES];
    long run[LATHE_MAX_CHANNELS];
    int first_over[LATHE_MAX_CHANNELS];
    long long clipped;
    /* band energies for the mastering findings. Below 150 Hz: mid and side,
     * summed over D samples (a boxcar that decimates to about 2.8 kHz; its
     * nulls sit on the frequencies that would alias onto 0-150 Hz), then a
     * 4th-order Butterworth low-pass at the low rate. Above 10 kHz (only
     * with LATHE_ANALYZE_HF): a 4th-order high-pass at full rate. */
    struct biq { double b0, b1, b2, a1, a2; } lo[2], hi[2];
    double zlo[2][2][2], zhi[LATHE_MAX_CHANNELS][2][2];
    int dec, dec_n;
    double acc_m, acc_s;
    double lo_mm, lo_ss, hi_ss[LATHE_MAX_CHANNELS];
};

/* RBJ cookbook low/high-pass sections; a 4th-order Butterworth is two of
 * them with Q = 0.5412 and 1.3066. */
static struct biq biq_design(double rate, double f, double q, int high)
{
    double w = 2 * M_PI * f / rate, cw = cos(w), al = sin(w) / (2 * q), a0 = 1 + al;
    struct biq b;
    b.b1 = (high ? -(1 + cw) : (1 - cw)) / a0;
    b.b0 = b.b2 = (high ? (1 + cw) / 2 : (1 - cw) / 2) / a0;
    b.a1 = -2 * cw / a0, b.a2 = (1 - al) / a0;
    return b;
}

static inline double biq_run(const struct biq *b, double z[2], double x)
{
    double y = b->b0 * x + z[0];
    z[0] = b->b1 * x - b->a1 * y + z[1];
    z[1] = b->b2 * x - b->a2 * y;
    return y;
}

lathe_analyzer *lathe_analyzer_new(double rate, int channels, lathe_error *err)
{
    if (channels < 1 || channels > LATHE_MAX_CHANNELS || !(rate >= 8000 && rate <= 384000)) {
        lathe_error_set(err, LATHE_E_INVALID, "analyser: %d channels at %g Hz not supported",
                        channels, rate);
        return NULL;
    }
    lathe_analyzer *a = calloc(1, sizeof *a);
    if (!a) goto nomem;
    a->channels = channels;
    a->rate = rate;
    a->km = lathe_kmeter_new(rate, channels);
    /* aligned_alloc wants the size to be a multiple of the alignment */
    a->tp = aligned_alloc(64, (sizeof(lathe_tp_chan) * (size_t)channels + 63) / 64 * 64);
    if (!a->km || !a->tp) goto nomem;
    lathe_tp_design_init(&a->tpd, rate);
    static const double qs[2] = {0.54119610, 1.30656296};
    for (int k = 0; k < 2; k++) {
        a->dec = (int)fmax(1.0, floor(rate / 2756.25 + 0.5));
        a->lo[k] = biq_design(rate / a->dec, 150.0, qs[k], 0);
        a->hi[k] = biq_design(rate, fmin(10000.0, 0.4 * rate), qs[k], 1);
    }
    for (int c = 0; c < channels; c++) lathe_tp_chan_init(&a->tp[c], &a->tpd);
    return a;
nomem:
    lathe_analyzer_free(a);
    lathe_error_set(err, LATHE_E_NOMEM, "analyser: out of memory");
    return NULL;
}

void lathe_analyzer_free(lathe_analyzer *a)
{
    if (!a) return;
    lathe_kmeter_free(a->km);
    free(a->tp);
    free(a);
}

void lathe_analyzer_set_flags(lathe_analyzer *a, unsigned flags)
{
    a->flags = flags;
}

void lathe_analyzer_set_curve(lathe_analyzer *a, lathe_loudness_cb cb, void *user)
{
    lathe_kmeter_set_curve(a->km, cb, user);
}

/* The lanes summed in a fixed order. */
static double fold(const double *l)
{
    return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

/* Eight floats at any float address, and the vectors the lanes are kept in
 * (lanes 0-3 and 4-7). */
typedef float v8f __attribute__((vector_size(32), may_alias, aligned(4)));
typedef int v8i __attribute__((vector_size(32)));
typedef double v4d __attribute__((vector_size(32)));

/* lanes 0-3 and 4-7 of a v8f in double (macros: a function returning a
 * 32-byte vector would change its ABI between the AVX2 and default clones) */
#define LO4(x) __builtin_convertvector(__builtin_shufflevector(x, x, 0, 1, 2, 3), v4d)
#define HI4(x) __builtin_convertvector(__builtin_shufflevector(x, x, 4, 5, 6, 7), v4d)

/* Sum, sum of squares and peak |x| of x[0..n), x[0] going to lane `lane`;
 * pk receives the piece's peak per lane.  Every lane adds its samples in
 * order, as one sum per lane would; the peak is av > pk ? av : pk, so a
 * NaN never becomes the peak. */
LATHE_AVX2_CLONES static void
lane_sums(const float *restrict x, long n, int lane, double *restrict s, double *restrict ss,
          float *restrict pk)
{
    double ls[LANES], lss[LANES];
    float lp[LANES];
    for (int k = 0; k < LANES; k++) ls[k] = s[k], lss[k] = ss[k], lp[k] = 0.0f;
    long j = 0;
    for (; j < n && lane + j < LANES && lane > 0; j++) {
        float v = x[j], av = fabsf(v);
        ls[lane + j] += v, lss[lane + j] += (double)v * v;
        lp[lane + j] = av > lp[lane + j] ? av : lp[lane + j];
    }
    if (j + LANES <= n) {
        v4d s0, s1, q0, q1;
        v8i p = {0}; /* the peaks of this stretch, merged with lp after it */
        memcpy(&s0, ls, sizeof s0), memcpy(&s1, ls + 4, sizeof s1);
        memcpy(&q0, lss, sizeof q0), memcpy(&q1, lss + 4, sizeof q1);
        const v8i abs_mask = {0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff,
                              0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff};
        for (; j + LANES <= n; j += LANES) {
            const v8f v = *(const v8f *)(x + j);
            const v4d a = LO4(v), b = HI4(v);
            s0 += a, s1 += b;
            q0 += a * a, q1 += b * b;
            const v8i av = (v8i)v & abs_mask, gt = (v8f)av > (v8f)p;
            p = (gt & av) | (~gt & p);
        }
        memcpy(ls, &s0, sizeof s0), memcpy(ls + 4, &s1, sizeof s1);
        memcpy(lss, &q0, sizeof q0), memcpy(lss + 4, &q1, sizeof q1);
        const v8f pf = (v8f)p;
        for (int k = 0; k < LANES; k++) lp[k] = pf[k] > lp[k] ? pf[k] : lp[k];
    }
    for (int k = 0; j < n; j++, k++) {
        float v = x[j], av = fabsf(v);
        ls[k] += v, lss[k] += (double)v * v;
        lp[k] = av > lp[k] ? av : lp[k];
    }
    for (int k = 0; k < LANES; k++) s[k] = ls[k], ss[k] = lss[k], pk[k] = lp[k];
}

/* Sum of l[i] * r[i] in lanes, as lane_sums. */
LATHE_AVX2_CLONES static void
lane_dot(const float *restrict l, const float *restrict r, long n, int lane, double *restrict d)
{
    double ld[LANES];
    for (int k = 0; k < LANES; k++) ld[k] = d[k];
    long j = 0;
    for (; j < n && lane + j < LANES && lane > 0; j++) ld[lane + j] += (double)l[j] * r[j];
    if (j + LANES <= n) {
        v4d d0, d1;
        memcpy(&d0, ld, sizeof d0), memcpy(&d1, ld + 4, sizeof d1);
        for (; j + LANES <= n; j += LANES) {
            const v8f a = *(const v8f *)(l + j), b = *(const v8f *)(r + j);
            d0 += LO4(a) * LO4(b), d1 += HI4(a) * HI4(b);
        }
        memcpy(ld, &d0, sizeof d0), memcpy(ld + 4, &d1, sizeof d1);
    }
    for (int k = 0; j < n; j++, k++) ld[k] += (double)l[j] * r[j];
    for (int k = 0; k < LANES; k++) d[k] = ld[k];
}

/* Clipped samples in x[0..n) (see lathe_analyzer_new), carrying the run
 * of full-scale samples across calls. */
static void count_clips(lathe_analyzer *a, int c, const float *x, long n)
{
    long run = a->run[c];
    int first = a->first_over[c];
    for (long i = 0; i < n; i++) {
        float av = fabsf(x[i]);
        if (av >= CLIP_LEVEL) {
            /* Counted: every over (|x| > 1), and full-scale samples in runs of 2+. */
            if (++run == 1) {
                first = av > 1.0f;
                a->clipped += first;
            } else {
                a->clipped += (run == 2 && !first) ? 2 : 1;
            }
        } else {
            run = 0;
        }
    }
    a->run[c] = run;
    a->first_over[c] = first;
}

/* The statistics of n frames that do not cross a multiple of BLOCK. */
static void stats(lathe_analyzer *a, const float *const *in, long n)
{
    const int lane = (int)(a->pos % LANES);
    for (int c = 0; c < a->channels; c++) {
        float pk[LANES], p = 0.0f;
        lane_sums(in[c], n, lane, a->lsum[c], a->lsumsq[c], pk);
        for (int k = 0; k < LANES; k++) p = pk[k] > p ? pk[k] : p;
        if (p > a->speak[c]) a->speak[c] = p;
        /* the clip bookkeeping only where a sample reaches full scale;
         * elsewhere every sample ends a run */
        if (p >= CLIP_LEVEL) count_clips(a, c, in[c], n);
        else a->run[c] = 0;
    }
    if (a->channels == 2) {
        lane_dot(in[0], in[1], n, lane, a->lsumlr);
        if (a->flags & LATHE_ANALYZE_BANDS) {
            double am = a->acc_m, as = a->acc_s, em = a->lo_mm, es = a->lo_ss;
            int k = a->dec_n;
            for (long i = 0; i < n; i++) {
                am += (double)in[0][i] + in[1][i];
                as += (double)in[0][i] - in[1][i];
                if (++k < a->dec) continue;
                double m = biq_run(&a->lo[1], a->zlo[0][1], biq_run(&a->lo[0], a->zlo[0][0], am));
                double sd = biq_run(&a->lo[1], a->zlo[1][1], biq_run(&a->lo[0], a->zlo[1][0], as));
                em += m * m, es += sd * sd;
                am = as = 0, k = 0;
            }
            a->acc_m = am, a->acc_s = as, a->dec_n = k;
            a->lo_mm = em, a->lo_ss = es;
        }
    }
    for (int c = 0; (a->flags & LATHE_ANALYZE_HF) && c < a->channels; c++) {
        double ss = a->hi_ss[c];
        for (long i = 0; i < n; i++) {
            double h = biq_run(&a->hi[1], a->zhi[c][1], biq_run(&a->hi[0], a->zhi[c][0], in[c][i]));
            ss += h * h;
        }
        a->hi_ss[c] = ss;
    }
    a->pos += n;
    if (a->pos % BLOCK == 0) {
        for (int c = 0; c < a->channels; c++) {
            a->sum[c] += fold(a->lsum[c]);
            a->sumsq[c] += fold(a->lsumsq[c]);
            memset(a->lsum[c], 0, sizeof a->lsum[c]);
            memset(a->lsumsq[c], 0, sizeof a->lsumsq[c]);
        }
        a->sumlr += fold(a->lsumlr);
        memset(a->lsumlr, 0, sizeof a->lsumlr);
    }
}

/* Part 1: true peak and the running statistics, in pieces that end at the
 * multiples of BLOCK frames (counted from the start of the stream). */
static void add_rest(lathe_analyzer *a, const float *const *in, long n)
{
    const int ch = a->channels;
    for (long off = 0; off < n;) {
        long k = BLOCK - (long)(a->pos % BLOCK);
        if (k > n - off) k = n - off;
        const float *blk[LATHE_MAX_CHANNELS];
        for (int c = 0; c < ch; c++) blk[c] = in[c] + off;
        for (int c = 0; c < ch; c++)
            a->tpeak[c] = lathe_tp_chan_peak(&a->tp[c], blk[c], (int)k, a->tpeak[c]);
        stats(a, blk, k);
        off += k;
    }
}

void lathe_analyzer_add_part(lathe_analyzer *a, const float *const *in, long n, int part)
{
    if (n <= 0) return;
    if (part == 0) {
        lathe_kmeter_add(a->km, in, n);
        a->frames += n;
    } else if (part == 1 && !(a->flags & LATHE_ANALYZE_LOUDNESS_ONLY)) {
        add_rest(a, in, n);
    }
}

void lathe_analyzer_add(lathe_analyzer *a, const float *const *in, long n)
{
    /* Both parts BLOCK frames at a time, so each piece is read while it is
     * still in cache.  Neither part's result depends on how its input is
     * split (the K-meter works sample by sample, part 1 in lanes fixed by
     * the position in the stream), so this is the two parts exactly. */
    const int ch = a->channels;
    for (long off = 0; off < n;) {
        long k = n - off < BLOCK ? n - off : BLOCK;
        const float *blk[LATHE_MAX_CHANNELS];
        for (int c = 0; c < ch; c++) blk[c] = in[c] + off;
        lathe_analyzer_add_part(a, blk, k, 0);
        lathe_analyzer_add_part(a, blk, k, 1);
        off += k;
    }
}

static double to_db(double v)
{
    return v > 0 ? 20.0 * log10(v) : -HUGE_VAL;
}

void lathe_analyzer_result(lathe_analyzer *a, lathe_analysis *out)
{
    memset(out, 0, sizeof *out);
    out->rate = a->rate;
    out->channels = a->channels;
    out->frames = a->frames;
    out->duration_s = (double)a->frames / a->rate;

    out->integrated_lufs = lathe_kmeter_integrated(a->km);
    out->loudness_range_lu = lathe_kmeter_range(a->km);
    out->max_momentary_lufs = lathe_kmeter_max_momentary(a->km);
    out->max_short_term_lufs = lathe_kmeter_max_short_term(a->km);

    float tp_all = 0, sp_all = 0;
    double sumsq = 0, hi_ss = 0, sum[LATHE_MAX_CHANNELS], sq[LATHE_MAX_CHANNELS];
    for (int c = 0; c < a->channels; c++) {
        /* the totals and the lanes not yet folded into them */
        sum[c] = a->sum[c] + fold(a->lsum[c]);
        sq[c] = a->sumsq[c] + fold(a->lsumsq[c]);
        hi_ss += a->hi_ss[c];
    }
    /* True peak: flush the interpolator's delay line on a copy, so the last
     * samples count and the analyser may still be fed afterwards. */
    for (int c = 0; c < a->channels; c++) {
        lathe_tp_chan tail = a->tp[c];
        float zeros[LATHE_TP_TAPS] = {0};
        float p = lathe_tp_chan_peak(&tail, zeros, LATHE_TP_TAPS, 0.0f);
        float tp = fmaxf(fmaxf(a->tpeak[c], p), a->speak[c]);
        out->channel_true_peak_dbtp[c] = to_db(tp);
        out->channel_sample_peak_dbfs[c] = to_db(a->speak[c]);
        out->dc_offset[c] = a->frames ? sum[c] / (double)a->frames : 0;
        tp_all = fmaxf(tp_all, tp);
        sp_all = fmaxf(sp_all, a->speak[c]);
        sumsq += sq[c];
    }
    out->true_peak_dbtp = to_db(tp_all);
    out->sample_peak_dbfs = to_db(sp_all);
    double ms = a->frames ? sumsq / ((double)a->frames * a->channels) : 0;
    out->rms_dbfs = ms > 0 ? 10.0 * log10(ms) : -HUGE_VAL;
    out->crest_db = ms > 0 ? out->sample_peak_dbfs - out->rms_dbfs : 0.0;
    out->plr_db = isfinite(out->integrated_lufs) ? out->true_peak_dbtp - out->integrated_lufs : 0;
    out->clipped_samples = a->clipped;
    out->correlation = NAN;
    out->side_mid_db = NAN;
    out->low_side_mid_db = NAN;
    out->high_share_db = !(a->flags & LATHE_ANALYZE_HF)  ? NAN
                         : sumsq > 0 && hi_ss > 0 ? 10.0 * log10(hi_ss / sumsq)
                                                     : -HUGE_VAL;
    if (a->channels == 2) {
        double ll = sq[0], rr = sq[1], lr = a->sumlr + fold(a->lsumlr);
        if (ll > 0 && rr > 0) out->correlation = lr / sqrt(ll * rr);
        double mid = (ll + 2 * lr + rr) / 4, side = (ll - 2 * lr + rr) / 4;
        if (mid > 0 && side > 0) out->side_mid_db = 10.0 * log10(side / mid);
        else if (mid > 0) out->side_mid_db = -HUGE_VAL;
        double lmid = a->lo_mm, lside = a->lo_ss;
        out->low_side_mid_db = NAN;
        if (!(a->flags & LATHE_ANALYZE_BANDS)) {
        } else if (lmid > 0 && lside > 0) out->low_side_mid_db = 10.0 * log10(lside / lmid);
        else if (lmid > 0) out->low_side_mid_db = -HUGE_VAL;
    }
}

lathe_status lathe_analyze_file(const char *path, lathe_analysis *out, lathe_audio_info *info,
                                lathe_error *err)
{
    return lathe_analyze_file_flags(path, 0, out, info, err);
}

lathe_status lathe_analyze_file_flags(const char *path, unsigned flags, lathe_analysis *out,
                                      lathe_audio_info *info, lathe_error *err)
{
    lathe_audio_info inf;
    lathe_reader *r = lathe_reader_open(path, &inf, err);
    if (!r) return err ? err->code : LATHE_E_IO;
    if (info) *info = inf;
    lathe_analyzer *a = lathe_analyzer_new(inf.rate, inf.channels, err);
    if (!a) {
        lathe_reader_close(r);
        return LATHE_E_NOMEM;
    }
    lathe_analyzer_set_flags(a, flags);
    float *buf[LATHE_MAX_CHANNELS];
    float *mem = malloc(sizeof(float) * BLOCK * (size_t)inf.channels);
    if (!mem) {
        lathe_analyzer_free(a);
        lathe_reader_close(r);
        return lathe_error_set(err, LATHE_E_NOMEM, "%s: out of memory", path);
    }
    for (int c = 0; c < inf.channels; c++) buf[c] = mem + (size_t)c * BLOCK;
    long n;
    lathe_status st = LATHE_OK;
    while ((n = lathe_reader_read(r, buf, BLOCK, err)) > 0)
        lathe_analyzer_add(a, (const float *const *)buf, n);
    if (n < 0) st = (lathe_status)n;
    else lathe_analyzer_result(a, out);
    free(mem);
    lathe_analyzer_free(a);
    lathe_reader_close(r);
    return st;
}
