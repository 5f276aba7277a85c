"""Tests of the GAMA luminosity-function reader and the population LF comparison."""

import json
from importlib import resources

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from astropy_smass.training import lumfunc
from astropy_smass.training.lumfunc import (
    GAMA_LF_FILES,
    compare_luminosity_functions,
    fit_schechter,
    population_lf,
    read_gama_lf,
    schechter_mag,
    summarize_lf_comparison,
)
from astropy_smass.training.population import read_gsmf

LOG_H = np.log10(0.7)


def _exact_population(bands=("r", "K")):
    """One weighted galaxy per GAMA bin, so that its LF equals GAMA's exactly."""
    rows = []
    for band in bands:
        gama = read_gama_lf(band)
        for mag, phi in zip(gama["mag"].value, gama["phi"].value):
            row = {b: 99.0 for b in bands}
            row[band] = mag
            row["weight"] = phi * 0.5
            rows.append(row)
    table = Table(rows=rows)
    for band in bands:
        table[band].unit = u.mag
    table["weight"].unit = u.Mpc ** -3
    return table


def test_read_gama_lf_units_and_h_conversion():
    lf = read_gama_lf("r")
    raw = np.loadtxt(lumfunc.gama_data_dir() / GAMA_LF_FILES["r"])
    raw = raw[raw[:, 3] > 0]
    assert lf["mag"].unit == u.mag
    assert lf["phi"].unit.is_equivalent(u.Mpc ** -3 / u.mag)
    # brightest non-empty bin: -23.25 (M - 5 log h), 7.5587418e-6 (Mpc/h)^-3 per 0.5 mag
    assert lf["mag"].value[0] == pytest.approx(-23.25 + 5 * LOG_H)
    assert lf["phi"].value[0] == pytest.approx(7.5587418e-6 * 0.7 ** 3 / 0.5)
    assert lf["phi_err"].value[0] == pytest.approx(5.34483752e-6 * 0.7 ** 3 / 0.5)
    np.testing.assert_allclose(lf["mag"].value, raw[:, 0] + 5 * LOG_H)
    np.testing.assert_array_equal(lf["n_gal"], raw[:, 3].astype(int))
    assert lf.meta["h"] == 0.7 and lf.meta["band"] == "r"


def test_read_gama_lf_h1_is_raw_per_mag():
    lf = read_gama_lf("K", h=1.0, keep_empty=True)
    raw = np.loadtxt(lumfunc.gama_data_dir() / GAMA_LF_FILES["K"])
    np.testing.assert_allclose(lf["mag"].value, raw[:, 0])
    np.testing.assert_allclose(lf["phi"].value, raw[:, 1] / 0.5)


@pytest.mark.parametrize("band", list(GAMA_LF_FILES))
def test_every_gama_band_reads(band):
    lf = read_gama_lf(band)
    assert len(lf) > 10
    assert np.all(np.diff(lf["mag"].value) > 0)
    assert np.all(lf["phi"].value > 0)


def test_read_gama_lf_errors(tmp_path, monkeypatch):
    with pytest.raises(KeyError, match="no GAMA luminosity function"):
        read_gama_lf("W1")
    with pytest.raises(ValueError):
        read_gama_lf("r", h=-1)
    with pytest.raises(FileNotFoundError):
        read_gama_lf("r", data_dir=tmp_path / "missing")
    # the environment variable overrides the shipped copy
    (tmp_path / GAMA_LF_FILES["r"]).write_text(
        "# r\n-20.25 0.01 0.001 10.\n-19.75 0.02 0.002 20.\n")
    monkeypatch.setenv("ASTROPY_SMASS_GAMA_DIR", str(tmp_path))
    lf = read_gama_lf("r")
    assert len(lf) == 2
    assert lf["phi"].value[1] == pytest.approx(0.02 * 0.343 / 0.5)


def test_read_gsmf():
    gsmf = read_gsmf()
    assert gsmf["logmstar"][0] < gsmf["logmstar"][-1]
    assert gsmf.meta["h"] == 0.7
    assert np.all(gsmf["log_phi"] < 0)


def test_population_lf_weights_and_density():
    pop = Table({"r": [-20.1, -20.2, -20.7, np.nan] * u.mag,
                 "weight": [1e-3, 2e-3, 4e-3, 8e-3] * u.Mpc ** -3})
    lf = population_lf(pop, "r", [-21.0, -20.5, -20.0])
    np.testing.assert_allclose(lf["mag"].value, [-20.75, -20.25])
    np.testing.assert_allclose(lf["phi"].value, [4e-3 / 0.5, 3e-3 / 0.5])
    np.testing.assert_allclose(lf["phi_err"].value, [4e-3 / 0.5, np.sqrt(5e-6) / 0.5])
    np.testing.assert_array_equal(lf["n_gal"], [1, 2])
    assert lf["phi"].unit.is_equivalent(u.Mpc ** -3 / u.mag)

    unweighted = Table({"r": [-20.1, -20.2, -20.7, -20.8]})
    lf = population_lf(unweighted, "r", [-21.0, -20.5, -20.0] * u.mag,
                       density=0.04 * u.Mpc ** -3)
    np.testing.assert_allclose(lf["phi"].value, [0.02 / 0.5, 0.02 / 0.5])


def test_population_lf_validation():
    pop = Table({"r": [-20.0], "weight": [1.0]})
    with pytest.raises(KeyError):
        population_lf(pop, "K", [-21, -20])
    with pytest.raises(ValueError, match="increasing"):
        population_lf(pop, "r", [-20, -21])
    with pytest.raises(ValueError, match="either"):
        population_lf(pop, "r", [-21, -20], density=1.0)
    with pytest.raises(ValueError, match="density"):
        population_lf(Table({"r": [-20.0]}), "r", [-21, -20])


def test_fit_schechter_recovers_parameters():
    mags = np.arange(-24.0, -16.0, 0.5)
    phi = schechter_mag(mags, -21.5, -1.2, 5e-3)
    lf = Table({"mag": mags, "phi": phi, "phi_err": 0.05 * phi})
    fit = fit_schechter(lf)
    assert fit["mstar"] == pytest.approx(-21.5, abs=1e-3)
    assert fit["alpha"] == pytest.approx(-1.2, abs=1e-3)
    assert fit["phistar"] == pytest.approx(5e-3, rel=1e-3)


def test_compare_exact_population_agrees():
    comparison = compare_luminosity_functions(_exact_population())
    assert set(comparison["band"]) == {"r", "K"}
    np.testing.assert_allclose(comparison["pop_phi"].value, comparison["gama_phi"].value)
    np.testing.assert_allclose(comparison["deviation"], 0.0, atol=1e-9)
    np.testing.assert_allclose(comparison["log_ratio"], 0.0, atol=1e-9)
    r = comparison[comparison["band"] == "r"]
    # the knee of the GAMA r-band LF (h = 0.7) is near M* = -20.7 + 5 log10(0.7)
    assert r["mstar"].value[0] == pytest.approx(-21.5, abs=0.5)
    assert np.all(np.abs(r["mag"][r["near_mstar"]].value - r["mstar"].value[0]) <= 2.0)

    summary = summarize_lf_comparison(comparison)
    assert list(summary["band"]) == ["r", "K"]
    np.testing.assert_allclose(summary["frac_1sigma"], 1.0)
    np.testing.assert_allclose(summary["max_abs_log_ratio"], 0.0, atol=1e-9)
    assert np.all(summary["n_bins"] >= 7)  # >= 4 mag of 0.5-mag bins around M*


def test_schechter_yardstick_is_a_fit_to_the_window():
    comparison = compare_luminosity_functions(_exact_population(("r",)))
    near = np.asarray(comparison["near_mstar"])
    smooth = np.asarray(comparison["schechter_deviation"])
    assert np.isnan(smooth[~near]).all() and np.isfinite(smooth[near]).all()
    # Fitted to the window's points, the curve is closer to them than the Schechter fit
    # to every GAMA bin (which defines M*).
    gama = read_gama_lf("r")
    full = fit_schechter(gama)
    mags = comparison["mag"].value[near]
    err = comparison["gama_err"].value[near]
    full_dev = (lumfunc.schechter_mag(mags, **full) - comparison["gama_phi"].value[near]) / err
    assert np.sum(smooth[near] ** 2) < np.sum(full_dev ** 2)
    summary = summarize_lf_comparison(comparison)
    assert summary["frac_1sigma_schechter"][0] == np.mean(np.abs(smooth[near]) <= 1)


def test_compare_detects_offset():
    pop = _exact_population(("r",))
    pop["weight"] *= 2.0
    summary = summarize_lf_comparison(compare_luminosity_functions(pop))
    assert summary["median_log_ratio"][0] == pytest.approx(np.log10(2.0))
    assert summary["frac_1sigma"][0] < 0.5


def test_plot_luminosity_functions(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "lf.png"
    lumfunc.plot_luminosity_functions(_exact_population(), path)
    assert path.stat().st_size > 1000


def test_shipped_population_lf_matches_gama_and_report():
    # The bundled models' population LFs (written by record_luminosity_functions when they
    # were trained) must be on GAMA's bins and agree with the training report's summary.
    lf = lumfunc.read_population_lf()
    report = json.loads((resources.files("astropy_smass") / "data" / "training"
                         / "training_report.json").read_text())
    entry = report["luminosity_functions"]
    assert entry["file"] == lumfunc.POPULATION_LF_FILE
    assert entry["population_sha256"] == lf.meta["population_sha256"] \
        == report["population"]["sha256"]
    assert entry["window_mag"] == lf.meta["window_mag"]
    assert list(dict.fromkeys(lf["band"])) == list(GAMA_LF_FILES)
    for band in GAMA_LF_FILES:
        rows = lf[lf["band"] == band]
        gama = read_gama_lf(band)
        np.testing.assert_allclose(rows["mag"], gama["mag"].value, rtol=0, atol=1e-9)
        np.testing.assert_allclose(rows["gama_phi"], gama["phi"].value, rtol=1e-12)
        np.testing.assert_allclose(rows["gama_err"], gama["phi_err"].value, rtol=1e-12)
        mstar = fit_schechter(gama)["mstar"]
        np.testing.assert_allclose(rows["mstar"], mstar, atol=1e-3)
        np.testing.assert_array_equal(
            rows["near_mstar"], np.abs(rows["mag"] - mstar) <= entry["window_mag"])
        # the derived columns follow from the stored densities
        pop, err = np.asarray(rows["pop_phi"]), np.asarray(rows["pop_err"])
        np.testing.assert_allclose(rows["deviation"],
                                   (pop - rows["gama_phi"]) / rows["gama_err"], rtol=1e-9)
        with np.errstate(divide="ignore"):  # a bright bin may hold no simulated galaxy
            np.testing.assert_allclose(rows["log_ratio"], np.log10(pop / rows["gama_phi"]),
                                       rtol=1e-9)
        empty = rows["pop_n"] == 0
        assert np.all(pop[empty] == 0) and np.all(err[empty] == 0)
        assert np.all(err[~empty] > 0)
        assert np.all(err <= pop)  # Poisson: sqrt(sum w^2) <= sum w
        assert not np.any(empty & rows["near_mstar"])

    summary = {row["band"]: row for row in summarize_lf_comparison(lf)}
    assert [row["band"] for row in entry["bands"]] == list(summary)
    for row in entry["bands"]:
        recomputed = summary[row["band"]]
        assert row["n_bins"] == recomputed["n_bins"] >= 6
        for key in ("mstar", "mag_min", "mag_max", "frac_1sigma", "frac_2sigma",
                    "frac_1sigma_total", "max_abs_log_ratio", "median_log_ratio"):
            assert row[key] == pytest.approx(float(recomputed[key]), abs=1e-4), (row["band"],
                                                                                 key)
    assert lumfunc.lf_report(lf, entry["population_sha256"], entry["file"]) == entry


def test_record_luminosity_functions(tmp_path):
    population = _exact_population()
    population["logmstar"] = 10.0
    report_path = tmp_path / "report.json"
    report_path.write_text(json.dumps({"seed": 1, "models": {"a": [1.5, None]}}, indent=1))
    lf_path = tmp_path / "lf.ecsv"
    entry = lumfunc.record_luminosity_functions(population, lf_path, report_path)
    report = json.loads(report_path.read_text())
    assert report["seed"] == 1 and report["models"] == {"a": [1.5, None]}
    assert report["luminosity_functions"] == entry
    assert [row["band"] for row in entry["bands"]] == ["r", "K"]
    assert entry["file"] == "lf.ecsv" and entry["window_mag"] == 2.0
    assert all(row["frac_1sigma"] == 1.0 for row in entry["bands"])
    lf = lumfunc.read_population_lf(lf_path)
    assert lf["pop_phi"].unit.is_equivalent(u.Mpc ** -3 / u.mag)
    np.testing.assert_allclose(lf["pop_phi"], lf["gama_phi"])
    assert lf.meta["population_sha256"] == entry["population_sha256"]
    with pytest.raises(FileExistsError, match="overwrite"):
        lumfunc.record_luminosity_functions(population, lf_path)
    population["weight"] *= 2
    again = lumfunc.record_luminosity_functions(population, lf_path, overwrite=True)
    assert again["bands"][0]["median_log_ratio"] == pytest.approx(np.log10(2), abs=1e-4)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
