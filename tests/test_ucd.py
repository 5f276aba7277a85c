"""Column recognition from UCDs, names and descriptions (astropy_smass.photometry.ucd)."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from astropy_smass import BandColumnError
from astropy_smass.io import read_table, write_table
from astropy_smass.photometry.ucd import (
    default_redshift,
    em_range,
    photometric_ucd,
    recognise_columns,
    redshift_column,
    ucd_atoms,
)


def _with_ucds(columns):
    """A table from ``{name: (values, unit, ucd, description)}``."""
    table = Table()
    for name, (values, unit, ucd, description) in columns.items():
        table[name] = values
        table[name].unit = unit
        if ucd:
            table[name].info.meta = {"ucd": ucd}
        table[name].info.description = description
    return table


def _sdss_style(n=3):
    """What an SDSS PhotoObj + SpecObj query returns: modelMag_*, errors, and z."""
    rng = np.random.default_rng(4)
    letters = {"u": "U", "g": "B", "r": "R", "i": "I", "z": "I"}
    columns = {"objid": (np.arange(n), None, "meta.id;meta.main", "object id")}
    for band, em in letters.items():
        columns[f"modelMag_{band}"] = (rng.uniform(15, 18, n), u.mag,
                                       f"phot.mag;em.opt.{em}", f"Model magnitude in {band}")
        columns[f"modelMagErr_{band}"] = (np.full(n, 0.02), u.mag,
                                          f"stat.error;phot.mag;em.opt.{em}",
                                          f"Error in modelMag_{band}")
    columns["z"] = (np.array([0.05, 0.07, 0.09][:n]), None, "src.redshift", "Final redshift")
    return _with_ucds(columns)


def test_ucd_parsing():
    assert ucd_atoms("phot.mag;em.opt.R;meta.main") == ["phot.mag", "em.opt.r", "meta.main"]
    assert ucd_atoms(None) == []
    assert photometric_ucd("phot.flux.density;em.IR.3-4um") == ("flux", "em.ir.3-4um", False)
    assert photometric_ucd("stat.error;phot.mag;em.opt.I") == ("apparent", "em.opt.i", True)
    assert photometric_ucd("phys.magAbs;em.opt.R") == ("absolute", "em.opt.r", False)
    assert photometric_ucd("phot.color;em.opt.U;em.opt.R") is None
    assert photometric_ucd("src.redshift") is None
    assert em_range("em.UV.100-200nm") == (1000.0, 2000.0)
    assert em_range("em.IR.J") == (10000, 15000)
    low, high = em_range("em.mm.400-750GHz")
    assert 3.9e6 < low < 4.1e6 and 7.4e6 < high < 7.6e6
    assert em_range("em.wl") is None


def test_sdss_style_columns_and_redshift():
    table = _sdss_style()
    found = recognise_columns(table)
    assert found.band_columns == {b: f"modelMag_{b}" for b in "ugriz"}
    assert found.error_columns == {b: f"modelMagErr_{b}" for b in "ugriz"}
    assert found.kinds == {b: "apparent" for b in "ugriz"}
    assert "z" in found.not_bands and "objid" in found.not_bands
    assert redshift_column(table) == "z"
    kwargs = default_redshift(table, {})
    assert kwargs["redshift"] == "z"
    assert table.meta["smass_redshift_column"] == "z"


def test_redshift_ucd_beats_the_name():
    # A lone "z" is the SDSS z band by name, but its UCD says it is a redshift.
    table = _with_ucds({
        "g": (np.array([17.0]), u.mag, "phot.mag;em.opt.B", ""),
        "r": (np.array([16.5]), u.mag, "phot.mag;em.opt.R", ""),
        "z": (np.array([0.05]), None, "src.redshift", "redshift"),
    })
    assert recognise_columns(table).band_columns == {"g": "g", "r": "r"}
    # Without UCDs the name rules of astropy_smass.bands apply unchanged.
    plain = Table({"g": [17.0], "r": [16.5], "z": [0.05]})
    assert recognise_columns(plain).band_columns == {"g": "g", "r": "r", "z": "z"}


def test_ucd_and_description_choose_the_band():
    table = _with_ucds({
        "mag1": (np.array([16.0]), u.mag, "phot.mag;em.opt.I", "SDSS z' magnitude (893 nm)"),
        "mag2": (np.array([16.2]), u.mag, "phot.mag;em.opt.I", "SDSS i' magnitude (748 nm)"),
        "flux_w1": (np.array([1.0]), u.mJy, "phot.flux.density;em.IR.3-4um", "WISE W1"),
        "kmag": (np.array([13.0]), u.mag, "phot.mag;em.IR.K", "2MASS Ks magnitude (Vega)"),
        "f_spire": (np.array([30.0]), u.mJy, "phot.flux.density;em.mm.750-1500GHz", "SPIRE"),
    })
    found = recognise_columns(table)
    assert found.band_columns == {"i": "mag2", "z": "mag1", "Ks_2MASS": "kmag", "W1": "flux_w1"}
    assert found.vega == ("Ks_2MASS",)  # described as Vega
    # A magnitude whose UCD range holds several bands and nothing else tells: not used.
    table = _with_ucds({"m": (np.array([16.0]), u.mag, "phot.mag;em.opt.I", "a magnitude")})
    found = recognise_columns(table)
    assert found.band_columns == {}
    assert {"i", "z", "Z", "decam_z", "hsc_z"} <= set(found.unresolved["m"])


def test_choice_among_several_columns_is_reported():
    table = _sdss_style()
    for family in ("petroMag", "cModelMag"):
        table[f"{family}_r"] = table["modelMag_r"] + 0.1
        table[f"{family}_r"].info.meta = {"ucd": "phot.mag;em.opt.R"}
    found = recognise_columns(table)
    assert found.band_columns["r"] == "cModelMag_r"
    choice = found.choices["r"]
    assert choice["column"] == "cModelMag_r"
    assert set(choice["candidates"]) == {"modelMag_r", "petroMag_r", "cModelMag_r"}
    assert "cModelMag > modelMag > petroMag" in choice["preference"]
    # columns= overrides; meta.main wins over the family order.
    assert recognise_columns(table, columns={"r": "petroMag_r"}).band_columns["r"] \
        == "petroMag_r"
    table["petroMag_r"].info.meta = {"ucd": "phot.mag;em.opt.R;meta.main"}
    assert recognise_columns(table).band_columns["r"] == "petroMag_r"


def test_choice_recorded_in_prediction_meta(toy_model):
    table = _sdss_style()
    table["petroMag_r"] = table["modelMag_r"] + 0.1
    table["petroMag_r"].info.meta = {"ucd": "phot.mag;em.opt.R"}
    result = table.smass.predict(toy_model, redshift="z")
    assert result.meta["smass_band_columns"]["r"] == "modelMag_r"
    assert result.meta["smass_band_choices"]["r"]["column"] == "modelMag_r"
    assert result.meta["smass_error_columns"]["r"] == "modelMagErr_r"
    override = table.smass.predict(toy_model, redshift="z", columns={"r": "petroMag_r"})
    assert "smass_band_choices" not in override.meta
    assert override.meta["smass_band_columns"]["r"] == "petroMag_r"


def test_unresolvable_rivals_are_an_error():
    table = _with_ucds({
        "rmag": (np.array([16.0]), u.mag, "phot.mag;em.opt.R", "r"),
        "r_sdss": (np.array([16.1]), u.mag, "phot.mag;em.opt.R", "r"),
    })
    with pytest.raises(BandColumnError, match="band 'r' is ambiguous"):
        recognise_columns(table)


def test_votable_with_ucds_annotated_without_columns(tmp_path, toy_model):
    path = tmp_path / "sdss.vot"
    write_table(_sdss_style(), path)
    table = read_table(path)
    table.smass.annotate(toy_model, **default_redshift(table, {}))
    assert table.meta["smass_redshift_column"] == "z"
    assert table.meta["smass_band_columns"] == {b: f"modelMag_{b}" for b in "ugriz"}
    expected = _sdss_style().smass.predict(
        toy_model, redshift="z", columns={b: f"modelMag_{b}" for b in "ugriz"})
    np.testing.assert_allclose(table["logmstar"], expected["logmstar"].value)


def test_description_names_the_system_that_names_do_not():
    """Legacy Surveys flux_g is DECam or BASS by the name alone: the service's description
    says which."""
    table = _with_ucds({
        f"flux_{b}": (np.array([10.0]), u.nanomaggy, f"phot.flux;em.opt.{em}",
                      f"Legacy Surveys DR10 south (DECam) {b} flux")
        for b, em in (("g", "B"), ("r", "R"), ("z", "I"))})
    table["z"] = [0.2]
    table["z"].info.meta = {"ucd": "src.redshift"}
    found = recognise_columns(table)
    assert found.columns == {"decam_g": "flux_g", "decam_r": "flux_r", "decam_z": "flux_z"}
    assert found.kinds == {b: "flux" for b in found.columns}
    plain = Table({name: table[name].data for name in table.colnames})
    with pytest.raises(BandColumnError, match="photometric system that the names do not give"):
        recognise_columns(plain)
