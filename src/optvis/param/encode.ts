// The code of a real image: run the layer a generator inverts (the encoder, 'MODEL:TENSOR') on the image.
import { FvizError } from '../../errors.ts';
import { DISPLAY_INPUT, withDisplayInput } from '../../classifier/card.ts';
import { resolveClassifier } from '../../models/registry.ts';
import { prepareModel } from '../../onnx/prepare.ts';
import { readModel } from '../../onnx/proto.ts';
import { resolveTensor } from '../objectives/build.ts';
import { pruneGraph } from '../../autodiff/compile.ts';
import { Session, type SessionOptions } from '../../runtime/session.ts';
import type { Nchw } from '../../image/nchw.ts';
import { readImage } from '../../render/image.ts';

/** Splits 'MODEL:TENSOR' at the last colon that leaves a model part. */
export function parseEncoder(spec: string): { model: string; tensor: string } {
  const k = spec.lastIndexOf(':');
  if (k <= 0 || k === spec.length - 1) throw new FvizError(`--encoder '${spec}' must be MODEL:TENSOR, e.g. embedded:fc6`);
  // A Windows-style or 'twin:googlenet' model name contains a colon itself: prefer the last one.
  return { model: spec.slice(0, k), tensor: spec.slice(k + 1) };
}

/** Codes of images ([N,3,H,W] in [0,1] at the encoder's input size) at the encoder's tensor: [N, size]. */
export async function encodeImages(encoder: string, images: Nchw | string[], opts: SessionOptions = {}): Promise<Float32Array> {
  const { model, tensor } = parseEncoder(encoder);
  const cls = resolveClassifier(model);
  let batch: Nchw;
  if (Array.isArray(images)) {
    const size = cls.card.input.size;
    const parts = await Promise.all(images.map((f) => readImage(f, { size })));
    const per = parts[0]!.data.length;
    const data = new Float32Array(per * parts.length);
    parts.forEach((p, k) => data.set(p.data, k * per));
    batch = { dtype: 'float32', dims: [parts.length, 3, size[0], size[1]], data };
  } else batch = images;
  const prepared = prepareModel(readModel(cls.modelPath), { batch: batch.dims[0], size: [batch.dims[2]!, batch.dims[3]!], source: cls.modelPath });
  const m = withDisplayInput(prepared, cls.card.input);
  const name = resolveTensor(m.graph, tensor, cls.card.aliases ?? {});
  const t = m.graph.valueTypes.get(name)!;
  m.graph.outputs = [{ name, dtype: t.dtype, shape: [...t.shape] }];
  pruneGraph(m.graph);
  const s = await Session.create(m, { ...opts, source: cls.modelPath });
  try {
    const out = (await s.run({ [DISPLAY_INPUT]: batch }))[name]!;
    return Float32Array.from(out.data as Float32Array);
  } finally {
    await s.release();
  }
}
