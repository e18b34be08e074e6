"""BVLC GoogLeNet as PyTorch exports it, full size, for the twin twin:googlenet-torch (bench line g_torch, tests).

The layout of bvlc_googlenet.prototxt (224x224, Caffe's ceil-rounded pools, LRN after the stem) written with
torch.nn, exported by torch.onnx.export (TorchScript exporter). nn.LocalResponseNorm becomes PyTorch's pattern:
Unsqueeze + Pad + a 3-D AveragePool + an If around a Squeeze. The weights are not kept: every initializer with
more than 64 elements is turned into a graph input listed in the metadata key `fviz.seeded_weights`, and
src/twins/googlenet-torch.ts fills them with seeded He-normal values, so the committed file is the exporter's graph
at a few hundred KB instead of 27 MB.

Regenerate (Debian 12; CI never needs Python):
  apt-get install python3-torch python3-onnx
  /usr/bin/python3 scripts/corpus/export_googlenet_torch.py models/twins/googlenet-torch.graph.onnx
"""
import io
import json
import sys

import onnx
import torch
import torch.nn as nn


class ConvRelu(nn.Sequential):
    def __init__(self, cin, cout, k, s=1, p=0):
        super().__init__(nn.Conv2d(cin, cout, k, s, p), nn.ReLU(inplace=False))


class Inception(nn.Module):
    def __init__(self, cin, c1, c3r, c3, c5r, c5, pp):
        super().__init__()
        self.b1 = ConvRelu(cin, c1, 1)
        self.b3 = nn.Sequential(ConvRelu(cin, c3r, 1), ConvRelu(c3r, c3, 3, p=1))
        self.b5 = nn.Sequential(ConvRelu(cin, c5r, 1), ConvRelu(c5r, c5, 5, p=2))
        self.bp = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), ConvRelu(cin, pp, 1))
        self.cout = c1 + c3 + c5 + pp

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], 1)


def googlenet(width=1.0, classes=1000):
    w = lambda c: max(1, int(round(c * width)))
    specs3 = [(64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64)]
    specs4 = [(192, 96, 208, 16, 48, 64), (160, 112, 224, 24, 64, 64), (128, 128, 256, 24, 64, 64),
              (112, 144, 288, 32, 64, 64), (256, 160, 320, 32, 128, 128)]
    specs5 = [(256, 160, 320, 32, 128, 128), (384, 192, 384, 48, 128, 128)]
    layers = [ConvRelu(3, w(64), 7, 2, 3), nn.MaxPool2d(3, 2, ceil_mode=True), nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0),
              ConvRelu(w(64), w(64), 1), ConvRelu(w(64), w(192), 3, p=1), nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0),
              nn.MaxPool2d(3, 2, ceil_mode=True)]
    cin = w(192)
    for i, stage in enumerate([specs3, specs4, specs5]):
        for s in stage:
            m = Inception(cin, *[w(c) for c in s])
            layers.append(m)
            cin = m.cout
        if i < 2:
            layers.append(nn.MaxPool2d(3, 2, ceil_mode=True))
    layers += [nn.AvgPool2d(7, 1), nn.Dropout(0.4), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def export(model, size, opset, keep_weights=True):
    model.eval()
    buf = io.BytesIO()
    x = torch.zeros(1, 3, size, size)
    torch.onnx.export(model, x, buf, opset_version=opset, input_names=['data'], output_names=['logits'])
    m = onnx.load_from_string(buf.getvalue())
    if not keep_weights:
        seeded = []
        for t in list(m.graph.initializer):
            n = 1
            for d in t.dims:
                n *= d
            if n > 64:
                seeded.append(t.name)
                vi = onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                m.graph.input.append(vi)
                m.graph.initializer.remove(t)
        p = m.metadata_props.add()
        p.key, p.value = 'fviz.seeded_weights', json.dumps(seeded)
    return m


if __name__ == '__main__':
    torch.manual_seed(0)
    out = sys.argv[1]
    m = export(googlenet(), 224, 17, keep_weights=False)
    onnx.save(m, out)
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    print(out, sorted(ops.items()))
