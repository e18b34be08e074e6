// Feature accentuation's settings and defaults, apart from the method so the CLI can show them without loading it.
export interface AccentSettings {
  steps: number;
  lr: number;
  /** Weight of ||x - seed||^2 (summed over the image's values) against the objective. */
  lambda: number;
  /** The spectrum scale's power: 1 / f^decay (Horama: 1.5). */
  decay: number;
  /** Random crop box side as a fraction of the image's, and the noise on each crop. */
  cropBox: [number, number];
  noise: number;
  seed: number;
}

export const ACCENT_DEFAULTS: AccentSettings = { steps: 128, lr: 0.2, lambda: 0.5, decay: 1.5, cropBox: [0.7, 1.0], noise: 0.05, seed: 0 };
