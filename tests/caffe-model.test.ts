import { describe, expect, it } from 'vitest';
import { decodeCaffemodel, encodeCaffemodel } from '../src/caffe/caffemodel.ts';
import type { TensorData } from '../src/onnx/ir.ts';

// A protobuf wire-format writer written from the spec, independent of protobufjs, with field numbers taken
// from BVLC caffe.proto: this is what a real caffemodel looks like on disk.
const varint = (v: number): number[] => {
  const out: number[] = [];
  let x = BigInt(v) & 0xffffffffffffffffn;
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x) b |= 0x80;
    out.push(b);
  } while (x);
  return out;
};
const tag = (field: number, wire: number) => varint(field * 8 + wire);
const ld = (field: number, payload: number[]) => [...tag(field, 2), ...varint(payload.length), ...payload];
const str = (field: number, s: string) => ld(field, [...Buffer.from(s, 'utf8')]);
const f32le = (v: number) => [...new Uint8Array(Float32Array.of(v).buffer)];
const f64le = (v: number) => [...new Uint8Array(Float64Array.of(v).buffer)];

const blob = (dims: number[], values: number[]): TensorData => ({ dtype: 'float32', dims, data: Float32Array.from(values) });

describe('caffemodel bytes written by hand from caffe.proto', () => {
  it('V2: NetParameter.layer (100) with packed data (5) and BlobShape dims (7 -> 1, packed int64)', () => {
    const shape = ld(7, ld(1, [...varint(2), ...varint(3)]));
    const data = ld(5, [1, 2, 3, 4, 5, 6].flatMap(f32le));
    const bias = [...ld(7, ld(1, varint(2))), ...ld(5, [0.5, -0.5].flatMap(f32le))];
    const layer = [...str(1, 'ip'), ...str(2, 'InnerProduct'), ...str(3, 'data'), ...str(4, 'ip'), ...ld(7, [...shape, ...data]), ...ld(7, bias)];
    const relu = [...str(1, 'relu'), ...str(2, 'ReLU')];
    const net = Uint8Array.from([...str(1, 'tiny'), ...ld(100, layer), ...ld(100, relu)]);
    const m = decodeCaffemodel(net, 'hand.caffemodel');
    expect(m.name).toBe('tiny');
    expect(m.format).toBe('v2');
    expect(m.layers.map((l) => [l.name, l.type, l.bottom, l.top, l.blobs.length])).toEqual([
      ['ip', 'InnerProduct', ['data'], ['ip'], 2],
      ['relu', 'ReLU', [], [], 0],
    ]);
    expect(m.layers[0]!.blobs[0]!.dims).toEqual([2, 3]);
    expect([...(m.layers[0]!.blobs[0]!.data as Float32Array)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...(m.layers[0]!.blobs[1]!.data as Float32Array)]).toEqual([0.5, -0.5]);
  });

  it('V1: NetParameter.layers (2), enum type (5), blobs (6) with legacy num/channels/height/width, unpacked and double data', () => {
    // BlobProto num=1 channels=1 height=2 width=2 (fields 1-4), data as four unpacked fixed32 entries (wire 5).
    const legacy = [...tag(1, 0), 1, ...tag(2, 0), 1, ...tag(3, 0), 2, ...tag(4, 0), 2, ...[1, 2, 3, 4].flatMap((v) => [...tag(5, 5), ...f32le(v)])];
    // A blob with only double_data (8, packed): shape-less, so 1-D.
    const dbl = ld(8, [0.25, 0.75].flatMap(f64le));
    const layer = [...str(4, 'conv'), ...tag(5, 0), 4 /* CONVOLUTION */, ...str(2, 'data'), ...str(3, 'conv'), ...ld(6, legacy), ...ld(6, dbl)];
    const pool = [...str(4, 'pool'), ...tag(5, 0), 17 /* POOLING */];
    const m = decodeCaffemodel(Uint8Array.from([...ld(2, layer), ...ld(2, pool)]), 'v1.caffemodel');
    expect(m.format).toBe('v1');
    expect(m.layers.map((l) => [l.name, l.type, l.bottom, l.top])).toEqual([
      ['conv', 'Convolution', ['data'], ['conv']],
      ['pool', 'Pooling', [], []],
    ]);
    const [w, b] = m.layers[0]!.blobs;
    expect(w!.dims).toEqual([1, 1, 2, 2]);
    expect([...(w!.data as Float32Array)]).toEqual([1, 2, 3, 4]);
    expect(b!.dims).toEqual([2]);
    expect([...(b!.data as Float32Array)]).toEqual([0.25, 0.75]);
  });

  it('unknown fields (layer params, diffs, phase) are skipped', () => {
    const convParam = ld(106, [...tag(1, 0), ...varint(8), ...tag(2, 0), 0]);
    const diff = ld(6, [9, 9].flatMap(f32le));
    const layer = [...str(1, 'c'), ...str(2, 'Convolution'), ...tag(10, 0), 1, ...convParam, ...ld(7, [...ld(5, [7, 8].flatMap(f32le)), ...diff]), ...tag(999, 0), 5];
    const m = decodeCaffemodel(Uint8Array.from([...tag(5, 0), 1, ...ld(100, layer)]));
    expect(m.layers[0]!.blobs.map((t) => [...(t.data as Float32Array)])).toEqual([[7, 8]]);
  });

  it('refuses what is not a caffemodel, naming the file', () => {
    expect(() => decodeCaffemodel(Buffer.from('layer { name: "x" }'), 'deploy.prototxt')).toThrow(/deploy\.prototxt is not a (valid )?Caffe model/);
    expect(() => decodeCaffemodel(Uint8Array.from([...str(1, 'net')]), 'empty.caffemodel')).toThrow(/empty\.caffemodel is not a Caffe model: it has no layers/);
    const bad = ld(100, [...str(1, 'c'), ...ld(7, [...ld(7, ld(1, varint(3))), ...ld(5, [1, 2].flatMap(f32le))])]);
    expect(() => decodeCaffemodel(Uint8Array.from(bad), 'w.caffemodel')).toThrow(/w\.caffemodel: layer 'c' blob 0 has 2 values for its shape \[3\]/);
  });
});

describe('caffemodel writer', () => {
  const layers = [
    { name: 'conv1', type: 'Convolution', bottom: ['data'], top: ['conv1'], blobs: [blob([2, 1, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]), blob([2], [0.5, -1])] },
    { name: 'relu1', type: 'ReLU', bottom: ['conv1'], top: ['conv1'], blobs: [] },
    { name: 'fc', type: 'InnerProduct', bottom: ['conv1'], top: ['fc'], blobs: [blob([3, 2], [1, 0, 0, 1, 1, 1])] },
  ];

  it('V2 round trip keeps names, types, shapes and values', () => {
    const m = decodeCaffemodel(encodeCaffemodel({ name: 'n', layers }, { format: 'v2' }));
    expect(m.format).toBe('v2');
    expect(m.layers.map((l) => ({ ...l, blobs: l.blobs.map((b) => [b.dims, [...(b.data as Float32Array)]]) }))).toEqual(
      layers.map((l) => ({ ...l, blobs: l.blobs.map((b) => [b.dims, [...b.data]]) })),
    );
  });

  it('V1 round trip stores 4-D legacy shapes and enum types', () => {
    const m = decodeCaffemodel(encodeCaffemodel({ layers }, { format: 'v1' }));
    expect(m.format).toBe('v1');
    expect(m.layers.map((l) => l.type)).toEqual(['Convolution', 'ReLU', 'InnerProduct']);
    expect(m.layers.map((l) => l.blobs.map((b) => b.dims))).toEqual([[[2, 1, 2, 2], [1, 1, 1, 2]], [], [[1, 1, 3, 2]]]);
    expect([...(m.layers[2]!.blobs[0]!.data as Float32Array)]).toEqual([1, 0, 0, 1, 1, 1]);
  });

  it('refuses a type V1 cannot encode', () => {
    expect(() => encodeCaffemodel({ layers: [{ name: 'i', type: 'Input', blobs: [] }] }, { format: 'v1' })).toThrow(/type 'Input' has no V1 encoding/);
  });
});
