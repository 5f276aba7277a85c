"""astropy-smass: stellar masses of galaxies from broad-band photometry.

A one-hidden-layer neural network trained on simulated galaxies predicts
log10(M*/Msun) from absolute magnitudes and colours (Elson 2025, 2026). Importing
the package adds a ``smass`` accessor to every astropy `~astropy.table.Table`.
"""

from . import _moved
from ._utils import VERSION as __version__  # noqa: F401
from .accessor import SmassAccessor, register
from .exceptions import BandColumnError, ModelFormatError, SmassError, SmassWarning
from .flags import SmassFlag
from .model.bundle import StellarMassModel
from .model.correction import BiasCorrection
from .model.registry import available_models, load_model
from .photometry.bands import BANDS, Band
from .pipeline import calibrate_model, predict_table

__all__ = ["BANDS", "Band", "BandColumnError", "BiasCorrection", "ModelFormatError",
           "SmassAccessor", "SmassError", "SmassFlag", "SmassWarning", "StellarMassModel",
           "available_models", "calibrate_model", "load_model", "predict_table"]

_moved.install()
register()
