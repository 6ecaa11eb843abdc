"""Channel shuffle (paper sec. 2, figs 3, C2, C4; README, 'Real images'), and its control.

The ablation permutes the input-channel axis of every Conv2d weight [out, in, kh, kw] with one
random permutation per layer, shared by all the layer's filters; the first conv and shortcut
convs are included, biases, BatchNorm and Linear layers are left alone. Each filter keeps its
spatial shape, but it now reads a different input channel: channel pooling (channels that were
learnt together) is broken while spatial pooling (each filter's own shape) is kept.

The control is a consistent permutation: permute layer l's output channels (weight rows, bias,
the following BatchNorm's parameters and running statistics) and layer l+1's input channels with
the same permutation. That is a symmetry of the net, so it must leave f unchanged; the ablation,
which permutes inputs only, must not.

Grouped convolutions are permuted along their weight's axis 1 (within a group), the same
permutation for every group. Models are deep-copied; the argument is never modified.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn


def input_permutations(model: nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """The ablation's permutation of every Conv2d's input axis, by module name (module order)."""
    gen = torch.Generator().manual_seed(seed)
    return {name: torch.randperm(m.weight.shape[1], generator=gen)
            for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}


def shuffle_channels(model: nn.Module, seed: int) -> nn.Module:
    """A copy of the model with every Conv2d's input channels shuffled (one permutation per layer)."""
    shuffled = copy.deepcopy(model)
    modules = dict(shuffled.named_modules())
    with torch.no_grad():
        for name, perm in input_permutations(model, seed).items():
            w = modules[name].weight
            w.copy_(w[:, perm.to(w.device)])
    return shuffled


def shuffled_models(model: nn.Module, seeds: Sequence[int]) -> list[nn.Module]:
    """Several independent shuffles of one net, one per seed."""
    return [shuffle_channels(model, s) for s in seeds]


def _permute_inputs(module: nn.Module, perm: torch.Tensor):
    w = module.weight
    if isinstance(module, nn.Conv2d):
        if module.groups != 1:
            raise ValueError("a consistent permutation of a grouped conv's inputs is not a symmetry")
        w.copy_(w[:, perm])
    elif isinstance(module, nn.Linear):
        # after a flatten of [C, H, W], feature c * H * W + s belongs to channel c
        if w.shape[1] % len(perm):
            raise ValueError(f"Linear with {w.shape[1]} inputs does not follow {len(perm)} channels")
        w.copy_(w.view(w.shape[0], len(perm), -1)[:, perm].reshape(w.shape))
    else:
        raise TypeError(f"cannot permute the inputs of {type(module).__name__}")


def permute_consistently(model: nn.Module, producer: str, perm: torch.Tensor,
                         norms: Sequence[str] = (), consumers: Sequence[str] = ()) -> nn.Module:
    """A copy in which `producer`'s output channels, `norms`' channels and `consumers`' inputs are permuted.

    producer: Conv2d or Linear; norms: BatchNorm layers on its output; consumers: every Conv2d or
    Linear that reads it. Element-wise activations and pooling commute with the permutation.
    """
    out = copy.deepcopy(model)
    modules = dict(out.named_modules())
    with torch.no_grad():
        prod = modules[producer]
        perm = perm.to(prod.weight.device)
        prod.weight.copy_(prod.weight[perm])
        if prod.bias is not None:
            prod.bias.copy_(prod.bias[perm])
        for name in norms:
            bn = modules[name]
            for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
                if t is not None:
                    t.copy_(t[perm])
        for name in consumers:
            _permute_inputs(modules[name], perm)
    return out


def chain_permutation(model: nn.Module, seed: int) -> nn.Module:
    """Consistent random permutations of every Conv2d's outputs in a plain chain (VGG-like nets).

    Assumes the registration order of the leaf modules is the data flow with no skips: each conv's
    outputs go through the BatchNorms up to the next Conv2d or Linear, which reads them.
    """
    leaves = [(n, m) for n, m in model.named_modules() if next(m.children(), None) is None]
    gen = torch.Generator().manual_seed(seed)
    out = model
    for i, (name, m) in enumerate(leaves):
        if not isinstance(m, nn.Conv2d):
            continue
        norms, consumer = [], None
        for n2, m2 in leaves[i + 1:]:
            if isinstance(m2, nn.BatchNorm2d):
                norms.append(n2)
            elif isinstance(m2, (nn.Conv2d, nn.Linear)):
                consumer = n2
                break
        if consumer is not None:
            perm = torch.randperm(m.out_channels, generator=gen)
            out = permute_consistently(out, name, perm, norms, [consumer])
    return out if out is not model else copy.deepcopy(model)
