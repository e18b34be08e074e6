// Pixel-space priors: the image type, transforms with exact adjoints, filters and penalties, colour
// decorrelation and the Fourier parameterization.
export * from '../image/nchw.ts';
export * from './transforms/transforms.ts';
export * from './penalties/filters.ts';
export * from './param/color.ts';
export * from './param/fourier.ts';
