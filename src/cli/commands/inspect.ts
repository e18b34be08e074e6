// fviz inspect MODEL.onnx [--json] [--batch N]
import { FvizError } from '../../errors.ts';
import { readModel } from '../../onnx/proto.ts';
import { formatInspectReport, inspectModel } from '../../autodiff/inspect.ts';
import type { CommandModule } from './types.ts';
import { inputOverrides } from './options.ts';

export const inspectCommand: CommandModule = (y) =>
  y.command(
    'inspect <model>',
    'list inputs, outputs and every intermediate tensor (the objective names) with shapes, ops and gradient coverage',
    (c) =>
      c
        .positional('model', { type: 'string', describe: 'ONNX model (.onnx; external data beside it)' })
        .option('batch', { type: 'number', default: 1, describe: 'value for the symbolic batch dim of the inputs' })
        .option('size', { type: 'string', describe: 'input size H or H,W for a model with a dynamic input size' })
        .option('json', { type: 'boolean', describe: 'print the report as JSON' }),
    (a) => {
      const batch = a.batch as number;
      if (!Number.isInteger(batch) || batch < 1) throw new FvizError(`--batch must be a positive integer, got ${a.batch}`);
      const path = a.model as string;
      const report = inspectModel(readModel(path), { batch, size: inputOverrides({ size: a.size }).size, source: path });
      console.log(a.json ? JSON.stringify(report, null, 2) : formatInspectReport(report));
    },
  );
