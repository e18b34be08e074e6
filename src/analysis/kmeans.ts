// k-means (Lloyd's iterations) with k-means++ seeding from a seeded generator: the same points and seed
// give the same clusters. Several seedings are tried and the lowest inertia kept. An empty cluster is
// restarted at the point farthest from its centre, so every cluster ends with at least one point.
import { FvizError } from '../errors.ts';
import { Rng } from '../util/rng.ts';

export interface KMeansOptions {
  seed?: number;
  /** Lloyd iterations at most per seeding (default 100). */
  maxIterations?: number;
  /** Seedings tried (default 4). */
  restarts?: number;
}

export interface KMeansResult {
  k: number;
  dim: number;
  /** k x dim. */
  centers: Float64Array;
  /** Cluster of each point. */
  assignment: Int32Array;
  /** Squared distance of each point to its centre. */
  distances: Float64Array;
  /** Sum of squared distances to the assigned centres. */
  inertia: number;
  iterations: number;
}

function sqDist(points: ArrayLike<number>, i: number, centers: Float64Array, c: number, d: number): number {
  let s = 0;
  const pi = i * d;
  const ci = c * d;
  for (let j = 0; j < d; j++) {
    const t = points[pi + j]! - centers[ci + j]!;
    s += t * t;
  }
  return s;
}

/** k-means++: the first centre uniformly, each next one with probability proportional to D(x)^2. */
export function kmeansPlusPlus(points: ArrayLike<number>, n: number, d: number, k: number, rng: Rng): Float64Array {
  const centers = new Float64Array(k * d);
  const pick = (i: number, c: number) => {
    for (let j = 0; j < d; j++) centers[c * d + j] = points[i * d + j]!;
  };
  pick(rng.int(n), 0);
  const best = new Float64Array(n).fill(Infinity);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      best[i] = Math.min(best[i]!, sqDist(points, i, centers, c - 1, d));
      total += best[i]!;
    }
    let chosen = n - 1;
    if (total > 0) {
      let r = rng.next() * total;
      for (let i = 0; i < n; i++) {
        r -= best[i]!;
        if (r < 0) {
          chosen = i;
          break;
        }
      }
    } else chosen = rng.int(n); // every point sits on a centre already
    pick(chosen, c);
  }
  return centers;
}

function lloyd(points: ArrayLike<number>, n: number, d: number, k: number, centers: Float64Array, maxIterations: number): KMeansResult {
  const assignment = new Int32Array(n).fill(-1);
  const distances = new Float64Array(n);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    let changed = false;
    for (let i = 0; i < n; i++) {
      let bc = 0;
      let bd = Infinity;
      for (let c = 0; c < k; c++) {
        const dd = sqDist(points, i, centers, c, d);
        if (dd < bd) {
          bd = dd;
          bc = c;
        }
      }
      distances[i] = bd;
      if (assignment[i] !== bc) {
        assignment[i] = bc;
        changed = true;
      }
    }
    if (!changed && iterations > 0) break;
    const counts = new Int32Array(k);
    centers.fill(0);
    for (let i = 0; i < n; i++) {
      const c = assignment[i]!;
      counts[c]!++;
      for (let j = 0; j < d; j++) centers[c * d + j]! += points[i * d + j]!;
    }
    for (let c = 0; c < k; c++) {
      if (counts[c]! > 0) {
        for (let j = 0; j < d; j++) centers[c * d + j]! /= counts[c]!;
        continue;
      }
      // Empty: restart at the point farthest from its centre, taking it from its cluster.
      let far = 0;
      for (let i = 1; i < n; i++) if (distances[i]! > distances[far]!) far = i;
      for (let j = 0; j < d; j++) centers[c * d + j] = points[far * d + j]!;
      distances[far] = 0;
      assignment[far] = c;
    }
  }
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    distances[i] = sqDist(points, i, centers, assignment[i]!, d);
    inertia += distances[i]!;
  }
  return { k, dim: d, centers, assignment, distances, inertia, iterations };
}

/** Clusters `n` points of dimension `d` (row-major in `points`) into `k` groups. */
export function kmeans(points: ArrayLike<number>, n: number, d: number, k: number, o: KMeansOptions = {}): KMeansResult {
  if (!Number.isInteger(k) || k < 1) throw new FvizError(`k-means: k must be a positive integer, got ${k}`);
  if (n < k) throw new FvizError(`k-means: ${n} points cannot make ${k} clusters`);
  if (points.length !== n * d) throw new FvizError(`k-means: ${points.length} values are not ${n} points of ${d}`);
  for (let i = 0; i < points.length; i++) if (!Number.isFinite(points[i]!)) throw new FvizError('k-means: the points hold NaN or infinite values');
  const rng = new Rng(o.seed ?? 0);
  let best: KMeansResult | undefined;
  for (let r = 0; r < Math.max(1, o.restarts ?? 4); r++) {
    const res = lloyd(points, n, d, k, kmeansPlusPlus(points, n, d, k, rng), o.maxIterations ?? 100);
    if (!best || res.inertia < best.inertia) best = res;
  }
  return best!;
}
