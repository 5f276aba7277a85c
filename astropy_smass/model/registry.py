"""Where models come from: the bundles shipped with the package and those of plugins.

`model_sources` and `available_models` list the bundles that can be loaded by name: the
package's own, in ``astropy_smass/data/models``, then those that other packages register
in the ``astropy_smass.models`` entry-point group (`ENTRY_POINT_GROUP`, used when asked
for) or the ``astropy_smass.auto_models`` group (`AUTO_ENTRY_POINT_GROUP`, also chosen by
``model="auto"``). `load_model` loads one by name or path, cached until either file of
the bundle changes, and records where it came from (`ModelSource`, `source_text`).
"""

import contextlib
import dataclasses
import functools
import types
from importlib import metadata, resources
from pathlib import Path

from .._utils import warn_once
from ..exceptions import ModelNotFoundError
from .bundle import StellarMassModel

__all__ = ["available_models", "load_model", "model_sources", "ModelSource", "source_text",
           "ENTRY_POINT_GROUP", "AUTO_ENTRY_POINT_GROUP"]

#: Entry-point group of plugin models, used when asked for by name (or in a list).
ENTRY_POINT_GROUP = "astropy_smass.models"
#: Entry-point group of plugin models that also join ``model="auto"`` (see
#: `model_sources`); those of `ENTRY_POINT_GROUP` are used only when asked for.
AUTO_ENTRY_POINT_GROUP = "astropy_smass.auto_models"


def _bundled_dir():
    return Path(str(resources.files("astropy_smass") / "data" / "models"))


def _bundles_in(path):
    """The bundle JSON files in a folder, or the file itself; none if it does not exist."""
    path = Path(path)
    if path.is_dir():
        return sorted(path.glob("*.json"))
    return [path] if path.is_file() else []


@dataclasses.dataclass(frozen=True)
class ModelSource:
    """Where a model bundle comes from.

    Attributes
    ----------
    path : pathlib.Path
        The bundle's JSON file.
    distribution, version : str
        The installed distribution that provides it (``astropy-smass`` for the
        bundled models) and its version.
    auto : bool
        Whether the model joins ``model="auto"`` without being asked: the bundled
        models, and plugin models whose distribution lists them in the
        `AUTO_ENTRY_POINT_GROUP` entry-point group.
    entry_point : str or None
        The plugin's entry point (None for the bundled models).
    """

    path: Path
    distribution: str
    version: str
    auto: bool = False
    entry_point: str = None

    @property
    def bundled(self):
        return self.entry_point is None

    def __str__(self):
        return f"{self.distribution} {self.version}"


def _package_version():
    from .._utils import VERSION as __version__

    return __version__


def _plugin_targets(entry_point):
    """The bundle files an entry point names (a path, a callable, or a package)."""
    target = entry_point.load()
    if isinstance(target, types.ModuleType):  # a package holding bundle files
        target = resources.files(target)
    elif callable(target):
        target = target()
    target = Path(str(target))
    if not target.exists():
        raise ModelNotFoundError(f"{target} does not exist")
    return _bundles_in(target)


def model_sources():
    """Every model that can be loaded by name, with where it comes from.

    The package's own bundles come first, then those that other installed packages
    register in the ``astropy_smass.models`` entry-point group (usable by name, and
    in a list of models given to ``model=``) or in the ``astropy_smass.auto_models``
    group (also chosen by ``model="auto"``). An entry point refers to a path (or a
    callable returning one) of a bundle's JSON file, to a folder of bundles, or to a
    package holding them. A plugin model with the name of a model found before it is
    ignored; each problem with a plugin is said once per process, as a
    `~astropy_smass.SmassWarning`.

    Returns
    -------
    dict
        ``{name: ModelSource}``.
    """
    found = {path.stem: ModelSource(path, "astropy-smass", _package_version(), True)
             for path in _bundles_in(_bundled_dir())}
    for group, auto in ((ENTRY_POINT_GROUP, False), (AUTO_ENTRY_POINT_GROUP, True)):
        for entry_point in metadata.entry_points(group=group):
            dist = getattr(entry_point, "dist", None)
            name = dist.metadata["Name"] if dist is not None else "unknown distribution"
            version = dist.version if dist is not None else "unknown version"
            try:
                paths = _plugin_targets(entry_point)
            except Exception as exc:  # a broken plugin must not break the package
                warn_once(f"model plugin {entry_point.name!r} failed to load: {exc} (from "
                           f"{name} {version})")
                continue
            for path in paths:
                known = found.get(path.stem)
                if known is not None and known.path.resolve() == path.resolve():
                    if auto and not known.auto:  # listed in both groups: it joins auto
                        found[path.stem] = dataclasses.replace(known, auto=True)
                elif known is not None:
                    warn_once(f"model {path.stem!r} from plugin {entry_point.name!r} "
                               f"({name} {version}) has the name of a model from "
                               f"{known} and is ignored")
                else:
                    found[path.stem] = ModelSource(path, name, version, auto,
                                                   entry_point.name)
    return found


def available_models():
    """The model bundles that can be loaded by name: ``{name: path of the JSON file}``.

    See `model_sources`, which also says where each comes from.
    """
    return {name: source.path for name, source in model_sources().items()}


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
    source = None
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
        models = model_sources()
        if str(name_or_path) not in models:
            raise ModelNotFoundError(f"unknown model {name_or_path!r}; available: "
                                     f"{', '.join(models) or 'none'}")
        source = models[str(name_or_path)]
        path = source.path
    path = path.resolve()
    model = _load_cached(path, _mtimes(path))
    if source is None:
        source = _source_of_path(path)
    if model.source is None:
        model.source = source
    return model


def _source_of_path(path):
    """A bundle loaded by path: the package's own, or a file."""
    with contextlib.suppress(OSError, ValueError):
        if path.parent.resolve() == _bundled_dir().resolve():
            return ModelSource(path, "astropy-smass", _package_version(), True)
    return ModelSource(path, "file", str(path))


def source_text(model):
    """Who provided a model, for the provenance of an output: ``"<distribution>
    <version>"``, ``"file <path>"`` or ``"in memory"``."""
    source = getattr(model, "source", None)
    if source is None:
        return "in memory"
    if source.distribution == "file":
        return f"file {source.path}"
    return str(source)
