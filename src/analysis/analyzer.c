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

#define CLIP_LEVEL (32767.0f / 32768.0f)
#define BLOCK 4096

struct lathe_analyzer {
    int channels;
    double rate;
    lathe_kmeter *km;
    lathe_tp_design tpd;
    lathe_tp_chan *tp; /* one per channel */
    float tpeak[LATHE_MAX_CHANNELS], speak[LATHE_MAX_CHANNELS];
    double sum[LATHE_MAX_CHANNELS], sumsq[LATHE_MAX_CHANNELS], sumlr;
    long run[LATHE_MAX_CHANNELS];
    int first_over[LATHE_MAX_CHANNELS];
    long long clipped, frames;
    unsigned flags;
    /* band energies for the mastering findings. Below 150 Hz: mid and side,
     * summed over D samples (a boxcar that decimates to about 2.8 kHz; its
     * nulls sit on the frequencies that would alias onto 0-150 Hz), then a
     * 4th-order Butterworth low-pass at the low rate. Above 10 kHz (only
     * with LATHE_ANALYZE_HF): a 4th-order high-pass at full rate. */
    struct biq { double b0, b1, b2, a1, a2; } lo[2], hi[2];
    double zlo[2][2][2], zhi[LATHE_MAX_CHANNELS][2][2];
    int dec, dec_n;
    double acc_m, acc_s;
    double lo_mm, lo_ss, hi_ss;
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

static void stats(lathe_analyzer *a, const float *const *in, long n)
{
    for (int c = 0; c < a->channels; c++) {
        const float *x = in[c];
        double s = 0, ss = 0;
        float pk = a->speak[c];
        long run = a->run[c];
        int first = a->first_over[c];
        for (long i = 0; i < n; i++) {
            float v = x[i], av = fabsf(v);
            s += v;
            ss += (double)v * v;
            pk = av > pk ? av : pk;
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
        a->speak[c] = pk;
        a->sum[c] += s;
        a->sumsq[c] += ss;
    }
    if (a->channels == 2) {
        double lr = 0;
        for (long i = 0; i < n; i++) lr += (double)in[0][i] * in[1][i];
        a->sumlr += lr;
        if (a->flags & LATHE_ANALYZE_BANDS) {
            double am = a->acc_m, as = a->acc_s, em = 0, es = 0;
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
            a->lo_mm += em, a->lo_ss += es;
        }
    }
    for (int c = 0; (a->flags & LATHE_ANALYZE_HF) && c < a->channels; c++) {
        double ss = 0;
        for (long i = 0; i < n; i++) {
            double h = biq_run(&a->hi[1], a->zhi[c][1], biq_run(&a->hi[0], a->zhi[c][0], in[c][i]));
            ss += h * h;
        }
        a->hi_ss += ss;
    }
}

/* Part 1: true peak and the running statistics, in BLOCK-frame pieces. */
static void add_rest(lathe_analyzer *a, const float *const *in, long n)
{
    const int ch = a->channels;
    for (long off = 0; off < n;) {
        long k = n - off < BLOCK ? n - off : BLOCK;
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
     * still in cache; part 1 cuts its input into the same BLOCK pieces
     * itself, so add_part on the whole of n gives the same sums. */
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

    /* True peak: flush the interpolator's delay line on a copy, so the last
     * samples count and the analyser may still be fed afterwards. */
    float tp_all = 0, sp_all = 0;
    double sumsq = 0;
    for (int c = 0; c < a->channels; c++) {
        lathe_tp_chan tail = a->tp[c];
        float zeros[LATHE_TP_TAPS] = {0};
        float p = lathe_tp_chan_peak(&tail, zeros, LATHE_TP_TAPS, 0.0f);
        float tp = fmaxf(fmaxf(a->tpeak[c], p), a->speak[c]);
        out->channel_true_peak_dbtp[c] = to_db(tp);
        out->channel_sample_peak_dbfs[c] = to_db(a->speak[c]);
        out->dc_offset[c] = a->frames ? a->sum[c] / (double)a->frames : 0;
        tp_all = fmaxf(tp_all, tp);
        sp_all = fmaxf(sp_all, a->speak[c]);
        sumsq += a->sumsq[c];
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
                         : sumsq > 0 && a->hi_ss > 0 ? 10.0 * log10(a->hi_ss / sumsq)
                                                     : -HUGE_VAL;
    if (a->channels == 2) {
        double ll = a->sumsq[0], rr = a->sumsq[1], lr = a->sumlr;
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
