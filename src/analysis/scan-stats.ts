// The running state of an activation scan, per channel: streaming moments, the top-k and bottom-k images
// and a sample of the whole range for percentiles. Exact mode keeps every (value, position) pair (N x C
// floats: 10k images x 1000 channels = 40 MB); sketch mode keeps a uniform reservoir of R images instead,
// so memory stays bounded for any dataset. Images are numbered in the order they were scanned (the
// "scan index"); ties are broken by that number, so the same images in the same order give the same
// results however the scan was cut into batches or resumed.
import { mixSeed } from '../dataset/batches.ts';

export interface StatsOptions {
  channels: number;
  /** Whether values carry a spatial position (N x C x H x W layers). */
  spatial: boolean;
  top: number;
  bottom: number;
  /** Images the scan can see at most (sizes exact mode's arrays). */
  capacity: number;
  /** Keep every value (true) or a reservoir of `reservoir` images. */
  exact: boolean;
  reservoir: number;
  seed: number;
}

export interface Example {
  /** Scan index of the image. */
  image: number;
  value: number;
  /** Flat position (y * W + x) of the maximum, -1 for vector layers. */
  position: number;
}

export interface ChannelSummary {
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  /** Fraction of images whose value is > 0. */
  positive: number;
}

export interface ChannelResult {
  channel: number;
  stats: ChannelSummary;
  /** Highest first. */
  top: Example[];
  /** Lowest first. */
  bottom: Example[];
  /** At the asked percentiles (0..100), lowest first. */
  percentiles: (Example & { percentile: number })[];
}

type Arrays = Record<string, Float32Array | Float64Array | Int32Array | Uint32Array>;

/**
 * Keeps the k best of a stream in a slot array: `better(v, worst)` decides entry. Scan indices arrive in
 * increasing order, so an equal value never displaces an earlier image (ties go to the lower index).
 */
function offer(
  vals: Float32Array,
  imgs: Int32Array,
  poss: Int32Array,
  count: Int32Array,
  worst: Int32Array,
  c: number,
  k: number,
  v: number,
  img: number,
  pos: number,
  higher: boolean,
): void {
  if (k === 0) return;
  const base = c * k;
  const n = count[c]!;
  let slot: number;
  if (n < k) {
    slot = n;
    count[c] = n + 1;
  } else {
    const w = vals[base + worst[c]!]!;
    if (higher ? !(v > w) : !(v < w)) return;
    slot = worst[c]!;
  }
  vals[base + slot] = v;
  imgs[base + slot] = img;
  poss[base + slot] = pos;
  if (count[c]! < k) return;
  // The new worst: lowest (highest for bottom) value, the latest image among equals.
  let ws = 0;
  for (let s = 1; s < k; s++) {
    const a = vals[base + s]!;
    const b = vals[base + ws]!;
    if (higher ? a < b || (a === b && imgs[base + s]! > imgs[base + ws]!) : a > b || (a === b && imgs[base + s]! > imgs[base + ws]!)) ws = s;
  }
  worst[c] = ws;
}

function sortedSlots(vals: Float32Array, imgs: Int32Array, poss: Int32Array, base: number, n: number, higher: boolean): Example[] {
  const out: Example[] = [];
  for (let s = 0; s < n; s++) out.push({ image: imgs[base + s]!, value: vals[base + s]!, position: poss[base + s]! });
  return out.sort((a, b) => (higher ? b.value - a.value : a.value - b.value) || a.image - b.image);
}

/** The elements at the given ranks of (value ascending, image ascending), without a comparator sort. */
export function atRanks(values: Float32Array, images: ArrayLike<number>, ranks: number[]): number[] {
  const sorted = Float32Array.from(values).sort();
  return ranks.map((r) => {
    const v = sorted[r]!;
    let below = 0;
    for (let j = r - 1; j >= 0 && sorted[j] === v; j--) below++;
    // The element is the (below)-th, by image order, of those equal to v.
    const ties: number[] = [];
    for (let j = 0; j < values.length; j++) if (values[j] === v) ties.push(j);
    ties.sort((a, b) => images[a]! - images[b]!);
    return ties[below]!;
  });
}

/** Percentile positions (0..100) of `count` samples spread over the range: the centres of `count` equal bins. */
export function percentilePoints(count: number): number[] {
  return Array.from({ length: count }, (_, i) => (100 * (i + 0.5)) / count);
}

export class ChannelStats {
  readonly o: StatsOptions;
  /** Images added so far. */
  n = 0;
  /** Source index of each scanned image. */
  sourceIndex: Uint32Array;
  private readonly a: Arrays;

  constructor(o: StatsOptions, arrays?: Arrays, n = 0) {
    this.o = o;
    const C = o.channels;
    const R = Math.min(o.reservoir, o.capacity);
    this.a = arrays ?? {
      sourceIndex: new Uint32Array(o.capacity),
      sum: new Float64Array(C),
      sumSq: new Float64Array(C),
      min: new Float32Array(C).fill(Infinity),
      max: new Float32Array(C).fill(-Infinity),
      positive: new Float64Array(C),
      ...(o.exact
        ? { values: new Float32Array(o.capacity * C), positions: new Int32Array(o.spatial ? o.capacity * C : 0) }
        : {
            topV: new Float32Array(C * o.top),
            topI: new Int32Array(C * o.top),
            topP: new Int32Array(C * o.top),
            topN: new Int32Array(C),
            topW: new Int32Array(C),
            botV: new Float32Array(C * o.bottom),
            botI: new Int32Array(C * o.bottom),
            botP: new Int32Array(C * o.bottom),
            botN: new Int32Array(C),
            botW: new Int32Array(C),
            resI: new Int32Array(R),
            resV: new Float32Array(R * C),
            resP: new Int32Array(o.spatial ? R * C : 0),
          }),
    };
    this.sourceIndex = this.a['sourceIndex'] as Uint32Array;
    this.n = n;
  }

  /**
   * Adds one image: its value and position for every channel (NaN counts as -Infinity, so a broken
   * activation sorts to the bottom instead of poisoning comparisons).
   */
  add(source: number, values: Float32Array, positions?: Int32Array): void {
    const { channels: C, exact, spatial } = this.o;
    const k = this.n;
    if (k >= this.o.capacity) throw new Error(`internal: scan capacity ${this.o.capacity} exceeded`);
    this.sourceIndex[k] = source;
    const sum = this.a['sum'] as Float64Array;
    const sumSq = this.a['sumSq'] as Float64Array;
    const min = this.a['min'] as Float32Array;
    const max = this.a['max'] as Float32Array;
    const positive = this.a['positive'] as Float64Array;
    for (let c = 0; c < C; c++) {
      let v = values[c]!;
      if (Number.isNaN(v)) v = -Infinity;
      values[c] = v;
      if (Number.isFinite(v)) {
        sum[c]! += v;
        sumSq[c]! += v * v;
      }
      if (v < min[c]!) min[c] = v;
      if (v > max[c]!) max[c] = v;
      if (v > 0) positive[c]!++;
    }
    if (exact) {
      (this.a['values'] as Float32Array).set(values.subarray(0, C), k * C);
      if (spatial) (this.a['positions'] as Int32Array).set(positions!.subarray(0, C), k * C);
    } else {
      const f = (name: string) => this.a[name] as Float32Array;
      const i = (name: string) => this.a[name] as Int32Array;
      for (let c = 0; c < C; c++) {
        const p = spatial ? positions![c]! : -1;
        offer(f('topV'), i('topI'), i('topP'), i('topN'), i('topW'), c, this.o.top, values[c]!, k, p, true);
        offer(f('botV'), i('botI'), i('botP'), i('botN'), i('botW'), c, this.o.bottom, values[c]!, k, p, false);
      }
      const slot = this.reservoirSlot(k);
      if (slot >= 0) {
        i('resI')[slot] = k;
        f('resV').set(values.subarray(0, C), slot * C);
        if (spatial) i('resP').set(positions!.subarray(0, C), slot * C);
      }
    }
    this.n = k + 1;
  }

  /**
   * Reservoir sampling of images (Algorithm R): image k takes slot k while slots are free, else a slot
   * drawn from a hash of (seed, k), so there is no generator state to checkpoint.
   */
  private reservoirSlot(k: number): number {
    const R = (this.a['resI'] as Int32Array).length;
    if (k < R) return k;
    const j = Math.floor((mixSeed(this.o.seed, k, 0x7e5) / 4294967296) * (k + 1));
    return j < R ? j : -1;
  }

  summary(c: number): ChannelSummary {
    const n = this.n;
    const sum = (this.a['sum'] as Float64Array)[c]!;
    const sumSq = (this.a['sumSq'] as Float64Array)[c]!;
    const mean = n ? sum / n : 0;
    return {
      count: n,
      mean,
      std: n ? Math.sqrt(Math.max(0, sumSq / n - mean * mean)) : 0,
      min: (this.a['min'] as Float32Array)[c]!,
      max: (this.a['max'] as Float32Array)[c]!,
      positive: n ? (this.a['positive'] as Float64Array)[c]! / n : 0,
    };
  }

  /** Top, bottom and percentile examples of channel `c` (percentiles in 0..100). */
  result(c: number, percentiles: number[]): ChannelResult {
    const { channels: C, spatial, top, bottom } = this.o;
    let topEx: Example[];
    let botEx: Example[];
    // The pool percentiles are read from: every image (exact) or the reservoir.
    let poolV: Float32Array;
    let poolI: ArrayLike<number>;
    let poolP: (j: number) => number;
    if (this.o.exact) {
      const values = this.a['values'] as Float32Array;
      const positions = this.a['positions'] as Int32Array;
      const n = this.n;
      poolV = new Float32Array(n);
      for (let k = 0; k < n; k++) poolV[k] = values[k * C + c]!;
      poolI = new Int32Array(n).map((_, k) => k);
      poolP = (j) => (spatial ? positions[j * C + c]! : -1);
      // Top and bottom by the same selection sketch mode uses, so both modes agree exactly.
      const tV = new Float32Array(top);
      const tI = new Int32Array(top);
      const tP = new Int32Array(top);
      const bV = new Float32Array(bottom);
      const bI = new Int32Array(bottom);
      const bP = new Int32Array(bottom);
      const cnt = new Int32Array(2);
      const wst = new Int32Array(2);
      for (let k = 0; k < n; k++) {
        const p = poolP(k);
        offer(tV, tI, tP, cnt, wst, 0, top, poolV[k]!, k, p, true);
        offer(bV, bI, bP, cnt.subarray(1), wst.subarray(1), 0, bottom, poolV[k]!, k, p, false);
      }
      topEx = sortedSlots(tV, tI, tP, 0, cnt[0]!, true);
      botEx = sortedSlots(bV, bI, bP, 0, cnt[1]!, false);
    } else {
      const f = (name: string) => this.a[name] as Float32Array;
      const i = (name: string) => this.a[name] as Int32Array;
      topEx = sortedSlots(f('topV'), i('topI'), i('topP'), c * top, i('topN')[c]!, true);
      botEx = sortedSlots(f('botV'), i('botI'), i('botP'), c * bottom, i('botN')[c]!, false);
      const resV = f('resV');
      const resP = i('resP');
      const m = Math.min(this.n, i('resI').length);
      poolV = new Float32Array(m);
      for (let j = 0; j < m; j++) poolV[j] = resV[j * C + c]!;
      poolI = i('resI').subarray(0, m);
      poolP = (j) => (spatial ? resP[j * C + c]! : -1);
    }
    const m = poolV.length;
    const pct: ChannelResult['percentiles'] = [];
    if (m > 0) {
      const ranks = percentiles.map((q) => Math.min(m - 1, Math.max(0, Math.round((q / 100) * (m - 1)))));
      atRanks(poolV, poolI, ranks).forEach((j, i) => pct.push({ percentile: percentiles[i]!, image: poolI[j]!, value: poolV[j]!, position: poolP(j) }));
    }
    return { channel: c, stats: this.summary(c), top: topEx, bottom: botEx, percentiles: pct };
  }

  /** The state as named arrays (only the filled part of exact mode's), for a checkpoint. */
  arrays(): Arrays {
    const out: Arrays = { ...this.a };
    const used = this.n * this.o.channels;
    out['sourceIndex'] = this.sourceIndex.subarray(0, this.n);
    if (this.o.exact) {
      out['values'] = (this.a['values'] as Float32Array).subarray(0, used);
      if (this.o.spatial) out['positions'] = (this.a['positions'] as Int32Array).subarray(0, used);
    }
    return out;
  }

  /** Rebuilds the state from `arrays()` output. */
  static restore(o: StatsOptions, saved: Arrays, n: number): ChannelStats {
    const fresh = new ChannelStats(o);
    const a = fresh.a;
    for (const [name, arr] of Object.entries(saved)) {
      const dst = a[name];
      if (!dst || dst.constructor !== arr.constructor || arr.length > dst.length) throw new Error(`checkpoint array '${name}' does not fit this scan`);
      dst.set(arr as never);
    }
    fresh.n = n;
    return fresh;
  }
}
