"""Streaming prediction of table files: `astropy_smass.stream.predict_file`."""

import os
import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import MaskedColumn, QTable, Table
from helpers import TOY_BANDS, assert_same_tables, toy_population

from astropy_smass import available_models, load_model, predict_table
from astropy_smass.datasets import load_demo
from astropy_smass.io import read_table, write_table
from astropy_smass.stream import FORMATS, format_of, predict_file, read_schema

pytest.importorskip("pyarrow")
pytest.importorskip("h5py")

# FITS has no unit for dex(Msun): astropy says so when the output is FITS.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The unit 'dex:astropy.utils.exceptions.AstropyUserWarning")

N_ROWS = 1003
WRITE_KWARGS = {"fits": {}, "parquet": {}, "hdf5": {"path": "catalogue", "serialize_meta": True}}


def _catalogue(n=N_ROWS, seed=3):
    """Apparent-free absolute magnitudes with the usual defects of a real catalogue."""
    mags, _ = toy_population(n, seed=seed)
    rng = np.random.default_rng(seed)
    table = QTable()
    table["id"] = np.arange(n, dtype=np.int64)
    table["name"] = [f"gal{k:05d}" for k in range(n)]
    for k, band in enumerate(TOY_BANDS):
        table[f"absmag_{band}"] = mags[:, k] * u.mag
        table[f"absmag_{band}_err"] = rng.uniform(0.01, 0.1, n) * u.mag
    table["absmag_g"][5] = np.nan  # non-finite
    table["absmag_r"][7] = -99.0 * u.mag  # sentinel
    table["absmag_z_err"][11] = -1.0 * u.mag  # bad error
    table["absmag_i"][13] = -40.0 * u.mag  # far outside the training domain
    table["flag_in"] = MaskedColumn(rng.integers(0, 3, n), mask=rng.random(n) < 0.1)
    table.meta["survey"] = "test catalogue"
    return table


@pytest.fixture(scope="module")
def catalogue():
    return _catalogue()


@pytest.fixture(scope="module", params=list(FORMATS))
def catalogue_file(request, catalogue, tmp_path_factory):
    path = tmp_path_factory.mktemp("in") / f"catalogue{FORMATS[request.param][0]}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FITS: units/meta notes irrelevant here
        catalogue.write(path, **WRITE_KWARGS[request.param])
    return path


def _values(column):
    values = np.asarray(getattr(column, "value", column))
    # HDF5 keeps strings as bytes (astropy's default when reading it back).
    return np.char.decode(values) if values.dtype.kind == "S" else values


def _assert_same(actual, expected, names):
    for name in names:
        a, e = _values(actual[name]), _values(expected[name])
        assert a.shape == e.shape, name
        if e.dtype.kind == "f":
            np.testing.assert_array_equal(a, e, err_msg=name)
        else:
            assert (a == e).all(), name


@pytest.mark.parametrize("out_format", list(FORMATS))
def test_stream_equals_in_memory(catalogue_file, out_format, toy_model, tmp_path):
    """Chunks of 97 rows (a prime, so chunks split the internal blocks unevenly) give
    exactly the in-memory prediction, in every input/output format pair."""
    out = tmp_path / f"out{FORMATS[out_format][0]}"
    summary = predict_file(catalogue_file, out, chunk_rows=97, model=toy_model,
                           progress=False)
    assert summary["n_rows"] == N_ROWS and summary["models"] == [toy_model.name]
    whole = Table.read(catalogue_file)
    expected = predict_table(whole, toy_model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = Table.read(out)
    assert back.colnames == whole.colnames + expected.colnames
    _assert_same(back, expected, expected.colnames)
    _assert_same(back, whole, [c for c in whole.colnames if c != "flag_in"])
    # The defects are flagged, not lost.
    logm = _values(back["logmstar"])
    assert np.isnan(logm[[5, 7, 13]]).all()
    assert back["smass_flag"][11] & 64
    assert np.isfinite(logm).sum() > 0.9 * N_ROWS
    if out_format != "fits":  # FITS has no unit for dex(Msun)
        assert u.Unit(back["logmstar"].unit) == u.dex(u.Msun)
        assert u.Unit(back["absmag_r"].unit) == u.mag
        assert back.meta["smass_model"] == toy_model.name
        assert back.meta["smass_band_columns"]["r"] == "absmag_r"


def test_chunk_size_does_not_matter(catalogue_file, toy_model, tmp_path):
    results = []
    for chunk_rows in (1, 250, 10_000):
        out = tmp_path / f"out{chunk_rows}.parquet"
        if chunk_rows == 1:  # one row a chunk: exercise the single-row path on a slice
            source = tmp_path / "small.parquet"
            Table.read(catalogue_file)[:40].write(source)
            predict_file(source, out, chunk_rows=1, model=toy_model, progress=False)
            results.append(Table.read(out))
            continue
        predict_file(catalogue_file, out, chunk_rows=chunk_rows, model=toy_model,
                     progress=False)
        results.append(Table.read(out))
    names = ["logmstar", "logmstar_err", "logmstar_err_phot", "logmstar_err_sys", "smass_flag"]
    _assert_same(results[1], results[2], names)
    _assert_same(results[0], results[2][:40], names)


def test_keep_columns_and_prefix(catalogue_file, toy_model, tmp_path):
    only = tmp_path / "only.parquet"
    predict_file(catalogue_file, only, model=toy_model, keep_columns=False, progress=False)
    assert Table.read(only).colnames == ["logmstar", "logmstar_err", "logmstar_err_phot",
                                         "logmstar_err_sys", "smass_flag"]
    some = tmp_path / "some.hdf5"
    predict_file(catalogue_file, some, model=toy_model, keep_columns=["id"], prefix="nn_",
                 progress=False)
    back = Table.read(some)
    assert back.colnames == ["id", "nn_logmstar", "nn_logmstar_err", "nn_logmstar_err_phot",
                             "nn_logmstar_err_sys", "nn_smass_flag"]
    assert (back["id"] == np.arange(N_ROWS)).all()
    with pytest.raises(ValueError, match="does not have"):
        predict_file(catalogue_file, tmp_path / "x.fits", model=toy_model,
                     keep_columns=["nope"], progress=False)


def test_clash_with_input_columns(tmp_path, toy_model, catalogue):
    table = catalogue.copy()
    table["logmstar"] = 1.0
    source = tmp_path / "clash.parquet"
    table.write(source)
    with pytest.raises(ValueError, match="prefix"):
        predict_file(source, tmp_path / "out.parquet", model=toy_model, progress=False)
    assert not (tmp_path / "out.parquet").exists()


def test_no_overwrite_and_atomic(catalogue_file, toy_model, tmp_path):
    out = tmp_path / "out.parquet"
    out.write_text("precious")
    with pytest.raises(FileExistsError, match="overwrite"):
        predict_file(catalogue_file, out, model=toy_model, progress=False)
    assert out.read_text() == "precious"
    # A failure midway (unknown band mapping) leaves neither output nor temporary file.
    fresh = tmp_path / "fresh.fits"
    with pytest.raises(Exception, match="nonexistent"):
        predict_file(catalogue_file, fresh, model=toy_model, progress=False,
                     columns={"r": "nonexistent"})
    assert not fresh.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]
    predict_file(catalogue_file, out, model=toy_model, progress=False, overwrite=True)
    assert len(Table.read(out)) == N_ROWS


def test_progress(catalogue_file, toy_model, tmp_path, capsys):
    calls = []
    predict_file(catalogue_file, tmp_path / "a.parquet", chunk_rows=300, model=toy_model,
                 progress=lambda done, total, seconds: calls.append((done, total, seconds)))
    assert [c[0] for c in calls] == [300, 600, 900, N_ROWS]
    assert all(c[1] == N_ROWS and c[2] >= 0 for c in calls)
    # Not a terminal (pytest captures stderr): silent by default, printed when asked.
    predict_file(catalogue_file, tmp_path / "b.parquet", chunk_rows=300, model=toy_model)
    assert capsys.readouterr().err == ""
    predict_file(catalogue_file, tmp_path / "c.parquet", chunk_rows=300, model=toy_model,
                 progress=True)
    err = capsys.readouterr().err
    assert f"{N_ROWS:,}/{N_ROWS:,} rows" in err and "rows/s" in err


def test_montecarlo_seeding(catalogue_file, toy_model, tmp_path):
    kwargs = dict(model=toy_model, uncertainty="montecarlo", n_draws=20, seed=5,
                  progress=False, keep_columns=False)
    predict_file(catalogue_file, tmp_path / "one.parquet", chunk_rows=10_000, **kwargs)
    predict_file(catalogue_file, tmp_path / "a.parquet", chunk_rows=400, **kwargs)
    predict_file(catalogue_file, tmp_path / "b.parquet", chunk_rows=400, **kwargs)
    one, a, b = (Table.read(tmp_path / f"{x}.parquet") for x in ("one", "a", "b"))
    expected = predict_table(Table.read(catalogue_file), toy_model, uncertainty="montecarlo",
                             n_draws=20, seed=5)
    # One chunk: the in-memory draws; several: reproducible, and chunks draw afresh.
    _assert_same(one, expected, expected.colnames)
    _assert_same(a, b, expected.colnames)
    _assert_same(a, expected, ["logmstar", "smass_flag"])
    err_a, err_1 = a["logmstar_err_phot"][400:800], one["logmstar_err_phot"][400:800]
    good = np.isfinite(err_1)
    assert not np.array_equal(err_a[good], err_1[good])
    assert not np.array_equal(a["logmstar_err_phot"][:400][good[:400]],
                              err_a[good[:400]])


def test_hdf5_without_astropy_metadata(tmp_path, toy_model):
    """A plain compound dataset (no units) streams with units= as in memory."""
    import h5py

    mags, _ = toy_population(500, seed=9)
    rows = np.zeros(500, dtype=[("objid", "i8")] + [(b, "f8") for b in TOY_BANDS])
    rows["objid"] = np.arange(500)
    for k, band in enumerate(TOY_BANDS):
        rows[band] = mags[:, k]
    source = tmp_path / "plain.h5"
    with h5py.File(source, "w") as handle:
        handle.create_dataset("photometry/galaxies", data=rows)
    out = tmp_path / "plain_out.h5"
    predict_file(source, out, chunk_rows=128, model=toy_model, units="mag", progress=False)
    expected = predict_table(Table(rows), toy_model, units="mag")
    back = Table.read(out, path="photometry/galaxies")
    _assert_same(back, expected, expected.colnames)
    with pytest.raises(ValueError, match="no dataset"):
        predict_file(source, tmp_path / "x.h5", model=toy_model, dataset="nope")


@pytest.mark.skipif(not {"full_vista", "galex_sdss_wise"} <= set(available_models()),
                    reason="needs the bundled full_vista and galex_sdss_wise models")
def test_auto_models_are_the_same_in_every_chunk(tmp_path):
    """model='auto' with several usable models: per-row choice, one model list, and a
    model-name column of one width in every chunk."""
    model = load_model("full_vista")
    rng = np.random.default_rng(0)
    features = model.domain.center + rng.normal(0, 0.5, (600, model.domain.whitening.shape[1])) \
        @ np.linalg.pinv(model.domain.whitening)
    table = Table()
    for band in model.bands:
        table[f"absmag_{band}"] = features[:, model.features.index(band)] * u.mag
    # SDSS z (VISTA Z as a stand-in) lets the five-band sdss model take most rows; rows
    # without it need a model without z (galex_sdss_wise).
    table["z_sdss"] = table["absmag_Z"]
    table["z_sdss"][::3] = np.nan
    source = tmp_path / "auto.fits"
    table.write(source)
    out = tmp_path / "auto_out.hdf5"
    summary = predict_file(source, out, chunk_rows=50, progress=False, keep_columns=False)
    expected = predict_table(Table.read(source))
    back = Table.read(out, character_as_bytes=False)
    assert summary["models"] == expected.meta["smass_models"] and len(summary["models"]) > 1
    _assert_same(back, expected, expected.colnames)
    assert len(set(back["smass_model"])) > 1


def test_format_detection(tmp_path):
    assert format_of("a.FITS") == "fits" and format_of("b.pq") == "parquet"
    assert format_of("c.h5") == "hdf5" and format_of("anything", "parquet") == "parquet"
    with pytest.raises(ValueError, match="decompress"):
        format_of("cat.fits.gz")
    with pytest.raises(ValueError, match="format="):
        format_of("cat.csv")
    with pytest.raises(ValueError, match="unknown format"):
        format_of("cat.fits", "votable")
    with pytest.raises(FileNotFoundError):
        predict_file(tmp_path / "missing.fits", tmp_path / "out.fits")
    with pytest.raises(ValueError, match="chunk_rows"):
        predict_file(tmp_path / "missing.fits", tmp_path / "out.fits", chunk_rows=0)


def test_empty_file(tmp_path, toy_model, catalogue):
    source = tmp_path / "empty.parquet"
    catalogue[:0].write(source)
    out = tmp_path / "empty_out.fits"
    summary = predict_file(source, out, model=toy_model, progress=False)
    back = read_table(out)
    assert summary["n_rows"] == 0 and len(back) == 0
    assert back["logmstar"].unit == u.dex(u.Msun) and os.path.getsize(out) % 2880 == 0


# -- the same file as astropy_smass.io.write_table writes ---------------------------------
@pytest.mark.parametrize("out_format", list(FORMATS))
def test_output_is_what_write_table_writes(catalogue_file, out_format, toy_model, tmp_path):
    """A streamed file holds what `io.write_table` writes for the table annotated in
    memory: FITS byte for byte (VO units, TCOMMn/TUCDn, SMASS* keywords); Parquet and
    HDF5 the same columns, units, descriptions, UCDs and provenance, read back."""
    suffix = FORMATS[out_format][0]
    streamed, reference = tmp_path / f"streamed{suffix}", tmp_path / f"reference{suffix}"
    predict_file(catalogue_file, streamed, chunk_rows=97, model=toy_model, progress=False,
                 out_dataset="data")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy's note on the HDF5 path it picked
        annotated = read_table(catalogue_file).smass.annotate(toy_model)
    write_table(annotated, reference)
    if out_format == "fits":
        with fits.open(streamed) as ours, fits.open(reference) as theirs:
            assert ours[1].header.tostring() == theirs[1].header.tostring()
            assert ours[1].data.tobytes() == theirs[1].data.tobytes()
            # The FITS-plus primary HDU (metadata for STILTS) is the same as well.
            assert ours[0].header.tostring() == theirs[0].header.tostring()
            header = ours[1].header
        assert streamed.read_bytes()[:2880] == reference.read_bytes()[:2880]
        index = {header[f"TTYPE{k}"]: k for k in range(1, header["TFIELDS"] + 1)}
        # Logarithmic units live in astropy's serialized-column block, not in TUNITn.
        assert f"TUNIT{index['logmstar']}" not in header
        assert f"TUNIT{index['logmstar_err']}" not in header
        assert Table.read(streamed)["logmstar"].unit == u.dex(u.Msun)
        assert header[f"TUCD{index['logmstar']}"] == "phys.mass"
        assert header[f"TCOMM{index['logmstar']}"].startswith("log10 of the stellar mass")
        assert header["SMASSMOD"] == toy_model.name
    back, expected = read_table(streamed), read_table(reference)
    assert_same_tables(back, expected)
    assert back["logmstar"].unit == u.dex(u.Msun) and back["logmstar_err"].unit == u.dex
    assert back["logmstar"].info.meta["ucd"] == "phys.mass"
    assert back.meta["smass_band_columns"]["r"] == "absmag_r"


def test_read_schema(tmp_path):
    source = tmp_path / "demo.fits"
    write_table(Table(load_demo()[:20]), source)
    schema = read_schema(source)
    assert len(schema) == 0
    assert schema.colnames == read_table(source).colnames
    assert schema["FUV"].unit == u.mJy
    assert schema["redshift"].info.meta["ucd"] == "src.redshift"  # from TUCDn


def test_extra_meta(catalogue_file, toy_model, tmp_path):
    out = tmp_path / "out.parquet"
    predict_file(catalogue_file, out, model=toy_model, progress=False, keep_columns=False,
                 meta={"smass_redshift_column": "z", "survey": "mine"})
    keys = list(read_table(out).meta)
    assert keys[:2] == ["smass_redshift_column", "survey"]  # before the provenance
    assert "smass_model" in keys[2:]


# -- Parquet to Parquet on record batches ---------------------------------------------------
def test_parquet_to_parquet_on_record_batches(tmp_path, toy_model, catalogue, monkeypatch):
    """Parquet to Parquet decodes only one row through astropy (for the output layout);
    the rest goes batch by batch, with masked, Quantity, NaN and sentinel magnitudes,
    and gives what the in-memory path writes."""
    from astropy.utils.masked import Masked

    from astropy_smass import stream

    table = catalogue.copy()
    table["absmag_u"] = Masked(table["absmag_u"], mask=np.arange(N_ROWS) % 17 == 3)
    table["absmag_u"][20] = np.nan * u.mag  # NaN under no mask: non-finite, not missing
    source = tmp_path / "in.parquet"
    table.write(source)
    decoded = []
    original = stream._ParquetReader._table
    monkeypatch.setattr(stream._ParquetReader, "_table",
                        lambda self, batch: decoded.append(len(batch)) or original(self, batch))
    out = tmp_path / "out.parquet"
    predict_file(source, out, chunk_rows=97, model=toy_model, progress=False)
    assert sorted(decoded) == [0, 1]  # the schema, and the one-row layout probe
    expected = read_table(source).smass.annotate(toy_model)
    assert_same_tables(read_table(out), expected)
    flags = read_table(out)["smass_flag"]
    assert flags[3] & 1 and not flags[3] & 2  # masked: missing band
    assert flags[20] & 2 and not flags[20] & 1  # NaN: non-finite


def test_parquet_nulls_and_foreign_files(tmp_path, toy_model):
    """A Parquet file from another writer (no astropy metadata, nulls): units= as in
    memory, nulls read as NaN as astropy reads them, and the output layout of astropy."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    mags, _ = toy_population(300, seed=12)
    columns = {"objid": pa.array(np.arange(300))}
    for k, band in enumerate(TOY_BANDS):
        values = pa.array(mags[:, k], mask=(np.arange(300) % 50 == k))
        columns[f"{band}_mag"] = values
    source = tmp_path / "foreign.parquet"
    pq.write_table(pa.table(columns), source, row_group_size=64)
    out = tmp_path / "out.parquet"
    predict_file(source, out, chunk_rows=100, model=toy_model, units="mag", progress=False)
    expected = read_table(source).smass.annotate(toy_model, units="mag")
    back = read_table(out)
    assert_same_tables(back, expected)
    assert pq.ParquetFile(out).schema_arrow.field("u_mag").nullable
    assert not pq.read_table(out).column("u_mag").null_count  # NaN, as astropy writes
