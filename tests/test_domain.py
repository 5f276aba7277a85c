"""The training domain: per-feature ranges and the Mahalanobis limit."""

import numpy as np
import pytest

from astropy_smass.flags import SmassFlag
from astropy_smass.model.domain import TrainingDomain
from astropy_smass.model.features import build_features, default_features

BANDS = ["u", "g", "r", "i"]


def _training_magnitudes(n=5000, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(-20, 1.0, n)
    colour = rng.normal(0.6, 0.15, n)
    mags = np.column_stack([base + 1.8 * colour, base + colour, base + 0.3 * colour, base])
    return mags + rng.normal(0, 0.05, mags.shape)


@pytest.fixture(scope="module")
def training():
    mags = _training_magnitudes()
    features = default_features(BANDS)
    x = build_features(mags, BANDS, features)
    return mags, features, x, TrainingDomain.from_training(x)


def test_singular_covariance_is_handled(training):
    mags, features, x, domain = training
    # 7 features made of 4 magnitudes: rank 4, and the whitening keeps only that.
    assert np.linalg.matrix_rank(np.cov(x, rowvar=False)) < len(features)
    assert domain.whitening.shape == (len(features), np.linalg.matrix_rank(x - x.mean(0)))
    # The distance in feature space is the Mahalanobis distance of the magnitudes,
    # whose covariance is not singular (an independent computation).
    inverse = np.linalg.inv(np.cov(mags, rowvar=False))
    delta = mags - mags.mean(axis=0)
    expected = np.sqrt(np.einsum("ij,jk,ik->i", delta, inverse, delta))
    np.testing.assert_allclose(domain.distance(x), expected, rtol=1e-6)


def test_limit_contains_the_quantile(training):
    _, _, x, domain = training
    outside = np.mean(domain.distance(x) > domain.max_distance)
    assert outside <= 0.001
    loose = TrainingDomain.from_training(x, quantile=0.9)
    assert np.mean(loose.distance(x) > loose.max_distance) == pytest.approx(0.1, abs=0.002)
    np.testing.assert_array_equal(domain.feature_min, x.min(axis=0))
    np.testing.assert_array_equal(domain.feature_max, x.max(axis=0))


def test_training_set_is_mostly_inside(training):
    _, _, x, domain = training
    flags = domain.check(x)
    assert not (flags & SmassFlag.OUT_OF_RANGE).any()
    assert np.mean((flags & SmassFlag.OUT_OF_DISTRIBUTION) != 0) <= 0.001


def test_out_of_range(training):
    mags, features, x, domain = training
    faint = mags[:3].copy()
    faint[0] += 10.0  # every magnitude far beyond the training range
    faint[1, 0] += 5.0  # only u, so the u magnitude and u-g colour are out of range
    flags = domain.check(build_features(faint, BANDS, features))
    assert flags[0] & SmassFlag.OUT_OF_RANGE and flags[1] & SmassFlag.OUT_OF_RANGE
    assert flags[1] & SmassFlag.OUT_OF_DISTRIBUTION
    assert flags[2] == 0


def test_out_of_distribution_only():
    """Each feature within its range, but a combination never seen in training."""
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, 5000)
    x = np.column_stack([a, a + rng.normal(0, 0.05, 5000)])  # tightly correlated
    domain = TrainingDomain.from_training(x)
    odd = np.array([[1.0, -1.0], [1.0, 1.0]])
    flags = domain.check(odd)
    assert flags[0] == SmassFlag.OUT_OF_DISTRIBUTION
    assert flags[1] == 0


def test_nonfinite_rows_get_no_domain_flag(training):
    _, _, x, domain = training
    rows = x[:3].copy()
    rows[0, 2] = np.nan
    rows[1, :] = np.inf
    flags = domain.check(rows)
    assert flags[0] == 0 and flags[2] == 0
    assert flags.dtype == np.int32
    assert domain.check(x[:0]).shape == (0,)


def test_single_feature():
    x = np.random.default_rng(2).normal(10, 2, (1000, 1))
    domain = TrainingDomain.from_training(x)
    np.testing.assert_allclose(domain.distance(x), np.abs(x[:, 0] - x.mean()) / x.std(ddof=1))
    assert domain.check(np.array([[x.max() + 1]]))[0] & SmassFlag.OUT_OF_RANGE


def test_arrays_round_trip(training):
    _, _, x, domain = training
    again = TrainingDomain.from_arrays({k: np.array(v) for k, v in domain.arrays().items()})
    np.testing.assert_array_equal(again.check(x + 0.3), domain.check(x + 0.3))
    assert again.max_distance == domain.max_distance


def test_domain_pass_equals_the_reference():
    """TrainingDomain.check (the DomainPass) against the definitions, off the limit."""
    from helpers import reference_domain_flags

    rng = np.random.default_rng(11)
    x = rng.normal(size=(4000, 5)) @ rng.normal(size=(5, 5))
    domain = TrainingDomain.from_training(x, quantile=0.99)
    probe = np.vstack([x, 1.3 * rng.normal(size=(3000, 5)) @ rng.normal(size=(5, 5))])
    probe[3] = np.nan
    ratio = domain.distance(probe) / domain.max_distance
    clear = ~(np.abs(ratio - 1) < 1e-12)
    np.testing.assert_array_equal(domain.check(probe)[clear],
                                  reference_domain_flags(domain, probe)[clear])
    assert domain.check(probe)[3] == 0
