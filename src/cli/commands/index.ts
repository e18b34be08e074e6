// Every command registers itself here.
import type { CommandModule } from './types.ts';
import { doctorCommand } from './doctor.ts';
import { gradCommand } from './grad.ts';
import { modelsCommand } from './convert-caffe.ts';
import { inspectCommand } from './inspect.ts';

export type { CommandModule } from './types.ts';

export const commands: CommandModule[] = [gradCommand, doctorCommand, modelsCommand];
commands.push(inspectCommand);
