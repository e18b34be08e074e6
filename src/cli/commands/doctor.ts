import { defineCommand } from './types.ts';
import { sizeOption } from './options.ts';
import { MODEL_NAMES } from './models-arg.ts';

export const doctorCommand = defineCommand(
  'doctor <model>',
  "check a model's gradient coverage and its compiled gradient against finite differences",
  (c) =>
    c
      .positional('model', { type: 'string', demandOption: true, describe: `model: ${MODEL_NAMES}` })
      .option('objective', { type: 'string', describe: 'objective to check (default: random)' })
      .option('seed', { type: 'number', default: 0 })
      .option('directions', { type: 'number', default: 3, describe: 'random directions for the finite-difference check' })
      .option('input', { type: 'string', describe: 'check at this input (.npy, the model input\'s shape) instead of a random one' })
      .option('size', { type: 'string', describe: 'input size H or H,W for a model with a dynamic input size (default: its card)' })
      .option('json', { type: 'boolean' }),
  async (a) => {
    const size = sizeOption(a.size);
    const [{ resolveModelFile }, { doctor }, { DOCTOR_TOLERANCE }, { readNpy }] = await Promise.all([
      import('../../models/registry.ts'),
      import('../../optvis/objectives/doctor.ts'),
      import('../../autodiff/doctor-check.ts'),
      import('../../runtime/npy.ts'),
    ]);
    const r = await doctor(resolveModelFile(a.model), {
      seed: a.seed,
      objective: a.objective,
      directions: a.directions,
      input: a.input ? readNpy(a.input) : undefined,
      size,
      threads: a.threads,
      device: a.device,
    });
    if (a.json) {
      console.log(JSON.stringify(r));
      return;
    }
    console.log(`${r.model}: ${r.ops.reduce((s, o) => s + o.count, 0)} nodes, ${r.ops.length} op types`);
    for (const o of r.ops) console.log(`  ${o.covered ? 'ok     ' : 'MISSING'} ${o.op.padEnd(24)} x${o.count}`);
    if (r.skipped) {
      console.log(r.skipped);
      process.exitCode = 1;
      return;
    }
    const c = r.check!;
    console.log(`finite-difference check of ${c.objective} along ${c.directions} random directions, ${c.frozenDecisions} decisions (ReLU masks, max-pool windows, ...) frozen at the input:`);
    for (const x of c.results) {
      const flips = x.flips === undefined ? '' : `, ${x.flips} decisions of the model flip within it`;
      console.log(`  <g,v> ${x.analytic.toPrecision(7)}  fd ${x.numeric.toPrecision(7)}  rel. error ${x.relError.toExponential(2)} (step ${x.step.toPrecision(2)}, ${x.stencil}${flips})`);
    }
    const passes = c.worstRelError <= DOCTOR_TOLERANCE;
    console.log(`worst relative error: ${c.worstRelError.toExponential(2)}: ${passes ? 'passes' : 'FAILS'} (tolerance ${DOCTOR_TOLERANCE.toExponential(0)})`);
    if (!passes) process.exitCode = 1;
    if (c.mismatch) {
      console.log(c.mismatch);
      process.exitCode = 1;
    }
  },
);
