"""The classical mass-to-light relations, checked against their definitions."""

import astropy.units as u
import numpy as np
import pytest

from astropy_smass.photometry.bands import BANDS
from astropy_smass.relations import (
    CLUVER2014_MSUN_W1,
    TAYLOR2011_MSUN_I,
    cluver2014_logmstar,
    taylor2011_logmstar,
)


def test_taylor_solar_luminosity_and_zero_colour():
    # L_i = L_sun and g - i = 0: log M = log(M/L) = -0.68.
    assert taylor2011_logmstar(TAYLOR2011_MSUN_I, TAYLOR2011_MSUN_I) == pytest.approx(-0.68)


def test_taylor_from_definition():
    g = np.array([-19.0, -21.3, -17.2])
    i = np.array([-19.9, -22.5, -17.6])
    luminosity = 10 ** (-0.4 * (i - 4.58))      # L_i / L_sun
    mass_to_light = 10 ** (-0.68 + 0.70 * (g - i))
    expected = np.log10(mass_to_light * luminosity)
    np.testing.assert_allclose(taylor2011_logmstar(g, i), expected, rtol=0, atol=1e-12)


def test_taylor_ten_billion_suns():
    # i = 4.58 - 25 is 1e10 L_sun; g - i = 1 adds 0.70 - 0.68 = 0.02 dex.
    i = 4.58 - 25.0
    assert taylor2011_logmstar(i + 1.0, i) == pytest.approx(10.02)


def test_cluver_from_definition():
    # Inputs are AB: the relation works in Vega, W1_Vega = W1_AB - 2.699 (Jarrett 2011).
    w1_vega = np.array([-20.0, -22.4, -18.1])
    colour_vega = np.array([0.0, -0.05, 0.2])        # W1 - W2 (Vega)
    w2_vega = w1_vega - colour_vega
    w1_ab = w1_vega + BANDS["W1"].vega_to_ab
    w2_ab = w2_vega + BANDS["W2"].vega_to_ab
    luminosity = 10 ** (-0.4 * (w1_vega - 3.24))
    expected = np.log10(10 ** (-2.54 * colour_vega - 0.17) * luminosity)
    np.testing.assert_allclose(cluver2014_logmstar(w1_ab, w2_ab), expected, rtol=0, atol=1e-12)


def test_cluver_hand_number():
    # W1_Vega = 3.24 - 25 (1e10 L_sun), W1 - W2 = 0 (Vega): log M = 10 - 0.17.
    w1_vega = CLUVER2014_MSUN_W1 - 25.0
    w1_ab = w1_vega + BANDS["W1"].vega_to_ab
    w2_ab = w1_vega + BANDS["W2"].vega_to_ab
    assert cluver2014_logmstar(w1_ab, w2_ab) == pytest.approx(9.83)


def test_colour_dependence_has_the_published_sign():
    # Redder g - i: higher optical M/L; redder W1 - W2 (warm dust, young stars): lower.
    assert taylor2011_logmstar(-20.0, -21.0) > taylor2011_logmstar(-20.5, -21.0)
    assert cluver2014_logmstar(-20.0, -20.3) < cluver2014_logmstar(-20.0, -20.0)


def test_quantities_and_nan():
    assert taylor2011_logmstar(-20 * u.mag, -21 * u.mag) == pytest.approx(
        taylor2011_logmstar(-20, -21))
    assert np.isnan(taylor2011_logmstar(np.nan, -21.0))
    with pytest.raises(u.UnitsError, match="magnitude"):
        cluver2014_logmstar(1 * u.Jy, 2 * u.Jy)


def test_bell2003_relation():
    from astropy_smass.relations import bell2003_logmstar

    # g - r = 0.7, M_r = -21: log M/L_r = -0.306 + 0.768; L_r = 10^(0.4 * 25.65)
    expected = -0.306 + 1.097 * 0.7 + 0.4 * (21 + 4.65) + np.log10(0.61 / 0.70)
    assert bell2003_logmstar(-20.3, -21.0) == pytest.approx(expected, abs=1e-12)
    assert bell2003_logmstar(-20.3 * u.mag, -21.0 * u.mag) == pytest.approx(expected)
