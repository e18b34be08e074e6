// Lucid's decorrelated Fourier parameterization as a Param computed in TypeScript: FourierParam's float64
// inverse DFT, colour decorrelation and sigmoid (render) and their adjoint (backward), with no ONNX program.
// The live page runs the Fourier method through this (it has no compiler); Node renders the same map with a
// compiled program (fourier-image.ts). It loads no compiler and no Node module.
import type { Nchw } from '../../image/nchw.ts';
import type { Rng } from '../../util/rng.ts';
import { FourierParam } from './fourier.ts';
import type { Param } from './param.ts';

export interface FourierCpuOptions {
  /** Lucid's colour decorrelation. */
  decorrelate: boolean;
  /** Std of the initial coefficients (Lucid: 0.01). */
  initStd?: number;
}

/** N images of H x W in the decorrelated Fourier basis through a sigmoid; the spectrum drawn from `rng` (as fourierImage draws it). */
export function fourierImageCpu(n: number, h: number, w: number, rng: Rng, o: FourierCpuOptions): Param {
  const fp = new FourierParam(n, h, w, { decorrelate: o.decorrelate, sigmoid: true });
  const spectrum = fp.init(rng, o.initStd ?? 0.01);
  let rgb: Nchw | undefined;
  return {
    values: spectrum.data,
    itemSize: spectrum.data.length / n,
    async render(): Promise<Nchw> {
      rgb = fp.render(spectrum);
      return rgb;
    },
    async backward(g: Nchw): Promise<Float32Array> {
      return Float32Array.from(fp.backward(rgb!, g).data);
    },
  };
}
