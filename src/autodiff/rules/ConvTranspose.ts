import type { GradRule } from '../context.ts';
import { getInt } from '../../onnx/ir.ts';
import { convBiasGrad, convWeightGradient } from './convAdjoint.ts';
import { convTransposeWindow } from './spatial.ts';

/**
 * Y = ConvTranspose(X, W, B) is the adjoint of Conv(., W) with the same window: dX = Conv(dY, W), and dW
 * the correlation of dY (as the conv input) with X (as the conv output gradient).
 */
export const ConvTranspose: GradRule = (node, ctx) => {
  const y = node.outputs[0]!;
  const g = ctx.grad(y);
  if (!g) return;
  const [x, w, b] = node.inputs as [string, string, string | undefined];
  const xs = ctx.shape(x);
  const outSp = ctx.shape(y).slice(2);
  const kernel = ctx.shape(w).slice(2);
  const win = convTransposeWindow(node, xs.slice(2), kernel, outSp);
  const group = getInt(node, 'group', 1);
  if (ctx.needs(x)) {
    // Output positions past the kernels' reach (padsEnd < 0: output_shape larger than the result) have no
    // input behind them: drop their gradient before the convolution.
    const reach = outSp.map((o, i) => o + Math.min(win.padsEnd[i]!, 0));
    const gIn = reach.some((r, i) => r < outSp[i]!)
      ? ctx.emit('Slice', [g, ctx.ints(reach.map(() => 0)), ctx.ints(reach), ctx.ints(reach.map((_, i) => i + 2))])
      : g;
    ctx.addGrad(
      x,
      ctx.emit('Conv', [gIn, w], {
        kernel_shape: { ints: kernel },
        strides: { ints: win.strides },
        dilations: { ints: win.dilations },
        group: { i: group },
        pads: { ints: [...win.padsBegin, ...win.padsEnd.map((p) => Math.max(p, 0))] },
      }),
    );
  }
  if (ctx.needs(w)) ctx.addGrad(w, convWeightGradient(ctx, g, x, win, group));
  if (b && ctx.needs(b)) ctx.addGrad(b, convBiasGrad(ctx, g));
};
