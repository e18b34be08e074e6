import type { CommandModule } from './types.ts';
import { gradientAt } from '../../optvis/objectives/grad.ts';
import { readNpy, writeNpy } from '../../runtime/npy.ts';

export const gradCommand: CommandModule = (y) =>
  y.command(
    'grad',
    'run a model on an input array and write d objective / d input',
    (c) =>
      c
        .option('model', { type: 'string', demandOption: true, describe: 'ONNX model' })
        .option('input', { type: 'string', demandOption: true, describe: 'input array (.npy, float32/float64)' })
        .option('objective', { type: 'string', demandOption: true, describe: 'objective, e.g. class:3, conv2:5, "0.5*a:1 + b:2"' })
        .option('input-name', { type: 'string', describe: 'model input to feed (when it has several)' })
        .option('out', { type: 'string', describe: 'write the gradient here (.npy float32, same shape as the input)' })
        .option('json', { type: 'boolean', describe: 'print JSON' }),
    async (a) => {
      const x = readNpy(a.input as string);
      const res = await gradientAt(a.model as string, x, a.objective as string, {
        inputName: a['input-name'] as string | undefined,
        threads: a.threads as number | undefined,
        device: a.device as 'cpu' | 'cuda',
      });
      if (a.out) writeNpy(a.out as string, res.grad);
      const d = res.grad.data as Float32Array;
      let sq = 0;
      let maxAbs = 0;
      for (const v of d) {
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
