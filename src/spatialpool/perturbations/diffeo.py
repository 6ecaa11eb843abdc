"""Random diffeomorphisms of n x n images (Petrini et al. 2021 sampler, README, 'Real images').

Pixel p sits at u = p / (n - 1), so both image borders are on the grid and every sine mode
vanishes there: the displacement is zero on the border. Each of the two displacement
components (x: along the width, the last axis; y: along the height) is

    tau(u, v) = n * sum_{i, j >= 1, sqrt(i^2 + j^2) < c + 1/2} C_ij sin(i pi u) sin(j pi v),
    C_ij ~ N(0, T / (i^2 + j^2)),

with u the x (column) and v the y (row) coordinate. The warp pulls back, out(p) = in(p - tau(p)),
with source coordinates clamped to [0, n - 1] and bilinear interpolation. Every image of a batch
gets its own field, shared by its channels.

The batched path builds all fields with one einsum and warps with one grid_sample
(align_corners=True maps pixel p to p exactly); `deform_loop` in benchmarks/baselines.py is the plain per-image version of
the same maths (explicit bilinear gather), kept as the reference and the benchmark's baseline.
"""
from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F_


def temperature_bounds(n: int, cut: int = 3) -> tuple[float, float]:
    """(T1, T2): T1 displaces pixels by about half a pixel, T2 is the largest T without overhangs."""
    return 1 / (math.pi * n ** 2 * math.log(cut)), 4 / (math.pi ** 3 * cut ** 2 * math.log(cut))


def temperature(delta: float, n: int, cut: int = 3) -> float:
    """The authors' T for a nominal displacement delta (pixels): 4 delta^2 / (pi n^2 ln c)."""
    return 4 * delta ** 2 / (math.pi * n ** 2 * math.log(cut))


@lru_cache(maxsize=16)
def modes(cut: int) -> torch.Tensor:
    """[M, 2] integer (i, j) of the kept modes, i, j >= 1 and sqrt(i^2 + j^2) < cut + 1/2.

    Cached (one table per cut, read-only for callers): the per-image sampler asks for it once per image."""
    k = torch.arange(1, cut + 1)
    i, j = torch.meshgrid(k, k, indexing="ij")
    keep = (i ** 2 + j ** 2) < (cut + 0.5) ** 2
    return torch.stack([i[keep], j[keep]], 1)


def sample_coefficients(batch: int, cut: int, temp: float, generator: torch.Generator | None = None,
                        dtype=torch.float64) -> torch.Tensor:
    """C [batch, 2, M] for the modes of `modes(cut)`: N(0, T / (i^2 + j^2)), x and y independent:
    standard normals z [batch, 2, M] drawn from `generator`, times coefficient_std (a sampler of
    many generators may draw the z one by one and scale them all at once: the same numbers)."""
    std = coefficient_std(cut, temp, dtype)
    device = generator.device if generator is not None else "cpu"
    z = torch.randn(batch, 2, len(std), generator=generator, dtype=dtype, device=device)
    return z * std.to(device)


def coefficient_std(cut: int, temp: float, dtype=torch.float64) -> torch.Tensor:
    """[M]: the standard deviation sqrt(T / (i^2 + j^2)) of each mode's coefficient."""
    return (temp / _mode_norms(cut, dtype)).sqrt()


@lru_cache(maxsize=16)
def _mode_norms(cut: int, dtype) -> torch.Tensor:
    """i^2 + j^2 per mode of `modes(cut)`."""
    return (modes(cut).to(dtype) ** 2).sum(1)


@lru_cache(maxsize=16)
def _sines(n: int, cut: int, dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    """sin(i pi u_p) and sin(j pi v_p) per mode: two [M, n] tables."""
    ij = modes(cut).to(device=device, dtype=dtype)
    u = torch.arange(n, device=device, dtype=dtype) / (n - 1)
    return torch.sin(math.pi * ij[:, :1] * u), torch.sin(math.pi * ij[:, 1:] * u)


def displacement(coeffs: torch.Tensor, n: int, cut: int) -> torch.Tensor:
    """Fields [B, 2, n, n] in pixels: [:, 0] along x (columns), [:, 1] along y (rows), [.., row, col]."""
    return torch.einsum("bdm,myx->bdyx", coeffs, _basis(n, cut, coeffs.dtype, coeffs.device))


@lru_cache(maxsize=16)
def _basis(n: int, cut: int, dtype, device) -> torch.Tensor:
    """n sin(i pi u) sin(j pi v) per mode, [M, y, x]: the field is a [2B, M] @ [M, n^2] product."""
    si, sj = _sines(n, cut, dtype, device)
    return n * sj[:, :, None] * si[:, None, :]


def _pixel_grid(n: int, dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    p = torch.arange(n, device=device, dtype=dtype)
    y, x = torch.meshgrid(p, p, indexing="ij")
    return x, y


@lru_cache(maxsize=16)
def _pixel_xy(n: int, dtype, device) -> torch.Tensor:
    return torch.stack(_pixel_grid(n, dtype, device), -1)  # [y, x, (x, y)]


def warp(images: torch.Tensor, field: torch.Tensor) -> torch.Tensor:
    """out(p) = in(p - tau(p)), clamped, bilinear: images [B, C, n, n], field [B, 2, n, n]."""
    n = images.shape[-1]
    # grid_sample wants [B, n, n, (x, y)] in [-1, 1]; align_corners=True maps pixel p to p exactly
    src = (_pixel_xy(n, field.dtype, field.device) - field.permute(0, 2, 3, 1)).clamp_(0, n - 1)
    grid = src.mul_(2 / (n - 1)).sub_(1).to(images.dtype)
    return F_.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=True)


def deform(images: torch.Tensor, temp: float, cut: int = 3, generator: torch.Generator | None = None,
           coeffs: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Deform every image with its own field; returns (deformed images, fields [B, 2, n, n])."""
    if images.shape[-1] != images.shape[-2]:
        raise ValueError(f"square images expected, got {tuple(images.shape)}")
    if coeffs is None:
        coeffs = sample_coefficients(len(images), cut, temp, generator)
    field = displacement(coeffs.to(device=images.device, dtype=torch.float64), images.shape[-1], cut)
    return warp(images, field), field


def rms_displacement(field: torch.Tensor) -> torch.Tensor:
    """Realised displacement per image: sqrt(mean over pixels of tau_x^2 + tau_y^2), in pixels."""
    return field.pow(2).sum(1).flatten(1).mean(1).sqrt()


def expected_rms_displacement(n: int, cut: int, temp: float) -> float:
    """sqrt(E mean_p |tau(p)|^2) on the n x n grid, exact for the sampler above."""
    si, sj = _sines(n, cut, torch.float64, "cpu")
    ij = modes(cut).to(torch.float64)
    per_mode = (si ** 2).mean(1) * (sj ** 2).mean(1) / (ij ** 2).sum(1)
    return math.sqrt(2 * n ** 2 * temp * per_mode.sum().item())


def matched_noise(clean: torch.Tensor, deformed: torch.Tensor, generator: torch.Generator | None = None,
                  z: torch.Tensor | None = None) -> torch.Tensor:
    """eta_i = ||tau x_i - x_i|| z_i / ||z_i||, z_i Gaussian over all C*H*W entries of image i.

    clean and deformed are [B, ...] (pair them up first when an image has several draws);
    z, if given, is the Gaussian draw to use (else it is drawn from `generator`).
    """
    if z is None:
        device = generator.device if generator is not None else "cpu"
        z = torch.randn(deformed.shape, generator=generator, dtype=torch.float64, device=device)
    z = z.to(device=deformed.device, dtype=torch.float64)
    norms = (deformed.double() - clean.double()).flatten(1).norm(dim=1)
    scale = norms / z.flatten(1).norm(dim=1)
    return (z * scale.view(-1, *[1] * (z.ndim - 1))).to(deformed.dtype)
