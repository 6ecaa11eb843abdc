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
