// Training augmentation: random crop with zero padding (as a shift of up to `pad` pixels) and horizontal
// flips, drawn from a generator seeded by (seed, epoch, batch): the same batch gets the same augmentation
// after a resume.
import { mixSeed, type ImageTransform } from '../dataset/batches.ts';
import { Rng } from '../util/rng.ts';

export interface AugmentOptions {
  /** Padding of the random crop (0: none). */
  pad: number;
  flip: boolean;
}

export function augmentation(opts: AugmentOptions, seed: number, epoch: number): (batchIndex: number, count: number) => ImageTransform[] {
  return (batchIndex, count) => {
    const rng = new Rng(mixSeed(seed, epoch, batchIndex, 0xa06));
    const out: ImageTransform[] = [];
    for (let k = 0; k < count; k++) {
      const dy = opts.pad ? rng.int(2 * opts.pad + 1) - opts.pad : 0;
      const dx = opts.pad ? rng.int(2 * opts.pad + 1) - opts.pad : 0;
      out.push({ dy, dx, flip: opts.flip && rng.next() < 0.5 });
    }
    return out;
  };
}
