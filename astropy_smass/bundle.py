"""Model bundles: a trained network with everything needed to use it honestly.

A bundle is two files side by side: ``<name>.npz`` with the arrays (network weights,
input scaling, training-domain description; read with ``allow_pickle=False``) and
``<name>.json`` with the bands, feature definition, activation, bias correction and
its provenance, intrinsic scatter, training provenance and scores, the format
version and the SHA-256 checksum of the arrays. Bundles shipped with the package
live in ``astropy_smass/data/models``; other packages add theirs through the
``astropy_smass.models`` entry-point group.
"""

import functools
import hashlib
import json
import os
import tempfile
import warnings
from importlib import metadata, resources
from pathlib import Path

import numpy as np

from .correction import BiasCorrection
from .domain import TrainingDomain
from .features import build_features, feature_matrix
from .flags import NO_MASS, OUT_OF_DOMAIN, SmassFlag, SmassWarning
from .network import OneHiddenLayerNetwork
from .uncertainty import analytic_uncertainty, monte_carlo_uncertainty, total_uncertainty

__all__ = ["StellarMassModel", "ModelFormatError", "load_model", "available_models",
           "FORMAT_VERSION", "ENTRY_POINT_GROUP", "arrays_checksum", "atomic_write"]

FORMAT_VERSION = 1
ENTRY_POINT_GROUP = "astropy_smass.models"


class ModelFormatError(ValueError):
    """A model bundle is malformed, of an unknown format version or fails its checksum."""


def arrays_checksum(arrays):
    """SHA-256 of named arrays, independent of how the ``.npz`` file was zipped.

    Parameters
    ----------
    arrays : dict of str to array-like

    Returns
    -------
    str
        Hex digest over each array's name, dtype, shape and little-endian bytes.
    """
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


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
        Replace an existing file; otherwise `FileExistsError`.
    mode : str or None
        File mode for the temporary file.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        if mode is None:
            os.close(fd)
            write(tmp)
        else:
            with os.fdopen(fd, mode) as handle:
                write(handle)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class StellarMassModel:
    """A trained stellar-mass network with its domain, correction and provenance.

    Parameters
    ----------
    name : str
        Identifier, e.g. ``"galex_sdss_2mass_wise"``.
    bands : list of str
        Bands the model needs, in wavelength order.
    features : list of str
        Network inputs (see `astropy_smass.features`).
    network : `~astropy_smass.network.OneHiddenLayerNetwork`
    domain : `~astropy_smass.domain.TrainingDomain`
    correction : `~astropy_smass.correction.BiasCorrection`, optional
    intrinsic_scatter : float
        Scatter (dex) of the network against reference masses on real galaxies,
        beyond what photometric errors explain; added in quadrature to the
        propagated uncertainty.
    metadata : dict, optional
        Description, mass definition, IMF, training provenance, scores, report.
    """

    def __init__(self, name, bands, features, network, domain, correction=None,
                 intrinsic_scatter=0.0, metadata=None):
        self.name = name
        self.bands = list(bands)
        self.features = list(features)
        self.network = network
        self.domain = domain
        self.correction = correction
        self.intrinsic_scatter = float(intrinsic_scatter)
        self.metadata = dict(metadata or {})
        self._feature_matrix = feature_matrix(self.features, self.bands)
        if network.n_features != len(self.features):
            raise ModelFormatError(f"model {name!r}: network takes {network.n_features} inputs "
                                   f"but {len(self.features)} features are defined")

    def __repr__(self):
        return (f"<StellarMassModel {self.name!r}: {len(self.bands)} bands "
                f"({' '.join(self.bands)}), {len(self.features)} features, "
                f"{self.network.n_hidden} hidden {self.network.activation} units>")

    # -- numerics on plain arrays -----------------------------------------------------
    def features_from_magnitudes(self, magnitudes):
        """Feature array (n, n_features) from absolute AB magnitudes (n, n_bands)."""
        return build_features(magnitudes, self.bands, self.features)

    def _mass_from_magnitudes(self, magnitudes, correct):
        raw = self.network.predict(self.features_from_magnitudes(magnitudes))
        if correct and self.correction is not None:
            return self.correction.apply(raw)
        return raw

    def predict_magnitudes(self, magnitudes, errors=None, uncertainty=None, n_draws=100,
                           seed=None, correct=True, exclude_out_of_domain=True, flags=None):
        """Predict log stellar masses from absolute magnitudes.

        Parameters
        ----------
        magnitudes : ndarray, shape (n, n_bands)
            Absolute AB magnitudes (mag) in the order of ``self.bands``.
        errors : ndarray, shape (n, n_bands), optional
            1-sigma magnitude errors (mag).
        uncertainty : {None, 'analytic', 'montecarlo'}
            How to propagate ``errors``.
        n_draws : int
            Monte Carlo draws per galaxy.
        seed : int, optional
            Seed of the Monte Carlo draws.
        correct : bool
            Apply the bundle's bias correction, if it has one.
        exclude_out_of_domain : bool
            Give no mass (NaN) to galaxies outside the training domain; they are
            flagged either way.
        flags : ndarray of int, optional
            Flags already raised while reading the inputs; combined with new ones.

        Returns
        -------
        dict of ndarray
            ``logmstar`` (dex), ``logmstar_raw`` (before correction),
            ``logmstar_err`` and ``logmstar_err_phot`` (dex; only with
            ``uncertainty``) and ``flags``.
        """
        magnitudes = np.asarray(magnitudes, dtype=float)
        n = len(magnitudes)
        flags = np.zeros(n, np.int32) if flags is None else np.asarray(flags, np.int32).copy()
        usable = (flags & NO_MASS) == 0
        flags[usable & ~np.isfinite(magnitudes).all(axis=1)] |= SmassFlag.NONFINITE
        usable = (flags & NO_MASS) == 0
        # Unusable rows get placeholder inputs so the vectorised pass stays clean.
        safe = np.where(usable[:, None], magnitudes, self.domain_center_magnitudes())
        features = self.features_from_magnitudes(safe)
        flags[usable] |= self.domain.check(features[usable]).astype(np.int32)
        if uncertainty == "analytic":
            raw, jac_features = self.network.predict_and_jacobian(features)
        elif uncertainty in (None, "montecarlo"):
            raw, jac_features = self.network.predict(features), None
        else:
            raise ValueError(f"uncertainty must be None, 'analytic' or 'montecarlo', got "
                             f"{uncertainty!r}")
        corrected, slope = raw, np.zeros(n)
        if correct and self.correction is not None:
            corrected = self.correction.apply(raw)
            slope = self.correction.slope(raw)
            flags[usable & self.correction.clamped(raw)] |= SmassFlag.CORRECTION_CLAMPED
        result = {"logmstar_raw": raw, "logmstar": corrected}
        if uncertainty is not None:
            if errors is None:
                errors = np.zeros_like(magnitudes)
            errors = np.asarray(errors, dtype=float)
            bad_error = ~(np.isfinite(errors) & (errors >= 0)).all(axis=1)
            flags[usable & bad_error] |= SmassFlag.BAD_ERROR
            safe_errors = np.where(bad_error[:, None], 0.0, errors)
            if uncertainty == "analytic":
                jac_mags = (jac_features @ self._feature_matrix) * (1.0 + slope)[:, None]
                phot = analytic_uncertainty(jac_mags, safe_errors)
            else:
                phot = monte_carlo_uncertainty(
                    lambda m: self._mass_from_magnitudes(m, correct), safe, safe_errors,
                    n_draws=n_draws, seed=seed)
            phot[bad_error] = np.nan
            result["logmstar_err_phot"] = phot
            result["logmstar_err"] = total_uncertainty(phot, self.intrinsic_scatter)
        no_mass = (flags & NO_MASS) != 0
        if exclude_out_of_domain:
            no_mass |= (flags & OUT_OF_DOMAIN) != 0
        for key, values in result.items():
            values[no_mass] = np.nan
        result["flags"] = flags
        return result

    @functools.cached_property
    def _center_magnitudes(self):
        # Magnitudes whose features are closest to the training centre (least squares).
        return np.linalg.lstsq(self._feature_matrix, self.domain.center, rcond=None)[0]

    def domain_center_magnitudes(self):
        """Magnitudes (n_bands,) of a typical training galaxy."""
        return self._center_magnitudes

    def saliency_magnitudes(self, magnitudes):
        """Per-galaxy feature importance ``|d logM / d x_f| * sigma_f`` (dex).

        ``sigma_f`` is the training standard deviation of feature ``f``, so the
        importance is the change in predicted mass for a typical change of the feature.
        """
        features = self.features_from_magnitudes(magnitudes)
        _, jac = self.network.predict_and_jacobian(features)
        return np.abs(jac) * self.network.input_scale

    # -- astropy tables -----------------------------------------------------------------
    def predict(self, table, **kwargs):
        """Predict masses for a table; see `astropy_smass.accessor.SmassAccessor.predict`."""
        from .accessor import predict_table

        return predict_table(table, model=self, **kwargs)

    def saliency(self, table, **kwargs):
        """Per-galaxy feature importance as a `~astropy.table.QTable` (one column a feature)."""
        from .accessor import saliency_table

        return saliency_table(table, self, **kwargs)

    def calibrate(self, table, reference="logmstar", degree=1, fit_range=None,
                  catalogue=None, **kwargs):
        """Fit a residual-bias correction against reference masses in ``table``.

        Parameters
        ----------
        table : `~astropy.table.Table`
            Photometry (read as by ``predict``) and reference masses.
        reference : str
            Column of reference log10(M*/Msun) (or a ``dex(Msun)`` / ``Msun`` column).
        degree : int
            Polynomial degree of the correction.
        fit_range : tuple, optional
            Predicted-mass range to fit; default the 1st-99th percentiles.
        catalogue : str, optional
            Name of the reference catalogue, recorded in the provenance.
        **kwargs
            Passed to ``predict`` (``columns=``, ``distance=``, ...).

        Returns
        -------
        StellarMassModel
            A copy of this model with the new correction and the measured intrinsic
            scatter; save it with `save`.
        """
        from .accessor import reference_log_mass

        prediction = self.predict(table, correct=False, **kwargs)
        predicted = prediction["logmstar"].value
        ref = reference_log_mass(table, reference)
        provenance = {"catalogue": catalogue or table.meta.get("name", "user table"),
                      "reference_column": reference, "n_rows": len(table)}
        correction = BiasCorrection.fit(predicted, ref, degree=degree, fit_range=fit_range,
                                        provenance=provenance)
        scatter = correction.provenance["residual_scatter_dex"]
        return self.replace(correction=correction, intrinsic_scatter=scatter)

    def replace(self, **changes):
        """A copy of this model with some attributes replaced."""
        fields = {"name": self.name, "bands": self.bands, "features": self.features,
                  "network": self.network, "domain": self.domain,
                  "correction": self.correction, "intrinsic_scatter": self.intrinsic_scatter,
                  "metadata": self.metadata}
        fields.update(changes)
        return type(self)(**fields)

    # -- files ------------------------------------------------------------------------------
    def arrays(self):
        """All arrays stored in the ``.npz`` file."""
        return {**self.network.arrays(), **self.domain.arrays()}

    def to_dict(self):
        """The JSON half of the bundle."""
        return {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "bands": self.bands,
            "features": self.features,
            "activation": self.network.activation,
            "hidden_units": self.network.n_hidden,
            "target": "log10(M*/Msun)",
            "weights_file": f"{self.name}.npz",
            "weights_sha256": arrays_checksum(self.arrays()),
            "correction": None if self.correction is None else self.correction.to_dict(),
            "intrinsic_scatter_dex": self.intrinsic_scatter,
            "metadata": self.metadata,
        }

    def save(self, directory, overwrite=False):
        """Write ``<name>.json`` and ``<name>.npz`` into ``directory``, atomically.

        Returns
        -------
        pathlib.Path
            The JSON file.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        json_path = directory / f"{self.name}.json"
        npz_path = directory / f"{self.name}.npz"
        for path in (json_path, npz_path):
            if path.exists() and not overwrite:
                raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
        arrays = self.arrays()
        atomic_write(npz_path, lambda fh: np.savez(fh, **arrays), overwrite=True)
        text = json.dumps(self.to_dict(), indent=1, sort_keys=False) + "\n"
        atomic_write(json_path, lambda fh: fh.write(text), overwrite=True, mode="w")
        return json_path

    @classmethod
    def load(cls, path):
        """Read a bundle from its JSON file, checking format and checksum.

        Raises
        ------
        ModelFormatError
            If the file is malformed, of an unsupported version, or the arrays do not
            match their recorded checksum.
        """
        path = Path(path)
        try:
            spec = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ModelFormatError(f"cannot read model file {path}: {exc}") from exc
        if not isinstance(spec, dict) or spec.get("format_version") != FORMAT_VERSION:
            raise ModelFormatError(
                f"{path}: unsupported model format version "
                f"{spec.get('format_version') if isinstance(spec, dict) else None!r} "
                f"(this astropy-smass reads version {FORMAT_VERSION})")
        required = ("name", "bands", "features", "activation", "weights_file", "weights_sha256")
        missing = [key for key in required if key not in spec]
        if missing:
            raise ModelFormatError(f"{path}: missing keys {', '.join(missing)}")
        npz_path = path.parent / spec["weights_file"]
        try:
            with np.load(npz_path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
        except (OSError, ValueError) as exc:
            raise ModelFormatError(f"cannot read model weights {npz_path}: {exc}") from exc
        if arrays_checksum(arrays) != spec["weights_sha256"]:
            raise ModelFormatError(f"{npz_path} does not match the checksum recorded in {path}; "
                                   "the file is corrupt or was modified")
        try:
            network = OneHiddenLayerNetwork.from_arrays(arrays, spec["activation"])
            domain = TrainingDomain.from_arrays(arrays)
            correction = (BiasCorrection.from_dict(spec["correction"])
                          if spec.get("correction") else None)
            return cls(spec["name"], spec["bands"], spec["features"], network, domain,
                       correction, spec.get("intrinsic_scatter_dex", 0.0),
                       spec.get("metadata", {}))
        except (KeyError, ValueError) as exc:
            raise ModelFormatError(f"{path}: inconsistent model bundle: {exc}") from exc


def _bundled_dir():
    return Path(str(resources.files("astropy_smass") / "data" / "models"))


def _bundles_in(path):
    path = Path(path)
    if path.is_dir():
        return sorted(path.glob("*.json"))
    return [path]


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
            target = target() if callable(target) else target
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
def _load_cached(path, mtime):
    return StellarMassModel.load(path)


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
                raise ValueError(f"{path} holds {len(bundles)} model bundles; name the JSON file")
            path = bundles[0]
        if not path.exists():
            raise FileNotFoundError(f"model file {path} does not exist")
    else:
        models = available_models()
        if str(name_or_path) not in models:
            raise ValueError(f"unknown model {name_or_path!r}; available: "
                             f"{', '.join(models) or 'none'}")
        path = models[str(name_or_path)]
    path = path.resolve()
    return _load_cached(path, path.stat().st_mtime_ns)
