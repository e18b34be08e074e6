// Lucid's decorrelated Fourier parameterization (optvis/param/spatial.py fft_image + color.py): the
// optimized variable is a half spectrum per channel, scaled by 1 / max(freq, 1/max(h, w))^decay * sqrt(h w),
// turned into an image by a real inverse 2-D DFT (numpy/TF irfft2 semantics, divided by Lucid's 4), then
// colour-decorrelated and squashed by a sigmoid.
//
// The variable is an [N, C, H, 2 Wf] float32 tensor: columns 0..Wf-1 hold the real parts, columns
// Wf..2Wf-1 the imaginary parts (Wf = W/2 + 1, or (W+1)/2 + 1 for odd W as in Lucid, which then crops one
// column). With X = [A | B] the inverse DFT is two MatMuls along H and two along W:
//   image = (Ch X) R1 + (Sh X) R2,   R1 = [Cw; -Sw],  R2 = [-Sw; -Cw]
// (Ch, Sh: cos/sin along H; Cw, Sw: cos/sin along W with the c2r column weights), which is
// Ch (A Cw - B Sw) - Sh (A Sw + B Cw). The TypeScript code and the emitted ONNX graph compute the same.
import { FvizError } from '../../errors.ts';
import type { GraphBuilder } from '../../onnx/builder.ts';
import type { DType, TensorData } from '../../onnx/ir.ts';
import type { Rng } from '../../util/rng.ts';
import { emitToValidRgb, toValidRgb, toValidRgbBackward, type ValidRgbOptions } from './color.ts';
import type { Nchw } from '../../image/nchw.ts';
import { nchw } from '../../image/nchw.ts';

/** Lucid's image scale-down after the inverse DFT. */
export const LUCID_FFT_MAGIC = 4;

export interface FourierOptions extends ValidRgbOptions {
  /** Spectrum falls off as 1 / freq^decayPower (Lucid: 1). */
  decayPower?: number;
  /** Channels (default 3; decorrelation needs 3). */
  channels?: number;
}

function fftFreq(k: number, n: number): number {
  return (k <= (n - 1) / 2 ? k : k - n) / n;
}

/** Half-spectrum columns kept for width w (Lucid's rfft2d_freqs). */
export function halfSpectrumWidth(w: number): number {
  return w % 2 === 1 ? Math.floor(w / 2) + 2 : w / 2 + 1;
}

export class FourierParam {
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  /** Half-spectrum columns. */
  readonly wf: number;
  /** Width of the inverse DFT before cropping to w (w, or w + 1 for odd w). */
  readonly wt: number;
  readonly paramDims: [number, number, number, number];
  readonly options: Required<Pick<FourierOptions, 'decayPower' | 'decorrelate' | 'sigmoid'>>;
  /** Lucid's spectrum scale, [h, wf]. */
  readonly spectralScale: Float64Array;
  /** [wf, w]: cos / sin(2 pi kx x / wt) times the column weight (1 at DC and Nyquist, else 2) / (h wt magic). */
  private readonly cw: Float64Array;
  private readonly sw: Float64Array;
  /** [h, h]: cos / sin(2 pi ky y / h), indexed [y, ky]. */
  private readonly ch: Float64Array;
  private readonly sh: Float64Array;

  constructor(n: number, h: number, w: number, o: FourierOptions = {}) {
    this.n = n;
    this.h = h;
    this.w = w;
    this.c = o.channels ?? 3;
    this.options = { decayPower: o.decayPower ?? 1, decorrelate: o.decorrelate ?? true, sigmoid: o.sigmoid ?? true };
    if (this.options.decorrelate && this.c !== 3) throw new FvizError(`Fourier parameterization: colour decorrelation needs 3 channels, got ${this.c}`);
    if (!(h >= 1 && w >= 1 && n >= 1)) throw new FvizError(`Fourier parameterization: bad size ${n}x${this.c}x${h}x${w}`);
    const wf = halfSpectrumWidth(w);
    const wt = 2 * (wf - 1);
    this.wf = wf;
    this.wt = wt;
    this.paramDims = [n, this.c, h, 2 * wf];
    const scale = new Float64Array(h * wf);
    const floor = 1 / Math.max(w, h);
    for (let ky = 0; ky < h; ky++)
      for (let kx = 0; kx < wf; kx++) {
        const f = Math.hypot(fftFreq(ky, h), fftFreq(kx, w));
        scale[ky * wf + kx] = Math.sqrt(w * h) / Math.max(f, floor) ** this.options.decayPower;
      }
    this.spectralScale = scale;
    const cw = new Float64Array(wf * w);
    const sw = new Float64Array(wf * w);
    for (let kx = 0; kx < wf; kx++) {
      const weight = (kx === 0 || 2 * kx === wt ? 1 : 2) / (h * wt * LUCID_FFT_MAGIC);
      for (let x = 0; x < w; x++) {
        // Reduce kx*x mod wt so the angle stays exact for large sizes.
        const a = (2 * Math.PI * ((kx * x) % wt)) / wt;
        cw[kx * w + x] = weight * Math.cos(a);
        sw[kx * w + x] = weight * Math.sin(a);
      }
    }
    this.cw = cw;
    this.sw = sw;
    const ch = new Float64Array(h * h);
    const sh = new Float64Array(h * h);
    for (let y = 0; y < h; y++)
      for (let ky = 0; ky < h; ky++) {
        const a = (2 * Math.PI * ((ky * y) % h)) / h;
        ch[y * h + ky] = Math.cos(a);
        sh[y * h + ky] = Math.sin(a);
      }
    this.ch = ch;
    this.sh = sh;
  }

  /** Lucid's initialization: every spectrum entry normal with sd 0.01. */
  init(rng: Rng, sd = 0.01): Nchw {
    const [a, b, c, d] = this.paramDims;
    const x = nchw(a, b, c, d);
    rng.fillNormal(x.data, sd);
    return x;
  }

  private checkSpec(spec: Nchw): void {
    if (spec.dims.join() !== this.paramDims.join()) throw new FvizError(`Fourier spectrum: expected [${this.paramDims.join(', ')}], got [${spec.dims.join(', ')}]`);
  }

  /** The linear part: spectrum -> image before colour and sigmoid, [N, C, H, W]. */
  linear(spec: Nchw): Nchw {
    this.checkSpec(spec);
    const { n, c, h, w, wf, cw, sw, ch, sh, spectralScale } = this;
    const out = nchw(n, c, h, w);
    const A = new Float64Array(h * wf);
    const B = new Float64Array(h * wf);
    const P = new Float64Array(h * w);
    const Q = new Float64Array(h * w);
    const img = new Float64Array(h * w);
    for (let pl = 0; pl < n * c; pl++) {
      const s = spec.data.subarray(pl * 2 * h * wf, (pl + 1) * 2 * h * wf);
      for (let ky = 0; ky < h; ky++)
        for (let kx = 0; kx < wf; kx++) {
          const i = ky * wf + kx;
          A[i] = s[2 * i - kx]! * spectralScale[i]!;
          B[i] = s[2 * i - kx + wf]! * spectralScale[i]!;
        }
      // P = A Cw - B Sw, Q = A Sw + B Cw  (h x w)
      P.fill(0);
      Q.fill(0);
      for (let ky = 0; ky < h; ky++) {
        const po = ky * w;
        for (let kx = 0; kx < wf; kx++) {
          const a = A[ky * wf + kx]!;
          const b = B[ky * wf + kx]!;
          const mo = kx * w;
          for (let x = 0; x < w; x++) {
            const cv = cw[mo + x]!;
            const sv = sw[mo + x]!;
            P[po + x] += a * cv - b * sv;
            Q[po + x] += a * sv + b * cv;
          }
        }
      }
      // image = Ch P - Sh Q
      img.fill(0);
      for (let y = 0; y < h; y++) {
        const io = y * w;
        for (let ky = 0; ky < h; ky++) {
          const cv = ch[y * h + ky]!;
          const sv = sh[y * h + ky]!;
          const po = ky * w;
          for (let x = 0; x < w; x++) img[io + x] += cv * P[po + x]! - sv * Q[po + x]!;
        }
      }
      out.data.set(img, pl * h * w);
    }
    return out;
  }

  /** The transpose of `linear`: image-space gradient -> spectrum gradient. */
  linearAdjoint(g: Nchw): Nchw {
    const { n, c, h, w, wf, cw, sw, ch, sh, spectralScale } = this;
    if (g.dims.join() !== [n, c, h, w].join()) throw new FvizError(`Fourier adjoint: expected [${[n, c, h, w].join(', ')}], got [${g.dims.join(', ')}]`);
    const out = nchw(...this.paramDims);
    const gP = new Float64Array(h * w);
    const gQ = new Float64Array(h * w);
    for (let pl = 0; pl < n * c; pl++) {
      const G = g.data.subarray(pl * h * w, (pl + 1) * h * w);
      // gP = Ch^T G, gQ = -Sh^T G
      gP.fill(0);
      gQ.fill(0);
      for (let y = 0; y < h; y++) {
        const go = y * w;
        for (let ky = 0; ky < h; ky++) {
          const cv = ch[y * h + ky]!;
          const sv = sh[y * h + ky]!;
          const po = ky * w;
          for (let x = 0; x < w; x++) {
            const v = G[go + x]!;
            gP[po + x] += cv * v;
            gQ[po + x] -= sv * v;
          }
        }
      }
      // gA = gP Cw^T + gQ Sw^T, gB = -gP Sw^T + gQ Cw^T, then the spectral scale.
      const dst = out.data.subarray(pl * 2 * h * wf, (pl + 1) * 2 * h * wf);
      for (let ky = 0; ky < h; ky++) {
        const po = ky * w;
        for (let kx = 0; kx < wf; kx++) {
          const mo = kx * w;
          let a = 0;
          let b = 0;
          for (let x = 0; x < w; x++) {
            const p = gP[po + x]!;
            const q = gQ[po + x]!;
            a += p * cw[mo + x]! + q * sw[mo + x]!;
            b += q * cw[mo + x]! - p * sw[mo + x]!;
          }
          const s = spectralScale[ky * wf + kx]!;
          dst[2 * ky * wf + kx] = a * s;
          dst[2 * ky * wf + wf + kx] = b * s;
        }
      }
    }
    return out;
  }

  /** Spectrum -> displayable RGB image in [0, 1] (Lucid's fft_image + to_valid_rgb). */
  render(spec: Nchw): Nchw {
    return toValidRgb(this.linear(spec), this.options);
  }

  /** The gradient with respect to the spectrum of <gRgb, render(spec)>, given rgb = render(spec). */
  backward(rgb: Nchw, gRgb: Nchw): Nchw {
    return this.linearAdjoint(toValidRgbBackward(rgb, gRgb, this.options));
  }

  /**
   * Emits render() as ONNX nodes reading the spectrum value `spec` ([N, C, H, 2Wf]): Mul by the spectral
   * scale, four MatMuls with constant cos/sin matrices, Add, colour MatMul (between Reshapes), Sigmoid.
   * Returns the name of the [N, C, H, W] RGB value.
   */
  emit(b: GraphBuilder, spec: string, dtype: DType = 'float32'): string {
    const { n, c, h, w, wf } = this;
    const make = (dims: number[], values: Float64Array): TensorData => ({ dtype, dims, data: dtype === 'float64' ? values.slice() : Float32Array.from(values) });
    const rowScale = new Float64Array(h * 2 * wf);
    for (let ky = 0; ky < h; ky++) {
      const row = this.spectralScale.subarray(ky * wf, (ky + 1) * wf);
      rowScale.set(row, ky * 2 * wf);
      rowScale.set(row, ky * 2 * wf + wf);
    }
    // R1 = [Cw; -Sw], R2 = [-Sw; -Cw], each [2Wf, W].
    const r1 = new Float64Array(2 * wf * w);
    const r2 = new Float64Array(2 * wf * w);
    for (let i = 0; i < wf * w; i++) {
      r1[i] = this.cw[i]!;
      r1[wf * w + i] = -this.sw[i]!;
      r2[i] = -this.sw[i]!;
      r2[wf * w + i] = -this.cw[i]!;
    }
    const type = (name: string, shape: number[]) => b.setType(name, { dtype, shape });
    const scaled = b.op('Mul', [spec, b.constant(make([h, 2 * wf], rowScale), 'fourier_scale')], {}, 'fourier_scaled');
    type(scaled, [n, c, h, 2 * wf]);
    const yc = b.op('MatMul', [b.constant(make([h, h], this.ch), 'fourier_cos_h'), scaled], {}, 'fourier_ycos');
    type(yc, [n, c, h, 2 * wf]);
    const ys = b.op('MatMul', [b.constant(make([h, h], this.sh), 'fourier_sin_h'), scaled], {}, 'fourier_ysin');
    type(ys, [n, c, h, 2 * wf]);
    const z1 = b.op('MatMul', [yc, b.constant(make([2 * wf, w], r1), 'fourier_r1')], {}, 'fourier_z1');
    type(z1, [n, c, h, w]);
    const z2 = b.op('MatMul', [ys, b.constant(make([2 * wf, w], r2), 'fourier_r2')], {}, 'fourier_z2');
    type(z2, [n, c, h, w]);
    const image = b.op('Add', [z1, z2], {}, 'fourier_image');
    type(image, [n, c, h, w]);
    return emitToValidRgb(b, image, [n, c, h, w], this.options, dtype);
  }
}
