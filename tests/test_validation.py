"""Validation tools: halves, scores, calibration, uncertainties, flag census, real data.

The synthetic tests use the test-session toy model (see conftest.py) on a population
whose true masses are known. The real-data tests read the catalogues from
``$ASTROPY_SMASS_DATA`` or ``../shared/data``; they are skipped, with the reason,
when the catalogues are absent, and fail instead when ``ASTROPY_SMASS_REQUIRE_DATA=1``.
"""

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from astropy_smass import available_models, predict_table
from astropy_smass.flags import NO_MASS, SmassWarning
from astropy_smass.model.uncertainty import intrinsic_scatter
from astropy_smass.pipeline import calibrate_model
from validation import (
    BUNDLED_ANCHOR,
    CALIBRATION_PLAN,
    CATALOGUES,
    MIN_PER_COEFFICIENT,
    auto_assignment,
    calibrate_bundled,
    calibrate_on_catalogue,
    calibration_degree,
    compare_degrees,
    compare_methods,
    compare_uncertainties,
    domain_report,
    flag_census,
    half_mask,
    predict_as_auto,
    residual_statistics,
    split_halves,
    uncertainty_coverage,
)

TOY_BANDS = ["u", "g", "r", "i", "z"]


def toy_population(n, seed):
    """The synthetic population the ``toy_model`` fixture is trained on (conftest.py).

    Absolute ugriz magnitudes and true log masses: the g - i colour rises with mass
    and fixes the mass-to-light ratio as in Taylor et al. (2011). Repeated here, not
    imported, so this module does not depend on how pytest imports conftest files.
    """
    rng = np.random.default_rng(seed)
    logm = rng.uniform(8.0, 11.5, n)
    colour = np.clip(0.2 + 0.25 * (logm - 8.0) + rng.normal(0, 0.2, n), 0.0, 1.4)
    mag_i = 4.58 - 2.5 * (logm - (-0.68 + 0.70 * colour))
    offsets = {"u": 1.6 * colour + 0.5, "g": colour, "r": 0.35 * colour, "i": 0.0,
               "z": -0.25 * colour}
    mags = np.column_stack([mag_i + offsets[b] + rng.normal(0, 0.02, n) for b in TOY_BANDS])
    return mags, logm


def toy_table(n=3000, seed=5, reference=None, errors=None, rng_seed=0):
    """A table of absolute ugriz magnitudes of the toy population and its true masses."""
    mags, logm = toy_population(n, seed=seed)
    rng = np.random.default_rng(rng_seed)
    table = QTable()
    table["name"] = [f"G{k:05d}" for k in range(n)]
    if errors is not None:
        mags = mags + rng.normal(0.0, errors, mags.shape)
    for k, band in enumerate(TOY_BANDS):
        table[band] = mags[:, k] * u.mag
        if errors is not None:
            table[band + "_err"] = np.full(n, errors) * u.mag
    table["true_logm"] = logm * u.dex(u.Msun)
    table["logmstar"] = (logm if reference is None else reference(logm, rng)) * u.dex(u.Msun)
    table.meta["name"] = "toy"
    return table


# -- halves -------------------------------------------------------------------------------
def test_half_mask_is_deterministic_and_balanced():
    names = [f"NGC{k:04d}" for k in range(4000)]
    first = half_mask(names, seed=3)
    np.testing.assert_array_equal(first, half_mask(names, seed=3))
    # A galaxy's half does not depend on the others in the list.
    np.testing.assert_array_equal(first[::-1], half_mask(names[::-1], seed=3))
    np.testing.assert_array_equal(first[:10], half_mask(names[:10], seed=3))
    # Binomial(4000, 1/2) is within 0.46-0.54 with overwhelming probability.
    assert 0.46 < first.mean() < 0.54
    # Another seed gives a (nearly) independent split.
    other = half_mask(names, seed=4)
    assert 0.4 < np.mean(first == other) < 0.6


def test_split_halves_disjoint_complete_ordered():
    table = toy_table(500)
    calibration, evaluation = split_halves(table, "name", seed=7)
    names_c, names_e = list(calibration["name"]), list(evaluation["name"])
    assert not set(names_c) & set(names_e)
    assert sorted(names_c + names_e) == sorted(table["name"])
    assert names_c == sorted(names_c) and names_e == sorted(names_e)  # table order kept
    assert calibration.meta["half"] == "calibration" and evaluation.meta["split_seed"] == 7
    again = split_halves(table, "name", seed=7)[0]
    assert list(again["name"]) == names_c


def test_split_halves_needs_unique_names():
    table = toy_table(10)
    table["name"][3] = table["name"][4]
    with pytest.raises(ValueError, match="repeated"):
        split_halves(table, "name")
    with pytest.raises(KeyError, match="no column 'id'"):
        split_halves(table, "id")


# -- scores -------------------------------------------------------------------------------
def test_residual_statistics_by_hand():
    reference = np.zeros(6)
    predicted = np.array([-0.4, -0.1, 0.0, 0.1, 0.2, np.nan])
    stats = residual_statistics(predicted, reference, outlier=0.3)
    assert stats["n"] == 5
    assert stats["median_offset"] == pytest.approx(0.0)
    assert stats["rms"] == pytest.approx(np.sqrt((0.16 + 0.01 + 0 + 0.01 + 0.04) / 5))
    assert stats["outlier_fraction"] == pytest.approx(1 / 5)
    p16, p84 = np.percentile(predicted[:5], [16, 84])
    assert stats["half_width"] == pytest.approx((p84 - p16) / 2)


def test_compare_methods_known_truth(toy_model):
    table = toy_table(3000)
    logm = table["true_logm"].value
    rng = np.random.default_rng(11)
    noisy = logm + rng.normal(0, 0.2, len(logm))
    result = compare_methods(table, "logmstar", toy_model, kind="absolute",
                             extra={"biased": logm + 0.1, "noisy": noisy})
    overall = {row["method"]: row for row in result[result["bin"] == "all"]}
    assert set(overall) == {"network (raw)", "network (corrected)", "Taylor+2011 g-i",
                            "biased", "noisy"}  # no W1/W2 columns: no Cluver row
    biased = overall["biased"]
    assert biased["median_offset"] == pytest.approx(0.1)
    assert biased["half_width"] == pytest.approx(0.0, abs=1e-9)
    assert biased["rms"] == pytest.approx(0.1)
    assert biased["outlier_fraction"] == 0
    noisy_row = overall["noisy"]
    n = noisy_row["n"]
    assert noisy_row["half_width"] == pytest.approx(0.2, rel=0.1)
    # P(|N(0, 0.2)| > 0.3) = 0.1336
    assert abs(noisy_row["outlier_fraction"] - 0.1336) < 4 * np.sqrt(0.1336 * 0.87 / n)
    # The toy population follows the Taylor relation up to 0.02 mag of noise per band.
    taylor = overall["Taylor+2011 g-i"]
    assert abs(taylor["median_offset"]) < 0.01 and taylor["half_width"] < 0.03
    # Same galaxies for every method, and the bins add up to the whole.
    assert len(set(result[result["bin"] == "all"]["n"])) == 1
    for method in overall:
        rows = result[(result["method"] == method) & (result["bin"] != "all")]
        assert rows["n"].sum() == overall[method]["n"]
        assert np.all(np.diff(rows["bin_low"]) == pytest.approx(0.5))
    assert result.meta["n_common"] == n


def test_compare_methods_per_method_sets(toy_model):
    table = toy_table(400)
    table["g"][:50] = np.nan * u.mag  # no Taylor mass and no network mass for these
    common = compare_methods(table, "logmstar", toy_model, kind="absolute")
    separate = compare_methods(table, "logmstar", toy_model, kind="absolute", common=False,
                               methods=["network", "taylor2011"])
    assert set(separate["method"]) == {"network (corrected)", "Taylor+2011 g-i"}
    assert common.meta["n_common"] <= 350
    assert separate.meta["n_per_method"]["Taylor+2011 g-i"] == 350
    with pytest.raises(ValueError, match="unknown methods"):
        compare_methods(table, "logmstar", toy_model, kind="absolute", methods=["bell03"])


def test_compare_methods_rows_in_the_order_asked(toy_model):
    table = toy_table(300)
    logm = table["true_logm"].value
    result = compare_methods(table, "logmstar", toy_model, kind="absolute",
                             methods=["shifted", "taylor2011", "network", "cluver2014"],
                             extra={"shifted": logm + 0.05, "unused": logm},
                             labels={"network": "toy network"})
    overall = result[result["bin"] == "all"]
    # No W1/W2 columns: no Cluver row; "unused" was not asked for.
    assert list(overall["method"]) == ["shifted", "Taylor+2011 g-i", "toy network"]
    assert overall["median_offset"][0] == pytest.approx(0.05)


# -- calibration --------------------------------------------------------------------------
def test_calibration_recovers_a_known_bias(toy_model):
    # Reference masses on another scale: +0.2 dex at 10^10 Msun, and 10% shallower.
    def scale(logm, rng):
        return logm + 0.2 - 0.1 * (logm - 10.0)

    table = toy_table(4000, reference=scale)
    calibration, evaluation = split_halves(table, "name")
    model = calibrate_model(toy_model, calibration, "logmstar", degree=1, catalogue="toy",
                            kind="absolute", provenance={"half": "calibration"})
    correction = model.correction
    assert correction.offset(10.0) == pytest.approx(0.2, abs=0.02)
    assert correction.coefficients[1] == pytest.approx(-0.1, abs=0.02)
    info = correction.provenance
    assert info["catalogue"] == "toy" and info["half"] == "calibration"
    assert info["n_rows"] == len(calibration) and info["n_used"] > 0.9 * len(calibration)
    lo, hi = correction.fit_range
    assert 7.5 < lo < hi < 12
    # The correction works on the half it never saw, and is in the output's meta.
    stats = compare_methods(evaluation, "logmstar", model, kind="absolute",
                            methods=["network_raw", "network"])
    overall = {row["method"]: row for row in stats[stats["bin"] == "all"]}
    assert abs(overall["network (raw)"]["median_offset"]) > 0.1
    assert abs(overall["network (corrected)"]["median_offset"]) < 0.02
    result = predict_table(evaluation, model, kind="absolute")
    assert result.meta["smass_correction"]["toy"]["provenance"]["half"] == "calibration"


def test_intrinsic_scatter_subtracts_known_errors(toy_model):
    def noisy(logm, rng):
        return logm + rng.normal(0.0, 0.15, len(logm))

    table = toy_table(4000, reference=noisy)
    table["logmstar_err"] = np.full(len(table), 0.15) * u.dex
    without = calibrate_model(toy_model, table, "logmstar", degree=0, kind="absolute")
    known = calibrate_model(toy_model, table, "logmstar", degree=0, kind="absolute",
                            reference_error="logmstar_err")
    # Unexplained: the 0.15 dex reference noise (and the toy network's own few 0.01 dex).
    assert without.intrinsic_scatter == pytest.approx(0.15, abs=0.02)
    # Explained by the reference errors: little left.
    assert known.intrinsic_scatter < 0.07
    assert known.correction.provenance["intrinsic_scatter_dex"] == known.intrinsic_scatter
    assert intrinsic_scatter(np.zeros(5) + [0, 1e-3, -1e-3, 0, 0], 1.0) == 0.0


def test_compare_degrees_scores_each_on_the_other_half(toy_model):
    def curved(logm, rng):
        return logm + 0.1 + 0.15 * (logm - 10.0) ** 2

    table = toy_table(3000, reference=curved)
    calibration, evaluation = split_halves(table, "name")
    result = compare_degrees(toy_model, calibration, evaluation, "logmstar", kind="absolute")
    assert list(result["degree"]) == [-1, 0, 1, 2]
    rms = dict(zip(result["degree"], result["rms"]))
    # A curved bias needs the quadratic term.
    assert rms[2] < rms[1] < rms[-1] and rms[2] < rms[0]


def test_calibration_degree_rule():
    per = MIN_PER_COEFFICIENT
    assert calibration_degree(2 * per) == 1
    assert calibration_degree(2 * per - 1) == 0
    assert calibration_degree(per) == 0
    assert calibration_degree(per - 1) == -1  # too few for any correction
    assert calibration_degree(10 * per, degree=2) == 2
    assert calibration_degree(10 * per, degree=0) == 0


def test_predict_as_auto_swaps_corrections_not_choices():
    present = available_models()
    if "sdss" not in present:
        pytest.skip("needs the bundled sdss model")
    from astropy_smass import load_model

    table = toy_table(300)  # absolute ugriz only: "auto" can use the sdss model alone
    sdss = load_model(present["sdss"])
    auto = predict_table(table, "auto", kind="absolute", uncertainty=None)
    same = predict_as_auto(table, {}, kind="absolute", uncertainty=None)
    np.testing.assert_array_equal(same["logmstar"].value, auto["logmstar"].value)
    np.testing.assert_array_equal(same["smass_flag"], auto["smass_flag"])
    assigned = auto_assignment(table, kind="absolute")
    assert set(assigned[np.isfinite(auto["logmstar"].value)]) == {"sdss"}
    assert np.all(assigned[~np.isfinite(auto["logmstar"].value)] == "")
    # Another correction for the same network: masses move by it, choices do not.
    from astropy_smass import BiasCorrection

    shifted = sdss.replace(correction=BiasCorrection((0.5,), 10.0, (0.0, 20.0)),
                           intrinsic_scatter=0.2)
    with pytest.warns(SmassWarning, match="no photometric error columns"):
        other = predict_as_auto(table, {"sdss": shifted}, kind="absolute",
                                uncertainty="analytic")
    raw = predict_table(table, sdss, kind="absolute", correct=False, uncertainty=None)
    np.testing.assert_allclose(other["logmstar"].value, raw["logmstar"].value + 0.5)
    good = np.isfinite(other["logmstar"].value)
    np.testing.assert_array_equal(other["smass_model"][good], assigned[good])
    # No photometric errors: the total uncertainty is the intrinsic scatter and the
    # scale systematic.
    from astropy_smass.massscale import SYSTEMATIC_DEX

    np.testing.assert_allclose(other["logmstar_err"].value[good], np.hypot(0.2, SYSTEMATIC_DEX))
    assert other.meta["smass_correction"]["sdss"]["coefficients"] == [0.5]


# -- uncertainties --------------------------------------------------------------------------
def test_coverage_of_right_and_wrong_errors():
    rng = np.random.default_rng(2)
    truth = rng.uniform(8, 11, 20000)
    sigma = rng.uniform(0.05, 0.3, truth.size)
    predicted = truth + rng.normal(0, sigma)
    right, n = uncertainty_coverage(predicted, sigma, truth)
    assert n == truth.size and right == pytest.approx(0.683, abs=0.015)
    # Half of the error in the reference: the combined bar still covers 68%.
    split, _ = uncertainty_coverage(predicted, sigma / np.sqrt(2), truth, sigma / np.sqrt(2))
    assert split == pytest.approx(0.683, abs=0.015)
    small, _ = uncertainty_coverage(predicted, sigma / 2, truth)
    assert small == pytest.approx(0.383, abs=0.015)


def test_propagated_uncertainty_covers_photometric_scatter(toy_model):
    clean = toy_table(3000)
    observed = toy_table(3000, errors=0.05, rng_seed=9)
    model = toy_model.replace(intrinsic_scatter=0.0)
    noiseless = predict_table(clean, model, kind="absolute", exclude_out_of_domain=False,
                              uncertainty=None)["logmstar"].value
    # The photometric part alone: no scale systematic.
    noisy = predict_table(observed, model, kind="absolute", exclude_out_of_domain=False,
                          systematic=0)
    assert noisy.meta["smass_uncertainty"] == "analytic"
    fraction, n = uncertainty_coverage(noisy["logmstar"].value,
                                       noisy["logmstar_err"].value, noiseless)
    assert n > 2500
    assert fraction == pytest.approx(0.683, abs=0.05)
    summary = compare_uncertainties(observed, model, n_draws=300, seed=1, kind="absolute",
                                    exclude_out_of_domain=False)
    assert summary["median_ratio"] == pytest.approx(1.0, abs=0.1)


# -- flag census ----------------------------------------------------------------------------
def test_flag_census_accounts_for_every_row(toy_model):
    table = toy_table(200)
    table["u"][:5] = np.nan * u.mag                 # non-finite
    table["z"][5:12] = -999 * u.mag                 # sentinel: missing band
    table["g"][12] = table["g"][12] + 8 * u.mag      # far outside the training domain
    prediction = predict_table(table, toy_model, kind="absolute")
    census = flag_census(prediction)
    counts = dict(zip(census["flag"], census["n"]))
    assert counts["NONFINITE"] == 5
    assert counts["MISSING_BAND"] == 7
    assert counts["OUT_OF_RANGE"] >= 1
    assert census.meta["n_rows"] == 200
    assert census.meta["n_unexplained"] == 0
    assert census.meta["n_with_mass"] + census.meta["n_without_mass"] == 200
    assert census.meta["n_without_mass"] >= 13


# -- real catalogues ------------------------------------------------------------------------
def test_loaders_apply_catalogue_conventions(real_data):
    from astropy.table import Table

    eco = CATALOGUES["eco"].load()
    raw = Table.read(real_data / "eco_dev.csv", format="ascii.csv")
    assert len(eco) == len(raw)
    assert list(eco["econame"]) == list(raw["econame"])
    missing = np.asarray(raw["Kmag"]) == 0
    np.testing.assert_array_equal(np.asarray(eco["Ks_2MASS"].mask), missing)
    # 2MASS Vega -> AB: + 1.85 in Ks.
    k = eco["Ks_2MASS"].unmasked.to_value(u.mag)[~missing]
    np.testing.assert_allclose(k - np.asarray(raw["Kmag"])[~missing], 1.85)
    assert eco["logmstar"].unit == u.dex(u.Msun)

    dust = CATALOGUES["dustpedia"].load()
    raw = Table.read(real_data / "dustpedia_dev.csv", format="ascii.csv")
    assert len(dust) == len(raw)
    flagged = ~np.ma.getmaskarray(raw["WISE_3.4_flag"])
    assert flagged.any()
    assert np.all(dust["WISE_3.4"].mask[flagged])
    assert dust["WISE_3.4"].unit == u.Jy
    good = np.isfinite(np.ma.filled(np.ma.asarray(raw["mstar_msun"], float), np.nan))
    np.testing.assert_allclose(dust["logmstar"].unmasked.value[good],
                               np.log10(np.asarray(raw["mstar_msun"], float)[good]))

    hatlas = CATALOGUES["hatlas"].load()
    assert len(hatlas) == 3618 and hatlas["r_prime"].unit == u.mJy


def test_real_halves_are_balanced(real_data):
    for name, spec in CATALOGUES.items():
        table = spec.load()
        calibration, evaluation = split_halves(table, spec.key)
        assert len(calibration) + len(evaluation) == len(table)
        assert 0.42 < len(calibration) / len(table) < 0.58, name


def _census_model(toy_model):
    return "auto" if available_models() else toy_model


def test_real_data_flag_census_every_row_in_order(real_data, toy_model):
    model = _census_model(toy_model)
    for name, spec in CATALOGUES.items():
        table = spec.load()
        if model is not toy_model or name != "dustpedia":
            kwargs = spec.predict_kwargs
        else:  # the toy model reads SDSS bands only
            kwargs = {**spec.predict_kwargs, "columns": {b: f"SDSS_{b}" for b in TOY_BANDS}}
        prediction = predict_table(table, model, **kwargs)
        census = flag_census(prediction)
        assert census.meta["n_rows"] == len(table), name
        assert census.meta["n_unexplained"] == 0, name
        # Every row, in order: predicting the reversed table reverses the result.
        backwards = predict_table(table[::-1], model, **kwargs)
        np.testing.assert_array_equal(np.asarray(backwards["smass_flag"])[::-1],
                                      np.asarray(prediction["smass_flag"]))
        np.testing.assert_allclose(backwards["logmstar"].value[::-1],
                                   prediction["logmstar"].value, equal_nan=True)


def test_real_domain_report_counts(real_data, toy_model):
    eco = CATALOGUES["eco"].load()
    report = domain_report(toy_model, eco, "logmstar", **CATALOGUES["eco"].predict_kwargs)
    assert report["n_rows"] == len(eco)
    assert report["n_out_of_domain"] >= max(report["n_out_of_range"],
                                            report["n_out_of_distribution"])
    assert report["n_with_bands"] <= len(eco)
    assert sum(report["features_out_of_range"].values()) >= report["n_out_of_range"]


def _calibrated_bundles():
    present = available_models()
    if not any(name in present for name in CALIBRATION_PLAN):
        pytest.skip("no bundled model of the calibration plan is installed")
    return present


def test_bundled_corrections_on_one_scale(real_data):
    # On its own catalogue's evaluation half each bundled model is off by the recorded
    # shift to ECO's scale (zero for the ECO-calibrated models), and no more.
    present = _calibrated_bundles()
    from astropy_smass import load_model

    for model_name, catalogue in CALIBRATION_PLAN.items():
        if model_name not in present:
            continue
        info = load_model(present[model_name]).correction.provenance
        assert info["scale_anchor"] == CATALOGUES[BUNDLED_ANCHOR].name
        spec = CATALOGUES[catalogue]
        _, evaluation = split_halves(spec.load(), spec.key)
        result = compare_methods(evaluation, spec.reference, model_name,
                                 methods=["network"], **spec.predict_kwargs)
        overall = result[result["bin"] == "all"][0]
        if overall["n"] < 30:
            continue  # too few galaxies in the domain to judge an offset
        tolerance = 0.03 + 2.5 * overall["half_width"] / np.sqrt(overall["n"])
        assert abs(overall["median_offset"] - info["scale_shift_dex"]) <= tolerance, model_name


def test_calibrate_bundled_records_provenance(real_data):
    present = _calibrated_bundles()
    calibrated = calibrate_bundled(write=False)
    assert calibrated
    offsets = {m.correction.provenance["catalogue_offsets_dex"]["DustPedia - ECO"]
               for m in calibrated.values()}
    assert len(offsets) == 1  # one measured offset, recorded by every model
    offset = offsets.pop()
    for name, model in calibrated.items():
        info = model.correction.provenance
        assert info["half"] == "calibration" and info["split_seed"] == 1
        assert info["scale_anchor"] == "ECO"
        if "borrowed_from" in info:
            assert info["borrowed_from"] in present
        else:
            assert info["catalogue"] == CATALOGUES[CALIBRATION_PLAN[name]].name
            assert model.intrinsic_scatter == info["intrinsic_scatter_dex"] == max(
                info["intrinsic_scatter_measured_dex"], info["intrinsic_scatter_floor_dex"])
            assert info["n_used"] >= MIN_PER_COEFFICIENT * (info["degree"] + 1)
            expected = 0.0 if info["catalogue"] == "ECO" else -offset
            assert info["scale_shift_dex"] == pytest.approx(expected)


def test_anchor_puts_models_on_one_scale(real_data):
    present = _calibrated_bundles()
    if not {"sdss", "sdss_wise"} <= set(present):
        pytest.skip("needs the bundled sdss and sdss_wise models")
    spec = CATALOGUES["dustpedia"]
    calibration, _ = split_halves(spec.load(), spec.key)
    differences = {}
    for anchor in ("eco", None):
        calibrated = calibrate_bundled(["sdss", "sdss_wise"], anchor=anchor)
        masses = [predict_table(calibration, calibrated[name], uncertainty=None,
                                **spec.predict_kwargs)["logmstar"].value
                  for name in ("sdss", "sdss_wise")]
        both = np.isfinite(masses[0]) & np.isfinite(masses[1])
        differences[anchor] = np.median(masses[1][both] - masses[0][both])
    # The bridge is calibrated even when not asked for.
    alone = calibrate_bundled(["sdss_wise"], anchor="eco")
    assert set(alone) == {"sdss_wise"}
    info = alone["sdss_wise"].correction.provenance
    assert info["scale_anchor"] == "ECO" and info["scale_bridge_model"] == "sdss"
    # On the same galaxies the two models agree on one scale, better than on two.
    assert abs(differences["eco"]) < 0.05
    assert abs(differences["eco"]) < abs(differences[None])


def test_calibrate_on_catalogue_follows_auto(real_data):
    _calibrated_bundles()
    spec = CATALOGUES["dustpedia"]
    calibration, _ = split_halves(spec.load(), spec.key)
    calibrated = calibrate_on_catalogue("dustpedia")
    assigned = auto_assignment(calibration, **spec.predict_kwargs)
    # With the installed models, predict_as_auto is "auto", column by column.
    auto = predict_table(calibration, "auto", **spec.predict_kwargs)
    same = predict_as_auto(calibration, {}, **spec.predict_kwargs)
    assert same.colnames == auto.colnames
    for column in ("logmstar", "logmstar_err", "logmstar_err_phot"):
        np.testing.assert_array_equal(same[column].value, auto[column].value)
    for column in ("smass_flag", "smass_model"):
        np.testing.assert_array_equal(same[column], auto[column])
    ref = calibration["logmstar"].unmasked.value
    has_ref = ~np.asarray(calibration["logmstar"].mask)
    # Both ways of choosing a model's galaxies are exercised, so the test means something.
    n_autos = [int(((assigned == name) & has_ref).sum()) for name in calibrated]
    assert max(n_autos) >= MIN_PER_COEFFICIENT > min(n_autos)
    # Every model "auto" uses on the catalogue has a correction of its own.
    assert set(assigned[has_ref]) - {""} <= set(calibrated)
    prediction = predict_as_auto(calibration, calibrated, uncertainty=None,
                                 **spec.predict_kwargs)["logmstar"].value
    for name, model in calibrated.items():
        info = model.correction.provenance
        assert info["catalogue"] == "DustPedia" and info["half"] == "calibration"
        n_auto = int(((assigned == name) & has_ref).sum())
        assert info["n_auto"] == n_auto
        if n_auto >= MIN_PER_COEFFICIENT:
            assert info["galaxies"].startswith("calibration-half galaxies model='auto'")
            assert info["n_rows"] == n_auto
            assert info["degree"] == calibration_degree(n_auto)
            # Fitted on exactly those galaxies: no offset left there.
            rows = (assigned == name) & has_ref
            resid = prediction[rows] - ref[rows]
            assert abs(np.median(resid)) < 2.5 * np.std(resid) / np.sqrt(rows.sum())
        else:
            assert info["galaxies"].startswith("every calibration-half galaxy")
            assert info["n_rows"] == len(calibration)
        assert model.intrinsic_scatter >= info["intrinsic_scatter_floor_dex"]


def test_written_calibration_keeps_the_arrays(real_data, tmp_path):
    import hashlib
    import shutil

    from astropy_smass import load_model

    present = _calibrated_bundles()
    if "sdss" not in present:
        pytest.skip("needs the bundled sdss model")
    for suffix in (".json", ".npz"):
        shutil.copy(present["sdss"].with_suffix(suffix), tmp_path / f"sdss{suffix}")
    digest = hashlib.sha256((tmp_path / "sdss.npz").read_bytes()).hexdigest()
    stamp = (tmp_path / "sdss.npz").stat().st_mtime_ns
    written = calibrate_bundled({"sdss": tmp_path / "sdss.json"}, write=True)
    assert hashlib.sha256((tmp_path / "sdss.npz").read_bytes()).hexdigest() == digest
    assert (tmp_path / "sdss.npz").stat().st_mtime_ns == stamp
    again = load_model(tmp_path / "sdss.json")  # checksum still verified
    assert again.correction.coefficients == written["sdss"].correction.coefficients
    assert again.intrinsic_scatter == written["sdss"].intrinsic_scatter


def test_auto_gives_each_galaxy_the_model_with_fewest_bands(real_data):
    _calibrated_bundles()
    spec = CATALOGUES["dustpedia"]
    table = spec.load()
    auto = predict_table(table, "auto", uncertainty=None, **spec.predict_kwargs)
    chosen = np.asarray(auto["smass_model"])
    assert set(chosen) >= {"sdss"}
    for name in set(chosen):
        rows = chosen == name
        single = predict_table(table[rows], name, uncertainty=None, **spec.predict_kwargs)
        np.testing.assert_array_equal(auto["logmstar"][rows].value, single["logmstar"].value)
        np.testing.assert_array_equal(auto["smass_flag"][rows], single["smass_flag"])
    # Only galaxies the five-band model cannot read go to a model with more bands.
    sdss = predict_table(table, "sdss", uncertainty=None, **spec.predict_kwargs)
    assert np.all(np.asarray(sdss["smass_flag"])[chosen != "sdss"] & NO_MASS)
    # A galaxy without a mass reports why.
    has_mass = np.isfinite(auto["logmstar"].value)
    assert np.all(np.asarray(auto["smass_flag"])[~has_mass] != 0)


def test_docs_tables_are_current(real_data):
    from validation import DOCS_BEGIN, DOCS_END, report_rst

    _calibrated_bundles()
    text = (Path(__file__).resolve().parents[1] / "docs" / "validation.rst").read_text()
    generated = text.split(DOCS_BEGIN + "\n", 1)[1].split(DOCS_END, 1)[0]
    assert generated.strip() == report_rst().strip(), (
        "docs/validation.rst is out of date: run python scripts/calibrate_bundled.py --docs")
