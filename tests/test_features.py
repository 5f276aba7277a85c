"""The network's input features: magnitudes and adjacent colours."""

import numpy as np
import pytest

from astropy_smass.model.features import (
    PUBLISHED_BANDS,
    build_features,
    default_features,
    feature_matrix,
    parse_feature,
)
from astropy_smass.photometry.bands import BANDS


def _pivot(band):
    return BANDS[band].pivot


def test_published_features():
    features = default_features(PUBLISHED_BANDS)
    magnitudes = [f for f in features if "-" not in f]
    colours = [f for f in features if "-" in f]
    assert len(features) == 24  # Elson (2025): 13 magnitudes and 11 colours
    assert sorted(magnitudes) == sorted(PUBLISHED_BANDS)
    assert len(colours) == 11
    assert "K-W1" not in colours
    ordered = sorted(PUBLISHED_BANDS, key=_pivot)
    for colour in colours:
        blue, red = parse_feature(colour)
        # Adjacent in wavelength among the bands given, blue minus red.
        assert ordered.index(red) == ordered.index(blue) + 1
    assert len(set(features)) == len(features)


def test_order_of_bands_does_not_matter():
    bands = ["W1", "r", "g", "Ks", "u", "J_2MASS"]
    assert default_features(bands) == default_features(sorted(bands, key=str.lower))
    features = default_features(bands)
    assert "Ks_2MASS" in features and "Ks_2MASS-W1" not in features
    assert "J_2MASS-Ks_2MASS" in features  # J and Ks are adjacent when H is absent


def test_build_features_values():
    rng = np.random.default_rng(0)
    bands = ["u", "g", "r", "i", "z"]
    mags = rng.normal(-20, 1, (50, len(bands)))
    features = default_features(bands) + ["u-r"]
    x = build_features(mags, bands, features)
    column = {band: mags[:, k] for k, band in enumerate(bands)}
    for j, feature in enumerate(features):
        if "-" in feature:
            blue, red = feature.split("-")
            np.testing.assert_allclose(x[:, j], column[blue] - column[red], rtol=0, atol=1e-12)
        else:
            np.testing.assert_array_equal(x[:, j], column[feature])


def test_build_features_follows_the_given_band_order():
    rng = np.random.default_rng(1)
    mags = rng.normal(-20, 1, (10, 3))
    features = ["g", "r", "g-r", "r-i"]
    x = build_features(mags, ["g", "r", "i"], features)
    y = build_features(mags[:, ::-1], ["i", "r", "g"], features)
    np.testing.assert_array_equal(x, y)


def test_colour_errors_are_correlated():
    """Feature covariance from independent magnitude errors: A diag(sigma^2) A^T."""
    bands = ["g", "r", "i"]
    features = default_features(bands)  # g r i g-r r-i
    sigma = np.array([0.05, 0.1, 0.2])
    matrix = feature_matrix(features, bands)
    covariance = matrix @ np.diag(sigma**2) @ matrix.T
    index = {f: k for k, f in enumerate(features)}
    # By hand: var(g-r) = s_g^2 + s_r^2, cov(g-r, r-i) = -s_r^2, cov(r, g-r) = -s_r^2.
    assert covariance[index["g-r"], index["g-r"]] == pytest.approx(sigma[0]**2 + sigma[1]**2)
    assert covariance[index["g-r"], index["r-i"]] == pytest.approx(-sigma[1]**2)
    assert covariance[index["r"], index["g-r"]] == pytest.approx(-sigma[1]**2)
    assert covariance[index["g"], index["r-i"]] == 0
    # And the same from Monte Carlo draws through build_features.
    rng = np.random.default_rng(2)
    draws = rng.normal(0, sigma, (200_000, 3))
    empirical = np.cov(build_features(draws, bands, features), rowvar=False)
    np.testing.assert_allclose(empirical, covariance, atol=5e-4)


def test_parse_feature():
    assert parse_feature("r") == ("r", None)
    assert parse_feature("g-r") == ("g", "r")
    assert parse_feature("J_2MASS-H_2MASS") == ("J_2MASS", "H_2MASS")


@pytest.mark.parametrize("bad", ["q", "g-q", "g+r", "g-", "-r", "", "g-r-i"])
def test_bad_feature_names(bad):
    with pytest.raises(ValueError, match="cannot parse feature"):
        parse_feature(bad)
    with pytest.raises(ValueError, match="cannot parse feature"):
        feature_matrix([bad], ["g", "r", "i"])


def test_feature_needing_a_missing_band():
    with pytest.raises(ValueError, match="'g-z' needs band 'z'"):
        feature_matrix(["g-z"], ["g", "r"])


def test_wrong_magnitude_shape():
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        build_features(np.zeros((4, 2)), ["g", "r", "i"], ["g"])
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        build_features(np.zeros(3), ["g", "r", "i"], ["g"])


def test_unknown_band():
    with pytest.raises(KeyError, match="unknown band"):
        default_features(["g", "q"])
