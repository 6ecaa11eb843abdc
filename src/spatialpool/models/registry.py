"""The model registry: every architecture the workflow trains or measures, declared in one place.

Each entry says what the rest of the workflow must know about an architecture without building
it (this module imports no torch, so Snakemake can read it while it parses the rule files):

- ``protocol``: the training protocol family (paper app. C.1; README, 'Real images'):
  ``"sgd_cosine"`` (CNNs: SGD, momentum, weight decay, cosine schedule), ``"adam"`` (FCNs: Adam,
  no weight decay, constant lr) or ``"simple_cnn"`` (sec. 4.3: plain SGD on the stacked 1D nets);
- ``kind``: ``"conv"`` (has convolution filters: channel shuffles, mean channel and filter
  spectra apply) or ``"fully_connected"``;
- ``min_side``: the smallest square input side the architecture accepts (VGGs pool five times);
- ``points``: where its representations f_k are measured (eq. 1). ``"modules"``: the outputs of
  the modules measurement/estimator.py's ``default_points`` picks, strictly (a leaf module of a
  type with no rule is an error, not a silent omission); activations, blocks and the output are
  the layers the paper plots against depth, convolutions, normalisations, linear maps and
  pooling are measured as inner points. ``"hidden"``: the net's own ``hidden(x)``, the list of
  its hidden representations h_1 ... h_K (the 1D simple CNNs, sec. 4.1), every one a layer;
- ``module``: the module that builds it (``spatialpool.models.architectures.ARCHITECTURES`` for the image
  architectures, ``spatialpool.models.simple_cnn`` for the 1D nets);
- ``builder``: for an architecture defined outside the package, ``"module:callable"``, a callable
  taking (num_classes, in_channels, width_factor, input_size) like those of architectures.py.
  ``register(Architecture("mynet", "sgd_cosine", "conv", "mylab.models", builder="mylab.models:MyNet"))``
  is then the only place the new architecture is declared: architectures.build finds it.

Raises KeyError (naming the allowed architectures) for an unknown name in ``spec``.
"""
from __future__ import annotations

from dataclasses import dataclass

from spatialpool.registry import Registry


@dataclass(frozen=True)
class Architecture:
    name: str
    protocol: str
    kind: str
    module: str
    min_side: int = 1
    builder: str | None = None
    points: str = "modules"

    def __post_init__(self):
        if self.protocol not in ("sgd_cosine", "adam", "simple_cnn"):
            raise ValueError(f"{self.name}: unknown protocol family {self.protocol!r}")
        if self.kind not in ("conv", "fully_connected"):
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")
        if self.points not in ("modules", "hidden"):
            raise ValueError(f"{self.name}: unknown measurement points {self.points!r}")

    @property
    def is_conv(self) -> bool:
        return self.kind == "conv"


REGISTRY = Registry("architecture")


def register(arch: Architecture) -> Architecture:
    """Add an architecture (a name already registered is an error: names are paths and table keys)."""
    return REGISTRY.add(arch.name, arch)


def spec(name: str) -> Architecture:
    return REGISTRY.lookup(name)


_IMAGES = "spatialpool.models.architectures"
register(Architecture("simple_cnn", "simple_cnn", "conv", "spatialpool.models.simple_cnn", points="hidden"))
for _depth in (2, 4, 6):
    register(Architecture(f"fcn{_depth}", "adam", "fully_connected", _IMAGES))
register(Architecture("lenet", "sgd_cosine", "conv", _IMAGES))
register(Architecture("alexnet", "sgd_cosine", "conv", _IMAGES))
for _depth in (11, 13, 16, 19):
    for _bn in ("", "_bn"):
        register(Architecture(f"vgg{_depth}{_bn}", "sgd_cosine", "conv", _IMAGES, min_side=32))
for _depth in (18, 34, 50):
    register(Architecture(f"resnet{_depth}", "sgd_cosine", "conv", _IMAGES))
register(Architecture("efficientnet_b0", "sgd_cosine", "conv", _IMAGES))


def build(arch: dict, state: dict | None = None):
    """The torch module a checkpoint's ``arch`` record describes (training/checkpoints.py), with
    ``state`` loaded when given. ``arch["name"]`` picks the registered architecture; the other
    keys are its build settings (1D nets: SimpleCNN's hyperparameters; image nets: num_classes,
    in_channels, width_factor, input_size). KeyError naming the registered ones for an unknown name."""
    import importlib

    a = spec(arch["name"])
    net = importlib.import_module(a.module if a.builder is None else _IMAGES).from_arch(arch)
    if state is not None:
        net.load_state_dict(state)
    return net


def image_architectures() -> list[str]:
    """The architectures trained on images: Table C1's and any registered since, in registration order."""
    return [n for n, a in REGISTRY.items() if a.protocol != "simple_cnn"]


def unregister(name: str) -> None:
    """Remove an architecture (tests register toy ones and clean up)."""
    REGISTRY.pop(name)
