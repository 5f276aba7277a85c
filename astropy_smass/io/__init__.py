"""Reading and writing tables with VO units, UCDs and provenance
(`~astropy_smass.io.readwrite`, `~astropy_smass.io.votable`).

The names of the former ``astropy_smass.io`` module are available here.
"""

from .readwrite import *  # noqa: F403
from .readwrite import __all__ as _readwrite_all
from .votable import VOTABLE_VERSION, to_votable, votable_bytes

__all__ = list(_readwrite_all) + ["VOTABLE_VERSION", "to_votable", "votable_bytes"]
