"""Bit flags saying why a galaxy got no mass, or what to be careful about."""

import enum

from .exceptions import SmassWarning

__all__ = ["SmassFlag", "NO_MASS", "OUT_OF_DOMAIN", "MAX_ERROR_MAG", "IMPLAUSIBLE_MAG",
           "SmassWarning"]


class SmassFlag(enum.IntFlag):
    """Quality bits of the ``smass_flag`` column (0 = a clean prediction)."""

    #: A band the model needs is absent, masked or a sentinel value (-999, 99, ...).
    MISSING_BAND = 1
    #: An input magnitude, flux or error is NaN or infinite (or, as a safeguard, the
    #: prediction itself is not finite).
    NONFINITE = 2
    #: A flux is zero or negative, so it has no magnitude.
    NONPOSITIVE_FLUX = 4
    #: Apparent photometry without a usable redshift or distance.
    NO_DISTANCE = 8
    #: A feature lies outside the range spanned by the training set.
    OUT_OF_RANGE = 16
    #: The feature vector is far from the training set as a whole (Mahalanobis distance).
    OUT_OF_DISTRIBUTION = 32
    #: A photometric error is missing or invalid (NaN, negative, or larger than
    #: `MAX_ERROR_MAG`): no propagated uncertainty.
    BAD_ERROR = 64
    #: The predicted mass lies outside the range the bias correction was fitted on;
    #: the correction was held at its value at the edge.
    CORRECTION_CLAMPED = 128
    #: Every band's absolute magnitude lies more than `IMPLAUSIBLE_MAG` outside the
    #: training range: not a galaxy's photometry as read (apparent magnitudes without a
    #: distance, a wrong unit?). No mass, even when out-of-domain galaxies are kept.
    IMPLAUSIBLE = 256
    #: The redshift lies outside the range the model was trained for.
    REDSHIFT_OUT_OF_RANGE = 512
    #: A cross-match (`astropy_smass.vo.annotate_tap` with ``match=``) found no
    #: counterpart within the radius: no photometry, so no mass.
    NO_MATCH = 1024


#: Flags that leave a galaxy without a mass (domain flags only when excluding).
NO_MASS = (SmassFlag.MISSING_BAND | SmassFlag.NONFINITE | SmassFlag.NONPOSITIVE_FLUX
           | SmassFlag.NO_DISTANCE | SmassFlag.IMPLAUSIBLE | SmassFlag.REDSHIFT_OUT_OF_RANGE)

#: Flags marking a galaxy outside the training domain.
OUT_OF_DOMAIN = (SmassFlag.OUT_OF_RANGE | SmassFlag.OUT_OF_DISTRIBUTION
                 | SmassFlag.REDSHIFT_OUT_OF_RANGE)

#: Photometric errors larger than this (mag) are not measurement errors that can be
#: propagated (a signal-to-noise ratio below about 0.2): flagged `SmassFlag.BAD_ERROR`.
MAX_ERROR_MAG = 5.0

#: How far (mag) beyond the training range every band must lie for
#: `SmassFlag.IMPLAUSIBLE`: a factor of 100 in flux beyond the faintest or brightest
#: training galaxy, in every band.
IMPLAUSIBLE_MAG = 5.0

