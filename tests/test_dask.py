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
    return predict_table(Table.from_pandas(frame), model, units="mag", **kwargs)


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
