// Window geometry of convolutions and pools resolved to plain numbers (auto_pad included), the way
// onnxruntime applies it, for the gradient rules of Conv, ConvTranspose and the pools.
import { FvizError } from '../../errors.ts';
import type { Node } from '../../onnx/ir.ts';
import { getInts, getString } from '../../onnx/ir.ts';

export interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Padding before the first element of each spatial axis (where window position 0 starts: -padsBegin). */
  padsBegin: number[];
  /** Padding after the last element (only pools' averaging divisors read it). */
  padsEnd: number[];
}

/** Conv and pool windows: explicit pads, or auto_pad resolved as onnxruntime does (SAME_LOWER puts the odd pad first). */
export function windowOf(node: Node, inSpatial: number[], kernel: number[]): Window {
  const n = inSpatial.length;
  const strides = getInts(node, 'strides') ?? new Array<number>(n).fill(1);
  const dilations = getInts(node, 'dilations') ?? new Array<number>(n).fill(1);
  const autoPad = getString(node, 'auto_pad', 'NOTSET');
  const padsBegin: number[] = [];
  const padsEnd: number[] = [];
  for (let i = 0; i < n; i++) {
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const s = strides[i]!;
      const extent = (kernel[i]! - 1) * dilations[i]! + 1;
      const total = Math.max(0, (Math.ceil(inSpatial[i]! / s) - 1) * s + extent - inSpatial[i]!);
      const begin = autoPad === 'SAME_LOWER' ? total - Math.floor(total / 2) : Math.floor(total / 2);
      padsBegin.push(begin);
      padsEnd.push(total - begin);
    } else if (autoPad === 'VALID') {
      padsBegin.push(0);
      padsEnd.push(0);
    } else if (autoPad === 'NOTSET') {
      const pads = getInts(node, 'pads') ?? new Array<number>(2 * n).fill(0);
      padsBegin.push(pads[i]!);
      padsEnd.push(pads[i + n]!);
    } else throw new FvizError(`${node.opType} node '${node.name}': unknown auto_pad '${autoPad}'`);
  }
  return { kernel, strides, dilations, padsBegin, padsEnd };
}

/**
 * ConvTranspose geometry: where the output window starts inside the full (uncropped) result, per axis.
 * With output_shape or SAME padding onnxruntime splits the total padding itself: SAME_UPPER puts the
 * smaller half first, every other mode the larger half (checked against onnxruntime 1.30).
 */
export function convTransposeWindow(node: Node, inSpatial: number[], kernel: number[], outSpatial: number[]): Window {
  const n = inSpatial.length;
  const strides = getInts(node, 'strides') ?? new Array<number>(n).fill(1);
  const dilations = getInts(node, 'dilations') ?? new Array<number>(n).fill(1);
  const outPad = getInts(node, 'output_padding') ?? new Array<number>(n).fill(0);
  const outputShape = getInts(node, 'output_shape');
  const autoPad = getString(node, 'auto_pad', 'NOTSET');
  const pads = getInts(node, 'pads') ?? new Array<number>(2 * n).fill(0);
  const padsBegin: number[] = [];
  for (let i = 0; i < n; i++) {
    const natural = strides[i]! * (inSpatial[i]! - 1) + outPad[i]! + (kernel[i]! - 1) * dilations[i]! + 1;
    if (outputShape || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const target = outputShape ? outputShape[outputShape.length - n + i]! : inSpatial[i]! * strides[i]!;
      const total = Math.max(0, natural - target);
      padsBegin.push(autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2));
    } else if (autoPad === 'VALID') padsBegin.push(0);
    else padsBegin.push(pads[i]!);
  }
  const padsEnd = padsBegin.map((b, i) => strides[i]! * (inSpatial[i]! - 1) + (kernel[i]! - 1) * dilations[i]! + 1 - b - outSpatial[i]!);
  return { kernel, strides, dilations, padsBegin, padsEnd };
}

export function range(n: number, from = 0): number[] {
  return Array.from({ length: n }, (_, i) => i + from);
}
