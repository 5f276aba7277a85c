"""Table writing and reading: formats, VO units, UCDs, provenance, atomic files."""

import io
import sys
import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from astropy_smass.datasets import load_demo, read_hatlas_text
from astropy_smass.io import (
    FORMATS,
    TableReadError,
    guess_format,
    read_table,
    unit_from_vo,
    vo_unit_string,
    write_table,
)
from astropy_smass.vo import to_votable

try:
    from . import services as svc
except ImportError:
    import services as svc

EXTENSION = {"votable": "vot", "fits": "fits", "ecsv": "ecsv", "csv": "csv", "hdf5": "h5",
             "parquet": "parquet"}
OPTIONAL = {"hdf5": "h5py", "parquet": "pyarrow"}


@pytest.fixture(scope="module")
def annotated(toy_model):
    """The first 300 demo galaxies with toy-model masses (some NaN, flagged)."""
    table = Table(load_demo()[:300])
    return table.smass.annotate(toy_model, redshift="redshift")


def _values(column):
    data = np.ma.filled(np.ma.asarray(getattr(column, "value", column), dtype=float), np.nan)
    return np.asarray(data)


# -- units ----------------------------------------------------------------------------------
@pytest.mark.parametrize("unit, fits_header, expected", [
    (u.dex(u.Msun), False, "[solMass]"),
    (u.dex(u.Msun), True, None),  # in astropy's serialized-column block instead
    (u.dex, False, "[-]"),
    (u.dex, True, None),
    (u.Msun, False, "solMass"),
    (u.mJy, False, "mJy"),
    (u.mJy, True, "mJy"),
    (u.ABmag, False, "mag"),
])
def test_vo_unit_string(unit, fits_header, expected):
    assert vo_unit_string(unit, fits=fits_header) == expected


@pytest.mark.parametrize("unit", [u.dex(u.Msun), u.dex, u.Msun, u.mJy, u.dex(u.Lsun)])
def test_unit_from_vo_inverts(unit):
    assert unit_from_vo(vo_unit_string(unit)) == unit


@pytest.mark.parametrize("text", ["log(solMass)", "[solMass]", "dex(solMass)"])
def test_unit_from_vo_reads_every_form(text):
    assert unit_from_vo(text) == u.dex(u.Msun)
    for dex in ("'dex'", "dex", "[-]"):
        assert unit_from_vo(dex) == u.dex


def test_older_vounit_strings_still_read():
    # Files written before the switch to VOTable 1.3 say log(solMass) and 'dex'.
    parsed = u.Unit("'dex'", format="vounit", parse_strict="silent")
    assert parsed.to_string() in ("dex", "'dex'")
    assert unit_from_vo(parsed) == u.dex
    assert unit_from_vo(u.UnrecognizedUnit("'dex'")) == u.dex
    assert unit_from_vo(u.UnrecognizedUnit("log(solMass)")) == u.dex(u.Msun)


# -- formats --------------------------------------------------------------------------------
@pytest.mark.parametrize("format", list(FORMATS))
def test_round_trip(annotated, tmp_path, format):
    if format in OPTIONAL:
        pytest.importorskip(OPTIONAL[format])
    path = tmp_path / f"out.{EXTENSION[format]}"
    write_table(annotated, path)
    back = read_table(path)
    assert len(back) == len(annotated)
    assert list(np.asarray(back["id"]).astype(str)) == list(np.asarray(annotated["id"]))
    np.testing.assert_array_equal(_values(back["logmstar"]), _values(annotated["logmstar"]))
    np.testing.assert_array_equal(np.asarray(back["smass_flag"]),
                                  np.asarray(annotated["smass_flag"]))
    masked = np.ma.getmaskarray(annotated["WISE4"])
    assert masked.any()
    assert np.isnan(_values(back["WISE4"])[masked]).all()
    if format == "csv":
        return  # plain CSV has no units or metadata
    assert back["logmstar"].unit == u.dex(u.Msun)
    assert back["logmstar_err"].unit == u.dex
    assert back["FUV"].unit == u.mJy
    assert back["logmstar"].info.meta["ucd"] == "phys.mass"
    assert back["smass_flag"].info.meta["ucd"] == "meta.code.qual"
    assert back["logmstar_err"].info.description == annotated["logmstar_err"].info.description
    assert back.meta["smass_models"] == ["toy"]
    assert back.meta["smass_uncertainty"] == "analytic"
    assert back.meta["smass_band_columns"] == annotated.meta["smass_band_columns"]


def test_votable_fields_and_infos(annotated):
    votable = to_votable(annotated)
    fields = {f.name: f for f in votable.get_first_table().fields}
    assert fields["logmstar"].ucd == "phys.mass"
    assert fields["logmstar_err"].ucd == "stat.error;phys.mass"
    assert str(fields["logmstar"].unit) == "[solMass]"
    assert str(fields["logmstar_err"].unit) == "[-]"
    assert votable.version == "1.3"
    infos = {info.name: info.value for info in votable.resources[0].infos}
    assert infos["smass_model"] == "toy"
    assert infos["smass_uncertainty"] == "analytic"
    # The table itself keeps astropy's units.
    assert annotated["logmstar"].unit == u.dex(u.Msun)


def test_fits_header_keywords(annotated, tmp_path):
    path = tmp_path / "out.fits"
    write_table(annotated, path)
    header = fits.getheader(path, 1)
    index = annotated.colnames.index("logmstar") + 1
    assert f"TUNIT{index}" not in header  # no FITS string parses to dex(solMass)
    assert "unit: dex(solMass)" in "\n".join(header["COMMENT"])  # astropy's block
    assert header[f"TUNIT{annotated.colnames.index('FUV') + 1}"] == "mJy"
    assert header[f"TUCD{index}"] == "phys.mass"
    assert header[f"TCOMM{index}"].startswith("log10 of the stellar mass")
    assert header["SMASSMOD"] == "toy"
    assert header["SMASSUNC"] == "analytic"


@pytest.mark.parametrize("format", ["votable", "fits"])
def test_plain_astropy_reads_units(annotated, tmp_path, format):
    """astropy alone, no astropy_smass: the units come back equal, with no warning."""
    path = tmp_path / f"out.{EXTENSION[format]}"
    write_table(annotated, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain = Table.read(path)
    assert plain["logmstar"].unit == u.dex(u.Msun)
    assert plain["logmstar_err"].unit == u.dex
    assert plain["FUV"].unit == u.mJy
    np.testing.assert_array_equal(_values(plain["logmstar"]), _values(annotated["logmstar"]))
    if format == "fits":  # astropy's own header block also keeps descriptions and UCDs
        assert plain["logmstar"].info.meta["ucd"] == "phys.mass"
        assert plain["logmstar"].info.description == annotated["logmstar"].info.description


def _votable_with_unit(version, unit):
    return (f'<?xml version="1.0"?><VOTABLE version="{version}" '
            'xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results"><TABLE>'
            f'<FIELD name="logm" datatype="double" unit="{unit}"/>'
            '<DATA><TABLEDATA><TR><TD>10.5</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE>'
            '</VOTABLE>').encode()


@pytest.mark.parametrize("version, unit, works", [
    ("1.3", "[solMass]", True),       # CDS, what we write
    ("1.3", "log(solMass)", False),
    ("1.3", "dex(solMass)", False),
    ("1.4", "log(solMass)", False),   # VOUnits 1.0: astropy has no log() function
    ("1.4", "dex(solMass)", False),   # dex is no VOUnit
    ("1.4", "[solMass]", False),
    ("1.5", "log(solMass)", False),
    ("1.5", "dex(solMass)", False),
])
def test_which_unit_strings_plain_astropy_reads(tmp_path, version, unit, works):
    """Why VOTable 1.3 and CDS units: the candidates through plain Table.read."""
    path = tmp_path / "t.vot"
    path.write_bytes(_votable_with_unit(version, unit))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = Table.read(path)
    assert (plain["logm"].unit == u.dex(u.Msun)) is works


def test_fits_header_takes_no_foreign_keywords(annotated, tmp_path):
    table = annotated.copy()
    table.meta.update({"TSCAL2": 100, "TZERO2": 5, "NAXIS2": 1, "EXTNAME": "x",
                       "survey": "mine"})
    write_table(table, tmp_path / "out.fits")
    header = fits.getheader(tmp_path / "out.fits", 1)
    for keyword in ("TSCAL2", "TZERO2", "EXTNAME", "SURVEY"):
        assert keyword not in header
    assert header["NAXIS2"] == len(table)
    back = read_table(tmp_path / "out.fits")
    np.testing.assert_array_equal(_values(back["redshift"]), _values(annotated["redshift"]))


def test_zero_rows_votable_has_tabledata(annotated, tmp_path):
    write_table(annotated[:0], tmp_path / "empty.vot")
    text = (tmp_path / "empty.vot").read_text()
    assert "<TABLEDATA/>" in text
    back = read_table(tmp_path / "empty.vot")
    assert len(back) == 0 and back.colnames == annotated.colnames
    assert back["logmstar"].unit == u.dex(u.Msun)


def test_service_provenance_round_trip(annotated, tmp_path):
    table = annotated.copy()
    table.meta["smass_service_infos"] = [
        {"name": "QUERY_STATUS", "value": "OK"},
        {"name": "citation", "value": "2020A&A...634A..57D", "ucd": "meta.bib.bibcode"},
        {"name": "citation", "value": "http://127.0.0.1:8080/tableinfo/hatlas.galaxies"}]
    table.meta["smass_service_description"] = "H-ATLAS galaxies in the GAMA fields"
    for format in ("votable", "fits"):
        path = tmp_path / f"out.{EXTENSION[format]}"
        write_table(table, path)
        back = read_table(path)
        assert back.meta["smass_service_infos"] == table.meta["smass_service_infos"]
        assert back.meta["smass_service_description"] == "H-ATLAS galaxies in the GAMA fields"
    votable = to_votable(table)
    assert votable.description == "H-ATLAS galaxies in the GAMA fields"
    names = [info.name for info in votable.resources[0].infos]
    assert names[:3] == ["QUERY_STATUS", "citation", "citation"]


def test_refuses_to_overwrite(annotated, tmp_path):
    path = tmp_path / "out.ecsv"
    path.write_text("precious")
    with pytest.raises(FileExistsError, match="overwrite"):
        write_table(annotated, path)
    assert path.read_text() == "precious"
    write_table(annotated, path, overwrite=True)
    assert len(read_table(path)) == len(annotated)


def test_no_partial_file_on_failure(tmp_path):
    table = Table({"a": [1, 2]})
    table["bad"] = np.array([{"x": 1}, {"y": 2}], dtype=object)  # FITS cannot hold objects
    with pytest.raises(Exception):  # noqa: B017 (whatever the writer raises)
        write_table(table, tmp_path / "out.fits")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name, format, expected", [
    ("a.vot", None, "votable"), ("a.xml", None, "votable"), ("a.fits.gz", None, "fits"),
    ("a.h5", None, "hdf5"), ("a.pq", None, "parquet"), ("a.txt", "ecsv", "ecsv"),
    ("-", "VOT", "votable")])
def test_guess_format(name, format, expected):
    assert guess_format(name, format) == expected


def test_guess_format_errors():
    with pytest.raises(ValueError, match="extension"):
        guess_format("table.txt")
    with pytest.raises(ValueError, match="unknown table format"):
        guess_format("table.vot", "excel")


@pytest.mark.parametrize("content", [
    b"<?xml version='1.0'?><VOTABLE version='1.4'><RESOURCE><TABLE><FIELD name='a' "
    b"datatype='double'/><DATA><TABLEDATA><TR><TD>1</TD></TR>",
    b"<?xml version='1.0'?><VOTABLE version='1.4'><RESOURCE></RESOURCE></VOTABLE>",
    b"SIMPLE  =                    T / not really\x00\x01",
])
def test_malformed_files(tmp_path, content):
    path = tmp_path / "bad.vot"
    path.write_bytes(content)
    with pytest.raises(TableReadError) as info:
        read_table(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_table(tmp_path / "nothing.fits")


class _Stream:
    """A text stream with a binary buffer, like sys.stdin/sys.stdout."""

    def __init__(self, data=b""):
        self.buffer = io.BytesIO(data)

    def flush(self):
        pass


@pytest.mark.parametrize("format", ["votable", "fits", "ecsv"])
def test_stdout_then_stdin(annotated, monkeypatch, format):
    out = _Stream()
    monkeypatch.setattr(sys, "stdout", out)
    write_table(annotated, "-", format=None if format == "votable" else format)
    data = out.buffer.getvalue()
    if format == "votable":
        assert data.lstrip().startswith(b"<?xml")
    monkeypatch.setattr(sys, "stdin", _Stream(data))
    back = read_table("-")  # format recognised from the content
    assert len(back) == len(annotated)
    assert back["logmstar"].unit == u.dex(u.Msun)


def test_empty_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", _Stream(b""))
    with pytest.raises(TableReadError, match="empty"):
        read_table("-")


# -- demo catalogue -------------------------------------------------------------------------
def test_demo_catalogue():
    demo = load_demo()
    assert len(demo) == 3618
    assert demo["FUV"].unit == u.mJy
    assert demo["redshift"].info.meta["ucd"] == "src.redshift"
    # Missing values are masked, not shifted: PACS 70 um was never measured.
    assert demo["PACS_blue"].mask.all()
    assert demo["WISE4"].mask.sum() == 1397
    assert any("Dobbels" in ref for ref in demo.meta["references"])


def test_demo_catalogue_is_the_shared_file():
    path = svc.REPO_ROOT.parent / "shared" / "data" / "hatlas_gama_fields.txt"
    if not path.exists():
        pytest.skip(f"{path} not present")
    fresh, demo = read_hatlas_text(path), load_demo()
    assert fresh.colnames == demo.colnames
    for name in fresh.colnames[1:]:
        mask = np.asarray(getattr(fresh[name], "mask", np.zeros(len(fresh), bool)))
        np.testing.assert_array_equal(
            mask, np.asarray(getattr(demo[name], "mask", np.zeros(len(demo), bool))))
        np.testing.assert_array_equal(_values(fresh[name])[~mask], _values(demo[name])[~mask])


# -- STILTS reads what we write ---------------------------------------------------------------
def _stilts_meta(path):
    out = svc.run_stilts("tpipe", f"in={path}",
                         "cmd=keepcols 'logmstar logmstar_err smass_flag'",
                         "cmd=meta Name Units UCD", "omode=out", "ofmt=csv-noheader").stdout
    return {row.split(",")[0]: row.split(",")[1:] for row in out.split()}


@pytest.mark.services
@pytest.mark.parametrize("format", ["votable", "fits"])
def test_stilts_sees_units_and_ucds(annotated, tmp_path, format):
    """STILTS reports the solar-mass log unit: in the VOTable, and in the FITS-plus
    primary HDU of the FITS file (whose BINTABLE has no TUNIT for it)."""
    path = tmp_path / f"out.{EXTENSION[format]}"
    write_table(annotated, path)
    meta = _stilts_meta(path)
    assert meta["logmstar"] == ["[solMass]", "phys.mass"]
    assert meta["logmstar_err"] == ["[-]", "stat.error;phys.mass"]
    assert meta["smass_flag"] == ["", "meta.code.qual"]
    params = svc.run_stilts("tpipe", f"in={path}", "omode=meta").stdout
    assert "smass_model:" in params and "toy" in params


@pytest.mark.services
def test_stilts_reads_fits_from_a_pipe(annotated, monkeypatch):
    """STILTS cannot read FITS-plus from standard input: a pipe gets plain FITS, with the
    standard FITS unit strings."""
    out = _Stream()
    monkeypatch.setattr(sys, "stdout", out)
    write_table(annotated, "-", format="fits")
    data = out.buffer.getvalue()
    meta = svc.run_stilts("tpipe", "in=-", "ifmt=fits", "cmd=keepcols 'logmstar logmstar_err'",
                          "cmd=meta Name Units", "omode=out", "ofmt=csv-noheader",
                          stdin=data).stdout.decode().split()
    assert meta == ["logmstar,log(solMass)", "logmstar_err,dex"]
    monkeypatch.setattr(sys, "stdin", _Stream(data))
    assert read_table("-")["logmstar"].unit == u.dex(u.Msun)


@pytest.mark.services
def test_stilts_reads_zero_rows(annotated, tmp_path):
    for name in ("empty.vot", "empty.fits"):
        write_table(annotated[:0], tmp_path / name)
        count = svc.run_stilts("tpipe", f"in={tmp_path / name}", "omode=count").stdout
        assert count.split() == ["columns:", str(len(annotated.colnames)), "rows:", "0"]


@pytest.mark.services
def test_stilts_reads_redshift_despite_foreign_tscal(annotated, tmp_path):
    table = annotated.copy()
    table.meta["TSCAL2"] = 100  # column 2 is the redshift
    assert table.colnames[1] == "redshift"
    write_table(table, tmp_path / "out.fits")
    out = svc.run_stilts("tpipe", f"in={tmp_path / 'out.fits'}", "cmd=keepcols redshift",
                         "cmd=head 5", "ofmt=csv-noheader").stdout.split()
    np.testing.assert_allclose([float(v) for v in out], _values(annotated["redshift"][:5]))


@pytest.mark.services
def test_stilts_reads_ecsv(annotated, tmp_path):
    path = tmp_path / "out.ecsv"
    write_table(annotated, path)
    count = svc.run_stilts("tpipe", f"in={path}", "ifmt=ecsv", "omode=count").stdout
    assert count.split() == ["columns:", str(len(annotated.colnames)), "rows:",
                             str(len(annotated))]
    meta = _stilts_meta(path)
    assert meta["logmstar"][1] == "phys.mass"


def test_votable_ids_are_unique(annotated, tmp_path):
    import xml.etree.ElementTree as ET

    table = annotated.copy()
    table["smass_model"] = "toy"  # a column with the name of a provenance item
    table.meta["smass_model"] = "toy"
    write_table(table, tmp_path / "out.vot")
    ids = [el.get("ID") for el in ET.parse(tmp_path / "out.vot").iter() if el.get("ID")]
    assert len(ids) == len(set(ids))
    assert read_table(tmp_path / "out.vot").meta["smass_model"] == "toy"


def test_quoted_dex_survives_astropy_unit_state(annotated, tmp_path):
    # Once astropy has parsed an unquoted "dex" as a VOUnit (any VOTable written by
    # astropy itself says unit="dex"), it no longer parses the quoted 'dex'.
    u.Unit("dex", format="vounit", parse_strict="silent")
    write_table(annotated, tmp_path / "out.vot")
    assert read_table(tmp_path / "out.vot")["logmstar_err"].unit == u.dex
