"""Train the bundled stellar-mass networks on a simulated galaxy population.

`train_model` fits one network for one set of bands and exports it as a
`~astropy_smass.model.bundle.StellarMassModel` with its training domain, provenance and a
report of its accuracy on held-out simulated galaxies; `train_all` regenerates every
bundled model (`MODEL_DEFINITIONS`) from one population and writes the bundles, a
JSON report and the population's luminosity functions compared with GAMA's
(`~astropy_smass.training.lumfunc.record_luminosity_functions`).

The network is a one-hidden-layer perceptron fitted with scikit-learn's
`~sklearn.neural_network.MLPRegressor` (Adam) epoch by epoch, with early stopping on
a validation set and the best epoch's weights kept. Inputs are standardised with the
training set's mean and standard deviation (folded into the exported network); the
target is standardised too, which only speeds up convergence. Gaussian noise
(``noise_mag``, 0.05 mag by default) is added to the training magnitudes, drawn anew
each epoch: a network fitted to exact simulated magnitudes is ruined by photometric
errors of a few hundredths of a magnitude (`noise_sensitivity` measures this). The
validation and test sets and the training domain use one fixed draw of the same noise.

Reproducibility: the population rows are split into training, validation and
held-out test sets by a permutation drawn from ``numpy.random.default_rng(seed)``,
the same permutation for every model, so all models are tested on the same galaxies;
the weight initialisation and the mini-batch order come from a
`numpy.random.RandomState` seeded with ``seed``, the noise from generators seeded with
``[seed, k]``; training runs with BLAS limited to one thread. With the same
population, seed, hyper-parameters and numpy / scikit-learn builds the weights are bit
for bit the same. Another CPU or BLAS build may round the last bit of some sums
differently; the fit does not amplify that (a one-ulp change of the inputs changes the
predictions by ~1e-14 dex), and the tests accept 1e-6 dex (see ``docs/training.rst``).
"""

import json
import platform
import time
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from astropy.table import Table

from .._utils import atomic_write, json_default
from ..exceptions import (
    InputError,
    MissingDependencyError,
    MissingFileError,
    OutputExistsError,
)
from ..model.bundle import StellarMassModel, arrays_checksum
from ..model.domain import TrainingDomain
from ..model.features import REDSHIFT_INPUT, build_features, default_features, feature_matrix
from ..model.network import OneHiddenLayerNetwork
from .population import population_arrays, population_checksum

__all__ = ["MODEL_DEFINITIONS", "REDSHIFT_MODEL_DEFINITIONS", "REDSHIFT_RANGE",
           "model_definition", "bundled_definitions", "redshift_bin_scores",
           "DEFAULT_HYPERPARAMETERS", "TRAINING_SEED", "MASS_BINS",
           "REPORT_MASS_RANGE", "population_arrays", "split_indices", "train_model",
           "train_all", "compare_architectures", "heldout_scores", "read_population",
           "reference_subset", "REFERENCE_SUBSET", "default_report_path", "default_lf_path",
           "population_checksum", "noise_sensitivity"]

#: The bundled models: name -> bands (canonical keys of `astropy_smass.photometry.bands.BANDS`).
MODEL_DEFINITIONS = {
    # The published 13 bands / 24 features (Elson 2025, 2026).
    "full_vista": ["FUV", "NUV", "u", "g", "r", "i", "Z", "Y", "J", "H", "K", "W1", "W2"],
    # What DustPedia and H-ATLAS have: SDSS z and 2MASS instead of VISTA.
    "full_2mass": ["FUV", "NUV", "u", "g", "r", "i", "z", "J_2MASS", "H_2MASS", "Ks_2MASS",
                   "W1", "W2"],
    # ECO.
    "sdss_2mass": ["u", "g", "r", "i", "z", "J_2MASS", "H_2MASS", "Ks_2MASS"],
    "sdss_vista": ["u", "g", "r", "i", "z", "J", "H", "K"],
    "sdss_wise": ["u", "g", "r", "i", "z", "W1", "W2"],
    "galex_sdss_wise": ["FUV", "NUV", "u", "g", "r", "i", "W1", "W2"],
    "sdss": ["u", "g", "r", "i", "z"],
    # Absolute u r z J, as RESOLVE tabulates.
    "sdss_urzj": ["u", "r", "z", "J"],
}

#: Redshift range of the bundled observed-frame models: the population's redshifts
#: reach 1.25, so every model has simulated galaxies beyond both ends of its range.
REDSHIFT_RANGE = (0.0, 1.2)

#: The bundled observed-frame (redshift-aware) models: name -> bands. Each takes apparent
#: magnitudes minus the distance modulus in its bands and the redshift, over
#: `REDSHIFT_RANGE`: one per survey's standard band set and its common subsets.
REDSHIFT_MODEL_DEFINITIONS = {
    # Legacy Surveys DR9/DR10 south (DECam) and north (BASS g r, MzLS z), with unWISE.
    "legacy_south_grz": ["decam_g", "decam_r", "decam_z"],
    "legacy_south_grz_wise": ["decam_g", "decam_r", "decam_z", "W1", "W2"],
    "legacy_north_grz": ["bass_g", "bass_r", "mzls_z"],
    "legacy_north_grz_wise": ["bass_g", "bass_r", "mzls_z", "W1", "W2"],
    "des_griz": ["decam_g", "decam_r", "decam_i", "decam_z"],
    "des_grizy": ["decam_g", "decam_r", "decam_i", "decam_z", "decam_Y"],
    "panstarrs_grizy": ["panstarrs_g", "panstarrs_r", "panstarrs_i", "panstarrs_z",
                        "panstarrs_y"],
    "hsc_grizy": ["hsc_g", "hsc_r", "hsc_i", "hsc_z", "hsc_y"],
    "lsst_ugrizy": ["lsst_u", "lsst_g", "lsst_r", "lsst_i", "lsst_z", "lsst_y"],
    "lsst_grizy": ["lsst_g", "lsst_r", "lsst_i", "lsst_z", "lsst_y"],
    "suprimecam_vriz": ["subaru_suprimecam_V", "subaru_suprimecam_rp",
                        "subaru_suprimecam_ip", "subaru_suprimecam_zp"],
    "euclid_vis_yjh": ["euclid_vis", "euclid_y", "euclid_j", "euclid_h"],
    "vista_zyjhk": ["Z", "Y", "J", "H", "K"],
    "sdss_ugriz_z": ["u", "g", "r", "i", "z"],
    "sdss_2mass_z": ["u", "g", "r", "i", "z", "J_2MASS", "H_2MASS", "Ks_2MASS"],
    "sdss_wise_z": ["u", "g", "r", "i", "z", "W1", "W2"],
    "twomass_wise_z": ["J_2MASS", "H_2MASS", "Ks_2MASS", "W1", "W2"],
}


def model_definition(spec):
    """``(bands, redshift_range)`` of a model definition.

    ``spec`` is a list of bands (a rest-frame model) or a dict with ``"bands"`` and
    ``"redshift_range"`` (an observed-frame model).
    """
    if isinstance(spec, dict):
        return list(spec["bands"]), spec.get("redshift_range")
    return list(spec), None


def bundled_definitions():
    """Every bundled model's definition, rest-frame then observed-frame, by name."""
    return {**MODEL_DEFINITIONS,
            **{name: {"bands": bands, "redshift_range": list(REDSHIFT_RANGE)}
               for name, bands in REDSHIFT_MODEL_DEFINITIONS.items()}}


#: Seed of the bundled models' split, initialisation and mini-batch order.
TRAINING_SEED = 20251125

#: Network and optimiser settings of the bundled models. The width and activation were
#: chosen with `compare_architectures` (see ``docs/training.rst``).
DEFAULT_HYPERPARAMETERS = {
    "hidden": 16,
    "activation": "relu",
    "learning_rate": 1e-3,
    "batch_size": 256,
    "alpha": 1e-6,
    "max_epochs": 400,
    "patience": 40,
    "min_delta_dex": 1e-5,
    "fractions": [0.7, 0.15, 0.15],
    "noise_mag": 0.05,
}

#: Edges (log10 Msun) of the mass bins of the report.
MASS_BINS = np.arange(8.0, 11.51, 0.5)
#: Range of true log10 Msun over which the overall held-out scores are computed.
REPORT_MASS_RANGE = (8.0, 11.5)

#: The reproducibility check stored with the bundled models: this model retrained on the
#: first ``rows`` galaxies of the population must give the recorded weights.
REFERENCE_SUBSET = {"model": "sdss", "rows": 3000}


def _package_version(name):
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def _require_sklearn():
    try:
        import sklearn  # noqa: F401
        import threadpoolctl  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("training needs scikit-learn (and threadpoolctl): "
                                     "pip install astropy-smass[train]") from exc


def read_population(population):
    """A population table from a table or a file.

    Parameters
    ----------
    population : `~astropy.table.Table` or path-like
        A table, an HDF5 file written by
        `~astropy_smass.training.population.load_or_generate_population` (table at
        path ``"population"``), or any file `astropy.table.Table.read` understands.

    Returns
    -------
    `~astropy.table.Table`
    """
    if isinstance(population, Table):
        return population
    path = Path(population)
    if not path.exists():
        raise MissingFileError(f"population file {path} does not exist")
    if path.suffix.lower() in (".h5", ".hdf5"):
        import h5py

        with h5py.File(path, "r") as handle:
            has_population = "population" in handle
        if has_population:
            return Table.read(path, path="population")
        from .shark import read_shark

        return read_shark(path)
    if path.suffix.lower() == ".npz":
        with np.load(path, allow_pickle=False) as npz:
            return Table({key: npz[key] for key in npz.files})
    return Table.read(path)


def split_indices(n, seed, fractions=(0.7, 0.15, 0.15)):
    """Fixed-seed training / validation / held-out test split of ``n`` rows.

    The split depends only on ``n``, ``seed`` and ``fractions``, so every model trained
    on one population shares it (whichever rows it later drops for missing bands).

    Returns
    -------
    train, validation, test : ndarray of int
        Sorted row indices.
    """
    fractions = np.asarray(fractions, dtype=float)
    if fractions.shape != (3,) or (fractions <= 0).any():
        raise InputError(f"fractions must be three positive numbers, got {fractions!r}")
    fractions = fractions / fractions.sum()
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(fractions[2] * n))
    n_val = int(round(fractions[1] * n))
    return (np.sort(order[n_test + n_val:]), np.sort(order[n_test:n_test + n_val]),
            np.sort(order[:n_test]))


def _rms(residual):
    return float(np.sqrt(np.mean(residual ** 2))) if residual.size else float("nan")


def _residual_stats(residual):
    if residual.size == 0:
        return {"n": 0, "rms_dex": None, "median_offset_dex": None,
                "half_width_16_84_dex": None}
    p16, p50, p84 = np.percentile(residual, [16, 50, 84])
    return {"n": int(residual.size), "rms_dex": round(_rms(residual), 5),
            "median_offset_dex": round(float(p50), 5),
            "half_width_16_84_dex": round(float(p84 - p16) / 2, 5)}


def heldout_scores(predicted, true, mass_range=REPORT_MASS_RANGE, bins=MASS_BINS):
    """Accuracy of predicted against true log masses, overall and per mass bin.

    Parameters
    ----------
    predicted, true : array-like
        log10 stellar masses (Msun).
    mass_range : tuple of float
        Range of true log masses for the overall numbers.
    bins : array-like
        Edges of the true-mass bins.

    Returns
    -------
    dict
        ``overall`` (within ``mass_range``), ``all_masses`` and ``per_bin`` (a list of
        dicts with ``lo`` and ``hi``), each with ``n``, ``rms_dex``,
        ``median_offset_dex`` (predicted - true) and ``half_width_16_84_dex``.
    """
    predicted, true = np.asarray(predicted, float), np.asarray(true, float)
    residual = predicted - true
    inside = (true >= mass_range[0]) & (true < mass_range[1])
    per_bin = []
    for lo, hi in zip(bins[:-1], bins[1:]):
        sel = (true >= lo) & (true < hi)
        per_bin.append({"lo": round(float(lo), 3), "hi": round(float(hi), 3),
                        **_residual_stats(residual[sel])})
    return {"mass_range": [float(v) for v in mass_range],
            "overall": _residual_stats(residual[inside]),
            "all_masses": _residual_stats(residual), "per_bin": per_bin}


#: Width of the redshift bins of the observed-frame models' report.
REDSHIFT_BIN_WIDTH = 0.1


def redshift_bin_scores(predicted, true, redshift, redshift_range,
                        mass_range=REPORT_MASS_RANGE, width=REDSHIFT_BIN_WIDTH):
    """Held-out accuracy per redshift bin, over ``mass_range`` of true log mass.

    Returns
    -------
    list of dict
        One per bin of ``width`` across ``redshift_range``, with ``lo``, ``hi`` and the
        statistics of `heldout_scores`' ``overall``.
    """
    residual = np.asarray(predicted, float) - np.asarray(true, float)
    inside = (true >= mass_range[0]) & (true < mass_range[1])
    edges = np.arange(redshift_range[0], redshift_range[1] + width / 2, width)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = inside & (redshift >= lo) & (redshift < hi)
        rows.append({"lo": round(float(lo), 3), "hi": round(float(hi), 3),
                     **_residual_stats(residual[sel])})
    return rows


def _fit_network(x_train, y_train, x_val, y_val, hidden, activation, seed, learning_rate,
                 batch_size, alpha, max_epochs, patience, min_delta_dex, noise_mag=0.0,
                 feature_map=None):
    """Fit the MLP; return the exported network's arrays and the learning curve."""
    from sklearn.neural_network import MLPRegressor
    from threadpoolctl import threadpool_limits

    mean, scale = x_train.mean(axis=0), x_train.std(axis=0)
    if (scale == 0).any():
        raise InputError("a feature is constant over the training set; the population is too "
                         "small or degenerate")
    y_mean, y_scale = float(y_train.mean()), float(y_train.std())
    xs_train, xs_val = (x_train - mean) / scale, (x_val - mean) / scale
    ys_train = (y_train - y_mean) / y_scale
    # A RandomState instance (not an int): partial_fit would otherwise reseed it every
    # epoch and repeat the same mini-batch order.
    random_state = np.random.RandomState(seed)
    noise_rng = np.random.default_rng([seed, 0])
    mlp = MLPRegressor(hidden_layer_sizes=(hidden,), activation=activation, solver="adam",
                       alpha=alpha, batch_size=min(batch_size, len(xs_train)),
                       learning_rate_init=learning_rate, random_state=random_state,
                       shuffle=True)
    losses, val_rms = [], []
    best = (np.inf, None, 0)
    # One BLAS thread: the sums in matrix products then have a fixed order.
    with threadpool_limits(limits=1):
        for epoch in range(1, max_epochs + 1):
            inputs = xs_train
            if np.any(noise_mag):
                # Photometric noise in magnitudes, carried into the (standardised) features.
                noise = noise_rng.normal(0.0, noise_mag, (len(xs_train), feature_map.shape[1]))
                inputs = xs_train + (noise @ feature_map.T) / scale
            mlp.partial_fit(inputs, ys_train)
            residual = mlp.predict(xs_val) * y_scale + y_mean - y_val
            losses.append(float(mlp.loss_))
            val_rms.append(_rms(residual))
            if val_rms[-1] < best[0] - min_delta_dex:
                best = (val_rms[-1], [c.copy() for c in mlp.coefs_]
                        + [b.copy() for b in mlp.intercepts_], epoch)
            elif epoch - best[2] >= patience:
                break
    w1, w2, b1, b2 = best[1]
    arrays = {"weights_hidden": w1, "bias_hidden": b1,
              "weights_output": w2[:, 0] * y_scale, "bias_output": b2[0] * y_scale + y_mean,
              "input_mean": mean, "input_scale": scale}
    curve = {"epoch": list(range(1, len(losses) + 1)),
             "train_loss": [float(f"{v:.6g}") for v in losses],
             "validation_rms_dex": [float(f"{v:.6g}") for v in val_rms],
             "best_epoch": best[2], "best_validation_rms_dex": round(best[0], 6),
             "loss_definition": "scikit-learn MLPRegressor loss_: half the mean squared error "
                                "of the standardised target plus the L2 penalty, per epoch"}
    return arrays, curve


def _population_provenance(population, n_rows, checksum):
    meta = population.meta
    keep = ("generator", "generator_version", "seed", "n", "bagpipes_version",
            "sedpy_version", "magnitude_system", "magnitude_type", "imf", "mass_definition",
            "sfh", "priors", "source", "h", "mass_columns", "magnitude_prefix")
    info = {key: meta[key] for key in keep if key in meta}
    info["n_rows"] = int(n_rows)
    info["sha256"] = checksum
    return json.loads(json.dumps(info, default=json_default))


def _package_versions():
    import astropy

    from .._utils import VERSION as __version__

    return {"astropy_smass": __version__, "numpy": np.__version__,
            "scikit-learn": _package_version("scikit-learn"), "astropy": astropy.__version__,
            "python": platform.python_version()}


def train_model(population, name, bands, *, hidden=None, activation=None, seed=TRAINING_SEED,
                learning_rate=None, batch_size=None, alpha=None, max_epochs=None,
                patience=None, min_delta_dex=None, fractions=None, noise_mag=None,
                description=None, redshift_range=None):
    """Train one stellar-mass network and export it as a model bundle.

    Parameters
    ----------
    population : `~astropy.table.Table` or path-like
        Simulated galaxies: one column per band key holding absolute AB magnitudes
        (mag) and ``logmstar`` (log10 Msun); see `read_population`. Rows with a
        non-finite magnitude in ``bands`` or mass are left out.
    name : str
        Model name (file stem of the bundle).
    bands : list of str
        Bands the model takes; features are `~astropy_smass.model.features.default_features`.
    hidden : int, optional
        Hidden units; default ``DEFAULT_HYPERPARAMETERS["hidden"]``.
    activation : {'relu', 'tanh', 'logistic'}, optional
        Hidden-layer activation.
    seed : int
        Seed of the split, the weight initialisation and the mini-batch order.
    learning_rate, batch_size, alpha, max_epochs, patience, min_delta_dex, fractions
        Adam step size; mini-batch size; L2 penalty; epoch limit; epochs without an
        improvement of the validation RMS by more than ``min_delta_dex`` (dex) before
        stopping; training / validation / test fractions. Defaults in
        `DEFAULT_HYPERPARAMETERS`.
    noise_mag : float, optional
        Standard deviation (mag) of Gaussian noise added to every magnitude: to the
        training set, drawn anew each epoch, and once (fixed seeds) to the validation
        and test sets and to the training features that define the training domain.
        Default ``DEFAULT_HYPERPARAMETERS["noise_mag"]`` (0.05 mag).
        A network fitted to exact simulated magnitudes learns cancellations between
        features that photometric errors of a few hundredths of a magnitude destroy
        (see ``docs/training.rst``); 0 trains on the exact magnitudes.
    description : str, optional
        Human-readable description stored in the bundle; a default is composed.
    redshift_range : tuple of float, optional
        Train an observed-frame model on the population's galaxies in this redshift
        range: its inputs are the observed-frame magnitudes minus the distance modulus
        (``obs_<band>`` columns) and the redshift, so that it learns the K-correction.
        None (the default) trains a rest-frame model on absolute magnitudes.

    Returns
    -------
    model : `~astropy_smass.model.bundle.StellarMassModel`
        No bias correction and zero intrinsic scatter: both come from calibration on
        real galaxies (`~astropy_smass.pipeline.calibrate_model`).
    report : dict
        Held-out accuracy (overall over `REPORT_MASS_RANGE` and per 0.5-dex bin of
        true mass), learning curve, saliency ranking, sizes and timing; also stored
        as ``model.metadata["report"]``.
    """
    _require_sklearn()
    population = read_population(population)
    hyper = dict(DEFAULT_HYPERPARAMETERS)
    for key, value in (("hidden", hidden), ("activation", activation),
                       ("learning_rate", learning_rate), ("batch_size", batch_size),
                       ("alpha", alpha), ("max_epochs", max_epochs), ("patience", patience),
                       ("min_delta_dex", min_delta_dex), ("fractions", fractions),
                       ("noise_mag", noise_mag)):
        if value is not None:
            hyper[key] = value
    hyper["fractions"] = [float(f) for f in hyper["fractions"]]
    hyper["noise_mag"] = float(hyper["noise_mag"])
    if not hyper["noise_mag"] >= 0:
        raise InputError(f"noise_mag must be >= 0, got {hyper['noise_mag']!r}")
    if int(hyper["hidden"]) < 1:
        raise InputError(f"hidden must be a positive integer, got {hyper['hidden']!r}")
    hyper["hidden"] = int(hyper["hidden"])

    bands = list(bands)
    features = default_features(bands)
    # default_features orders bands by wavelength; the bundle uses that order too.
    bands = [b for b in features if "-" not in b]
    observed = redshift_range is not None
    inputs = bands + [REDSHIFT_INPUT] if observed else bands
    if observed:
        redshift_range = tuple(float(z) for z in redshift_range)
        features = features + [REDSHIFT_INPUT]
    mags, logm = population_arrays(population, bands, observed_frame=observed)
    # Photometric noise on the magnitudes only: the redshift is taken as exact.
    noise_scale = (np.array([hyper["noise_mag"]] * len(bands) + [0.0]) if observed
                   else hyper["noise_mag"])
    n_population = len(population)
    train, val, test = split_indices(n_population, seed, hyper["fractions"])
    usable = np.isfinite(mags).all(axis=1) & np.isfinite(logm)
    if observed:
        redshift = mags[:, -1]
        usable &= (redshift >= redshift_range[0]) & (redshift <= redshift_range[1])
    train, val, test = (idx[usable[idx]] for idx in (train, val, test))
    if min(len(train), len(val), len(test)) < 2:
        raise InputError(f"population too small for model {name!r}: {usable.sum()} usable rows "
                         f"(train {len(train)}, validation {len(val)}, test {len(test)})")
    x = build_features(mags, inputs, features)
    checksum = population_checksum(population)
    # Validation and test sets get one fixed noise draw each, so that early stopping and
    # the held-out scores measure what the noisy training optimises.
    x_val, x_test = (build_features(
        mags[idx] + np.random.default_rng([seed, k]).normal(0.0, noise_scale,
                                                           (len(idx), len(inputs))),
        inputs, features) for k, idx in ((1, val), (2, test)))

    start = time.perf_counter()
    arrays, curve = _fit_network(
        x[train], logm[train], x_val, logm[val], hyper["hidden"], hyper["activation"], seed,
        hyper["learning_rate"], hyper["batch_size"], hyper["alpha"], hyper["max_epochs"],
        hyper["patience"], hyper["min_delta_dex"], noise_scale,
        feature_matrix(features, inputs))
    train_time = time.perf_counter() - start

    network = OneHiddenLayerNetwork.from_arrays(arrays, hyper["activation"])
    # The domain is what the network saw: noisy magnitudes. Exact simulated magnitudes lie
    # on a thin manifold whose Mahalanobis distance would reject nearly every real galaxy.
    domain = TrainingDomain.from_training(build_features(
        mags[train] + np.random.default_rng([seed, 4]).normal(0.0, noise_scale,
                                                              (len(train), len(inputs))),
        inputs, features))
    predicted_test = network.predict(x_test)
    scores = heldout_scores(predicted_test, logm[test])
    scores["noise_mag"] = hyper["noise_mag"]
    if observed:
        scores["per_redshift_bin"] = redshift_bin_scores(predicted_test, logm[test],
                                                         mags[test, -1], redshift_range)
    noiseless = heldout_scores(network.predict(x[test]), logm[test])
    model = StellarMassModel(name, bands, features, network, domain,
                             redshift_range=redshift_range)
    saliency = model.saliency_magnitudes(mags[test]).mean(axis=0)
    ranking = np.argsort(-saliency, kind="stable")

    meta = population.meta
    imf = meta.get("imf", "unknown")
    mass_definition = meta.get("mass_definition", "unknown")
    sizes = {"population": int(n_population), "usable": int(usable.sum()),
             "train": int(len(train)), "validation": int(len(val)), "test": int(len(test))}
    report = {
        "name": name, "bands": bands, "features": features,
        "hidden": hyper["hidden"], "activation": hyper["activation"],
        "heldout": scores,
        "heldout_noiseless": noiseless,
        "learning_curve": curve,
        "saliency": {
            "definition": "mean over the held-out set of |d logM / d feature| times the "
                          "training standard deviation of the feature (dex)",
            "ranking": [features[k] for k in ranking],
            "importance_dex": [round(float(saliency[k]), 6) for k in ranking]},
        "sizes": sizes,
        "train_time_s": round(train_time, 2),
    }
    overall = scores["overall"]
    description = description or (
        f"One-hidden-layer network ({hyper['hidden']} {hyper['activation']} units) predicting "
        f"log10 M*/Msun ({mass_definition}; IMF: {imf}) from {len(bands)} "
        + (f"apparent AB magnitudes minus the distance modulus ({' '.join(bands)}), "
           f"{len(features) - len(bands) - 1} colours and the redshift "
           f"({redshift_range[0]:g} <= z <= {redshift_range[1]:g}), trained on "
           if observed else
           f"absolute AB magnitudes ({' '.join(bands)}) and "
           f"{len(features) - len(bands)} colours, trained on ")
        + f"{sizes['train']} simulated galaxies "
        f"({meta.get('generator', 'unknown generator')} {meta.get('generator_version', '')}, "
        f"seed {meta.get('seed', '?')}) with {hyper['noise_mag']:g} mag photometric noise. "
        f"Held-out simulated RMS {overall['rms_dex']} dex over "
        f"10^{REPORT_MASS_RANGE[0]:g}-10^{REPORT_MASS_RANGE[1]:g} Msun. Trained on simulated "
        "galaxies only; any bias correction from real galaxies is described under "
        "'correction'.")
    metadata = {
        "description": description,
        "mass_definition": mass_definition,
        "imf": imf,
        "training": {
            "population": _population_provenance(population, n_population, checksum),
            "seed": int(seed),
            "hyperparameters": hyper,
            "split": sizes,
            "epochs_run": len(curve["epoch"]),
            "best_epoch": curve["best_epoch"],
            "train_time_s": report["train_time_s"],
            "packages": _package_versions(),
            "trained_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "scores": {
            "heldout_rms_dex": overall["rms_dex"],
            "heldout_median_offset_dex": overall["median_offset_dex"],
            "heldout_half_width_16_84_dex": overall["half_width_16_84_dex"],
            "heldout_n": overall["n"],
            "heldout_mass_range": list(REPORT_MASS_RANGE),
            "heldout_noiseless_rms_dex": noiseless["overall"]["rms_dex"],
            "heldout_kind": f"simulated galaxies not used in training, magnitudes with "
                            f"{hyper['noise_mag']:g} mag Gaussian noise",
        },
        "report": report,
    }
    model.metadata = metadata
    return model, report


def compare_architectures(population, bands=None, widths=(16, 32, 64),
                          activations=("relu", "tanh"), seed=TRAINING_SEED,
                          n_predict=1_000_000, rounds=5, **kwargs):
    """Held-out accuracy and prediction speed for several widths and activations.

    Parameters
    ----------
    population : `~astropy.table.Table` or path-like
    bands : list of str, optional
        Default the ``full_vista`` bands.
    widths : iterable of int
    activations : iterable of str
    seed : int
    n_predict : int
        Rows for the single-thread prediction timing.
    rounds : int
        Timing rounds; the models are timed in turn in each round and the fastest
        round of each is kept, so that other load on the machine biases none of them.
    **kwargs
        Passed to `train_model`.

    Returns
    -------
    list of dict
        Per architecture: ``hidden``, ``activation``, held-out ``rms_dex`` (overall,
        noisy test set), ``noiseless_rms_dex``, per-bin RMS, ``train_time_s``,
        ``epochs`` and ``predict_rows_per_s_1thread``: rows per second of
        `~astropy_smass.model.bundle.StellarMassModel.predict_magnitudes` without
        uncertainties, on one thread.
    """
    from threadpoolctl import threadpool_limits

    population = read_population(population)
    bands = list(bands or MODEL_DEFINITIONS["full_vista"])
    trained = []
    for activation in activations:
        for width in widths:
            trained.append(train_model(population, f"compare_{activation}_{width}", bands,
                                       hidden=width, activation=activation, seed=seed,
                                       **kwargs))
    mags, _ = population_arrays(population, trained[0][0].bands)
    mags = mags[np.isfinite(mags).all(axis=1)]
    mags = mags[np.arange(n_predict) % len(mags)]
    best = [np.inf] * len(trained)
    with threadpool_limits(limits=1):
        for _ in range(rounds):
            for k, (model, _) in enumerate(trained):
                start = time.perf_counter()
                model.predict_magnitudes(mags)
                best[k] = min(best[k], time.perf_counter() - start)
    rows = []
    for (model, report), seconds in zip(trained, best):
        overall = report["heldout"]["overall"]
        rows.append({"hidden": model.network.n_hidden, "activation": model.network.activation,
                     "rms_dex": overall["rms_dex"],
                     "half_width_16_84_dex": overall["half_width_16_84_dex"],
                     "noiseless_rms_dex": report["heldout_noiseless"]["overall"]["rms_dex"],
                     "per_bin_rms_dex": [b["rms_dex"] for b in report["heldout"]["per_bin"]],
                     "train_time_s": report["train_time_s"],
                     "epochs": report["learning_curve"]["best_epoch"],
                     "predict_rows_per_s_1thread": int(n_predict / seconds)})
    return rows


def noise_sensitivity(population, bands=None, train_noise=(0.0, 0.02, 0.05, 0.1),
                      test_noise=(0.0, 0.03, 0.05, 0.1), seed=TRAINING_SEED, **kwargs):
    """Held-out RMS against the photometric noise of training and of the test set.

    Trains one network per ``train_noise`` level (mag) and evaluates each on the
    held-out galaxies with every ``test_noise`` level (one fixed draw per level).

    Returns
    -------
    list of dict
        Per training noise: ``train_noise_mag``, ``epochs`` and ``rms_dex``, a list of
        the held-out RMS (dex, 10^8-10^11.5 Msun) for each ``test_noise`` level,
        and ``test_noise_mag``.
    """
    population = read_population(population)
    bands = list(bands or MODEL_DEFINITIONS["full_vista"])
    rows = []
    for noise in train_noise:
        model, report = train_model(population, f"noise_{noise:g}", bands, noise_mag=noise,
                                    seed=seed, **kwargs)
        fractions = model.metadata["training"]["hyperparameters"]["fractions"]
        _, _, test = split_indices(len(population), seed, fractions)
        mags, logm = population_arrays(population[test], model.bands)
        keep = np.isfinite(mags).all(axis=1) & np.isfinite(logm)
        mags, logm = mags[keep], logm[keep]
        inside = (logm >= REPORT_MASS_RANGE[0]) & (logm < REPORT_MASS_RANGE[1])
        rms = []
        for k, level in enumerate(test_noise):
            noisy = mags + np.random.default_rng([seed, 3, k]).normal(0.0, level, mags.shape)
            predicted = model.network.predict(model.features_from_magnitudes(noisy))
            rms.append(round(_rms(predicted[inside] - logm[inside]), 5))
        rows.append({"train_noise_mag": float(noise), "test_noise_mag": list(test_noise),
                     "rms_dex": rms, "epochs": report["learning_curve"]["best_epoch"]})
    return rows


def reference_subset(population, model=REFERENCE_SUBSET["model"],
                     rows=REFERENCE_SUBSET["rows"]):
    """The first ``rows`` galaxies of a population, with the columns ``model`` needs.

    Returns
    -------
    `~astropy.table.Table`
        Band columns (mag, float64) and ``logmstar``.
    """
    population = read_population(population)
    bands = MODEL_DEFINITIONS[model]
    mags, logm = population_arrays(population[:rows], bands)
    table = Table(list(mags.T) + [logm], names=[*bands, "logmstar"])
    for band in bands:
        table[band].unit = "mag"
    return table


def _write_reference(population, path, seed, overwrite, **kwargs):
    """Write the reference subset to ``path`` (npz) and train its model; return a record."""
    subset = reference_subset(population)
    arrays = {name: np.asarray(subset[name], dtype=float) for name in subset.colnames}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays), overwrite=overwrite)
    model, report = train_model(subset, REFERENCE_SUBSET["model"],
                                MODEL_DEFINITIONS[REFERENCE_SUBSET["model"]], seed=seed,
                                **kwargs)
    mags, _ = population_arrays(subset[:20], model.bands)
    return {**REFERENCE_SUBSET, "file": Path(path).name,
            "file_sha256": arrays_checksum(arrays),
            "weights_sha256": arrays_checksum(model.arrays()),
            "heldout_rms_dex": report["heldout"]["overall"]["rms_dex"],
            "predictions_first20": [float(v) for v in model.network.predict(
                model.features_from_magnitudes(mags))],
            "note": "train_model(<file>, model, MODEL_DEFINITIONS[model], seed=seed) with the "
                    "recorded hyper-parameters gives weights_sha256 with the same numpy and "
                    "scikit-learn builds, and predictions_first20 to 1e-6 dex elsewhere "
                    "(see docs/training.rst)"}


def default_report_path(out_dir):
    """Where `train_all` writes its report by default: ``<out_dir>_training_report.json``."""
    out_dir = Path(out_dir).absolute()
    return out_dir.parent / f"{out_dir.name}_training_report.json"


def default_lf_path(out_dir):
    """Where `train_all` writes the population's luminosity functions by default.

    ``<out_dir>_population_lf.ecsv`` beside the model folder (the bundled models' copy is
    ``astropy_smass/data/training/population_lf.ecsv``).
    """
    out_dir = Path(out_dir).absolute()
    return out_dir.parent / f"{out_dir.name}_population_lf.ecsv"


def _has_lf_inputs(population):
    from .lumfunc import GAMA_LF_FILES

    return "weight" in population.colnames and any(b in population.colnames
                                                   for b in GAMA_LF_FILES)


def train_all(population, out_dir, *, seed=TRAINING_SEED, models=None, overwrite=False,
              report_path=None, reference_path=None, lf_path=None, comparison=None,
              noise_study=None, progress=None, **kwargs):
    """Regenerate bundled models from one population and write them with their report.

    Parameters
    ----------
    population : `~astropy.table.Table` or path-like
        The training population (see `read_population`).
    out_dir : path-like
        Folder for the bundles, ``<name>.json`` and ``<name>.npz``.
    seed : int
        Training seed (`TRAINING_SEED` for the bundled models).
    models : dict or iterable of str, optional
        ``{name: definition}`` (see `model_definition`) or names from
        `bundled_definitions`; default all of them.
    overwrite : bool
        Replace existing files; otherwise `FileExistsError` before anything is trained.
    report_path : path-like, optional
        The JSON report; default `default_report_path` (``<out_dir>_training_report.json``
        beside the folder, which must hold only bundles: every ``.json`` file in a model
        folder is taken for one).
    reference_path : path-like, optional
        If given, also write the reference subset (`reference_subset`) there as
        ``.npz``, retrain ``REFERENCE_SUBSET["model"]`` on it and record its weight
        checksum in the report: the fast reproducibility check of the test suite.
    lf_path : path-like, optional
        Where to write the population's luminosity functions compared with GAMA's
        (`~astropy_smass.training.lumfunc.record_luminosity_functions`; default
        `default_lf_path`), whose per-band summary goes into the report under
        ``"luminosity_functions"``. Only for a weighted population (a ``weight`` column,
        as `~astropy_smass.training.population.generate_population` makes) with GAMA
        bands; otherwise nothing is written and the entry is None.
    comparison : list of dict, optional
        Output of `compare_architectures`, copied into the report.
    noise_study : list of dict, optional
        Output of `noise_sensitivity`, copied into the report.
    progress : callable, optional
        Called with a message before and after each model.
    **kwargs
        Passed to `train_model` (hyper-parameters).

    Returns
    -------
    dict
        ``{name: StellarMassModel}``.
    """
    population = read_population(population)
    definitions = bundled_definitions()
    if models is None:
        models = definitions
    elif not isinstance(models, dict):
        unknown = [m for m in models if m not in definitions]
        if unknown:
            raise InputError(f"unknown model {', '.join(map(repr, unknown))}; bundled models: "
                             f"{', '.join(definitions)}")
        models = {m: definitions[m] for m in models}
    out_dir = Path(out_dir)
    report_path = Path(report_path) if report_path else default_report_path(out_dir)
    targets = [out_dir / f"{n}.{ext}" for n in models for ext in ("json", "npz")]
    targets.append(report_path)
    if reference_path:
        targets.append(Path(reference_path))
    with_lf = _has_lf_inputs(population)
    if with_lf:
        lf_path = Path(lf_path) if lf_path else default_lf_path(out_dir)
        targets.append(lf_path)
    if not overwrite:
        existing = [str(p) for p in targets if p.exists()]
        if existing:
            raise OutputExistsError(f"{', '.join(existing)} exist; pass overwrite=True "
                                    "(--overwrite) to replace them")
    out_dir.mkdir(parents=True, exist_ok=True)
    trained, reports = {}, {}
    for name, spec in models.items():
        bands, redshift_range = model_definition(spec)
        if progress:
            progress(f"training {name} ({' '.join(bands)}"
                     + (f"; {redshift_range[0]:g} <= z <= {redshift_range[1]:g})"
                        if redshift_range else ")"))
        model, report = train_model(population, name, bands, seed=seed,
                                    redshift_range=redshift_range, **kwargs)
        model.save(out_dir, overwrite=True)
        trained[name], reports[name] = model, report
        if progress:
            progress(f"  {name}: held-out RMS {report['heldout']['overall']['rms_dex']} dex, "
                     f"{report['learning_curve']['best_epoch']} epochs, "
                     f"{report['train_time_s']} s")
    reference = None
    if reference_path:
        if progress:
            progress(f"training the reference subset ({REFERENCE_SUBSET})")
        reference = _write_reference(population, reference_path, seed, overwrite=True,
                                     **kwargs)
    luminosity_functions = None
    if with_lf:
        from .lumfunc import record_luminosity_functions

        if progress:
            progress(f"comparing the population with the GAMA luminosity functions ({lf_path})")
        luminosity_functions = record_luminosity_functions(population, lf_path,
                                                           overwrite=True)
    first = next(iter(trained.values()))
    summary = {
        "generated_by": "astropy_smass.training.fit.train_all",
        "seed": int(seed),
        "population": first.metadata["training"]["population"],
        "hyperparameters": first.metadata["training"]["hyperparameters"],
        "packages": first.metadata["training"]["packages"],
        "mass_bins": [float(v) for v in MASS_BINS],
        "summary": [{"name": n, "n_bands": len(m.bands), "n_features": len(m.features),
                     "heldout_rms_dex": m.metadata["scores"]["heldout_rms_dex"],
                     "heldout_median_offset_dex": m.metadata["scores"][
                         "heldout_median_offset_dex"],
                     "heldout_half_width_16_84_dex": m.metadata["scores"][
                         "heldout_half_width_16_84_dex"],
                     "train_time_s": reports[n]["train_time_s"],
                     "weights_sha256": arrays_checksum(m.arrays())}
                    for n, m in trained.items()],
        "architecture_comparison": comparison,
        "noise_sensitivity": noise_study,
        "reference_subset": reference,
        "models": reports,
        "luminosity_functions": luminosity_functions,
    }
    text = json.dumps(summary, indent=1, default=json_default) + "\n"
    report_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(report_path, lambda fh: fh.write(text), overwrite=True, mode="w")
    return trained
