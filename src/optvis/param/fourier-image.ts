// Lucid's decorrelated Fourier parameterization as a Param: the values are the half spectrum; an ONNX
// program (spectrum -> inverse DFT -> colour decorrelation -> sigmoid) renders the image and its VJP
// carries the image's gradient back to the spectrum.
import { GraphBuilder } from '../../onnx/builder.ts';
import { emptyGraph, emptyModel, type TensorData } from '../../onnx/ir.ts';
import type { Nchw } from '../../image/nchw.ts';
import type { SessionOptions } from '../../runtime/session.ts';
import type { Rng } from '../../util/rng.ts';
import { Vjp } from '../objectives/gradient.ts';
import { FourierParam } from './fourier.ts';
import type { Param } from './param.ts';

export interface FourierImageOptions {
  /** Lucid's colour decorrelation. */
  decorrelate: boolean;
  /** Std of the initial coefficients (Lucid: 0.01). */
  initStd?: number;
}

/** The Fourier parameterization as a program: spectrum -> RGB in [0,1], with its VJP. */
async function fourierProgram(fp: FourierParam, opts: SessionOptions): Promise<Vjp> {
  const g = emptyGraph('fourier');
  g.inputs.push({ name: 'spectrum', dtype: 'float32', shape: [...fp.paramDims] });
  g.valueTypes.set('spectrum', { dtype: 'float32', shape: [...fp.paramDims] });
  const b = new GraphBuilder(g);
  const rgb = fp.emit(b, 'spectrum', 'float32');
  g.outputs.push({ name: rgb, dtype: 'float32', shape: [fp.n, 3, fp.h, fp.w] });
  const { prepareModel } = await import('../../onnx/prepare.ts');
  const m = prepareModel(emptyModel(g));
  return Vjp.create(m, [rgb], ['spectrum'], opts);
}

/** N images of H x W in the decorrelated Fourier basis through a sigmoid; the spectrum drawn from `rng`. */
export async function fourierImage(n: number, h: number, w: number, rng: Rng, o: FourierImageOptions, session: SessionOptions = {}): Promise<Param> {
  const fp = new FourierParam(n, h, w, { decorrelate: o.decorrelate, sigmoid: true });
  const spectrum = fp.init(rng, o.initStd ?? 0.01);
  const prog = await fourierProgram(fp, session);
  let state: Record<string, TensorData> | undefined;
  return {
    values: spectrum.data,
    itemSize: spectrum.data.length / n,
    async render(): Promise<Nchw> {
      const f = await prog.forward({ spectrum });
      state = f.state;
      const out = f.outputs[prog.outputs[0]!]!;
      return { dtype: 'float32', dims: [n, 3, h, w], data: out.data as Float32Array };
    },
    async backward(g: Nchw): Promise<Float32Array> {
      const back = await prog.backward(state!, { [prog.outputs[0]!]: g });
      return back.get('spectrum')!.data as Float32Array;
    },
    release: () => prog.release(),
  };
}
