// Rewrites an opset-17 (or older) ONNX model into its opset 18-21 forms (src/onnx/upgrade.ts):
//   node bin/run-ts.js scripts/opset-forms/upgrade.ts IN.onnx OUT.onnx --opset 21
import { readModel, saveModel } from '../../src/onnx/proto.ts';
import { upgradeModel } from '../../src/onnx/upgrade.ts';

const args = process.argv.slice(2);
const k = args.indexOf('--opset');
const opset = k >= 0 ? Number(args[k + 1]) : 18;
const [input, output] = args.filter((_, i) => i !== k && i !== k + 1);
if (!input || !output) {
  console.error('usage: scripts/opset-forms/upgrade.ts IN.onnx OUT.onnx [--opset 18..21]');
  process.exit(2);
}
const { model, rewritten } = upgradeModel(readModel(input), opset, input);
saveModel(model, output);
const forms = Object.entries(rewritten).map(([f, n]) => `${f} x${n}`);
console.log(`${output}: opset ${opset}; ${forms.length ? forms.join(', ') : 'no pattern rewritten'}`);
