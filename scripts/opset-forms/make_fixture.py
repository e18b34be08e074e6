#!/usr/bin/env python3
"""Writes tests/fixtures/opset-forms/blocks-op17.onnx: a small network (random weights) holding every
pattern src/onnx/upgrade.ts rewrites into its opset 18-21 form, exported by torch.onnx.export at opset 17:
GroupNorm, GELU (exact and tanh), LayerNorm, chunk (Split), F.pad on H and W (Pad), mean and amax over
axes (ReduceMean, ReduceMax), interpolate by a scale factor (Resize).

Run with Debian's python3-torch (1.13): /usr/bin/python3 scripts/opset-forms/make_fixture.py
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F


class Blocks(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.gn = nn.GroupNorm(2, 8)
        self.ln = nn.LayerNorm(8)
        self.conv2 = nn.Conv2d(4, 6, 3)
        self.fc = nn.Linear(6 + 4, 5)

    def forward(self, x):
        y = F.gelu(self.gn(self.conv(x)))
        a, b = y.split(4, dim=1)
        a = F.gelu(F.pad(a, (1, 1, 2, 0), mode="reflect"), approximate="tanh")
        a = self.conv2(F.interpolate(a, scale_factor=2.0, mode="bilinear", align_corners=False))
        t = self.ln(b.mean(dim=(2, 3), keepdim=False).repeat(1, 2))
        z = torch.cat([a.amax(dim=(2, 3)), t[:, :4]], dim=1)
        return self.fc(z)


def main():
    torch.manual_seed(0)
    model = Blocks().eval()
    with torch.no_grad():
        for p in model.gn.parameters():
            p.add_(torch.randn_like(p) * 0.5)
        for p in model.ln.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    out = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "opset-forms", "blocks-op17.onnx")
    torch.onnx.export(model, torch.randn(1, 3, 8, 8), out, opset_version=17, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    print("wrote", os.path.normpath(out), os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
