"""Where models come from: the bundles shipped with the package and those of plugins.

`available_models` lists the bundles that can be loaded by name: the package's own, in
``astropy_smass/data/models``, then those that other packages register in the
``astropy_smass.models`` entry-point group (`ENTRY_POINT_GROUP`). `load_model` loads one
by name or path, cached until either file of the bundle changes.
"""

import functools
import types
import warnings
from importlib import metadata, resources
from pathlib import Path

from ..exceptions import ModelNotFoundError, SmassWarning
from .bundle import StellarMassModel

__all__ = ["available_models", "load_model", "ENTRY_POINT_GROUP"]

#: The entry-point group through which other packages add model bundles.
ENTRY_POINT_GROUP = "astropy_smass.models"


def _bundled_dir():
    return Path(str(resources.files("astropy_smass") / "data" / "models"))


def _bundles_in(path):
    """The bundle JSON files in a folder, or the file itself; none if it does not exist."""
    path = Path(path)
    if path.is_dir():
        return sorted(path.glob("*.json"))
    return [path] if path.is_file() else []


def available_models():
    """The model bundles that can be loaded by name.

    The package's own bundles come first, then those registered by other packages
    in the ``astropy_smass.models`` entry-point group. An entry point refers to a
    path (or a callable returning one) of a bundle's JSON file or of a folder of
    bundles.

    Returns
    -------
    dict
        ``{name: path_of_json}``.
    """
    found = {path.stem: path for path in _bundles_in(_bundled_dir())}
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            target = entry_point.load()
            if isinstance(target, types.ModuleType):  # a package holding bundle files
                target = resources.files(target)
            elif callable(target):
                target = target()
            target = Path(str(target))
            if not target.exists():
                raise FileNotFoundError(f"{target} does not exist")
            paths = _bundles_in(target)
        except Exception as exc:  # a broken plugin must not break the package
            warnings.warn(f"model plugin {entry_point.name!r} failed to load: {exc}",
                          SmassWarning)
            continue
        for path in paths:
            if path.stem in found:
                warnings.warn(f"model {path.stem!r} from plugin {entry_point.name!r} has the "
                              "name of an existing model and is ignored", SmassWarning)
            else:
                found[path.stem] = path
    return found


@functools.lru_cache(maxsize=32)
def _load_cached(path, mtimes):
    return StellarMassModel.load(path)


def _mtimes(json_path):
    # Both halves of the bundle: replacing either must not serve a stale cached model.
    npz_path = json_path.with_suffix(".npz")
    return (json_path.stat().st_mtime_ns,
            npz_path.stat().st_mtime_ns if npz_path.exists() else None)


def load_model(name_or_path):
    """Load a model bundle by name (see `available_models`) or from a JSON path.

    Parameters
    ----------
    name_or_path : str or path-like or `StellarMassModel`

    Returns
    -------
    StellarMassModel
    """
    if isinstance(name_or_path, StellarMassModel):
        return name_or_path
    path = Path(name_or_path)
    if path.suffix == ".json" or path.exists():
        if path.is_dir():
            bundles = _bundles_in(path)
            if len(bundles) != 1:
                raise ModelNotFoundError(f"{path} holds {len(bundles)} model bundles; name the "
                                         "JSON file")
            path = bundles[0]
        if not path.exists():
            raise ModelNotFoundError(f"model file {path} does not exist")
    else:
        models = available_models()
        if str(name_or_path) not in models:
            raise ModelNotFoundError(f"unknown model {name_or_path!r}; available: "
                                     f"{', '.join(models) or 'none'}")
        path = models[str(name_or_path)]
    path = path.resolve()
    return _load_cached(path, _mtimes(path))
