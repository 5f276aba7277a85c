"""Old import paths of modules that moved, kept working with a deprecation warning.

Version 0.2 grouped the modules into layers (see the Architecture page of the
documentation): ``astropy_smass.bands`` became ``astropy_smass.photometry.bands``,
``astropy_smass.bundle`` became ``astropy_smass.model.bundle``, and so on (`MOVED`).
Importing an old path still works for one release: it emits an
`~astropy.utils.exceptions.AstropyDeprecationWarning` and returns the module at its new
place (the same module object, so monkeypatching either name patches both).

This is done with an import hook rather than with small modules at the old paths, so
that no file remains at an old path: git then follows each move as a rename when
branches that edited the old files are merged.
"""

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

from astropy.utils.exceptions import AstropyDeprecationWarning

__all__ = ["MOVED", "install"]

#: Old module name -> new module name.
MOVED = {
    "astropy_smass.bands": "astropy_smass.photometry.bands",
    "astropy_smass.bundle": "astropy_smass.model.bundle",
    "astropy_smass.correction": "astropy_smass.model.correction",
    "astropy_smass.domain": "astropy_smass.model.domain",
    "astropy_smass.features": "astropy_smass.model.features",
    "astropy_smass.network": "astropy_smass.model.network",
    "astropy_smass.uncertainty": "astropy_smass.model.uncertainty",
    # maintainer tooling, no longer installed: only importable from a source checkout
    "astropy_smass.validation": "validation",
}


class _MovedLoader(importlib.abc.Loader):
    def __init__(self, new):
        self.new = new
        self.spec = None

    def create_module(self, spec):
        warnings.warn(f"{spec.name} has moved to {self.new}; import it from there (the old "
                      "name will be removed in a future version)", AstropyDeprecationWarning,
                      stacklevel=2)
        module = importlib.import_module(self.new)
        self.spec = module.__spec__
        return module

    def exec_module(self, module):
        # the import system has set the module's __spec__ to the old name's: restore it
        module.__spec__ = self.spec


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, _MovedLoader(MOVED[fullname]))


def install():
    """Make the old module names of `MOVED` importable (idempotent)."""
    # first, so that a stale file at an old path (or another installed copy of the
    # package) cannot shadow the module's new place
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _MovedFinder())
