// Stands in for src/optvis/param/fourier-image.ts in the page's bundle (web/vite.config.ts): Node renders the
// Fourier parameterization with a compiled ONNX program, which the page does not compile; the page renders
// the same map with FourierParam's float64 DFT in TypeScript (fourier-cpu.ts), with the same initial spectrum.
import type { Rng } from '../../src/util/rng.ts';
import type { Param } from '../../src/optvis/param/param.ts';
import { fourierImageCpu, type FourierCpuOptions } from '../../src/optvis/param/fourier-cpu.ts';

export type FourierImageOptions = FourierCpuOptions;

export async function fourierImage(n: number, h: number, w: number, rng: Rng, o: FourierImageOptions): Promise<Param> {
  return fourierImageCpu(n, h, w, rng, o);
}
