// (d) The same work as (a) in tfjs with the wasm backend: tf.grad through the reference interpreter.
import { countFlops, FLOP_CONVENTION } from '../src/bench/flops.ts';
import { findPreSoftmax } from '../src/optvis/objectives/build.ts';
import type { TensorData } from '../src/onnx/ir.ts';
import { GOOGLENET_OBJECTIVE } from './engine-benches.ts';
import { flopLine, round, type Bench } from './registry.ts';
import { relL2Diff } from './rel-diff.ts';
import { tfjsWasm } from './tfjs-backend.ts';
import { TfjsModel } from './tfjs-model.ts';
import { bestOf } from './timing.ts';
import { randomInput, twin } from './twins.ts';

const RUNS = 3;

interface AResult {
  value: number;
  grad: Float32Array;
  feeds: Record<string, TensorData>;
}

export const tfjsGooglenetBench: Bench = {
  key: 'd',
  name: 'd_tfjs_wasm_googlenet_grad',
  description: `(a) in tfjs-backend-wasm: tf.valueAndGrad of ${GOOGLENET_OBJECTIVE} w.r.t. the input, GoogLeNet twin 224, batch 1`,
  needs: ['c'],
  async run(ctx) {
    const info = await tfjsWasm();
    const model = await twin(ctx, 'googlenet');
    const a = ctx.lines.get('a_googlenet_grad');
    const aResult = a ? await ctx.shared<AResult | undefined>('a:result', () => undefined) : undefined;
    const feeds = aResult?.feeds ?? randomInput(model, 11);
    const tm = new TfjsModel(model);
    try {
      let last = tm.valueAndGrad(feeds, { text: GOOGLENET_OBJECTIVE });
      const ms = await bestOf(RUNS, () => {
        last = tm.valueAndGrad(feeds, { text: GOOGLENET_OBJECTIVE });
      }, 0);
      const flops = countFlops(model.graph, [findPreSoftmax(model.graph)!]);
      const aMs = typeof a?.['ms'] === 'number' ? a['ms'] : undefined;
      flopLine(ctx, this.name, ms, flops.forwardBackwardFlops, {
        speedup_a_vs_d: aMs ? round(ms / aMs, 2) : null,
        grad_rel_diff_vs_a: aResult ? Number(relL2Diff(last.grad, aResult.grad).toExponential(2)) : null,
        backend: `tfjs ${info.version} ${info.backend}${info.simd ? ' simd' : ''} ${info.threads} thread(s)`,
        translation: [...tm.notes],
        gradient_source: "tfjs-core's own gradient definitions (its unbundled ESM tree)",
        flop_convention: FLOP_CONVENTION,
      });
    } finally {
      tm.dispose();
    }
  },
};
