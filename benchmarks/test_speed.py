"""Speed of the prediction paths against three baselines measured in the same run.

Baselines, all on the same galaxies:

(a) ``floor``: the bare numpy network, ``relu(X @ W1 + b1) @ w2 + b2``, on a feature
    array built beforehand (no table, no checks, no flags);
(b) ``sklearn``: `sklearn.neural_network.MLPRegressor.predict` with the same weights,
    on the standardised features;
(c) ``taylor``: the Taylor et al. (2011) colour formula,
    ``log M = -0.68 + 0.70 (g - i) - 0.4 (M_i - 4.58)``, from the same QTable.

Two intermediate figures separate the cost of the table from that of the numerics:
``magnitudes`` is `StellarMassModel.predict_magnitudes` on a pre-built (n, 13)
magnitude array (domain checks, flags and correction included) and ``network`` the
fused network pass alone on that array (no checks).

Run with ``tox -e benchmark`` (or ``pytest benchmarks --benchmark-only``) and turn the
JSON into the ratio table with ``python benchmarks/report.py benchmarks/results.json``.
``SMASS_BENCH_1E7=1`` adds 1e7-row cases.
"""

import numpy as np
import pytest

from astropy_smass import predict_table

from .common import magnitude_table, sizes

SIZES = sizes()


def _run(benchmark, func, n, kind, rounds=None):
    benchmark.group = f"{n:.0e} rows"
    benchmark.extra_info.update(rows=n, kind=kind)
    rounds = rounds or (20 if n <= 10_000 else 5 if n <= 1_000_000 else 2)
    return benchmark.pedantic(func, rounds=rounds, iterations=1, warmup_rounds=1)


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n:.0e}")
def case(request, model):
    n = request.param
    table = magnitude_table(n, errors=True, model=model)
    mags = np.column_stack([table[f"absmag_{b}"].value for b in model.bands])
    features = model.features_from_magnitudes(mags)
    points = table[[f"absmag_{b}" for b in model.bands]]
    return n, points, table, features


def test_floor(benchmark, case, model):
    n, _, _, features = case
    net = model.network
    w1, b1, w2, b2 = net.folded_weights, net.folded_bias, net.weights_output, net.bias_output
    out = _run(benchmark, lambda: np.maximum(features @ w1 + b1, 0.0) @ w2 + b2, n, "floor")
    np.testing.assert_allclose(out, net.predict(features), atol=1e-9)


def test_sklearn(benchmark, case, model):
    sklearn = pytest.importorskip("sklearn.neural_network")
    n, _, _, features = case
    net = model.network
    if net.activation != "relu":
        pytest.skip("the sklearn baseline is built for ReLU networks")
    mlp = sklearn.MLPRegressor(hidden_layer_sizes=(net.n_hidden,), activation="relu")
    mlp.coefs_ = [net.weights_hidden, net.weights_output[:, None]]
    mlp.intercepts_ = [net.bias_hidden, np.array([net.bias_output])]
    mlp.n_features_in_, mlp.n_layers_, mlp.n_outputs_ = net.n_features, 3, 1
    mlp.out_activation_ = "identity"
    scaled = (features - net.input_mean) / net.input_scale
    out = _run(benchmark, lambda: mlp.predict(scaled), n, "sklearn")
    np.testing.assert_allclose(out, net.predict(features), atol=1e-9)


def test_taylor(benchmark, case):
    n, points, _, _ = case

    def taylor():
        g, i = points["absmag_g"].value, points["absmag_i"].value
        return -0.68 + 0.70 * (g - i) - 0.4 * (i - 4.58)

    out = _run(benchmark, taylor, n, "taylor")
    assert np.isfinite(out).all()


def test_network(benchmark, case, model):
    n, points, _, _ = case
    mags = np.asfortranarray(np.column_stack([points[c].value for c in points.colnames]))
    out = _run(benchmark, lambda: model._magnitude_pass.predict(mags), n, "network")
    # float32 hidden layer in the fused pass: within 1e-4 dex (tests/test_magnitude_pass.py)
    np.testing.assert_allclose(out, model.network.predict(model.features_from_magnitudes(mags)),
                               atol=1e-4)


def test_magnitudes(benchmark, case, model):
    n, points, _, _ = case
    mags = np.asfortranarray(np.column_stack([points[c].value for c in points.colnames]))
    out = _run(benchmark, lambda: model.predict_magnitudes(mags), n, "magnitudes")
    assert np.isfinite(out["logmstar"]).mean() > 0.9


def test_point(benchmark, case, model):
    n, points, _, _ = case
    out = _run(benchmark, lambda: predict_table(points, model, uncertainty=None), n, "point")
    assert np.isfinite(out["logmstar"].value).mean() > 0.9


def test_analytic(benchmark, case, model):
    n, _, table, _ = case
    out = _run(benchmark, lambda: predict_table(table, model, uncertainty="analytic"),
               n, "analytic")
    assert np.isfinite(out["logmstar_err"].value).mean() > 0.9


@pytest.mark.parametrize("n", [10_000, 100_000], ids=["1e+04", "1e+05"])
def test_montecarlo(benchmark, n, model):
    table = magnitude_table(n, errors=True, model=model)
    out = _run(benchmark, lambda: predict_table(table, model, uncertainty="montecarlo",
                                                n_draws=100, seed=1), n, "montecarlo",
               rounds=3)
    assert np.isfinite(out["logmstar_err"].value).mean() > 0.9
