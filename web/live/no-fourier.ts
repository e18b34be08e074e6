// Stands in for src/optvis/param/fourier-image.ts in the page's bundle (web/vite.config.ts): the Fourier
// parameterization compiles an ONNX program of its own in Node, which the page does not have.
export function fourierImage(): never {
  throw new Error('the Fourier parameterization runs in Node only (fviz visualize --method fourier); the live page runs the pixel methods on pixels');
}
