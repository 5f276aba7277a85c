"""Test helpers: a small network trained in the test session, and table comparison.

Unit tests of the plumbing (column recognition, units, flags, file formats) use this
network, so they depend neither on the bundled models' exact numbers nor on a
hand-written constant. Imported by ``conftest.py`` (fixtures) and by test modules.
"""

import numpy as np

from astropy_smass.model.bundle import StellarMassModel
from astropy_smass.model.domain import TrainingDomain
from astropy_smass.model.features import build_features, default_features
from astropy_smass.model.network import OneHiddenLayerNetwork

TOY_BANDS = ["u", "g", "r", "i", "z"]


def toy_population(n, seed=1):
    """Absolute AB magnitudes in ugriz and log masses of a simple synthetic population.

    Mass-to-light ratio rises with colour as in Taylor et al. (2011); magnitudes
    follow from mass and colour with a little scatter.
    """
    rng = np.random.default_rng(seed)
    logm = rng.uniform(8.0, 11.5, n)
    colour = np.clip(0.2 + 0.25 * (logm - 8.0) + rng.normal(0, 0.2, n), 0.0, 1.4)  # g-i
    log_ml_i = -0.68 + 0.70 * colour
    mag_i = 4.58 - 2.5 * (logm - log_ml_i)
    offsets = {"u": 1.6 * colour + 0.5, "g": colour, "r": 0.35 * colour, "i": 0.0,
               "z": -0.25 * colour}
    mags = np.column_stack([mag_i + offsets[b] + rng.normal(0, 0.02, n) for b in TOY_BANDS])
    return mags, logm


def _fit_toy(name, bands, features, x, logm, hidden, seed, description, **model_kwargs):
    """A model of a small relu network fitted to features ``x`` and log masses ``logm``."""
    from sklearn.neural_network import MLPRegressor

    mean, scale = x.mean(axis=0), x.std(axis=0)
    mlp = MLPRegressor(hidden_layer_sizes=(hidden,), activation="relu", random_state=seed,
                       max_iter=400, early_stopping=True, learning_rate_init=3e-3)
    mlp.fit((x - mean) / scale, logm)
    network = OneHiddenLayerNetwork(mlp.coefs_[0], mlp.intercepts_[0], mlp.coefs_[1][:, 0],
                                    mlp.intercepts_[1][0], "relu", mean, scale)
    return StellarMassModel(name, bands, features, network,
                            TrainingDomain.from_training(x), intrinsic_scatter=0.1,
                            metadata={"description": description}, **model_kwargs)


def train_toy_model(name="toy", n=4000, hidden=16, seed=0, bands=None):
    """Fit a small relu network to `toy_population` in ``bands`` (default ugriz)."""
    bands = list(TOY_BANDS if bands is None else bands)
    mags, logm = toy_population(n, seed=seed + 1)
    mags = mags[:, [TOY_BANDS.index(b) for b in bands]]
    features = default_features(bands)
    x = build_features(mags, bands, features)
    return _fit_toy(name, bands, features, x, logm, hidden, seed, "test-session toy model")


def assert_same_tables(actual, expected):
    """Values, masks, dtypes, units, descriptions, UCDs and meta, column by column."""
    assert actual.colnames == expected.colnames
    for name in expected.colnames:
        a, e = actual[name], expected[name]
        assert a.dtype == e.dtype, name
        assert a.unit == e.unit, name
        assert a.info.description == e.info.description, name
        assert (a.info.meta or {}) == (e.info.meta or {}), name
        mask = np.ma.getmaskarray(e)
        np.testing.assert_array_equal(np.ma.getmaskarray(a), mask, err_msg=name)
        np.testing.assert_array_equal(np.ma.getdata(a)[~mask], np.ma.getdata(e)[~mask],
                                      err_msg=name)
    assert list(actual.meta.items()) == list(expected.meta.items())


def train_toy_observed_model(name="toy_obs", n=6000, hidden=16, seed=0, bands=("g", "r", "i"),
                             redshift_range=(0.0, 1.0)):
    """An observed-frame (redshift-aware) toy model: `toy_population` seen at redshifts
    uniform in ``redshift_range`` with a colour-dependent toy K-correction
    (``obs - rest = z * k_band * (g - i)``, see `toy_k_correction`)."""
    from astropy_smass.model.features import REDSHIFT_INPUT

    bands = list(bands)
    rest, logm = toy_population(n, seed=seed + 1)
    z = np.random.default_rng(seed + 2).uniform(*redshift_range, n)
    obs = rest + toy_k_correction(rest, z)
    inputs = np.column_stack([obs[:, [TOY_BANDS.index(b) for b in bands]], z])
    features = default_features(bands) + [REDSHIFT_INPUT]
    x = build_features(inputs, bands + [REDSHIFT_INPUT], features)
    return _fit_toy(name, bands, features, x, logm, hidden, seed,
                    "test-session observed-frame toy model", redshift_range=redshift_range)


#: Toy K-correction per unit redshift and unit g - i colour, by band (ugriz).
TOY_K = np.array([3.0, 2.0, 1.0, 0.3, 0.1])


def toy_k_correction(rest, z):
    """``obs - rest`` magnitudes of `toy_population` rows (ugriz) at redshifts ``z``."""
    colour = rest[:, 1] - rest[:, 3]
    return np.asarray(z)[:, None] * TOY_K[None, :] * colour[:, None]


# -- plain float64 references of the forward pass and the domain check ----------------------
# The package has one implementation of each (model/network.py ForwardPass, model/domain.py
# DomainPass), blocked, folded and partly float32; these are the textbook formulas they are
# held to.
_REFERENCE_ACTIVATIONS = {
    "relu": (lambda h: np.maximum(h, 0.0), lambda h: (h > 0).astype(float)),
    "tanh": (np.tanh, lambda h: 1.0 - np.tanh(h) ** 2),
    "logistic": (lambda h: 1.0 / (1.0 + np.exp(-h)),
                 lambda h: np.exp(-h) / (1.0 + np.exp(-h)) ** 2),
    "identity": (lambda h: h, np.ones_like),
}


def reference_forward(network, x):
    """``act((x - mean) / scale @ W1 + b1) @ w2 + b2`` and its Jacobian, row by row."""
    act, grad = _REFERENCE_ACTIVATIONS[network.activation]
    x = np.asarray(x, dtype=float)
    h = (x - network.input_mean) / network.input_scale @ network.weights_hidden \
        + network.bias_hidden
    y = act(h) @ network.weights_output + network.bias_output
    jac = (grad(h) * network.weights_output) @ (network.weights_hidden
                                                / network.input_scale[:, None]).T
    return y, jac


def reference_domain_flags(domain, features):
    """Range and Mahalanobis flags from the definitions (NaN rows get none)."""
    from astropy_smass.flags import SmassFlag

    features = np.asarray(features, dtype=float)
    with np.errstate(invalid="ignore"):
        outside = ((features < domain.feature_min) | (features > domain.feature_max)).any(axis=1)
        far = domain.distance(features) > domain.max_distance
    return (np.where(outside, int(SmassFlag.OUT_OF_RANGE), 0)
            | np.where(far, int(SmassFlag.OUT_OF_DISTRIBUTION), 0)).astype(np.int32)
