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
};

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
    }
}

void lathe_analyzer_add(lathe_analyzer *a, const float *const *in, long n)
{
    const int ch = a->channels;
    for (long off = 0; off < n;) {
        long k = n - off < BLOCK ? n - off : BLOCK;
        const float *blk[LATHE_MAX_CHANNELS];
        for (int c = 0; c < ch; c++) blk[c] = in[c] + off;
        for (int c = 0; c < ch; c++)
            a->tpeak[c] = lathe_tp_chan_peak(&a->tp[c], blk[c], (int)k, a->tpeak[c]);
        lathe_kmeter_add(a->km, blk, k);
        stats(a, blk, k);
        a->frames += k;
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
    if (a->channels == 2) {
        double ll = a->sumsq[0], rr = a->sumsq[1], lr = a->sumlr;
        if (ll > 0 && rr > 0) out->correlation = lr / sqrt(ll * rr);
        double mid = (ll + 2 * lr + rr) / 4, side = (ll - 2 * lr + rr) / 4;
        if (mid > 0 && side > 0) out->side_mid_db = 10.0 * log10(side / mid);
        else if (mid > 0) out->side_mid_db = -HUGE_VAL;
    }
}

lathe_status lathe_analyze_file(const char *path, lathe_analysis *out, lathe_audio_info *info,
                                lathe_error *err)
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
