"""The errors and warnings of astropy-smass.

Every error the package raises on purpose derives from `SmassError`, so a caller (and
the command line) can tell a problem with the inputs, the files or the environment from
a bug. Where an error used to be a `ValueError`, `KeyError`, `TypeError`,
`FileNotFoundError`, `FileExistsError`, `ImportError`, `RuntimeError` or
`TimeoutError`, it still is one as well, so code that caught those keeps working.
The few checks of the package's own consistency (say, a chunk that comes back with
another number of rows than was read) raise plain exceptions: they mean a bug, and the
command line shows their traceback. Warnings derive from `SmassWarning`, itself an
`~astropy.utils.exceptions.AstropyUserWarning`.
"""

from astropy.utils.exceptions import AstropyUserWarning

__all__ = ["SmassError", "BandColumnError", "ColumnClashError", "ImplausiblePhotometryError",
           "InputError", "ModelFormatError", "ModelNotFoundError", "TableReadError",
           "UnstreamableError", "VOError",
           "VOTimeoutError", "TrainError", "CommandError", "InputTypeError",
           "MissingFileError", "OutputExistsError", "MissingDependencyError",
           "UnknownNameError", "SmassWarning"]


class SmassError(Exception):
    """Base class of the errors astropy-smass raises; the message says what to do."""


class BandColumnError(SmassError, ValueError):
    """A band's column is missing, ambiguous or of the wrong kind."""


class ColumnClashError(SmassError, ValueError):
    """New columns would take the names of columns the table already has."""


class ModelNotFoundError(SmassError, FileNotFoundError, ValueError):
    """No model of that name or path, or none installed at all.

    Also a `FileNotFoundError` (a bundle path that does not exist) and a `ValueError`
    (an unknown model name), as before this class existed.
    """


class ImplausiblePhotometryError(BandColumnError):
    """Photometry that cannot be what its columns say: fluxes that fit the training
    galaxies only after a change of unit prefix (Jy values labelled mJy, say)."""


class InputError(SmassError, ValueError):
    """An argument that cannot be used: values of the wrong length, an unknown option."""


class ModelFormatError(SmassError, ValueError):
    """A model bundle is malformed, of an unknown format version or fails its checksum."""


class TableReadError(SmassError, ValueError):
    """A file or stream could not be read as a table (missing, empty or malformed)."""


class UnstreamableError(SmassError, ValueError):
    """A table that cannot be read or written a chunk at a time (it can be in memory)."""


class VOError(SmassError, RuntimeError):
    """A VO service or SAMP hub could not be used; the message says why, in one line."""


class VOTimeoutError(VOError, TimeoutError):
    """A VO service or SAMP client did not answer in time."""


class TrainError(SmassError, ValueError):
    """A problem with the ``train`` command's inputs, reported as one line."""


class InputTypeError(InputError, TypeError):
    """An argument of the wrong type (a dict where an astropy Table is needed, say)."""


class UnknownNameError(SmassError, KeyError):
    """A band, survey, column, group or luminosity function of a name that is not known."""

    def __str__(self):  # KeyError quotes its message; a message reads better without
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class MissingFileError(SmassError, FileNotFoundError):
    """A file or folder that was asked for does not exist."""


class OutputExistsError(SmassError, FileExistsError):
    """An output file exists already and ``overwrite`` was not given."""


class MissingDependencyError(SmassError, ImportError):
    """An optional dependency needed for this task is not installed; says which extra."""


class CommandError(SmassError):
    """An error of the command line's making, reported as one line."""


class SmassWarning(AstropyUserWarning):
    """Warnings from astropy-smass (for example results truncated by a service)."""
