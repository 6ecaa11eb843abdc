import math

import numpy as np
import pytest
import torch

from baselines import deform_loop
from spatialpool.perturbations.diffeo import (
    deform,
    displacement,
    expected_rms_displacement,
    matched_noise,
    modes,
    rms_displacement,
    sample_coefficients,
    temperature,
    temperature_bounds,
    warp,
)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_temperatures_match_reference_numbers():
    t1, t2 = temperature_bounds(32, 3)
    assert t1 == pytest.approx(2.8295e-4, rel=1e-4)
    assert t2 == pytest.approx(1.30474e-2, rel=1e-5)
    assert temperature(1.0, 32, 3) == pytest.approx(1.1318e-3, rel=1e-4)
    assert temperature(1.0, 32, 3) == pytest.approx(4 * t1)  # delta = 1 is 4 T1
    assert temperature(2.0, 32, 3) == pytest.approx(4 * temperature(1.0, 32, 3))


def test_circular_cutoff_keeps_six_modes_at_c3():
    assert sorted(map(tuple, modes(3).tolist())) == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (3, 1)]
    assert len(modes(1)) == 1 and len(modes(5)) == sum(
        1 for i in range(1, 6) for j in range(1, 6) if math.hypot(i, j) < 5.5)


def _project(field, cut):
    """Recover C_ij from a field on the grid: the sines sin(i pi p / (n - 1)) are orthogonal there."""
    n = field.shape[-1]
    u = torch.arange(n, dtype=torch.float64) / (n - 1)
    ij = modes(cut).double()
    si = torch.sin(math.pi * ij[:, :1] * u)  # along x (last axis)
    sj = torch.sin(math.pi * ij[:, 1:] * u)  # along y
    return torch.einsum("bdyx,mx,my->bdm", field, si, sj) * 4 / ((n - 1) ** 2 * n)


def test_field_is_the_sine_series_of_its_coefficients():
    coeffs = sample_coefficients(5, 3, 1e-3, _gen())
    field = displacement(coeffs, 32, 3)
    torch.testing.assert_close(_project(field, 3), coeffs, rtol=0, atol=1e-14)


def test_mode_variances_are_T_over_i2_plus_j2():
    temp, draws = 2e-3, 20000
    field = displacement(sample_coefficients(draws, 3, temp, _gen(1)), 16, 3)
    coeffs = _project(field, 3)  # measured on the fields, not just the sampler's output
    var = coeffs.pow(2).mean(0)  # known zero mean: N var / sigma^2 ~ chi2(N), relative sd sqrt(2 / N)
    expect = temp / modes(3).pow(2).sum(1).double()
    assert torch.all((var / expect - 1).abs() < 5 * math.sqrt(2 / draws))
    # x and y fields and distinct modes are uncorrelated
    flat = coeffs.flatten(1) / coeffs.flatten(1).std(0)
    corr = flat.T @ flat / draws
    assert (corr - torch.diag(torch.diag(corr))).abs().max() < 5 / math.sqrt(draws)


def test_border_does_not_move():
    images = torch.randn(8, 3, 32, 32, dtype=torch.float64, generator=_gen())
    out, field = deform(images, temperature_bounds(32, 3)[1], 3, _gen(1))
    border = torch.ones(32, 32, dtype=torch.bool)
    border[1:-1, 1:-1] = False
    assert field[..., border].abs().max() < 1e-12
    assert field[..., ~border].abs().max() > 0.5
    torch.testing.assert_close(out[..., border], images[..., border], rtol=0, atol=1e-12)


def test_realised_displacement_is_about_0p82_delta():
    n, cut, delta = 32, 3, 1.5
    temp = temperature(delta, n, cut)
    field = displacement(sample_coefficients(4000, cut, temp, _gen(2)), n, cut)
    rms = rms_displacement(field).pow(2).mean().sqrt().item()
    expect = expected_rms_displacement(n, cut, temp)
    assert rms == pytest.approx(expect, rel=0.03)
    assert expect / delta == pytest.approx(0.82, abs=0.01)
    # and about 1.28 delta at the centre (odd n puts a pixel there)
    n = 33
    field = displacement(sample_coefficients(4000, cut, temperature(delta, n, cut), _gen(3)), n, cut)
    centre = field[:, :, n // 2, n // 2].pow(2).sum(1).mean().sqrt().item()
    assert centre / delta == pytest.approx(1.28, rel=0.04)


def test_identity_at_zero_temperature():
    images = torch.randn(4, 3, 16, 16, dtype=torch.float64, generator=_gen())
    out, field = deform(images, 0.0, 3, _gen(1))
    assert field.abs().max() == 0
    torch.testing.assert_close(out, images, rtol=0, atol=1e-13)


def test_warp_pulls_back():
    """A field of +1 pixel along x gives out(x, y) = in(x - 1, y), clamped at the left border."""
    images = torch.randn(2, 1, 8, 8, dtype=torch.float64, generator=_gen())
    field = torch.zeros(2, 2, 8, 8, dtype=torch.float64)
    field[:, 0] = 1.0
    out = warp(images, field)
    torch.testing.assert_close(out[..., 1:], images[..., :-1], rtol=0, atol=1e-13)
    torch.testing.assert_close(out[..., 0], images[..., 0], rtol=0, atol=1e-13)
    field = torch.zeros(2, 2, 8, 8, dtype=torch.float64)
    field[:, 1] = -0.5  # half a pixel up along y: the mean of two rows
    out = warp(images, field)
    torch.testing.assert_close(out[..., :-1, :], (images[..., :-1, :] + images[..., 1:, :]) / 2, rtol=0, atol=1e-13)


def test_batched_matches_per_image_loop():
    images = torch.randn(12, 3, 32, 32, dtype=torch.float64, generator=_gen())
    coeffs = sample_coefficients(12, 3, temperature_bounds(32, 3)[1], _gen(1))  # large T: clamping happens
    out, _ = deform(images, 0.0, 3, coeffs=coeffs)
    torch.testing.assert_close(out, deform_loop(images, coeffs, 3), rtol=0, atol=1e-12)


def test_one_field_per_image_shared_by_channels():
    one = torch.randn(1, 1, 16, 16, dtype=torch.float64, generator=_gen())
    images = one.expand(3, 3, 16, 16).contiguous()
    out, field = deform(images, temperature(1.0, 16), 3, _gen(1))
    torch.testing.assert_close(out[:, 1], out[:, 0], rtol=0, atol=0)
    assert (field[0] - field[1]).abs().max() > 0.1
    assert (out[0] - out[1]).abs().max() > 1e-3


def test_matched_noise_norms_per_image():
    clean = torch.randn(6, 3, 8, 8, dtype=torch.float64, generator=_gen())
    deformed = clean + torch.randn(6, 1, 1, 1, dtype=torch.float64, generator=_gen(1)) * torch.randn(
        6, 3, 8, 8, dtype=torch.float64, generator=_gen(2))
    eta = matched_noise(clean, deformed, _gen(3))
    torch.testing.assert_close(eta.flatten(1).norm(dim=1), (deformed - clean).flatten(1).norm(dim=1),
                               rtol=1e-13, atol=0)
    assert abs(np.corrcoef(eta[0].flatten(), eta[1].flatten())[0, 1]) < 0.3  # independent directions


def test_seeding_is_reproducible():
    images = torch.randn(4, 3, 16, 16, generator=_gen())
    a, fa = deform(images, 1e-3, 3, _gen(7))
    b, fb = deform(images, 1e-3, 3, _gen(7))
    c, _ = deform(images, 1e-3, 3, _gen(8))
    assert torch.equal(a, b) and torch.equal(fa, fb)
    assert not torch.equal(a, c)
    assert torch.equal(matched_noise(images, a, _gen(1)), matched_noise(images, a, _gen(1)))


@pytest.mark.parametrize("seed", [0, 1, 12345, 2 ** 31, 2 ** 32 - 1])
def test_vectorised_image_seeds_are_numpys_seed_sequence(seed):
    """runtime.pair_seeds re-implements numpy's SeedSequence hash for many pairs at once: every
    probe image must still get exactly the seed of SeedSequence([seed, index])."""
    from spatialpool.perturbations.registry import image_seed, image_seeds
    from spatialpool.runtime import pair_seeds, seed_words
    index = np.r_[np.arange(600), [2 ** 31 - 1, 2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1]]
    expected = [seed_words([seed, int(i)], 1, np.uint64)[0] for i in index]
    assert pair_seeds(seed, index).tolist() == expected
    assert image_seeds(seed, 5, 40) == [image_seed(seed, i) for i in range(5, 45)]
    assert image_seeds(2 ** 32, 0, 3) == [image_seed(2 ** 32, i) for i in range(3)]  # beyond 32 bits: numpy itself
    with pytest.raises(ValueError, match="2\\*\\*32"):
        pair_seeds(seed, [2 ** 32])


def test_perturbed_batches_do_not_depend_on_the_batch_size():
    from spatialpool.perturbations.registry import diffeo_batches
    images = torch.randn(11, 3, 16, 16, generator=_gen(), dtype=torch.float64)
    probe = dict(temperature=temperature(1.0, 16, 3), cut=3, draws=2, seed=3)

    def joined(batch_size):
        parts = list(diffeo_batches(probe, images, batch_size))
        return torch.cat([p[1]["D"] for p in parts]), torch.cat([p[1]["G"] for p in parts])

    one = joined(11)
    for b in (1, 4):
        assert all(torch.equal(u, v) for u, v in zip(one, joined(b)))
    # an iterable of batches (seeds drawn per batch) gives the same draws as a tensor (seeds drawn at once)
    it = list(diffeo_batches(probe, [images[:6], images[6:]], 99))
    assert torch.equal(torch.cat([p[1]["D"] for p in it]), one[0])
