"""Small utilities shared by every layer: atomic writes, JSON of numpy values, warnings
said once, process-wide settings held by threads, and the package's version (for
provenance, without importing the package)."""

import contextlib
import functools
import os
import shutil
import tempfile
import threading
import warnings
from importlib import metadata as _metadata
from pathlib import Path

import numpy as np

from .exceptions import OutputExistsError, SmassWarning

__all__ = ["atomic_write", "json_default", "warn_once", "HeldSetting", "one_blas_thread",
           "VERSION"]

try:
    VERSION = _metadata.version("astropy-smass")
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    VERSION = "0.0.dev0"


def json_default(value):
    """``json.dumps`` fallback: numpy scalars and arrays as Python values, others as text."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def atomic_write(path, write, overwrite=False, mode="wb"):
    """Write a file through a temporary file in the same folder, then rename it.

    Parameters
    ----------
    path : path-like
        Destination.
    write : callable
        Called with an open file object (or, when ``mode`` is None, with the
        temporary path) to write the content.
    overwrite : bool
        Replace an existing file; otherwise `FileExistsError`. A symbolic link is
        followed: the file it points to is replaced, and the link stays.
    mode : str or None
        File mode for the temporary file.

    Notes
    -----
    If ``write`` raises, or the process is interrupted (SIGINT; the command line turns
    SIGTERM and SIGHUP into the same), the temporary file is removed, with any helper
    files ``write`` made beside it named ``<temporary file>.*``.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    if path.is_symlink():
        path = path.resolve()  # write where the link points (strict=False: even dangling)
    tmp = None
    try:
        # An interruption is held back while the file is made, so that it is known here
        # (and removed below) as soon as it exists.
        with signals_deferred():
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                       suffix=".part")
        # mkstemp makes the file private (0600); give it the mode open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        if mode is None:
            os.close(fd)
            write(tmp)
        else:
            with os.fdopen(fd, mode) as handle:
                write(handle)
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            with signals_deferred():
                remove_part_files(tmp)
        raise


def remove_part_files(tmp):
    """Remove a temporary file and the helper files named after it (``<tmp>.*``)."""
    tmp = Path(tmp)
    for name in [tmp, *tmp.parent.glob(glob_escape(tmp.name) + ".*")]:
        with contextlib.suppress(FileNotFoundError):
            if name.is_dir() and not name.is_symlink():
                shutil.rmtree(name, ignore_errors=True)
            else:
                name.unlink()


def glob_escape(text):
    import glob

    return glob.escape(text)


# Signals held back by `signals_deferred`: depth of nesting and the first one that came.
_DEFERRAL = {"depth": 0, "pending": None}


@contextlib.contextmanager
def signals_deferred():
    """Hold back an interruption while a temporary file is made or removed.

    The command line's handlers of SIGINT, SIGTERM and SIGHUP call `interrupt`, which
    raises at once, or, inside this block, when it ends: a file is then either not made
    yet or known to the code that removes it.
    """
    _DEFERRAL["depth"] += 1
    try:
        yield
    finally:
        _DEFERRAL["depth"] -= 1
        pending = _DEFERRAL["pending"]
        if not _DEFERRAL["depth"] and pending is not None:
            _DEFERRAL["pending"] = None
            raise pending


def interrupt(exc):
    """Raise ``exc`` (from a signal handler) now, or at the end of `signals_deferred`."""
    if _DEFERRAL["depth"]:
        if _DEFERRAL["pending"] is None:
            _DEFERRAL["pending"] = exc
        return
    raise exc


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_WARNED = set()


def warn_once(message):
    """A `~astropy_smass.SmassWarning`, said once per process (plugins, old bundles)."""
    if message not in _WARNED:
        _WARNED.add(message)
        warnings.warn(message, SmassWarning, stacklevel=3)


class HeldSetting:
    """A process-wide setting held while any thread is within this context manager.

    The first thread to enter calls ``apply()``, which returns the function that undoes
    it (or None where the setting does not apply); the last thread to leave calls that
    function. Threads that overlap thus never undo the setting under one another.
    """

    def __init__(self, apply):
        self._apply = apply
        self._lock = threading.Lock()
        self._holders = 0
        self._undo = None

    def __enter__(self):
        with self._lock:
            if self._holders == 0:
                self._undo = self._apply()
            self._holders += 1
        return self

    def __exit__(self, *exc_info):
        with self._lock:
            self._holders -= 1
            if self._holders == 0 and self._undo is not None:
                undo, self._undo = self._undo, None
                undo()


@functools.cache
def _blas_controller():
    # Made once: finding the loaded BLAS libraries costs milliseconds, as much as a
    # small table's whole prediction. numpy's BLAS is loaded with numpy.
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _limit_blas_to_one_thread():
    return _blas_controller().limit(limits=1, user_api="blas").restore_original_limits


#: BLAS on one thread while the network's products run. They are small blocks (a few
#: thousand rows): more BLAS threads do not make them faster, but while they spin
#: waiting they take the cores that a stream's reading and writing threads need (a
#: Parquet file took 1.7 times as long on 2 cores). Dask workers, which distributed
#: starts with one BLAS thread, then run the same kernels as every other path.
one_blas_thread = HeldSetting(_limit_blas_to_one_thread)
