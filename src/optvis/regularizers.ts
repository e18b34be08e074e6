// The `regularizers` namespace of the package root, as the earlier src/regularizers/index.ts gave it: the
// image type, transforms with exact adjoints, filter and penalty kernels, colour decorrelation, Fourier math.
export * from '../image/nchw.ts';
export * from './transforms/transforms.ts';
export * from './penalties/filters.ts';
export * from './param/color.ts';
export * from './param/fourier.ts';
