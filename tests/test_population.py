"""Tests of the simulated training population (needs the optional Bagpipes)."""

import json
import warnings

import astropy.units as u
import numpy as np
import pytest

pytest.importorskip("bagpipes")
pytest.importorskip("sedpy")

from astropy_smass.training import population as pop_mod  # noqa: E402
from astropy_smass.training.population import (  # noqa: E402
    BAND_FILTERS,
    DEFAULT_PRIORS,
    FILTER_CURVES,
    GENERATOR_VERSION,
    OBSERVED_PREFIX,
    add_filters,
    age_of_universe,
    draw_parameters,
    generate_population,
    gsmf,
    load_or_generate_population,
    passive_fraction,
    read_gsmf,
    remnant_mass_fraction,
)

N = 200
SEED = 7


@pytest.fixture(scope="module")
def population():
    return generate_population(N, seed=SEED, n_workers=1)


@pytest.fixture(scope="module")
def parameters():
    return draw_parameters(20000, seed=3)


def test_deterministic_across_workers(population):
    other = generate_population(N, seed=SEED, n_workers=2)
    assert other.colnames == population.colnames
    for name in population.colnames:
        np.testing.assert_array_equal(np.asarray(other[name]), np.asarray(population[name]),
                                      err_msg=name)
    assert other.meta == population.meta


def test_seed_changes_population(population):
    other = draw_parameters(N, seed=SEED + 1)
    assert not np.allclose(other["logmstar"], population["logmstar"])


def test_columns_units_and_meta(population):
    assert len(population) == N
    for band in BAND_FILTERS:
        assert population[band].unit == u.mag
        assert np.all(np.isfinite(population[band]))
    for name in ["logmstar", "logmstar_kroupa", "logmstar_living_kroupa", "logmformed_kroupa",
                 "logsfr", "logssfr", "weight", "passive", "age", "tau", "logzsol", "av",
                 "logu", "mass_weighted_age"]:
        assert name in population.colnames
    assert population["weight"].unit == u.Mpc ** -3
    assert population["age"].unit == u.Gyr
    meta = population.meta
    assert meta["generator_version"] == GENERATOR_VERSION
    assert meta["seed"] == SEED and meta["n"] == N
    assert meta["magnitude_system"] == "AB"
    assert meta["band_filters"] == BAND_FILTERS
    assert meta["priors"] == json.loads(json.dumps(DEFAULT_PRIORS))
    json.dumps(meta)  # JSON-serialisable


def test_band_filters_match_package_registry():
    bands = pytest.importorskip("astropy_smass.photometry.bands")
    assert {k: b.filter_id for k, b in bands.BANDS.items()} == BAND_FILTERS


def test_mass_bookkeeping(population):
    # formed > current (living + remnants) > living, Kroupa heavier than Chabrier
    assert np.all(population["logmformed_kroupa"] > population["logmstar_kroupa"])
    assert np.all(population["logmstar_kroupa"] > population["logmstar_living_kroupa"])
    np.testing.assert_allclose(population["logmstar_kroupa"] - population["logmstar"],
                               -pop_mod.KROUPA_TO_CHABRIER_DEX)
    assert np.all((population["logmstar"] >= 7.0) & (population["logmstar"] <= 12.0))


def test_ssfr_matches_drawn_target(population):
    diff = population["logssfr"] - population["logssfr_target"]
    assert np.median(np.abs(diff)) < 0.05


def test_passive_fraction_rises_with_mass(parameters, population):
    local = np.asarray(parameters["redshift"]) < 0.1
    logm = np.asarray(parameters["logmstar"])[local]
    passive = np.asarray(parameters["passive"])[local]
    edges = [7.0, 8.5, 9.5, 10.0, 10.5, 11.0, 12.0]
    frac = [passive[(logm >= a) & (logm < b)].mean() for a, b in zip(edges[:-1], edges[1:])]
    assert np.all(np.diff(frac) > 0)
    assert frac[0] < 0.2 and frac[-1] > 0.85
    centres = 0.5 * (np.array(edges[:-1]) + np.array(edges[1:]))
    np.testing.assert_allclose(frac, passive_fraction(centres), atol=0.1)
    # passive galaxies are more massive and have lower sSFR in the photometric sample too
    p = np.asarray(population["passive"])
    assert population["logmstar"][p].mean() > population["logmstar"][~p].mean()
    assert np.median(population["logssfr"][p]) < np.median(population["logssfr"][~p]) - 1


def test_colours_sensible(population):
    # The local galaxies: at z ~ 1 the main sequence's young, metal-poor dwarfs are bluer.
    local = population[np.asarray(population["redshift"]) < 0.3]

    def colour(a, b):
        return np.asarray(local[a] - local[b])

    gr = colour("g", "r")
    assert np.mean((gr > 0.0) & (gr < 1.2)) > 0.95
    fuv_nuv = colour("FUV", "NUV")
    assert np.mean((fuv_nuv > -0.5) & (fuv_nuv < 3.5)) > 0.95
    rk = colour("r", "K")
    assert np.mean((rk > -0.7) & (rk < 2.5)) > 0.95
    # 2MASS and VISTA K-band magnitudes of the same galaxy agree closely
    assert np.all(np.abs(colour("K", "Ks_2MASS")) < 0.1)
    # passive galaxies are redder than star-forming ones
    p = np.asarray(local["passive"])
    assert np.median(gr[p]) > np.median(gr[~p]) + 0.1
    assert np.median(colour("NUV", "r")[p]) > np.median(colour("NUV", "r")[~p]) + 1.0


def test_old_population_mass_to_light():
    # 10 Gyr old delayed-tau (tau = 0.5 Gyr), solar metallicity, no dust
    row = dict(age=10.0, tau=0.5, logzsol=0.0, av=0.0, logu=-3.0, qpah=2.0, umin=1.0,
               gamma=0.01, redshift=0.0)
    worker = pop_mod._Worker(pop_mod._components(row, DEFAULT_PRIORS))
    out = worker.run({k: np.array([v]) for k, v in row.items()}, DEFAULT_PRIORS)
    current = out["living"][0] + out["remnant"][0]
    assert 0.55 < current / out["formed"][0] < 0.65
    mags = dict(zip(FILTER_CURVES, out["mags"][0] - 2.5 * (10.0 - np.log10(current))))
    # at z = 0 the observed frame is the rest frame
    np.testing.assert_allclose(out["obs_mags"], out["mags"], atol=1e-9)
    # M/L_i in solar units for Kroupa living + remnant mass (M_i,sun = 4.53 AB)
    ml_i = 1e10 / 10 ** (-0.4 * (mags["i"] - 4.53))
    assert 1.5 < ml_i < 3.5
    assert -19.6 < mags["r"] < -18.5
    assert 0.7 < mags["g"] - mags["r"] < 0.9


def test_remnant_mass_fraction():
    assert remnant_mass_fraction(1.0) == pytest.approx(0.0, abs=1e-6)
    frac = remnant_mass_fraction(np.array([0.9, 0.7, 0.46]))
    assert np.all(np.diff(frac) > 0)
    # at 10 Gyr (living fraction 0.46) remnants hold ~14% of the formed mass
    assert 0.10 < frac[-1] < 0.18


def test_gsmf_fit_matches_gama():
    data = read_gsmf()
    sel = (data["logmstar"] >= 8.0) & (data["logmstar"] <= 11.5)
    resid = np.log10(gsmf(data["logmstar"][sel])) - data["log_phi"][sel]
    assert np.max(np.abs(resid)) < 0.15
    assert np.median(np.abs(resid / data["log_phi_err"][sel])) < 1.5


def test_weights_reproduce_gsmf(parameters):
    logm = np.asarray(parameters["logmstar"])
    w = u.Quantity(parameters["weight"]).to_value(u.Mpc ** -3)
    edges = np.arange(7.0, 12.01, 0.5)
    phi, _ = np.histogram(logm, edges, weights=w)
    err = np.sqrt(np.histogram(logm, edges, weights=w ** 2)[0])
    expected = [np.trapezoid(gsmf(np.linspace(a, b, 201)), np.linspace(a, b, 201))
                for a, b in zip(edges[:-1], edges[1:])]
    assert np.all(np.abs(phi - expected) < 4 * err)


def test_input_validation(tmp_path):
    with pytest.raises(ValueError, match="n must"):
        generate_population(0)
    with pytest.raises(ValueError, match="n_workers"):
        generate_population(5, n_workers=0)
    with pytest.raises(ValueError, match="seed"):
        generate_population(5, seed=-1)
    with pytest.raises(ValueError, match="hdf5"):
        load_or_generate_population(tmp_path / "pop.fits", 5)


def test_load_or_generate_population(tmp_path, monkeypatch):
    pytest.importorskip("h5py")
    path = tmp_path / "cache" / "pop.hdf5"
    first = load_or_generate_population(path, n=12, seed=1, n_workers=1)
    assert path.exists()
    assert [p.name for p in path.parent.iterdir()] == ["pop.hdf5"]  # no temp file left

    def fail(*args, **kwargs):
        raise AssertionError("should have read the cache")

    monkeypatch.setattr(pop_mod, "generate_population", fail)
    again = load_or_generate_population(path, n=12, seed=1)
    for name in first.colnames:
        np.testing.assert_array_equal(np.asarray(again[name]), np.asarray(first[name]))
    assert again.meta["priors"] == first.meta["priors"]
    monkeypatch.undo()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        other = load_or_generate_population(path, n=12, seed=2, n_workers=1)
    assert any("regenerating" in str(w.message) for w in caught)
    assert other.meta["seed"] == 2
    assert load_or_generate_population(path, n=12, seed=2).meta["seed"] == 2


def test_redshifts_and_ages(parameters):
    z = np.asarray(parameters["redshift"])
    p = DEFAULT_PRIORS["redshift"]
    assert z.min() >= 0 and z.max() <= p["z_max"]
    # the documented proposal: local_fraction below local_z_max plus a uniform part
    expected_local = p["local_fraction"] + (1 - p["local_fraction"]) * p["local_z_max"] / p[
        "z_max"]
    assert abs(np.mean(z < p["local_z_max"]) - expected_local) < 0.02
    # no galaxy is older than the universe at its redshift
    assert np.all(np.asarray(parameters["age"]) <= age_of_universe(z))


def test_main_sequence_evolves(parameters):
    z = np.asarray(parameters["redshift"])
    sf = ~np.asarray(parameters["passive"])
    ssfr = np.asarray(parameters["logssfr_target"])
    logm = np.asarray(parameters["logmstar"])
    sel = sf & (logm > 9.5) & (logm < 10.5)
    rise = np.median(ssfr[sel & (z > 0.9)]) - np.median(ssfr[sel & (z < 0.1)])
    # Speagle et al. (2014): about 1 dex from z = 0 to z = 1 at 1e10 Msun
    assert 0.8 < rise < 1.4
    # fewer passive galaxies at z ~ 1 than at z ~ 0 at fixed mass
    massive = (logm > 10.3) & (logm < 10.7)
    passive = np.asarray(parameters["passive"])
    assert passive[massive & (z > 0.9)].mean() < passive[massive & (z < 0.1)].mean() - 0.1


def test_observed_frame_columns(population):
    z = np.asarray(population["redshift"])
    for key in FILTER_CURVES:
        obs = population[OBSERVED_PREFIX + key]
        assert obs.unit == u.mag
        assert np.all(np.isfinite(obs))
    # K-correction of SDSS r: small at z < 0.02, positive for passive galaxies
    # at z ~ 0.5 (their 4000 A break has moved into r)
    k_r = np.asarray(population["obs_r"] - population["r"])
    assert np.all(np.abs(k_r[z < 0.02]) < 0.05)
    old = np.asarray(population["passive"]) & (z > 0.4) & (z < 0.6)
    if old.any():
        assert np.all((k_r[old] > 0.15) & (k_r[old] < 1.6))


def test_photometry_matches_sedpy():
    from sedpy import observate

    row = dict(age=3.0, tau=2.0, logzsol=-0.3, av=0.5, logu=-3.0, qpah=2.0, umin=1.0,
               gamma=0.01, redshift=0.0)
    worker = pop_mod._Worker(pop_mod._components(row, DEFAULT_PRIORS))
    worker.model.update(pop_mod._components(row, DEFAULT_PRIORS))
    spectrum = worker.model.spectrum_full[None, :]
    names = [c for c in FILTER_CURVES.values() if not c.startswith("speclite:")]
    sedpy_mags = np.atleast_2d(observate.getSED(
        worker.model.wavelengths, spectrum / (4 * np.pi * pop_mod._TEN_PC_CM ** 2),
        observate.load_filters(names)))
    ours = worker.photometer.magnitudes(spectrum, 0.0)
    index = [list(FILTER_CURVES.values()).index(n) for n in names]
    np.testing.assert_allclose(ours[:, index], sedpy_mags, atol=1e-3)


def test_add_filters_recomputes_the_same_galaxies(population):
    key = "r"
    again = add_filters(population[:20], {"r_again": FILTER_CURVES[key]}, n_workers=1)
    np.testing.assert_allclose(again["r_again"], population[key][:20], atol=1e-4)
    np.testing.assert_allclose(again["obs_r_again"], population["obs_r"][:20], atol=1e-4)
