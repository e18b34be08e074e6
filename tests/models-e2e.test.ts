// Optional (FVIZ_SLOW_TESTS=1): `fetchModel('dgn-fc6')` end to end with the real generator prototxt and a
// random-weight caffemodel of the real size (~230 MB) inside a zip served on 127.0.0.1; the installed
// generator.onnx must compute what the fc6 generator twin with the same weights computes.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeCaffemodel } from '../src/caffe/caffemodel.ts';
import { parseNet } from '../src/caffe/net.ts';
import { readModel } from '../src/onnx/proto.ts';
import { Session } from '../src/runtime/session.ts';
import { sharedFile } from '../src/shared-path.ts';
import { fc6GeneratorTwin, fc6GeneratorTwinWeights } from '../src/twins/fc6-generator.ts';
import { fetchModel } from '../src/models/install.ts';
import { zip } from './helpers/zip.ts';
import { readFileSync } from 'node:fs';

const slow = !!process.env['FVIZ_SLOW_TESTS'];
const root = mkdtempSync(join(tmpdir(), 'fviz-models-e2e-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.runIf(slow)('dgn-fc6 end to end (FVIZ_SLOW_TESTS)', () => {
  it('downloads, converts and installs a full-size generator that computes what its twin computes', async () => {
    process.env['FVIZ_MODELS'] = join(root, 'cache');
    const prototxt = readFileSync(sharedFile('reference', 'dgn-fc6-generator.prototxt'), 'utf8');
    const weights = fc6GeneratorTwinWeights(3);
    const net = parseNet(prototxt);
    const caffemodel = encodeCaffemodel({ layers: net.layers.map((l) => ({ name: l.name, type: l.type, bottom: l.bottom, top: l.top, blobs: weights.get(l.name) ?? [] })) });
    const body = zip([{ name: 'release_deepsim_v0/fc6/generator.caffemodel', data: caffemodel }]);
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const t0 = performance.now();
    try {
      const r = await fetchModel('dgn-fc6', {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/release_deepsim_v0.zip`,
        sha256: createHash('sha256').update(body).digest('hex'),
        progress: false,
        log: () => {},
      });
      const seconds = (performance.now() - t0) / 1000;
      console.log(`dgn-fc6 e2e: ${(body.length / 1e6).toFixed(0)} MB zip fetched, converted and installed in ${seconds.toFixed(1)} s`);
      const code = { dtype: 'float32' as const, dims: [1, 4096], data: Float32Array.from({ length: 4096 }, (_, i) => ((i * 7919) % 100) / 25) };
      const run = async (m: ReturnType<typeof readModel>) => {
        const s = await Session.create(m, { threads: 2 });
        try {
          return (await s.run({ feat: code }, ['deconv0']))['deconv0']!.data as Float32Array;
        } finally {
          await s.release();
        }
      };
      const got = await run(readModel(r.modelPath));
      const want = await run(fc6GeneratorTwin({ weights }));
      let err = 0;
      let scale = 0;
      for (let i = 0; i < want.length; i++) {
        err = Math.max(err, Math.abs(got[i]! - want[i]!));
        scale = Math.max(scale, Math.abs(want[i]!));
      }
      expect(got.length).toBe(3 * 256 * 256);
      expect(err / scale).toBeLessThan(1e-4);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }, 120_000);
});
