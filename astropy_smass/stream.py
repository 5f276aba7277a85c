"""Stellar masses for catalogues larger than memory: predict a file chunk by chunk.

`predict_file` reads a FITS, Parquet or HDF5 table a block of rows at a time, runs
`~astropy_smass.predict_table` on each block and appends the result to the output
file, so peak memory depends on ``chunk_rows``, not on the length of the catalogue.
Every galaxy's prediction depends on its own row alone, so the output is the same as
predicting the whole table in memory (Monte Carlo uncertainties excepted: see
`predict_file`).

Reading follows astropy's own readers (`~astropy.table.Table.read`) row slice by row
slice, then `astropy_smass.io.restore_metadata`: units, descriptions, UCDs, masks and
mixin columns come back as they would from `astropy_smass.io.read_table`. The output
is written the way `astropy_smass.io.write_table` writes it (FITS headers by
`astropy_smass.io.fits_table_hdu`, Parquet and HDF5 with astropy's YAML metadata), so
``read_table(out_path)`` gives the same table as predicting in memory.
"""

import contextlib
import copy
import gc
import io
import itertools
import sys
import time
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import Column, MaskedColumn, Table, hstack, meta, serialize
from astropy.utils.data_info import serialize_context_as

from ._utils import atomic_write
from .conf import Conf, conf
from .diagnostics import RunSummary
from .exceptions import InputError, MissingFileError, OutputExistsError, UnstreamableError
from .io import FORMATS as IO_FORMATS
from .io import fits_primary_bytes, fits_table_hdu, guess_format, restore_metadata
from .pipeline import _resolve_inputs, output_columns, predict_table

__all__ = ["predict_file", "read_schema", "format_of", "FORMATS", "COMPRESSED_SUFFIXES",
           "DEFAULT_CHUNK_ROWS", "UnstreamableError",
           "parquet_write_options", "parquet_schema"]

#: Suffixes of compressed files, which cannot be read or written a slice at a time.
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zip")

#: File formats `predict_file` streams, with the file-name suffixes that select them
#: (those of `astropy_smass.io.FORMATS`, less the compressed ones).
FORMATS = {name: tuple(s for s in IO_FORMATS[name] if not s.endswith(COMPRESSED_SUFFIXES))
           for name in ("fits", "parquet", "hdf5")}

#: Rows per chunk by default: about 0.2 GB of working memory for 13 bands with errors.
DEFAULT_CHUNK_ROWS = Conf.chunk_rows.defaultvalue


def format_of(path, format=None):
    """The streaming format (a key of `FORMATS`) of a file, from ``format`` or its suffix.

    The suffix is read by `astropy_smass.io.guess_format` (one table of suffixes for
    every path), and the answer limited to the formats that stream.
    """
    if format is not None:
        if format not in FORMATS:
            raise InputError(f"unknown format {format!r}; predict_file streams "
                             f"{', '.join(FORMATS)}")
        return format
    if Path(path).name.lower().endswith(COMPRESSED_SUFFIXES):
        raise InputError(f"{path}: compressed files cannot be read a chunk at a time; "
                         "decompress it first")
    with contextlib.suppress(InputError):
        key = guess_format(path)
        if key in FORMATS:
            return key
    raise InputError(f"cannot tell the format of {path} from its name; pass format= one of "
                     f"{', '.join(FORMATS)} (suffixes: "
                     f"{', '.join(s for v in FORMATS.values() for s in v)})")


# -- readers: row slices as astropy tables ---------------------------------------------
def _apply_header(table, header):
    """Units, descriptions, meta and mixins from an astropy YAML header (HDF5, Parquet)."""
    if header is None:
        return table
    table.meta = copy.deepcopy(header.get("meta", {}))  # mixin rebuilding consumes it
    columns = {c["name"]: c for c in header["datatype"]}
    for col in table.columns.values():
        for attr in ("description", "format", "unit", "meta"):
            if attr in columns.get(col.name, {}):
                setattr(col, attr, columns[col.name][attr])
    # astropy's own HDF5 and Parquet readers rebuild mixins (Quantity, Time,
    # SkyCoord, masked columns) with this function; so do we, chunk by chunk.
    return serialize._construct_mixins_from_columns(table)


class _FitsReader:
    """Row slices of a FITS binary table, decoded by astropy's FITS table reader.

    The file is opened memory-mapped for each chunk and closed after it, so the
    mapped pages of earlier chunks do not accumulate in the process's memory.
    """

    def __init__(self, path, hdu=None):
        self.path = path
        with fits.open(path, memmap=True) as hdul:
            if hdu is None:
                tables = [k for k, h in enumerate(hdul)
                          if isinstance(h, (fits.BinTableHDU, fits.TableHDU))]
                if not tables:
                    raise InputError(f"{path} has no table extension")
                hdu = tables[0]
            try:
                table_hdu = hdul[hdu]
            except (KeyError, IndexError) as exc:
                raise InputError(f"{path} has no HDU {hdu!r}") from exc
            if not isinstance(table_hdu, (fits.BinTableHDU, fits.TableHDU)):
                raise InputError(f"HDU {hdu!r} of {path} is not a table")
            heap = [c.name for c in table_hdu.columns if c.format.startswith(("P", "Q"))]
            if heap:
                raise UnstreamableError(f"{path}: variable-length array columns "
                                 f"({', '.join(heap)}) cannot be streamed")
            self.hdu = hdu
            self.n_rows = table_hdu.header["NAXIS2"]
            self.kind = type(table_hdu)

    def empty(self):
        return self.read(0, 0)

    def read(self, start, stop):
        with fits.open(self.path, memmap=True) as hdul:
            source = hdul[self.hdu]
            part = self.kind(data=source.data[start:stop], header=source.header)
            with warnings.catch_warnings():
                # VO unit strings astropy cannot parse (log(solMass)) are restored below.
                warnings.filterwarnings("ignore", category=u.UnitsWarning)
                table = Table.read(part)
            # Detach from the memory map before it is closed.
            return restore_metadata(table.copy(copy_data=True), source.header)


class _ParquetReader:
    """Record batches of a Parquet file, decoded as astropy's Parquet reader does."""

    def __init__(self, path):
        import pyarrow.parquet as pq

        # No pre-buffering: otherwise pyarrow reads far ahead of the batch it decodes,
        # and memory grows with the file instead of with one row group.
        self.file = pq.ParquetFile(path, pre_buffer=False)
        self.n_rows = self.file.metadata.num_rows
        schema = self.file.schema_arrow
        md = {k.decode(): v.decode() for k, v in (schema.metadata or {}).items()}
        self.header = (_parse_header(md["table_meta_yaml"])
                       if "table_meta_yaml" in md else None)
        self._schema_table = None
        self.schema_key = (tuple((f.name, str(f.type)) for f in schema),
                           tuple(sorted((schema.metadata or {}).items())))
        self.names = schema.names
        self.types = {name: schema.field(name).type for name in self.names}
        self.string_dtypes = {}
        for name, kind in self.types.items():
            import pyarrow as pa

            if pa.types.is_list(kind) or pa.types.is_large_list(kind):
                raise UnstreamableError(f"{path}: variable-length list column {name!r} "
                                        "cannot be streamed")
            if pa.types.is_string(kind) or pa.types.is_large_string(kind):
                width = md.get(f"table::len::{name}") or self._longest(name)
                self.string_dtypes[name] = f"U{max(int(width), 1)}"
            elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
                width = md.get(f"table::len::{name}") or self._longest(name)
                self.string_dtypes[name] = f"S{max(int(width), 1)}"

    def _longest(self, name):
        # No width recorded: one pass over this column alone, so that every chunk
        # gets the same string width.
        import pyarrow.compute as pc

        longest = 0
        for batch in self.file.iter_batches(columns=[name]):
            lengths = pc.binary_length(batch.column(0))
            longest = max(longest, pc.max(lengths).as_py() or 0)
        return longest

    def empty(self):
        if self._schema_table is None:
            # The files of a dataset share their schema: decode it once.
            schema, key = self.file.schema_arrow, self.schema_key
            if key not in _SCHEMA_TABLES:
                if len(_SCHEMA_TABLES) > 64:
                    _SCHEMA_TABLES.clear()
                # (Not schema.empty_table() nor pa.array, which import pandas.)
                import pyarrow as pa

                empty = pa.RecordBatch.from_arrays(
                    [_arrow_array(np.zeros(0, _numpy_dtype(f.type)), f.type)
                     for f in schema], schema=schema)
                _SCHEMA_TABLES[key] = self._table(empty)
            self._schema_table = _SCHEMA_TABLES[key]
        table = self._schema_table.copy(copy_data=False)
        table.meta = copy.deepcopy(table.meta)
        return table

    def batches(self, chunk_rows):
        """The file's record batches, the next one read in a thread while this one is used."""
        return _read_ahead(self.file.iter_batches(batch_size=chunk_rows, use_threads=True))

    def chunks(self, chunk_rows):
        for batch in self.batches(chunk_rows):
            yield self._table(batch)

    def column_plan(self, names):
        """How to build the columns ``names`` of a batch without astropy's decoding.

        A list of ``(name, data column, mask column or None, unit)``, or None when one
        of them is not a plain, masked or Quantity column of numbers (then
        `_table` decodes it).
        """
        schema = self.empty()
        serialized = ((self.header or {}).get("meta") or {}).get("__serialized_columns__", {})
        plan = []
        for name in names:
            if name not in schema.colnames:
                return None
            parts = _components(serialized[name]) if name in serialized else (name, None)
            if parts is None or parts[0] not in self.types:
                return None
            kind = self.types[parts[0]]
            import pyarrow as pa

            if not (pa.types.is_floating(kind) or pa.types.is_integer(kind)):
                return None
            plan.append((name, parts[0], parts[1], getattr(schema[name], "unit", None)))
        return plan

    @staticmethod
    def planned_table(batch, plan):
        """An astropy table of the planned columns of a record batch (no copies where
        the data allow)."""
        table = Table()
        for name, data, mask, unit in plan:
            # Nulls become NaN, as astropy's Parquet reader makes them.
            values = _to_numpy(batch.column(data))
            if mask is None:
                col = Column(values, name=name, unit=unit, copy=False)
            else:
                col = MaskedColumn(values, name=name, unit=unit, copy=False,
                                   mask=_to_numpy(batch.column(mask)))
            table.add_column(col, copy=False)
        return table

    def _table(self, batch):
        # A record batch or a pyarrow table, decoded as astropy's Parquet reader does.
        table = Table()
        for name, array in zip(batch.schema.names, batch.columns):
            values = _to_numpy(array)
            if name in self.string_dtypes:
                values = values.astype(self.string_dtypes[name])
            elif values.dtype == object:  # fixed-size lists
                values = (np.stack(values) if len(values)
                          else np.zeros((0, self.types[name].list_size)))
            table.add_column(Column(values, name=name), copy=False)
        return restore_metadata(_apply_header(table, self.header))


class _Hdf5Reader:
    """Row slices of an astropy-layout HDF5 table (a compound dataset)."""

    def __init__(self, path, dataset=None):
        import h5py
        from astropy.io.misc.hdf5 import _find_all_structured_arrays, meta_path

        self.path = path
        with h5py.File(path, "r") as handle:
            if dataset is None:
                found = _find_all_structured_arrays(handle)
                if not found:
                    raise InputError(f"{path} holds no table (compound dataset)")
                dataset = found[0]
            if dataset not in handle or not isinstance(handle[dataset], h5py.Dataset):
                raise InputError(f"{path} has no dataset {dataset!r}")
            dset = handle[dataset]
            if dset.dtype.names is None or dset.ndim != 1:
                raise InputError(f"{path}:{dataset} is not a table (1-d compound dataset)")
            self.dataset, self.n_rows = dataset, dset.shape[0]
            if meta_path(dataset) in handle:
                self.header = meta.get_header_from_yaml(
                    h.decode("utf-8") for h in handle[meta_path(dataset)])
            else:
                self.header, self.attrs = None, dict(dset.attrs)

    def empty(self):
        return self.read(0, 0)

    def read(self, start, stop):
        import h5py

        with h5py.File(self.path, "r") as handle:
            table = Table(handle[self.dataset][start:stop], copy=False)
        if self.header is None:
            table.meta.update(self.attrs)
            return table
        return restore_metadata(_apply_header(table, self.header))


_HEADERS = {}
_SCHEMA_TABLES = {}
_YAML = {}


def _parse_header(text):
    """astropy's YAML table header, parsed once per distinct text (YAML is slow, and the
    files of a dataset share one header)."""
    if text not in _HEADERS:
        if len(_HEADERS) > 64:
            _HEADERS.clear()
        _HEADERS[text] = meta.get_header_from_yaml(text.split("\n"))
    return copy.deepcopy(_HEADERS[text])


def _components(spec):
    """``(data column, mask column or None)`` of a serialized column of numbers, or None.

    Plain, masked and Quantity columns (masked or not) are stored as one data column
    and an optional ``<name>.mask`` column; any other mixin needs astropy's decoding.
    """
    cls = spec.get("__class__")
    if cls is None:
        return (spec["name"], None) if "name" in spec else None
    if cls == "astropy.units.quantity.Quantity":
        value = spec.get("value")
        return None if value is None else _components(value)
    if cls in ("astropy.table.column.MaskedColumn", "astropy.utils.masked.core.MaskedNDArray"):
        data, mask = _components(spec.get("data", {})), spec.get("mask", {})
        if data is None or data[1] is not None or "name" not in mask:
            return None
        return data[0], mask["name"]
    return None


def _numpy_dtype(kind):
    """The numpy dtype of an Arrow type (object for strings and nested types)."""
    try:
        return np.dtype(kind.to_pandas_dtype()) if kind.num_fields == 0 else np.dtype(object)
    except (NotImplementedError, TypeError):
        return np.dtype(object)


def _arrow_array(values, kind):
    """A numpy array as an Arrow array of type ``kind``, without a copy where possible.

    Numbers go through `pyarrow.Array.from_buffers`: ``pyarrow.array`` would import
    pandas (half a second of a command's start-up) to check for pandas objects.
    """
    import pyarrow as pa

    values = np.asarray(values)
    if (values.ndim == 1 and values.dtype.kind in "iuf" and values.dtype.isnative
            and pa.types.is_primitive(kind) and not pa.types.is_boolean(kind)
            and np.dtype(kind.to_pandas_dtype()) == values.dtype):
        values = np.ascontiguousarray(values)
        return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])
    if values.dtype.kind == "O" and not len(values):
        return pa.nulls(0, kind)
    return pa.array(values, kind)


def _to_numpy(array):
    """An Arrow array as numpy: nulls as NaN (as astropy's reader), no copy for numbers.

    Numbers and booleans without nulls are read from the Arrow buffers themselves:
    ``Array.to_numpy`` would import pandas (see `_arrow_array`).
    """
    import pyarrow as pa

    kind = getattr(array, "type", None)
    if (isinstance(array, pa.Array) and not array.null_count and kind is not None
            and pa.types.is_primitive(kind)):
        buffer = array.buffers()[1]
        n, offset = len(array), array.offset
        if pa.types.is_boolean(kind):
            if buffer is None:
                return np.zeros(n, bool)
            bits = np.unpackbits(np.frombuffer(buffer, np.uint8), bitorder="little")
            return bits[offset:offset + n].astype(bool)
        dtype = np.dtype(kind.to_pandas_dtype())
        if dtype.kind in "iuf" and buffer is not None:
            return np.frombuffer(buffer, dtype, count=n, offset=offset * dtype.itemsize)
    return array.to_numpy(zero_copy_only=False)


def _arrow_strings(names):
    """A short list of str as an Arrow string array (see `_arrow_array`)."""
    import pyarrow as pa

    data = [name.encode() for name in names]
    offsets = np.cumsum([0] + [len(d) for d in data]).astype(np.int32)
    return pa.Array.from_buffers(pa.string(), len(data),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))])


def _read_ahead(iterator):
    """Items of ``iterator``, the next one fetched in a thread while the caller works.

    pyarrow decodes without holding the GIL, so reading overlaps the prediction.
    """
    from concurrent.futures import ThreadPoolExecutor

    iterator = iter(iterator)
    with ThreadPoolExecutor(1, thread_name_prefix="smass-read") as pool:
        pending = pool.submit(next, iterator, None)
        while True:
            item = pending.result()
            if item is None:
                return
            pending = pool.submit(next, iterator, None)
            yield item


class _WriteBehind:
    """Calls ``function(*args)`` in a thread, one call at a time and in order, so
    encoding and compressing a chunk overlaps the prediction of the next."""

    def __init__(self):
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(1, thread_name_prefix="smass-write")
        self.pending = None

    def __call__(self, function, *args):
        self.wait()
        self.pending = self.pool.submit(function, *args)

    def wait(self):
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def close(self):
        try:
            self.wait()
        finally:
            self.pool.shutdown(wait=True)


#: While `files_overlapped` is active: the writing thread of the run over many files.
_RUN_WRITER = None


@contextlib.contextmanager
def files_overlapped():
    """Within this context, a Parquet file's last chunks are written, and the file
    closed, while `predict_file` reads and predicts the next file.

    One writing thread serves every file, in order; the context ends when it has
    written them all, and raises its error if one failed (naming the file). A file
    is renamed to its output name before it is complete, so this is for outputs in a
    temporary folder renamed into place once the context has ended, as
    ``astropy-smass predict`` writes a folder. On Windows, where a file open for
    writing cannot be renamed, each file is still completed in turn.
    """
    global _RUN_WRITER
    if sys.platform == "win32":
        yield
        return
    previous, _RUN_WRITER = _RUN_WRITER, _WriteBehind()
    writer = _RUN_WRITER
    try:
        yield
        writer.wait()
    finally:
        _RUN_WRITER = previous
        with contextlib.suppress(Exception):  # the error that ended the run is the one said
            writer.close()


#: While `shared_run` is active: what one run over many files works out only once
#: (readers by file, model resolutions and other per-schema results by key).
_SHARED = None


@contextlib.contextmanager
def shared_run():
    """Within this context, work that depends only on a file's schema is done once.

    ``astropy-smass predict`` over many files runs in one: each file is opened once,
    and files with the same columns share the resolution of models and band columns.
    """
    global _SHARED
    previous, _SHARED = _SHARED, {}
    try:
        yield _SHARED
    finally:
        _SHARED = previous


def shared(key, make):
    """``make()``, or within `shared_run` its result for ``key`` made once."""
    if _SHARED is None:
        return make()
    if key not in _SHARED:
        _SHARED[key] = make()
    return _SHARED[key]


def _open_reader(path, fmt, hdu, dataset):
    def make():
        if fmt == "fits":
            return _FitsReader(path, hdu)
        if fmt == "parquet":
            return _ParquetReader(path)
        return _Hdf5Reader(path, dataset)

    path = Path(path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = None
    return shared(("reader", str(path.resolve()), stamp, fmt, hdu, dataset), make)


def read_schema(path, format=None, *, hdu=None, dataset=None):
    """The columns of a table file as `predict_file` reads them, without the rows.

    Parameters
    ----------
    path : path-like
        A FITS, Parquet or HDF5 table file.
    format, hdu, dataset
        As for `predict_file`.

    Returns
    -------
    `~astropy.table.Table`
        No rows; the columns with their dtypes, units, descriptions and UCDs, and the
        file's ``meta``: what to check column names, units or UCDs on before a run.

    Raises
    ------
    UnstreamableError
        If the file has columns that cannot be read a chunk at a time.
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"input file {path} does not exist")
    return _open_reader(path, format_of(path, format), hdu, dataset).empty()


def _chunks(reader, chunk_rows):
    if hasattr(reader, "chunks"):
        yield from reader.chunks(chunk_rows)
        return
    for start in range(0, reader.n_rows, chunk_rows):
        yield reader.read(start, min(start + chunk_rows, reader.n_rows))


# -- writers: the output table appended chunk by chunk --------------------------------
def _encode(table, context):
    with serialize_context_as(context):
        return serialize.represent_mixins_as_columns(table)


def _layout_probe(table):
    """One row of ``table`` in which every masked column has a masked entry.

    astropy serialises a masked column with its mask only when something is masked,
    so a chunk without masked values would have another layout than one with. The
    output's layout (schema, dtype, FITS TNULL) is fixed from this probe instead;
    chunks without masked values get an all-False mask.
    """
    probe = table[:1].copy()
    for col in probe.itercols():
        if len(col) and getattr(col, "mask", None) is not None and np.ndim(col.mask):
            col.mask[0] = True
    return probe


class _FitsWriter:
    """A binary table whose header says the final row count; rows are appended raw.

    The header is `~astropy_smass.io.fits_table_hdu`'s, the one
    `~astropy_smass.io.write_table` writes.
    """

    def __init__(self, path, first, n_rows):
        hdu = fits_table_hdu(_layout_probe(first))
        header = hdu.header.copy()
        header["NAXIS2"] = n_rows
        self.formats = [(c.name, c.format) for c in hdu.columns]
        self.row_bytes = header["NAXIS1"]
        with warnings.catch_warnings():
            # Long provenance values go on CONTINUE cards, as io.write_table writes them.
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)
            text = header.tostring().encode("ascii")
        self.handle = open(path, "wb")
        self.handle.write(fits_primary_bytes(_layout_probe(first)))  # FITS-plus metadata
        self.handle.write(text)
        self.written = 0

    def write(self, table):
        table = table.copy(copy_data=False)
        table.meta = {}  # the header was written once; only the rows are wanted
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # said for the first chunk
            hdu = fits_table_hdu(table, metadata=False)
        formats = [(c.name, c.format) for c in hdu.columns]
        if formats != self.formats:
            raise UnstreamableError(f"chunk columns {formats} differ from the first "
                                    f"chunk's {self.formats}")
        # astropy encodes the rows (scaling, nulls, booleans, strings); copy its bytes.
        buffer = io.BytesIO()
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer)
        encoded = buffer.getbuffer()
        with fits.open(io.BytesIO(encoded)) as hdul:
            start = hdul.fileinfo(1)["datLoc"]
        self.handle.write(encoded[start:start + self.row_bytes * len(table)])
        self.written += self.row_bytes * len(table)

    def close(self):
        self.handle.write(b"\0" * (-self.written % 2880))  # FITS blocks are 2880 bytes
        self.handle.close()


def parquet_write_options(schema):
    """Options of `pyarrow.parquet.ParquetWriter` for a catalogue of this schema.

    Dictionary encoding only for columns that are not floating point: measured values
    almost never repeat, and trying a dictionary for them costs most of the writing
    time (a factor 7 on a catalogue of magnitudes) to end in plain encoding anyway.
    """
    import pyarrow as pa

    def floating(kind):
        while pa.types.is_list(kind) or pa.types.is_fixed_size_list(kind):
            kind = kind.value_type
        return pa.types.is_floating(kind)

    return {"version": "2.6",
            "use_dictionary": [f.name for f in schema if not floating(f.type)]}


def _yaml_of(table):
    """astropy's YAML header of a table, made once per distinct set of column
    descriptions and ``meta`` (YAML is slow; the files of a dataset share one)."""
    key = repr([(c.info.name, c.dtype.str, c.shape[1:], str(getattr(c, "unit", None)),
                 c.info.description, c.info.format, c.info.meta) for c in table.itercols()]
               + [table.meta])
    if key not in _YAML:
        if len(_YAML) > 64:
            _YAML.clear()
        _YAML[key] = "\n".join(meta.get_yaml_from_table(table))
    return _YAML[key]


def parquet_schema(table):
    """The Arrow schema, with astropy's metadata, in which ``table`` is written to Parquet.

    Parameters
    ----------
    table : `~astropy.table.Table`
        At least one row: masked columns are laid out with their ``<name>.mask`` column
        whether or not that row is masked.

    Returns
    -------
    `pyarrow.Schema`
        Fields as astropy's Parquet writer makes them; metadata ``table_meta_yaml``
        (units, descriptions, UCDs, ``meta``) and the widths of string columns.
    """
    import pyarrow as pa

    encoded = _encode(_layout_probe(table), "parquet")
    fields, metadata = [], {}
    for name in encoded.colnames:
        dtype = encoded[name].dtype
        if dtype.kind == "O":
            raise UnstreamableError(f"column {name!r} holds objects, which cannot be "
                                    "streamed")
        if dtype.kind == "U":
            metadata[f"table::len::{name}"] = str(dtype.itemsize // 4)
        elif dtype.kind == "S":
            metadata[f"table::len::{name}"] = str(dtype.itemsize)
        base = pa.from_numpy_dtype(dtype.base.type)
        shape = encoded[name].shape[1:]
        kind = pa.list_(base, int(np.prod(shape))) if shape else base
        fields.append((name, kind))
    metadata["table_meta_yaml"] = _yaml_of(encoded)
    return pa.schema(fields, metadata={k.encode(): v.encode() for k, v in metadata.items()})


class _ParquetWriter:
    """Each chunk a row group, schema and astropy metadata from the first chunk."""

    def __init__(self, path, first, n_rows, schema=None):
        import pyarrow.parquet as pq

        self.schema = parquet_schema(first) if schema is None else schema
        self.writer = pq.ParquetWriter(path, self.schema, **parquet_write_options(self.schema))

    def write(self, table):
        import pyarrow as pa

        encoded = _encode(table, "parquet")
        arrays = []
        for name in self.schema.names:
            if name not in encoded.colnames and name.endswith(".mask"):
                encoded[name] = np.zeros(len(encoded), bool)  # nothing masked here
            values = np.asarray(encoded[name])
            values = values.astype(values.dtype.newbyteorder("<"), copy=False)
            kind = self.schema.field(name).type
            if values.ndim > 1:
                flat = pa.array(values.reshape(-1), type=kind.value_type)
                arrays.append(pa.FixedSizeListArray.from_arrays(flat, kind.list_size))
            else:
                arrays.append(pa.array(values, type=kind))
        self.writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))

    def close(self):
        self.writer.close()


class _Hdf5Writer:
    """A compound dataset sized up front, plus astropy's YAML header dataset."""

    def __init__(self, path, first, n_rows, dataset):
        import h5py
        from astropy.io.misc.hdf5 import meta_path

        encoded = self._encode(_layout_probe(first))
        self.dtype = encoded.as_array().dtype
        header = meta.get_yaml_from_table(encoded)
        self.handle = h5py.File(path, "w")
        try:
            self.dset = self.handle.create_dataset(dataset, shape=(n_rows,), dtype=self.dtype)
            self.handle.create_dataset(meta_path(dataset),
                                       data=np.array([h.encode("utf-8") for h in header]))
        except BaseException:
            self.handle.close()
            raise
        self.start = 0

    @staticmethod
    def _encode(table):
        encoded = _encode(table, "hdf5")
        if any(col.info.dtype.kind == "U" for col in encoded.itercols()):
            encoded = encoded.copy(copy_data=False)
            encoded.convert_unicode_to_bytestring()
        return encoded

    def write(self, table):
        encoded = self._encode(table)
        rows = np.zeros(len(encoded), self.dtype)  # masks absent from this chunk: False
        extra = [name for name in encoded.colnames if name not in self.dtype.names]
        if extra:
            raise UnstreamableError(f"chunk columns {extra} are not in the first chunk's "
                                    "layout")
        for name in encoded.colnames:
            rows[name] = encoded[name]
        self.dset[self.start:self.start + len(rows)] = rows
        self.start += len(rows)

    def close(self):
        self.handle.close()


# -- the driver --------------------------------------------------------------------------
class _Progress:
    """A progress bar (rows, per cent, rows/s) on stderr (by default only on a
    terminal), or a callback ``progress(rows_done, rows_total, seconds)``."""

    WIDTH = 24

    def __init__(self, progress, total, unit="rows"):
        self.total, self.start, self.unit, self.label = total, time.perf_counter(), unit, ""
        if progress is None:
            progress = sys.stderr.isatty()
        self.callback = progress if callable(progress) else None
        self.print = progress is True

    def __call__(self, done):
        elapsed = time.perf_counter() - self.start
        if self.callback is not None:
            self.callback(done, self.total, elapsed)
        elif self.print:
            print("\r" + self.line(done, elapsed), end="\n" if done >= self.total else "",
                  file=sys.stderr, flush=True)

    def line(self, done, elapsed):
        rate = done / elapsed if elapsed > 0 else 0.0
        fraction = done / self.total if self.total else 1.0
        filled = int(round(self.WIDTH * min(fraction, 1.0)))
        bar = "#" * filled + "." * (self.WIDTH - filled)
        left = (self.total - done) / rate if rate > 0 and done < self.total else 0.0
        label = f" {self.label}" if self.label and done < self.total else ""
        return (f"astropy-smass: [{bar}] {100 * fraction:3.0f}% {done:,}/{self.total:,} "
                f"{self.unit}, {rate:,.0f} {self.unit}/s, {left:,.0f} s left{label}\x1b[K")


def _fixed_width_strings(table, widths):
    """Give string columns the file-wide width, so every chunk has the same layout."""
    for name, dtype in widths.items():
        if name in table.colnames and table[name].dtype != dtype:
            if table[name].dtype.itemsize > np.dtype(dtype).itemsize:
                raise UnstreamableError(f"column {name!r} has longer strings than its "
                                        f"declared width {dtype}")
            table[name] = table[name].astype(dtype)
    return table


def predict_file(in_path, out_path, chunk_rows=None, format=None,
                 overwrite=False, progress=None, *, model="auto", keep_columns=True,
                 prefix="", out_format=None, hdu=None, dataset=None, out_dataset=None,
                 meta=None, **predict_kwargs):
    """Predict stellar masses for every row of a table file, a chunk of rows at a time.

    Memory stays bounded by ``chunk_rows`` whatever the file's length: the input is
    read a row slice at a time (FITS memory-mapped, Parquet by record batch, HDF5 by
    hyperslab) and the output is appended chunk by chunk. The output is written to a
    temporary file beside ``out_path`` and renamed when complete, so a failed or
    interrupted run leaves no partial file.

    Parameters
    ----------
    in_path, out_path : path-like
        Input and output files. ``out_path`` may have another format than the input.
    chunk_rows : int
        Rows per chunk (Parquet: at most this many; record batches end at row-group
        boundaries). Memory is about ``chunk_rows * (8 * n_columns + ~400)`` bytes.
    format : {None, 'fits', 'parquet', 'hdf5'}
        Format of the input; by default from its suffix (see `FORMATS`).
    overwrite : bool
        Replace ``out_path`` if it exists; otherwise `FileExistsError`.
    progress : None, bool or callable
        ``None``: rows done and rows/s on stderr when stderr is a terminal; ``True``
        always, ``False`` never; a callable is called after every chunk as
        ``progress(rows_done, rows_total, seconds_elapsed)``.
    model : str, path or `~astropy_smass.model.bundle.StellarMassModel`
        As for `~astropy_smass.predict_table`. With ``"auto"`` the models are chosen
        from the column names, so every chunk uses the same ones (checked).
    keep_columns : bool or list of str
        ``True`` (default): the output holds every input column followed by the
        prediction columns; ``False``: the prediction columns alone (row ``i`` of
        the output is row ``i`` of the input); a list: those input columns (an
        identifier, say) and the predictions.
    prefix : str
        Prepended to the prediction column names (to avoid clashes with input columns).
    out_format : {None, 'fits', 'parquet', 'hdf5'}
        Format of the output; by default from its suffix.
    hdu : int or str, optional
        FITS input: the table extension (default the first table).
    dataset : str, optional
        HDF5 input: the table's dataset path (default the first compound dataset).
    out_dataset : str, optional
        HDF5 output: the dataset path (default the input's, ``"data"`` for other inputs;
        `~astropy_smass.io.write_table` writes ``"data"``).
    meta : dict, optional
        Items added to the output's ``meta``, after the input's and before the
        prediction's provenance (e.g. ``smass_redshift_column``).
    **predict_kwargs
        Passed to `~astropy_smass.predict_table` (``columns``, ``errors``, ``units``,
        ``redshift``, ``distance``, ``uncertainty``, ...).

    Returns
    -------
    dict
        ``n_rows``, ``seconds``, ``rows_per_second``, ``models`` (names), ``path``,
        ``n_mass`` (rows with a mass) and ``flag_counts`` (``{flag name: rows}``).

    Notes
    -----
    Each galaxy's mass, uncertainty and flag depend on its own row alone, so the
    output equals ``predict_table(Table.read(in_path))`` row for row, whatever
    ``chunk_rows``. The exception is ``uncertainty='montecarlo'``: each chunk draws
    its own random numbers (seeded from ``seed`` and the chunk's first row, so a run
    is reproducible for a given ``chunk_rows``), and the uncertainties differ from the
    in-memory ones by Monte Carlo noise.

    The provenance that `~astropy_smass.predict_table` puts in ``meta`` is written
    to the output as `~astropy_smass.io.write_table` writes it: as YAML metadata in
    Parquet and HDF5 (read back by `~astropy.table.Table.read`), as the ``SMASS*``
    header keywords in FITS (structured values as JSON), with units in VOUnits and
    ``TCOMMn``/``TUCDn`` cards (read back by `~astropy_smass.io.read_table`).
    """
    in_path, out_path = Path(in_path), Path(out_path)
    chunk_rows = conf.chunk_rows if chunk_rows is None else chunk_rows
    if int(chunk_rows) < 1:
        raise InputError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    chunk_rows = int(chunk_rows)
    fmt = format_of(in_path, format)
    out_fmt = format_of(out_path, out_format)
    if out_path.exists() and not overwrite:
        raise OutputExistsError(f"{out_path} exists; pass overwrite=True (--overwrite) to "
                                "replace it")
    if not in_path.exists():
        raise MissingFileError(f"input file {in_path} does not exist")
    reader = _open_reader(in_path, fmt, hdu, dataset)
    out_dataset = out_dataset or dataset or getattr(reader, "dataset", None) or "data"
    extra_meta = dict(meta or {})
    seed = predict_kwargs.get("seed")
    montecarlo = predict_kwargs.get("uncertainty") == "montecarlo"
    report = _Progress(progress, reader.n_rows)
    summary = {"n_rows": reader.n_rows, "models": None, "path": out_path}
    counts = RunSummary()

    state = {}  # the models and columns, resolved on the first chunk

    def predict(chunk, first_row, kwargs=None, count=True):
        kwargs = dict(predict_kwargs if kwargs is None else kwargs)
        if montecarlo and seed is not None and first_row:
            kwargs["seed"] = [seed, first_row]
        with warnings.catch_warnings():
            if first_row:  # say each warning once, for the first chunk
                warnings.simplefilter("ignore")
            if "_resolved" not in kwargs:
                # Every chunk has the same columns: resolve models and columns once.
                if "resolved" not in state:
                    state["resolved"] = _shared_resolution(chunk, model, kwargs)
                kwargs["_resolved"] = state["resolved"]
            result = predict_table(chunk, model, **kwargs)
        if count:
            counts.add(result["logmstar"], result["smass_flag"])
        models = result.meta.get("smass_models")
        if summary["models"] is None:
            summary["models"] = models
        elif models != summary["models"]:
            raise RuntimeError(f"rows from {first_row} were predicted with models {models}, "
                               f"earlier rows with {summary['models']}")
        if montecarlo and seed is not None:
            result.meta["smass_mc"] = {"n_draws": kwargs.get("n_draws", 100), "seed": seed,
                                       "seeding": "[seed, first row of the chunk]"}
        return result

    def combine(chunk, result, widths):
        # A Table, not a QTable, as `SmassAccessor.annotate` makes it: columns with units.
        result = Table(result, copy=False)
        kept, names = output_columns(chunk.colnames, result.colnames, prefix=prefix,
                                     keep_columns=keep_columns)
        for name, new_name in names.items():
            result.rename_column(name, new_name)
        selected = None
        if keep_columns is True:
            selected = chunk
        elif keep_columns is not False:
            selected = chunk[kept]
        if selected is not None:
            provenance = dict(result.meta)
            out = hstack([selected, result], join_type="exact", metadata_conflicts="silent")
            out.meta = {**selected.meta, **extra_meta, **provenance}
        else:
            out = result
            out.meta = {**extra_meta, **result.meta}
        return _fixed_width_strings(out, widths)

    def fast_plan():
        """What the Parquet-to-Parquet path needs, or None to go through astropy tables."""
        if not (fmt == "parquet" and out_fmt == "parquet" and reader.n_rows):
            return None
        context = [predict_kwargs.get(k) for k in ("redshift", "distance", "ebv")]
        if any(c is not None and not isinstance(c, str) for c in context):
            return None
        schema = reader.empty()
        try:
            resolved = _shared_resolution(schema, model, predict_kwargs)
        except Exception:
            return None  # the slow path raises the same error, in its own words
        _, band_columns, error_columns, _ = resolved
        names = list(dict.fromkeys([*band_columns.values(), *error_columns.values(),
                                    *(c for c in context if c is not None)]))
        plan = reader.column_plan(names)
        if plan is None:
            return None
        # Models and columns resolved once, on the whole file's columns: a table of the
        # planned columns alone is then read as the whole table would be.
        return plan, {**predict_kwargs, "_resolved": resolved}

    def write_fast(tmp, plan, kwargs):
        """Parquet to Parquet on record batches: the input columns go to the output as
        they are, only the photometry becomes numpy arrays, and the output schema and
        its astropy metadata are made once, from the table of one row that the
        general path would write."""
        import pyarrow as pa

        batches = reader.batches(chunk_rows)
        first = next(batches)

        def make_layout():
            probe_chunk = reader._table(first.slice(0, 1))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                probe = predict(probe_chunk, 0, kwargs, count=False)
            widths = dict(reader.string_dtypes)
            names = probe.meta.get("smass_models") or []
            if "smass_model" in probe.colnames:
                widths[prefix + "smass_model"] = f"U{max(map(len, names))}"
            return (parquet_schema(combine(probe_chunk, probe, widths)), names,
                    list(probe.colnames))

        # Files of one layout and one set of arguments share the output layout.
        settings = {k: v for k, v in kwargs.items() if k != "_resolved"}
        key = ("layout", reader.schema_key, tuple(sorted(reader.string_dtypes.items())),
               model if isinstance(model, (str, Path)) else id(model),
               repr(sorted(settings.items(), key=str)), prefix, repr(keep_columns),
               repr(extra_meta))
        schema, names, probe_columns = shared(key, make_layout)
        if summary["models"] is None:
            summary["models"] = names
        layout = _ParquetWriter(tmp, None, reader.n_rows, schema=schema)
        outputs = {prefix + name: name for name in probe_columns}
        sources = []
        for field in layout.schema:
            if field.name in outputs:
                sources.append((field, outputs[field.name], None))
            elif field.name in reader.types and reader.types[field.name] == field.type:
                sources.append((field, None, field.name))
            else:  # an input column that astropy would re-encode: not for this path
                layout.close()
                return False
        model_names = _arrow_strings(names)
        background = _RUN_WRITER or _WriteBehind()
        own = background is not _RUN_WRITER
        done = 0
        try:
            for batch in itertools.chain([first], batches):
                chunk = reader.planned_table(batch, plan)
                result = predict_values(chunk, done, kwargs)
                arrays = []
                for field, output, source in sources:
                    if source is not None:
                        array = batch.column(source)
                        if array.null_count:  # NaN, as astropy reads (and writes) nulls
                            array = _arrow_array(_to_numpy(array), field.type)
                    elif output == "smass_model":
                        column = result[output]
                        index = np.zeros(len(column), np.int32)
                        for k, name in enumerate(names[1:], start=1):
                            index[column == name] = k
                        array = model_names.take(_arrow_array(index, pa.int32()))
                    else:
                        array = _arrow_array(np.asarray(result[output]), field.type)
                    arrays.append(array)
                background(write_into, layout.writer.write_table,
                           pa.Table.from_arrays(arrays, schema=layout.schema))
                done += len(batch)
                del chunk, result, arrays, batch
                gc.collect()  # cheap: the objects made before the loop are frozen
                report(done)
            if not own:  # closed after its last chunk, while the next file goes on
                background(write_into, layout.close)
                layout = None
        finally:
            try:
                if own:
                    background.close()  # waits for the last chunk; raises its error
                elif layout is not None:
                    background.wait()  # nothing of this file left to write
            finally:
                if layout is not None:
                    layout.close()
        if done != reader.n_rows:
            raise RuntimeError(f"read {done} rows from {in_path}, expected {reader.n_rows}")
        return True

    def write_into(function, *args):
        try:
            function(*args)
        except OSError as exc:  # said during the next file of a run: name this one
            raise OSError(exc.errno, exc.strerror or str(exc), str(out_path)) from exc

    def predict_values(chunk, first_row, kwargs):
        """`predict`'s columns as plain arrays."""
        result = predict(chunk, first_row, kwargs)
        return {name: getattr(result[name], "value", result[name]) for name in result.colnames}

    def write(tmp):
        plan = fast_plan()
        if plan is not None and write_fast(tmp, *plan):
            return
        writer = None
        done = 0
        widths = dict(getattr(reader, "string_dtypes", {}))
        try:
            for chunk in _chunks(reader, chunk_rows) if reader.n_rows else [reader.empty()]:
                result = predict(chunk, done)
                if writer is None:
                    names = result.meta.get("smass_models") or []
                    if "smass_model" in result.colnames:
                        widths[prefix + "smass_model"] = f"U{max(map(len, names))}"
                    out = combine(chunk, result, widths)
                    writer = _make_writer(out_fmt, tmp, out, reader.n_rows, out_dataset)
                else:
                    out = combine(chunk, result, widths)
                writer.write(out)
                done += len(chunk)
                # astropy tables hold reference cycles, freed only by the cyclic garbage
                # collector; collecting now keeps memory at one chunk's worth.
                del chunk, result, out
                gc.collect()
                report(done)
        finally:
            if writer is not None:  # also on failure, before atomic_write removes the file
                writer.close()
        if done != reader.n_rows:
            raise RuntimeError(f"read {done} rows from {in_path}, expected {reader.n_rows}")

    start = time.perf_counter()
    # Collecting garbage after each chunk keeps memory at one chunk's worth; freezing
    # the objects made so far (astropy, pyarrow...) makes each collection cheap.
    frozen = gc.get_freeze_count() == 0
    if frozen:
        gc.freeze()
    try:
        atomic_write(out_path, write, overwrite=overwrite, mode=None)
    finally:
        if frozen:
            gc.unfreeze()
    summary["seconds"] = time.perf_counter() - start
    summary["rows_per_second"] = (reader.n_rows / summary["seconds"]
                                  if summary["seconds"] > 0 else float("inf"))
    summary["n_mass"], summary["flag_counts"] = counts.n_mass, dict(counts.flag_counts)
    return summary


def _shared_resolution(table, model, kwargs):
    """`_resolve_inputs` for a table's columns (shared by files of the same columns)."""
    args = [kwargs.get(k) for k in ("columns", "errors", "redshift", "distance", "survey",
                                    "ebv", "kind")]

    def make():
        return _resolve_inputs(table, model, *args)

    if not all(a is None or isinstance(a, (str, dict)) for a in args):
        return make()
    columns = tuple((c.info.name, str(getattr(c, "unit", None)), c.dtype.str,
                     repr(c.info.meta)) for c in table.itercols())
    who = model if isinstance(model, (str, Path)) else id(model)
    return shared(("resolution", columns, who, repr(args)), make)


def _make_writer(fmt, tmp, first, n_rows, dataset):
    if fmt == "fits":
        return _FitsWriter(tmp, first, n_rows)
    if fmt == "parquet":
        return _ParquetWriter(tmp, first, n_rows)
    return _Hdf5Writer(tmp, first, n_rows, dataset)
