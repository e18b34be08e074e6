// Every command registers itself here: a function that adds one yargs command.
import type { Argv } from 'yargs';

export type CommandModule = (y: Argv<any>) => Argv<any>;

export const commands: CommandModule[] = [];
