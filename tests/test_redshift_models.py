"""Observed-frame (redshift-aware) models in the prediction pipeline."""

import astropy.units as u
import numpy as np
import pytest
from astropy.cosmology import Planck18
from astropy.table import QTable
from helpers import (
    TOY_BANDS,
    toy_k_correction,
    toy_population,
    train_toy_model,
    train_toy_observed_model,
)

from astropy_smass import SmassFlag
from astropy_smass.exceptions import InputError
from astropy_smass.pipeline import predict_table, select_models

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def observed_model():
    return train_toy_observed_model()


@pytest.fixture(scope="module")
def rest_model():
    return train_toy_model(name="toy_rest_gri", bands=["g", "r", "i"], seed=4)


def apparent_table(z, seed=11):
    """Apparent g r i of toy galaxies at redshifts ``z`` (Planck18), with their masses."""
    z = np.asarray(z, float)
    rest, logm = toy_population(len(z), seed=seed)
    obs = rest + toy_k_correction(rest, z)
    dm = Planck18.distmod(z).to_value(u.mag)
    table = QTable()
    for k, band in enumerate(TOY_BANDS):
        if band in "gri":
            table[band] = (obs[:, k] + dm) * u.mag
    table["z"] = z
    table["true_logmstar"] = logm
    return table


def test_model_fields(observed_model, rest_model):
    assert observed_model.observed_frame and not rest_model.observed_frame
    assert observed_model.inputs == ["g", "r", "i", "redshift"]
    assert observed_model.redshift_range == (0.0, 1.0)
    assert "observed frame" in repr(observed_model)


def test_bundle_round_trip(observed_model, tmp_path):
    from astropy_smass.model.bundle import StellarMassModel

    again = StellarMassModel.load(observed_model.save(tmp_path))
    assert again.redshift_range == (0.0, 1.0) and again.inputs == observed_model.inputs
    inputs = np.array([[-20.0, -20.5, -20.8, 0.4]])
    np.testing.assert_array_equal(again.predict_magnitudes(inputs)["logmstar"],
                                  observed_model.predict_magnitudes(inputs)["logmstar"])


def test_observed_model_learns_the_k_correction(observed_model):
    table = apparent_table(np.linspace(0.05, 0.95, 400))
    result = predict_table(table, model=observed_model, redshift="z", cosmology=Planck18)
    resid = result["logmstar"].value - table["true_logmstar"]
    assert np.isfinite(resid).mean() > 0.95
    assert np.nanstd(resid) < 0.1
    # the same numbers as the model on apparent magnitudes minus the distance modulus
    dm = Planck18.distmod(table["z"]).to_value(u.mag)
    inputs = np.column_stack([np.asarray(table[b].value) - dm for b in "gri"] + [table["z"]])
    direct = observed_model.predict_magnitudes(inputs)["logmstar"]
    np.testing.assert_allclose(result["logmstar"].value, direct, rtol=0, atol=1e-9)


def test_auto_prefers_observed_frame_with_a_redshift(observed_model, rest_model):
    columns = {"g": "g", "r": "r", "i": "i"}
    assert select_models(columns, [rest_model, observed_model], observed=True)[0] \
        is observed_model
    # without a redshift (absolute magnitudes, or a distance) only rest-frame models
    assert select_models(columns, [rest_model, observed_model]) == [rest_model]
    with pytest.raises(InputError, match="redshift"):
        select_models(columns, observed_model)


def test_rest_frame_model_refuses_apparent_magnitudes_beyond_its_redshift(rest_model):
    table = apparent_table([0.02, 0.05, 0.3, 0.8])
    result = predict_table(table, model=rest_model, redshift="z", cosmology=Planck18)
    far = np.asarray(table["z"]) > 0.1
    assert np.all(np.isnan(result["logmstar"].value[far]))
    assert np.all(result["smass_flag"][far] & SmassFlag.REDSHIFT_OUT_OF_RANGE)
    assert np.all(np.isfinite(result["logmstar"].value[~far]))


def test_per_row_choice_by_redshift(observed_model, rest_model):
    # beyond the observed model's range, the rest-frame model cannot take them either
    table = apparent_table([0.05, 0.5, 0.9, 1.1, 1.4])
    result = predict_table(table, model=[rest_model, observed_model], redshift="z",
                           cosmology=Planck18)
    assert list(result["smass_model"][:3]) == ["toy_obs"] * 3
    assert np.all(np.isfinite(result["logmstar"].value[:3]))
    assert np.all(np.isnan(result["logmstar"].value[3:]))
    assert np.all(result["smass_flag"][3:] & SmassFlag.REDSHIFT_OUT_OF_RANGE)


def test_errors_propagate_through_the_observed_frame(observed_model):
    table = apparent_table(np.full(50, 0.4))
    for band in "gri":
        table[f"{band}_err"] = np.full(len(table), 0.05) * u.mag
    result = predict_table(table, model=observed_model, redshift="z", cosmology=Planck18,
                           uncertainty="analytic")
    assert np.all(result["logmstar_err_phot"].value[np.isfinite(result["logmstar"])] > 0)
