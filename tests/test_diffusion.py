import numpy as np
import pytest

from spatialpool.analysis.diffusion import (
    appendix_a_profiles, appendix_a_table, exact_coefficients, exact_profile, gaussian_profile,
    homogeneous_matrix, paper_coefficients, plot_appendix_a, profile_moments, verdict,
)


@pytest.fixture(scope="module")
def table():
    return appendix_a_table(F_values=(2, 3, 4, 5), ks=(1, 4, 32), L=512)


@pytest.mark.parametrize("F", [2, 3, 4, 5])
def test_matrix_is_stochastic_circulant(F):
    M = homogeneous_matrix(16, F)
    assert np.allclose(M.sum(1), 1) and np.allclose(M.sum(0), 1)
    for a in range(16):
        assert np.array_equal(M[a], np.roll(M[0], a))


def test_matrix_follows_paper_convention():
    # odd: centred on the diagonal; even: F/2 ones left of it, F/2 - 1 right of it
    assert np.flatnonzero(homogeneous_matrix(10, 3)[0]).tolist() == [0, 1, 9]
    assert np.flatnonzero(homogeneous_matrix(10, 4)[5]).tolist() == [3, 4, 5, 6]


@pytest.mark.parametrize("F", [2, 3, 4, 5])
def test_profile_is_k_fold_convolution(F):
    # independent route: law of a sum of k steps uniform on the support of M delta_i
    L, k, i = 128, 7, 40
    step = exact_profile(L, F, 1, i)
    law = np.zeros(L)
    law[i] = 1
    for _ in range(k):
        law = sum(w * np.roll(law, s) for s, w in zip(np.arange(L) - i, step) if w)
    assert np.allclose(exact_profile(L, F, k, i), law, atol=1e-14)


@pytest.mark.parametrize("F", [2, 3, 4, 5])
@pytest.mark.parametrize("k", [1, 5, 20])
def test_exact_moments(F, k):
    L, i = 256, 100
    p = exact_profile(L, F, k, i)
    mean, var = profile_moments(p, i)
    assert p.sum() == pytest.approx(1, abs=1e-12)
    assert var == pytest.approx(k * (F**2 - 1) / 12, rel=1e-9)
    assert -mean / k == pytest.approx(exact_coefficients(F)["drift"], abs=1e-12)


def test_table_measures_exact_coefficients(table):
    assert np.allclose(table.measured_drift, table.exact_drift, atol=1e-12)
    assert np.allclose(table.measured_diffusion, table.exact_diffusion, rtol=1e-9)
    assert table.exact_drift_holds.all() and table.exact_diffusion_holds.all()


def test_clt_error_decays(table):
    f3 = table[table.F == 3].set_index("k")
    assert f3.clt_max_err[32] < f3.clt_max_err[4] < f3.clt_max_err[1]
    assert f3.clt_max_err[32] < 1e-3
    assert (f3.clt_max_err < f3.paper_max_err).all()


def test_paper_coefficients_fail(table):
    assert paper_coefficients(3)["diffusion"] == pytest.approx(2 / 9)
    assert exact_coefficients(3)["diffusion"] == pytest.approx(1 / 3)
    assert not table.paper_holds.any()
    odd, even = table[table.parity == "odd"], table[table.parity == "even"]
    assert odd.paper_drift_holds.all() and not odd.paper_diffusion_holds.any()
    assert not even.paper_drift_holds.any() and not even.paper_diffusion_holds.any()
    # a wrong drift leaves an O(1) error in the even-F paper form that k does not cure
    f4 = even[even.F == 4].set_index("k")
    assert f4.paper_max_err[32] > 10 * f4.clt_max_err[32]


def test_verdict_and_plot(table, tmp_path):
    text = verdict(table)
    assert "Odd F" in text and "Even F" in text and "(F^2-1)/24" in text
    assert "the drift holds and the diffusion fails" in text
    prof = appendix_a_profiles([3, 4], ks=(2, 8), L=64)
    assert set(prof.columns) == {"F", "k", "site", "exact", "paper", "clt"}
    assert np.allclose(prof.groupby(["F", "k"]).exact.sum(), 1)
    plot_appendix_a(prof, table, str(tmp_path / "appA"), dpi=40, formats=("png",))
    assert (tmp_path / "appA.png").stat().st_size > 0


def test_gaussian_is_normalised():
    g = gaussian_profile(512, 16, 256, drift=-0.5, diffusion=0.625)
    assert g.sum() == pytest.approx(1, rel=1e-6)
    assert np.argmax(g) - 256 == 8  # peak at a - i = -v k


@pytest.mark.parametrize("call", [
    lambda: homogeneous_matrix(16, 1), lambda: homogeneous_matrix(16, 0),
    lambda: exact_coefficients(1), lambda: paper_coefficients(1),
    lambda: homogeneous_matrix(2, 3), lambda: exact_profile(16, 3, -1, 0),
    lambda: exact_profile(16, 3, 2, 16), lambda: appendix_a_table((3,), (200,), L=64),
])
def test_invalid_inputs(call):
    with pytest.raises(ValueError):
        call()
