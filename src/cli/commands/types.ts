import type { ArgumentsCamelCase, Argv } from 'yargs';

/** The options every command has (declared in cli/main.ts). */
export interface GlobalArgs {
  debug: boolean | undefined;
  threads: number | undefined;
  device: 'cpu' | 'cuda';
}

export type Cli = Argv<GlobalArgs>;

/** A command: a function that adds one yargs command. */
export type CommandModule = (y: Cli) => Cli;

/**
 * A command whose options are declared once, in its builder: the handler gets them with their types
 * (choices as unions, demanded options as present).
 */
export function defineCommand<U>(
  name: string,
  describe: string,
  builder: (y: Cli) => Argv<U> | PromiseLike<Argv<U>>,
  handler?: (a: ArgumentsCamelCase<U>) => void | Promise<void>,
): CommandModule {
  return (y) => y.command(name, describe, builder, handler);
}
