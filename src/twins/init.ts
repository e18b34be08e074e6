// Random layer weights in Caffe's blob layouts, He-scaled so activations keep their size through depth.
// Each layer draws from its own stream (seed + layer name): the twins and a random-weight conversion of the
// same prototxt get identical weights, whatever order they create layers in.
import type { TensorData } from '../onnx/ir.ts';
import { sizeOf } from '../onnx/ir.ts';
import { Rng, subSeed } from '../util/rng.ts';

/** Layer name -> blobs in Caffe order (weight, then bias), float32, Caffe layouts. */
export type LayerBlobs = Map<string, TensorData[]>;

/** Standard deviation of the random biases: nonzero so bias paths are exercised, small beside He-scaled outputs. */
export const RANDOM_BIAS_STD = 0.05;

/**
 * Weight of shape `weightDims` with N(0, 2/fanIn) entries and (when biasLength > 0) a bias of N(0, 0.05^2).
 * fanIn is the number of inputs each output sums: C_in/group*kh*kw for a convolution, K for an inner
 * product, C_in/group*kh*kw/(sh*sw) for a deconvolution.
 */
export function heBlobs(seed: number, layer: string, weightDims: number[], biasLength: number, fanIn: number): TensorData[] {
  const rng = new Rng(subSeed(seed, layer));
  const w = rng.fillNormal(new Float32Array(sizeOf(weightDims)), Math.sqrt(2 / Math.max(fanIn, 1)));
  const blobs: TensorData[] = [{ dtype: 'float32', dims: [...weightDims], data: w }];
  if (biasLength > 0) blobs.push({ dtype: 'float32', dims: [biasLength], data: rng.fillNormal(new Float32Array(biasLength), RANDOM_BIAS_STD) });
  return blobs;
}
