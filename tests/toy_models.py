"""A toy architecture defined outside the package, for tests/test_extension.py."""
from torch import nn


class ToyNet(nn.Module):
    """conv 3x3 -> ReLU -> 2x2 max-pool -> conv 3x3 -> ReLU -> global average -> linear."""

    def __init__(self, num_classes=10, in_channels=3, width_factor=1.0, input_size=32):
        super().__init__()
        c = max(1, round(8 * width_factor))
        self.features = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(c, c, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def stripes(spec):
    """A toy data set kind: horizontal (class 0) or vertical (class 1) stripes of random phase and
    period, 3 x 32 x 32, from the entry's seed; n_train, n_val, n_test images."""
    import torch

    from spatialpool.data.images import ImageSplits

    gen = torch.Generator().manual_seed(spec["seed"])

    def images(n):
        y = torch.randint(0, 2, (n,), generator=gen)
        period = torch.randint(3, 9, (n, 1, 1), generator=gen).double()
        phase = torch.rand((n, 1, 1), generator=gen, dtype=torch.float64) * 6.2832
        grid = torch.arange(32, dtype=torch.float64)
        rows, cols = grid.view(1, 32, 1).expand(n, 32, 32), grid.view(1, 1, 32).expand(n, 32, 32)
        along = torch.where(y.view(n, 1, 1) == 0, rows, cols)
        x = 0.5 + 0.5 * torch.sin(6.2832 * along / period + phase)
        return x[:, None].expand(n, 3, 32, 32).float().contiguous(), y

    (xt, yt), (xv, yv), (xs, ys) = images(spec["n_train"]), images(spec["n_val"]), images(spec["n_test"])
    return ImageSplits("stripes", xt, yt, xv, yv, xs, ys, mean=(0.5,) * 3, std=(0.35,) * 3, classes=[0, 1],
                       info=dict(seed=spec["seed"]))
