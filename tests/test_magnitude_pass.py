"""The fused per-row pass of a model (`astropy_smass.model.magnitude_pass.MagnitudePass`).

It centres the inputs in float32, and checks the domain in float32 where that cannot
change a flag: these tests hold it to the float64 network within 1e-4 dex, to
`TrainingDomain.check` exactly for the range flag, to a float64 pass exactly for both
domain flags, and to itself whatever the chunking.
"""

import numpy as np
import pytest
from helpers import toy_population

from astropy_smass import available_models, load_model
from astropy_smass.flags import SmassFlag
from astropy_smass.model.bundle import StellarMassModel
from astropy_smass.model.domain import TrainingDomain
from astropy_smass.model.features import build_features
from astropy_smass.model.magnitude_pass import MagnitudePass
from astropy_smass.model.network import OneHiddenLayerNetwork

BUNDLED = sorted(available_models())


class _Float64Pass(MagnitudePass):
    dtype = np.float64


def _models(toy_model):
    return [toy_model] + [load_model(name) for name in BUNDLED]


def _domain_magnitudes(model, n, spread, seed=0):
    """Magnitudes whose features are drawn around the training centre (whitened units)."""
    rng = np.random.default_rng(seed)
    domain = model.domain
    features = domain.center + rng.normal(0, spread, (n, domain.whitening.shape[1])) \
        @ np.linalg.pinv(domain.whitening)
    return features[:, [model.features.index(b) for b in model.inputs]]


def _at_distance(model, factors, seed=1):
    """Magnitudes at Mahalanobis distance ``factor * max_distance`` in random directions."""
    rng = np.random.default_rng(seed)
    pass_ = model._magnitude_pass
    whitening = pass_.whitening_rows[:, :-1]  # of centred magnitudes
    offset = pass_.whitening_rows[:, -1]
    rows = []
    for factor in factors:
        direction = rng.normal(size=len(offset))
        whitened = direction / np.linalg.norm(direction) * factor * pass_.max_distance
        rows.append(pass_.center + np.linalg.lstsq(whitening, whitened - offset, rcond=None)[0])
    return np.array(rows)


def _on_bounds(model, base=None, seed=2):
    """Rows near ``base`` with one feature on, or one floating-point step either side of,
    a training bound."""
    rng = np.random.default_rng(seed)
    if base is None:
        base = _domain_magnitudes(model, 1, 0.3, seed)[0]
    index = {band: k for k, band in enumerate(model.inputs)}
    rows = []
    for k, feature in enumerate(model.features):
        for bound, away in ((model.domain.feature_min[k], -np.inf),
                            (model.domain.feature_max[k], np.inf)):
            for target in (bound, np.nextafter(bound, away), np.nextafter(bound, -away)):
                row = base + rng.normal(0, 0.01, len(base))
                if "-" in feature and feature not in index:
                    first, second = feature.split("-")
                    row[index[first]] = row[index[second]] + target
                else:
                    # All bands move together, so that the colours stay typical.
                    row += target - row[index[feature]]
                    row[index[feature]] = target
                rows.append(row)
    return np.array(rows)


def _range_flags(model, mags):
    return model.domain.check(build_features(mags, model.inputs, model.features)) \
        & SmassFlag.OUT_OF_RANGE


def test_float32_centred_inputs(toy_model):
    """The network's output within 1e-4 dex of float64, in and around the domain."""
    for model in _models(toy_model):
        mags = np.concatenate([_domain_magnitudes(model, 20000, 1.0),
                               _domain_magnitudes(model, 2000, 3.0, seed=5)])
        exact = model.network.predict(model.features_from_magnitudes(mags))
        fast = model._magnitude_pass.predict(mags)
        assert np.abs(fast - exact).max() < 1e-4, model.name
        assert np.abs(fast - _Float64Pass(model).predict(mags)).max() < 1e-4, model.name
        # and through predict_magnitudes, which uses the same pass (rows far outside the
        # training range in every band get no mass even when out-of-domain ones are kept)
        result = model.predict_magnitudes(mags, correct=False, exclude_out_of_domain=False)
        kept = (result["flags"] & SmassFlag.IMPLAUSIBLE) == 0
        assert np.isnan(result["logmstar"][~kept]).all()
        np.testing.assert_array_equal(result["logmstar"][kept], fast[kept])


def test_flags_are_those_of_float64(toy_model):
    """Range flags as TrainingDomain.check; both domain flags as a float64 pass, also for
    features on their bounds and distances at the limit."""
    for model in _models(toy_model):
        mags = np.concatenate([
            _domain_magnitudes(model, 20000, 1.0),
            _domain_magnitudes(model, 2000, 3.0, seed=5),
            _on_bounds(model),
            _at_distance(model, [1 - 1e-3, 1 - 1e-9, 1 - 1e-15, 1, 1 + 1e-15, 1 + 1e-9,
                                 1 + 1e-3, 0.9, 1.1, 0.5, 2.0]),
        ])
        _, flags, _ = model._magnitude_pass.run(mags, None)
        _, flags64, _ = _Float64Pass(model).run(mags, None)
        np.testing.assert_array_equal(flags, flags64, err_msg=model.name)
        np.testing.assert_array_equal(flags & SmassFlag.OUT_OF_RANGE,
                                      _range_flags(model, mags), err_msg=model.name)
        # The Mahalanobis flag of TrainingDomain.check, but for distances within
        # rounding of the limit.
        features = build_features(mags, model.inputs, model.features)
        ratio = model.domain.distance(features) / model.domain.max_distance
        clear = np.abs(ratio - 1) > 1e-9
        far = (model.domain.check(features) & SmassFlag.OUT_OF_DISTRIBUTION) != 0
        np.testing.assert_array_equal(((flags & SmassFlag.OUT_OF_DISTRIBUTION) != 0)[clear],
                                      far[clear], err_msg=model.name)
        assert (~clear).sum() >= 3  # the rows at the limit are there


def test_custom_features_range_check():
    """Colours of non-adjacent bands, reversed colours and a negated magnitude: the
    range flag is still TrainingDomain.check's."""
    bands = ["u", "g", "r", "i", "z"]
    features = ["g", "r", "i", "u-i", "r-g", "g-z", "z-u", "i-z"]
    mags, _ = toy_population(3000, seed=9)
    x = build_features(mags, bands, features)
    rng = np.random.default_rng(3)
    network = OneHiddenLayerNetwork(rng.normal(size=(len(features), 8)), rng.normal(size=8),
                                    rng.normal(size=8), 10.0, "relu", x.mean(axis=0),
                                    x.std(axis=0))
    model = StellarMassModel("custom", bands, features, network,
                             TrainingDomain.from_training(x))
    probe = np.concatenate([mags + rng.normal(0, 0.3, mags.shape), _on_bounds(model, mags[0])])
    _, flags, _ = model._magnitude_pass.run(probe, None)
    np.testing.assert_array_equal(flags & SmassFlag.OUT_OF_RANGE, _range_flags(model, probe))
    np.testing.assert_array_equal(flags, _Float64Pass(model).run(probe, None)[1])
    assert (flags & SmassFlag.OUT_OF_RANGE).any() and not (flags & SmassFlag.OUT_OF_RANGE).all()


@pytest.mark.skipif("full_vista" not in BUNDLED, reason="needs the bundled full_vista model")
def test_chunks_give_the_same_numbers():
    """Every galaxy's numbers are its own: bit for bit the same in chunks of any size."""
    model = load_model("full_vista")
    n = 10000
    mags = _domain_magnitudes(model, n, 1.5, seed=4)
    mags[7, 2] = np.nan
    errors = np.random.default_rng(4).uniform(0.02, 0.1, mags.shape)
    errors[11, 3] = -1.0
    whole = model.predict_magnitudes(mags, errors, uncertainty="analytic")
    for sizes in ([1, 2, 3, 4607, 4608, 779], [9999, 1], [17] * 588 + [4]):
        parts = [model.predict_magnitudes(mags[a:b], errors[a:b], uncertainty="analytic")
                 for a, b in zip(np.cumsum([0] + sizes[:-1]), np.cumsum(sizes))]
        for key in whole:
            np.testing.assert_array_equal(np.concatenate([p[key] for p in parts]), whole[key],
                                          err_msg=key)
