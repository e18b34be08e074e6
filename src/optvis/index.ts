// optvis: everything that makes a visualization, Lucid's split. objectives/ (what to maximize),
// param/ (how the image is made from the optimized values), transforms/ (robustness), penalties/
// (penalties and filters), render/ (the loop, the method table, DeepDream, DGN-AM, run folders).
export * from './objectives/index.ts';
export * from './param/index.ts';
export * from './penalties/index.ts';
export {
  compose,
  padding,
  jittering,
  scaling,
  rotating,
  rolling,
  fitting,
  robust,
  robustPipeline,
  robustChain,
  type TransformSampler,
  type Transform,
  type RobustOptions,
} from './transforms/index.ts';
export { render, type RenderSpec, type RenderResult } from './render/loop.ts';
export { METHODS, PIECES, PIXEL_METHODS, methodPreset, piecesFor, registerFilter, registerMethod, registerPenalty, type MethodName, type MethodRow, type PieceRow, type PixelMethod } from './render/presets.ts';
export { pixelNetwork, pixelOptions, runPixel, robustForSize, type PixelOptions, type PixelProgramOptions, type PixelResult } from './render/pixel.ts';
export { Adam, NormalizedStep, linearStep, type Optimizer } from './render/optimizers.ts';
export { deepDream, networkUpTo, DREAM_DEFAULTS, type DreamOptions } from './render/dream.ts';
export { DgnProgram, appendBridge, initialCode, generatorCode, DGN_IMAGE, type DgnProgramOptions, type DgnEval, type CodeInit } from './param/generator.ts';
export { runDgnAm, type DgnOptions, type DgnResult } from './render/dgn.ts';
export { visualizeDgn, visualizePixel, loadPrepared, type DgnVisualizeOptions, type PixelVisualizeOptions, type VisualizeResult, type Progress } from './render/visualize.ts';
export { writeRun, type RunImages } from './render/run-output.ts';
export { doctor, opCoverage, type DoctorReport, type OpCoverage } from './objectives/doctor.ts';
