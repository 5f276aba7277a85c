"""Old import paths of modules that moved, kept working with a deprecation warning.

Version 0.2 grouped the modules into layers (see the Architecture page of the
documentation): ``astropy_smass.bands`` became ``astropy_smass.photometry.bands``,
``astropy_smass.bundle`` became ``astropy_smass.model.bundle``, and so on (`MOVED`).
Importing an old path still works for one release: it emits an
`~astropy.utils.exceptions.AstropyDeprecationWarning` and returns the module at its new
place (the same module object, so monkeypatching either name patches both). A module
that was split (``astropy_smass.bundle``: `~astropy_smass.model.bundle`,
`~astropy_smass.model.registry` and file utilities) is a read-only view of the new
modules instead: its names can be imported, but patching it patches nothing.

This is done with an import hook rather than with small modules at the old paths, so
that no file remains at an old path: git then follows each move as a rename when
branches that edited the old files are merged.
"""

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

from astropy.utils.exceptions import AstropyDeprecationWarning

__all__ = ["MOVED", "install"]

#: Old module name -> new module name (or names, in lookup order, for a split module).
MOVED = {
    "astropy_smass.bands": "astropy_smass.photometry.bands",
    "astropy_smass.bundle": ("astropy_smass.model.bundle", "astropy_smass.model.registry",
                             "astropy_smass.exceptions", "astropy_smass._utils"),
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
        if isinstance(self.new, str):
            where, module = self.new, importlib.import_module(self.new)
            self.spec = module.__spec__
        else:
            where, module = " and ".join(self.new[:2]), _SplitModule(spec.name, self.new)
        warnings.warn(f"{spec.name} has moved to {where}; import it from there (the old "
                      "name will be removed in a future version)", AstropyDeprecationWarning,
                      stacklevel=2)
        return module

    def exec_module(self, module):
        if self.spec is not None:
            # the import system has set the module's __spec__ to the old name's: restore it
            module.__spec__ = self.spec


class _SplitModule(types.ModuleType):
    """The names of several modules, looked up in order, as one read-only module."""

    def __init__(self, name, targets):
        super().__init__(name)
        self._targets = [importlib.import_module(target) for target in targets]

    def __getattr__(self, name):
        for target in self._targets:
            if hasattr(target, name):
                return getattr(target, name)
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __dir__(self):
        return sorted({name for target in self._targets for name in dir(target)})


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
