"""Shared inputs of the benchmarks: a 13-band model and synthetic catalogues.

The model is the bundled ``full_vista`` when it is installed (the 13 published bands),
otherwise a stand-in of the same shape: 24 features, 32 ReLU hidden units, fitted here
with scikit-learn on a synthetic population. Set ``SMASS_BENCH_MODEL`` to a model name
or bundle path to benchmark another one.
"""

import functools
import os

import astropy.units as u
import numpy as np
from astropy.table import QTable

from astropy_smass.model.bundle import StellarMassModel
from astropy_smass.model.domain import TrainingDomain
from astropy_smass.model.features import PUBLISHED_BANDS, build_features, default_features
from astropy_smass.model.network import OneHiddenLayerNetwork
from astropy_smass.model.registry import available_models, load_model

__all__ = ["benchmark_model", "population", "magnitude_table", "sizes"]

BANDS = list(PUBLISHED_BANDS)
# Colour of each band relative to i, per unit of g-i colour (a crude red/blue sequence).
_SLOPES = {"FUV": 3.5, "NUV": 2.8, "u": 1.6, "g": 1.0, "r": 0.35, "i": 0.0, "Z": -0.2,
           "Y": -0.3, "J": -0.45, "H": -0.6, "K": -0.7, "W1": -0.5, "W2": -0.4}
_OFFSETS = {"FUV": 1.0, "NUV": 0.8, "u": 0.5, "g": 0.0, "r": 0.0, "i": 0.0, "Z": -0.1,
            "Y": -0.15, "J": -0.3, "H": -0.5, "K": -0.6, "W1": 0.2, "W2": 0.7}


def population(n, seed=1):
    """Absolute AB magnitudes (n, 13) and log masses of a synthetic population."""
    rng = np.random.default_rng(seed)
    logm = rng.uniform(8.0, 11.5, n)
    colour = np.clip(0.2 + 0.25 * (logm - 8.0) + rng.normal(0, 0.2, n), 0.0, 1.4)
    mag_i = 4.58 - 2.5 * (logm - (-0.68 + 0.70 * colour))
    mags = np.column_stack([mag_i + _OFFSETS[b] + _SLOPES[b] * colour
                            + rng.normal(0, 0.03, n) for b in BANDS])
    return mags, logm


def _fit_standin(hidden=32, n=20000, seed=0):
    from sklearn.neural_network import MLPRegressor

    mags, logm = population(n, seed=seed + 7)
    features = default_features(BANDS)
    x = build_features(mags, BANDS, features)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    mlp = MLPRegressor(hidden_layer_sizes=(hidden,), activation="relu", random_state=seed,
                       max_iter=200, early_stopping=True, learning_rate_init=3e-3)
    mlp.fit((x - mean) / scale, logm)
    network = OneHiddenLayerNetwork(mlp.coefs_[0], mlp.intercepts_[0], mlp.coefs_[1][:, 0],
                                    mlp.intercepts_[1][0], "relu", mean, scale)
    # Domain from a wider sample so nearly every benchmark row is inside it.
    wide = build_features(population(200000, seed=seed + 8)[0], BANDS, features)
    return StellarMassModel("standin_13band", BANDS, features, network,
                            TrainingDomain.from_training(wide), intrinsic_scatter=0.1,
                            metadata={"description": "benchmark stand-in, 13 bands"})


@functools.lru_cache(maxsize=1)
def benchmark_model():
    """The model the benchmarks run: ``$SMASS_BENCH_MODEL``, ``full_vista`` or a stand-in."""
    name = os.environ.get("SMASS_BENCH_MODEL")
    if name:
        return load_model(name)
    if "full_vista" in available_models():
        return load_model("full_vista")
    return _fit_standin()


def domain_magnitudes(model, n, seed=2, spread=0.5):
    """Absolute magnitudes (n, n_bands) of galaxies drawn inside a model's training domain.

    Features are drawn from a Gaussian with the training set's mean and (scaled)
    covariance, as described by the domain's whitening matrix; the magnitude
    features of each draw are its magnitudes.
    """
    rng = np.random.default_rng(seed)
    domain = model.domain
    draws = rng.normal(0.0, spread, (n, domain.whitening.shape[1]))
    features = domain.center + draws @ np.linalg.pinv(domain.whitening)
    return features[:, [model.features.index(b) for b in model.bands]]


def magnitude_table(n, seed=2, errors=False, model=None):
    """A QTable of n galaxies: one absolute-magnitude column (mag) per model band."""
    model = model or benchmark_model()
    mags = domain_magnitudes(model, n, seed=seed)
    table = QTable()
    for k, band in enumerate(model.bands):
        table[f"absmag_{band}"] = mags[:, k] * u.mag
    if errors:
        rng = np.random.default_rng(seed + 1)
        for band in model.bands:
            table[f"absmag_{band}_err"] = rng.uniform(0.02, 0.1, n) * u.mag
    return table


def sizes():
    """Row counts to benchmark: 1e4 and 1e6, and 1e7 when ``SMASS_BENCH_1E7=1``."""
    out = [10_000, 1_000_000]
    if os.environ.get("SMASS_BENCH_1E7", "0") not in ("", "0"):
        out.append(10_000_000)
    return out
