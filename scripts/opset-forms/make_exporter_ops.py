#!/usr/bin/env python3
"""Writes tests/fixtures/opset-forms/exporter-ops-op17.{onnx,input.npy,grad.npy,json}: a small network
(random weights) through the ops torch.onnx.export writes for transformer-style blocks and tensor
manipulation (Mish, HardSwish, Softplus, HardSigmoid, Erf, torch.roll as Slice + Concat, two Einsums as
relative-position attention does, CumSum, Where, slice assignment as ScatterND, Sqrt, Reciprocal, Neg),
exported at opset 17, with the float64 gradient of logit 3 at an input whose kink decisions (HardSwish and
HardSigmoid at +-3, the Where threshold, Abs at 0) are at least `minMargin` away.

Run with Debian's python3-torch (1.13): /usr/bin/python3 scripts/opset-forms/make_exporter_ops.py
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class ExporterOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.rel_h = nn.Parameter(torch.randn(8, 5, 4))
        self.fc = nn.Linear(8 * 8 * 8 + 8, 10)

    def forward(self, x, margins=None):
        y = self.conv(x)
        if margins is not None:
            margins += [(y.abs() - 3).abs().min()]
        y = F.mish(y) + F.hardswish(y) + F.softplus(y) + F.hardsigmoid(y) + torch.erf(y)
        y = torch.roll(y, shifts=(1, -2), dims=(2, 3))
        q = y.permute(0, 2, 3, 1)[..., :4]
        r = torch.einsum("bhwc,hkc->bhwk", q, self.rel_h)
        a = torch.einsum("bhid,bhjd->bhij", q, q).softmax(-1)
        if margins is not None:
            margins += [(a - 0.1).abs().min()]
        z = a.cumsum(-1) * torch.where(a > 0.1, a, 1 - a)
        z = z.clone()
        z[:, 0] = r.sum(-1)
        if margins is not None:
            # Only row 0 (r's sums) can change sign; the rest is a product of positive factors.
            margins += [z[:, 0].abs().min()]
        w = torch.sqrt(z.abs() + 1).reciprocal().neg()
        return self.fc(torch.cat([w.flatten(1), y.mean((2, 3))], 1))


def main():
    torch.manual_seed(0)
    model = ExporterOps().eval()
    out = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "opset-forms")
    base = os.path.join(out, "exporter-ops-op17")
    torch.onnx.export(model, torch.randn(1, 3, 8, 8), base + ".onnx", opset_version=17, input_names=["input"], output_names=["logits"])
    m64 = ExporterOps().double().eval()
    m64.load_state_dict(model.state_dict())
    for seed in range(100):
        x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(seed))
        margins = []
        with torch.no_grad():
            m64(x.double(), margins)
        margin = float(min(margins))
        if margin > 1e-4:
            break
    x64 = x.double().requires_grad_(True)
    logits = m64(x64)
    logits[0, 3].backward()
    x32 = x.clone().requires_grad_(True)
    model(x32)[0, 3].backward()
    g64 = x64.grad.numpy()
    f32 = float(np.abs(x32.grad.numpy() - g64).max() / np.abs(g64).max())
    np.save(base + ".input.npy", x.numpy().astype(np.float32))
    np.save(base + ".grad.npy", g64)
    meta = {"objective": "logits:3", "value": float(logits[0, 3]), "f32GradError": f32, "minMargin": margin, "seed": seed,
            "torch": torch.__version__}
    with open(base + ".json", "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
