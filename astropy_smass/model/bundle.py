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
from ..exceptions import InputError, ModelFormatError
from ..flags import IMPLAUSIBLE_MAG, MAX_ERROR_MAG, NO_MASS, OUT_OF_DOMAIN, SmassFlag
from .correction import BiasCorrection
from .domain import TrainingDomain
from .features import REDSHIFT_INPUT, build_features, feature_matrix
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
        return _MagnitudePass(self)

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
                raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
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


# Galaxies per block of the fused pass (rounded up to a multiple of 16). Measured with
# numpy 2.4 and OpenBLAS on AVX-512: a block's intermediates stay in the level-2 cache;
# numpy broadcasts a per-row constant along rows of more than 4096 values several times
# faster than along shorter ones; and OpenBLAS multiplies these thin matrices about twice
# as fast up to some 4600 columns as beyond.
_BLOCK = 4608


def _bits(mask, flag):
    """``flag`` (int32) where ``mask`` is true, else 0.

    Arithmetic on the whole array: masked assignment branches per row, several times
    slower when many rows are true.
    """
    return np.multiply(mask, np.int32(flag), dtype=np.int32)


def _block_size():
    # Whole multiples of 16 columns: no BLAS kernel's edge case for a partial tile, and
    # whole 8-byte words of booleans.
    return max(16, -(-_BLOCK // 16) * 16)


def _range_plan(feature_matrix, lower, upper):
    """Bounds of the range check, on the quantities the pass computes exactly.

    Every feature is plus or minus one magnitude, or the difference of two (see
    `~astropy_smass.model.features.feature_matrix`). A magnitude is compared with its bounds
    as it is; a colour as the one rounded difference that ``build_features`` makes too
    (``x_b - x_a`` is exactly ``-(x_a - x_b)``). Bounds of features on the same quantity
    are intersected, which flags the same rows.

    Returns
    -------
    dict
        ``mag_lower``, ``mag_upper`` (n_bands, 1); ``adjacent_lower``,
        ``adjacent_upper`` (n_bands - 1, 1) for ``x_a - x_(a+1)``, absent when no
        feature is such a colour; ``first``, ``second`` (index arrays) and
        ``pair_lower``, ``pair_upper`` (n_pairs, 1) for the other colours ``x_a - x_b``.
        A bound without a feature is infinite.
    """
    n_bands = feature_matrix.shape[1]
    bounds = {}  # (a, b) -> [lower, upper] of x_a - x_b; (a, None) for x_a

    def narrow(key, low, high):
        old = bounds.setdefault(key, [-np.inf, np.inf])
        # A NaN bound flags nothing (its comparisons are false): leave it out.
        if not np.isnan(low):
            old[0] = max(old[0], low)
        if not np.isnan(high):
            old[1] = min(old[1], high)

    for row, low, high in zip(feature_matrix, lower, upper):
        plus, minus = np.flatnonzero(row == 1.0), np.flatnonzero(row == -1.0)
        if len(plus) + len(minus) != np.count_nonzero(row) or len(plus) > 1 or len(minus) > 1:
            raise ValueError(f"feature coefficients {row} are not a magnitude or a colour")
        if len(plus) and len(minus):
            a, b = int(plus[0]), int(minus[0])
            if a < b:
                narrow((a, b), low, high)
            else:  # the same colour the other way round
                narrow((b, a), -high, -low)
        elif len(plus):
            narrow((int(plus[0]), None), low, high)
        elif len(minus):
            narrow((int(minus[0]), None), -high, -low)
    plan = {"mag_lower": np.full((n_bands, 1), -np.inf),
            "mag_upper": np.full((n_bands, 1), np.inf)}
    adjacent = {key: value for key, value in bounds.items()
                if key[1] is not None and key[1] == key[0] + 1}
    if adjacent:
        plan["adjacent_lower"] = np.full((n_bands - 1, 1), -np.inf)
        plan["adjacent_upper"] = np.full((n_bands - 1, 1), np.inf)
    pairs = []
    for (a, b), (low, high) in bounds.items():
        if b is None:
            plan["mag_lower"][a], plan["mag_upper"][a] = low, high
        elif (a, b) in adjacent:
            plan["adjacent_lower"][a], plan["adjacent_upper"][a] = low, high
        else:
            pairs.append((a, b, low, high))
    plan["first"] = np.array([p[0] for p in pairs], dtype=int)
    plan["second"] = np.array([p[1] for p in pairs], dtype=int)
    plan["pair_lower"] = np.array([[p[2]] for p in pairs]).reshape(-1, 1)
    plan["pair_upper"] = np.array([[p[3]] for p in pairs]).reshape(-1, 1)
    return plan


def _range_screen(plan, center, dtype):
    """Bounds of centred magnitudes and colours in ``dtype`` that decide the range check
    where it cannot be wrong; None if the plan allows no such screen.

    A centred magnitude ``v = x - c`` rounded to ``dtype`` is within ``u |v|`` of its
    exact value (``u`` the unit roundoff), the difference of two within
    ``u (|v_a| + |v_b| + |v_a - v_b|)``. Each bound moves inwards by four times the
    largest such error on it, so a galaxy inside every moved bound passes the exact
    check; every other galaxy gets the exact check. This needs a magnitude bound on
    every band (which bounds each ``|v|`` of a galaxy inside) and colours of adjacent
    bands only.
    """
    if len(plan["first"]):
        return None
    lower = plan["mag_lower"][:, 0] - center
    upper = plan["mag_upper"][:, 0] - center
    reach = np.maximum(np.abs(lower), np.abs(upper))
    if not np.all(np.isfinite(reach)):
        return None
    u = np.finfo(dtype).eps / 2
    margin = 4 * u * reach
    screen = {"mag_lower": (lower + margin)[:, None].astype(dtype),
              "mag_upper": (upper - margin)[:, None].astype(dtype)}
    if "adjacent_lower" in plan:
        offset = center[:-1] - center[1:]
        lower = plan["adjacent_lower"][:, 0] - offset
        upper = plan["adjacent_upper"][:, 0] - offset
        colour_reach = np.maximum(np.where(np.isfinite(lower), np.abs(lower), 0.0),
                                  np.where(np.isfinite(upper), np.abs(upper), 0.0))
        margin = 4 * u * (reach[:-1] + reach[1:] + colour_reach)
        screen["adjacent_lower"] = (lower + margin)[:, None].astype(dtype)
        screen["adjacent_upper"] = (upper - margin)[:, None].astype(dtype)
    return screen


class _MagnitudePass:
    """The model's per-row numerics on magnitudes, block by block.

    Features are linear in magnitudes, so the whitened offsets from the training centre
    (for the Mahalanobis distance) and the network's standardised first layer are affine
    maps of the magnitudes: a block of rows costs two small matrix products on the
    magnitudes minus those of the training centre, the activation and two weighted
    sums, every intermediate in cache. The range check compares each magnitude, and
    each colour as one rounded difference, with the training bounds, so it agrees bit
    for bit with `TrainingDomain.check` on `build_features`.

    Blocks are stored transposed (one row of the block per band, hidden unit or
    whitened coordinate, one column per galaxy), so the weighted sums run along
    contiguous rows in numpy's own loops (no BLAS) and every per-unit constant is
    broadcast along a row. Every matrix product has the same shape, ``_BLOCK``
    columns, whatever the number of rows: the last block of a table is padded. BLAS
    picks its kernels by shape, and a kernel treats every column of a full tile alike,
    so each galaxy's result depends on that galaxy alone, not on the table or chunk it
    came in: a table predicted in chunks (streaming, Dask) gives the same numbers as in
    one go.

    ``dtype`` is the precision of the block: float32 halves the cost of the products
    and of the comparisons. The network's output then moves by far less than 1e-4 dex
    (tested), and the flags stay exactly those of float64: the range check and the
    Mahalanobis distance in float32 decide only where a bound of their rounding error
    says they cannot be wrong (see `_range_screen` and `_screen_tolerance`); float64
    decides the other galaxies, typically a fraction of a per cent.
    """

    dtype = np.float32

    def __init__(self, model):
        network, domain = model.network, model.domain
        to_features = model._feature_matrix.T  # (n_bands, n_features)
        self.n_bands = to_features.shape[0]
        self.range_plan = _range_plan(model._feature_matrix, domain.feature_min,
                                      domain.feature_max)
        self.center = model.domain_center_magnitudes()
        # Whitening of centred magnitudes, with the whitened offset of the centre (which
        # need not map exactly onto domain.center) as a last column: the centred block
        # carries a row of ones, so the product adds it.
        whitened_offset = (self.center @ to_features - domain.center) @ domain.whitening
        self.whitening_rows = np.column_stack([(to_features @ domain.whitening).T,
                                               whitened_offset])
        self.max_distance = domain.max_distance
        hidden_matrix = to_features @ network._w1  # (n_bands, n_hidden)
        bias = network._b1 + self.center @ hidden_matrix
        self.relu = network.activation == "relu"
        if self.relu:
            # relu(h + b) = max(h, -b) + b: one pass over the block instead of two, and
            # the sum over units of w2 * b joins the output bias.
            hidden_bias = -bias
            self.output_bias = np.float64(network.weights_output @ bias + network.bias_output)
        else:
            hidden_bias = bias
            self.output_bias = np.float64(network.bias_output)
        dtype = self.dtype
        self.hidden_rows = np.ascontiguousarray(hidden_matrix.T, dtype=dtype)
        self.hidden_bias = hidden_bias.astype(dtype)
        self.output_weights = network.weights_output.astype(dtype)
        self.whitening_work = self.whitening_rows.astype(dtype)
        self.range_screen = screen_tolerance = None
        if dtype != np.float64:
            self.range_screen = _range_screen(self.range_plan, self.center, dtype)
            screen_tolerance = self._screen_tolerance()
        self.screen_tolerance = screen_tolerance
        # d output / d magnitudes = jacobian_matrix @ act'(hidden), per galaxy (column)
        self.jacobian_matrix = hidden_matrix * network.weights_output
        self.network = network
        self._tiles = {}

    def _screen_tolerance(self):
        """Largest difference between the squared Mahalanobis distance computed in
        ``dtype`` and in float64, for galaxies inside the training feature ranges.

        Both come from the same centred magnitudes ``v`` (with a 1 appended) and the
        whitening ``W``. Rounding the inputs to ``dtype`` and a dot product of ``K``
        terms move each whitened coordinate by at most ``g(K + 2) * a_j``, with
        ``a_j = sum_k |W_jk| |v_k|`` and ``g(k) = k u / (1 - k u)``; so the squared
        distance, a sum of ``r`` squares, moves by at most
        ``(2 g(K + 2) + g(K + 2)**2 + g(r) (1 + g(K + 2))**2) * sum_j a_j**2``, and
        ``sum_j a_j**2 <= || |W| ||_2**2 (|v|**2 + 1)``. Inside the ranges each ``|v_k|``
        is at most the distance from the centre to the band's farther bound. The same
        bound with float64's ``u`` covers the float64 sum. None (no screen) if a band
        has no magnitude bound.
        """
        plan = self.range_plan
        reach = np.maximum(np.abs(plan["mag_lower"][:, 0] - self.center),
                           np.abs(plan["mag_upper"][:, 0] - self.center))
        if not np.all(np.isfinite(reach)):
            return None
        r, k = self.whitening_rows.shape
        size = np.linalg.norm(np.abs(self.whitening_rows), 2) ** 2 * (np.sum(reach ** 2) + 1)
        total = 0.0
        for dtype in (self.dtype, np.float64):
            u = np.finfo(dtype).eps / 2
            g_k, g_r = (k + 2) * u / (1 - (k + 2) * u), r * u / (1 - r * u)
            total += (2 * g_k + g_k ** 2 + g_r * (1 + g_k) ** 2) * size
        return 1.01 * total  # headroom for the rounding of this estimate itself

    def _bias_tile(self, size):
        # Same shape as the hidden block: numpy's binary loops are several times faster
        # on equal contiguous operands than on a broadcast column. Read-only, so calls
        # in several threads can share it.
        tile = self._tiles.get(size)
        if tile is None:
            tile = np.repeat(self.hidden_bias[:, None], size, axis=1)
            tile.flags.writeable = False
            self._tiles[size] = tile
        return tile

    def _work(self, gradient=False, dtype=None):
        """Work arrays of one call (blocks of ``_block_size()`` columns)."""
        size, n_hidden, dtype = _block_size(), len(self.hidden_bias), dtype or self.dtype
        # Zero padding: a short last block leaves no NaN or denormal garbage behind it.
        centred = np.zeros((self.n_bands + 1, size), dtype)
        centred[-1] = 1.0
        n_colours = len(self.range_plan.get("adjacent_lower", ()))
        work = {
            "centred": centred,
            "whitened": np.empty((len(self.whitening_rows), size), dtype),
            "distance2": np.empty(size, dtype),
            "hidden": np.empty((n_hidden, size), dtype),
            "output": np.empty(size, dtype),
            "checks": np.empty((2 * (self.n_bands + n_colours), size), bool),
            "colours": np.empty((n_colours, size), dtype),
            "unsure": np.empty(size, bool),
        }
        if gradient:
            work["active"] = np.empty((n_hidden, size), bool)
            work["slope"] = np.empty((n_hidden, size))
            work["jacobian"] = np.empty((self.n_bands, size))
        return work

    def _centre(self, magnitudes, work):
        """Magnitudes (rows, n_bands) minus the centre's, into the block's columns."""
        rows = len(magnitudes)
        np.subtract(magnitudes.T, self.center[:, None], out=work["centred"][:-1, :rows],
                    casting="same_kind")
        return rows

    def _distance2(self, work, whitening):
        """Squared Mahalanobis distance of the centred block."""
        whitened = np.matmul(whitening, work["centred"], out=work["whitened"])
        return np.einsum("ij,ij->j", whitened, whitened, out=work["distance2"])

    def _hidden(self, work):
        """Hidden activations (n_hidden, block) and raw output (block,) before its bias."""
        hidden = np.matmul(self.hidden_rows, work["centred"][:-1], out=work["hidden"])
        if self.relu:
            np.maximum(hidden, self._bias_tile(hidden.shape[1]), out=hidden)
        else:
            hidden += self._bias_tile(hidden.shape[1])
            self.network._act(hidden)
        # numpy's loop, not BLAS: the sum over units runs the same way for every galaxy.
        out = np.einsum("ij,i->j", hidden, self.output_weights, out=work["output"])
        return hidden, out

    def predict(self, magnitudes):
        """Raw network output for magnitudes (n, n_bands), no checks."""
        n = len(magnitudes)
        raw = np.empty(n)
        work, size = self._work(), _block_size()
        for start in range(0, n, size):
            rows = self._centre(magnitudes[start:start + size], work)
            np.add(self._hidden(work)[1][:rows], self.output_bias, out=raw[start:start + rows])
        return raw

    def exact_distance2(self, magnitudes):
        """Squared Mahalanobis distance (n,) in float64, in the same fixed-shape blocks."""
        n = len(magnitudes)
        distance2 = np.empty(n)
        work, size = self._work(dtype=np.float64), _block_size()
        for start in range(0, n, size):
            rows = self._centre(magnitudes[start:start + size], work)
            distance2[start:start + rows] = self._distance2(work, self.whitening_rows)[:rows]
        return distance2

    def run(self, magnitudes, usable, errors=None, gradient=False):
        """Raw output, new flags and, with ``gradient``, the propagated error norm.

        Rows that are not usable, or have a non-finite magnitude, get no domain flag
        and NaN or meaningless values (the caller masks them). ``usable`` is a boolean
        array (n,), or None for all rows.

        Returns
        -------
        raw : ndarray (n,)
        flags : ndarray of int32 (n,)
            NONFINITE for usable rows with a non-finite magnitude; domain flags and
            BAD_ERROR (bad value in ``errors``) for the remaining usable rows.
        error_norm : ndarray (n,) or None
            ``|d raw / d m * sigma|`` (dex) with ``gradient``, NaN for rows with a bad
            error, 0 without ``errors``.
        """
        n = len(magnitudes)
        raw, outside = np.empty(n), np.empty(n, bool)
        distance2 = np.empty(n, self.dtype)
        error_norm = np.zeros(n) if gradient else None
        bad_error = np.zeros(n, bool) if gradient and errors is not None else None
        limit = self.max_distance ** 2
        # NaN and infinite inputs are expected here (they are flagged, not computed).
        with np.errstate(invalid="ignore", over="ignore"):
            self._blocks(magnitudes, errors, gradient and errors is not None, raw,
                         distance2, outside, error_norm, bad_error)
            # (In float32, the comparisons round the limit to float32: a far smaller
            # move than the screen's tolerance, which is some thirty float32 roundings
            # of the limit or more.)
            far = distance2 > limit
            finite = np.isfinite(distance2)
            if self.dtype != np.float64:
                # float64 decides the range check where the screen was unsure, and the
                # distance outside the ranges (where the error bound does not hold) or
                # near the limit. (A NaN inside the ranges comes from a NaN magnitude,
                # and is NaN in float64 too.)
                if self.screen_tolerance is None:
                    check = np.ones(n, bool)
                else:
                    tolerance = self.screen_tolerance
                    check = np.greater_equal(distance2, limit - tolerance)
                    check &= distance2 <= limit + tolerance
                    check |= outside
                if check.any():
                    check = np.flatnonzero(check)
                    rows = magnitudes[check]
                    if self.range_screen is not None:
                        outside[check] = self._exact_outside(rows.T)
                    exact = self.exact_distance2(rows)
                    far[check] = exact > limit
                    finite[check] = np.isfinite(exact)
            # A NaN or infinite magnitude makes the distance non-finite (so would an
            # overflow, hence the exact look at those rows).
            if not finite.all():
                suspect = np.flatnonzero(~finite)
                finite[suspect] = np.isfinite(magnitudes[suspect]).all(axis=1)
        # Flags of the usable rows with finite magnitudes (all rows, most often), built
        # in one byte a row: the whole-array temporaries stay small.
        ok = finite if usable is None else finite & usable
        outside &= ok
        far &= ok
        flags = np.multiply(outside.view(np.uint8), np.uint8(SmassFlag.OUT_OF_RANGE))
        flags |= far.view(np.uint8) * np.uint8(SmassFlag.OUT_OF_DISTRIBUTION)
        if bad_error is not None:
            bad_error &= ok
            flags |= bad_error.view(np.uint8) * np.uint8(SmassFlag.BAD_ERROR)
        flags = flags.astype(np.int32)
        if not finite.all():
            flags |= _bits(~finite if usable is None else usable & ~finite, SmassFlag.NONFINITE)
        return raw, flags, error_norm

    def _blocks(self, magnitudes, errors, gradient, raw, distance2, outside, error_norm,
                bad_error):
        """The block loop of `run`: with a range screen, ``outside`` is where it is unsure."""
        n = len(magnitudes)
        work, size = self._work(gradient), _block_size()
        for start in range(0, n, size):
            block = slice(start, start + size)
            rows = self._centre(magnitudes[block], work)
            if self.range_screen is None:
                self._exact_outside(magnitudes[block].T, out=outside[block])
            else:
                outside[block] = self._screen_range(work)[:rows]
            distance2[block] = self._distance2(work, self.whitening_work)[:rows]
            hidden, out = self._hidden(work)
            np.add(out[:rows], self.output_bias, out=raw[block])
            if gradient:
                self._error_norm(hidden, errors[block].T, rows, work, error_norm[block],
                                 bad_error[block])

    def _screen_range(self, work):
        """Where the range screen is unsure, for the centred block (see `_range_screen`)."""
        screen, n_bands = self.range_screen, self.n_bands
        centred, checks = work["centred"][:-1], work["checks"]
        np.less(centred, screen["mag_lower"], out=checks[:n_bands])
        np.greater(centred, screen["mag_upper"], out=checks[n_bands:2 * n_bands])
        if "adjacent_lower" in screen:
            m = n_bands - 1
            colours = np.subtract(centred[:-1], centred[1:], out=work["colours"])
            np.less(colours, screen["adjacent_lower"], out=checks[2 * n_bands:2 * n_bands + m])
            np.greater(colours, screen["adjacent_upper"], out=checks[2 * n_bands + m:])
        # Any of the rows, eight galaxies at a time (blocks are whole multiples of 8).
        unsure = work["unsure"]
        np.bitwise_or.reduce(checks.view(np.uint64), axis=0,
                             out=unsure.view(np.uint64))
        return unsure

    def _exact_outside(self, magnitudes, out=None):
        """The range check of magnitudes (n_bands, rows): features outside the bounds.

        Each magnitude is compared as it is, each colour as the one rounded difference
        that ``build_features`` makes too, so the result is `TrainingDomain.check`'s.
        """
        plan = self.range_plan
        checks = [np.less(magnitudes, plan["mag_lower"]),
                  np.greater(magnitudes, plan["mag_upper"])]
        if "adjacent_lower" in plan:
            colours = magnitudes[:-1] - magnitudes[1:]
            checks += [np.less(colours, plan["adjacent_lower"]),
                       np.greater(colours, plan["adjacent_upper"])]
        if len(plan["first"]):
            pairs = magnitudes[plan["first"]] - magnitudes[plan["second"]]
            checks += [np.less(pairs, plan["pair_lower"]),
                       np.greater(pairs, plan["pair_upper"])]
        return np.logical_or.reduce(np.concatenate(checks), axis=0, out=out)

    def _error_norm(self, hidden, errors, rows, work, norm, bad):
        """``|d raw / d m * sigma|`` of a block into ``norm``; rows with a bad error
        into ``bad``. ``errors`` is (n_bands, rows)."""
        if self.relu:
            active = np.greater(hidden, self._bias_tile(hidden.shape[1]), out=work["active"])
            np.copyto(work["slope"], active.view(np.uint8))  # faster than a bool cast
        else:
            np.copyto(work["slope"], self.network._act_grad(hidden))
        jacobian = np.matmul(self.jacobian_matrix, work["slope"], out=work["jacobian"])
        jacobian = jacobian[:, :rows]
        jacobian *= errors
        np.einsum("ij,ij->j", jacobian, jacobian, out=norm)
        np.sqrt(norm, out=norm)
        # A NaN or infinite error makes the norm non-finite; a negative or a huge one not.
        np.less(np.minimum.reduce(errors, axis=0), 0, out=bad)
        bad |= np.maximum.reduce(errors, axis=0) > MAX_ERROR_MAG
        bad |= ~np.isfinite(norm)
        norm[bad] = np.nan
