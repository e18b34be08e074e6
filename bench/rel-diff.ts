/** ||a - ref|| / ||ref|| (L2): how far a result is from its reference, relative to the reference's size. */
export function relL2Diff(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - ref[i]!) ** 2;
    n += ref[i]! ** 2;
  }
  return Math.sqrt(d / n);
}
