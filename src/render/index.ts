// Image files, labelled sheets, image metrics and the FFT behind them.
export * from './fft.ts';
export * from './image.ts';
export * from './metrics.ts';
export * from './sheet.ts';
