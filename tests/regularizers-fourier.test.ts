import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { emptyGraph, emptyModel } from '../src/onnx/ir.ts';
import { fft, fft2 } from '../src/render/fft.ts';
import { COLOR_CORRELATION_SVD_SQRT, COLOR_DECORRELATION, COLOR_DECORRELATION_INVERSE, decorrelatedToRgb, decorrelatedToRgbAdjoint, emitToValidRgb, toValidRgb } from '../src/optvis/param/color.ts';
import { FourierParam, halfSpectrumWidth, LUCID_FFT_MAGIC } from '../src/optvis/param/fourier.ts';
import { dot, nchw, type Nchw } from '../src/image/nchw.ts';
import { Session } from '../src/runtime/session.ts';
import { compileFused } from '../src/autodiff/compile.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { Rng } from '../src/util/rng.ts';

function randomNchw(seed: number, dims: [number, number, number, number], std = 1): Nchw {
  const x = nchw(...dims);
  new Rng(seed).fillNormal(x.data, std);
  return x;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function runGraph(build: (b: GraphBuilder) => string, inputName: string, input: Nchw): Promise<Float32Array> {
  const g = emptyGraph('fourier_test');
  g.inputs.push({ name: inputName, dtype: 'float32', shape: [...input.dims] });
  const b = new GraphBuilder(g);
  const out = build(b);
  const t = g.valueTypes.get(out)!;
  g.outputs.push({ name: out, dtype: 'float32', shape: [...t.shape] });
  const s = await Session.create(emptyModel(g), { threads: 1 });
  const res = await s.run({ [inputName]: input });
  await s.release();
  return res[out]!.data as Float32Array;
}

describe('colour decorrelation (Lucid param/color.py)', () => {
  it('is the ImageNet correlation square root over its largest column norm', () => {
    const norms = [0, 1, 2].map((j) => Math.hypot(COLOR_DECORRELATION[j]!, COLOR_DECORRELATION[3 + j]!, COLOR_DECORRELATION[6 + j]!));
    expect(Math.max(...norms)).toBeCloseTo(1, 12);
    const maxNorm = Math.hypot(0.26, 0.27, 0.27);
    expect(COLOR_DECORRELATION[0]).toBeCloseTo(COLOR_CORRELATION_SVD_SQRT[0]![0]! / maxNorm, 12);
    expect(COLOR_DECORRELATION[5]).toBeCloseTo(-0.05 / maxNorm, 12);
    // M M^-1 = I
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += COLOR_DECORRELATION[i * 3 + k]! * COLOR_DECORRELATION_INVERSE[k * 3 + j]!;
        expect(s).toBeCloseTo(i === j ? 1 : 0, 10);
      }
  });

  it('maps channels per pixel as rgb = M v, and its adjoint passes the dot-product test', () => {
    const v = randomNchw(1, [2, 3, 4, 5]);
    const rgb = decorrelatedToRgb(v);
    const p = 2 * 60 + 0 * 20 + 7; // image 1, pixel 7
    for (let i = 0; i < 3; i++) {
      let s = 0;
      for (let j = 0; j < 3; j++) s += COLOR_DECORRELATION[i * 3 + j]! * v.data[60 + j * 20 + 7]!;
      expect(rgb.data[p - 120 + 60 + i * 20]).toBeCloseTo(s, 6);
    }
    const y = randomNchw(2, [2, 3, 4, 5]);
    const lhs = dot(rgb.data, y.data);
    expect(Math.abs(lhs - dot(v.data, decorrelatedToRgbAdjoint(y).data)) / Math.abs(lhs)).toBeLessThan(1e-5);
  });

  it('the emitted ONNX colour transform and sigmoid agree with TypeScript', async () => {
    const v = randomNchw(3, [2, 3, 6, 7]);
    const onnx = await runGraph((b) => emitToValidRgb(b, 'v', v.dims), 'v', v);
    expect(maxAbsDiff(onnx, toValidRgb(v).data)).toBeLessThan(1e-6);
  });
});

/** numpy's irfft2 written from its definition: complex inverse DFT along H, then c2r along W (imaginary parts of DC/Nyquist dropped). */
function referenceIrfft2(re: Float64Array, im: Float64Array, h: number, wf: number, wt: number): Float64Array {
  const zr = re.slice();
  const zi = im.slice();
  const cr = new Float64Array(h);
  const ci = new Float64Array(h);
  for (let k = 0; k < wf; k++) {
    for (let y = 0; y < h; y++) {
      cr[y] = zr[y * wf + k]!;
      ci[y] = zi[y * wf + k]!;
    }
    fft(cr, ci, true);
    for (let y = 0; y < h; y++) {
      zr[y * wf + k] = cr[y]! / h;
      zi[y * wf + k] = ci[y]! / h;
    }
  }
  const out = new Float64Array(h * wt);
  const rr = new Float64Array(wt);
  const ri = new Float64Array(wt);
  for (let y = 0; y < h; y++) {
    rr.fill(0);
    ri.fill(0);
    for (let k = 0; k <= wt / 2; k++) {
      const a = zr[y * wf + k]!;
      const b = k === 0 || 2 * k === wt ? 0 : zi[y * wf + k]!;
      rr[k] = a;
      ri[k] = b;
      if (k > 0 && 2 * k < wt) {
        rr[wt - k] = a;
        ri[wt - k] = -b;
      }
    }
    fft(rr, ri, true);
    for (let x = 0; x < wt; x++) out[y * wt + x] = rr[x]! / wt;
  }
  return out;
}

describe('Fourier parameterization in TypeScript', () => {
  for (const [h, w] of [
    [6, 8],
    [5, 7],
    [8, 9],
    [7, 6],
  ] as const) {
    it(`equals numpy-style irfft2 of the scaled spectrum / 4 for ${h}x${w} (odd sizes cropped as in Lucid)`, () => {
      const fp = new FourierParam(1, h, w, { channels: 1, decorrelate: false, sigmoid: false });
      expect(fp.wf).toBe(halfSpectrumWidth(w));
      const spec = randomNchw(4, fp.paramDims);
      const re = new Float64Array(h * fp.wf);
      const im = new Float64Array(h * fp.wf);
      for (let i = 0; i < h * fp.wf; i++) {
        const row = Math.floor(i / fp.wf);
        re[i] = spec.data[i + row * fp.wf]! * fp.spectralScale[i]!;
        im[i] = spec.data[i + row * fp.wf + fp.wf]! * fp.spectralScale[i]!;
      }
      const ref = referenceIrfft2(re, im, h, fp.wf, fp.wt);
      const got = fp.linear(spec).data;
      let worst = 0;
      let scale = 0;
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          worst = Math.max(worst, Math.abs(got[y * w + x]! - ref[y * fp.wt + x]! / LUCID_FFT_MAGIC));
          scale = Math.max(scale, Math.abs(ref[y * fp.wt + x]!));
        }
      expect(worst / scale).toBeLessThan(1e-5);
    });
  }

  it('inverts the forward FFT of a real image (round trip through the spectrum)', () => {
    const h = 12;
    const w = 10;
    const fp = new FourierParam(1, h, w, { channels: 1, decorrelate: false, sigmoid: false });
    const img = new Float64Array(h * w);
    new Rng(5).fillNormal(img);
    const re = img.slice();
    const im = new Float64Array(h * w);
    fft2(re, im, h, w);
    const spec = nchw(...fp.paramDims);
    for (let ky = 0; ky < h; ky++)
      for (let kx = 0; kx < fp.wf; kx++) {
        const s = fp.spectralScale[ky * fp.wf + kx]! / LUCID_FFT_MAGIC;
        spec.data[ky * 2 * fp.wf + kx] = re[ky * w + kx]! / s;
        spec.data[ky * 2 * fp.wf + fp.wf + kx] = im[ky * w + kx]! / s;
      }
    expect(maxAbsDiff(fp.linear(spec).data, img)).toBeLessThan(1e-4);
  });

  it('the linear adjoint passes the dot-product test (even and odd sizes, batch of 2)', () => {
    for (const [h, w] of [
      [16, 16],
      [9, 11],
    ] as const) {
      const fp = new FourierParam(2, h, w);
      const x = randomNchw(6, fp.paramDims);
      const y = randomNchw(7, [2, 3, h, w]);
      const lhs = dot(fp.linear(x).data, y.data);
      const rhs = dot(x.data, fp.linearAdjoint(y).data);
      expect(Math.abs(lhs - rhs) / Math.abs(lhs)).toBeLessThan(1e-5);
    }
  });

  it('backward (through colour and sigmoid) matches finite differences', () => {
    const fp = new FourierParam(1, 8, 10);
    const spec = fp.init(new Rng(8), 0.05);
    const gy = randomNchw(9, [1, 3, 8, 10]);
    const f = (s: Nchw) => dot(fp.render(s).data, gy.data);
    const grad = fp.backward(fp.render(spec), gy);
    const rng = new Rng(10);
    for (let t = 0; t < 12; t++) {
      const i = rng.int(spec.data.length);
      const orig = spec.data[i]!;
      spec.data[i] = orig + 1e-3;
      const hi = spec.data[i]!;
      const fp1 = f(spec);
      spec.data[i] = orig - 1e-3;
      const lo = spec.data[i]!;
      const fm = f(spec);
      spec.data[i] = orig;
      expect(grad.data[i]).toBeCloseTo((fp1 - fm) / (hi - lo), 3);
    }
  });

  it('starts near grey with 1/f-coloured variation (Lucid init)', () => {
    const fp = new FourierParam(1, 32, 32);
    const rgb = fp.render(fp.init(new Rng(11)));
    const m = rgb.data.reduce((s, v) => s + v, 0) / rgb.data.length;
    expect(m).toBeGreaterThan(0.4);
    expect(m).toBeLessThan(0.6);
    for (const v of rgb.data) expect(v).toBeGreaterThan(0), expect(v).toBeLessThan(1);
  });
});

describe('Fourier parameterization as ONNX nodes', () => {
  for (const [n, h, w] of [
    [2, 16, 16],
    [1, 15, 17],
  ] as const) {
    it(`agrees with the TypeScript forward (${n}x3x${h}x${w})`, async () => {
      const fp = new FourierParam(n, h, w);
      const spec = fp.init(new Rng(12), 0.1);
      const onnx = await runGraph((b) => fp.emit(b, 'spectrum'), 'spectrum', spec);
      expect(maxAbsDiff(onnx, fp.render(spec).data)).toBeLessThan(2e-5);
    });
  }

  it('at 224x224 the graph runs in a few ms and agrees with TypeScript', async () => {
    const fp = new FourierParam(1, 224, 224);
    const spec = fp.init(new Rng(13), 0.05);
    const g = emptyGraph('fourier_224');
    g.inputs.push({ name: 'spectrum', dtype: 'float32', shape: [...fp.paramDims] });
    const b = new GraphBuilder(g);
    const out = fp.emit(b, 'spectrum');
    g.outputs.push({ name: out, dtype: 'float32', shape: [1, 3, 224, 224] });
    const s = await Session.create(emptyModel(g));
    await s.run({ spectrum: spec });
    const t0 = performance.now();
    const reps = 5;
    let res: Float32Array | undefined;
    for (let i = 0; i < reps; i++) res = (await s.run({ spectrum: spec }))[out]!.data as Float32Array;
    const ms = (performance.now() - t0) / reps;
    await s.release();
    const t1 = performance.now();
    const ts = fp.render(spec);
    const tsMs = performance.now() - t1;
    console.log(`Fourier 1x3x224x224 forward: onnxruntime ${ms.toFixed(2)} ms, TypeScript ${tsMs.toFixed(0)} ms`);
    expect(maxAbsDiff(res!, ts.data)).toBeLessThan(2e-5);
    expect(ms).toBeLessThan(50);
  });

  it("differentiates with the project's autodiff, and the compiled gradient equals backward()", async () => {
    const fp = new FourierParam(2, 12, 15);
    const spec = fp.init(new Rng(14), 0.2);
    const upstream = randomNchw(15, [2, 3, 12, 15]);
    const g = emptyGraph('fourier_grad');
    g.inputs.push({ name: 'spectrum', dtype: 'float32', shape: [...fp.paramDims] });
    const b = new GraphBuilder(g);
    const rgb = fp.emit(b, 'spectrum');
    const prod = b.op('Mul', [rgb, b.constant(upstream, 'upstream')]);
    const J = b.op('ReduceSum', [prod], { keepdims: { i: 0 } }, 'objective');
    g.outputs.push({ name: J, dtype: 'float32', shape: [] });
    const prog = compileFused(prepareModel(emptyModel(g)), { outputs: [J], wrt: ['spectrum'], seedOnes: true });
    const s = await Session.create(prog.model, { threads: 1 });
    const res = await s.run({ spectrum: spec });
    await s.release();
    const compiled = res[prog.gradNames.get('spectrum')!]!.data as Float32Array;
    const expected = fp.backward(fp.render(spec), upstream).data;
    let scale = 0;
    for (const v of expected) scale = Math.max(scale, Math.abs(v));
    expect(maxAbsDiff(compiled, expected) / scale).toBeLessThan(1e-4);
  });
});
