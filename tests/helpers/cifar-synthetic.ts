// A small CIFAR-10 binary folder with learnable content: each class is a colour and a stripe direction,
// plus noise. Records follow the official format: 1 label byte + 1024 R + 1024 G + 1024 B.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/util/rng.ts';

export function syntheticRecord(label: number, rng: Rng): Uint8Array {
  const rec = new Uint8Array(3073);
  rec[0] = label;
  const colour = [(label * 70) % 256, (label * 130 + 40) % 256, (label * 200 + 90) % 256];
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) {
        const stripe = ((label % 2 ? x : y) >> 2) % 2 ? 40 : -40;
        const v = colour[c]! + stripe + 30 * rng.normal();
        rec[1 + c * 1024 + y * 32 + x] = Math.max(0, Math.min(255, Math.round(v)));
      }
  return rec;
}

/** Writes data_batch_1..5.bin (perBatch images each) and test_batch.bin (perBatch images) into `dir`. */
export function writeSyntheticCifar(dir: string, perBatch: number, seed = 1): void {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(seed);
  const file = (name: string, offset: number) => {
    const buf = new Uint8Array(perBatch * 3073);
    for (let i = 0; i < perBatch; i++) buf.set(syntheticRecord((i + offset) % 10, rng), i * 3073);
    writeFileSync(join(dir, name), buf);
  };
  for (let k = 1; k <= 5; k++) file(`data_batch_${k}.bin`, k);
  file('test_batch.bin', 0);
}
