/** The names every model argument takes (models/registry.ts resolveModelFile and resolveClassifier). */
export const MODEL_NAMES = '.onnx path, model.json (TensorFlow.js), embedded, googlenet, twin:googlenet, twin:googlenet-torch, or a name fviz models list shows';
