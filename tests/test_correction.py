"""The residual-bias correction: robust fit, clamping, serialisation."""

import json

import numpy as np
import pytest

from astropy_smass.model.correction import BiasCorrection


def _biased_sample(n=4000, intercept=0.12, slope=-0.08, scatter=0.05, outliers=0.05, seed=0):
    """Predicted masses and references with a linear residual and catastrophic outliers."""
    rng = np.random.default_rng(seed)
    predicted = rng.uniform(8.0, 12.0, n)
    reference = predicted + intercept + slope * (predicted - 10.0) + rng.normal(0, scatter, n)
    bad = rng.random(n) < outliers
    reference[bad] += rng.choice([-1.5, 1.5], bad.sum())
    return predicted, reference, bad


def test_recovers_linear_bias_despite_outliers():
    predicted, reference, bad = _biased_sample()
    correction = BiasCorrection.fit(predicted, reference, degree=1)
    # Independent reference: ordinary least squares on the clean galaxies in the range.
    lo, hi = correction.fit_range
    clean = ~bad & (predicted >= lo) & (predicted <= hi)
    slope, intercept = np.polyfit(predicted[clean], reference[clean] - predicted[clean], 1)
    grid = np.linspace(lo, hi, 9)
    np.testing.assert_allclose(correction.offset(grid), intercept + slope * grid, atol=0.01)
    # And the truth, within a few standard errors (~0.001 dex at n = 4000).
    np.testing.assert_allclose(correction.offset(grid), 0.12 - 0.08 * (grid - 10.0), atol=0.01)
    # The outliers were clipped: about the clean number of galaxies remains.
    assert correction.provenance["n_used"] <= clean.sum()
    assert correction.provenance["n_used"] > 0.97 * clean.sum()
    assert correction.provenance["residual_scatter_dex"] == pytest.approx(0.05, rel=0.1)
    # The default range is the 1st-99th percentile of the predictions.
    np.testing.assert_allclose(correction.fit_range, np.percentile(predicted, [1, 99]))


def test_apply_and_offset_agree():
    predicted, reference, _ = _biased_sample(seed=1)
    correction = BiasCorrection.fit(predicted, reference)
    np.testing.assert_allclose(correction.apply(predicted),
                               predicted + correction.offset(predicted))


def test_held_constant_outside_range():
    predicted, reference, _ = _biased_sample(seed=2)
    correction = BiasCorrection.fit(predicted, reference, degree=2, fit_range=(9.0, 11.0))
    assert correction.fit_range == (9.0, 11.0)
    below, above = np.array([5.0, 8.0, 8.999]), np.array([11.001, 12.0, 20.0])
    np.testing.assert_allclose(correction.offset(below), correction.offset(9.0))
    np.testing.assert_allclose(correction.offset(above), correction.offset(11.0))
    assert correction.clamped(below).all() and correction.clamped(above).all()
    assert not correction.clamped(np.array([9.0, 10.0, 11.0])).any()
    np.testing.assert_array_equal(correction.slope(np.concatenate([below, above])), 0.0)


def test_slope_is_the_derivative_inside_range():
    predicted, reference, _ = _biased_sample(seed=3)
    reference = reference + 0.05 * (predicted - 10.0) ** 2
    correction = BiasCorrection.fit(predicted, reference, degree=2)
    x = np.linspace(9.0, 11.0, 7)
    step = 1e-5
    numeric = (correction.offset(x + step) - correction.offset(x - step)) / (2 * step)
    np.testing.assert_allclose(correction.slope(x), numeric, rtol=1e-6, atol=1e-9)
    assert np.ptp(correction.slope(x)) > 0.05  # a curved correction: the slope varies


def test_degree_zero_is_a_median_like_offset():
    predicted, reference, bad = _biased_sample(slope=0.0, seed=4)
    correction = BiasCorrection.fit(predicted, reference, degree=0)
    assert len(correction.coefficients) == 1
    assert correction.coefficients[0] == pytest.approx(np.mean((reference - predicted)[~bad]),
                                                       abs=0.005)
    np.testing.assert_array_equal(correction.slope(predicted), 0.0)


def test_nonfinite_pairs_ignored_and_fit_range_respected():
    predicted, reference, _ = _biased_sample(n=1000, outliers=0.0, seed=5)
    predicted[:50] = np.nan
    reference[50:100] = np.inf
    correction = BiasCorrection.fit(predicted, reference, fit_range=(9.0, 11.0))
    usable = np.isfinite(predicted) & np.isfinite(reference)
    in_range = usable & (predicted >= 9.0) & (predicted <= 11.0)
    assert correction.provenance["n_used"] <= in_range.sum()
    assert correction.provenance["n_used"] >= 0.98 * in_range.sum()


def test_round_trip_through_json():
    predicted, reference, _ = _biased_sample(seed=6)
    correction = BiasCorrection.fit(predicted, reference, degree=2,
                                    provenance={"catalogue": "test"})
    again = BiasCorrection.from_dict(json.loads(json.dumps(correction.to_dict())))
    assert again == correction
    grid = np.linspace(7, 13, 25)
    np.testing.assert_array_equal(again.offset(grid), correction.offset(grid))
    assert again.provenance["catalogue"] == "test"


def test_bad_inputs():
    with pytest.raises(ValueError, match="same length"):
        BiasCorrection.fit(np.zeros(5), np.zeros(6))
    with pytest.raises(ValueError, match="no galaxy"):
        BiasCorrection.fit(np.full(5, np.nan), np.zeros(5))
    with pytest.raises(ValueError, match="only 3 usable galaxies"):
        BiasCorrection.fit(np.arange(3.0), np.arange(3.0), degree=1, fit_range=(0, 2))
    with pytest.raises(ValueError, match="unknown correction kind 'spline'"):
        BiasCorrection.from_dict({"kind": "spline"})


@pytest.mark.parametrize("coefficients", [(0.3,), (0.1, -0.2), (0.1, -0.2, 0.05),
                                          (0.1, -0.2, 0.05, 0.01)])
def test_evaluation_is_numpys_polynomial(coefficients):
    """offset, slope and apply (evaluated in place) give numpy.polynomial's numbers."""
    correction = BiasCorrection(coefficients, 10.1, (9.0, 11.0))
    polynomial = np.polynomial.Polynomial(coefficients)
    grid = np.concatenate([np.linspace(8.0, 12.0, 401), [np.nan, np.inf, -np.inf]])
    x = np.clip(grid, 9.0, 11.0) - 10.1
    np.testing.assert_array_equal(correction.offset(grid), polynomial(x))
    np.testing.assert_array_equal(correction.apply(grid), grid + polynomial(x))
    np.testing.assert_array_equal(correction.slope(grid),
                                  np.where(correction.clamped(grid), 0.0, polynomial.deriv()(x)))
    for value in (8.5, 10.3, 11.5):  # scalars in, scalars out
        assert np.ndim(correction.apply(value)) == 0
        assert correction.offset(value) == polynomial(np.clip(value, 9.0, 11.0) - 10.1)
