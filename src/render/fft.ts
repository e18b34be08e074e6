// Complex FFT of any length: iterative radix-2 for powers of two, Bluestein's chirp-z (through a
// power-of-two FFT) otherwise. Unnormalized in both directions: inverse(forward(x)) = n x.
// Plans (twiddles, bit reversal, chirps) are cached per length.

interface Pow2Plan {
  kind: 'pow2';
  n: number;
  rev: Uint32Array;
  cos: Float64Array;
  sin: Float64Array;
}

interface BluesteinPlan {
  kind: 'bluestein';
  n: number;
  m: Pow2Plan;
  /** Chirp w_k = exp(-i pi k^2 / n). */
  wr: Float64Array;
  wi: Float64Array;
  /** FFT of the zero-padded conjugate chirp, length m. */
  br: Float64Array;
  bi: Float64Array;
  ar: Float64Array;
  ai: Float64Array;
}

type Plan = Pow2Plan | BluesteinPlan;

const plans = new Map<number, Plan>();

function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

function pow2Plan(n: number): Pow2Plan {
  const bits = Math.round(Math.log2(n));
  const rev = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    rev[i] = r;
  }
  const cos = new Float64Array(n / 2);
  const sin = new Float64Array(n / 2);
  for (let k = 0; k < n / 2; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = Math.sin((2 * Math.PI * k) / n);
  }
  return { kind: 'pow2', n, rev, cos, sin };
}

function plan(n: number): Plan {
  let p = plans.get(n);
  if (p) return p;
  if (isPow2(n)) p = pow2Plan(n);
  else {
    let m = 1;
    while (m < 2 * n - 1) m *= 2;
    const mp = (plans.get(m) as Pow2Plan | undefined) ?? pow2Plan(m);
    plans.set(m, mp);
    const wr = new Float64Array(n);
    const wi = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      // k^2 mod 2n keeps the angle small and exact for large k.
      const q = (k * k) % (2 * n);
      wr[k] = Math.cos((Math.PI * q) / n);
      wi[k] = -Math.sin((Math.PI * q) / n);
    }
    const br = new Float64Array(m);
    const bi = new Float64Array(m);
    br[0] = wr[0]!;
    bi[0] = -wi[0]!;
    for (let k = 1; k < n; k++) {
      br[k] = br[m - k] = wr[k]!;
      bi[k] = bi[m - k] = -wi[k]!;
    }
    pow2(mp, br, bi, false);
    p = { kind: 'bluestein', n, m: mp, wr, wi, br, bi, ar: new Float64Array(m), ai: new Float64Array(m) };
  }
  plans.set(n, p);
  return p;
}

function pow2(p: Pow2Plan, re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = p.n;
  const { rev, cos, sin } = p;
  for (let i = 0; i < n; i++) {
    const j = rev[i]!;
    if (j > i) {
      let t = re[i]!;
      re[i] = re[j]!;
      re[j] = t;
      t = im[i]!;
      im[i] = im[j]!;
      im[j] = t;
    }
  }
  const sign = inverse ? 1 : -1;
  for (let size = 2; size <= n; size *= 2) {
    const half = size / 2;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const c = cos[k * step]!;
        const s = sign * sin[k * step]!;
        const a = start + k;
        const b = a + half;
        const xr = re[b]! * c - im[b]! * s;
        const xi = re[b]! * s + im[b]! * c;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
}

function bluestein(p: BluesteinPlan, re: Float64Array, im: Float64Array): void {
  const { n, wr, wi, br, bi, ar, ai } = p;
  const m = p.m.n;
  ar.fill(0);
  ai.fill(0);
  for (let k = 0; k < n; k++) {
    ar[k] = re[k]! * wr[k]! - im[k]! * wi[k]!;
    ai[k] = re[k]! * wi[k]! + im[k]! * wr[k]!;
  }
  pow2(p.m, ar, ai, false);
  for (let k = 0; k < m; k++) {
    const xr = ar[k]! * br[k]! - ai[k]! * bi[k]!;
    const xi = ar[k]! * bi[k]! + ai[k]! * br[k]!;
    ar[k] = xr;
    ai[k] = xi;
  }
  pow2(p.m, ar, ai, true);
  for (let k = 0; k < n; k++) {
    const xr = ar[k]! / m;
    const xi = ai[k]! / m;
    re[k] = xr * wr[k]! - xi * wi[k]!;
    im[k] = xr * wi[k]! + xi * wr[k]!;
  }
}

/** In-place complex FFT of length re.length (any length); `inverse` uses e^{+i...} and does not divide by n. */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (n <= 1) return;
  const p = plan(n);
  if (p.kind === 'pow2') pow2(p, re, im, inverse);
  else if (!inverse) bluestein(p, re, im);
  else {
    // inverse(x) = conj(forward(conj(x)))
    for (let k = 0; k < n; k++) im[k] = -im[k]!;
    bluestein(p, re, im);
    for (let k = 0; k < n; k++) im[k] = -im[k]!;
  }
}

/** In-place 2-D FFT of an h x w row-major complex array (rows, then columns). */
export function fft2(re: Float64Array, im: Float64Array, h: number, w: number, inverse = false): void {
  const rr = new Float64Array(w);
  const ri = new Float64Array(w);
  for (let y = 0; y < h; y++) {
    rr.set(re.subarray(y * w, (y + 1) * w));
    ri.set(im.subarray(y * w, (y + 1) * w));
    fft(rr, ri, inverse);
    re.set(rr, y * w);
    im.set(ri, y * w);
  }
  const cr = new Float64Array(h);
  const ci = new Float64Array(h);
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      cr[y] = re[y * w + x]!;
      ci[y] = im[y * w + x]!;
    }
    fft(cr, ci, inverse);
    for (let y = 0; y < h; y++) {
      re[y * w + x] = cr[y]!;
      im[y * w + x] = ci[y]!;
    }
  }
}

/** numpy.fft.fftfreq(n)[k]: the signed frequency of bin k in cycles per sample. */
export function fftFreq(k: number, n: number): number {
  return (k <= (n - 1) / 2 ? k : k - n) / n;
}
