"""Training protocols of the image architectures (paper app. C.1; README, 'Real images').

The settings only, as a dataclass (no torch: Snakemake reads them while it parses the rule files,
to turn each net's resolved settings into its rerun-triggering params). The training loop that
applies them is training/images.py. Which protocol family an architecture follows is declared
in the model registry (registry.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from spatialpool.models.registry import spec


@dataclass
class ImageTrainConfig:
    epochs: int = 250
    batch_size: int = 128
    optimizer: str = "sgd"              # "sgd" (CNNs) or "adam" (FCNs)
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4          # on parameters with ndim != 1 only
    schedule: str = "cosine"            # "cosine" or "constant"
    cosine_t_max_fraction: float = 0.8  # T_max = round(fraction * epochs); the authors' 0.8
    loss: str = "cross_entropy"         # or "hinge" (one output, labels +-1)
    augment: bool = True                # random crop with zero padding + horizontal flip
    crop_padding: int = 4
    flip: bool = True
    noise_std: float = 0.0              # noisy CIFAR-10: x + std z / sqrt(CHW), train and test
    selection: str = "validation"       # "validation" or "test" (the authors)
    eval_train: bool = True             # clean training error every epoch (one extra forward pass)
    eval_batch_size: int = 1000
    device: str = "auto"                # "auto": CUDA when available
    amp_bf16: bool = True               # CUDA only
    channels_last: bool = True          # NHWC for nets with convolutions, CPU and CUDA (memory_format_for)
    progress_seconds: float = 10.0
    # the training trajectory: also keep the weights after these epochs (states "epoch<n>")
    trajectory_epochs: tuple[int, ...] = ()

    def __post_init__(self):
        self.trajectory_epochs = tuple(sorted({int(e) for e in self.trajectory_epochs}))
        checks = {"optimizer": ("sgd", "adam"), "schedule": ("cosine", "constant"),
                  "loss": ("cross_entropy", "hinge"), "selection": ("validation", "test")}
        for key, allowed in checks.items():
            if getattr(self, key) not in allowed:
                raise ValueError(f"{key}={getattr(self, key)!r}: expected one of {allowed}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        outside = [e for e in self.trajectory_epochs if not 1 <= e <= self.epochs]
        if outside:
            raise ValueError(f"trajectory_epochs {outside} are outside 1..epochs = {self.epochs}")


def paper_protocol(task: str, arch: str, epochs: int = 250, **overrides) -> ImageTrainConfig:
    """The authors' settings for `arch` on task 'images' (CIFAR-10, digits) or 'scale_detection'."""
    if task not in ("images", "scale_detection"):
        raise ValueError(f"unknown task {task!r}: expected 'images' or 'scale_detection'")
    cfg: dict = dict(epochs=epochs)
    if task == "scale_detection":
        cfg.update(loss="hinge", lr=0.05, augment=False)
    if spec(arch).protocol == "adam":
        cfg.update(optimizer="adam", lr=0.1, weight_decay=0.0, schedule="constant")
    return ImageTrainConfig(**(cfg | overrides))
