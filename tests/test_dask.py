"""Prediction over Dask and LSDB partitions, on a real local cluster of processes."""

import numpy as np
import pytest
from astropy.table import Table
from helpers import TOY_BANDS, toy_population

from astropy_smass import predict_table

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("dask.distributed")
pd = pytest.importorskip("pandas")

from astropy_smass.dask import predict_dask, predict_lsdb, predict_partition  # noqa: E402

N_ROWS = 3001


@pytest.fixture(scope="module")
def frame():
    mags, _ = toy_population(N_ROWS, seed=21)
    rng = np.random.default_rng(21)
    frame = pd.DataFrame({"objid": np.arange(N_ROWS),
                          "ra": rng.uniform(0, 360, N_ROWS),
                          "dec": np.degrees(np.arcsin(rng.uniform(-1, 1, N_ROWS)))})
    for k, band in enumerate(TOY_BANDS):
        frame[f"{band}_mag"] = mags[:, k]
        frame[f"{band}_mag_err"] = rng.uniform(0.01, 0.1, N_ROWS)
    frame.loc[3, "g_mag"] = np.nan
    frame.loc[4, "r_mag"] = -99.0
    frame.loc[5, "i_mag_err"] = -1.0
    return frame


@pytest.fixture(scope="module")
def client():
    # Real worker processes: the model and the tasks travel between processes.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client


def _in_memory(frame, model, **kwargs):
    # NaN stays NaN (non-finite), as in a table read from a file; Table.from_pandas
    # would mask it.
    table = Table({name: frame[name].to_numpy() for name in frame.columns})
    return predict_table(table, model, units="mag", **kwargs)


def _assert_matches(result, expected, prefix=""):
    for name in expected.colnames:
        values = np.asarray(getattr(expected[name], "value", expected[name]))
        got = result[prefix + name].to_numpy()
        if values.dtype.kind == "f":
            np.testing.assert_array_equal(got, values, err_msg=name)
        else:
            assert (got == values).all(), name


def test_partition_function(frame, toy_model):
    out = predict_partition(frame.iloc[:50], toy_model, units="mag")
    assert list(out.columns[-5:]) == ["logmstar", "logmstar_err", "logmstar_err_phot",
                                      "logmstar_err_sys", "smass_flag"]
    assert (out.index == frame.index[:50]).all()
    _assert_matches(out, _in_memory(frame.iloc[:50], toy_model))
    empty = predict_partition(frame.iloc[:0], toy_model, keep_columns=False, units="mag")
    assert list(empty.columns) == ["logmstar", "logmstar_err", "logmstar_err_phot",
                                   "logmstar_err_sys", "smass_flag"]
    with pytest.raises(ValueError, match="prefix"):
        predict_partition(out, toy_model, units="mag")


def test_dask_cluster_matches_in_memory(client, frame, toy_model):
    ddf = dd.from_pandas(frame, npartitions=7)
    lazy = predict_dask(ddf, toy_model, units="mag")
    assert list(lazy.columns) == list(frame.columns) + ["logmstar", "logmstar_err",
                                                        "logmstar_err_phot",
                                                        "logmstar_err_sys", "smass_flag"]
    result = lazy.compute()
    assert len(client.scheduler_info()["workers"]) == 2
    assert result.dtypes.to_dict() == lazy.dtypes.to_dict()  # meta declared correctly
    expected = _in_memory(frame, toy_model)
    _assert_matches(result, expected)
    assert np.isnan(result["logmstar"].iloc[[3, 4]]).all()
    assert result["smass_flag"].iloc[5] & 64
    pd.testing.assert_frame_equal(result[frame.columns], frame)


def test_dask_model_by_path_and_options(client, frame, toy_model, tmp_path):
    """A bundle path is loaded once here and shipped; predictions only, with a prefix."""
    path = toy_model.save(tmp_path)
    ddf = dd.from_pandas(frame, npartitions=4)
    result = predict_dask(ddf, path, keep_columns=False, prefix="nn_", units="mag",
                          uncertainty=None).compute()
    assert list(result.columns) == ["nn_logmstar", "nn_smass_flag"]
    _assert_matches(result, _in_memory(frame, toy_model, uncertainty=None), prefix="nn_")
    with pytest.raises(ValueError, match="unknown model"):
        predict_dask(ddf, "no_such_model", units="mag")


def test_lsdb_catalog(client, frame, toy_model):
    lsdb = pytest.importorskip("lsdb")
    catalog = lsdb.from_dataframe(frame, ra_column="ra", dec_column="dec",
                                  catalog_name="toy")
    lazy = predict_lsdb(catalog, toy_model, units="mag")
    assert isinstance(lazy, lsdb.Catalog)
    result = lazy.compute().sort_values("objid")
    result.index = range(len(result))
    expected = _in_memory(frame, toy_model)
    _assert_matches(result, expected)


# -- files: flags, units, metadata, atomic writing --------------------------------------------
@pytest.fixture(scope="module")
def defect_file(frame, tmp_path_factory):
    """The frame as astropy writes it: magnitudes in mag, a masked band, NaN, sentinels."""
    from astropy.table import MaskedColumn

    table = Table({name: frame[name].to_numpy() for name in frame.columns})
    for name in table.colnames:
        if name.endswith(("_mag", "_mag_err")):
            table[name].unit = "mag"
    masked = np.zeros(len(table), bool)
    masked[[10, 11, 12]] = True
    table["r_mag"] = MaskedColumn(table["r_mag"], mask=masked)
    table["i_mag"][20] = np.nan  # NaN: non-finite
    table["z_mag"][21] = 99.0  # sentinel: missing
    table.meta["survey"] = "toy"
    path = tmp_path_factory.mktemp("defects") / "galaxies.parquet"
    table.write(path)
    return path


def test_flags_equal_in_memory_on_nan_masked_sentinels(client, defect_file, toy_model):
    """Dask (Arrow- or numpy-backed) and LSDB give the in-memory flags and masses, with
    units from the file's schema (no units= given)."""
    from astropy_smass.dask import read_parquet
    from astropy_smass.io import read_table

    expected = predict_table(read_table(defect_file), toy_model)
    flags = np.asarray(expected["smass_flag"])
    assert flags[10] & 1 and not flags[10] & 2  # masked: missing band
    assert flags[20] & 2 and not flags[20] & 1  # NaN: non-finite
    assert flags[21] & 1  # sentinel: missing
    for ddf in (read_parquet(defect_file), dd.read_parquet(defect_file).repartition(
            npartitions=3)):
        result = predict_dask(ddf, toy_model).compute()
        _assert_matches(result.reset_index(drop=True), expected)
    lsdb = pytest.importorskip("lsdb")
    frame = read_parquet(defect_file).compute()
    catalog = lsdb.from_dataframe(frame, ra_column="ra", dec_column="dec",
                                  catalog_name="toy")
    result = predict_lsdb(catalog, toy_model, schema=defect_file).compute()
    result = result.sort_values("objid").reset_index(drop=True)
    _assert_matches(result, expected)


def test_written_parquet_keeps_metadata(client, defect_file, toy_model, tmp_path):
    """What write_parquet, write_lsdb and the CLI write reads back into astropy with
    logmstar in dex(solMass) and the same provenance keys; no stray index column."""
    import astropy.units as u
    import pyarrow.parquet as pq

    from astropy_smass.cli import main
    from astropy_smass.dask import read_parquet, write_lsdb, write_parquet
    from astropy_smass.io import read_table

    cli_out = tmp_path / "cli.parquet"
    bundle = toy_model.save(tmp_path / "model")
    assert main(["predict", str(defect_file), str(cli_out), "--model", str(bundle)]) == 0
    reference = read_table(cli_out)
    provenance = sorted(k for k in reference.meta if k.startswith("smass_"))
    assert reference["logmstar"].unit == u.dex(u.Msun)

    out = tmp_path / "dask_out"
    rows = write_parquet(predict_dask(read_parquet(defect_file).repartition(npartitions=2),
                                      toy_model), out, progress=True)
    assert rows == N_ROWS
    parts = sorted(out.glob("part.*.parquet"))
    assert len(parts) == 2 and (out / "_common_metadata").exists()
    assert "__null_dask_index__" not in pq.read_schema(parts[0]).names
    back = read_table(parts[0])
    assert back["logmstar"].unit == u.dex(u.Msun) and back["logmstar_err"].unit == u.dex
    assert back["r_mag"].unit == u.mag and back["survey" if False else "r_mag"].mask[10]
    assert sorted(k for k in back.meta if k.startswith("smass_")) == provenance
    assert back["logmstar"].info.meta["ucd"] == "phys.mass"
    whole = [read_table(p) for p in parts]
    assert sum(len(t) for t in whole) == N_ROWS
    np.testing.assert_array_equal(np.concatenate([t["logmstar"] for t in whole]),
                                  reference["logmstar"])

    lsdb = pytest.importorskip("lsdb")
    catalog = lsdb.from_dataframe(read_parquet(defect_file).compute(), ra_column="ra",
                                  dec_column="dec", catalog_name="toy")
    hats_out = write_lsdb(predict_lsdb(catalog, toy_model, schema=defect_file),
                          tmp_path / "hats_out")
    leaves = sorted((hats_out / "dataset").rglob("Npix=*.parquet"))
    assert leaves
    back = read_table(leaves[0])
    assert back["logmstar"].unit == u.dex(u.Msun)
    assert sorted(k for k in back.meta if k.startswith("smass_")) == provenance
    again = lsdb.open_catalog(hats_out).compute()
    assert len(again) == N_ROWS and "logmstar" in again.columns


def _kill_on_marker(frame):
    """Kill the worker process that gets the partition holding objid 2500."""
    import os
    import signal

    if (frame["objid"] == 2500).any():
        os.kill(os.getpid(), signal.SIGKILL)
    return frame


def test_killed_worker_leaves_nothing(defect_file, toy_model, tmp_path):
    """With retries disabled, a worker killed mid-run fails the write, and nothing at
    the destination (nor a temporary folder) reads as a catalogue."""
    import dask

    from astropy_smass.dask import read_parquet, write_parquet

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                     dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        ddf = read_parquet(defect_file).repartition(npartitions=6)
        lazy = predict_dask(ddf, toy_model)
        doomed = lazy.map_partitions(_kill_on_marker, meta=lazy._meta)
        out = tmp_path / "masses"
        with pytest.raises(Exception, match="(?i)killed|worker|lost"):
            write_parquet(doomed, out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_partition_in_slices(frame, toy_model, monkeypatch):
    """A partition longer than SLICE_ROWS is predicted a slice at a time, same values."""
    import astropy_smass.dask as smass_dask

    whole = predict_partition(frame, toy_model, units="mag")
    monkeypatch.setattr(smass_dask, "SLICE_ROWS", 97)
    sliced = predict_partition(frame, toy_model, units="mag")
    pd.testing.assert_frame_equal(sliced, whole)
    _assert_matches(sliced, _in_memory(frame, toy_model))


def test_write_predicts_and_writes_in_one_task(defect_file, toy_model, tmp_path, monkeypatch):
    """write_parquet of predict_dask's own frame predicts and writes each partition in
    one task, a slice at a time; the files equal, in their values, schema and row
    groups, those of the same frame computed first and then written."""
    import dask
    import pyarrow.parquet as pq

    import astropy_smass.dask as smass_dask
    from astropy_smass.dask import read_parquet, write_parquet

    monkeypatch.setattr(smass_dask, "SLICE_ROWS", 700)  # several slices a partition
    monkeypatch.setattr(smass_dask, "_write_partition", None)  # the one-task path only
    lazy = predict_dask(read_parquet(defect_file).repartition(npartitions=2), toy_model)
    with dask.config.set(scheduler="sync"):
        assert write_parquet(lazy, tmp_path / "one_task") == N_ROWS
    monkeypatch.undo()
    monkeypatch.setattr(smass_dask, "SLICE_ROWS", 700)
    monkeypatch.setattr(smass_dask, "_predict_and_write", None)  # computed, then written
    computed = lazy.map_partitions(lambda part: part, meta=lazy._meta)
    with dask.config.set(scheduler="sync"):
        assert write_parquet(computed, tmp_path / "computed") == N_ROWS
    for name in ("part.0.parquet", "part.1.parquet", "_common_metadata"):
        one, two = tmp_path / "one_task" / name, tmp_path / "computed" / name
        assert pq.read_schema(one).equals(pq.read_schema(two), check_metadata=True), name
        if name.startswith("part"):
            pd.testing.assert_frame_equal(pq.read_table(one).to_pandas(),
                                          pq.read_table(two).to_pandas())  # NaN == NaN
            groups = [pq.ParquetFile(f).metadata.num_row_groups for f in (one, two)]
            assert groups[0] == groups[1] > 1, name


def test_read_parquet_one_partition_per_file(client, defect_file, toy_model, tmp_path):
    """A folder is one partition per file, the columns as written; the schema's units
    still reach the prediction; a column subset keeps the masks; other arguments go to
    dask.dataframe.read_parquet."""
    import shutil

    from astropy_smass.dask import _source_of, read_parquet
    from astropy_smass.exceptions import InputError
    from astropy_smass.io import read_table

    folder = tmp_path / "parts"
    folder.mkdir()
    for k in range(2):
        shutil.copy(defect_file, folder / f"part{k}.parquet")
    ddf = read_parquet(folder)
    assert ddf.npartitions == 2
    assert _source_of(ddf) == str(folder)
    frame = ddf.compute()
    assert len(frame) == 2 * len(read_table(defect_file))
    assert str(frame["r_mag"].dtype) == "double[pyarrow]"
    expected = predict_table(read_table(defect_file), toy_model)
    result = predict_dask(read_parquet(defect_file), toy_model).compute()
    _assert_matches(result.reset_index(drop=True), expected)
    subset = read_parquet(folder, columns=["r_mag", "objid"])
    assert list(subset.columns) == ["r_mag", "r_mag.mask", "objid"]
    with pytest.raises(InputError, match="nope"):
        read_parquet(folder, columns=["nope"])
    filtered = read_parquet(folder, filters=[("objid", "<", 5)]).compute()
    assert len(filtered) == 10


_MAPPED_BLOCKS = """
import ctypes
import numpy as np
from astropy_smass.dask import _freed_memory_reused

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info

def mapped_for_an_array():
    before = libc.mallinfo2().hblks
    array = np.ones(1 << 18)  # 2 MiB
    return libc.mallinfo2().hblks - before

print(mapped_for_an_array())
with _freed_memory_reused:
    mapped_for_an_array()  # the heap grows once
    print(mapped_for_an_array())
print(mapped_for_an_array())
"""


def test_freed_memory_reused_under_the_nannys_trim_threshold():
    """With distributed's MALLOC_TRIM_THRESHOLD_, glibc maps every array over 128 KiB
    afresh; while a partition is written, it takes them from the heap instead, and the
    setting is back afterwards."""
    import ctypes
    import os
    import subprocess
    import sys

    try:
        ctypes.CDLL("libc.so.6").mallinfo2  # noqa: B018
    except (OSError, AttributeError):
        pytest.skip("needs glibc 2.33 or later")
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}
    out = subprocess.run([sys.executable, "-c", _MAPPED_BLOCKS], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == ["1", "0", "1"]
