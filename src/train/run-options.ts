// What every training run of fviz's engine takes besides its model and losses: the seed, checkpoints,
// resume, a training subset, a simulated interruption, threads, and where its record and messages go.
export interface TrainRunOptions {
  seed?: number;
  /** Checkpoint every this many steps (and at each epoch end). */
  checkpointEvery?: number;
  /** Continue from <out>/last.ckpt. */
  resume?: boolean;
  /** Train on an evenly spread subset of this many images (tests, smoke runs). */
  trainLimit?: number;
  /** Stop (after checkpointing) once this many global steps are done: simulates an interruption. */
  stopAtStep?: number;
  threads?: number;
  /** The command line that started training, recorded in checkpoints and the card. */
  command?: string;
  onStatus?: (msg: string) => void;
}
