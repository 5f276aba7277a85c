"""Stellar masses for Dask and LSDB catalogues, partition by partition.

`predict_dask` maps `~astropy_smass.predict_table` over the partitions of a
`dask.dataframe.DataFrame`; `predict_lsdb` does the same for an LSDB
``Catalog`` (HATS-partitioned sky survey). Each partition, a pandas DataFrame, is
turned into an astropy `~astropy.table.Table`, predicted, and the prediction columns
come back as plain float and integer columns, with the partition's index.

pandas columns carry no units, so say what the photometry is with ``units=``
(``"mag"`` for absolute magnitudes, ``"ABmag"``, ``"Jy"``, or a ``{band: unit}``
dict), exactly as for `~astropy_smass.predict_table` on a unitless table; error
columns of magnitude bands are taken to be in mag, of flux bands in the flux's unit.
The output columns are ``logmstar`` (log10 M*/Msun, dex), ``logmstar_err`` and
``logmstar_err_phot`` (dex, with uncertainties), ``smass_flag`` (int32 bits) and,
when ``model="auto"`` picks among several models, ``smass_model``.

Nothing is computed until the caller calls ``.compute()`` (or writes the result
with ``to_parquet`` and the like); the work then runs wherever the Dask scheduler
runs it: threads, local processes or a cluster.
"""

import numpy as np

from .accessor import predict_table
from .model.bundle import StellarMassModel, load_model

__all__ = ["predict_dask", "predict_lsdb", "predict_partition"]


def predict_partition(frame, model="auto", keep_columns=True, prefix="", **predict_kwargs):
    """Predict stellar masses for one pandas DataFrame (one partition).

    Parameters
    ----------
    frame : `pandas.DataFrame`
        Photometry, one galaxy a row (nested LSDB columns are passed through).
    model, **predict_kwargs
        As for `~astropy_smass.predict_table` (``units=`` for unitless columns).
    keep_columns : bool
        Return the input columns followed by the predictions (default) or the
        predictions alone.
    prefix : str
        Prepended to the prediction column names.

    Returns
    -------
    `pandas.DataFrame`
        Same index as ``frame``.
    """
    import pandas as pd
    from astropy.table import Table

    nested = list(getattr(frame, "nested_columns", []))
    flat = frame.drop(columns=nested) if nested else frame
    table = Table.from_pandas(flat, index=False)
    result = predict_table(table, model, **predict_kwargs)
    columns = {}
    for name in result.colnames:
        values = np.asarray(getattr(result[name], "value", result[name]))
        # Model names as pandas' string dtype, empty partition or not, to match meta.
        dtype = str if name == "smass_model" else values.dtype
        columns[prefix + name] = pd.Series(values, index=frame.index, dtype=dtype)
    predictions = pd.DataFrame(columns, index=frame.index)
    if not keep_columns:
        return predictions
    clashes = [c for c in predictions.columns if c in frame.columns]
    if clashes:
        raise ValueError(f"the catalogue already has columns {', '.join(clashes)}; pass "
                         "prefix= or keep_columns=False")
    return frame.assign(**{c: predictions[c] for c in predictions.columns})


def _resolve_model(model):
    # A loaded model travels to the workers with the task; a name or path is loaded
    # here once, so that a bad name fails now rather than on every worker.
    if isinstance(model, str) and model == "auto":
        return model
    return model if isinstance(model, StellarMassModel) else load_model(model)


def predict_dask(ddf, model="auto", *, keep_columns=True, prefix="", **predict_kwargs):
    """Predict stellar masses for a Dask DataFrame, lazily, partition by partition.

    Parameters
    ----------
    ddf : `dask.dataframe.DataFrame`
        Photometry, one galaxy a row.
    model : str, path or `~astropy_smass.model.bundle.StellarMassModel`
        As for `~astropy_smass.predict_table`. ``"auto"`` chooses from the column
        names, which every partition shares, so every partition uses the same
        models (each worker must have the same models installed); a loaded model is
        shipped to the workers with the tasks.
    keep_columns : bool
        Input columns followed by the predictions (default), or the predictions alone
        (same index, so they can be joined back).
    prefix : str
        Prepended to the prediction column names.
    **predict_kwargs
        As for `~astropy_smass.predict_table`: ``units=`` (pandas columns have no
        units), ``columns=``, ``errors=``, ``redshift=`` (a column name),
        ``uncertainty=``, ...

    Returns
    -------
    `dask.dataframe.DataFrame`
        With a declared ``meta``: the output schema is known before anything runs.

    Notes
    -----
    ``uncertainty='montecarlo'`` with a ``seed`` draws the same random numbers in
    every partition (each starts the generator afresh); pass ``seed=None`` for
    independent draws, or use the analytic uncertainties.
    """
    model = _resolve_model(model)
    # The output schema from an empty partition: the same code path, no data.
    from dask.dataframe.utils import make_meta

    meta = predict_partition(make_meta(ddf).iloc[:0], model, keep_columns, prefix,
                             **predict_kwargs)
    return ddf.map_partitions(predict_partition, model, keep_columns, prefix, meta=meta,
                              **predict_kwargs)


def predict_lsdb(catalog, model="auto", *, prefix="", **predict_kwargs):
    """Predict stellar masses for an LSDB catalogue, lazily, partition by partition.

    Parameters
    ----------
    catalog : ``lsdb.Catalog``
        A HATS catalogue opened with ``lsdb.open_catalog`` (or built with
        ``lsdb.from_dataframe``).
    model, prefix, **predict_kwargs
        As for `predict_dask` (``units=`` for the unitless columns).

    Returns
    -------
    ``lsdb.Catalog``
        The catalogue's columns followed by the prediction columns, on the same
        HEALPix partitions, so it can be cross-matched, filtered or written with
        ``to_hats`` like any other LSDB catalogue.
    """
    model = _resolve_model(model)
    # No meta given: LSDB finds the output schema by calling the function on an empty
    # partition of the catalogue's own type (a nested-pandas NestedFrame).
    return catalog.map_partitions(predict_partition, model, True, prefix, **predict_kwargs)
