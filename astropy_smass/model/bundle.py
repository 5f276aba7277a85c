"""Model bundles: a trained network with everything needed to use it honestly.

A bundle is two files side by side: ``<name>.npz`` with the arrays (network weights,
input scaling, training-domain description; read with ``allow_pickle=False``) and
``<name>.json`` with the bands, feature definition, activation, bias correction and
its provenance, intrinsic scatter, training provenance and scores, the format
version, the SHA-256 checksum of the arrays and one over the whole bundle (arrays and
every JSON field: `bundle_checksum`); the values are validated when a bundle is loaded
(`validate_bundle`). Where bundles are found (the package's own, plugins) and loading
them by name is `astropy_smass.model.registry`'s job.
"""

import functools
import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from .._utils import atomic_write, json_default, warn_once
from ..exceptions import InputError, ModelFormatError, OutputExistsError
from ..flags import IMPLAUSIBLE_MAG, MAX_ERROR_MAG, NO_MASS, OUT_OF_DOMAIN, SmassFlag
from .correction import BiasCorrection
from .domain import TrainingDomain
from .features import REDSHIFT_INPUT, build_features, feature_matrix
from .magnitude_pass import MagnitudePass, _bits
from .network import OneHiddenLayerNetwork
from .uncertainty import monte_carlo_uncertainty, total_uncertainty

__all__ = ["StellarMassModel", "FORMAT_VERSION", "arrays_checksum", "bundle_checksum",
           "validate_bundle"]

#: The bundle format written. Version 2 added ``sha256``, one checksum over the arrays
#: and every field of the JSON half; version 1 bundles (``weights_sha256`` over the arrays
#: alone) are still read, with a warning.
FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)


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


def bundle_checksum(spec, arrays):
    """SHA-256 of a whole bundle: its arrays and every field of its JSON half.

    Parameters
    ----------
    spec : dict
        The JSON half (as written or read); its own ``sha256`` item is left out.
    arrays : dict of str to array-like
        The ``.npz`` half.

    Returns
    -------
    str
        Hex digest over `arrays_checksum` and the fields as canonical JSON (sorted
        keys, no spaces), so that editing any number (correction, activation,
        intrinsic scatter, domain, features, redshift range) or any other field
        changes it, while the file's layout (indentation, key order) does not.
    """
    fields = {key: value for key, value in spec.items() if key != "sha256"}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      default=json_default)
    digest = hashlib.sha256()
    digest.update(arrays_checksum(arrays).encode())
    digest.update(b"|")
    digest.update(text.encode())
    return digest.hexdigest()


def _finite_number(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and np.isfinite(value))


def validate_bundle(spec, arrays):
    """Check the values of a bundle: what a checksum cannot vouch for.

    A bundle whose checksum was recomputed after an edit still has to hold numbers
    that make sense: finite arrays (weights, scaling, domain), a known activation, an
    intrinsic scatter that is finite and not negative, a finite bias correction with
    an ordered fit range, known bands and a redshift range, where given, of two
    finite numbers in order.

    Parameters
    ----------
    spec : dict
        The JSON half.
    arrays : dict of str to ndarray
        The ``.npz`` half.

    Returns
    -------
    list of str
        What is wrong; empty for a valid bundle.
    """
    from ..photometry.bands import get_band
    from .network import ACTIVATIONS

    problems = []
    for name, array in sorted(arrays.items()):
        array = np.asarray(array)
        if array.dtype.kind not in "biuf":
            problems.append(f"array {name!r} holds {array.dtype} values, not numbers")
        elif not np.isfinite(array).all():
            problems.append(f"array {name!r} has {np.size(array) - np.isfinite(array).sum()} "
                            "values that are NaN or infinite")
    if spec.get("activation") not in ACTIVATIONS:
        problems.append(f"unknown activation {spec.get('activation')!r} (known: "
                        f"{', '.join(ACTIVATIONS)})")
    scatter = spec.get("intrinsic_scatter_dex", 0.0)
    if not _finite_number(scatter) or scatter < 0:
        problems.append(f"intrinsic_scatter_dex must be a finite number >= 0, got {scatter!r}")
    correction = spec.get("correction")
    if correction:
        coefficients = correction.get("coefficients") if isinstance(correction, dict) else None
        fit_range = correction.get("fit_range") if isinstance(correction, dict) else None
        if not (isinstance(coefficients, list) and coefficients
                and all(_finite_number(c) for c in coefficients)):
            problems.append(f"correction coefficients must be finite numbers, got "
                            f"{coefficients!r}")
        if not _finite_number(correction.get("pivot") if isinstance(correction, dict)
                              else None):
            problems.append("the correction's pivot must be a finite number")
        if not (isinstance(fit_range, list) and len(fit_range) == 2
                and all(_finite_number(v) for v in fit_range) and fit_range[0] <= fit_range[1]):
            problems.append(f"the correction's fit_range must be two finite numbers in order, "
                            f"got {fit_range!r}")
    for band in spec.get("bands") or ():
        try:
            get_band(band)
        except (KeyError, ValueError, TypeError):
            problems.append(f"unknown band {band!r}")
    redshift_range = spec.get("redshift_range")
    if redshift_range is not None and not (
            isinstance(redshift_range, list) and len(redshift_range) == 2
            and all(_finite_number(v) for v in redshift_range)
            and redshift_range[0] < redshift_range[1]):
        problems.append(f"redshift_range must be two finite numbers in order, got "
                        f"{redshift_range!r}")
    distance = arrays.get("domain_max_distance")
    if distance is not None and np.isfinite(distance).all() and not np.all(distance > 0):
        problems.append("the domain's largest Mahalanobis distance must be positive")
    low, high = arrays.get("domain_min"), arrays.get("domain_max")
    if low is not None and high is not None and np.shape(low) == np.shape(high) \
            and np.any(np.asarray(low) > np.asarray(high)):
        problems.append("the domain's feature minima exceed its maxima")
    hidden = spec.get("hidden_units")
    weights = arrays.get("weights_hidden")
    if hidden is not None and weights is not None and np.ndim(weights) == 2 \
            and hidden != np.shape(weights)[1]:
        problems.append(f"hidden_units is {hidden!r} but the weights have "
                        f"{np.shape(weights)[1]} hidden units")
    return problems


# Table-level methods of earlier versions, now functions of astropy_smass.pipeline (the
# model layer does not import the layers above it).
_TABLE_METHODS = {"predict": "predict_table(table, model, ...)",
                  "saliency": "saliency_table(table, model, ...)",
                  "calibrate": "calibrate_model(model, table, ...)"}


class StellarMassModel:
    """A trained stellar-mass network with its domain, correction and provenance.

    Parameters
    ----------
    name : str
        Identifier, e.g. ``"galex_sdss_2mass_wise"``.
    bands : list of str
        Bands the model needs, in wavelength order.
    features : list of str
        Network inputs (see `astropy_smass.model.features`).
    network : `~astropy_smass.model.network.OneHiddenLayerNetwork`
    domain : `~astropy_smass.model.domain.TrainingDomain`
    correction : `~astropy_smass.model.correction.BiasCorrection`, optional
    intrinsic_scatter : float
        Scatter (dex) of the network against reference masses on real galaxies,
        beyond what photometric errors explain; added in quadrature to the
        propagated uncertainty.
    metadata : dict, optional
        Description, mass definition, IMF, training provenance, scores, report.
    redshift_range : tuple of float, optional
        For an observed-frame model, the redshifts it was trained on: it then takes
        apparent magnitudes minus the distance modulus in its bands, with the
        redshift as the last input (`~astropy_smass.features.REDSHIFT_INPUT`), and
        learns the K-correction. None (the default) for a rest-frame model, which
        takes absolute magnitudes.
    """

    def __init__(self, name, bands, features, network, domain, correction=None,
                 intrinsic_scatter=0.0, metadata=None, redshift_range=None):
        self.name = name
        self.bands = list(bands)
        self.redshift_range = (None if redshift_range is None
                               else tuple(float(z) for z in redshift_range))
        if self.redshift_range is not None and not (
                len(self.redshift_range) == 2
                and 0 <= self.redshift_range[0] < self.redshift_range[1]):
            raise ModelFormatError(f"model {name!r}: redshift_range must be (zmin, zmax) with "
                                   f"0 <= zmin < zmax, got {redshift_range!r}")
        #: Columns of the input array: the bands, then the redshift for observed-frame
        #: models.
        self.inputs = self.bands + ([REDSHIFT_INPUT] if self.redshift_range else [])
        self.features = list(features)
        self.network = network
        self.domain = domain
        self.correction = correction
        self.intrinsic_scatter = float(intrinsic_scatter)
        self.metadata = dict(metadata or {})
        #: Where the bundle came from (a `~astropy_smass.model.registry.ModelSource`, set by
        #: `~astropy_smass.model.registry.load_model`; None for a
        #: model made in memory).
        self.source = None
        self._feature_matrix = feature_matrix(self.features, self.inputs)
        if network.n_features != len(self.features):
            raise ModelFormatError(f"model {name!r}: network takes {network.n_features} inputs "
                                   f"but {len(self.features)} features are defined")

    @property
    def observed_frame(self):
        """True for a redshift-aware model of apparent magnitudes."""
        return self.redshift_range is not None

    def __repr__(self):
        frame = (f", observed frame {self.redshift_range[0]:g} <= z <= "
                 f"{self.redshift_range[1]:g}" if self.observed_frame else "")
        return (f"<StellarMassModel {self.name!r}: {len(self.bands)} bands "
                f"({' '.join(self.bands)}){frame}, {len(self.features)} features, "
                f"{self.network.n_hidden} hidden {self.network.activation} units>")

    # -- numerics on plain arrays -----------------------------------------------------
    def features_from_magnitudes(self, magnitudes):
        """Feature array (n, n_features) from the inputs (n, n_inputs): absolute AB
        magnitudes, or for observed-frame models apparent magnitudes minus the distance
        modulus followed by the redshift."""
        return build_features(magnitudes, self.inputs, self.features)

    @functools.cached_property
    def _magnitude_pass(self):
        return MagnitudePass(self)

    def _mass_from_magnitudes(self, magnitudes, correct):
        raw = self._magnitude_pass.predict(magnitudes)
        if correct and self.correction is not None:
            return self.correction.apply(raw)
        return raw

    def predict_magnitudes(self, magnitudes, errors=None, uncertainty=None, n_draws=100,
                           seed=None, correct=True, exclude_out_of_domain=True, flags=None):
        """Predict log stellar masses from absolute magnitudes.

        Parameters
        ----------
        magnitudes : ndarray, shape (n, n_inputs)
            Absolute AB magnitudes (mag) in the order of ``self.bands``; for an
            observed-frame model apparent AB magnitudes minus the distance modulus
            (mag), then the redshift (see ``self.inputs``).
        errors : ndarray, shape (n, n_inputs), optional
            1-sigma magnitude errors (mag); the redshift's error last, where the model
            takes it.
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
        if magnitudes.ndim != 2 or magnitudes.shape[1] != len(self.inputs):
            raise InputError(f"magnitudes must have shape (n, {len(self.inputs)}) for inputs "
                             f"{self.inputs}, got {magnitudes.shape}")
        if uncertainty not in (None, "analytic", "montecarlo"):
            raise InputError(f"uncertainty must be None, 'analytic' or 'montecarlo', got "
                             f"{uncertainty!r}")
        analytic = uncertainty == "analytic"
        if errors is not None:
            errors = np.asarray(errors, dtype=float)
        usable = None if flags is None else (np.asarray(flags) & int(NO_MASS)) == 0
        # One fused pass: non-finite and domain flags, network output and, for analytic
        # uncertainties, the propagated error, without (n, n_features) temporaries.
        raw, new_flags, error_norm = self._magnitude_pass.run(
            magnitudes, usable, errors if analytic else None, gradient=analytic)
        # A new array: the caller's flags are left alone.
        flags = new_flags if flags is None else new_flags | np.asarray(flags, np.int32)
        self._flag_implausible(magnitudes, flags)
        corrected, slope = raw, None
        if correct and self.correction is not None:
            corrected = self.correction.apply(raw)
            if analytic:
                slope = self.correction.slope(raw)
            clamped = self.correction.clamped(raw)
            if clamped.any():
                clamped &= (flags & int(NO_MASS)) == 0
                flags |= _bits(clamped, SmassFlag.CORRECTION_CLAMPED)
        result = {"logmstar_raw": raw, "logmstar": corrected}
        if analytic:
            phot = error_norm
            if slope is not None:
                slope += 1.0  # d corrected / d raw
                phot *= np.abs(slope, out=slope)
        elif uncertainty == "montecarlo":
            usable = (flags & int(NO_MASS)) == 0
            if errors is None:
                errors = np.zeros_like(magnitudes)
            bad_error = ~(np.isfinite(errors) & (errors >= 0)
                          & (errors <= MAX_ERROR_MAG)).all(axis=1)
            flags[usable & bad_error] |= SmassFlag.BAD_ERROR
            safe_errors = np.where(bad_error[:, None], 0.0, errors)
            # Unusable rows get placeholder inputs so the vectorised pass stays clean.
            safe = np.where(usable[:, None], magnitudes, self.domain_center_magnitudes())
            phot = monte_carlo_uncertainty(
                lambda m: self._mass_from_magnitudes(m, correct), safe, safe_errors,
                n_draws=n_draws, seed=seed)
            phot[bad_error] = np.nan
        if uncertainty is not None:
            result["logmstar_err_phot"] = phot
            result["logmstar_err"] = total_uncertainty(phot, self.intrinsic_scatter)
        drop = NO_MASS | OUT_OF_DOMAIN if exclude_out_of_domain else NO_MASS
        no_mass = (flags & int(drop)) != 0
        if no_mass.any():
            for values in result.values():
                values[no_mass] = np.nan
        # A safeguard: a mass that is not finite is NaN, and has a flag that says why
        # there is no mass (NONFINITE where none of the others does).
        corrected = result["logmstar"]
        if not np.isfinite(np.sum(corrected)):  # one reduction when all is well
            bad = ~np.isfinite(corrected)
            corrected[bad] = np.nan
            flags[bad & ((flags & int(drop)) == 0)] |= SmassFlag.NONFINITE
        result["flags"] = flags
        return result

    def _flag_implausible(self, magnitudes, flags):
        """Raise `SmassFlag.IMPLAUSIBLE` (in place) on rows out of range by more than
        `IMPLAUSIBLE_MAG` in every band that has a magnitude bound.

        Only rows already flagged OUT_OF_RANGE are looked at: most tables have few.
        """
        outside = np.flatnonzero(flags & SmassFlag.OUT_OF_RANGE)
        if not len(outside):
            return
        plan = self._magnitude_pass.range_plan
        lower, upper = plan["mag_lower"][:, 0], plan["mag_upper"][:, 0]
        bounded = np.isfinite(lower) | np.isfinite(upper)
        if not bounded.any():
            return
        rows = magnitudes[np.ix_(outside, np.flatnonzero(bounded))]
        with np.errstate(invalid="ignore"):
            far = ((rows < lower[bounded] - IMPLAUSIBLE_MAG)
                   | (rows > upper[bounded] + IMPLAUSIBLE_MAG)).all(axis=1)
        flags[outside[far]] |= SmassFlag.IMPLAUSIBLE

    @functools.cached_property
    def _center_magnitudes(self):
        # Magnitudes whose features are closest to the training centre (least squares).
        return np.linalg.lstsq(self._feature_matrix, self.domain.center, rcond=None)[0]

    def domain_center_magnitudes(self):
        """Inputs (n_inputs,) of a typical training galaxy."""
        return self._center_magnitudes

    def saliency_magnitudes(self, magnitudes):
        """Per-galaxy feature importance ``|d logM / d x_f| * sigma_f`` (dex).

        ``sigma_f`` is the training standard deviation of feature ``f``, so the
        importance is the change in predicted mass for a typical change of the feature.
        """
        features = self.features_from_magnitudes(magnitudes)
        _, jac = self.network.predict_and_jacobian(features)
        return np.abs(jac) * self.network.input_scale

    def __getattr__(self, name):
        # Only reached for attributes the model does not have.
        if name in _TABLE_METHODS:
            raise AttributeError(f"StellarMassModel.{name}(table, ...) moved out of the model "
                                 f"layer: use astropy_smass.pipeline.{_TABLE_METHODS[name]}")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def replace(self, **changes):
        """A copy of this model with some attributes replaced."""
        fields = {"name": self.name, "bands": self.bands, "features": self.features,
                  "network": self.network, "domain": self.domain,
                  "correction": self.correction, "intrinsic_scatter": self.intrinsic_scatter,
                  "metadata": self.metadata, "redshift_range": self.redshift_range}
        fields.update(changes)
        return type(self)(**fields)

    # -- files ------------------------------------------------------------------------------
    def arrays(self):
        """All arrays stored in the ``.npz`` file."""
        return {**self.network.arrays(), **self.domain.arrays()}

    def to_dict(self):
        """The JSON half of the bundle, with its checksum (`bundle_checksum`) last."""
        spec = json.loads(json.dumps(self._fields(), default=json_default))
        spec["sha256"] = bundle_checksum(spec, self.arrays())
        return spec

    def _fields(self):
        return {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "bands": self.bands,
            "redshift_range": (None if self.redshift_range is None
                               else list(self.redshift_range)),
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
                raise OutputExistsError(f"{path} exists; pass overwrite=True to replace it")
        arrays = self.arrays()
        spec = self.to_dict()
        problems = validate_bundle(spec, arrays)
        if problems:
            raise ModelFormatError(f"model {self.name!r} cannot be saved: "
                                   f"{'; '.join(problems)}")
        atomic_write(npz_path, lambda fh: np.savez(fh, **arrays), overwrite=True)
        text = json.dumps(spec, indent=1, sort_keys=False) + "\n"
        atomic_write(json_path, lambda fh: fh.write(text), overwrite=True, mode="w")
        return json_path

    @classmethod
    def load(cls, path):
        """Read a bundle from its JSON file, checking format, checksum and values.

        Raises
        ------
        ModelFormatError
            If the file is malformed or of an unsupported version; if the arrays or
            any field of the JSON do not match the recorded checksum (`bundle_checksum`);
            or if a value makes no sense (`validate_bundle`: non-finite weights, a
            negative or NaN intrinsic scatter, an unknown activation...).

        Warns
        -----
        `~astropy_smass.SmassWarning`
            For a format 1 bundle, whose checksum covers its arrays only (once per
            file and process).
        """
        path = Path(path)
        try:
            spec = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ModelFormatError(f"cannot read model file {path}: {exc}") from exc
        version = spec.get("format_version") if isinstance(spec, dict) else None
        if version not in _READABLE_VERSIONS or isinstance(version, bool):
            raise ModelFormatError(
                f"{path}: unsupported model format version {version!r} (this astropy-smass "
                f"reads versions {', '.join(map(str, _READABLE_VERSIONS))})")
        required = ("name", "bands", "features", "activation", "weights_file", "weights_sha256")
        if version >= 2:
            required += ("sha256",)
        missing = [key for key in required if key not in spec]
        if missing:
            raise ModelFormatError(f"{path}: missing keys {', '.join(missing)}")
        weights_file = spec["weights_file"]
        if not isinstance(weights_file, str) or Path(weights_file).name != weights_file:
            raise ModelFormatError(f"{path}: weights_file must be the name of a file beside it, "
                                   f"got {weights_file!r}")
        npz_path = path.parent / weights_file
        try:
            with np.load(npz_path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise ModelFormatError(f"cannot read model weights {npz_path}: {exc}") from exc
        if arrays_checksum(arrays) != spec["weights_sha256"]:
            raise ModelFormatError(f"{npz_path} does not match the checksum recorded in {path}; "
                                   "the file is corrupt or was modified")
        if version >= 2 and bundle_checksum(spec, arrays) != spec["sha256"]:
            raise ModelFormatError(f"{path} does not match its checksum (sha256): a field of "
                                   "the bundle was modified after it was saved; save models "
                                   "with StellarMassModel.save")
        if version == 1:
            warn_once(f"model bundle {path} is of format version 1, whose checksum covers "
                       "its arrays but not its JSON fields; load and save it again for a "
                       "checksum over the whole bundle")
        problems = validate_bundle(spec, arrays)
        if problems:
            raise ModelFormatError(f"{path}: invalid model bundle: {'; '.join(problems)}")
        try:
            network = OneHiddenLayerNetwork.from_arrays(arrays, spec["activation"])
            domain = TrainingDomain.from_arrays(arrays)
            correction = (BiasCorrection.from_dict(spec["correction"])
                          if spec.get("correction") else None)
            return cls(spec["name"], spec["bands"], spec["features"], network, domain,
                       correction, spec.get("intrinsic_scatter_dex", 0.0),
                       spec.get("metadata", {}), spec.get("redshift_range"))
        except (KeyError, ValueError) as exc:
            raise ModelFormatError(f"{path}: inconsistent model bundle: {exc}") from exc
