import { defineCommand } from './types.ts';
import { MODEL_NAMES } from './models-arg.ts';

export const gradCommand = defineCommand(
  'grad',
  'run a model on an input array and write d objective / d input',
  (c) =>
    c
      .option('model', { type: 'string', demandOption: true, describe: `model: ${MODEL_NAMES}` })
      .option('input', { type: 'string', demandOption: true, describe: 'input array (.npy, float32/float64)' })
      .option('objective', { type: 'string', demandOption: true, describe: 'objective, e.g. class:3, conv2:5, "0.5*a:1 + b:2"' })
      .option('input-name', { type: 'string', describe: 'model input to feed (when it has several)' })
      .option('out', { type: 'string', describe: 'write the gradient here (.npy float32, same shape as the input)' })
      .option('json', { type: 'boolean', describe: 'print JSON' }),
  async (a) => {
    const [{ resolveModelFile }, { gradientAt }, { readNpy, writeNpy }] = await Promise.all([
      import('../../models/registry.ts'),
      import('../../optvis/objectives/grad.ts'),
      import('../../runtime/npy.ts'),
    ]);
    const model = resolveModelFile(a.model);
    const x = readNpy(a.input);
    const res = await gradientAt(model, x, a.objective, { inputName: a['input-name'], threads: a.threads, device: a.device });
    if (a.out) writeNpy(a.out, res.grad);
    let sq = 0;
    let maxAbs = 0;
    for (const d of res.grad.data) {
      const v = Number(d); // float32: the cast is exact
      sq += v * v;
      maxAbs = Math.max(maxAbs, Math.abs(v));
    }
    if (a.json) {
      console.log(JSON.stringify({ objective: a.objective, terms: res.terms, value: res.value, perItem: res.perItem, gradShape: res.grad.dims, gradL2: Math.sqrt(sq), gradMaxAbs: maxAbs, out: a.out ?? null }));
    } else {
      console.log(`objective ${a.objective} = ${res.value}${res.perItem.length > 1 ? ` (per item: ${res.perItem.join(', ')})` : ''}`);
      console.log(`gradient [${res.grad.dims}]: L2 ${Math.sqrt(sq).toPrecision(6)}, max |g| ${maxAbs.toPrecision(6)}${a.out ? `, written to ${a.out}` : ''}`);
    }
  },
);
