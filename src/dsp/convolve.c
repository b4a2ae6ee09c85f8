/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/convolve.c: the `convolve` processor, convolution with an impulse
 * response read from a sound file.
 *
 * Uniformly partitioned overlap-save convolution with a frequency-domain
 * delay line (W. G. Gardner, "Efficient convolution without input-output
 * delay", JAES 43(3), 1995, the uniform part; F. Wefers, "Partitioned
 * convolution algorithms for real-time auralization", 2015, ch. 5 "UPOLS").
 * The IR of length L is cut into P = ceil(L/B) partitions of B samples, each
 * zero-padded to 2B and transformed once at init.  Every B input samples the
 * last 2B inputs are transformed (FFTW r2c), the spectrum enters the delay
 * line, Y = sum_p X[k-p] H_p is accumulated (P complex multiply-adds per
 * bin), and the last B samples of IFFT(Y) are the output: exact linear
 * convolution, one partition (B frames) late.  B is max_block rounded up to
 * a power of two (at least 64); latency() reports B.
 *
 * The IR file is read in init() with libsndfile, resampled to the processing
 * rate with libsoxr (very high quality, linear phase) when its rate differs,
 * optionally normalised, and prefixed by `predelay` of silence. */
#include <errno.h>
#include <math.h>
#include <soxr.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dsp/fft.h"
#include "lathe/proc.h"

enum { P_IR, P_NORMALIZE, P_GAIN, P_PREDELAY, P_MIX, P_COUNT };

static const lathe_param_desc params[P_COUNT] = {
    {"ir", "",
     "impulse-response file (any format libsndfile reads; at most 10 s). A mono IR is "
     "applied to every channel; an IR with several channels maps IR channel c % k to "
     "channel c (a stereo IR convolves L with L and R with R, no cross terms). Resampled "
     "to the processing rate when its rate differs",
     0, 0, 0, LATHE_PARAM_STRING, NULL, 0},
    {"normalize", "",
     "scale the IR to unit energy (sum of squares 1 in its loudest channel), so white "
     "noise keeps its level; off = use the file's levels as they are. May be switched "
     "while running (a smoothed gain change)",
     0, 1, 0, LATHE_PARAM_BOOL, NULL, LATHE_PARAM_AUTOMATABLE},
    {"gain", "dB", "gain of the convolved (wet) signal", -INFINITY, 24, 0, LATHE_PARAM_NUMBER,
     NULL, LATHE_PARAM_AUTOMATABLE},
    {"predelay", "ms",
     "silence added before the IR (moves the reverb away from the source). Set before "
     "the start",
     0, 500, 0, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_LOG},
    {"mix", "%",
     "wet/dry balance: out = (1 - mix) * dry + mix * wet; the dry signal is delayed by "
     "the same latency as the wet, so they stay aligned",
     0, 100, 100, LATHE_PARAM_NUMBER, NULL, LATHE_PARAM_AUTOMATABLE},
};

#define MAXCH 8
#define MAX_IR_S 10.0
#define SMOOTH_MS 20.0

typedef struct {
    double p[P_COUNT];
    char *path;
    double rate;
    int ch, B, S, P, nh, len; /* partition, spectrum stride, partitions, IR sets, IR frames */
    lathe_fft fft;
    fftwf_complex *H;   /* nh * P * S: IR partition spectra (scaled by 1/2B) */
    fftwf_complex *fdl; /* ch * P * S: input spectra, a ring of P slots */
    fftwf_complex *acc; /* S */
    float *tin;         /* ch * 2B: [previous block | current block] */
    float *tout;        /* ch * B: wet output of the current block */
    float *scratch;     /* 2B */
    int pos, slot;
    double norm; /* 1/sqrt(energy of the loudest IR channel), from init */
    double gain, gain_t, mix, mix_t, k_smooth;
} conv_state;

static double gain_lin(double db)
{
    return isinf(db) && db < 0 ? 0.0 : pow(10.0, db / 20.0);
}

static void conv_set(void *st, int param, double v)
{
    conv_state *s = st;
    if (param < 0 || param >= P_COUNT || param == P_IR) return;
    s->p[param] = v;
    if (param == P_GAIN || param == P_NORMALIZE)
        s->gain_t = gain_lin(s->p[P_GAIN]) * (s->p[P_NORMALIZE] >= 0.5 && s->norm > 0 ? s->norm : 1.0);
    if (param == P_MIX) s->mix_t = v / 100.0;
}

static lathe_status conv_set_string(void *st, int param, const char *value, lathe_error *err)
{
    conv_state *s = st;
    if (param != P_IR) return lathe_error_set(err, LATHE_E_INVALID, "convolve: not a text parameter");
    char *c = strdup(value ? value : "");
    if (!c) return lathe_error_set(err, LATHE_E_NOMEM, "convolve: out of memory");
    free(s->path);
    s->path = c;
    return LATHE_OK;
}

/* Reads the IR into *out (interleaved float, frames x channels, malloc'd). */
static lathe_status read_ir(const char *path, float **out, long *frames, int *chans, double *sr,
                            lathe_error *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT) return lathe_error_set(err, LATHE_E_IO, "ir: %s: no such file", path);
        return lathe_error_set(err, LATHE_E_IO, "ir: %s: %s", path, strerror(errno));
    }
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) return lathe_error_set(err, LATHE_E_FORMAT, "ir: %s: %s", path, sf_strerror(NULL));
    lathe_status st = LATHE_OK;
    if (info.frames <= 0 || info.channels <= 0 || info.samplerate <= 0) {
        st = lathe_error_set(err, LATHE_E_FORMAT, "ir: %s: no audio frames", path);
    } else if ((double)info.frames / info.samplerate > MAX_IR_S + 1e-9) {
        st = lathe_error_set(err, LATHE_E_RANGE, "ir: %s: %.2f s is longer than the %g s allowed",
                             path, (double)info.frames / info.samplerate, MAX_IR_S);
    } else {
        float *buf = malloc(sizeof(float) * (size_t)info.frames * (size_t)info.channels);
        if (!buf) {
            st = lathe_error_set(err, LATHE_E_NOMEM, "ir: %s: out of memory", path);
        } else {
            sf_count_t got = sf_readf_float(f, buf, info.frames);
            if (got <= 0) {
                free(buf);
                st = lathe_error_set(err, LATHE_E_FORMAT, "ir: %s: cannot read samples: %s", path,
                                     sf_strerror(f));
            } else {
                *out = buf;
                *frames = (long)got;
                *chans = info.channels;
                *sr = info.samplerate;
            }
        }
    }
    sf_close(f);
    return st;
}

static lathe_status conv_init(void *st, double rate, int channels, int max_block, lathe_error *err)
{
    conv_state *s = st;
    s->rate = rate;
    s->ch = channels;
    if (!s->path || !s->path[0])
        return lathe_error_set(err, LATHE_E_INVALID, "ir: no impulse-response file given");

    float *ir = NULL;
    long frames = 0;
    int nch = 0;
    double sr = 0;
    lathe_status r = read_ir(s->path, &ir, &frames, &nch, &sr, err);
    if (r != LATHE_OK) return r;

    if (sr != rate) { /* resample to the processing rate (libsoxr, one call) */
        size_t olen = (size_t)ceil((double)frames * rate / sr), odone = 0;
        float *res = malloc(sizeof(float) * (olen ? olen : 1) * (size_t)nch);
        if (!res) {
            free(ir);
            return lathe_error_set(err, LATHE_E_NOMEM, "ir: %s: out of memory", s->path);
        }
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_VHQ, 0);
        soxr_runtime_spec_t rt = soxr_runtime_spec(1);
        soxr_error_t e = soxr_oneshot(sr, rate, (unsigned)nch, ir, (size_t)frames, NULL, res, olen,
                                      &odone, &io, &q, &rt);
        free(ir);
        if (e || odone == 0) {
            free(res);
            return lathe_error_set(err, LATHE_E_FORMAT, "ir: %s: resampling %g Hz to %g Hz failed: %s",
                                   s->path, sr, rate, e ? e : "no output");
        }
        ir = res;
        frames = (long)odone;
    }

    long pre = lround(s->p[P_PREDELAY] * rate / 1000.0);
    s->len = (int)(frames + pre);
    s->nh = nch == 1 ? 1 : (nch < channels ? nch : channels);

    int B = 64;
    while (B < max_block) B <<= 1;
    s->B = B;
    s->S = B + 8; /* B+1 bins, padded so every slot stays 64-byte aligned */
    s->P = (s->len + B - 1) / B;

    /* normalisation: unit energy in the loudest channel, applied as part of
     * the (smoothed) wet gain so it may be switched while running */
    const double scale = 1.0 / (2.0 * B);
    double emax = 0;
    for (int c = 0; c < nch; c++) {
        double e = 0;
        for (long i = 0; i < frames; i++) e += (double)ir[i * nch + c] * ir[i * nch + c];
        if (e > emax) emax = e;
    }
    s->norm = emax > 0 ? 1.0 / sqrt(emax) : 1.0;

    size_t S = (size_t)s->S, P = (size_t)s->P;
    s->H = fftwf_malloc(sizeof(fftwf_complex) * S * P * (size_t)s->nh);
    s->fdl = fftwf_malloc(sizeof(fftwf_complex) * S * P * (size_t)channels);
    s->acc = fftwf_malloc(sizeof(fftwf_complex) * S);
    s->tin = fftwf_malloc(sizeof(float) * 2 * (size_t)B * (size_t)channels);
    s->tout = fftwf_malloc(sizeof(float) * (size_t)B * (size_t)channels);
    s->scratch = fftwf_malloc(sizeof(float) * 2 * (size_t)B);
    if (!s->H || !s->fdl || !s->acc || !s->tin || !s->tout || !s->scratch) {
        free(ir);
        return lathe_error_set(err, LATHE_E_NOMEM, "convolve: out of memory (%zu partitions)", P);
    }
    if (lathe_fft_init(&s->fft, 2 * B) != 0) {
        free(ir);
        return lathe_error_set(err, LATHE_E_NOMEM, "convolve: cannot plan a %d-point FFT", 2 * B);
    }
    /* partition spectra: H_p = FFT([h[pB .. pB+B-1], 0 x B]) / 2B */
    for (int h = 0; h < s->nh; h++)
        for (size_t p = 0; p < P; p++) {
            for (int i = 0; i < 2 * B; i++) {
                long k = (long)p * B + i - pre;
                s->scratch[i] = (i < B && k >= 0 && k < frames) ? (float)(ir[k * nch + h] * scale) : 0.0f;
            }
            lathe_fft_forward(&s->fft, s->scratch, s->H + ((size_t)h * P + p) * S);
        }
    free(ir);

    memset(s->fdl, 0, sizeof(fftwf_complex) * S * P * (size_t)channels);
    memset(s->tin, 0, sizeof(float) * 2 * (size_t)B * (size_t)channels);
    memset(s->tout, 0, sizeof(float) * (size_t)B * (size_t)channels);
    s->pos = 0;
    s->slot = 0;
    conv_set(s, P_GAIN, s->p[P_GAIN]);
    s->gain = s->gain_t;
    s->mix = s->mix_t = s->p[P_MIX] / 100.0;
    s->k_smooth = 1.0 - exp(-1.0 / (SMOOTH_MS * 1e-3 * rate));
    return LATHE_OK;
}

/* One partition step for channel c: transform the last 2B inputs, push the
 * spectrum into the delay line, accumulate sum_p X[slot-p] H_p, invert. */
static void partition_step(conv_state *s, int c)
{
    const int B = s->B, P = s->P, nb = B + 1;
    const size_t S = (size_t)s->S;
    float *tin = s->tin + (size_t)c * 2 * B;
    fftwf_complex *fdl = s->fdl + (size_t)c * P * S;
    const fftwf_complex *H = s->H + (size_t)(s->nh == 1 ? 0 : c % s->nh) * P * S;
    lathe_fft_forward(&s->fft, tin, fdl + (size_t)s->slot * S);

    float *restrict acc = (float *)s->acc;
    memset(acc, 0, sizeof(fftwf_complex) * (size_t)nb);
    for (int p = 0; p < P; p++) {
        int slot = s->slot - p;
        if (slot < 0) slot += P;
        const float *restrict x = (const float *)(fdl + (size_t)slot * S);
        const float *restrict h = (const float *)(H + (size_t)p * S);
        for (int k = 0; k < nb; k++) {
            float xr = x[2 * k], xi = x[2 * k + 1], hr = h[2 * k], hi = h[2 * k + 1];
            acc[2 * k] += xr * hr - xi * hi;
            acc[2 * k + 1] += xr * hi + xi * hr;
        }
    }
    lathe_fft_inverse(&s->fft, s->acc, s->scratch);
    memcpy(s->tout + (size_t)c * B, s->scratch + B, sizeof(float) * (size_t)B);
    memmove(tin, tin + B, sizeof(float) * (size_t)B);
}

static void conv_process(void *st, float *const *io, const float *const *key, int frames)
{
    conv_state *s = st;
    (void)key;
    const int B = s->B, ch = s->ch;
    const double k = s->k_smooth;
    for (int n = 0; n < frames;) {
        int run = B - s->pos;
        if (run > frames - n) run = frames - n;
        double g = s->gain, m = s->mix;
        for (int c = 0; c < ch; c++) {
            float *x = io[c] + n;
            float *tin = s->tin + (size_t)c * 2 * B;
            const float *wet = s->tout + (size_t)c * B + s->pos;
            g = s->gain, m = s->mix;
            for (int i = 0; i < run; i++) {
                g += k * (s->gain_t - g);
                m += k * (s->mix_t - m);
                float dry = tin[s->pos + i]; /* the input B frames ago */
                tin[B + s->pos + i] = x[i];
                float w = (float)(g * wet[i]);
                x[i] = (float)((1.0 - m) * dry + m * w);
            }
        }
        s->gain = g, s->mix = m;
        s->pos += run;
        n += run;
        if (s->pos == B) {
            for (int c = 0; c < ch; c++) partition_step(s, c);
            s->slot = (s->slot + 1) % s->P;
            s->pos = 0;
        }
    }
}

static int conv_latency(const void *st)
{
    const conv_state *s = st;
    return s->B;
}

static void conv_reset(void *st)
{
    conv_state *s = st;
    if (!s->fdl) return;
    size_t S = (size_t)s->S, P = (size_t)s->P;
    memset(s->fdl, 0, sizeof(fftwf_complex) * S * P * (size_t)s->ch);
    memset(s->tin, 0, sizeof(float) * 2 * (size_t)s->B * (size_t)s->ch);
    memset(s->tout, 0, sizeof(float) * (size_t)s->B * (size_t)s->ch);
    s->pos = 0;
    s->slot = 0;
}

static void conv_fini(void *st)
{
    conv_state *s = st;
    lathe_fft_destroy(&s->fft);
    fftwf_free(s->H);
    fftwf_free(s->fdl);
    fftwf_free(s->acc);
    fftwf_free(s->tin);
    fftwf_free(s->tout);
    fftwf_free(s->scratch);
    free(s->path);
    s->H = s->fdl = s->acc = NULL;
    s->tin = s->tout = s->scratch = NULL;
    s->path = NULL;
}

/* The IR's length (with pre-delay) at the processing rate. */
static double conv_tail_s(const void *st)
{
    const conv_state *s = st;
    return s->rate > 0 ? (double)s->len / s->rate : 0.0;
}

const lathe_proc_desc lathe_proc_convolve = {
    .name = "convolve",
    .doc = "Convolution with an impulse response from a file (reverbs, cabinets, measured "
           "responses). Uniformly partitioned overlap-save convolution with a frequency-domain "
           "delay line (Gardner, JAES 1995; Wefers 2015, UPOLS) on FFTW single-precision real "
           "transforms: partitions of B = max_block rounded up to a power of two, so each "
           "output sample costs about L/B complex multiply-adds; latency B frames (reported). "
           "The IR (libsndfile, up to 10 s) is resampled to the processing rate with libsoxr "
           "when needed; a mono IR serves every channel, a multichannel IR maps channel to "
           "channel. `mix` crossfades the latency-aligned dry signal and the wet.",
    .params = params,
    .nparams = P_COUNT,
    .state_size = sizeof(conv_state),
    .init = conv_init,
    .set = conv_set,
    .set_string = conv_set_string,
    .process = conv_process,
    .latency = conv_latency,
    .reset = conv_reset,
    .fini = conv_fini,
    .reduction_db = NULL,
    .tail_s = conv_tail_s,
};
