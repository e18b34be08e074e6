// `fviz grad` as a library function: the objective's value and d objective / d input at a given input.
import { FvizError } from '../../errors.ts';
import type { TensorData } from '../../onnx/ir.ts';
import { readModel } from '../../onnx/proto.ts';
import { prepareModel } from '../../onnx/prepare.ts';
import type { ObjectiveNames } from './build.ts';
import { castTensor } from '../../onnx/tensor.ts';
import type { SessionOptions } from '../../runtime/session.ts';
import { ObjectiveGradient } from './gradient.ts';
import { basename } from 'node:path';
import { modelDigest, programCacheEnabled, programKey } from '../../runtime/program-cache.ts';

export interface GradOptions extends SessionOptions {
  names?: ObjectiveNames;
  /** Input to feed x to (default: the model's only input). */
  inputName?: string;
}

export interface GradResult {
  value: number;
  perItem: number[];
  grad: TensorData;
  terms: string[];
}

export async function gradientAt(modelPath: string, x: TensorData, objective: string, opts: GradOptions = {}): Promise<GradResult> {
  const raw = readModel(modelPath);
  const inputs = raw.graph.inputs;
  const input = opts.inputName ? inputs.find((i) => i.name === opts.inputName) : inputs[0];
  if (!input) throw new FvizError(`model '${modelPath}' has no input '${opts.inputName}'; its inputs: ${inputs.map((i) => i.name).join(', ')}`);
  if (inputs.length > 1 && !opts.inputName)
    throw new FvizError(`model '${modelPath}' has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}): name one with --input-name`);
  if (x.dims.length !== input.shape.length)
    throw new FvizError(`input array has shape [${x.dims}] but '${input.name}' has rank ${input.shape.length} ([${input.shape}])`);
  input.shape.forEach((d, k) => {
    if (typeof d === 'number' && d !== x.dims[k])
      throw new FvizError(`input array has shape [${x.dims}] but '${input.name}' needs [${input.shape}]`);
  });
  // Fix every symbolic dimension from the array's shape.
  for (let k = 0; k < input.shape.length; k++) input.shape[k] = x.dims[k]!;
  const feed = castTensor(x, input.dtype);
  const cacheKey = programCacheEnabled()
    ? programKey({ kind: 'grad', model: await modelDigest(modelPath), input: input.name, dims: x.dims, objective, names: opts.names })
    : undefined;
  const prog = await ObjectiveGradient.load(() => prepareModel(raw, { batch: x.dims[0] }), {
    ...opts,
    objective,
    names: opts.names,
    wrt: [input.name],
    cacheKey,
    cacheLabel: `grad ${objective} on ${basename(modelPath)}, input [${x.dims}]`,
  });
  try {
    const res = await prog.run({ [input.name]: feed });
    const g = res.grads.get(input.name)!;
    return { value: res.value, perItem: res.perItem, grad: castTensor(g, 'float32'), terms: prog.terms.map((t) => t.label) };
  } finally {
    await prog.release();
  }
}
