// fviz inspect MODEL [--json] [--batch N]
import { FvizError } from '../../errors.ts';
import { defineCommand } from './types.ts';
import { sizeOption } from './options.ts';
import { MODEL_NAMES } from './models-arg.ts';

export const inspectCommand = defineCommand(
  'inspect <model>',
  'list inputs, outputs and every intermediate tensor (the objective names) with shapes, ops and gradient coverage',
  (c) =>
    c
      .positional('model', { type: 'string', demandOption: true, describe: `model: ${MODEL_NAMES} (external data beside it)` })
      .option('batch', { type: 'number', default: 1, describe: 'value for the symbolic batch dim of the inputs' })
      .option('size', { type: 'string', describe: 'input size H or H,W for a model with a dynamic input size' })
      .option('json', { type: 'boolean', describe: 'print the report as JSON' }),
  async (a) => {
    const batch = a.batch;
    if (!Number.isInteger(batch) || batch < 1) throw new FvizError(`--batch must be a positive integer, got ${a.batch}`);
    const size = sizeOption(a.size);
    const [{ resolveModelFile }, { readModel }, { formatInspectReport, inspectModel }] = await Promise.all([
      import('../../models/registry.ts'),
      import('../../onnx/proto.ts'),
      import('../../autodiff/inspect.ts'),
    ]);
    const path = resolveModelFile(a.model);
    const report = inspectModel(readModel(path), { batch, size, source: path });
    console.log(a.json ? JSON.stringify(report, null, 2) : formatInspectReport(report));
  },
);
