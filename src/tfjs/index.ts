// TensorFlow.js LayersModel -> ONNX: file IO, conversion, the card, the cache behind `--model model.json`.
export { readLayersModelFiles, fileSaveHandler, type LayersModelFiles } from './io.ts';
export { convertLayersModel, convertTfjsModel, type TfjsConversion } from './convert.ts';
export { tfjsCard, impliedRange } from './card.ts';
export { convertTfjsFiles, ensureTfjsConverted, cachedTfjsPath, type ConvertTfjsFilesResult } from './files.ts';
export { loadTfjs, type Tfjs } from './runtime.ts';
