"""The ``.smass`` accessor: tables in, masses with units, flags and provenance out."""

import astropy.units as u
import numpy as np
import pytest
from astropy.cosmology import Planck18
from astropy.table import MaskedColumn, QTable, Table
from astropy.utils.masked import Masked
from helpers import TOY_BANDS, toy_population

import astropy_smass
from astropy_smass.accessor import SmassAccessor
from astropy_smass.exceptions import ModelNotFoundError, SmassError
from astropy_smass.flags import OUT_OF_DOMAIN, SmassFlag, SmassWarning
from astropy_smass.massscale import IMFS, MASS_DEFINITIONS, SYSTEMATIC_DEX
from astropy_smass.model import registry as registry_module
from astropy_smass.photometry.bands import BANDS, BandColumnError
from astropy_smass.pipeline import OUTPUT_COLUMNS, predict_table


def _table(mags, cls=Table, errors=0.05, prefix="absmag_"):
    table = cls()
    for k, band in enumerate(TOY_BANDS):
        table[f"{prefix}{band}"] = mags[:, k] * u.mag
        if errors is not None:
            table[f"{prefix}{band}_err"] = np.full(len(mags), errors) * u.mag
    return table


@pytest.fixture(scope="module")
def mags():
    return toy_population(60, seed=40)[0]


@pytest.fixture
def bundled(toy_model, toy_gri_model, tmp_path, monkeypatch):
    """The two toy models as the package's bundled models."""
    folder = tmp_path / "models"
    toy_model.save(folder)
    toy_gri_model.save(folder)
    monkeypatch.setattr(registry_module, "_bundled_dir", lambda: folder)
    return folder


class MyTable(Table):
    pass


@pytest.mark.parametrize("cls", [Table, QTable, MyTable])
def test_every_table_class_has_the_accessor(cls, mags):
    table = _table(mags[:3], cls)
    assert isinstance(table.smass, SmassAccessor)
    assert cls.smass is SmassAccessor
    assert table.smass.bands() == {b: f"absmag_{b}" for b in TOY_BANDS}


@pytest.mark.parametrize("cls", [Table, QTable])
def test_predict_matches_the_model(cls, toy_model, mags):
    table = _table(mags, cls)
    result = table.smass.predict(toy_model)
    direct = toy_model.predict_magnitudes(mags, np.full_like(mags, 0.05),
                                          uncertainty="analytic")
    assert isinstance(result, QTable) and len(result) == len(table)
    assert result["logmstar"].unit == u.dex(u.Msun)
    assert result["logmstar_err"].unit == u.dex and result["logmstar_err_phot"].unit == u.dex
    np.testing.assert_allclose(result["logmstar"].value, direct["logmstar"], rtol=1e-12)
    np.testing.assert_allclose(result["logmstar_err_phot"].value, direct["logmstar_err_phot"],
                               rtol=1e-12)
    # Photometric, intrinsic (0.1 dex for the toy) and systematic parts in quadrature.
    np.testing.assert_allclose(
        result["logmstar_err"].value,
        np.sqrt(direct["logmstar_err_phot"] ** 2 + 0.1 ** 2 + SYSTEMATIC_DEX ** 2), rtol=1e-12)
    good = np.isfinite(result["logmstar"].value)
    np.testing.assert_array_equal(np.isfinite(result["logmstar_err_sys"].value), good)
    np.testing.assert_allclose(result["logmstar_err_sys"][good].value, SYSTEMATIC_DEX)
    np.testing.assert_array_equal(result["smass_flag"], direct["flags"])
    assert "smass_model" not in result.colnames
    assert result.meta["smass_model"] == "toy"
    assert result.meta["smass_uncertainty"] == "analytic"
    assert result.meta["smass_band_columns"] == {b: f"absmag_{b}" for b in TOY_BANDS}
    assert result.meta["smass_error_columns"] == {b: f"absmag_{b}_err" for b in TOY_BANDS}
    for name in result.colnames:
        description, ucd = OUTPUT_COLUMNS[name]
        assert result[name].info.description.startswith(description)
        assert result[name].info.meta["ucd"] == ucd
    for name in ("logmstar", "logmstar_err_sys"):
        assert "Chabrier (2003) IMF" in result[name].info.description
        assert "living stars + stellar remnants" in result[name].info.description
    assert result.meta["smass_imf"] == "Chabrier (2003)"
    assert result.meta["smass_mass_definition"] == ("current stellar mass: living stars + "
                                                    "stellar remnants")
    assert result.meta["smass_systematic_dex"] == SYSTEMATIC_DEX
    # The model's own predict is the same thing.
    np.testing.assert_array_equal(predict_table(table, toy_model)["logmstar"], result["logmstar"])


def test_rows_keep_their_order(toy_model, mags):
    order = np.random.default_rng(0).permutation(len(mags))
    forward = _table(mags).smass.predict(toy_model)
    shuffled = _table(mags[order]).smass.predict(toy_model)
    np.testing.assert_array_equal(shuffled["logmstar"], forward["logmstar"][order])


def test_no_error_columns_still_an_uncertainty(toy_model, mags):
    # The default gives every row with a mass an uncertainty: intrinsic and systematic.
    table = _table(mags, errors=None)
    table["absmag_u"][3] = np.nan
    result = table.smass.predict(toy_model)
    assert result.colnames == ["logmstar", "logmstar_err", "logmstar_err_sys", "smass_flag"]
    has_mass = np.isfinite(result["logmstar"].value)
    assert has_mass.sum() >= 50 and not has_mass[3]
    np.testing.assert_array_equal(np.isfinite(result["logmstar_err"].value), has_mass)
    np.testing.assert_allclose(result["logmstar_err"][has_mass].value,
                               np.hypot(toy_model.intrinsic_scatter, SYSTEMATIC_DEX))
    assert result.meta["smass_uncertainty"].startswith("intrinsic+systematic")
    # Asked to propagate errors it does not have: a warning, and a zero photometric part.
    with pytest.warns(SmassWarning, match="no photometric error columns"):
        result = _table(mags, errors=None).smass.predict(toy_model, uncertainty="analytic")
    good = np.isfinite(result["logmstar"])
    np.testing.assert_allclose(result["logmstar_err_phot"][good].value, 0.0)
    np.testing.assert_allclose(result["logmstar_err"][good].value,
                               np.hypot(toy_model.intrinsic_scatter, SYSTEMATIC_DEX))


@pytest.mark.parametrize("none", [None, "none", "None"])
def test_uncertainty_none(toy_model, mags, none):
    result = _table(mags).smass.predict(toy_model, uncertainty=none)
    assert result.colnames == ["logmstar", "smass_flag"]
    assert result.meta["smass_uncertainty"] == "none"
    assert "smass_systematic_dex" not in result.meta


def test_systematic_can_be_left_out(toy_model, mags):
    result = _table(mags, errors=None).smass.predict(toy_model, systematic=0)
    good = np.isfinite(result["logmstar"])
    np.testing.assert_allclose(result["logmstar_err"][good].value, toy_model.intrinsic_scatter)
    np.testing.assert_array_equal(result["logmstar_err_sys"][good].value, 0.0)
    result = _table(mags, errors=None).smass.predict(toy_model, systematic=0.2 * u.dex)
    np.testing.assert_allclose(result["logmstar_err_sys"][good].value, 0.2)
    with pytest.raises(ValueError, match="systematic must be"):
        _table(mags).smass.predict(toy_model, systematic=-1)


@pytest.mark.parametrize("imf, shift", [("salpeter", np.log10(1 / 0.61)),
                                        ("kroupa", np.log10(0.66 / 0.61)),
                                        ("diet-salpeter", np.log10(0.70 / 0.61)),
                                        ("Chabrier", 0.0)])
def test_imf_is_the_documented_constant_shift(toy_model, mags, imf, shift):
    base = _table(mags).smass.predict(toy_model)
    other = _table(mags).smass.predict(toy_model, imf=imf)
    assert IMFS[imf.lower()].offset_dex == pytest.approx(shift, abs=1e-15)
    good = np.isfinite(base["logmstar"].value)
    np.testing.assert_array_equal(np.isfinite(other["logmstar"].value), good)
    np.testing.assert_allclose(other["logmstar"][good].value - base["logmstar"][good].value,
                               shift, rtol=0, atol=1e-12)
    # An IMF is a convention: the uncertainty does not change.
    np.testing.assert_array_equal(other["logmstar_err"], base["logmstar_err"])
    label = IMFS[imf.lower()].label
    assert other.meta["smass_imf"] == label
    assert f"{label} IMF" in other["logmstar"].info.description
    assert other.meta["smass_scale_offset_dex"] == pytest.approx(shift, abs=1e-15)


def test_living_mass_definition(toy_model, mags):
    base = _table(mags).smass.predict(toy_model)
    living = _table(mags).smass.predict(toy_model, mass_definition="living", imf="kroupa")
    definition = MASS_DEFINITIONS["living"]
    good = np.isfinite(base["logmstar"].value)
    np.testing.assert_allclose(living["logmstar"][good].value - base["logmstar"][good].value,
                               definition.offset_dex + IMFS["kroupa"].offset_dex, atol=1e-12)
    # The spread of the living/current ratio over galaxies joins the systematic term.
    sys = np.hypot(SYSTEMATIC_DEX, definition.scatter_dex)
    np.testing.assert_allclose(living["logmstar_err_sys"][good].value, sys)
    assert "living stars only" in living["logmstar"].info.description
    with pytest.raises(ValueError, match="unknown mass_definition 'formed'"):
        _table(mags).smass.predict(toy_model, mass_definition="formed")
    with pytest.raises(ValueError, match="unknown imf 'top-heavy'; choose one of chabrier"):
        _table(mags).smass.predict(toy_model, imf="top-heavy")


def test_masked_nan_and_sentinel_rows(toy_model, mags):
    table = _table(mags[:8])
    table["absmag_u"] = MaskedColumn(table["absmag_u"], mask=[0, 1, 0, 0, 0, 0, 0, 0])
    table["absmag_g"][2] = np.nan
    table["absmag_r"][3] = -999.0
    table["absmag_i"][4] = 99.0
    table["absmag_z_err"][5] = np.nan
    result = table.smass.predict(toy_model)
    flags = np.asarray(result["smass_flag"])
    assert flags[1] & SmassFlag.MISSING_BAND and flags[3] & SmassFlag.MISSING_BAND
    assert flags[4] & SmassFlag.MISSING_BAND and flags[2] & SmassFlag.NONFINITE
    assert flags[5] == SmassFlag.BAD_ERROR
    assert np.isnan(result["logmstar"][1:5].value).all()
    # A bad error loses the photometric part of the uncertainty, not the mass nor the rest.
    assert np.isfinite(result["logmstar"][5].value) and np.isnan(result["logmstar_err_phot"][5])
    assert result["logmstar_err"][5].value == pytest.approx(
        np.hypot(toy_model.intrinsic_scatter, SYSTEMATIC_DEX))
    clean = _table(mags[:8]).smass.predict(toy_model)
    keep = [0, 5, 6, 7]
    np.testing.assert_array_equal(result["logmstar"][keep], clean["logmstar"][keep])


def test_qtable_with_ab_magnitudes_and_masked_quantities(toy_model, mags):
    table = QTable()
    for k, band in enumerate(TOY_BANDS):
        table[band] = Masked(mags[:6, k] * u.ABmag, mask=np.arange(6) == k)
    result = table.smass.predict(toy_model)
    flags = np.asarray(result["smass_flag"])
    np.testing.assert_array_equal(flags[:5], SmassFlag.MISSING_BAND)
    assert flags[5] == 0
    expected = toy_model.predict_magnitudes(mags[5:6])["logmstar"]
    np.testing.assert_allclose(result["logmstar"][5].value, expected[0], rtol=1e-12)


def test_empty_table(toy_model, bundled, mags):
    for model in (toy_model, "auto"):
        result = _table(mags[:0]).smass.predict(model)
        assert len(result) == 0
        assert {"logmstar", "logmstar_err", "smass_flag"} <= set(result.colnames)
        assert result["logmstar"].unit == u.dex(u.Msun)
    assert len(_table(mags[:0]).smass.stellar_mass(toy_model)) == 0


def test_out_of_domain(toy_model, mags):
    shifted = mags[:4].copy()
    shifted[0] += 9.0  # far fainter than anything in training
    shifted[1, 0] -= 4.0  # a very blue u-g colour
    result = _table(shifted).smass.predict(toy_model)
    flags = np.asarray(result["smass_flag"])
    assert flags[0] & SmassFlag.OUT_OF_RANGE and flags[1] & SmassFlag.OUT_OF_RANGE
    assert np.isnan(result["logmstar"][:2].value).all()
    assert np.isfinite(result["logmstar"][2:].value).all()
    kept = _table(shifted).smass.predict(toy_model, exclude_out_of_domain=False)
    np.testing.assert_array_equal(kept["smass_flag"], flags)
    network = toy_model.network.predict(toy_model.features_from_magnitudes(shifted))
    # inputs centred in float32 in the fused pass (tests/test_magnitude_pass.py)
    np.testing.assert_allclose(kept["logmstar"].value, network, rtol=0, atol=1e-5)
    assert kept.meta["smass_out_of_domain"] == "kept (flagged)"


def test_stellar_mass(toy_model, mags):
    table = _table(mags[:5])
    table["absmag_r"][2] = -999.0
    mass = table.smass.stellar_mass(toy_model)
    assert isinstance(mass, Masked) and isinstance(mass, u.Quantity)
    assert mass.unit == u.Msun
    np.testing.assert_array_equal(mass.mask, [False, False, True, False, False])
    logm = table.smass.predict(toy_model)["logmstar"]
    expected = logm.physical.to_value(u.Msun)  # astropy's own dex -> linear conversion
    good = ~mass.mask
    np.testing.assert_allclose(mass.unmasked[good].value, expected[good], rtol=1e-12)


@pytest.mark.parametrize("cls", [Table, QTable])
def test_annotate(cls, toy_model, mags):
    table = _table(mags[:5], cls)
    original = table.colnames
    same = table.smass.annotate(toy_model)
    assert same is table
    new = ["logmstar", "logmstar_err", "logmstar_err_phot", "logmstar_err_sys", "smass_flag"]
    assert table.colnames == original + new
    assert table["logmstar"].unit == u.dex(u.Msun)
    assert table["logmstar_err"].unit == u.dex
    for name in new:
        description, ucd = OUTPUT_COLUMNS[name]
        assert table[name].info.description.startswith(description)
        assert table[name].info.meta["ucd"] == ucd
    expected = predict_table(table, toy_model)["logmstar"]
    np.testing.assert_array_equal(table["logmstar"].value, expected.value)
    assert table.meta["smass_model"] == "toy"
    with pytest.raises(ValueError, match="already has columns logmstar, logmstar_err"):
        table.smass.annotate(toy_model)
    table.smass.annotate(toy_model, overwrite=True)
    assert table.colnames == original + new
    table.smass.annotate(toy_model, prefix="nn_")
    assert "nn_logmstar" in table.colnames and "nn_smass_flag" in table.colnames
    assert table["nn_logmstar"].info.meta["ucd"] == "phys.mass"


# The VOTable writer cannot express a logarithmic unit (W50): not what is tested here.
@pytest.mark.filterwarnings("ignore:.*W50")
def test_annotated_table_writes_ucds_to_votable(toy_model, mags, tmp_path):
    from astropy.io.votable import parse_single_table

    table = _table(mags[:3])
    table.smass.annotate(toy_model)
    table.meta.clear()  # provenance dicts are not VOTable parameters
    path = tmp_path / "out.xml"
    table.write(path, format="votable")
    fields = {f.name: f for f in parse_single_table(str(path)).fields}
    assert fields["logmstar"].ucd == "phys.mass"
    assert fields["smass_flag"].ucd == "meta.code.qual"


def test_no_band_columns(toy_model, bundled):
    table = Table({"ra": [1.0, 2.0], "dec": [3.0, 4.0]})
    with pytest.raises(BandColumnError, match="no model can use this table.*recognised bands "
                                              "none.*toy: u g r i z"):
        table.smass.predict()
    with pytest.raises(BandColumnError, match="model 'toy' needs bands u, g, r, i, z"):
        table.smass.predict(toy_model)


def test_missing_band_for_explicit_model(toy_model, mags):
    table = _table(mags[:3])
    del table["absmag_z"]
    with pytest.raises(BandColumnError, match=r"'toy' needs bands z.*absmag_u.*columns="):
        table.smass.predict(toy_model)


def test_unknown_model_name(bundled, mags):
    with pytest.raises(ValueError, match="unknown model 'nonesuch'; available: toy, toy_gri"):
        _table(mags[:3]).smass.predict("nonesuch")


def test_bad_inputs(toy_model, mags):
    with pytest.raises(TypeError, match="expected an astropy Table, got dict"):
        astropy_smass.predict_table({"r": [1.0]}, toy_model)
    table = _table(mags[:3])
    with pytest.raises(BandColumnError, match="column 'r_typo' given for band 'r'"):
        table.smass.predict(toy_model, columns={"r": "r_typo"})
    table["absmag_r"] = ["a", "b", "c"]
    with pytest.raises(BandColumnError, match="column 'absmag_r' holds"):
        table.smass.predict(toy_model)
    table = _table(mags[:3])
    table["absmag_g"].unit = None
    with pytest.raises(BandColumnError, match="column 'absmag_g' \\(band g\\) has no unit"):
        table.smass.predict(toy_model)
    np.testing.assert_array_equal(table.smass.predict(toy_model, units={"g": "mag"})["logmstar"],
                                  _table(mags[:3]).smass.predict(toy_model)["logmstar"])


def test_auto_picks_a_model_per_row(toy_model, toy_gri_model, toy_ugz_model, bundled, mags):
    toy_ugz_model.save(bundled)
    table = _table(mags[:10])
    no_r = np.arange(10) % 3 == 0
    table["absmag_r"] = MaskedColumn(table["absmag_r"], mask=no_r)
    table["absmag_g"][9] = -999.0  # no model without g
    no_r[9] = False
    result = table.smass.predict()
    # Fewest bands first (ties by name): the five-band model is never needed.
    assert result.meta["smass_models"] == ["toy_gri", "toy_ugz", "toy"]
    np.testing.assert_array_equal(result["smass_model"][no_r], "toy_ugz")
    np.testing.assert_array_equal(result["smass_model"][~no_r], "toy_gri")
    assert result.meta["smass_model"] == "auto"
    errors = np.full((10, 3), 0.05)
    for model, rows in ((toy_gri_model, ~no_r & (np.arange(10) != 9)), (toy_ugz_model, no_r)):
        cols = [TOY_BANDS.index(b) for b in model.bands]
        alone = model.predict_magnitudes(mags[:10, cols], errors, "analytic")
        np.testing.assert_allclose(result["logmstar"][rows].value, alone["logmstar"][rows],
                                   rtol=1e-12)
        np.testing.assert_allclose(result["logmstar_err_phot"][rows].value,
                                   alone["logmstar_err_phot"][rows], rtol=1e-12)
    assert result["smass_flag"][9] & SmassFlag.MISSING_BAND
    assert np.isnan(result["logmstar"][9])
    # Without u at all, the gri model serves every row and is named in the metadata.
    del table["absmag_u"], table["absmag_u_err"]
    only = table.smass.predict()
    assert only.meta["smass_model"] == "toy_gri" and "smass_model" not in only.colnames


def test_auto_does_not_hand_an_out_of_domain_galaxy_to_a_bigger_model(
        toy_model, toy_gri_model, bundled, mags):
    # Galaxies scattered about the toy population: some leave the gri model's domain
    # while the ugriz model, with its looser distance limit, would still take them.
    rng = np.random.default_rng(0)
    table = _table(np.repeat(mags, 20, axis=0) + rng.normal(0.0, 0.03, (20 * len(mags), 5)))
    gri = table.smass.predict(toy_gri_model)
    bigger = table.smass.predict(toy_model)
    rescuable = ((np.asarray(gri["smass_flag"]) & OUT_OF_DOMAIN) != 0) & np.isfinite(
        bigger["logmstar"].value)
    assert rescuable.any()
    result = table.smass.predict()
    np.testing.assert_array_equal(result["smass_model"], "toy_gri")
    np.testing.assert_array_equal(result["logmstar"].value, gri["logmstar"].value)
    np.testing.assert_array_equal(result["smass_flag"], gri["smass_flag"])


def test_explicit_model_ignores_clashes_in_other_bands(toy_model, bundled, mags):
    table = _table(mags[:3])
    table["W1"] = [1.0, 2.0, 3.0] * u.mag
    table["w1mpro"] = [1.0, 2.0, 3.0] * u.mag
    assert np.isfinite(table.smass.predict(toy_model)["logmstar"].value).all()
    with pytest.raises(BandColumnError, match="band 'W1' is ambiguous"):
        table.smass.predict()


def test_apparent_photometry_with_redshift_column_named_z(toy_model, mags):
    """ECO-like apparent magnitudes beside a redshift column called ``z``."""
    redshift = np.linspace(0.01, 0.08, len(mags))
    modulus = Planck18.distmod(redshift).to_value(u.mag)
    table = Table({f"{b}mag": (mags[:, k] + modulus) * u.mag for k, b in enumerate(TOY_BANDS)})
    table["z"] = redshift
    result = table.smass.predict(toy_model, redshift="z")
    assert result.meta["smass_band_columns"]["z"] == "zmag"
    assert result.meta["smass_cosmology"] == "Planck18"
    expected = _table(mags, errors=None).smass.predict(toy_model)["logmstar"]
    np.testing.assert_allclose(result["logmstar"].value, expected.value, atol=1e-9)


def test_fluxes_in_mjy(toy_model, mags):
    """H-ATLAS-like flux densities in mJy, errors in mJy, and a redshift column."""
    redshift = np.linspace(0.01, 0.09, len(mags))
    modulus = Planck18.distmod(redshift).to_value(u.mag)
    table = Table({"redshift": redshift})
    for k, band in enumerate(TOY_BANDS):
        flux = ((mags[:, k] + modulus) * u.ABmag).to(u.mJy)
        table[f"{band}_prime"] = flux
        table[f"{band}_prime_err"] = 0.02 * flux
    result = table.smass.predict(toy_model, redshift="redshift")
    expected = toy_model.predict_magnitudes(mags, np.full_like(mags, 0.02 * 2.5 / np.log(10)),
                                            uncertainty="analytic")
    np.testing.assert_allclose(result["logmstar"].value, expected["logmstar"], atol=1e-9)
    np.testing.assert_allclose(result["logmstar_err_phot"].value,
                               expected["logmstar_err_phot"], rtol=1e-9)
    table["redshift"][0] = np.nan
    flagged = table.smass.predict(toy_model, redshift="redshift")
    assert flagged["smass_flag"][0] & SmassFlag.NO_DISTANCE
    assert np.isnan(flagged["logmstar"][0])


def test_vega_magnitudes(toy_model, mags):
    from astropy_smass.model.features import default_features

    # The toy network with its z band relabelled as 2MASS Ks (a Vega band): the feature
    # layout is the same, so it must give the toy model's masses for Ks = z_AB in AB.
    bands = ["u", "g", "r", "i", "Ks_2MASS"]
    vega_model = toy_model.replace(name="toy_vega", bands=bands,
                                   features=default_features(bands))
    table = _table(mags[:8], errors=None)
    table["Ks_2mass"] = table["absmag_z"] - BANDS["Ks_2MASS"].vega_to_ab * u.mag
    del table["absmag_z"]
    result = table.smass.predict(vega_model, vega=["Ks"])
    expected = toy_model.predict_magnitudes(mags[:8])["logmstar"]
    np.testing.assert_allclose(result["logmstar"].value, expected, atol=1e-9)
    as_ab = table.smass.predict(vega_model)["logmstar"].value
    assert not np.allclose(as_ab, expected, atol=1e-3, equal_nan=True)


def test_monte_carlo_through_the_accessor(toy_model, mags):
    table = _table(mags[:20])
    first = table.smass.predict(toy_model, uncertainty="montecarlo", n_draws=50, seed=5)
    again = table.smass.predict(toy_model, uncertainty="montecarlo", n_draws=50, seed=5)
    np.testing.assert_array_equal(first["logmstar_err"], again["logmstar_err"])
    assert first.meta["smass_mc"] == {"n_draws": 50, "seed": 5}
    with pytest.raises(ValueError, match="uncertainty must be"):
        table.smass.predict(toy_model, uncertainty="bootstrap")


def test_saliency(toy_model, mags):
    table = _table(mags[:6])
    table["absmag_r"][1] = -999.0
    saliency = table.smass.saliency(toy_model)
    assert saliency.colnames == toy_model.features and len(saliency) == 6
    assert saliency["g-r"].unit == u.dex
    assert np.isnan(saliency[1]["r"].value)
    assert np.isfinite(np.asarray([saliency[f][0].value for f in toy_model.features])).all()
    assert saliency.meta["smass_model"] == "toy"


def test_no_models_installed(monkeypatch, tmp_path, mags):
    monkeypatch.setattr(registry_module, "_bundled_dir", lambda: tmp_path / "none")
    # A missing model, not a problem with the table's columns.
    with pytest.raises(ModelNotFoundError, match="no stellar-mass models are installed") as info:
        _table(mags[:3]).smass.predict()
    assert not isinstance(info.value, BandColumnError)
    assert isinstance(info.value, SmassError)


@pytest.mark.parametrize("unit", [None, "dex", u.dex(u.Msun), u.Msun, u.kg])
def test_reference_log_mass(unit):
    from astropy_smass.pipeline import reference_log_mass

    logm = np.array([9.5, 10.0, 11.2])
    if unit in (u.Msun, u.kg):
        values = (10 ** logm * u.Msun).to_value(unit)
    else:
        values = logm
    table = Table({"ref": MaskedColumn(values, mask=[False, True, False], unit=unit)})
    result = reference_log_mass(table, "ref")
    np.testing.assert_allclose(result[[0, 2]], logm[[0, 2]], rtol=1e-12)
    assert np.isnan(result[1])
    table["ref"].unit = "km"
    with pytest.raises(BandColumnError, match="reference column 'ref' has unit km"):
        reference_log_mass(table, "ref")


def test_single_row_and_row_slices(toy_model, mags):
    table = _table(mags[:9])
    whole = table.smass.predict(toy_model)
    for k in range(len(table)):
        row = table[k:k + 1].smass.predict(toy_model)
        assert len(row) == 1
        np.testing.assert_allclose(row["logmstar"].value, whole["logmstar"][k:k + 1].value,
                                   rtol=1e-13)
        np.testing.assert_allclose(row["logmstar_err"].value,
                                   whole["logmstar_err"][k:k + 1].value, rtol=1e-12)
