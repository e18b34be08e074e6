// Pixel-space priors: the image type, transforms with exact adjoints, filters and penalties, colour
// decorrelation and the Fourier parameterization.
export * from './nchw.ts';
export * from './transforms.ts';
export * from './filters.ts';
export * from './color.ts';
export * from './fourier.ts';
