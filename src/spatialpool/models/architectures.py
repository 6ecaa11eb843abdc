"""CIFAR-style networks of Table C1 (README, 'Real images'), written as plain torch.nn classes.

Not torchvision's ImageNet constructors: 32x32 inputs, 10 outputs by default.

- FCN-L (L = 2, 4, 6 weight layers, width 64): hidden h = relu(x W / sqrt(fan_in) + b),
  W, b ~ N(0, 1); output x W / fan_in without bias (the authors' parametrisation).
- LeNet: conv5 6, max-pool, conv5 16, max-pool, fc 120, 84, 10.
- AlexNet (CIFAR variant): conv3 stride 2 then 64-192-384-256-256 with three max-pools,
  fc 4096, 4096 with dropout.
- VGG11/13/16/19 [+BN]: 3x3 convs that keep their bias even before BN, max-pools down to
  1x1, one Linear(512, classes).
- ResNet18/34/50: 3x3 stem, no max-pool, stages 64-512, average pool 4, linear.
- EfficientNetB0 (kuangliu-style CIFAR variant): no 1280-channel head; swish, squeeze-excite,
  drop-connect in the skip blocks, dropout before the linear layer. Unlike kuangliu's code, no
  unused expansion conv is created for the expansion-1 block.

Every activation is its own non-in-place module, so a forward hook on a conv or BN sees that
layer's output, not the value a later in-place ReLU wrote over it (a defect of the authors' code, README).

`width_factor` (default 1 = the paper) multiplies every hidden width, conv channels and
hidden fc units alike, so that the CPU default configuration can train narrow versions;
parameter counts then scale about as width_factor^2. `in_channels` and `num_classes` adapt
the nets to 1-channel scale-detection images with one hinge output. `input_size` only
changes the flattened size seen by the first fc layer (FCN, LeNet, AlexNet, VGG); VGG needs
32 (five halvings down to 1x1), which is why the 28x28 scale-detection images are
zero-padded to 32 in the data.
"""
from __future__ import annotations

import math
from functools import partial

import torch
from torch import nn

from spatialpool.models.registry import spec


def scaled(channels: int, width_factor: float) -> int:
    return max(1, int(round(channels * width_factor)))


# --------------------------------------------------------------------------- FCN


class ScaledLinear(nn.Module):
    """y = x W^T * scale (+ b), W and b ~ N(0, 1): the scale lives in the forward pass."""

    measurement_role = "inner"  # a linear map, measured but not a layer (measurement/estimator.py)

    def __init__(self, fan_in: int, fan_out: int, scale: float, bias: bool = True):
        super().__init__()
        self.in_features, self.out_features, self.scale = fan_in, fan_out, scale
        self.weight = nn.Parameter(torch.randn(fan_out, fan_in))
        self.bias = nn.Parameter(torch.randn(fan_out)) if bias else None

    def forward(self, x):
        y = x @ self.weight.t() * self.scale
        return y + self.bias if self.bias is not None else y


class FCN(nn.Module):
    def __init__(self, depth: int, width: int = 64, num_classes: int = 10, in_channels: int = 3,
                 width_factor: float = 1.0, input_size: int = 32):
        super().__init__()
        width = scaled(width, width_factor)
        layers: list[nn.Module] = [nn.Flatten()]
        fan_in = in_channels * input_size * input_size
        for _ in range(depth - 1):
            layers += [ScaledLinear(fan_in, width, 1 / math.sqrt(fan_in)), nn.ReLU()]
            fan_in = width
        layers.append(ScaledLinear(fan_in, num_classes, 1 / fan_in, bias=False))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


# --------------------------------------------------------------------------- LeNet, AlexNet


class LeNet(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 3, width_factor: float = 1.0,
                 input_size: int = 32):
        super().__init__()
        c1, c2, f1, f2 = (scaled(c, width_factor) for c in (6, 16, 120, 84))
        side = ((input_size - 4) // 2 - 4) // 2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c2 * side * side, f1), nn.ReLU(),
            nn.Linear(f1, f2), nn.ReLU(), nn.Linear(f2, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class AlexNet(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 3, width_factor: float = 1.0,
                 input_size: int = 32, dropout: float = 0.5):
        super().__init__()
        c = [scaled(k, width_factor) for k in (64, 192, 384, 256, 256)]
        fc = scaled(4096, width_factor)
        side = (input_size - 1) // 2 + 1  # 3x3 stride-2 conv, padding 1
        side = side // 2 // 2 // 2       # three max-pools
        if side < 1:
            raise ValueError(f"AlexNet needs input_size >= 16, got {input_size}")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c[0], 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c[0], c[1], 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c[1], c[2], 3, padding=1), nn.ReLU(),
            nn.Conv2d(c[2], c[3], 3, padding=1), nn.ReLU(),
            nn.Conv2d(c[3], c[4], 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(c[4] * side * side, fc), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(fc, fc), nn.ReLU(), nn.Linear(fc, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


# --------------------------------------------------------------------------- VGG

VGG_LAYOUTS = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
         512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


class VGG(nn.Module):
    def __init__(self, depth: int, batch_norm: bool = False, num_classes: int = 10,
                 in_channels: int = 3, width_factor: float = 1.0, input_size: int = 32):
        super().__init__()
        layers: list[nn.Module] = []
        channels, side = in_channels, input_size
        for item in VGG_LAYOUTS[depth]:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
                side //= 2
                continue
            out = scaled(item, width_factor)
            layers.append(nn.Conv2d(channels, out, 3, padding=1, bias=True))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.ReLU())
            channels = out
        if side < 1:
            raise ValueError(f"VGG halves the image five times and needs input_size >= 32, got {input_size}")
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(channels * side * side, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


# --------------------------------------------------------------------------- ResNet


class BasicBlock(nn.Module):
    expansion = 1
    skip = True

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = _shortcut(in_planes, planes * self.expansion, stride)
        self.relu2 = nn.ReLU()

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4
    skip = True

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.shortcut = _shortcut(in_planes, planes * self.expansion, stride)
        self.relu3 = nn.ReLU()

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu3(out + self.shortcut(x))


def _shortcut(in_planes: int, out_planes: int, stride: int) -> nn.Module:
    if stride == 1 and in_planes == out_planes:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False),
                         nn.BatchNorm2d(out_planes))


RESNET_LAYOUTS = {18: (BasicBlock, [2, 2, 2, 2]), 34: (BasicBlock, [3, 4, 6, 3]),
                  50: (Bottleneck, [3, 4, 6, 3])}


class ResNet(nn.Module):
    def __init__(self, depth: int, num_classes: int = 10, in_channels: int = 3,
                 width_factor: float = 1.0, input_size: int = 32):
        super().__init__()
        block, counts = RESNET_LAYOUTS[depth]
        planes = [scaled(p, width_factor) for p in (64, 128, 256, 512)]
        self.conv1 = nn.Conv2d(in_channels, planes[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes[0])
        self.relu = nn.ReLU()
        in_planes, stages = planes[0], []
        for i, (p, n) in enumerate(zip(planes, counts)):
            blocks = []
            for stride in [1 if i == 0 else 2] + [1] * (n - 1):
                blocks.append(block(in_planes, p, stride))
                in_planes = p * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        side = input_size
        for _ in range(3):
            side = (side - 1) // 2 + 1
        if side < 4:
            raise ValueError(f"ResNet's average pool 4 needs input_size >= 25, got {input_size}")
        self.pool = nn.AvgPool2d(4)
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(in_planes * (side // 4) ** 2, num_classes)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.linear(self.flatten(self.pool(out)))


# --------------------------------------------------------------------------- EfficientNetB0

# (expansion, out channels, blocks, kernel, first stride) per stage.
EFFICIENTNET_B0 = [(1, 16, 1, 3, 1), (6, 24, 2, 3, 2), (6, 40, 2, 5, 2), (6, 80, 3, 3, 2),
                   (6, 112, 3, 5, 1), (6, 192, 4, 5, 2), (6, 320, 1, 3, 1)]


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduced: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.act = nn.SiLU()
        self.expand = nn.Conv2d(reduced, channels, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        return x * self.gate(self.expand(self.act(self.reduce(x.mean((2, 3), keepdim=True)))))


class DropConnect(nn.Module):
    """Drop the whole residual branch of a sample with probability p (training only)."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = 1 - self.p
        mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
        return x * mask / keep


class MBConv(nn.Module):
    """Inverted residual: [1x1 expand] -> depthwise kxk -> squeeze-excite -> 1x1 project."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int,
                 expansion: int, se_ratio: float = 0.25, drop_rate: float = 0.0):
        super().__init__()
        hidden = in_channels * expansion
        self.expand = None
        if expansion != 1:
            self.expand = nn.Sequential(nn.Conv2d(in_channels, hidden, 1, bias=False),
                                        nn.BatchNorm2d(hidden), nn.SiLU())
        self.depthwise = nn.Sequential(
            nn.Conv2d(hidden, hidden, kernel, stride=stride, padding=(kernel - 1) // 2,
                      groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.SiLU())
        self.se = SqueezeExcite(hidden, max(1, int(in_channels * se_ratio)))
        self.project = nn.Sequential(nn.Conv2d(hidden, out_channels, 1, bias=False),
                                     nn.BatchNorm2d(out_channels))
        self.skip = stride == 1 and in_channels == out_channels
        self.drop = DropConnect(drop_rate) if self.skip else nn.Identity()

    def forward(self, x):
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.se(self.depthwise(out)))
        return x + self.drop(out) if self.skip else out


class EfficientNet(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 3, width_factor: float = 1.0,
                 input_size: int = 32, dropout: float = 0.2, drop_connect: float = 0.2,
                 stages=EFFICIENTNET_B0):
        super().__init__()
        stem = scaled(32, width_factor)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(stem), nn.SiLU())
        total = sum(n for _, _, n, _, _ in stages)
        blocks, channels, b = [], stem, 0
        for expansion, out, n, kernel, stride in stages:
            out = scaled(out, width_factor)
            for s in [stride] + [1] * (n - 1):
                blocks.append(MBConv(channels, out, kernel, s, expansion,
                                     drop_rate=drop_connect * b / total))
                channels, b = out, b + 1
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.linear(self.dropout(self.flatten(self.pool(self.blocks(self.stem(x))))))


# --------------------------------------------------------------------------- registry

ARCHITECTURES = {
    "fcn2": partial(FCN, 2), "fcn4": partial(FCN, 4), "fcn6": partial(FCN, 6),
    "lenet": LeNet,
    "alexnet": AlexNet,
    **{f"vgg{d}{'_bn' if bn else ''}": partial(VGG, d, bn) for d in VGG_LAYOUTS for bn in (False, True)},
    **{f"resnet{d}": partial(ResNet, d) for d in RESNET_LAYOUTS},
    "efficientnet_b0": EfficientNet,
}


def build(name: str, num_classes: int = 10, in_channels: int = 3, width_factor: float = 1.0,
          input_size: int = 32) -> nn.Module:
    """The nn.Module of a registered image architecture (registry.py), in float32 on the CPU.

    Raises ValueError naming the registered image architectures for an unknown name.
    """
    from spatialpool.models.registry import REGISTRY, image_architectures
    if name not in image_architectures():
        raise ValueError(f"unknown architecture {name!r}: expected one of {sorted(image_architectures())}")
    builder = REGISTRY[name].builder
    if builder is None:
        make = ARCHITECTURES[name]
    else:
        import importlib
        module, attr = builder.split(":")
        make = getattr(importlib.import_module(module), attr)
    return make(num_classes=num_classes, in_channels=in_channels, width_factor=width_factor, input_size=input_size)


def is_fully_connected(name: str) -> bool:
    """Whether the registry declares the architecture fully connected (no filters to shuffle)."""
    return spec(name).kind == "fully_connected"


WEIGHT_LAYER_TYPES = (nn.Conv2d, nn.Linear, ScaledLinear)


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Conv/linear layers on the main path in forward order; shortcut projections and
    squeeze-excite gates are side branches and left out."""
    side = [name for name, m in model.named_modules()
            if isinstance(m, SqueezeExcite) or name.endswith("shortcut")]
    return [(name, m) for name, m in model.named_modules()
            if isinstance(m, WEIGHT_LAYER_TYPES) and not any(name.startswith(s + ".") for s in side)]


def describe(name: str, model: nn.Module | None = None) -> dict:
    """Table C1's row for one architecture, read off the built model."""
    model = build(name) if model is None else model
    mods = list(model.modules())
    has = lambda *types: any(isinstance(m, types) for m in mods)
    acts = sorted({{nn.ReLU: "ReLU", nn.SiLU: "Swish"}[type(m)] for m in mods if isinstance(m, (nn.ReLU, nn.SiLU))})
    if has(nn.MaxPool2d):
        pooling = "Max"
    elif has(nn.AvgPool2d, nn.AdaptiveAvgPool2d):
        pooling = "Avg. (last)"
    else:
        pooling = "-"
    dropout = "Yes" if has(nn.Dropout) else "-"
    if has(DropConnect) and any(m.p > 0 for m in mods if isinstance(m, DropConnect)):
        dropout += " + DropConnect"
    return dict(
        name=name,
        depth=len(weight_layers(model)),
        parameters=sum(p.numel() for p in model.parameters()),
        fc_layers=sum(isinstance(m, (nn.Linear, ScaledLinear)) for m in mods),
        activation=", ".join(acts),
        pooling=pooling,
        dropout=dropout,
        batch_norm="Yes" if has(nn.BatchNorm2d) else "-",
        skip_connections="Yes" if any(getattr(m, "skip", False) for m in mods) else "-",
    )


def table_c1(names=None):
    """Table C1 generated from the definitions above (10 classes, 3 channels, width factor 1).

    depth counts weight layers on the main path (so the CIFAR VGG11 has 9: 8 convs and one
    linear; the paper's Table C1 quotes the ImageNet names 11/16/19).
    """
    import pandas as pd
    return pd.DataFrame([describe(n) for n in (names or ARCHITECTURES)])


def from_arch(arch: dict) -> nn.Module:
    """build() from a checkpoint's arch record {"name", "num_classes", "in_channels", "width_factor", "input_size"}."""
    return build(**arch)
