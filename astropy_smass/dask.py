"""Stellar masses for Dask and LSDB catalogues, partition by partition.

`predict_dask` maps `~astropy_smass.predict_table` over the partitions of a
`dask.dataframe.DataFrame`; `predict_lsdb` does the same for an LSDB
``Catalog`` (HATS-partitioned sky survey). `write_parquet` and `write_lsdb` write the
results atomically, with the units, descriptions, UCDs and provenance that the
command line writes.

Each partition, a pandas DataFrame, is read as astropy's Parquet reader reads the
file it came from: the photometry columns become numpy arrays (without copies where
the data allow), with the units and masks of the Parquet file's astropy metadata.
When the DataFrame was read with ``dd.read_parquet`` those are found by themselves;
otherwise pass ``schema=`` (a Parquet file or folder, or an astropy table) or say
what unitless columns hold with ``units=`` (``"mag"`` for absolute magnitudes,
``"ABmag"``, ``"Jy"``, or a ``{band: unit}`` dict), exactly as for
`~astropy_smass.predict_table` on a unitless table. So the flags are those of the
in-memory path on the same file, bit for bit: a NaN magnitude is non-finite (flag
2), a value masked in astropy's ``<name>.mask`` column is missing (flag 1), and a
null is NaN, as astropy's Parquet reader makes it.

The output columns are those of `~astropy_smass.predict_table`: ``logmstar``
(log10 M*/Msun, dex), ``logmstar_err``, ``logmstar_err_phot`` (with photometric
errors) and ``logmstar_err_sys`` (dex), ``smass_flag`` (int32 bits) and, when
``model="auto"`` picks among several models, ``smass_model``.

Nothing is computed until the caller calls ``.compute()`` or writes the result
(`write_parquet`, `write_lsdb`); the work then runs wherever the Dask scheduler runs
it: threads, local processes or a cluster.
"""

import contextlib
import os
import shutil
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np

from .exceptions import InputError, MissingFileError, OutputExistsError
from .model.bundle import StellarMassModel
from .model.registry import load_model
from .pipeline import _resolve_inputs, output_columns, predict_table

__all__ = ["predict_dask", "predict_lsdb", "predict_partition", "read_parquet",
           "write_parquet", "write_lsdb", "parquet_files"]

#: Rows predicted at a time within a partition (bounds a worker's working memory).
SLICE_ROWS = 250_000

#: Key of ``DataFrame.attrs`` (on the Dask meta) holding the output's Parquet metadata.
ATTRS_KEY = "astropy_smass_parquet_metadata"


# -- schemas -------------------------------------------------------------------------------
def parquet_files(path):
    """The Parquet files of a file, a folder (recursively) or a HATS catalogue, sorted.

    Hidden files and those starting with ``_`` (``_metadata``, ``_SUCCESS``) are
    left out.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise MissingFileError(f"{path}: no such file or folder")
    if (path / "dataset").is_dir():
        path = path / "dataset"
    files = []
    for candidate in sorted(path.rglob("*.parquet")):
        parts = candidate.relative_to(path).parts
        if not any(part.startswith((".", "_")) for part in parts) and candidate.is_file():
            files.append(candidate)
    return files


def _reader(source):
    """A `astropy_smass.stream._ParquetReader` of the first Parquet file of ``source``."""
    from .stream import _ParquetReader

    files = parquet_files(source)
    if not files:
        raise MissingFileError(f"{source} holds no Parquet files")
    return _ParquetReader(files[0])


def _source_of(ddf):
    """The path a Dask DataFrame was read from with ``read_parquet``, or None."""
    expr = getattr(ddf, "expr", None)
    if expr is None:
        return None
    try:
        for node in expr.walk():
            name = type(node).__name__
            if "FromMap" in name and isinstance(node.operand("func"), _PartitionReader):
                return node.operand("func").source
            if "ReadParquet" in name:
                path = node.path
                if isinstance(path, (list, tuple)):
                    path = path[0] if path else None
                if isinstance(path, (str, os.PathLike)) and Path(path).exists():
                    return path
    except Exception:  # dask's expression internals: no source is no error
        return None
    return None


class _PartitionReader:
    """Reads one Parquet file as one partition, Arrow-backed.

    Without pre-buffering, which holds the whole compressed file in memory beside its
    decoded columns (``dask.dataframe.read_parquet`` always pre-buffers): a worker's
    peak memory is then little more than the partition itself.
    """

    def __init__(self, source, columns):
        self.source = str(source)
        self.columns = columns

    def __call__(self, path):
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        # Distributed's workers start Arrow with one thread (OMP_NUM_THREADS=1); Arrow's
        # decoding and encoding use every core, as dask.dataframe.read_parquet sets too.
        if pa.cpu_count() < (os.cpu_count() or 1):
            pa.set_cpu_count(os.cpu_count())
        # One chunk per row group, so that the prediction reads the columns in place.
        table = pq.ParquetFile(path, pre_buffer=False).read(columns=self.columns)
        return table.to_pandas(types_mapper=pd.ArrowDtype)


class _Plan:
    """What every partition needs, worked out once on the client.

    ``columns``: ``(name, data column, mask column or None, unit)`` of each column the
    prediction reads; ``kwargs``: those of `predict_table`, with the band and error
    columns resolved explicitly; ``metadata``: the output's Parquet schema metadata.
    """

    def __init__(self, frame_columns, model, schema, keep_columns, prefix, predict_kwargs):
        from astropy.table import Table

        reader = None
        if isinstance(schema, Table):
            proto = schema
        elif schema is not None:
            reader = _reader(schema)
            proto = reader.empty()
        else:
            proto = None
        present = set(frame_columns)
        if proto is None:
            proto = Table(names=list(frame_columns), dtype=[float] * len(frame_columns))
        context = [predict_kwargs.get(k) for k in ("redshift", "distance", "ebv")]
        context = [c if isinstance(c, str) else None for c in context]
        resolved = _resolve_inputs(
            proto, model, predict_kwargs.get("columns"), predict_kwargs.get("errors"),
            context[0], context[1], predict_kwargs.get("survey"), context[2],
            predict_kwargs.get("kind"))
        _, band_columns, error_columns, _ = resolved
        names = list(dict.fromkeys([*band_columns.values(), *error_columns.values(),
                                    *(c for c in context if c is not None)]))
        if reader is not None:
            plan = reader.column_plan(names)
            if plan is None:
                raise InputError(f"columns {', '.join(names)} of {schema} are not plain or "
                                 "masked columns of numbers")
        else:
            plan = [(n, n, None, getattr(proto[n], "unit", None) if n in proto.colnames
                     else None) for n in names]
        missing = [c for entry in plan for c in entry[1:3] if c is not None and c not in present]
        if missing:
            raise InputError(f"the catalogue has no columns {', '.join(missing)}")
        self.columns = plan
        # Models and columns resolved once, on the catalogue's columns, for every partition.
        self.kwargs = {**predict_kwargs, "_resolved": resolved}
        self.reader = reader
        self.keep_columns, self.prefix = keep_columns, prefix

    def metadata(self, model, frame):
        """The output's Parquet schema metadata: astropy's YAML header and string widths.

        From one row: of the input file when there is one, else ``frame`` (a sample).
        """
        from .stream import parquet_schema

        if self.reader is not None:
            batch = next(self.reader.file.iter_batches(batch_size=1))
            if batch.num_rows:
                first = self.reader._table(batch.slice(0, 1))
            else:
                first = self.reader.empty()
            first = first[[c for c in first.colnames if _physical_in(c, frame.columns, first)]]
        else:
            nested = set(getattr(frame, "nested_columns", []))
            first = _frame_table(frame.iloc[:1], [(c, c, None, None) for c in frame.columns
                                                  if c not in nested])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = predict_table(_frame_or_table(first, self.columns), model, **self.kwargs)
        out = _combine(first, result, self.keep_columns, self.prefix)
        if not len(out):  # an empty input file: any values will do for the layout
            out = out.copy()
            out.add_row()
        schema = parquet_schema(out)
        metadata = {k.decode(): v.decode() for k, v in (schema.metadata or {}).items()}
        metadata["__fields__"] = [(f.name, str(f.type)) for f in schema]
        return metadata


def _physical_in(name, columns, table):
    """Whether the Parquet columns of ``table[name]`` are all among ``columns``."""
    col = table[name]
    if getattr(col, "mask", None) is not None and np.ndim(col.mask):
        return name in columns and f"{name}.mask" in columns
    return name in columns


def _frame_or_table(table, plan):
    """``table`` restricted to the planned columns (as predict_partition sees them)."""
    return table[[entry[0] for entry in plan if entry[0] in table.colnames]]


def _combine(chunk, result, keep_columns, prefix):
    from astropy.table import Table, hstack

    result = Table(result, copy=False)
    for name in result.colnames:
        result.rename_column(name, prefix + name)
    if keep_columns is False:
        return result
    selected = chunk if keep_columns is True else chunk[list(keep_columns)]
    provenance = dict(result.meta)
    out = hstack([selected, result], join_type="exact", metadata_conflicts="silent")
    out.meta = {**selected.meta, **provenance}
    return out


def _values(series):
    """A pandas column as a numpy array, nulls as NaN (as astropy reads Parquet nulls)."""
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.ArrowDtype):
        from .stream import _to_numpy

        chunked = series.array.__arrow_array__()
        # One chunk (a partition read from one file): its buffer, without a copy.
        values = (_to_numpy(chunked.chunk(0)) if chunked.num_chunks == 1
                  else chunked.to_numpy())
    elif isinstance(dtype, np.dtype):
        values = series.to_numpy()
    elif getattr(dtype, "kind", "O") not in "biuf":
        values = series.to_numpy()
    elif dtype.kind in "biu" and series.hasnans:  # nullable integers with nulls
        return series.to_numpy(dtype=float, na_value=np.nan)
    elif dtype.kind == "b":
        return series.to_numpy(dtype=bool, na_value=False)
    else:
        return series.to_numpy(dtype=dtype.numpy_dtype, na_value=np.nan)
    if values.dtype.kind == "O":  # strings (the layout of non-numeric columns)
        values = np.asarray(["" if v is None or v is pd.NA else str(v) for v in values],
                            dtype=str)
    return values


def _frame_table(frame, plan):
    """An astropy table of the planned columns of a pandas DataFrame."""
    from astropy.table import Column, MaskedColumn, Table

    table = Table()
    for name, data, mask, unit in plan:
        values = _values(frame[data])
        if mask is None:
            col = Column(values, name=name, unit=unit, copy=False)
        else:
            col = MaskedColumn(values, name=name, unit=unit, copy=False,
                               mask=_values(frame[mask]).astype(bool))
        table.add_column(col, copy=False)
    return table


# -- prediction ----------------------------------------------------------------------------
def predict_partition(frame, model="auto", keep_columns=True, prefix="", plan=None,
                      **predict_kwargs):
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
    plan : list, optional
        ``(name, data column, mask column or None, unit)`` of the columns to read
        (`predict_dask` works it out from the Parquet schema); default: every numeric
        column, as it is, without units.

    Returns
    -------
    `pandas.DataFrame`
        Same index as ``frame``.
    """
    import pandas as pd

    if plan is None:
        nested = set(getattr(frame, "nested_columns", []))
        plan = [(c, c, None, None) for c in frame.columns
                if c not in nested and getattr(frame[c].dtype, "kind", "O") in "biuf"]
    table = _frame_table(frame, plan)
    if len(table) <= SLICE_ROWS or predict_kwargs.get("uncertainty") == "montecarlo":
        result = predict_table(table, model, **predict_kwargs)
        outputs = {name: result[name] for name in result.colnames}
    else:
        # Slices of the partition, one after the other: the working memory of one
        # slice, and the same values (each row's prediction depends on that row alone).
        parts = []
        for start in range(0, len(table), SLICE_ROWS):
            with warnings.catch_warnings():
                if start:
                    warnings.simplefilter("ignore")  # said for the first slice
                part = predict_table(table[start:start + SLICE_ROWS], model, **predict_kwargs)
            parts.append({name: np.asarray(getattr(part[name], "value", part[name]))
                          for name in part.colnames})
        outputs = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    _, names = output_columns(frame.columns, list(outputs), prefix=prefix,
                              keep_columns=bool(keep_columns))
    columns = {}
    for name, new_name in names.items():
        values = np.asarray(getattr(outputs[name], "value", outputs[name]))
        # Model names as pandas' string dtype, empty partition or not, to match meta.
        dtype = str if name == "smass_model" else values.dtype
        columns[new_name] = pd.Series(values, index=frame.index, dtype=dtype)
    predictions = pd.DataFrame(columns, index=frame.index)
    if not keep_columns:
        return predictions
    return frame.assign(**{c: predictions[c] for c in predictions.columns})


def _resolve_model(model):
    # A loaded model travels to the workers with the task; a name or path is loaded
    # here once, so that a bad name fails now rather than on every worker.
    if isinstance(model, str) and model == "auto":
        return model
    return model if isinstance(model, StellarMassModel) else load_model(model)


def predict_dask(ddf, model="auto", *, keep_columns=True, prefix="", schema=None,
                 **predict_kwargs):
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
    schema : path or `~astropy.table.Table`, optional
        Where the columns' units and masks are described: a Parquet file or folder
        written by astropy (or by this package), or a table with the columns' units.
        Default: the Parquet files ``ddf`` was read from, if it was read with
        ``read_parquet``; else none (say ``units=``).
    **predict_kwargs
        As for `~astropy_smass.predict_table`: ``units=``, ``columns=``, ``errors=``,
        ``redshift=`` (a column name), ``uncertainty=``, ...

    Returns
    -------
    `dask.dataframe.DataFrame`
        With a declared ``meta``: the output schema is known before anything runs.
        `write_parquet` writes it with the units, descriptions and provenance of the
        command line's output.

    Notes
    -----
    ``uncertainty='montecarlo'`` with a ``seed`` draws the same random numbers in
    every partition (each starts the generator afresh); pass ``seed=None`` for
    independent draws, or use the analytic uncertainties.
    """
    from dask.dataframe.utils import make_meta

    model = _resolve_model(model)
    schema = _source_of(ddf) if schema is None else schema
    empty = make_meta(ddf).iloc[:0]
    plan = _Plan(list(empty.columns), model, schema, keep_columns, prefix, predict_kwargs)
    # The output schema from an empty partition: the same code path, no data.
    meta = predict_partition(empty, model, keep_columns, prefix, plan.columns, **plan.kwargs)
    try:
        sample = ddf._meta_nonempty
    except Exception:
        sample = empty
    meta.attrs[ATTRS_KEY] = plan.metadata(model, sample)
    return ddf.map_partitions(predict_partition, model, keep_columns, prefix, plan.columns,
                              meta=meta, **plan.kwargs)


def read_parquet(path, columns=None, **kwargs):
    """Parquet files as a Dask DataFrame with Arrow-backed columns (no copies, nulls kept).

    One partition per file. Without further arguments the files are read with
    `pyarrow.parquet.ParquetFile` (no pre-buffering, so a worker holds little more
    than its partition); with them, by `dask.dataframe.read_parquet`.

    Parameters
    ----------
    path : path-like
        A Parquet file, a folder of them, or a HATS catalogue's folder.
    columns : list of str, optional
        Columns to read; a masked column's ``<name>.mask`` column is added.
    **kwargs
        Passed to `dask.dataframe.read_parquet` (``filters=``, ``split_row_groups=``...).
    """
    import dask.dataframe as dd

    files = [str(f) for f in parquet_files(path)]
    if not files:
        raise MissingFileError(f"{path} holds no Parquet files")
    if columns is not None:
        names = set(_reader(path).names)
        columns = list(dict.fromkeys(
            [c for name in columns for c in (name, f"{name}.mask") if c in names]
            + [c for c in columns if c not in names]))
    if kwargs:
        kwargs.setdefault("dtype_backend", "pyarrow")
        return dd.read_parquet(files, columns=columns, **kwargs)
    import pandas as pd
    import pyarrow.parquet as pq

    schema = pq.read_schema(files[0])
    if columns is not None:
        schema = _select_schema(schema, columns)
    meta = schema.empty_table().to_pandas(types_mapper=pd.ArrowDtype)
    return dd.from_map(_PartitionReader(path, columns), files, meta=meta,
                       label="read-parquet", enforce_metadata=False)


def _select_schema(schema, columns):
    """``schema`` with only ``columns``, in that order (unknown names are an error)."""
    import pyarrow as pa

    missing = [c for c in columns if schema.get_field_index(c) < 0]
    if missing:
        raise InputError(f"no column {', '.join(map(repr, missing))} in the Parquet files")
    return pa.schema([schema.field(c) for c in columns], metadata=schema.metadata)


def predict_lsdb(catalog, model="auto", *, prefix="", schema=None, **predict_kwargs):
    """Predict stellar masses for an LSDB catalogue, lazily, partition by partition.

    Parameters
    ----------
    catalog : ``lsdb.Catalog``
        A HATS catalogue opened with ``lsdb.open_catalog`` (or built with
        ``lsdb.from_dataframe``).
    model, prefix, **predict_kwargs
        As for `predict_dask` (``units=`` for the unitless columns).
    schema : path or `~astropy.table.Table`, optional
        As for `predict_dask`: where the columns' units and masks are described
        (the Parquet files the catalogue was imported from, say). Default: the
        catalogue's own ``_common_metadata`` when it holds astropy's metadata (as
        `write_lsdb` writes it).

    Returns
    -------
    ``lsdb.Catalog``
        The catalogue's columns followed by the prediction columns, on the same
        HEALPix partitions, so it can be cross-matched, filtered or written
        (`write_lsdb`, or LSDB's ``write_catalog``).
    """
    model = _resolve_model(model)
    frame_columns = list(catalog.columns)
    if schema is None:
        schema = _schema_of_catalog(catalog)
    plan = _Plan(frame_columns, model, schema, True, prefix, predict_kwargs)
    # No meta given: LSDB finds the output schema by calling the function on an empty
    # partition of the catalogue's own type (a nested-pandas NestedFrame).
    result = catalog.map_partitions(predict_partition, model, True, prefix, plan.columns,
                                    **plan.kwargs)
    try:
        result._smass_metadata = plan.metadata(model, catalog.meta)
    except Exception:  # the layout of unusual columns: the catalogue is written without
        result._smass_metadata = None
    return result


def _schema_of_catalog(catalog):
    from astropy.table import meta

    schema = getattr(getattr(catalog, "hc_structure", None), "schema", None)
    text = (getattr(schema, "metadata", None) or {}).get(b"table_meta_yaml")
    if not text:
        return None
    from astropy.table import Table

    header = meta.get_header_from_yaml(text.decode().split("\n"))
    table = Table()
    for entry in header["datatype"]:
        table[entry["name"]] = np.zeros(0, float)
        if entry.get("unit"):
            table[entry["name"]].unit = entry["unit"]
    return table


# -- writing ---------------------------------------------------------------------------------
def _header_for(metadata, columns):
    """The Parquet metadata (bytes) for a frame of ``columns``, from `_Plan.metadata`."""
    from astropy.table import Column, meta

    if not metadata:
        return {}
    metadata = dict(metadata)
    fields = metadata.pop("__fields__", [])
    if [name for name, _ in fields] != list(columns):
        # Columns were selected or added after the prediction: describe those present.
        header = meta.get_header_from_yaml(metadata["table_meta_yaml"].split("\n"))
        header["datatype"] = [d for d in header["datatype"] if d["name"] in columns]
        serialized = header.get("meta", {}).get("__serialized_columns__")
        if serialized:
            for name in [n for n in serialized if n not in columns]:
                del serialized[name]
        columns_of_header = []
        for entry in header["datatype"]:
            dtype = {"string": "U1", "bytes": "S1"}.get(entry["datatype"], entry["datatype"])
            columns_of_header.append(Column(
                np.zeros(0, dtype), name=entry["name"], unit=entry.get("unit"),
                description=entry.get("description"), meta=entry.get("meta"),
                format=entry.get("format")))
        header = {"cols": columns_of_header, "meta": header.get("meta", {})}
        metadata["table_meta_yaml"] = "\n".join(meta.get_yaml_from_header(header))
        metadata = {k: v for k, v in metadata.items()
                    if not k.startswith("table::len::") or k[12:] in columns}
    return {k.encode(): v.encode() for k, v in metadata.items()}


_BEHIND = {"pool": None, "pending": [], "lock": threading.Lock()}


def _write_table(table, path):
    import pyarrow.parquet as pq

    from .stream import parquet_write_options

    pq.write_table(table, path, row_group_size=SLICE_ROWS,
                   **parquet_write_options(table.schema))


def _write_partition(frame, path, metadata, behind=False):
    """Write one partition; with ``behind``, in a thread of this worker process, so that
    the worker reads and predicts its next partition meanwhile (`_flush_writes` waits)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = []
    for field in table.schema:  # astropy's layout: plain strings
        if pa.types.is_large_string(field.type) or pa.types.is_string_view(field.type):
            fields.append(field.with_type(pa.string()))
        else:
            fields.append(field)
    if any(a.type != b.type for a, b in zip(fields, table.schema)):
        table = table.cast(pa.schema(fields))
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    if not behind:
        _write_table(table, path)
        return len(frame)
    from concurrent.futures import ThreadPoolExecutor

    with _BEHIND["lock"]:
        if _BEHIND["pool"] is None:
            _BEHIND["pool"] = ThreadPoolExecutor(1, thread_name_prefix="smass-write")
        pending = _BEHIND["pending"]
    while True:  # one partition written behind at a time: memory of two partitions
        with _BEHIND["lock"]:
            busy = [f for f in pending if not f.done()]
            if not busy:
                break
        busy[0].result()
    with _BEHIND["lock"]:
        pending.append(_BEHIND["pool"].submit(_write_table, table, path))
    return len(frame)


def _flush_writes():
    """Wait for this process's writes behind; raise the first error. Returns their count."""
    with _BEHIND["lock"]:
        pending, _BEHIND["pending"] = list(_BEHIND["pending"]), []
    for future in pending:
        future.result()
    return len(pending)


def _temporary_folder(target):
    target = Path(target)
    if not target.parent.is_dir():
        raise MissingFileError(f"cannot write {target}: folder {target.parent} does not exist")
    return Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part"))


def _move_into_place(tmp, target, overwrite):
    target = Path(target)
    if target.exists():
        if not overwrite:
            raise OutputExistsError(f"{target} exists; pass overwrite=True to replace it")
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.",
                                    suffix=".old"))
        os.replace(target, old / "replaced")
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


def _client():
    """The running ``distributed`` client, or None."""
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None


def _progress_compute(tasks, progress):
    """Compute delayed ``tasks`` with a progress display; returns their results."""
    import dask

    client = _client()
    if client is not None:
        futures = client.compute(tasks)
        if progress:
            from distributed import progress as show

            show(futures, notebook=False)
        return client.gather(futures)
    if progress:
        from dask.diagnostics import ProgressBar

        with ProgressBar():
            return dask.compute(*tasks)
    return dask.compute(*tasks)


def write_parquet(ddf, path, *, overwrite=False, progress=False, write_behind=False):
    """Write a Dask DataFrame (from `predict_dask`) as a folder of Parquet files, atomically.

    Each partition becomes ``part.N.parquet`` with astropy's metadata (units,
    descriptions, UCDs, provenance: what ``astropy-smass predict`` writes), no index
    column, and a ``_common_metadata`` file with the schema. The files are written to
    a temporary folder beside ``path`` that is renamed to ``path`` only when every
    partition has been written: a failed run leaves nothing that reads as a
    catalogue.

    Parameters
    ----------
    ddf : `dask.dataframe.DataFrame`
    path : path-like
        The folder to write.
    overwrite : bool
        Replace ``path`` if it exists (only once the new one is complete).
    progress : bool
        Show the progress of the partitions (``distributed``'s progress bar when a
        client is running, else ``dask.diagnostics.ProgressBar``).
    write_behind : bool
        With a ``distributed`` cluster: each worker writes a partition in a thread while
        it reads and predicts its next one (faster when the worker's process has a core
        to spare, at the cost of a second partition in its memory).

    Returns
    -------
    int
        The number of rows written.
    """
    import dask
    import pyarrow.parquet as pq

    target = Path(path)
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target} exists; pass overwrite=True to replace it")
    metadata = _header_for(ddf._meta.attrs.get(ATTRS_KEY), list(ddf.columns))
    tmp = _temporary_folder(target)
    client = None
    try:
        parts = ddf.to_delayed()
        width = len(str(max(len(parts) - 1, 0)))
        paths = [tmp / f"part.{k:0{width}d}.parquet" for k in range(len(parts))]
        client = _client() if write_behind else None
        # With a cluster, each worker may write behind while it predicts the next partition.
        write = dask.delayed(_write_partition, pure=False)
        tasks = [write(part, str(path), metadata, client is not None)
                 for part, path in zip(parts, paths)]
        counts = _progress_compute(tasks, progress)
        if client is not None:
            client.run(_flush_writes)
        # Every partition's file, complete (a worker lost after its task would show here).
        for path, count in zip(paths, counts):
            if not path.exists() or pq.read_metadata(path).num_rows != count:
                raise RuntimeError(f"partition file {path.name} was not written completely")
        rows = sum(counts)
        files = sorted(tmp.glob("part.*.parquet"))
        if files:
            schema = pq.read_schema(files[0])
            pq.write_metadata(schema, tmp / "_common_metadata")
        os.chmod(tmp, 0o777 & ~_umask())
        _move_into_place(tmp, target, overwrite)
    except BaseException:
        if client is not None:  # writes still behind on live workers: let them end first
            with contextlib.suppress(Exception):
                client.run(_flush_writes)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return rows


def write_lsdb(catalog, path, *, overwrite=False, progress=False, **write_kwargs):
    """Write an LSDB catalogue (from `predict_lsdb`) as a HATS catalogue, atomically.

    LSDB's ``write_catalog`` writes into a temporary folder beside ``path``, renamed
    to ``path`` when complete; astropy's metadata (units, descriptions, provenance) go
    in the catalogue's ``dataset/_common_metadata``, where
    `astropy_smass.io.read_table` finds them for the partition files.

    Parameters
    ----------
    catalog : ``lsdb.Catalog``
    path : path-like
    overwrite : bool
        Replace ``path`` if it exists (only once the new one is complete).
    progress : bool
        LSDB's progress bar.
    **write_kwargs
        Passed to ``Catalog.write_catalog`` (``catalog_name=``, ...).

    Returns
    -------
    `pathlib.Path`
        ``path``.
    """
    import pyarrow.parquet as pq

    target = Path(path)
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target} exists; pass overwrite=True to replace it")
    tmp = _temporary_folder(target)
    try:
        write_kwargs.setdefault("catalog_name", target.name)
        write_kwargs.setdefault("as_collection", False)
        catalog.write_catalog(tmp, overwrite=True, progress_bar=progress, **write_kwargs)
        metadata = getattr(catalog, "_smass_metadata", None)
        common = tmp / "dataset" / "_common_metadata"
        if metadata and common.exists():
            schema = pq.read_schema(common)
            extra = _header_for(metadata, schema.names)
            pq.write_metadata(schema.with_metadata({**(schema.metadata or {}), **extra}),
                              common)
        os.chmod(tmp, 0o777 & ~_umask())
        _move_into_place(tmp, target, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
