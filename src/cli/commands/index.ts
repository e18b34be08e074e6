// Every command registers itself here. A command's module loads only when its name is on the command line
// (every module for --help or an unknown command); the modules are light, the work loads in their handlers.
import type { CommandModule } from './types.ts';

export type { CommandModule } from './types.ts';

export const commands: Record<string, () => Promise<CommandModule>> = {
  visualize: async () => (await import('./visualize.ts')).visualizeCommand,
  dream: async () => (await import('./dream.ts')).dreamCommand,
  demo: async () => (await import('./demo.ts')).demoCommand,
  grad: async () => (await import('./grad.ts')).gradCommand,
  doctor: async () => (await import('./doctor.ts')).doctorCommand,
  models: async () => (await import('./models.ts')).modelsCommand,
  inspect: async () => (await import('./inspect.ts')).inspectCommand,
  train: async () => (await import('./train.ts')).trainCommand,
  eval: async () => (await import('./eval.ts')).evalCommand,
  compare: async () => (await import('./compare.ts')).compareCommand,
  examples: async () => (await import('./examples.ts')).examplesCommand,
  facets: async () => (await import('./facets.ts')).facetsCommand,
  cache: async () => (await import('./cache.ts')).cacheCommand,
  accentuate: async () => (await import('./accentuate.ts')).accentuateCommand,
  serve: async () => (await import('./serve.ts')).serveCommand,
  atlas: async () => (await import('./atlas.ts')).atlasCommand,
  worker: async () => (await import('./worker.ts')).workerCommand,
};

/** The commands named in args, or all of them when none is. */
export async function loadCommands(args: readonly string[]): Promise<CommandModule[]> {
  const named = Object.keys(commands).filter((n) => args.includes(n));
  return Promise.all((named.length > 0 ? named : Object.keys(commands)).map((n) => commands[n]!()));
}
