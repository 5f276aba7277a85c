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

import ctypes
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from ._utils import HeldSetting
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


def _arrow_on_every_core():
    """Distributed's workers start Arrow with one thread (OMP_NUM_THREADS=1); its
    decoding and encoding use every core, as dask.dataframe.read_parquet sets too."""
    import pyarrow as pa

    if pa.cpu_count() < (os.cpu_count() or 1):
        pa.set_cpu_count(os.cpu_count())


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
        import pyarrow.parquet as pq

        _arrow_on_every_core()
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
def _predicted_slices(frame, model, keep_columns, prefix, plan, predict_kwargs):
    """The output of one partition, a slice of at most `SLICE_ROWS` rows at a time.

    Each slice is a pandas DataFrame with the index of its rows of ``frame``; an empty
    partition gives one empty slice. Every row's prediction depends on that row alone,
    so the slices together equal the prediction of the whole partition.
    """
    import pandas as pd

    if plan is None:
        nested = set(getattr(frame, "nested_columns", []))
        plan = [(c, c, None, None) for c in frame.columns
                if c not in nested and getattr(frame[c].dtype, "kind", "O") in "biuf"]
    table = _frame_table(frame, plan)
    # Monte Carlo draws depend on the rows drawn together: those stay one slice.
    whole = len(table) <= SLICE_ROWS or predict_kwargs.get("uncertainty") == "montecarlo"
    step = max(len(table), 1) if whole else SLICE_ROWS
    for start in range(0, max(len(table), 1), step):
        with warnings.catch_warnings():
            if start:
                warnings.simplefilter("ignore")  # said for the first slice
            result = predict_table(table[start:start + step], model, **predict_kwargs)
        rows = frame.iloc[start:start + step]
        _, names = output_columns(frame.columns, result.colnames, prefix=prefix,
                                  keep_columns=bool(keep_columns))
        columns = {}
        for name, new_name in names.items():
            values = np.asarray(getattr(result[name], "value", result[name]))
            # Model names as pandas' string dtype, empty partition or not, to match meta.
            dtype = str if name == "smass_model" else values.dtype
            columns[new_name] = pd.Series(values, index=rows.index, dtype=dtype)
        predictions = pd.DataFrame(columns, index=rows.index)
        yield rows.assign(**predictions) if keep_columns else predictions


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

    slices = list(_predicted_slices(frame, model, keep_columns, prefix, plan, predict_kwargs))
    return slices[0] if len(slices) == 1 else pd.concat(slices)


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
    arguments = (model, keep_columns, prefix, plan.columns, plan.kwargs)
    result = ddf.map_partitions(predict_partition, *arguments[:4], meta=meta, **plan.kwargs)
    # For write_parquet: this very frame is predicted and written in one task a partition.
    result._smass_prediction = (ddf, arguments)
    return result


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


def _arrow_table(frame, metadata):
    """A partition's pandas DataFrame as the Arrow table written: no index, astropy's
    layout (plain strings) and ``metadata`` (from `_header_for`)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = []
    for field in table.schema:
        if pa.types.is_large_string(field.type) or pa.types.is_string_view(field.type):
            fields.append(field.with_type(pa.string()))
        else:
            fields.append(field)
    if any(a.type != b.type for a, b in zip(fields, table.schema)):
        table = table.cast(pa.schema(fields))
    return table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


def _reuse_freed_memory():
    """Have glibc's malloc reuse freed memory; returns what gives it back to the system.

    Distributed's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_`` set, so that
    freed memory goes back to the system at once. That also has glibc map every
    allocation over 128 KiB afresh and unmap it when freed: each slice's arrays are
    then faulted in page by page anew, which makes predicting and writing a
    partition half as slow again. The undoing puts back the settings the nanny asked
    for and trims the memory freed meanwhile. Elsewhere (no such setting, or not
    glibc) this does nothing and returns None.
    """
    trim = os.environ.get("MALLOC_TRIM_THRESHOLD_")
    try:
        libc = ctypes.CDLL("libc.so.6") if trim is not None else None
    except OSError:
        libc = None
    if libc is None:
        return None
    libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # glibc's largest on 64-bit systems
    libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)

    def give_back():
        libc.mallopt(_M_MMAP_THRESHOLD, int(os.environ.get("MALLOC_MMAP_THRESHOLD_", 128 << 10)))
        libc.mallopt(_M_TRIM_THRESHOLD, int(trim))
        libc.malloc_trim(0)

    return give_back


#: Held by a worker's writing tasks: the last to end gives the memory back.
_freed_memory_reused = HeldSetting(_reuse_freed_memory)


def _write_slices(slices, path, metadata):
    """Write DataFrames to one Parquet file, a row group each; each is encoded and
    compressed in a thread while the next one is made (`_predicted_slices` predicts
    it). Returns the number of rows."""
    import pyarrow.parquet as pq

    from .stream import _WriteBehind, parquet_write_options

    _arrow_on_every_core()
    writer, rows = None, 0
    with _freed_memory_reused:
        background = _WriteBehind()
        try:
            for frame in slices:
                table = _arrow_table(frame, metadata)
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema,
                                              **parquet_write_options(table.schema))
                background(writer.write_table, table)
                rows += len(frame)
        finally:
            try:
                background.close()  # waits for the last slice; raises its error
            finally:
                if writer is not None:
                    writer.close()
    return rows


def _write_partition(frame, path, metadata):
    """Write one partition of any Dask DataFrame, a row group per `SLICE_ROWS` rows."""
    return _write_slices((frame.iloc[start:start + SLICE_ROWS]
                          for start in range(0, max(len(frame), 1), SLICE_ROWS)),
                         path, metadata)


def _predict_and_write(frame, path, metadata, *args):
    """Predict one partition of `predict_dask`'s input and write it, slice by slice:
    a worker writes a slice while it predicts the next, and never holds the
    partition's whole output."""
    return _write_slices(_predicted_slices(frame, *args), path, metadata)


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
    """The ``distributed`` client that ``dask.compute`` would use now, or None."""
    try:
        from distributed import get_client

        client = get_client()
    except (ImportError, ValueError):
        return None
    from dask.base import get_scheduler

    return client if get_scheduler() == client.get else None  # unless told otherwise


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


def _write_numbered(frame, write, folder, width, metadata, arguments, partition_info=None):
    """``write`` a partition to ``folder/part.N.parquet``; its number and rows, a row."""
    import pandas as pd

    number = partition_info["number"]
    rows = write(frame, str(Path(folder) / f"part.{number:0{width}d}.parquet"), metadata,
                 *arguments)
    return pd.DataFrame({"part": [number], "rows": [rows]})


def write_parquet(ddf, path, *, overwrite=False, progress=False):
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

    Returns
    -------
    int
        The number of rows written.

    Notes
    -----
    The frame returned by `predict_dask`, as it is, is predicted and written in one
    task a partition: each slice of `SLICE_ROWS` rows is written while the next one is
    predicted, so a worker holds its input partition and two slices of output, not
    the partition's whole output. Any other frame is computed, then written.
    """
    import pandas as pd
    import pyarrow.parquet as pq

    target = Path(path)
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target} exists; pass overwrite=True to replace it")
    metadata = _header_for(ddf._meta.attrs.get(ATTRS_KEY), list(ddf.columns))
    tmp = _temporary_folder(target)
    try:
        prediction = getattr(ddf, "_smass_prediction", None)
        source, arguments = prediction or (ddf, ())
        width = len(str(max(source.npartitions - 1, 0)))
        # One task a partition: dask fuses it with the making of the partition, so a
        # worker holds one input partition at a time.
        tasks = source.map_partitions(
            _write_numbered, _predict_and_write if prediction else _write_partition,
            str(tmp), width, metadata, arguments, partition_info=True,
            meta={"part": int, "rows": int}, enforce_metadata=False, align_dataframes=False)
        # Computed as a task a partition: computing the frame of counts would also gather
        # them into one partition, and dask would then no longer fuse the tasks.
        counts = pd.concat(_progress_compute(tasks.to_delayed(), progress))
        counts = counts.set_index("part")["rows"]
        # Every partition's file, complete (a worker lost after its task would show here).
        for number in range(source.npartitions):
            path = tmp / f"part.{number:0{width}d}.parquet"
            count = counts.get(number)
            if count is None or not path.exists() or pq.read_metadata(path).num_rows != count:
                raise RuntimeError(f"partition file {path.name} was not written completely")
        rows = int(counts.sum())
        files = sorted(tmp.glob("part.*.parquet"))
        if files:
            schema = pq.read_schema(files[0])
            pq.write_metadata(schema, tmp / "_common_metadata")
        os.chmod(tmp, 0o777 & ~_umask())
        _move_into_place(tmp, target, overwrite)
    except BaseException:
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
