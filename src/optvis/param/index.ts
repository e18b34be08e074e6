// Parameterizations: values -> image and image gradient -> value gradient.
export type { Param, FusedParam, Evaluation } from './param.ts';
export { pixelParam, pixelsOf, clamp01, type PixelParamOptions } from './pixels.ts';
export { fourierImage, type FourierImageOptions } from './fourier-image.ts';
export { FourierParam, type FourierOptions } from './fourier.ts';
export { parseEncoder, encodeImages } from './encode.ts';
