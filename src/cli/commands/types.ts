import type { Argv } from 'yargs';

/** A command: a function that adds one yargs command. */
export type CommandModule = (y: Argv<any>) => Argv<any>;
