"""Propagation of photometric errors: analytic, Monte Carlo, flux to magnitude."""

import astropy.units as u
import numpy as np
import pytest

from astropy_smass.model.uncertainty import (
    analytic_uncertainty,
    flux_error_to_magnitude_error,
    intrinsic_scatter,
    monte_carlo_uncertainty,
    total_uncertainty,
)


def _linear(weights, offset=9.0):
    return lambda mags: mags @ weights + offset


def test_analytic_is_linear_propagation():
    rng = np.random.default_rng(0)
    jac = rng.normal(size=(20, 4))
    sigma = rng.uniform(0.01, 0.3, (20, 4))
    # Independent: the variance of a linear combination, term by term.
    expected = np.sqrt(sum((jac[:, k] * sigma[:, k]) ** 2 for k in range(4)))
    np.testing.assert_allclose(analytic_uncertainty(jac, sigma), expected, rtol=1e-12)


def test_monte_carlo_agrees_with_analytic_for_linear_model():
    rng = np.random.default_rng(1)
    weights = np.array([-0.4, 0.1, 0.25, -0.3])
    mags = rng.normal(-20, 1, (30, 4))
    sigma = rng.uniform(0.02, 0.2, (30, 4))
    analytic = analytic_uncertainty(np.broadcast_to(weights, mags.shape), sigma)
    mc = monte_carlo_uncertainty(_linear(weights), mags, sigma, n_draws=4000, seed=2)
    # Standard error of a standard deviation from N draws: sigma / sqrt(2 (N - 1)).
    np.testing.assert_allclose(mc, analytic, rtol=5 / np.sqrt(2 * 3999))


def _near_linear_model(correction=None):
    """A tanh network with small weights (nearly linear), on ugriz features."""
    from helpers import TOY_BANDS, toy_population

    from astropy_smass.model.bundle import StellarMassModel
    from astropy_smass.model.domain import TrainingDomain
    from astropy_smass.model.features import build_features, default_features
    from astropy_smass.model.network import OneHiddenLayerNetwork

    features = default_features(TOY_BANDS)
    x = build_features(toy_population(2000, seed=8)[0], TOY_BANDS, features)
    rng = np.random.default_rng(9)
    network = OneHiddenLayerNetwork(0.05 * rng.normal(size=(len(features), 12)),
                                    0.05 * rng.normal(size=12), rng.normal(size=12), 10.0,
                                    "tanh", x.mean(axis=0), x.std(axis=0))
    return StellarMassModel("near_linear", TOY_BANDS, features, network,
                            TrainingDomain.from_training(x), correction, 0.0)


@pytest.mark.parametrize("with_correction", [False, True])
def test_monte_carlo_agrees_with_analytic_through_the_model(with_correction):
    from helpers import toy_population

    from astropy_smass.model.correction import BiasCorrection

    # A steep linear correction, never clamped: it scales the uncertainty by 1 + slope.
    correction = BiasCorrection((0.1, 0.5), 10.0, (-50.0, 50.0)) if with_correction else None
    model = _near_linear_model(correction)
    mags, _ = toy_population(40, seed=10)
    errors = np.random.default_rng(11).uniform(0.01, 0.05, mags.shape)
    analytic = model.predict_magnitudes(mags, errors, uncertainty="analytic")
    mc = model.predict_magnitudes(mags, errors, uncertainty="montecarlo", n_draws=3000, seed=3)
    np.testing.assert_allclose(mc["logmstar_err_phot"], analytic["logmstar_err_phot"],
                               rtol=6 / np.sqrt(2 * 2999))
    if with_correction:
        plain = _near_linear_model().predict_magnitudes(mags, errors, uncertainty="analytic")
        np.testing.assert_allclose(analytic["logmstar_err_phot"],
                                   1.5 * plain["logmstar_err_phot"], rtol=1e-12)


def test_analytic_matches_monte_carlo_for_toy_network_at_small_errors(toy_model):
    from helpers import toy_population

    # A relu network is only piecewise linear, so compare at small errors, on average.
    mags, _ = toy_population(200, seed=7)
    errors = np.full_like(mags, 0.003)
    analytic = toy_model.predict_magnitudes(mags, errors, uncertainty="analytic")
    mc = toy_model.predict_magnitudes(mags, errors, uncertainty="montecarlo", n_draws=400,
                                      seed=3)
    good = np.isfinite(analytic["logmstar_err_phot"])
    assert good.sum() > 150
    ratio = mc["logmstar_err_phot"][good] / analytic["logmstar_err_phot"][good]
    assert np.median(ratio) == pytest.approx(1.0, abs=0.03)


def test_monte_carlo_seeded_and_chunked():
    rng = np.random.default_rng(4)
    weights = np.array([0.3, -0.2, 0.5])
    mags = rng.normal(-20, 1, (25, 3))
    sigma = np.full_like(mags, 0.1)
    predict = _linear(weights)
    first = monte_carlo_uncertainty(predict, mags, sigma, n_draws=50, seed=11)
    again = monte_carlo_uncertainty(predict, mags, sigma, n_draws=50, seed=11)
    other = monte_carlo_uncertainty(predict, mags, sigma, n_draws=50, seed=12)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    # A Generator is accepted as the seed, drawing the same stream.
    from_generator = monte_carlo_uncertainty(predict, mags, sigma, n_draws=50,
                                             seed=np.random.default_rng(11))
    np.testing.assert_array_equal(from_generator, first)
    # Blocks of rows draw consecutive parts of one stream: chunking changes nothing.
    chunked = monte_carlo_uncertainty(predict, mags, sigma, n_draws=50, seed=11,
                                      chunk_rows=50 * 4)
    np.testing.assert_allclose(chunked, first, rtol=1e-12)


def test_monte_carlo_zero_errors_and_bad_draws():
    mags = np.zeros((3, 2))
    out = monte_carlo_uncertainty(_linear(np.ones(2)), mags, np.zeros_like(mags), n_draws=5)
    np.testing.assert_array_equal(out, 0.0)
    assert monte_carlo_uncertainty(_linear(np.ones(2)), mags[:0], mags[:0]).shape == (0,)
    with pytest.raises(ValueError, match="n_draws must be at least 2"):
        monte_carlo_uncertainty(_linear(np.ones(2)), mags, mags, n_draws=1)


def test_flux_error_to_magnitude_error_matches_astropy():
    flux = np.array([1e-3, 0.02, 3.0, 150.0]) * u.Jy
    flux_error = 0.01 * flux * np.array([1.0, 0.5, 2.0, 0.1])
    result = flux_error_to_magnitude_error(flux.value, flux_error.value)
    # Independent: the derivative of astropy's AB magnitude by central differences.
    step = 1e-6 * flux
    derivative = ((flux + step).to(u.ABmag) - (flux - step).to(u.ABmag)).value / (2 * step)
    np.testing.assert_allclose(result, np.abs(derivative.value) * flux_error.value, rtol=1e-6)
    # Negative fluxes give a positive error (it is a size).
    assert flux_error_to_magnitude_error(-2.0, 0.1) == pytest.approx(
        flux_error_to_magnitude_error(2.0, 0.1))


def test_total_uncertainty_in_quadrature():
    propagated = np.array([0.0, 0.3, np.nan])
    total = total_uncertainty(propagated, 0.4)
    np.testing.assert_allclose(total[:2], np.sqrt(propagated[:2] ** 2 + 0.4 ** 2))
    assert np.isnan(total[2])


def test_intrinsic_scatter_removes_known_errors_and_ignores_outliers():
    rng = np.random.default_rng(20)
    n = 20000
    propagated = rng.uniform(0.04, 0.06, n)
    reference_error = np.full(n, 0.03)
    residuals = rng.normal(0.1, np.sqrt(0.12**2 + propagated**2 + reference_error**2))
    residuals[:200] += 3.0  # catastrophic outliers (1 per cent)
    residuals[500:600] = np.nan
    propagated[600:700] = np.nan  # unknown: counts as no error
    scatter, parts = intrinsic_scatter(residuals, propagated, reference_error, details=True)
    assert scatter == pytest.approx(0.12, rel=0.05)
    assert parts["n_residuals"] == n - 100
    assert parts["median_known_error_dex"] == pytest.approx(np.hypot(0.05, 0.03), rel=0.02)
    assert intrinsic_scatter(residuals) == pytest.approx(parts["robust_scatter_dex"])
    # Known errors larger than the scatter: floored at zero, not NaN.
    assert intrinsic_scatter(rng.normal(0, 0.05, 1000), propagated=0.2) == 0.0
    assert np.isnan(intrinsic_scatter([np.nan, np.inf]))
