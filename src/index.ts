// The package root: every command is a thin layer over a function exported here.
export * from './errors.ts';
export * from './onnx/ir.ts';
export * from './onnx/tensor.ts';
export * from './onnx/proto.ts';
export * from './onnx/builder.ts';
export * from './runtime/session.ts';
export * from './runtime/npy.ts';
export * from './shared-path.ts';
export * from './caffe/index.ts';
export * from './twins/index.ts';
export { topoSort, sortGraph } from './onnx/topo.ts';
export { inferNode, inferShapes } from './onnx/shapes.ts';
export { foldConstants } from './onnx/fold.ts';
export { normalizeModel } from './onnx/normalize.ts';
export { prepareModel, loadModel, fullyStatic, type PrepareOptions } from './onnx/prepare.ts';
export { inspectModel, formatInspectReport, type InspectReport, type InspectOptions } from './onnx/inspect.ts';
