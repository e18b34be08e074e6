// The live page (web/live) bundled for the browser. It imports the optimizer, regularizers, params and
// transforms from src/ itself; onnxruntime-web is resolved to its build that loads the wasm files from
// outside the bundle (served by `fviz serve` at ort/, from the installed package). `base: './'` keeps
// every URL relative, so the same build works at / and inside an atlas folder.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./live', import.meta.url)),
  base: './',
  logLevel: 'warn',
  resolve: {
    conditions: ['onnxruntime-web-use-extern-wasm', 'browser', 'import', 'module', 'default'],
    alias: [{ find: /^.*\/param\/fourier-image\.ts$/, replacement: fileURLToPath(new URL('./live/fourier-in-page.ts', import.meta.url)) }],
  },
  build: {
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
    assetsInlineLimit: 0,
  },
});
