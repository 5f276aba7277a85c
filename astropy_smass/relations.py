"""Classical colour-based stellar-mass relations, the baselines the network is judged by.

Both relations take **absolute AB magnitudes** (the convention of the rest of the
package) and return log10(M*/Msun). Neither applies a K-correction or dust
correction: at the z < 0.1 of the validation catalogues the galaxies' observed
colours stand in for the rest-frame colours the relations were calibrated on.

- `taylor2011_logmstar`: Taylor et al. (2011, MNRAS 418, 1587), the GAMA
  optical relation ``log10(M*/L_i) = -0.68 + 0.70 (g - i)`` with the i-band
  luminosity in solar units for ``M_i,sun = 4.58`` (AB); Chabrier IMF; about
  0.1 dex of scatter against full SED fits.
- `bell2003_logmstar`: Bell et al. (2003, ApJS 149, 289, table 7), the SDSS
  ``log10(M*/L_r) = -0.306 + 1.097 (g - r)`` for their "diet" Salpeter IMF, moved to
  Chabrier by ``log10(0.61 / 0.70)`` (Madau & Dickinson 2014; Bell & de Jong 2001),
  with ``M_r,sun = 4.65`` (AB; Willmer 2018, ApJS 236, 47).
- `cluver2014_logmstar`: Cluver et al. (2014, ApJ 782, 90), the GAMA/WISE
  mid-infrared relation ``log10(M*/L_W1) = -2.54 (W1 - W2) - 0.17``, with the
  ``W1 - W2`` colour in the **Vega** system and ``L_W1`` in solar units from the
  Vega absolute magnitude with ``M_W1,sun = 3.24`` (Vega; Jarrett et al. 2013).
  The AB inputs are converted with the WISE Vega-to-AB offsets of
  `~astropy_smass.photometry.bands.BANDS` (Jarrett et al. 2011).
"""

import astropy.units as u
import numpy as np

from .photometry.bands import BANDS

__all__ = ["TAYLOR2011_MSUN_I", "CLUVER2014_MSUN_W1", "BELL2003_MSUN_R",
           "taylor2011_logmstar", "bell2003_logmstar", "cluver2014_logmstar"]

#: Absolute AB magnitude of the Sun in SDSS i used by Taylor et al. (2011).
TAYLOR2011_MSUN_I = 4.58

#: Absolute AB magnitude of the Sun in SDSS r (Willmer 2018) for `bell2003_logmstar`.
BELL2003_MSUN_R = 4.65

#: log10(M_Chabrier / M_diet-Salpeter) at fixed light: 0.61 / 0.70 of Salpeter.
_DIET_SALPETER_TO_CHABRIER = float(np.log10(0.61 / 0.70))

#: Absolute Vega magnitude of the Sun in WISE W1 used by Cluver et al. (2014).
CLUVER2014_MSUN_W1 = 3.24


def _magnitudes(values, name):
    if isinstance(values, u.Quantity):
        unit = values.unit
        if isinstance(unit, u.MagUnit):
            values = values.value
        elif unit.is_equivalent(u.mag):
            values = values.to_value(u.mag)
        else:
            raise u.UnitsError(f"{name} must be a magnitude, got unit {unit}")
    return np.asarray(values, dtype=float)


def taylor2011_logmstar(g, i):
    """Stellar mass from the g - i colour and i luminosity (Taylor et al. 2011).

    Parameters
    ----------
    g, i : array-like or `~astropy.units.Quantity`
        Absolute AB magnitudes (mag) in SDSS g and i.

    Returns
    -------
    ndarray
        log10(M*/Msun) = -0.68 + 0.70 (g - i) - 0.4 (i - 4.58); Chabrier IMF.
        NaN where an input is NaN.
    """
    g, i = _magnitudes(g, "g"), _magnitudes(i, "i")
    return -0.68 + 0.70 * (g - i) - 0.4 * (i - TAYLOR2011_MSUN_I)


def bell2003_logmstar(g, r):
    """Stellar mass from the g - r colour and r luminosity (Bell et al. 2003).

    Parameters
    ----------
    g, r : array-like or `~astropy.units.Quantity`
        Absolute AB magnitudes (mag) in SDSS g and r.

    Returns
    -------
    ndarray
        log10(M*/Msun) = -0.306 + 1.097 (g - r) - 0.4 (r - 4.65) + log10(0.61 / 0.70);
        Chabrier IMF. NaN where an input is NaN.
    """
    g, r = _magnitudes(g, "g"), _magnitudes(r, "r")
    return (-0.306 + 1.097 * (g - r) - 0.4 * (r - BELL2003_MSUN_R)
            + _DIET_SALPETER_TO_CHABRIER)


def cluver2014_logmstar(w1, w2):
    """Stellar mass from the W1 - W2 colour and W1 luminosity (Cluver et al. 2014).

    Parameters
    ----------
    w1, w2 : array-like or `~astropy.units.Quantity`
        Absolute **AB** magnitudes (mag) in WISE W1 and W2; converted to Vega
        here with the offsets of `~astropy_smass.photometry.bands.BANDS`.

    Returns
    -------
    ndarray
        log10(M*/Msun) = -2.54 (W1 - W2)_Vega - 0.17 - 0.4 (W1_Vega - 3.24).
        NaN where an input is NaN.
    """
    w1_vega = _magnitudes(w1, "w1") - BANDS["W1"].vega_to_ab
    w2_vega = _magnitudes(w2, "w2") - BANDS["W2"].vega_to_ab
    return -2.54 * (w1_vega - w2_vega) - 0.17 - 0.4 * (w1_vega - CLUVER2014_MSUN_W1)
