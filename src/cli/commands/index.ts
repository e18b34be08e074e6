// Every command registers itself here.
import type { CommandModule } from './types.ts';
import { doctorCommand } from './doctor.ts';
import { gradCommand } from './grad.ts';
import { visualizeCommand } from './visualize.ts';
import { dreamCommand } from './dream.ts';
import { demoCommand } from './demo.ts';
import { modelsCommand } from './models.ts';
import { inspectCommand } from './inspect.ts';
import { trainCommand } from './train.ts';
import { evalCommand } from './eval.ts';
import { compareCommand } from './compare.ts';
import { examplesCommand } from './examples.ts';
import { facetsCommand } from './facets.ts';
import { accentuateCommand } from './accentuate.ts';

export type { CommandModule } from './types.ts';

export const commands: CommandModule[] = [visualizeCommand, dreamCommand, demoCommand, gradCommand, doctorCommand, modelsCommand];
commands.push(inspectCommand);
commands.push(trainCommand, evalCommand);
commands.push(compareCommand);
commands.push(examplesCommand, facetsCommand);
commands.push(accentuateCommand);
