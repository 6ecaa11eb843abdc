import numpy as np
import pytest
import torch

from spatialpool.measurement.filters import (aggregate_frequency, eigenvalue_groups, homogeneity,
                                 laplacian_eigen, mean_filter, mean_filter_share, mean_filter_table,
                                 spectra_table, spectrum)


@pytest.fixture(scope="module")
def gaussian_2d():
    return np.random.default_rng(0).standard_normal((256, 256, 3, 3))


def test_grid_3x3_eigenvalues():
    values, _ = laplacian_eigen((3, 3))
    np.testing.assert_allclose(values, [0, 1, 1, 2, 3, 3, 4, 4, 6], atol=1e-12)
    assert [len(g) for g in eigenvalue_groups(values)] == [1, 2, 1, 2, 2, 1]


@pytest.mark.parametrize("F", [2, 3, 5, 7])
def test_path_eigenvalues(F):
    values, _ = laplacian_eigen((F,))
    np.testing.assert_allclose(values, 2 - 2 * np.cos(np.pi * np.arange(F) / F), atol=1e-12)


@pytest.mark.parametrize("shape", [(5,), (3, 3), (4, 4), (3, 5)])
def test_eigenvectors_orthonormal_and_constant_mode(shape):
    values, vectors = laplacian_eigen(shape)
    n = int(np.prod(shape))
    assert vectors.shape == (n, n) and np.all(np.diff(values) >= -1e-12)
    np.testing.assert_allclose(vectors @ vectors.T, np.eye(n), atol=1e-12)
    np.testing.assert_allclose(vectors[0], np.full(n, 1 / np.sqrt(n)), atol=1e-12)


def test_eigenvectors_diagonalise_grid_laplacian():
    # independent construction from the edge list, to check the Kronecker-sum layout
    F = 3
    lap = np.zeros((F * F, F * F))
    for i in range(F):
        for j in range(F):
            for di, dj in [(0, 1), (1, 0)]:
                if i + di < F and j + dj < F:
                    a, b = i * F + j, (i + di) * F + j + dj
                    lap[[a, b], [b, a]] = -1
                    lap[a, a] += 1
                    lap[b, b] += 1
    values, vectors = laplacian_eigen((F, F))
    np.testing.assert_allclose(vectors @ lap @ vectors.T, np.diag(values), atol=1e-12)


def test_grouped_power_invariant_under_rotation_in_eigenspace():
    rng = np.random.default_rng(1)
    # anisotropic filters, so single-eigenvector powers do depend on the basis
    w = rng.standard_normal((8, 4, 3, 3)) * np.array([3.0, 1.0, 0.2])[:, None]
    values, vectors = laplacian_eigen((3, 3))
    group = eigenvalue_groups(values)[1]
    theta = 0.7
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    rotated = rot @ vectors[group]
    lap = vectors.T @ np.diag(values) @ vectors
    np.testing.assert_allclose(rotated @ lap @ rotated.T, values[group[0]] * np.eye(2), atol=1e-12)

    flat = w.reshape(-1, 9)
    per_vector = lambda basis: ((flat @ basis.T) ** 2).mean(0) / (flat ** 2).sum(1).mean()
    assert not np.allclose(per_vector(vectors[group]), per_vector(rotated))
    expected = spectrum(w).power[1]
    assert per_vector(rotated).sum() == pytest.approx(expected, rel=1e-12)
    assert per_vector(vectors[group]).sum() == pytest.approx(expected, rel=1e-12)


def test_gaussian_spectrum_is_flat(gaussian_2d):
    spec = spectrum(gaussian_2d)
    np.testing.assert_allclose(spec.power, spec.multiplicity / 9, rtol=0.03)
    assert spec.power.sum() == pytest.approx(1.0, abs=1e-12)
    assert aggregate_frequency(gaussian_2d) == pytest.approx(1.0, rel=0.02)


def test_gaussian_spectrum_is_flat_1d():
    w = torch.randn(256, 256, 5, generator=torch.Generator().manual_seed(0))
    spec = spectrum(w)
    assert list(spec.multiplicity) == [1] * 5
    np.testing.assert_allclose(spec.power, 0.2, rtol=0.03)
    assert aggregate_frequency(w) == pytest.approx(1.0, rel=0.02)


def test_unnormalised_is_eq3(gaussian_2d):
    raw, norm = spectrum(gaussian_2d, normalise=False), spectrum(gaussian_2d)
    mean_norm2 = (gaussian_2d ** 2).sum((2, 3)).mean()
    np.testing.assert_allclose(raw.power, norm.power * mean_norm2, rtol=1e-12)
    assert raw.power.sum() == pytest.approx(mean_norm2, rel=1e-12)  # Parseval


@pytest.mark.parametrize("shape", [(4, 3, 5), (4, 3, 3, 3)])
def test_constant_filters(shape):
    scale = np.random.default_rng(2).standard_normal(shape[:2])
    w = scale.reshape(shape[:2] + (1,) * (len(shape) - 2)) * np.ones(shape)
    spec = spectrum(w)
    assert spec.power[0] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(spec.power[1:], 0, atol=1e-12)
    assert aggregate_frequency(w) == pytest.approx(0.0, abs=1e-12)


def test_powers_sum_to_one_for_any_filters():
    w = np.random.default_rng(3).exponential(size=(6, 5, 4, 4)) ** 3
    assert spectrum(w).power.sum() == pytest.approx(1.0, abs=1e-12)


def test_homogeneity():
    assert homogeneity(np.full((3, 3), -2.5)) == pytest.approx(1.0)
    assert np.isnan(homogeneity(np.zeros(5)))
    assert homogeneity(np.array([1.0, -1.0, 1.0, -1.0])) == 0.0
    filt = np.random.default_rng(4).standard_normal(5)
    assert homogeneity(7.3 * filt) == pytest.approx(homogeneity(filt), rel=1e-12)
    assert 0 <= homogeneity(filt) <= 1
    # for i.i.d. Gaussian taps the constant-mode share is Beta(1/2, (F-1)/2), mean 1/F
    F = 5
    many = np.random.default_rng(5).standard_normal((20000, F))
    assert np.mean([homogeneity(f) for f in many]) == pytest.approx(1 / F, rel=0.05)


def test_mean_filter_averages_both_channel_axes():
    w = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    np.testing.assert_allclose(mean_filter(w), w.reshape(6, 4).mean(0))
    np.testing.assert_allclose(mean_filter(torch.tensor(w)), w.mean((0, 1)))
    assert mean_filter(np.ones((2, 3, 3, 3))).shape == (3, 3)


def test_mean_filter_share():
    rng = np.random.default_rng(11)
    filt = rng.standard_normal(3)
    assert mean_filter_share(np.tile(filt, (5, 4, 1))) == pytest.approx(1.0)  # every filter the same
    cancelling = np.stack([np.tile(filt, (4, 1)), np.tile(-filt, (4, 1))])
    assert mean_filter_share(cancelling) == pytest.approx(0.0, abs=1e-15)
    w = rng.standard_normal((8, 6, 3, 3))
    assert mean_filter_share(-2.5 * w) == pytest.approx(mean_filter_share(w), rel=1e-12)
    assert np.isnan(mean_filter_share(np.zeros((2, 2, 3))))
    # independent zero-mean filters: E||mean||^2 / E(rms^2) = 1 / (C_out C_in)
    shares = [mean_filter_share(rng.standard_normal((16, 16, 3))) for _ in range(400)]
    assert np.mean(np.square(shares)) == pytest.approx(1 / 256, rel=0.1)


def test_tables():
    rng = np.random.default_rng(6)
    weights_1d = [rng.standard_normal((4, 1, 3)), torch.ones(4, 4, 3, requires_grad=True)]
    table = mean_filter_table(weights_1d, "init")
    assert list(table.k) == [1, 2] and set(table.state) == {"init"}
    np.testing.assert_allclose(table.loc[0, ["w0", "w1", "w2"]].to_numpy(float),
                               mean_filter(weights_1d[0]))
    assert table.loc[0, "filter"] == list(mean_filter(weights_1d[0]))
    assert table.loc[1, "homogeneity"] == pytest.approx(1.0)
    assert table.loc[1, "mean_share"] == pytest.approx(1.0)
    assert table.loc[0, "mean_share"] == pytest.approx(mean_filter_share(weights_1d[0]))

    table_2d = mean_filter_table([rng.standard_normal((2, 2, 3, 3))], "trained")
    assert "w2_2" in table_2d and np.shape(table_2d.loc[0, "filter"]) == (3, 3)

    spectra = spectra_table(weights_1d + [rng.standard_normal((4, 4, 5))], "trained")
    assert list(spectra.columns) == ["k", "state", "mode", "eigenvalue", "multiplicity", "power"]
    assert spectra.groupby("k").size().to_dict() == {1: 3, 2: 3, 3: 5}
    np.testing.assert_allclose(spectra.groupby("k").power.sum(), 1.0, atol=1e-12)
