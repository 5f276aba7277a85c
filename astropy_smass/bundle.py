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
import types
import warnings
import zipfile
from importlib import metadata, resources
from pathlib import Path

import numpy as np

from .correction import BiasCorrection
from .domain import TrainingDomain
from .features import build_features, feature_matrix
from .flags import NO_MASS, OUT_OF_DOMAIN, SmassFlag, SmassWarning
from .network import OneHiddenLayerNetwork
from .uncertainty import monte_carlo_uncertainty, total_uncertainty

__all__ = ["StellarMassModel", "ModelFormatError", "load_model", "available_models",
           "FORMAT_VERSION", "ENTRY_POINT_GROUP", "arrays_checksum", "atomic_write",
           "json_default"]

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
        Replace an existing file; otherwise `FileExistsError`.
    mode : str or None
        File mode for the temporary file.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
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
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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
        if magnitudes.ndim != 2 or magnitudes.shape[1] != len(self.bands):
            raise ValueError(f"magnitudes must have shape (n, {len(self.bands)}) for bands "
                             f"{self.bands}, got {magnitudes.shape}")
        if uncertainty not in (None, "analytic", "montecarlo"):
            raise ValueError(f"uncertainty must be None, 'analytic' or 'montecarlo', got "
                             f"{uncertainty!r}")
        n = len(magnitudes)
        flags = np.zeros(n, np.int32) if flags is None else np.asarray(flags, np.int32).copy()
        analytic = uncertainty == "analytic"
        if errors is not None:
            errors = np.asarray(errors, dtype=float)
        # One fused pass: non-finite and domain flags, network output and, for analytic
        # uncertainties, the propagated error, without (n, n_features) temporaries.
        raw, new_flags, error_norm = self._magnitude_pass.run(
            magnitudes, (flags & NO_MASS) == 0, errors if analytic else None, gradient=analytic)
        flags |= new_flags
        usable = (flags & NO_MASS) == 0
        corrected, slope = raw, None
        if correct and self.correction is not None:
            corrected = self.correction.apply(raw)
            if analytic:
                slope = self.correction.slope(raw)
            flags[usable & self.correction.clamped(raw)] |= SmassFlag.CORRECTION_CLAMPED
        result = {"logmstar_raw": raw, "logmstar": corrected}
        if analytic:
            phot = error_norm
            if slope is not None:
                phot *= np.abs(1.0 + slope)
        elif uncertainty == "montecarlo":
            if errors is None:
                errors = np.zeros_like(magnitudes)
            bad_error = ~(np.isfinite(errors) & (errors >= 0)).all(axis=1)
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
        no_mass = (flags & NO_MASS) != 0
        if exclude_out_of_domain:
            no_mass |= (flags & OUT_OF_DOMAIN) != 0
        for values in result.values():
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
                  catalogue=None, reference_error=None, provenance=None, **kwargs):
        """Fit a residual-bias correction against reference masses in ``table``.

        The correction is fitted to ``reference - predicted`` (see
        `~astropy_smass.correction.BiasCorrection.fit`). The intrinsic scatter is then
        measured on the corrected residuals as the part of their robust variance not
        explained by the propagated photometric errors and the reference errors (see
        `~astropy_smass.uncertainty.intrinsic_scatter`).

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
        reference_error : str or array-like, optional
            1-sigma errors of the reference masses: a column (dex, or Msun when
            ``reference`` is in Msun) or values in dex. Without it the reference
            masses count as exact, so the intrinsic scatter is an upper limit.
        provenance : dict, optional
            More provenance to record (which half of a catalogue, split seed, ...).
        **kwargs
            Passed to ``predict`` (``columns=``, ``distance=``, ``uncertainty=``...).

        Returns
        -------
        StellarMassModel
            A copy of this model with the new correction and the measured intrinsic
            scatter; save it with `save`.
        """
        import astropy.units as u

        from .accessor import reference_log_mass
        from .photometry import column_values
        from .uncertainty import intrinsic_scatter

        prediction = self.predict(table, correct=False, **kwargs)
        predicted = prediction["logmstar"].value
        ref = reference_log_mass(table, reference)
        if reference_error is None:
            ref_err = np.zeros(len(table))
        elif isinstance(reference_error, str):
            values, mask, unit = column_values(table, reference_error)
            ref_err = np.where(mask, np.nan, values)
            if unit is not None and not isinstance(unit, u.DexUnit) and unit != u.dex \
                    and unit.is_equivalent(u.Msun):
                # An error on a linear mass: d log10 M = dM / (M ln 10).
                ref_err = (ref_err * unit).to_value(u.Msun) / (10.0 ** ref * np.log(10.0))
        else:
            ref_err = np.broadcast_to(np.asarray(u.Quantity(reference_error).value, float),
                                      (len(table),))
        info = {"catalogue": catalogue or table.meta.get("name", "user table"),
                "reference_column": reference, "n_rows": len(table),
                "n_predicted": int(np.isfinite(predicted).sum()), **(provenance or {})}
        correction = BiasCorrection.fit(predicted, ref, degree=degree, fit_range=fit_range,
                                        provenance=info)
        calibrated = self.replace(correction=correction)
        after = calibrated.predict(table, correct=True, **kwargs)
        corrected = after["logmstar"].value
        phot = (after["logmstar_err_phot"].value if "logmstar_err_phot" in after.colnames
                else np.zeros(len(table)))
        scatter, parts = intrinsic_scatter(ref - corrected, phot, ref_err, details=True)
        correction.provenance.update({"intrinsic_scatter_dex": scatter, **parts})
        return calibrated.replace(intrinsic_scatter=scatter)

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


# Rows per block of the fused pass: the (rows x outputs) intermediate stays in cache.
_BLOCK = 2048


def _two_rows(array):
    # BLAS sums a single row (gemv) in another order than a block of rows (gemm); a
    # duplicated row keeps every galaxy's result independent of how rows are blocked.
    return np.concatenate([array, array]) if len(array) == 1 else array


class _MagnitudePass:
    """The model's per-row numerics as affine maps of the magnitudes, block by block.

    Features are linear in magnitudes, so the features themselves (for the range
    check), their whitened offsets from the training centre (for the Mahalanobis
    distance) and the network's standardised first layer are all affine maps of the
    magnitudes: a block of rows costs three small matmuls on the magnitudes, the
    activation and a weighted sum, every intermediate in cache. The feature columns
    are exact (the map has entries 0 and +-1, so each is one rounded difference), so
    the range check agrees bit for bit with `TrainingDomain.check` on `build_features`.
    The whitening and the hidden layer act on magnitudes minus those of the training
    centre, which keeps their sums small. Each row's result depends on that row alone,
    not on the block it was computed in, so a table predicted in chunks (streaming,
    Dask) gives the same numbers as in one go.
    """

    def __init__(self, model):
        network, domain = model.network, model.domain
        to_features = model._feature_matrix.T  # (n_bands, n_features)
        n_bands, n_features = to_features.shape
        # Features padded with zero columns to a multiple of 8, so that the range
        # check's booleans can be OR-ed eight at a time as uint64 words.
        width = (n_features + 7) // 8 * 8
        self.feature_matrix = np.zeros((n_bands, width))
        self.feature_matrix[:, :n_features] = to_features
        self.lower = np.full(width, -np.inf)
        self.upper = np.full(width, np.inf)
        self.lower[:n_features], self.upper[:n_features] = domain.feature_min, domain.feature_max
        self.width, self.n_bands = width, n_bands
        self.center = model.domain_center_magnitudes()
        self.whitening_matrix = np.ascontiguousarray(to_features @ domain.whitening)
        # The training centre in magnitudes need not map exactly onto domain.center.
        self.whitened_offset = (self.center @ to_features - domain.center) @ domain.whitening
        self.max_distance = domain.max_distance
        self.hidden_matrix = np.ascontiguousarray(to_features @ network._w1)
        self.hidden_bias = network._b1 + self.center @ self.hidden_matrix
        # d output / d magnitudes = act'(hidden) @ jacobian_matrix
        self.jacobian_matrix = np.ascontiguousarray(
            (self.hidden_matrix * network.weights_output).T)
        self.network = network

    def _work(self, rows):
        """Work arrays for blocks of up to ``rows`` rows (bounds and biases tiled, so
        that every elementwise operation runs on equal-shaped contiguous arrays)."""
        return {
            "centred": np.empty((rows, self.n_bands), order="F"),
            "features": np.empty((rows, self.width)),
            "lower": np.ascontiguousarray(np.broadcast_to(self.lower, (rows, self.width))),
            "upper": np.ascontiguousarray(np.broadcast_to(self.upper, (rows, self.width))),
            "below": np.empty((rows, self.width), bool),
            "above": np.empty((rows, self.width), bool),
            "whitened": np.empty((rows, self.whitening_matrix.shape[1])),
            "whitened_offset": np.ascontiguousarray(
                np.broadcast_to(self.whitened_offset, (rows, len(self.whitened_offset)))),
            "hidden": np.empty((rows, self.hidden_matrix.shape[1])),
            "hidden_bias": np.ascontiguousarray(
                np.broadcast_to(self.hidden_bias, (rows, len(self.hidden_bias)))),
        }

    def _output(self, centred, work):
        """Hidden activations and network output of a centred block (>= two rows)."""
        rows = len(centred)
        hidden = np.matmul(centred, self.hidden_matrix, out=work["hidden"][:rows])
        hidden += work["hidden_bias"][:rows]
        self.network._act(hidden)
        # einsum's own loop, not BLAS gemv, whose summation order depends on the
        # number of rows: every row's result is then independent of its block.
        out = np.einsum("ij,j->i", hidden, self.network.weights_output)
        out += self.network.bias_output
        return hidden, out

    def predict(self, magnitudes):
        """Raw network output for magnitudes (n, n_bands), no checks."""
        n = len(magnitudes)
        out = np.empty(n)
        work = self._work(max(min(n, _BLOCK), 2))
        for start in range(0, n, _BLOCK):
            mags = _two_rows(magnitudes[start:start + _BLOCK])
            centred = np.subtract(mags, self.center, out=work["centred"][:len(mags)])
            out[start:start + _BLOCK] = self._output(centred, work)[1][:n - start]
        return out

    def run(self, magnitudes, usable, errors=None, gradient=False):
        """Raw output, new flags and, with ``gradient``, the propagated error norm.

        Rows that are not usable, or have a non-finite magnitude, get no domain flag
        and NaN or meaningless values (the caller masks them).

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
        raw = np.empty(n)
        flags = np.zeros(n, np.int32)
        error_norm = np.zeros(n) if gradient else None
        # NaN and infinite inputs are expected here (they are flagged, not computed).
        with np.errstate(invalid="ignore", over="ignore"):
            self._blocks(magnitudes, usable, errors, gradient, raw, flags, error_norm)
        return raw, flags, error_norm

    def _blocks(self, magnitudes, usable, errors, gradient, raw, flags, error_norm):
        n = len(magnitudes)
        work = self._work(max(min(n, _BLOCK), 2))
        out_of_range = np.int32(SmassFlag.OUT_OF_RANGE)
        out_of_distribution = np.int32(SmassFlag.OUT_OF_DISTRIBUTION)
        nonfinite, bad_error = np.int32(SmassFlag.NONFINITE), np.int32(SmassFlag.BAD_ERROR)
        for start in range(0, n, _BLOCK):
            block = slice(start, start + _BLOCK)
            mags = magnitudes[block]
            rows = len(mags)
            padded = _two_rows(mags)
            size = len(padded)
            # Range check on the exact features.
            features = np.matmul(padded, self.feature_matrix, out=work["features"][:size])
            below, above = work["below"][:size], work["above"][:size]
            np.less(features, work["lower"][:size], out=below)
            np.greater(features, work["upper"][:size], out=above)
            below |= above
            words = below[:rows].view(np.uint64)
            outside = words[:, 0] != 0
            for k in range(1, words.shape[1]):
                outside |= words[:, k] != 0
            # Mahalanobis distance, from magnitudes relative to the training centre.
            centred = np.subtract(padded, self.center, out=work["centred"][:size])
            whitened = np.matmul(centred, self.whitening_matrix, out=work["whitened"][:size])
            whitened += work["whitened_offset"][:size]
            distance = np.sqrt(np.einsum("ij,ij->i", whitened[:rows], whitened[:rows]))
            # A NaN or infinite magnitude makes the distance non-finite (so would an
            # overflow, hence the exact look at those rows).
            finite = np.isfinite(distance)
            if not finite.all():
                finite[~finite] = np.isfinite(mags[~finite]).all(axis=1)
            usable_rows = usable[block]
            ok = usable_rows & finite
            far = distance > self.max_distance
            flags[block] = ((outside & ok) * out_of_range + (far & ok) * out_of_distribution
                            + (usable_rows & ~finite) * nonfinite)
            hidden, out = self._output(centred, work)
            raw[block] = out[:rows]
            if gradient and errors is not None:
                jac = (self.network._act_grad(hidden) @ self.jacobian_matrix)[:rows]
                errs = errors[block]
                jac *= errs
                norm = np.sqrt(np.einsum("ij,ij->i", jac, jac))
                # A NaN or infinite error makes the norm non-finite; a negative one not.
                bad = ~np.isfinite(norm) | (errs.min(axis=1) < 0)
                if bad.any():
                    norm[bad] = np.nan
                    flags[block] |= (bad & ok) * bad_error
                error_norm[block] = norm


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
    return _load_cached(path, _mtimes(path))
