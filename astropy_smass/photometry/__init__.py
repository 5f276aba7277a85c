"""Photometry: the band registry and column recognition (`~astropy_smass.photometry.bands`),
and magnitudes from magnitudes, fluxes, redshifts and distances
(`~astropy_smass.photometry.magnitudes`).

The names of the former ``astropy_smass.photometry`` module are available here.
"""

from .magnitudes import *  # noqa: F403
from .magnitudes import __all__ as _magnitudes_all

__all__ = list(_magnitudes_all)
