"""The network's input vector: magnitudes, colour indices and, for redshift-aware
models, the redshift.

A feature is named either by a band (its magnitude, e.g. ``"r"``), by two bands joined
with a minus sign (the colour index, e.g. ``"g-r"``) or, for observed-frame models, by
`REDSHIFT_INPUT`. Features are linear in the inputs (the magnitudes, then the redshift
where the model takes it): `feature_matrix` is that linear map, shared by training,
prediction (the forward pass folds it into the network's first layer and the
training-domain bounds, see `~astropy_smass.model.network`) and error propagation.
"""

import numpy as np

from ..exceptions import ModelFormatError
from ..photometry.bands import ALL_BANDS, get_band

__all__ = ["PUBLISHED_BANDS", "REDSHIFT_INPUT", "default_features", "feature_matrix",
           "build_features", "parse_feature"]

#: The 13 bands of the published method (Elson 2025, 2026): GALEX, SDSS ugri,
#: VISTA ZYJHK, WISE W1 W2.
PUBLISHED_BANDS = ("FUV", "NUV", "u", "g", "r", "i", "Z", "Y", "J", "H", "K", "W1", "W2")

#: Name of the redshift, the one network input of observed-frame models that is not a
#: magnitude.
REDSHIFT_INPUT = "redshift"

_NEAR_IR = {"K", "Ks_2MASS", "ukirt_wfcam_K"}


def default_features(bands):
    """The feature list for a set of bands.

    Every band's absolute magnitude, then the colour of each pair of bands adjacent
    in wavelength. The colour bridging the near-infrared and WISE (``K-W1``) is left
    out, which for the 13 published bands gives the published 24 features
    (13 magnitudes + 11 colours).

    Parameters
    ----------
    bands : iterable of str
        Band names.

    Returns
    -------
    list of str
    """
    ordered = [b for b in ALL_BANDS if b in {get_band(x).name for x in bands}]
    colours = [f"{a}-{b}" for a, b in zip(ordered[:-1], ordered[1:])
               if not (a in _NEAR_IR and b == "W1")]
    return ordered + colours


def parse_feature(feature):
    """Split a feature name into ``(band, None)`` or ``(blue_band, red_band)``.

    The redshift input gives ``(REDSHIFT_INPUT, None)``.
    """
    if feature == REDSHIFT_INPUT or feature in ALL_BANDS:
        return feature, None
    for name in ALL_BANDS:
        if feature.startswith(name + "-") and feature[len(name) + 1:] in ALL_BANDS:
            return name, feature[len(name) + 1:]
    raise ModelFormatError(f"cannot parse feature {feature!r}: expected a band "
                           f"({', '.join(ALL_BANDS)}) or two bands joined by '-'")


def feature_matrix(features, bands):
    """The linear map from magnitudes to features.

    Parameters
    ----------
    features : list of str
        Feature names.
    bands : list of str
        Column order of the input array: bands, and `REDSHIFT_INPUT` last where the
        model takes the redshift.

    Returns
    -------
    ndarray, shape (n_features, n_inputs)
        ``A`` such that ``features = magnitudes @ A.T``. Because features are linear
        in magnitudes, ``A`` also carries magnitude errors into features, colours
        correlated with the magnitudes they come from.
    """
    index = {band: k for k, band in enumerate(bands)}
    matrix = np.zeros((len(features), len(bands)))
    for row, feature in enumerate(features):
        first, second = parse_feature(feature)
        for band, sign in ((first, 1.0), (second, -1.0)):
            if band is None:
                continue
            if band not in index:
                raise ModelFormatError(f"feature {feature!r} needs band {band!r}, which is not "
                                       f"among the bands given ({', '.join(bands)})")
            matrix[row, index[band]] = sign
    return matrix


def build_features(magnitudes, bands, features):
    """Build the network input array from absolute magnitudes.

    Parameters
    ----------
    magnitudes : array-like, shape (n_galaxies, n_bands)
        Absolute AB magnitudes (mag), columns in the order of ``bands``.
    bands : list of str
        Band of each column.
    features : list of str
        Feature names, e.g. from `default_features`.

    Returns
    -------
    ndarray, shape (n_galaxies, n_features)
    """
    magnitudes = np.asarray(magnitudes, dtype=float)
    if magnitudes.ndim != 2 or magnitudes.shape[1] != len(bands):
        raise ModelFormatError(f"magnitudes must have shape (n, {len(bands)}) for bands "
                               f"{list(bands)}, got {magnitudes.shape}")
    return magnitudes @ feature_matrix(features, bands).T
