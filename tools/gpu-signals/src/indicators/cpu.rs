//! The CPU path (the reference): one symbol at a time, sequential over its
//! bars, symbols in parallel with rayon. The CUDA kernels in
//! `cuda/kernels.cu` repeat these loops operation for operation (f64
//! arithmetic, the same order, no fused multiply-add), so the two paths
//! agree to the last bit or two.

// Index loops on purpose: they read like the kernels they must match.
#![allow(clippy::needless_range_loop)]

/// Bars a windowed indicator computes from one fresh start: the rolling
/// indicators (SMA, WMA, Bollinger, z-score, volatility, rolling VWAP,
/// correlation) restart their running sums every `CHUNK` bars from the
/// window before the chunk. The CUDA path runs one thread per (symbol,
/// chunk) on the same boundaries, so both round alike; the restart also
/// keeps running-sum drift bounded on long series.
pub const CHUNK: usize = 256;

use rayon::prelude::*;

use super::{Indicator, IndicatorValues};
use crate::batch::{Batch, Field, Real};

/// One symbol's inputs.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a, T> {
    /// Highs.
    pub high: &'a [T],
    /// Lows.
    pub low: &'a [T],
    /// Closes.
    pub close: &'a [T],
    /// Volumes.
    pub volume: &'a [T],
    /// The benchmark's closes.
    pub bench: Option<&'a [T]>,
}

/// Computes `ind` for every symbol of `batch` (rayon over symbols).
/// The caller has checked the inputs ([`Indicator::check_inputs`]).
pub fn compute<T: Real>(batch: &Batch<T>, ind: &Indicator) -> IndicatorValues<T> {
    let nb = batch.n_bars;
    let k = ind.outputs().len();
    let mut data = vec![T::default(); batch.n_symbols * k * nb];
    data.par_chunks_mut(k * nb)
        .enumerate()
        .for_each(|(s, out)| {
            let row = Row {
                high: batch.row(Field::High, s),
                low: batch.row(Field::Low, s),
                close: batch.row(Field::Close, s),
                volume: batch.row(Field::Volume, s),
                bench: batch.benchmark.as_deref(),
            };
            compute_row(ind, row, out);
        });
    IndicatorValues {
        indicator: *ind,
        n_symbols: batch.n_symbols,
        n_bars: nb,
        data,
    }
}

/// Computes `ind` for one symbol into `out` (`outputs * n_bars` values).
pub fn compute_row<T: Real>(ind: &Indicator, r: Row<'_, T>, out: &mut [T]) {
    let n = r.close.len();
    match *ind {
        Indicator::Sma { period } => sma(r.close, period, out),
        Indicator::Ema { period } => ema(r.close, period, out),
        Indicator::Wma { period } => wma(r.close, period, out),
        Indicator::Rsi { period } => rsi(r.close, period, out),
        Indicator::Macd { fast, slow, signal } => macd(r.close, fast, slow, signal, out),
        Indicator::Bollinger { period, k } => {
            let (up, rest) = out.split_at_mut(n);
            let (mid, lo) = rest.split_at_mut(n);
            bollinger(r.close, period, k, up, mid, lo)
        }
        Indicator::Atr { period } => atr(r.high, r.low, r.close, period, out),
        Indicator::Stoch { k, smooth, d } => {
            let (ko, dout) = out.split_at_mut(n);
            stoch(r.high, r.low, r.close, k, smooth, d, ko, dout)
        }
        Indicator::Zscore { period } => zscore(r.close, period, out),
        Indicator::Volatility { period, per_year } => volatility(r.close, period, per_year, out),
        Indicator::Vwap { period } => vwap(r.high, r.low, r.close, r.volume, period, out),
        Indicator::Obv => obv(r.close, r.volume, out),
        Indicator::Corr { period } => match r.bench {
            Some(b) => corr(r.close, b, period, out),
            None => out.fill(T::from_f64(f64::NAN)),
        },
    }
}

#[inline]
fn g<T: Real>(x: &[T], i: usize) -> f64 {
    x[i].to_f64()
}

#[inline]
fn nan<T: Real>() -> T {
    T::from_f64(f64::NAN)
}

/// Simple moving average (chunked, see [`CHUNK`]).
pub fn sma<T: Real>(x: &[T], n: usize, out: &mut [T]) {
    let nf = n as f64;
    for c0 in (0..x.len()).step_by(CHUNK) {
        let c1 = (c0 + CHUNK).min(x.len());
        let s0 = (c0 + 1).saturating_sub(n);
        let mut sum = 0.0;
        for i in s0..c1 {
            sum += g(x, i);
            if i >= s0 + n {
                sum -= g(x, i - n);
            }
            if i >= c0 {
                out[i] = if i + 1 >= n {
                    T::from_f64(sum / nf)
                } else {
                    nan()
                };
            }
        }
    }
}

/// EMA of `x[start..]` seeded with the mean of `x[start..start+n]` at
/// `start+n-1`; writes from there on (earlier entries untouched).
fn ema_from<T: Real>(x: &[T], start: usize, n: usize, out: &mut [T]) {
    let len = x.len();
    if start + n > len {
        return;
    }
    let k = 2.0 / (n as f64 + 1.0);
    let mut sum = 0.0;
    for i in start..start + n {
        sum += g(x, i);
    }
    let mut e = sum / n as f64;
    out[start + n - 1] = T::from_f64(e);
    for i in start + n..len {
        e += (g(x, i) - e) * k;
        out[i] = T::from_f64(e);
    }
}

/// Exponential moving average (SMA seed).
pub fn ema<T: Real>(x: &[T], n: usize, out: &mut [T]) {
    out.fill(nan());
    ema_from(x, 0, n, out);
}

/// Linearly weighted moving average (running weighted sum, chunked).
pub fn wma<T: Real>(x: &[T], n: usize, out: &mut [T]) {
    let nf = n as f64;
    let div = nf * (nf + 1.0) / 2.0;
    for c0 in (0..x.len()).step_by(CHUNK) {
        let c1 = (c0 + CHUNK).min(x.len());
        let s0 = (c0 + 1).saturating_sub(n);
        let (mut wsum, mut ssum) = (0.0, 0.0);
        for i in s0..c1 {
            let v = g(x, i);
            if i - s0 < n {
                wsum += (i - s0 + 1) as f64 * v;
                ssum += v;
            } else {
                wsum += nf * v - ssum;
                ssum += v - g(x, i - n);
            }
            if i >= c0 {
                out[i] = if i + 1 >= n {
                    T::from_f64(wsum / div)
                } else {
                    nan()
                };
            }
        }
    }
}

/// Wilder's RSI.
pub fn rsi<T: Real>(x: &[T], n: usize, out: &mut [T]) {
    out.fill(nan());
    let len = x.len();
    if len <= n {
        return;
    }
    let nf = n as f64;
    let (mut gain, mut loss) = (0.0, 0.0);
    for i in 1..=n {
        let d = g(x, i) - g(x, i - 1);
        if d < 0.0 {
            loss -= d;
        } else {
            gain += d;
        }
    }
    gain /= nf;
    loss /= nf;
    out[n] = T::from_f64(rsi_of(gain, loss));
    for i in n + 1..len {
        let d = g(x, i) - g(x, i - 1);
        gain *= nf - 1.0;
        loss *= nf - 1.0;
        if d < 0.0 {
            loss -= d;
        } else {
            gain += d;
        }
        gain /= nf;
        loss /= nf;
        out[i] = T::from_f64(rsi_of(gain, loss));
    }
}

#[inline]
fn rsi_of(gain: f64, loss: f64) -> f64 {
    let t = gain + loss;
    if t != 0.0 { 100.0 * (gain / t) } else { 0.0 }
}

/// MACD line, signal and histogram (TA-Lib's seeding; see the module docs).
pub fn macd<T: Real>(x: &[T], fast: usize, slow: usize, sig: usize, out: &mut [T]) {
    let len = x.len();
    out.fill(nan());
    let first = slow + sig - 2;
    if len <= first {
        return;
    }
    let (line, rest) = out.split_at_mut(len);
    let (signal, hist) = rest.split_at_mut(len);
    // Both EMAs seeded at bar slow-1: the slow with the mean of bars
    // 0..slow, the fast with the mean of the `fast` bars ending there.
    let (ks, kf) = (2.0 / (slow as f64 + 1.0), 2.0 / (fast as f64 + 1.0));
    let mut es = 0.0;
    for i in 0..slow {
        es += g(x, i);
    }
    es /= slow as f64;
    let mut ef = 0.0;
    for i in slow - fast..slow {
        ef += g(x, i);
    }
    ef /= fast as f64;
    line[slow - 1] = T::from_f64(ef - es);
    for i in slow..len {
        let v = g(x, i);
        es += (v - es) * ks;
        ef += (v - ef) * kf;
        line[i] = T::from_f64(ef - es);
    }
    // The signal line: EMA(sig) of the MACD line from bar slow-1.
    let k = 2.0 / (sig as f64 + 1.0);
    let mut sum = 0.0;
    for i in slow - 1..=first {
        sum += line[i].to_f64();
    }
    let mut e = sum / sig as f64;
    for i in 0..len {
        if i < first {
            line[i] = nan();
            signal[i] = nan();
            hist[i] = nan();
            continue;
        }
        if i > first {
            e += (line[i].to_f64() - e) * k;
        }
        signal[i] = T::from_f64(e);
        hist[i] = T::from_f64(line[i].to_f64() - e);
    }
}

/// Rolling mean and population variance over `n` values ending at `i`,
/// from running sums of `x - shift`.
#[derive(Default)]
struct Rolling {
    s1: f64,
    s2: f64,
}

impl Rolling {
    #[inline]
    fn push(&mut self, d: f64) {
        self.s1 += d;
        self.s2 += d * d;
    }
    #[inline]
    fn pop(&mut self, d: f64) {
        self.s1 -= d;
        self.s2 -= d * d;
    }
    /// (mean of the shifted values, population variance).
    #[inline]
    fn mean_var(&self, nf: f64) -> (f64, f64) {
        let m = self.s1 / nf;
        (m, self.s2 / nf - m * m)
    }
}

/// Bollinger bands (chunked).
pub fn bollinger<T: Real>(x: &[T], n: usize, k: f64, up: &mut [T], mid: &mut [T], lo: &mut [T]) {
    let nf = n as f64;
    let c = g(x, 0);
    for c0 in (0..x.len()).step_by(CHUNK) {
        let c1 = (c0 + CHUNK).min(x.len());
        let s0 = (c0 + 1).saturating_sub(n);
        let mut r = Rolling::default();
        for i in s0..c1 {
            r.push(g(x, i) - c);
            if i >= s0 + n {
                r.pop(g(x, i - n) - c);
            }
            if i < c0 {
                continue;
            }
            if i + 1 < n {
                up[i] = nan();
                mid[i] = nan();
                lo[i] = nan();
                continue;
            }
            let (m, var) = r.mean_var(nf);
            let sd = if var > 0.0 { var.sqrt() } else { 0.0 };
            let mean = m + c;
            up[i] = T::from_f64(mean + k * sd);
            mid[i] = T::from_f64(mean);
            lo[i] = T::from_f64(mean - k * sd);
        }
    }
}

/// Rolling z-score (chunked).
pub fn zscore<T: Real>(x: &[T], n: usize, out: &mut [T]) {
    let nf = n as f64;
    let c = g(x, 0);
    for c0 in (0..x.len()).step_by(CHUNK) {
        let c1 = (c0 + CHUNK).min(x.len());
        let s0 = (c0 + 1).saturating_sub(n);
        let mut r = Rolling::default();
        for i in s0..c1 {
            let d = g(x, i) - c;
            r.push(d);
            if i >= s0 + n {
                r.pop(g(x, i - n) - c);
            }
            if i < c0 {
                continue;
            }
            if i + 1 < n {
                out[i] = nan();
                continue;
            }
            let (m, var) = r.mean_var(nf);
            out[i] = if var > 0.0 {
                T::from_f64((d - m) / var.sqrt())
            } else {
                T::from_f64(0.0)
            };
        }
    }
}

#[inline]
fn true_range(h: f64, l: f64, prev_close: f64) -> f64 {
    let mut tr = h - l;
    let a = (prev_close - h).abs();
    if a > tr {
        tr = a;
    }
    let b = (l - prev_close).abs();
    if b > tr {
        tr = b;
    }
    tr
}

/// Wilder's average true range.
pub fn atr<T: Real>(h: &[T], l: &[T], c: &[T], n: usize, out: &mut [T]) {
    out.fill(nan());
    let len = c.len();
    if len <= n {
        return;
    }
    let nf = n as f64;
    let mut sum = 0.0;
    for i in 1..=n {
        sum += true_range(g(h, i), g(l, i), g(c, i - 1));
    }
    let mut a = sum / nf;
    out[n] = T::from_f64(a);
    for i in n + 1..len {
        a = (a * (nf - 1.0) + true_range(g(h, i), g(l, i), g(c, i - 1))) / nf;
        out[i] = T::from_f64(a);
    }
}

/// Slow stochastic: fast %K into `d` (scratch), its SMA(smooth) into `k`,
/// that one's SMA(dn) into `d`, then the warm-up blanked.
#[allow(clippy::too_many_arguments)]
pub fn stoch<T: Real>(
    h: &[T],
    l: &[T],
    c: &[T],
    kn: usize,
    smooth: usize,
    dn: usize,
    k: &mut [T],
    d: &mut [T],
) {
    let len = c.len();
    for i in 0..len {
        if i + 1 < kn {
            d[i] = nan();
            continue;
        }
        let (mut hh, mut ll) = (g(h, i + 1 - kn), g(l, i + 1 - kn));
        for j in i + 2 - kn..=i {
            let (hj, lj) = (g(h, j), g(l, j));
            if hj > hh {
                hh = hj;
            }
            if lj < ll {
                ll = lj;
            }
        }
        let diff = (hh - ll) / 100.0;
        d[i] = T::from_f64(if diff != 0.0 {
            (g(c, i) - ll) / diff
        } else {
            0.0
        });
    }
    sma_from(d, kn - 1, smooth, k);
    sma_from(k, kn + smooth - 2, dn, d);
    let first = kn + smooth + dn - 3;
    for i in 0..len.min(first) {
        k[i] = nan();
        d[i] = nan();
    }
}

/// SMA(n) of `x[start..]` into `out` (NaN before `start + n - 1`).
fn sma_from<T: Real>(x: &[T], start: usize, n: usize, out: &mut [T]) {
    let nf = n as f64;
    let mut sum = 0.0;
    for i in 0..x.len() {
        if i < start {
            out[i] = nan();
            continue;
        }
        sum += g(x, i);
        if i >= start + n {
            sum -= g(x, i - n);
        }
        out[i] = if i + 1 >= start + n {
            T::from_f64(sum / nf)
        } else {
            nan()
        };
    }
}

/// Rolling volatility of log returns (sample std), optionally annualised
/// (chunked).
pub fn volatility<T: Real>(x: &[T], n: usize, per_year: Option<usize>, out: &mut [T]) {
    let nf = n as f64;
    let scale = per_year.map_or(1.0, |p| (p as f64).sqrt());
    for c0 in (0..x.len()).step_by(CHUNK) {
        let c1 = (c0 + CHUNK).min(x.len());
        if c0 == 0 {
            out[0] = nan();
        }
        let r0 = (c0 + 1).saturating_sub(n).max(1);
        let (mut s1, mut s2) = (0.0, 0.0);
        for i in r0..c1 {
            let r = (g(x, i) / g(x, i - 1)).ln();
            s1 += r;
            s2 += r * r;
            if i >= r0 + n {
                let o = (g(x, i - n) / g(x, i - n - 1)).ln();
                s1 -= o;
                s2 -= o * o;
            }
            if i < c0 {
                continue;
            }
            out[i] = if i >= n {
                let var = (s2 - s1 * s1 / nf) / (nf - 1.0);
                T::from_f64(if var > 0.0 { var.sqrt() * scale } else { 0.0 })
            } else {
                nan()
            };
        }
    }
}

/// VWAP, cumulative (`period` none: one pass over every bar) or rolling
/// (chunked).
pub fn vwap<T: Real>(h: &[T], l: &[T], c: &[T], v: &[T], period: Option<usize>, out: &mut [T]) {
    let len = c.len();
    let step = if period.is_some() { CHUNK } else { len.max(1) };
    for c0 in (0..len).step_by(step) {
        let c1 = (c0 + step).min(len);
        let s0 = period.map_or(0, |n| (c0 + 1).saturating_sub(n));
        let (mut pv, mut vs) = (0.0, 0.0);
        for i in s0..c1 {
            let vol = g(v, i);
            pv += (g(h, i) + g(l, i) + g(c, i)) / 3.0 * vol;
            vs += vol;
            if let Some(n) = period {
                if i >= s0 + n {
                    let j = i - n;
                    let vj = g(v, j);
                    pv -= (g(h, j) + g(l, j) + g(c, j)) / 3.0 * vj;
                    vs -= vj;
                }
                if i < c0 {
                    continue;
                }
                if i + 1 < n {
                    out[i] = nan();
                    continue;
                }
            }
            out[i] = if vs > 0.0 {
                T::from_f64(pv / vs)
            } else {
                nan()
            };
        }
    }
}

/// On-balance volume.
pub fn obv<T: Real>(c: &[T], v: &[T], out: &mut [T]) {
    let mut o = g(v, 0);
    out[0] = T::from_f64(o);
    for i in 1..c.len() {
        let (now, prev) = (g(c, i), g(c, i - 1));
        if now > prev {
            o += g(v, i);
        } else if now < prev {
            o -= g(v, i);
        }
        out[i] = T::from_f64(o);
    }
}

/// Rolling correlation of one-bar simple returns with the benchmark's
/// (chunked).
pub fn corr<T: Real>(x: &[T], b: &[T], n: usize, out: &mut [T]) {
    let nf = n as f64;
    for c0 in (0..x.len()).step_by(CHUNK) {
        let c1 = (c0 + CHUNK).min(x.len());
        if c0 == 0 {
            out[0] = nan();
        }
        let r0 = (c0 + 1).saturating_sub(n).max(1);
        let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in r0..c1 {
            let ra = g(x, i) / g(x, i - 1) - 1.0;
            let rb = g(b, i) / g(b, i - 1) - 1.0;
            sa += ra;
            sb += rb;
            saa += ra * ra;
            sbb += rb * rb;
            sab += ra * rb;
            if i >= r0 + n {
                let j = i - n;
                let oa = g(x, j) / g(x, j - 1) - 1.0;
                let ob = g(b, j) / g(b, j - 1) - 1.0;
                sa -= oa;
                sb -= ob;
                saa -= oa * oa;
                sbb -= ob * ob;
                sab -= oa * ob;
            }
            if i < c0 {
                continue;
            }
            out[i] = if i >= n {
                let cov = sab - sa * sb / nf;
                let va = saa - sa * sa / nf;
                let vb = sbb - sb * sb / nf;
                T::from_f64(if va > 0.0 && vb > 0.0 {
                    cov / (va * vb).sqrt()
                } else {
                    0.0
                })
            } else {
                nan()
            };
        }
    }
}
