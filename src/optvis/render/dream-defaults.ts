/** DeepDream's defaults (the CLI shows them in --help without loading the engine). */
export const DREAM_DEFAULTS = { octaves: 4, octaveScale: 1.4, stepsPerOctave: 10, step: 1.5 / 255, jitter: 32, seed: 0 };
