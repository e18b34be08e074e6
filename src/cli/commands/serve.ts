// fviz serve: the live page (src/live/server.ts), or with --write-to a static build of it into a folder.
import { defineCommand } from './types.ts';
import { MODEL_NAMES } from './models-arg.ts';

export const serveCommand = defineCommand(
  'serve',
  'open the live page: watch DGN-AM, PPGN-h and the pixel methods (Fourier included) optimize in the browser (onnxruntime-web), on loopback',
  (c) =>
    c
      .option('model', { type: 'string', describe: `classifier: ${MODEL_NAMES} (default: embedded)` })
      .option('generator', { type: 'string', describe: 'generator for DGN-AM and PPGN-h (default: embedded with the embedded classifier)' })
      .option('port', { type: 'number', default: 7860, describe: 'port (0: any free port)' })
      .option('host', { type: 'string', describe: 'address to bind (default 127.0.0.1); another address exposes the page to that network' })
      .option('dataset', { type: 'string', describe: "maco: cifar10 or an image folder whose average spectrum is MaCo's fixed magnitude (without it the page offers no maco)" })
      .option('atlas', { type: 'string', describe: 'serve this atlas folder at /atlas/' })
      .option('write-to', { type: 'string', describe: "write a static build of the page into this folder (an atlas's live/ folder) and exit" }),
  async (a) => {
    if (a.writeTo) {
      const { writeLivePage } = await import('../../live/write.ts');
      const r = await writeLivePage(a.writeTo, { model: a.model, generator: a.generator, dataset: a.dataset });
      console.log(`wrote the live page (${r.files} files, ${r.programs} program(s)) to ${a.writeTo}`);
      return;
    }
    const { serveLive } = await import('../../live/server.ts');
    const s = await serveLive({
      model: a.model,
      generator: a.generator,
      dataset: a.dataset,
      port: a.port,
      host: a.host,
      allowRemote: a.host !== undefined,
      atlas: a.atlas,
      log: (line) => console.error(`fviz serve: ${line}`),
    });
    console.log(`fviz live: ${s.url} (Ctrl-C to stop)`);
    const stop = () => void s.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  },
);
