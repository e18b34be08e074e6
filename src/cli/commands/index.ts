// Every command registers itself here.
import type { CommandModule } from './types.ts';
import { doctorCommand } from './doctor.ts';
import { gradCommand } from './grad.ts';
import { visualizeCommand } from './visualize.ts';
import { modelsCommand } from './convert-caffe.ts';
import { inspectCommand } from './inspect.ts';
import { trainCommand } from './train.ts';
import { evalCommand } from './eval.ts';

export type { CommandModule } from './types.ts';

export const commands: CommandModule[] = [visualizeCommand, gradCommand, doctorCommand, modelsCommand];
commands.push(inspectCommand);
commands.push(trainCommand, evalCommand);
