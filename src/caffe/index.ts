// Caffe -> ONNX: prototxt parsing, caffemodel IO, conversion.
export { parsePrototxt, TextReader, type TextMessage, type TextField, type TextScalar } from './prototxt.ts';
export { decodeCaffemodel, readCaffemodel, encodeCaffemodel, type CaffeNetRecord, type CaffeLayerRecord } from './caffemodel.ts';
export { parseNet, type NetDefinition, type NetLayer } from './net.ts';
export { convertCaffe, convertCaffeFiles, caffeAliases, ALIASES_KEY, type ConvertCaffeOptions } from './convert.ts';
export { caffePooledSize } from './layers.ts';
