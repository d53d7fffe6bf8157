// nt-gpu-signals kernels, compiled by NVRTC at first use with `REAL`
// defined as float or double (the storage type). Arithmetic is double and
// follows src/indicators/cpu.rs operation for operation; the module is
// compiled with --fmad=false so no multiply-add is fused and the results
// match the CPU path's.
//
// Layout: inputs and outputs are time-major on the device, x[t * S + s], so
// that the threads of a warp (consecutive symbols) read and write
// consecutive addresses at each bar. Recursive indicators (EMA, RSI, MACD,
// ATR, OBV, cumulative VWAP, stochastic) run one thread per symbol over all
// its bars; rolling ones run one thread per (symbol, chunk of bars) on the
// CPU path's chunk boundaries (TIDC); a multi-output indicator writes
// output j at out[(j * B + t) * S + s]. `transpose` moves between the
// host's symbol-major layout and this one through shared-memory tiles.
// The bar loops are unrolled so a warp issues the loads of several bars
// before it needs them: with one thread per symbol, bytes in flight per
// warp (not thread count) is what bounds the bandwidth reached.

#define AT(a, t) ((double)(a)[(size_t)(t) * S + s])
#define PUT(j, t, v) (out[((size_t)(j) * B + (size_t)(t)) * S + s] = (REAL)(v))
#define GET(j, t) ((double)out[((size_t)(j) * B + (size_t)(t)) * S + s])
#define NANV (__longlong_as_double(0x7ff8000000000000LL))
#define TID int s = blockIdx.x * blockDim.x + threadIdx.x; if (s >= S) return;
// One thread per (symbol, chunk of `chunk` bars): bars [c0, c1) of symbol s,
// warmed up from s0, the start of the window before the chunk.
#define TIDC long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x; \
    long long nch = (B + chunk - 1) / chunk; if (tid >= (long long)S * nch) return; \
    int s = (int)(tid % S); int c0 = (int)(tid / S) * chunk; \
    int c1 = c0 + chunk < B ? c0 + chunk : B;
#define WINDOW_START(n) (c0 + 1 > (n) ? c0 + 1 - (n) : 0)

extern "C" __global__ void transpose(const REAL* __restrict__ in, REAL* __restrict__ out,
                                     int R, int C, long long in_off, long long stride,
                                     long long off) {
    __shared__ REAL tile[32][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    int r0 = blockIdx.y * 32;
    for (int k = threadIdx.y; k < 32; k += blockDim.y) {
        int r = r0 + k;
        if (r < R && c < C) tile[k][threadIdx.x] = in[in_off + (size_t)r * C + c];
    }
    __syncthreads();
    int r = r0 + threadIdx.x;
    int c0 = blockIdx.x * 32;
    for (int k = threadIdx.y; k < 32; k += blockDim.y) {
        int cc = c0 + k;
        if (r < R && cc < C) out[(size_t)cc * stride + off + r] = tile[threadIdx.x][k];
    }
}

extern "C" __global__ void sma(const REAL* __restrict__ x, REAL* __restrict__ out, int S, int B, int n, int chunk) {
    TIDC
    double nf = (double)n, sum = 0.0;
    int s0 = WINDOW_START(n);
    #pragma unroll 8
    for (int i = s0; i < c1; i++) {
        sum += AT(x, i);
        if (i >= s0 + n) sum -= AT(x, i - n);
        if (i >= c0) PUT(0, i, i + 1 >= n ? sum / nf : NANV);
    }
}

extern "C" __global__ void ema(const REAL* __restrict__ x, REAL* __restrict__ out, int S, int B, int n) {
    TID
    for (int i = 0; i < B && i < n - 1; i++) PUT(0, i, NANV);
    if (n > B) { for (int i = n - 1; i < B; i++) PUT(0, i, NANV); return; }
    double k = 2.0 / ((double)n + 1.0), sum = 0.0;
    for (int i = 0; i < n; i++) sum += AT(x, i);
    double e = sum / (double)n;
    PUT(0, n - 1, e);
    #pragma unroll 8
    for (int i = n; i < B; i++) { e += (AT(x, i) - e) * k; PUT(0, i, e); }
}

extern "C" __global__ void wma(const REAL* __restrict__ x, REAL* __restrict__ out, int S, int B, int n, int chunk) {
    TIDC
    double nf = (double)n, div = nf * (nf + 1.0) / 2.0, wsum = 0.0, ssum = 0.0;
    int s0 = WINDOW_START(n);
    #pragma unroll 8
    for (int i = s0; i < c1; i++) {
        double v = AT(x, i);
        if (i - s0 < n) { wsum += (double)(i - s0 + 1) * v; ssum += v; }
        else { wsum += nf * v - ssum; ssum += v - AT(x, i - n); }
        if (i >= c0) PUT(0, i, i + 1 >= n ? wsum / div : NANV);
    }
}

__device__ double rsi_of(double gain, double loss) {
    double t = gain + loss;
    return t != 0.0 ? 100.0 * (gain / t) : 0.0;
}

extern "C" __global__ void rsi(const REAL* __restrict__ x, REAL* __restrict__ out, int S, int B, int n) {
    TID
    for (int i = 0; i < B && i <= n; i++) PUT(0, i, NANV);
    if (B <= n) return;
    double nf = (double)n, gain = 0.0, loss = 0.0;
    for (int i = 1; i <= n; i++) {
        double d = AT(x, i) - AT(x, i - 1);
        if (d < 0.0) loss -= d; else gain += d;
    }
    gain /= nf; loss /= nf;
    PUT(0, n, rsi_of(gain, loss));
    #pragma unroll 8
    for (int i = n + 1; i < B; i++) {
        double d = AT(x, i) - AT(x, i - 1);
        gain *= nf - 1.0; loss *= nf - 1.0;
        if (d < 0.0) loss -= d; else gain += d;
        gain /= nf; loss /= nf;
        PUT(0, i, rsi_of(gain, loss));
    }
}

extern "C" __global__ void macd(const REAL* __restrict__ x, REAL* __restrict__ out, int S, int B,
                                int fast, int slow, int sig) {
    TID
    int first = slow + sig - 2;
    if (B <= first) {
        for (int i = 0; i < B; i++) { PUT(0, i, NANV); PUT(1, i, NANV); PUT(2, i, NANV); }
        return;
    }
    double ks = 2.0 / ((double)slow + 1.0), kf = 2.0 / ((double)fast + 1.0);
    double es = 0.0, ef = 0.0;
    for (int i = 0; i < slow; i++) es += AT(x, i);
    es /= (double)slow;
    for (int i = slow - fast; i < slow; i++) ef += AT(x, i);
    ef /= (double)fast;
    PUT(0, slow - 1, ef - es);
    #pragma unroll 8
    for (int i = slow; i < B; i++) {
        double v = AT(x, i);
        es += (v - es) * ks;
        ef += (v - ef) * kf;
        PUT(0, i, ef - es);
    }
    double k = 2.0 / ((double)sig + 1.0), sum = 0.0;
    for (int i = slow - 1; i <= first; i++) sum += GET(0, i);
    double e = sum / (double)sig;
    for (int i = 0; i < B; i++) {
        if (i < first) { PUT(0, i, NANV); PUT(1, i, NANV); PUT(2, i, NANV); continue; }
        if (i > first) e += (GET(0, i) - e) * k;
        PUT(1, i, e);
        PUT(2, i, GET(0, i) - e);
    }
}

extern "C" __global__ void bollinger(const REAL* __restrict__ x, REAL* __restrict__ out, int S, int B,
                                     int n, int chunk, double kk) {
    TIDC
    double nf = (double)n, c = AT(x, 0), s1 = 0.0, s2 = 0.0;
    int s0 = WINDOW_START(n);
    #pragma unroll 8
    for (int i = s0; i < c1; i++) {
        double d = AT(x, i) - c;
        s1 += d; s2 += d * d;
        if (i >= s0 + n) { double o = AT(x, i - n) - c; s1 -= o; s2 -= o * o; }
        if (i < c0) continue;
        if (i + 1 < n) { PUT(0, i, NANV); PUT(1, i, NANV); PUT(2, i, NANV); continue; }
        double m = s1 / nf, var = s2 / nf - m * m;
        double sd = var > 0.0 ? sqrt(var) : 0.0, mean = m + c;
        PUT(0, i, mean + kk * sd);
        PUT(1, i, mean);
        PUT(2, i, mean - kk * sd);
    }
}

extern "C" __global__ void zscore(const REAL* __restrict__ x, REAL* __restrict__ out, int S, int B, int n, int chunk) {
    TIDC
    double nf = (double)n, c = AT(x, 0), s1 = 0.0, s2 = 0.0;
    int s0 = WINDOW_START(n);
    #pragma unroll 8
    for (int i = s0; i < c1; i++) {
        double d = AT(x, i) - c;
        s1 += d; s2 += d * d;
        if (i >= s0 + n) { double o = AT(x, i - n) - c; s1 -= o; s2 -= o * o; }
        if (i < c0) continue;
        if (i + 1 < n) { PUT(0, i, NANV); continue; }
        double m = s1 / nf, var = s2 / nf - m * m;
        PUT(0, i, var > 0.0 ? (d - m) / sqrt(var) : 0.0);
    }
}

__device__ double true_range(double h, double l, double pc) {
    double tr = h - l, a = fabs(pc - h), b = fabs(l - pc);
    if (a > tr) tr = a;
    if (b > tr) tr = b;
    return tr;
}

extern "C" __global__ void atr(const REAL* __restrict__ h, const REAL* __restrict__ l,
                               const REAL* __restrict__ x, REAL* __restrict__ out, int S, int B, int n) {
    TID
    for (int i = 0; i < B && i <= n; i++) PUT(0, i, NANV);
    if (B <= n) return;
    double nf = (double)n, sum = 0.0;
    for (int i = 1; i <= n; i++) sum += true_range(AT(h, i), AT(l, i), AT(x, i - 1));
    double a = sum / nf;
    PUT(0, n, a);
    #pragma unroll 8
    for (int i = n + 1; i < B; i++) {
        a = (a * (nf - 1.0) + true_range(AT(h, i), AT(l, i), AT(x, i - 1))) / nf;
        PUT(0, i, a);
    }
}

// SMA(n) of output `src` from bar `start` into output `dst` (NaN before).
__device__ void sma_from(REAL* __restrict__ out, int S, int B, int s, int src, int dst, int start, int n) {
    double nf = (double)n, sum = 0.0;
    for (int i = 0; i < B; i++) {
        if (i < start) { PUT(dst, i, NANV); continue; }
        sum += GET(src, i);
        if (i >= start + n) sum -= GET(src, i - n);
        PUT(dst, i, i + 1 >= start + n ? sum / nf : NANV);
    }
}

extern "C" __global__ void stoch(const REAL* __restrict__ h, const REAL* __restrict__ l,
                                 const REAL* __restrict__ x, REAL* __restrict__ out, int S, int B,
                                 int kn, int smooth, int dn) {
    TID
    for (int i = 0; i < B; i++) {
        if (i + 1 < kn) { PUT(1, i, NANV); continue; }
        double hh = AT(h, i + 1 - kn), ll = AT(l, i + 1 - kn);
        for (int j = i + 2 - kn; j <= i; j++) {
            double hj = AT(h, j), lj = AT(l, j);
            if (hj > hh) hh = hj;
            if (lj < ll) ll = lj;
        }
        double diff = (hh - ll) / 100.0;
        PUT(1, i, diff != 0.0 ? (AT(x, i) - ll) / diff : 0.0);
    }
    sma_from(out, S, B, s, 1, 0, kn - 1, smooth);
    sma_from(out, S, B, s, 0, 1, kn + smooth - 2, dn);
    int first = kn + smooth + dn - 3;
    for (int i = 0; i < B && i < first; i++) { PUT(0, i, NANV); PUT(1, i, NANV); }
}

extern "C" __global__ void volatility(const REAL* __restrict__ x, REAL* __restrict__ out, int S, int B,
                                      int n, int chunk, double scale) {
    TIDC
    if (c0 == 0) PUT(0, 0, NANV);
    double nf = (double)n, s1 = 0.0, s2 = 0.0;
    int r0 = WINDOW_START(n);
    if (r0 < 1) r0 = 1;
    #pragma unroll 8
    for (int i = r0; i < c1; i++) {
        double r = log(AT(x, i) / AT(x, i - 1));
        s1 += r; s2 += r * r;
        if (i >= r0 + n) { double o = log(AT(x, i - n) / AT(x, i - n - 1)); s1 -= o; s2 -= o * o; }
        if (i < c0) continue;
        if (i >= n) {
            double var = (s2 - s1 * s1 / nf) / (nf - 1.0);
            PUT(0, i, var > 0.0 ? sqrt(var) * scale : 0.0);
        } else {
            PUT(0, i, NANV);
        }
    }
}

// n <= 0: cumulative.
extern "C" __global__ void vwap(const REAL* __restrict__ h, const REAL* __restrict__ l,
                                const REAL* __restrict__ x, const REAL* __restrict__ v,
                                REAL* __restrict__ out, int S, int B, int n, int chunk) {
    TIDC
    double pv = 0.0, vs = 0.0;
    int s0 = n > 0 ? WINDOW_START(n) : 0;
    #pragma unroll 8
    for (int i = s0; i < c1; i++) {
        double vol = AT(v, i);
        pv += (AT(h, i) + AT(l, i) + AT(x, i)) / 3.0 * vol;
        vs += vol;
        if (n > 0) {
            if (i >= s0 + n) {
                int j = i - n;
                double vj = AT(v, j);
                pv -= (AT(h, j) + AT(l, j) + AT(x, j)) / 3.0 * vj;
                vs -= vj;
            }
            if (i < c0) continue;
            if (i + 1 < n) { PUT(0, i, NANV); continue; }
        }
        PUT(0, i, vs > 0.0 ? pv / vs : NANV);
    }
}

extern "C" __global__ void obv(const REAL* __restrict__ x, const REAL* __restrict__ v,
                               REAL* __restrict__ out, int S, int B) {
    TID
    double o = AT(v, 0);
    PUT(0, 0, o);
    #pragma unroll 8
    for (int i = 1; i < B; i++) {
        double now = AT(x, i), prev = AT(x, i - 1);
        if (now > prev) o += AT(v, i); else if (now < prev) o -= AT(v, i);
        PUT(0, i, o);
    }
}

// The benchmark is one series for every symbol: bench[t].
extern "C" __global__ void corr(const REAL* __restrict__ x, const REAL* __restrict__ bench,
                                REAL* __restrict__ out, int S, int B, int n, int chunk) {
    TIDC
    if (c0 == 0) PUT(0, 0, NANV);
    double nf = (double)n, sa = 0.0, sb = 0.0, saa = 0.0, sbb = 0.0, sab = 0.0;
    int r0 = WINDOW_START(n);
    if (r0 < 1) r0 = 1;
    #pragma unroll 8
    for (int i = r0; i < c1; i++) {
        double ra = AT(x, i) / AT(x, i - 1) - 1.0;
        double rb = (double)bench[i] / (double)bench[i - 1] - 1.0;
        sa += ra; sb += rb; saa += ra * ra; sbb += rb * rb; sab += ra * rb;
        if (i >= r0 + n) {
            int j = i - n;
            double oa = AT(x, j) / AT(x, j - 1) - 1.0;
            double ob = (double)bench[j] / (double)bench[j - 1] - 1.0;
            sa -= oa; sb -= ob; saa -= oa * oa; sbb -= ob * ob; sab -= oa * ob;
        }
        if (i < c0) continue;
        if (i >= n) {
            double cov = sab - sa * sb / nf, va = saa - sa * sa / nf, vb = sbb - sb * sb / nf;
            PUT(0, i, va > 0.0 && vb > 0.0 ? cov / sqrt(va * vb) : 0.0);
        } else {
            PUT(0, i, NANV);
        }
    }
}
