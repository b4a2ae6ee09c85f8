/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dsp/fir.c: uniformly partitioned convolution and linear-phase FIR design
 * (see fir.h for the method and its sources). */
#include "dsp/fir.h"
#include "util/simd.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

void lathe_pconv_free(lathe_pconv *c) {
    if (!c) return;
    lathe_fft_destroy(&c->fft);
    fftwf_free(c->fdl);
    for (int i = 0; i < 2; i++) {
        fftwf_free(c->spec[i]);
        fftwf_free(c->acc[i]);
        fftwf_free(c->tmp[i]);
        c->spec[i] = c->acc[i] = c->tmp[i] = NULL;
    }
    free(c->ring);
    fftwf_free(c->bins);
    fftwf_free(c->in);
    fftwf_free(c->out);
    fftwf_free(c->fade);
    c->fdl = NULL;
    c->ring = NULL;
    c->bins = NULL;
    c->in = c->out = c->fade = NULL;
}

int lathe_pconv_init(lathe_pconv *c, int channels, int block, int taps) {
    memset(c, 0, sizeof *c);
    if (channels < 1 || block < 2 || (block & (block - 1)) || taps < 1) return -1;
    const int L = LATHE_PCONV_LANES;
    int B = block, P = (taps + B - 1) / B;
    /* B + 1 bins in whole blocks of L, two floats each */
    int S = 2 * ((B + 1 + L - 1) / L) * L;
    c->channels = channels;
    c->block = B;
    c->parts = P;
    c->stride = S;
    size_t nspec = (size_t)P * (size_t)S;
    c->fdl = fftwf_malloc(sizeof(float) * nspec * (size_t)channels);
    for (int i = 0; i < 2; i++) {
        c->spec[i] = fftwf_malloc(sizeof(float) * nspec);
        c->acc[i] = fftwf_malloc(sizeof(float) * (size_t)S);
        c->tmp[i] = fftwf_malloc(sizeof(float) * 2 * (size_t)B);
    }
    c->ring = malloc(sizeof *c->ring * (size_t)P);
    c->bins = fftwf_malloc(sizeof(fftwf_complex) * (size_t)(B + 1));
    c->in = fftwf_malloc(sizeof(float) * 2 * (size_t)B * (size_t)channels);
    c->out = fftwf_malloc(sizeof(float) * (size_t)B * (size_t)channels);
    c->fade = fftwf_malloc(sizeof(float) * (size_t)B);
    if (!c->fdl || !c->spec[0] || !c->spec[1] || !c->acc[0] || !c->acc[1] || !c->tmp[0] ||
        !c->tmp[1] || !c->ring || !c->bins || !c->in || !c->out || !c->fade ||
        lathe_fft_init(&c->fft, 2 * B)) {
        lathe_pconv_free(c);
        return -1;
    }
    /* the padding bins stay zero for ever (only the B + 1 bins are written) */
    memset(c->spec[0], 0, sizeof(float) * nspec);
    memset(c->spec[1], 0, sizeof(float) * nspec);
    /* raised cosine from ~0 to exactly 1 at the last frame of the block */
    for (int i = 0; i < B; i++)
        c->fade[i] = (float)(0.5 - 0.5 * cos(M_PI * (i + 1) / B));
    lathe_pconv_reset(c);
    return 0;
}

void lathe_pconv_reset(lathe_pconv *c) {
    size_t B = (size_t)c->block, ch = (size_t)c->channels;
    memset(c->fdl, 0, sizeof(float) * (size_t)c->parts * (size_t)c->stride * ch);
    memset(c->in, 0, sizeof(float) * 2 * B * ch);
    memset(c->out, 0, sizeof(float) * B * ch);
    c->pos = 0;
    c->slot = 0;
}

/* On x86-64 the loops over spectra also get an AVX2 copy, picked at load
 * time (as analysis/truepeak.c): wider vectors, the same operations in the
 * same order (no FMA: contraction is off), so the same bytes. */

/* c->bins (B + 1 interleaved bins) into the split-block layout at dst. */
LATHE_AVX2_CLONES static void
split(const lathe_pconv *c, float *restrict dst) {
    const int L = LATHE_PCONV_LANES, nb = c->block + 1, whole = nb / L * L;
    const float *restrict src = (const float *)c->bins;
    for (int k = 0; k < whole; k += L, src += 2 * L, dst += 2 * L)
        for (int l = 0; l < L; l++) {
            dst[l] = src[2 * l];
            dst[L + l] = src[2 * l + 1];
        }
    for (int l = 0; l < nb - whole; l++) {
        dst[l] = src[2 * l];
        dst[L + l] = src[2 * l + 1];
    }
}

/* The split-block spectrum at src into c->bins. */
LATHE_AVX2_CLONES static void
join(const lathe_pconv *c, const float *restrict src) {
    const int L = LATHE_PCONV_LANES, nb = c->block + 1, whole = nb / L * L;
    float *restrict dst = (float *)c->bins;
    for (int k = 0; k < whole; k += L, src += 2 * L, dst += 2 * L)
        for (int l = 0; l < L; l++) {
            dst[2 * l] = src[l];
            dst[2 * l + 1] = src[L + l];
        }
    for (int l = 0; l < nb - whole; l++) {
        dst[2 * l] = src[l];
        dst[2 * l + 1] = src[L + l];
    }
}

void lathe_pconv_load(lathe_pconv *c, const float *h, int n, int now) {
    int B = c->block, to = now ? c->cur : !c->cur;
    const float scale = 1.0f / (float)(2 * B); /* FFTW's inverse is unnormalised */
    float *t = c->tmp[0];
    if (n > c->parts * B) n = c->parts * B;
    for (int p = 0; p < c->parts; p++) {
        memset(t, 0, sizeof(float) * 2 * (size_t)B);
        int k0 = p * B, m = n - k0 < B ? n - k0 : B;
        for (int k = 0; k < m; k++)
            t[k] = h[k0 + k] * scale;
        lathe_fft_forward(&c->fft, t, c->bins);
        split(c, c->spec[to] + (size_t)p * (size_t)c->stride);
    }
    c->fading = !now;
}

/* acc = sum over p < P of x[p] h[p], complex, bin by bin, for S floats of
 * split blocks (x[p]: the input spectrum p blocks back, h: the filter's P
 * spectra, stride S).  A block of bins at a time, summed in registers over
 * all partitions; each bin gets exactly the operations, in the same order,
 * of acc = 0; acc += x h for p = 0, 1, ..., so the sums do not depend on
 * the layout or the vector width. */
typedef float v8sf __attribute__((vector_size(32), may_alias, aligned(4)));
_Static_assert(LATHE_PCONV_LANES == 8, "sum_products takes a block of bins as one v8sf");

LATHE_AVX2_CLONES static void
sum_products(float *restrict acc, const float *const *x, const float *restrict h, int P, int S) {
    enum { L = LATHE_PCONV_LANES };
    for (int k = 0; k < S; k += 2 * L) {
        v8sf re = {0, 0, 0, 0, 0, 0, 0, 0}, im = re;
        const float *hp = h + k;
        for (int p = 0; p < P; p++, hp += S) {
            const float *xp = x[p] + k;
            const v8sf xr = *(const v8sf *)xp, xi = *(const v8sf *)(xp + L);
            const v8sf hr = *(const v8sf *)hp, hi = *(const v8sf *)(hp + L);
            re = re + (xr * hr - xi * hi);
            im = im + (xr * hi + xi * hr);
        }
        *(v8sf *)(acc + k) = re;
        *(v8sf *)(acc + k + L) = im;
    }
}

static void compute_block(lathe_pconv *c) {
    int B = c->block, P = c->parts, S = c->stride;
    const float **x = c->ring;
    c->slot = c->slot + 1 == P ? 0 : c->slot + 1;
    for (int ch = 0; ch < c->channels; ch++) {
        float *in = c->in + (size_t)ch * 2 * (size_t)B;
        float *fdl = c->fdl + (size_t)ch * (size_t)P * (size_t)S;
        lathe_fft_forward(&c->fft, in, c->bins);
        split(c, fdl + (size_t)c->slot * (size_t)S);
        for (int p = 0, q = c->slot; p < P; p++, q = q ? q - 1 : P - 1)
            x[p] = fdl + (size_t)q * (size_t)S;
        for (int a = 0; a <= c->fading; a++) {
            sum_products(c->acc[a], x, c->spec[a ? !c->cur : c->cur], P, S);
            join(c, c->acc[a]);
            lathe_fft_inverse(&c->fft, c->bins, c->tmp[a]);
        }
        float *out = c->out + (size_t)ch * (size_t)B;
        const float *y0 = c->tmp[0] + B, *y1 = c->tmp[1] + B;
        if (c->fading)
            for (int i = 0; i < B; i++)
                out[i] = y0[i] + c->fade[i] * (y1[i] - y0[i]);
        else
            memcpy(out, y0, sizeof(float) * (size_t)B);
        memcpy(in, in + B, sizeof(float) * (size_t)B);
    }
    if (c->fading) {
        c->cur = !c->cur;
        c->fading = 0;
    }
}

void lathe_pconv_advance(lathe_pconv *c, int n) {
    c->pos += n;
    if (c->pos == c->block) {
        compute_block(c);
        c->pos = 0;
    }
}

/* x into the input block (NaN and inf never enter), the output block into x;
 * three distinct arrays (restrict: it vectorises). */
LATHE_AVX2_CLONES static void
swap_in_out(float *restrict x, float *restrict in, const float *restrict out, int n) {
    for (int i = 0; i < n; i++) {
        const float v = x[i];
        in[i] = fabsf(v) <= FLT_MAX ? v : 0.0f;
        x[i] = out[i];
    }
}

void lathe_pconv_run(lathe_pconv *c, float *const *io, long off, int n) {
    for (int ch = 0; ch < c->channels; ch++)
        swap_in_out(io[ch] + off, lathe_pconv_in(c, ch), lathe_pconv_out(c, ch), n);
    lathe_pconv_advance(c, n);
}

static double bessel_i0(double x) {
    /* power series sum_k ((x/2)^k / k!)^2, converges for every x */
    double sum = 1, term = 1, y = x * x / 4;
    for (int k = 1; k < 500 && term > 1e-17 * sum; k++) {
        term *= y / ((double)k * k);
        sum += term;
    }
    return sum;
}

void lathe_kaiser_half(float *w, int half, double beta) {
    double d = bessel_i0(beta);
    for (int k = 0; k <= half; k++) {
        double r = half ? (double)k / half : 0;
        w[k] = (float)(bessel_i0(beta * sqrt(fmax(0.0, 1 - r * r))) / d);
    }
}

void lathe_fir_from_magnitude(const lathe_fft *f, fftwf_complex *spec, float *t, const float *w,
                              int half, float *h) {
    int M = f->n;
    for (int k = 0; k <= M / 2; k++)
        spec[k][1] = 0; /* zero phase */
    lathe_fft_inverse(f, spec, t);
    const float inv = 1.0f / (float)M;
    for (int k = 0; k <= half; k++) {
        float v = t[k] * inv * w[k];
        h[half - k] = v;
        h[half + k] = v;
    }
}
