"""Reading and writing tables with VO units, UCDs and provenance
(`~astropy_smass.io.readwrite`).

The names of the former ``astropy_smass.io`` module are available here.
"""

from .readwrite import *  # noqa: F403
from .readwrite import __all__ as _readwrite_all

__all__ = list(_readwrite_all)
