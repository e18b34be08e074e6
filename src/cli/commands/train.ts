// `fviz train classifier | generator`: the subcommands (and the tables their options list) load only for `train`.
import { defineCommand } from './types.ts';

export const trainCommand = defineCommand('train', 'train the embedded models on fviz’s own engine', async (t) => {
  const [{ classifierSubcommand }, { generatorSubcommand }] = await Promise.all([import('./train-classifier.ts'), import('./train-generator.ts')]);
  return generatorSubcommand(classifierSubcommand(t)).demandCommand(1, 'name what to train: fviz train classifier or fviz train generator');
});
