// Architecture twins: the paper's networks with random weights, for tests and benches.
export { googlenetTwin, googlenetTwinWeights, GOOGLENET_INPUT } from './googlenet.ts';
export { fc6GeneratorTwin, fc6GeneratorTwinWeights, FC6_CODE_SIZE } from './fc6-generator.ts';
export { twinPath, twinCacheDir, TWIN_BUILDERS, type TwinName, type TwinPathOptions } from './cache.ts';
export { heBlobs, type LayerBlobs } from './init.ts';
export type { TwinOptions } from './twin-net.ts';
