"""The numpy network against scikit-learn, finite differences and itself in chunks."""

import warnings

import numpy as np
import pytest

from astropy_smass.conf import conf
from astropy_smass.model.network import OneHiddenLayerNetwork


def _fitted_mlp(activation, n_features=6, hidden=9, seed=0):
    """A scikit-learn MLP fitted briefly to a smooth function, and its raw training inputs."""
    sklearn_nn = pytest.importorskip("sklearn.neural_network")
    rng = np.random.default_rng(seed)
    x = rng.normal(3.0, 2.0, (300, n_features))
    mean, scale = x.mean(axis=0), x.std(axis=0)
    y = np.sin(x[:, 0]) + 0.3 * x[:, 1] * x[:, 2] - 0.1 * x.sum(axis=1)
    mlp = sklearn_nn.MLPRegressor(hidden_layer_sizes=(hidden,), activation=activation,
                                  max_iter=60, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: a brief fit is all we need
        mlp.fit((x - mean) / scale, y)
    net = OneHiddenLayerNetwork(mlp.coefs_[0], mlp.intercepts_[0], mlp.coefs_[1][:, 0],
                                mlp.intercepts_[1][0], activation, mean, scale)
    return mlp, net, x, mean, scale


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_forward_pass_equals_sklearn(activation):
    mlp, net, x, mean, scale = _fitted_mlp(activation)
    rng = np.random.default_rng(5)
    test = np.vstack([x, rng.normal(3.0, 4.0, (100, x.shape[1]))])
    np.testing.assert_allclose(net.predict(test), mlp.predict((test - mean) / scale),
                               rtol=1e-12, atol=1e-12)
    assert net.n_features == x.shape[1] and net.n_hidden == 9


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_jacobian_equals_finite_differences(activation):
    mlp, net, x, mean, scale = _fitted_mlp(activation, seed=1)
    points = x[:40]
    y, jac = net.predict_and_jacobian(points)
    np.testing.assert_allclose(y, net.predict(points), rtol=0, atol=1e-13)
    np.testing.assert_array_equal(jac, net.jacobian(points))
    step = 1e-6
    for k in range(x.shape[1]):
        shift = np.zeros(x.shape[1])
        shift[k] = step
        # sklearn's predict, so the derivative is checked against an independent forward pass.
        numeric = (mlp.predict((points + shift - mean) / scale)
                   - mlp.predict((points - shift - mean) / scale)) / (2 * step)
        np.testing.assert_allclose(jac[:, k], numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n", [0, 1, 6, 7, 8, 13, 14, 15, 22])
def test_chunking_gives_identical_results(monkeypatch, n):
    _, net, x, _, _ = _fitted_mlp("tanh", seed=2)
    rows = np.resize(x, (n, x.shape[1]))
    whole_y, whole_jac = net.predict_and_jacobian(rows)  # one chunk
    with conf.set_temp("block_rows", 7):  # blocks of 16 columns
        y, jac = net.predict_and_jacobian(rows)
        blocked = net.predict(rows)
    # BLAS may sum in another order for another block size: equal to rounding.
    np.testing.assert_allclose(y, whole_y, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(jac, whole_jac, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(blocked, whole_y, rtol=1e-13, atol=1e-14)
    assert y.shape == (n,) and jac.shape == (n, x.shape[1])
    # Row by row, too: no state leaks from one block to the next.
    for k in range(n):
        np.testing.assert_allclose(net.predict(rows[k:k + 1]), whole_y[k:k + 1], rtol=1e-13,
                                   atol=1e-14)


def test_standardisation_is_folded_in():
    rng = np.random.default_rng(3)
    w1, b1, w2 = rng.normal(size=(4, 5)), rng.normal(size=5), rng.normal(size=5)
    mean, scale = rng.normal(size=4), rng.uniform(0.5, 2, 4)
    net = OneHiddenLayerNetwork(w1, b1, w2, 0.7, "tanh", mean, scale)
    x = rng.normal(size=(20, 4))
    expected = np.tanh((x - mean) / scale @ w1 + b1) @ w2 + 0.7
    np.testing.assert_allclose(net.predict(x), expected, rtol=1e-12)
    plain = OneHiddenLayerNetwork(w1, b1, w2, 0.7, "tanh")
    np.testing.assert_allclose(plain.predict(x), np.tanh(x @ w1 + b1) @ w2 + 0.7, rtol=1e-12)


def test_inputs_are_not_modified():
    _, net, x, _, _ = _fitted_mlp("logistic", seed=4)
    copy = x.copy()
    net.predict_and_jacobian(x)
    net.predict(x)
    np.testing.assert_array_equal(x, copy)


def test_arrays_round_trip():
    _, net, x, _, _ = _fitted_mlp("relu", seed=6)
    arrays = {k: np.array(v) for k, v in net.arrays().items()}
    again = OneHiddenLayerNetwork.from_arrays(arrays, "relu")
    np.testing.assert_array_equal(again.predict(x), net.predict(x))


def test_bad_parameters():
    w1, b1, w2 = np.zeros((3, 4)), np.zeros(4), np.zeros(4)
    with pytest.raises(ValueError, match="inconsistent weight shapes"):
        OneHiddenLayerNetwork(w1, np.zeros(3), w2, 0.0)
    with pytest.raises(ValueError, match="inconsistent weight shapes"):
        OneHiddenLayerNetwork(w1, b1, np.zeros(5), 0.0)
    with pytest.raises(ValueError, match="unknown activation 'softplus'.*relu"):
        OneHiddenLayerNetwork(w1, b1, w2, 0.0, "softplus")


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_forward_pass_equals_the_reference(activation):
    """The one forward pass (blocked, folded) against the plain float64 formula: in
    float64 to rounding, in float32 within 1e-4, on features and through an input map."""
    from helpers import reference_forward

    _, net, x, _, _ = _fitted_mlp(activation, seed=7)
    rng = np.random.default_rng(8)
    test = np.vstack([x, rng.normal(3.0, 4.0, (5000, x.shape[1]))])
    y_ref, jac_ref = reference_forward(net, test)
    y, jac = net.predict_and_jacobian(test)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(jac, jac_ref, rtol=1e-10, atol=1e-12)
    assert np.abs(net.predict(test, dtype=np.float32) - y_ref).max() < 1e-4 * max(
        1.0, np.abs(y_ref).max())
    # Inputs u whose features are x = u @ A.T (a model's magnitudes and colours).
    a = rng.normal(size=(x.shape[1], 4))
    u = rng.normal(size=(300, 4))
    folded = net.forward_pass(a, center=u.mean(axis=0))
    np.testing.assert_allclose(folded.predict(u), reference_forward(net, u @ a.T)[0],
                               rtol=1e-12, atol=1e-12)
    _, jac_u = folded.predict_and_jacobian(u)
    np.testing.assert_allclose(jac_u, reference_forward(net, u @ a.T)[1] @ a, rtol=1e-10,
                               atol=1e-12)
