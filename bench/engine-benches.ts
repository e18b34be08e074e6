// The engine's own lines: (c) the MatMul peak, (a) GoogLeNet twin forward + input gradient, (b) fc6
// generator twin forward + gradient w.r.t. the code (fused; and chained as a VJP), and their peak RSS.
import { ObjectiveGradient, Vjp } from '../src/optvis/objectives/gradient.ts';
import { countFlops, FLOP_CONVENTION } from '../src/bench/flops.ts';
import { findPreSoftmax } from '../src/optvis/objectives/build.ts';
import type { Model, TensorData } from '../src/onnx/ir.ts';
import { Session } from '../src/runtime/session.ts';
import { Rng } from '../src/util/rng.ts';
import { matmulPeak, matmulSession } from './matmul.ts';
import { flopLine, round, type Bench, type BenchContext } from './registry.ts';
import { bestOf, loadAverage, median, medianOf, pairedTimes, peakRssMb } from './timing.ts';
import { randomInput, twin } from './twins.ts';

// Best of 15, as the peak line (c): the same protocol on both sides of the ratio.
const RUNS = 15;
const WARMUP = 2;
/** Rounds of the work beside the MatMul, for the paired ratio. */
const PAIRED_ROUNDS = 12;

/** Best time of the plain forward up to `outputs`: shows how the backward's cost compares. */
async function forwardMs(model: Model, feeds: Record<string, TensorData>, outputs: string[]): Promise<number> {
  const fwd: Model = { ...model, graph: { ...model.graph, outputs: outputs.map((name) => ({ name, ...model.graph.valueTypes.get(name)! })) } };
  const session = await Session.create(fwd, { source: 'forward only' });
  try {
    return await bestOf(RUNS, () => session.run(feeds), WARMUP);
  } finally {
    await session.release();
  }
}

/**
 * Compiles the fused gradient program of `objective` and times it on `feeds`: best and median of RUNS, the
 * compile time, and PAIRED_ROUNDS rounds of one program run beside one MatMul of the peak line (the
 * program's GFLOP/s over the MatMul's in the same round; the median over rounds is robust to the machine's
 * drift, which moves a separate peak figure by +-20% within minutes). `after` gets the program before it is
 * released.
 */
async function timeObjectiveGradient(
  model: Model,
  objective: string,
  feeds: Record<string, TensorData>,
  flops: number,
  after?: (og: ObjectiveGradient) => Promise<void>,
): Promise<{ ms: number; median: number; compileMs: number; pairedRatios: number[] }> {
  const t0 = performance.now();
  const og = await ObjectiveGradient.create(model, { objective });
  const compileMs = performance.now() - t0;
  const mm = await matmulSession(2048);
  try {
    const ms = await bestOf(RUNS, () => og.run(feeds), WARMUP);
    const medianMs = await medianOf(RUNS, () => og.run(feeds), 0);
    await mm.run();
    const paired = await pairedTimes(PAIRED_ROUNDS, () => og.run(feeds), mm.run);
    const pairedRatios = paired.work.map((w, k) => flops / w / (mm.flops / paired.reference[k]!));
    await after?.(og);
    return { ms, median: medianMs, compileMs, pairedRatios };
  } finally {
    await og.release();
    await mm.release();
  }
}

/** The line of a timed gradient program: best, median, paired ratios, compile time, and `extra`. */
function gradientLine(ctx: BenchContext, bench: string, flops: number, t: Awaited<ReturnType<typeof timeObjectiveGradient>>, extra: Record<string, unknown>): void {
  const r = t.pairedRatios;
  flopLine(ctx, bench, t.ms, flops, {
    ms_median: round(t.median, 2),
    ratio_paired_median: round(median(r), 3),
    ratio_paired_min: round(Math.min(...r), 3),
    ratio_paired_max: round(Math.max(...r), 3),
    paired_rounds: r.length,
    ...extra,
    compile_ms: round(t.compileMs, 0),
    flop_convention: FLOP_CONVENTION,
  });
}

export const peakBench: Bench = {
  key: 'c',
  name: 'c_matmul_peak',
  description: '2048^3 float32 MatMul on onnxruntime, both operands fed; best of 15 after 2 warm-ups (as (a) and (b)): the practical peak',
  async run(ctx) {
    const p = await matmulPeak(2048, 15);
    ctx.emit({ bench: this.name, ms: round(p.ms, 2), gflops: round(p.gflops, 2), ratio_to_peak: 1, n: p.n, load1: loadAverage() });
  },
};

export const peakEndBench: Bench = {
  key: 'c_end',
  name: 'c_matmul_peak_end',
  description: 'the MatMul peak again at the end: how much the machine drifted (other load) during the run',
  async run(ctx) {
    const p = await matmulPeak(2048, 15);
    const first = ctx.peak();
    ctx.emit({ bench: this.name, ms: round(p.ms, 2), gflops: round(p.gflops, 2), vs_first_peak: first ? round(p.gflops / first, 3) : null, load1: loadAverage() });
  },
};

/** The objective of (a) and (d): a class logit, so the whole network runs forward and backward. */
export const GOOGLENET_OBJECTIVE = 'class:1';

export const googlenetBench: Bench = {
  key: 'a',
  name: 'a_googlenet_grad',
  description: `GoogLeNet twin 224, batch 1: forward + d(${GOOGLENET_OBJECTIVE})/d(input), one fused program on onnxruntime`,
  needs: ['c'],
  async run(ctx) {
    const model = await twin(ctx, 'googlenet');
    const feeds = randomInput(model, 11);
    const logits = findPreSoftmax(model.graph)!;
    const flops = countFlops(model.graph, [logits]);
    const t = await timeObjectiveGradient(model, GOOGLENET_OBJECTIVE, feeds, flops.forwardBackwardFlops, async (og) => {
      const res = await og.run(feeds);
      const input = model.graph.inputs[0]!.name;
      await ctx.shared('a:result', () => ({ value: res.value, grad: res.grads.get(input)!.data as Float32Array, feeds }));
    });
    gradientLine(ctx, this.name, flops.forwardBackwardFlops, t, { objective: GOOGLENET_OBJECTIVE, input: model.graph.inputs[0]!.shape });
  },
};

/** Mean of squares of the generated image: a data-dependent upstream gradient through every layer. */
export const GENERATOR_OBJECTIVE = 'deconv0';

export const generatorBench: Bench = {
  key: 'b',
  name: 'b_generator_grad',
  description: `fc6 generator twin, batch 1: forward + d(${GENERATOR_OBJECTIVE}: mean of squares of the image)/d(code), one fused program`,
  needs: ['c'],
  async run(ctx) {
    const model = await twin(ctx, 'fc6-generator');
    const flops = countFlops(model.graph);
    const t = await timeObjectiveGradient(model, GENERATOR_OBJECTIVE, randomInput(model, 12, true), flops.forwardBackwardFlops);
    gradientLine(ctx, this.name, flops.forwardBackwardFlops, t, { objective: GENERATOR_OBJECTIVE, wrt: model.graph.inputs[0]!.name });
  },
};

export const rssBench: Bench = {
  key: 'rss',
  name: 'rss_ab',
  description: 'peak RSS of the process after (c), (a) and (b) (VmHWM), before anything tfjs',
  needs: ['a', 'b'],
  async run(ctx) {
    ctx.emit({ bench: this.name, rss_mb: round(peakRssMb(), 1), includes: [...ctx.lines.keys()] });
  },
};

export const forwardOnlyBench: Bench = {
  key: 'f',
  name: 'forward_only',
  description: 'plain onnxruntime inference of the (a) and (b) twins (same inputs): what the gradient costs on top of the forward',
  needs: ['c'],
  async run(ctx) {
    const cases = [
      { bench: 'a_googlenet_forward', model: await twin(ctx, 'googlenet'), seed: 11, nonNegative: false, grad: 'a_googlenet_grad' },
      { bench: 'b_generator_forward', model: await twin(ctx, 'fc6-generator'), seed: 12, nonNegative: true, grad: 'b_generator_grad' },
    ];
    for (const c of cases) {
      const g = c.model.graph;
      const out = findPreSoftmax(g) ?? g.outputs[0]!.name;
      const ms = await forwardMs(c.model, randomInput(c.model, c.seed, c.nonNegative), [out]);
      const gradMs = ctx.lines.get(c.grad)?.['ms'];
      flopLine(ctx, c.bench, ms, countFlops(g, [out]).forwardFlops, {
        grad_over_forward: typeof gradMs === 'number' ? round(gradMs / ms, 2) : null,
        output: out,
      });
    }
  },
};

export const generatorVjpBench: Bench = {
  key: 'bv',
  name: 'b_generator_vjp',
  description: 'fc6 generator twin as a chained piece: forward (returning saved tensors) + backward with a random upstream gradient on the image',
  needs: ['c'],
  async run(ctx) {
    const model = await twin(ctx, 'fc6-generator');
    const out = model.graph.outputs[0]!;
    const input = model.graph.inputs[0]!.name;
    const vjp = await Vjp.create(model, [out.name], [input]);
    const feeds = randomInput(model, 12, true);
    const dims = out.shape as number[];
    const upstream: TensorData = { dtype: 'float32', dims, data: new Rng(13).fillNormal(new Float32Array(dims.reduce((a, b) => a * b, 1))) };
    const step = async () => {
      const { state } = await vjp.forward(feeds);
      return vjp.backward(state, { [out.name]: upstream });
    };
    try {
      const ms = await bestOf(RUNS, step, WARMUP);
      const flops = countFlops(model.graph);
      flopLine(ctx, this.name, ms, flops.forwardBackwardFlops, { saved_tensors: vjp.split.saved.length, flop_convention: FLOP_CONVENTION });
    } finally {
      await vjp.release();
    }
  },
};
