// The optimization loops' lines: pixel-space steps/s of `robust` and `fourier` on the GoogLeNet twin at
// 224 with the share of each step spent outside the network, and one DGN-AM step through the fc6
// generator twin, a center crop to 224 and the GoogLeNet twin.
import { countFlops, FLOP_CONVENTION } from '../src/bench/flops.ts';
import { findPreSoftmax } from '../src/optvis/objectives/build.ts';
import { DgnProgram } from '../src/optvis/param/generator.ts';
import { pixelNetwork, pixelOptions, runPixel, type PixelMethod } from '../src/optvis/render/pixel.ts';
import { resolveClassifier, resolveGenerator } from '../src/models/registry.ts';
import { Rng } from '../src/util/rng.ts';
import { flopLine, round, type Bench } from './registry.ts';
import { bestOf, medianOf, peakRssMb } from './timing.ts';
import { twin } from './twins.ts';

const STEPS = 12;

function pixelBench(key: string, method: PixelMethod): Bench {
  return {
    key,
    name: `${key}_${method}_steps`,
    description: `pixel-space '${method}' on the GoogLeNet twin at 224, batch 1: steps/s and the share of a step spent around the network (transforms, FFTs, regularizers)`,
    needs: ['c'],
    async run(ctx) {
      const model = await twin(ctx, 'googlenet');
      const card = resolveClassifier('twin:googlenet').card;
      const net = await pixelNetwork({ classifier: model, card, objective: 'inception_4c/output:7' });
      try {
        await runPixel(net, [224, 224], pixelOptions(method, { steps: 2 })); // warm-up
        const t0 = performance.now();
        const r = await runPixel(net, [224, 224], pixelOptions(method, { steps: STEPS }));
        const ms = performance.now() - t0;
        const around = r.timing.aroundMs / (r.timing.aroundMs + r.timing.networkMs);
        ctx.emit({
          bench: this.name,
          steps: STEPS,
          ms_per_step: round(ms / STEPS, 2),
          steps_per_s: round((1000 * STEPS) / ms, 3),
          network_ms_per_step: round(r.timing.networkMs / STEPS, 2),
          around_ms_per_step: round(r.timing.aroundMs / STEPS, 2),
          around_fraction: round(around, 3),
          target_around_le_0_2: around <= 0.2,
        });
      } finally {
        await net.release();
      }
    },
  };
}

export const robustBench = pixelBench('pr', 'robust');
export const fourierBench = pixelBench('pf', 'fourier');

/** One DGN-AM step through the fc6 generator twin, a center crop to 224 and the given GoogLeNet. */
function dgnStep(key: string, name: string, classifier: 'googlenet' | 'googlenet-torch', what: string): Bench {
  return {
    key,
    name,
    description: `one DGN-AM step: fc6 generator twin -> center crop 256 to 224 -> ${what}, batch 1, fused program (code gradient); own process for its peak RSS`,
    needs: ['c'],
    isolated: true,
    async run(ctx) {
      const gen = await twin(ctx, 'fc6-generator');
      const cls = await twin(ctx, classifier);
      const g = resolveGenerator('twin:fc6-generator');
      const c = resolveClassifier(`twin:${classifier}`);
      const results: Record<string, number> = {};
      for (const mode of ['fused', 'chained'] as const) {
        const prog = await DgnProgram.create({ generator: gen, classifier: cls, generatorCard: g.card, classifierCard: c.card, objective: 'class:1', mode });
        const code = new Float32Array(4096);
        new Rng(3).fillNormal(code);
        try {
          results[mode] = await bestOf(6, () => prog.run(code), 2);
          if (mode === 'fused') results['median'] = await medianOf(6, () => prog.run(code), 0);
        } finally {
          await prog.release();
        }
      }
      const flops = countFlops(gen.graph, [gen.graph.outputs[0]!.name]).forwardBackwardFlops + countFlops(cls.graph, [findPreSoftmax(cls.graph) ?? cls.graph.outputs[0]!.name]).forwardBackwardFlops;
      const rss = peakRssMb();
      const peak = ctx.peak();
      const ratio = peak ? flops / (results['fused']! * 1e6) / peak : undefined;
      flopLine(ctx, this.name, results['fused']!, flops, {
        ms_median: round(results['median']!, 2),
        chained_ms: round(results['chained']!, 2),
        default_mode: results['fused']! <= results['chained']! ? 'fused' : 'chained',
        flop_convention: FLOP_CONVENTION,
        rss_mb: round(rss, 1),
        target_ratio_ge_0_4: ratio === undefined ? null : ratio >= 0.4,
        target_rss_lt_3gb: rss < 3072,
      });
    },
  };
}

export const dgnStepBench = dgnStep('g', 'g_dgn_step', 'googlenet', 'GoogLeNet twin');
export const dgnStepTorchBench = dgnStep(
  'g_torch',
  'g_dgn_step_torch_export',
  'googlenet-torch',
  "GoogLeNet as PyTorch's exporter writes it (LRN as Unsqueeze + Pad + 3-D AveragePool + If)",
);
