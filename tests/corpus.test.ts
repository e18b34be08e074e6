// Issue 13's coverage corpus: PyTorch exports of every family at opsets 13 and 17 (some with dynamic axes),
// loaded as a user's file is. At each case's near-tie-free input, fviz's compiled value and input gradient
// must match PyTorch's float64 reference (value within 1e-5 relative, gradient within
// max(2e-4, 3 x PyTorch float32's own error)); onnxruntime on the original file must give the same value;
// `fviz doctor` must cover every op and pass its finite-difference check.
// FVIZ_CORPUS=<regex> runs only the matching cases.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gradientAt } from '../src/optvis/objectives/grad.ts';
import { doctor } from '../src/optvis/objectives/doctor.ts';
import { Session } from '../src/runtime/session.ts';
import { CORPUS_DIR, corpusCases, corpusGrad, corpusInput, gradTolerance, objectiveIndex, relMaxError, VALUE_TOLERANCE } from './helpers/corpus.ts';

const cases = corpusCases(process.env.FVIZ_CORPUS);
const threads = 1;
// doctor's check at the fixture input: central differences of the model with its decisions frozen there.
// Worst achieved: 6.9e-5 (efficientnet); every ReLU / max-pool / clip case <= 5e-5 (squeezenet).
const DOCTOR_TOLERANCE = 3e-4;

describe('coverage corpus', () => {
  it('holds every family at opsets 13 and 17, dynamic-axes cases and a static 64x64 model', () => {
    if (process.env.FVIZ_CORPUS) return;
    expect(cases.length).toBeGreaterThanOrEqual(43);
    const families = new Set(cases.map((c) => c.meta.family));
    for (const f of ['resnet', 'resnext', 'densenet', 'inception3', 'mobilenet2', 'mobilenet3', 'efficientnet', 'shufflenet', 'squeezenet', 'regnet', 'mnasnet', 'convnext', 'vit', 'alexnet', 'swin', 'maxvit', 'clip', 'cliprn', 'googlenet']) {
      expect(families.has(f), f).toBe(true);
      expect(cases.some((c) => c.name === `${f}-op13`) && cases.some((c) => c.name === `${f}-op17`), f).toBe(true);
    }
    expect(cases.filter((c) => c.meta.dynamic.length > 0).length).toBeGreaterThanOrEqual(3);
    expect(cases.some((c) => c.meta.size[1] === 64 && c.meta.dynamic.length === 0 && c.meta.family.startsWith('resnet'))).toBe(true);
  });

  it('keeps every model under 1 MB and the corpus under 15 MB', () => {
    for (const c of cases) expect(statSync(c.model).size, c.name).toBeLessThan(1 << 20);
    const total = readdirSync(CORPUS_DIR).reduce((sum, f) => sum + statSync(join(CORPUS_DIR, f)).size, 0);
    expect(total).toBeLessThan(15 << 20);
  });

  for (const c of cases) {
    describe(c.name, () => {
      const k = objectiveIndex(c.meta);

      it('onnxruntime on the original file gives the float64 value', async () => {
        const x = corpusInput(c.name);
        const s = await Session.create(new Uint8Array(readFileSync(c.model)), { threads, source: c.model });
        try {
          const out = (await s.run({ [c.meta.input]: x }, [c.meta.output]))[c.meta.output]!;
          const v = Number(out.data[k]);
          expect(Math.abs(v - c.meta.value)).toBeLessThanOrEqual(VALUE_TOLERANCE * Math.abs(c.meta.value));
        } finally {
          await s.release();
        }
      });

      it('fviz value and input gradient match float64 within the precision rule', async () => {
        const x = corpusInput(c.name);
        const res = await gradientAt(c.model, x, c.meta.objective, { threads });
        expect(Math.abs(res.value - c.meta.value), `value ${res.value} vs ${c.meta.value}`).toBeLessThanOrEqual(VALUE_TOLERANCE * Math.abs(c.meta.value));
        expect(res.grad.dims).toEqual(x.dims);
        const err = relMaxError(res.grad.data as Float32Array, corpusGrad(c.name).data as Float64Array);
        expect(err, `gradient error ${err} (PyTorch float32: ${c.meta.f32GradError})`).toBeLessThanOrEqual(gradTolerance(c.meta));
      });

      if (c.meta.dynamic.includes('batch'))
        it('with a dynamic batch: the input twice gives the value and the gradient twice', async () => {
          const x1 = corpusInput(c.name);
          const n = x1.data.length;
          const data = new Float32Array(2 * n);
          data.set(x1.data as Float32Array, 0);
          data.set(x1.data as Float32Array, n);
          const res = await gradientAt(c.model, { dtype: 'float32', dims: [2, ...x1.dims.slice(1)], data }, c.meta.objective, { threads });
          expect(res.perItem.length).toBe(2);
          for (const v of res.perItem) expect(Math.abs(v - c.meta.value)).toBeLessThanOrEqual(VALUE_TOLERANCE * Math.abs(c.meta.value));
          const g = res.grad.data as Float32Array;
          const ref = corpusGrad(c.name).data as Float64Array;
          expect(relMaxError(g.subarray(0, n), ref)).toBeLessThanOrEqual(gradTolerance(c.meta));
          expect(relMaxError(g.subarray(n), ref)).toBeLessThanOrEqual(gradTolerance(c.meta));
        });

      it('fviz doctor covers every op and its finite-difference check passes', async () => {
        const rep = await doctor(c.model, { objective: c.meta.objective, directions: 2, threads, input: corpusInput(c.name) });
        expect(rep.missing, rep.skipped).toEqual([]);
        expect(rep.check!.frozenValueError).toBeLessThanOrEqual(1e-5);
        expect(rep.check!.worstRelError, JSON.stringify(rep.check!.results)).toBeLessThan(DOCTOR_TOLERANCE);
      });
    });
  }
});
