"""Small width-reduced image classifiers for the coverage corpus (see make_corpus.py).

torchvision 0.14 classes with small configs where they allow it; hand-written nn.Module versions where
they do not (fixed widths too large for a 1 MB file, or architectures torchvision lacks). Activations and
pools are nn modules or torch functions, so make_corpus.py can watch every kink of the forward.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models import convnext, densenet, efficientnet, mnasnet, mobilenetv2, mobilenetv3, regnet
from torchvision.models import shufflenetv2, swin_transformer, vision_transformer
from torchvision.models.resnet import BasicBlock, Bottleneck

NUM_CLASSES = 10


class SmallResNet(nn.Module):
    """torchvision's ResNet (stem, blocks, head) with the stage widths as a parameter (torchvision fixes 64..512)."""

    def __init__(self, block, layers, widths, groups=1, width_per_group=64, num_classes=NUM_CLASSES):
        super().__init__()
        self.inplanes = widths[0]
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        stages = []
        for i, (n, w) in enumerate(zip(layers, widths)):
            stages.append(self._make_layer(block, w, n, stride=1 if i == 0 else 2))
        self.layers = nn.Sequential(*stages)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(self.inplanes, num_classes)

    def _make_layer(self, block, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups, base_width=self.base_width))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layers(x)
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def resnet():
    return SmallResNet(BasicBlock, [1, 1, 1], [16, 32, 64])


def resnext():
    # ResNeXt's grouped bottleneck: groups 4, width_per_group 8 (resnext50_32x4d is 32 x 4).
    return SmallResNet(Bottleneck, [1, 1, 1], [8, 16, 32], groups=4, width_per_group=32)


def densenet_():
    return densenet.DenseNet(growth_rate=8, block_config=(2, 2, 2), num_init_features=16, bn_size=2, num_classes=NUM_CLASSES)


def mobilenet_v2():
    setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 2, 2], [6, 64, 1, 2], [6, 96, 1, 1]]
    m = mobilenetv2.MobileNetV2(num_classes=NUM_CLASSES, width_mult=0.5, inverted_residual_setting=setting)
    # torchvision fixes the last 1x1 conv at 1280 channels; shrink it to keep the file small.
    last_in = m.features[-1][0].in_channels
    m.features[-1] = mobilenetv2.Conv2dNormActivation(last_in, 128, kernel_size=1, activation_layer=nn.ReLU6)
    m.classifier[1] = nn.Linear(128, NUM_CLASSES)
    return m


def mobilenet_v3():
    C = mobilenetv3.InvertedResidualConfig
    setting = [
        C(16, 3, 16, 16, True, "RE", 2, 1, 1.0),
        C(16, 3, 48, 24, False, "RE", 2, 1, 1.0),
        C(24, 5, 64, 32, True, "HS", 2, 1, 1.0),
        C(32, 3, 96, 32, True, "HS", 1, 1, 1.0),
        C(32, 5, 128, 48, True, "HS", 2, 1, 1.0),
    ]
    return mobilenetv3.MobileNetV3(setting, last_channel=128, num_classes=NUM_CLASSES)


def efficientnet_():
    C = efficientnet.MBConvConfig
    setting = [
        C(1, 3, 1, 16, 8, 1),
        C(4, 3, 2, 8, 16, 2),
        C(4, 5, 2, 16, 24, 1),
        C(4, 3, 2, 24, 32, 1),
    ]
    return efficientnet.EfficientNet(setting, dropout=0.2, stochastic_depth_prob=0.0, num_classes=NUM_CLASSES, last_channel=128)


def shufflenet():
    return shufflenetv2.ShuffleNetV2([2, 2, 1], [16, 24, 48, 96, 128], num_classes=NUM_CLASSES)


def squeezenet():
    return SmallSqueezeNet()


def regnet_():
    params = regnet.BlockParams(depths=[1, 1, 2], widths=[16, 32, 64], group_widths=[8, 8, 8], bottleneck_multipliers=[1.0, 1.0, 1.0], strides=[2, 2, 2], se_ratio=0.25)
    return regnet.RegNet(params, num_classes=NUM_CLASSES, stem_width=16)


def mnasnet_():
    m = mnasnet.MNASNet(alpha=0.25, num_classes=NUM_CLASSES)
    # torchvision fixes the last 1x1 conv at 1280 channels; shrink it to keep the file small.
    last = m.layers[14]
    m.layers[14] = nn.Conv2d(last.in_channels, 128, 1, bias=False)
    m.layers[15] = nn.BatchNorm2d(128, momentum=1 - 0.9997)
    m.classifier[1] = nn.Linear(128, NUM_CLASSES)
    return m


def convnext_():
    C = convnext.CNBlockConfig
    # layer_scale 0.5 instead of 1e-6, so the blocks are not the identity at random weights.
    return convnext.ConvNeXt([C(16, 32, 1), C(32, 64, 1), C(64, None, 1)], stochastic_depth_prob=0.0, layer_scale=0.5, num_classes=NUM_CLASSES)


def vit():
    return vision_transformer.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=NUM_CLASSES)


def swin():
    return swin_transformer.SwinTransformer(patch_size=[4, 4], embed_dim=16, depths=[2, 2], num_heads=[2, 4], window_size=[4, 4], stochastic_depth_prob=0.0, num_classes=NUM_CLASSES)


class AlexNet(nn.Module):
    """torchvision's AlexNet layout (features, adaptive average pool, three Linear layers) at 32x32."""

    def __init__(self, num_classes=NUM_CLASSES):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 5, stride=1, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(32, 48, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(48, 32, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((3, 3))
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Linear(32 * 9, 64), nn.ReLU(inplace=True),
            nn.Dropout(0.5), nn.Linear(64, 64), nn.ReLU(inplace=True),
            nn.Linear(64, num_classes),
        )

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


class Fire(nn.Module):
    def __init__(self, cin, squeeze, e1, e3):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, e1, 1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, e3, 3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)), self.expand3x3_activation(self.expand3x3(x))], 1)


class SmallSqueezeNet(nn.Module):
    """SqueezeNet 1.1's layout (ceil-mode max pools, Fire modules, conv classifier with a ReLU) at small width."""

    def __init__(self, num_classes=NUM_CLASSES):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(16, 8, 16, 16), Fire(32, 8, 16, 16),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(32, 12, 24, 24), Fire(48, 12, 24, 24),
        )
        self.classifier = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(48, num_classes, 1), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1)))

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


class BasicConv2d(nn.Module):
    """Inception v3's conv: no bias, BatchNorm (eps 0.001), ReLU."""

    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class InceptionA(nn.Module):
    def __init__(self, cin, pool_features):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 8, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, 6, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(6, 8, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 8, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(8, 12, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(12, 12, kernel_size=3, padding=1)
        self.pool = nn.AvgPool2d(3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)

    def forward(self, x):
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), self.branch5x5_2(self.branch5x5_1(x)), b3, self.branch_pool(self.pool(x))], 1)


class InceptionB(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 16, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 8, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(8, 12, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(12, 12, kernel_size=3, stride=2)
        self.pool = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        b = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b, self.pool(x)], 1)


class InceptionC(nn.Module):
    def __init__(self, cin, c7):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 16, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 16, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, 16, kernel_size=(1, 7), padding=(0, 3))
        self.pool = nn.AvgPool2d(3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(cin, 16, kernel_size=1)

    def forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_3(self.branch7x7dbl_2(self.branch7x7dbl_1(x)))
        return torch.cat([self.branch1x1(x), b7, bd, self.branch_pool(self.pool(x))], 1)


class InceptionE(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 16, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 16, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(16, 16, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(16, 16, kernel_size=(3, 1), padding=(1, 0))
        self.pool = nn.AvgPool2d(3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(cin, 16, kernel_size=1)

    def forward(self, x):
        b = self.branch3x3_1(x)
        b = torch.cat([self.branch3x3_2a(b), self.branch3x3_2b(b)], 1)
        return torch.cat([self.branch1x1(x), b, self.branch_pool(self.pool(x))], 1)


class SmallInception3(nn.Module):
    """Inception v3's module types (A, B reduction, C with 1x7/7x1, E with split 1x3/3x1) at 32x32."""

    def __init__(self, num_classes=NUM_CLASSES):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 16, kernel_size=3, padding=1)
        self.Conv2d_2a_3x3 = BasicConv2d(16, 16, kernel_size=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2)
        self.Mixed_5b = InceptionA(16, pool_features=8)
        self.Mixed_6a = InceptionB(36)
        self.Mixed_6b = InceptionC(64, c7=8)
        self.Mixed_7c = InceptionE(64)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.maxpool1(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = self.Mixed_7c(self.Mixed_6b(self.Mixed_6a(self.Mixed_5b(x))))
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


class BvlcInception(nn.Module):
    """The BVLC GoogLeNet inception module: biased convs and ReLUs, a 3x3 stride-1 max pool branch."""

    def __init__(self, cin, c1, c3r, c3, c5r, c5, pp):
        super().__init__()
        self.b1 = nn.Sequential(nn.Conv2d(cin, c1, 1), nn.ReLU(inplace=True))
        self.b3 = nn.Sequential(nn.Conv2d(cin, c3r, 1), nn.ReLU(inplace=True), nn.Conv2d(c3r, c3, 3, padding=1), nn.ReLU(inplace=True))
        self.b5 = nn.Sequential(nn.Conv2d(cin, c5r, 1), nn.ReLU(inplace=True), nn.Conv2d(c5r, c5, 5, padding=2), nn.ReLU(inplace=True))
        self.bp = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(cin, pp, 1), nn.ReLU(inplace=True))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], 1)


class BvlcGoogLeNet(nn.Module):
    """The paper's GoogLeNet layout (Caffe's BVLC model: LRN after conv1 and conv2, ceil-mode pools) at small width."""

    def __init__(self, num_classes=NUM_CLASSES):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 16, 7, stride=2, padding=3), nn.ReLU(inplace=True))
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.norm1 = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        self.conv2 = nn.Sequential(nn.Conv2d(16, 16, 1), nn.ReLU(inplace=True), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(inplace=True))
        self.norm2 = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.inception_3a = BvlcInception(32, 8, 8, 16, 4, 8, 8)
        self.inception_3b = BvlcInception(40, 16, 12, 16, 4, 8, 8)
        self.pool3 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.inception_4a = BvlcInception(48, 16, 8, 16, 4, 8, 8)
        self.pool5 = nn.AdaptiveAvgPool2d((1, 1))
        self.drop = nn.Dropout(0.4)
        self.loss3_classifier = nn.Linear(48, num_classes)

    def forward(self, x):
        x = self.norm1(self.pool1(self.conv1(x)))
        x = self.pool2(self.norm2(self.conv2(x)))
        x = self.pool3(self.inception_3b(self.inception_3a(x)))
        x = self.pool5(self.inception_4a(x))
        return self.loss3_classifier(self.drop(torch.flatten(x, 1)))


class Attention(nn.Module):
    """Multi-head self-attention over (B, N, C) tokens with an optional learned relative position bias."""

    def __init__(self, dim, heads, window=None):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.window = window
        if window is not None:
            self.bias_table = nn.Parameter(torch.randn((2 * window - 1) ** 2, heads) * 0.1)
            coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
            rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
            self.register_buffer("bias_index", rel[..., 0] * (2 * window - 1) + rel[..., 1], persistent=False)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * (C // self.heads) ** -0.5) @ k.transpose(-2, -1)
        if self.window is not None:
            bias = self.bias_table[self.bias_index.reshape(-1)].reshape(N, N, self.heads).permute(2, 0, 1)
            attn = attn + bias.unsqueeze(0)
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class PartitionAttention(nn.Module):
    """MaxViT's block (window) or grid attention: partition, pre-LN attention and MLP, un-partition."""

    def __init__(self, dim, heads, p, grid):
        super().__init__()
        self.p = p
        self.grid = grid
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, window=p)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def partition(self, x):
        B, C, H, W = x.shape
        p = self.p
        if self.grid:  # p x p tokens spread over the whole map, stride H // p
            x = x.reshape(B, C, p, H // p, p, W // p).permute(0, 3, 5, 2, 4, 1)
        else:  # p x p windows
            x = x.reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(-1, p * p, C)

    def unpartition(self, t, shape):
        B, C, H, W = shape
        p = self.p
        if self.grid:
            t = t.reshape(B, H // p, W // p, p, p, C).permute(0, 5, 3, 1, 4, 2)
        else:
            t = t.reshape(B, H // p, W // p, p, p, C).permute(0, 5, 1, 3, 2, 4)
        return t.reshape(B, C, H, W)

    def forward(self, x):
        t = self.partition(x)
        t = t + self.attn(self.norm1(t))
        t = t + self.mlp(self.norm2(t))
        return self.unpartition(t, x.shape)


class MBConv(nn.Module):
    """MaxViT's MBConv: pre-BN, 1x1 expand, depthwise 3x3, squeeze-excitation (SiLU, sigmoid), 1x1 project."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        mid = 2 * cout
        self.pre = nn.BatchNorm2d(cin)
        self.expand = nn.Sequential(nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.GELU())
        self.dw = nn.Sequential(nn.Conv2d(mid, mid, 3, stride=stride, padding=1, groups=mid, bias=False), nn.BatchNorm2d(mid), nn.GELU())
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(mid, mid // 4, 1), nn.SiLU(), nn.Conv2d(mid // 4, mid, 1), nn.Sigmoid())
        self.project = nn.Conv2d(mid, cout, 1)
        self.shortcut = nn.Sequential(nn.AvgPool2d(3, stride, 1), nn.Conv2d(cin, cout, 1)) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        h = self.dw(self.expand(self.pre(x)))
        h = self.project(h * self.se(h))
        return self.shortcut(x) + h


class MaxVitBlock(nn.Module):
    def __init__(self, cin, cout, stride, heads, p):
        super().__init__()
        self.mbconv = MBConv(cin, cout, stride)
        self.block_attn = PartitionAttention(cout, heads, p, grid=False)
        self.grid_attn = PartitionAttention(cout, heads, p, grid=True)

    def forward(self, x):
        return self.grid_attn(self.block_attn(self.mbconv(x)))


class SmallMaxViT(nn.Module):
    """MaxViT-style: conv stem, then blocks of MBConv + block attention + grid attention, pooled LN head."""

    def __init__(self, num_classes=NUM_CLASSES):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.GELU(), nn.Conv2d(16, 16, 3, padding=1))
        self.stage1 = MaxVitBlock(16, 16, 1, 2, 4)
        self.stage2 = MaxVitBlock(16, 32, 2, 2, 4)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.norm = nn.LayerNorm(32)
        self.head = nn.Sequential(nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, num_classes))

    def forward(self, x):
        x = self.stage2(self.stage1(self.stem(x)))
        return self.head(self.norm(torch.flatten(self.pool(x), 1)))


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    """CLIP's transformer block: pre-LN, nn.MultiheadAttention on (L, N, D), MLP with QuickGELU."""

    def __init__(self, d, heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads)
        self.ln_1 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), QuickGELU(), nn.Linear(4 * d, d))
        self.ln_2 = nn.LayerNorm(d)

    def forward(self, x):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class ClipVisionTower(nn.Module):
    """CLIP's VisionTransformer image tower: conv patch embed without bias, class token, positional
    embedding, ln_pre, pre-LN transformer, ln_post on the class token, projection matrix."""

    def __init__(self, width=32, layers=2, heads=4, patch=8, image=32, out_dim=16):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((image // patch) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = nn.Sequential(*[ResidualAttentionBlock(width, heads) for _ in range(layers)])
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, out_dim))

    def forward(self, x):
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = self.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype, device=x.device)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x).permute(1, 0, 2)
        x = self.transformer(x).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class ClipBottleneck(nn.Module):
    """CLIP's ModifiedResNet bottleneck: every conv stride 1, an average pool before the third conv when
    strided, and an average-pool + 1x1 conv + BN shortcut."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU(inplace=True)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu3 = nn.ReLU(inplace=True)
        self.downsample = None
        if stride > 1 or inplanes != planes * 4:
            self.downsample = nn.Sequential(nn.AvgPool2d(stride), nn.Conv2d(inplanes, planes * 4, 1, bias=False), nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(self.avgpool(out)))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu3(out + identity)


class AttentionPool2d(nn.Module):
    """CLIP's attention pooling: the mean token attends to every position (F.multi_head_attention_forward
    with separate q/k/v projections), then the output projection."""

    def __init__(self, spacial_dim, embed_dim, num_heads, output_dim):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(spacial_dim ** 2 + 1, embed_dim) / embed_dim ** 0.5)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.c_proj = nn.Linear(embed_dim, output_dim)
        self.num_heads = num_heads

    def forward(self, x):
        x = x.flatten(start_dim=2).permute(2, 0, 1)  # NCHW -> (HW)NC
        x = torch.cat([x.mean(dim=0, keepdim=True), x], dim=0)
        x = x + self.positional_embedding[:, None, :].to(x.dtype)
        x, _ = F.multi_head_attention_forward(
            query=x[:1], key=x, value=x, embed_dim_to_check=x.shape[-1], num_heads=self.num_heads,
            q_proj_weight=self.q_proj.weight, k_proj_weight=self.k_proj.weight, v_proj_weight=self.v_proj.weight,
            in_proj_weight=None, in_proj_bias=torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]),
            bias_k=None, bias_v=None, add_zero_attn=False, dropout_p=0.0,
            out_proj_weight=self.c_proj.weight, out_proj_bias=self.c_proj.bias,
            use_separate_proj_weight=True, training=self.training, need_weights=False,
        )
        return x.squeeze(0)


class ClipModifiedResNet(nn.Module):
    """CLIP's ResNet image tower (RN50 layout at small width): three-conv stem with an average pool,
    anti-aliased bottlenecks, attention pooling."""

    def __init__(self, layers=(1, 1, 1), width=8, heads=2, output_dim=16, image=32):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width // 2, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width // 2)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width // 2, width // 2, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width // 2)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv3 = nn.Conv2d(width // 2, width, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.relu3 = nn.ReLU(inplace=True)
        self.avgpool = nn.AvgPool2d(2)
        self._inplanes = width
        stages = [self._make_layer(width * 2 ** i, n, stride=1 if i == 0 else 2) for i, n in enumerate(layers)]
        self.layers = nn.Sequential(*stages)
        embed_dim = width * 2 ** (len(layers) - 1) * 4
        self.attnpool = AttentionPool2d(image // 4 // 2 ** (len(layers) - 1), embed_dim, heads, output_dim)

    def _make_layer(self, planes, blocks, stride):
        layers = [ClipBottleneck(self._inplanes, planes, stride)]
        self._inplanes = planes * 4
        layers += [ClipBottleneck(self._inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.relu2(self.bn2(self.conv2(x)))
        x = self.avgpool(self.relu3(self.bn3(self.conv3(x))))
        return self.attnpool(self.layers(x))


# family -> (builder, input size H=W)
FAMILIES = {
    "resnet": (resnet, 32),
    "resnext": (resnext, 32),
    "densenet": (densenet_, 32),
    "inception3": (SmallInception3, 32),
    "mobilenet2": (mobilenet_v2, 32),
    "mobilenet3": (mobilenet_v3, 32),
    "efficientnet": (efficientnet_, 32),
    "shufflenet": (shufflenet, 32),
    "squeezenet": (squeezenet, 32),
    "regnet": (regnet_, 32),
    "mnasnet": (mnasnet_, 32),
    "convnext": (convnext_, 32),
    "vit": (vit, 32),
    "alexnet": (AlexNet, 32),
    "swin": (swin, 64),
    "maxvit": (SmallMaxViT, 32),
    "clip": (ClipVisionTower, 32),
    "cliprn": (ClipModifiedResNet, 32),
    "googlenet": (BvlcGoogLeNet, 32),
}
