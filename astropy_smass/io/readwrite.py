"""Reading and writing tables, with units, UCDs and provenance that VO tools understand.

`write_table` writes VOTable, FITS, ECSV, CSV, HDF5 or Parquet, chosen by the file
extension or explicitly, to a file (atomically: through a temporary file that is
renamed, so a failed write leaves nothing behind) or to standard output (``-``).
`read_table` reads any of those, from a file or standard input.

Units in VOTable and FITS follow the IVOA VOUnits 1.0 Recommendation (2014), which
is what TOPCAT, STILTS and other VO tools expect. Astropy's logarithmic units have no
VOUnit form, so they are written with the spec's functions (its Table 8): a log
stellar mass in ``dex(solMass)`` becomes ``log(solMass)``, meaning log10(M / 1 solMass).
``dex`` itself is not a VOUnits known unit and, unquoted, would parse as deci-``ex``;
a difference of logarithms (an error in dex) is therefore written as the quoted
unknown unit ``'dex'`` (VOUnits section 2.11) in VOTable, and as ``dex`` in FITS, whose
unit syntax has no quoting. `read_table` turns both back into astropy's
``dex(solMass)`` and ``dex``. ECSV, HDF5 and Parquet keep astropy's own unit strings
and metadata unchanged.

Column descriptions and UCDs (``column.info.description`` and
``column.info.meta['ucd']``) become VOTable ``DESCRIPTION``/``ucd`` and FITS
``TCOMMn``/``TUCDn``; the prediction's provenance (the ``smass_*`` items of
``table.meta``) becomes VOTable ``INFO`` elements and ``SMASS*`` FITS header keywords.
"""

import contextlib
import gzip
import importlib.util
import json
import re
import shutil
import sys
import tempfile
import warnings
import zlib
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Column, MaskedColumn, QTable, Table

from .._utils import atomic_write, json_default
from ..exceptions import InputError, MissingFileError, TableReadError

__all__ = ["FORMATS", "TableReadError", "guess_format", "detect_format", "read_table",
           "write_table", "vo_unit_string", "unit_from_vo", "provenance_items",
           "fits_table_hdu", "restore_metadata", "to_votable"]

#: Supported formats and the file extensions that select them. A ``.gz`` extension
#: means a gzip-compressed file (written compressed, read decompressed).
FORMATS = {
    "votable": (".vot", ".votable", ".xml", ".vot.gz", ".votable.gz", ".xml.gz"),
    "fits": (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz"),
    "ecsv": (".ecsv", ".ecsv.gz"),
    "csv": (".csv", ".csv.gz"),
    "hdf5": (".hdf5", ".h5", ".he5", ".hdf"),
    "parquet": (".parquet", ".parq", ".pq"),
}

#: Formats that are read but not written: ``ascii`` is any text table astropy can
#: guess (whitespace-separated, with a header line), or one value per single space.
READ_ONLY_FORMATS = {"ascii": (".txt", ".dat", ".tbl", ".txt.gz", ".dat.gz")}

_ASTROPY_FORMAT = {"votable": "votable", "fits": "fits", "ecsv": "ascii.ecsv",
                   "csv": "ascii.csv", "hdf5": "hdf5", "parquet": "parquet"}
_MODULE_FOR = {"hdf5": ("h5py",), "parquet": ("pyarrow",)}
# astropy's Parquet reader needs pandas too (its writer does not).
_READ_MODULES = {"hdf5": ("h5py",), "parquet": ("pyarrow", "pandas")}
_GZIP_MAGIC = b"\x1f\x8b"

#: FITS header keywords for the provenance items of ``table.meta``.
_FITS_KEYWORDS = {
    "smass_version": ("SMASSVER", "astropy-smass version"),
    "smass_model": ("SMASSMOD", "model (auto: best usable model per galaxy)"),
    "smass_models": ("SMASSMDS", "models used"),
    "smass_model_sources": ("SMASSSRC", "distribution and version of each model"),
    "smass_uncertainty": ("SMASSUNC", "uncertainty propagation"),
    "smass_correction": ("SMASSCOR", "residual-bias correction per model"),
    "smass_intrinsic_scatter_dex": ("SMASSSCT", "intrinsic scatter per model (dex)"),
    "smass_out_of_domain": ("SMASSOOD", "galaxies outside the training domain"),
    "smass_band_columns": ("SMASSBND", "band columns used"),
    "smass_error_columns": ("SMASSERR", "error columns used"),
    "smass_flag_bits": ("SMASSFLG", "smass_flag bits"),
    "smass_mc": ("SMASSMC", "Monte Carlo draws and seed"),
    "smass_cosmology": ("SMASSCOS", "cosmology for distances from redshifts"),
    "smass_redshift_column": ("SMASSZ", "redshift column"),
    "smass_tap_url": ("SMASSTAP", "TAP service queried"),
    "smass_adql": ("SMASSQRY", "ADQL query"),
    "smass_truncated": ("SMASSTRN", "TAP result truncated by a row limit"),
}
_FITS_META = {keyword: key for key, (keyword, _) in _FITS_KEYWORDS.items()}


# -- units ----------------------------------------------------------------------------------
def vo_unit_string(unit, fits=False):
    """The VOUnits string for an astropy unit.

    Parameters
    ----------
    unit : `~astropy.units.UnitBase` or None
    fits : bool
        Write for a FITS header, where unknown units cannot be quoted.

    Returns
    -------
    str or None
        ``log(solMass)`` for ``dex(solMass)``; ``'dex'`` (``dex`` for FITS) for
        ``dex``; ``mag`` for astropy's magnitude units; the VOUnit string of any
        other unit, or astropy's own string where none exists.

    Examples
    --------
    >>> import astropy.units as u
    >>> vo_unit_string(u.dex(u.Msun))
    'log(solMass)'
    >>> vo_unit_string(u.dex)
    "'dex'"
    >>> vo_unit_string(u.Msun)
    'solMass'
    """
    if unit is None:
        return None
    if isinstance(unit, u.UnrecognizedUnit):
        return unit.name
    dex = "dex" if fits else "'dex'"
    if isinstance(unit, u.DexUnit):
        physical = unit.physical_unit
        if physical == u.dimensionless_unscaled:
            return dex
        return f"log({vo_unit_string(physical, fits)})"
    if isinstance(unit, u.MagUnit):
        return "mag"
    if unit == u.dex:
        return dex
    if unit == u.dimensionless_unscaled:
        return ""
    try:
        return unit.to_string("fits" if fits else "vounit")
    except ValueError:
        return unit.to_string()


_LOG_UNIT = re.compile(r"^\s*log\s*\((.+)\)\s*$")


def unit_from_vo(unit):
    """The astropy unit for a VOUnits (or FITS) string, the inverse of `vo_unit_string`.

    Parameters
    ----------
    unit : str, `~astropy.units.UnitBase` or None

    Returns
    -------
    `~astropy.units.UnitBase` or None
        ``log(X)`` becomes ``dex(X)``, ``'dex'`` and ``dex`` become ``dex``; any other
        recognised unit is returned as parsed; an unrecognisable one unchanged (as an
        `~astropy.units.UnrecognizedUnit`).
    """
    if unit is None:
        return None
    if not isinstance(unit, str):
        if getattr(unit, "name", None) == "dex":
            # astropy's VOUnit parser makes an unknown unit of the quoted 'dex'.
            return u.dex
        if not isinstance(unit, u.UnrecognizedUnit):
            return unit
        unit = unit.name
    text = unit.strip()
    if text in ("'dex'", "dex"):
        return u.dex
    match = _LOG_UNIT.match(text)
    if match:
        inner = unit_from_vo(match.group(1))
        if inner is not None and not isinstance(inner, u.UnrecognizedUnit):
            return u.dex(inner)
    for fmt in ("vounit", "fits", "cds", None):
        with contextlib.suppress(ValueError):
            return u.Unit(text, format=fmt)
    return u.Unit(text, parse_strict="silent")


def _restore_units(table):
    for col in table.itercols():
        unit = getattr(col, "unit", None)
        if unit is not None:
            new = unit_from_vo(unit)
            if new is not unit and not isinstance(new, u.UnrecognizedUnit):
                col.unit = new
    return table


# -- provenance -----------------------------------------------------------------------------
def provenance_items(meta):
    """The provenance of a table's ``meta`` as ``(key, text)`` pairs.

    Items whose key starts with ``smass_`` are written in full; structured values
    (dicts, lists) as JSON.
    """
    items = []
    for key, value in meta.items():
        if not str(key).startswith("smass_"):
            continue
        items.append((str(key), value if isinstance(value, str) else
                      json.dumps(value, default=json_default)))
    return items


def _decode_provenance(key, text):
    if not isinstance(text, str):
        return text
    if text[:1] in "[{" or text in ("null", "true", "false") or re.fullmatch(
            r"-?\d+(\.\d*)?([eE][-+]?\d+)?", text):
        with contextlib.suppress(ValueError):
            return json.loads(text)
    return text


# -- formats --------------------------------------------------------------------------------
def guess_format(path, format=None, reading=False):
    """The format name for ``path`` (its extension), or ``format`` checked.

    Parameters
    ----------
    path : path-like
    format : str, optional
    reading : bool
        Also accept the formats that are only read (``ascii``).

    Raises
    ------
    ValueError
        For an unknown format or an extension that does not say.
    """
    known = {**FORMATS, **READ_ONLY_FORMATS} if reading else FORMATS
    if format is not None:
        key = str(format).lower()
        key = {"vot": "votable", "xml": "votable", "fit": "fits", "h5": "hdf5",
               "ascii.ecsv": "ecsv", "ascii.csv": "csv", "txt": "ascii", "text": "ascii",
               "ascii.basic": "ascii"}.get(key, key)
        if key not in known:
            if key in READ_ONLY_FORMATS:
                raise InputError(f"{format!r} tables are read but not written; write one of "
                                 f"{', '.join(FORMATS)}")
            raise InputError(f"unknown table format {format!r}; choose one of "
                             f"{', '.join(known)}")
        return key
    name = str(path).lower()
    for key, extensions in known.items():
        if name.endswith(extensions):
            return key
    raise InputError(f"cannot tell the table format of {str(path)!r} from its extension; "
                     f"give it (format=/--format) as one of {', '.join(known)}")


def _require(format, reading=False):
    modules = (_READ_MODULES if reading else _MODULE_FOR).get(format, ())
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    if missing:
        what = "reading" if reading else "writing"
        raise InputError(f"{what} {format} files needs the optional "
                         f"package{'s' if len(missing) > 1 else ''} {' and '.join(missing)} "
                         f"(pip install {' '.join(missing)})")


_MAGIC = [(b"SIMPLE  =", "fits"), (b"# %ECSV", "ecsv"), (b"PAR1", "parquet"),
          (b"\x89HDF\r\n\x1a\n", "hdf5")]


def _sniff(head):
    """The format the first bytes of a file show, or None.

    Gzip-compressed content is looked at decompressed; text tables are told apart by
    their first lines: commas make CSV, several whitespace-separated names ``ascii``.
    """
    if head.startswith(_GZIP_MAGIC):
        with contextlib.suppress(OSError, EOFError, zlib.error):
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 8192)
    for magic, format in _MAGIC:
        if head.startswith(magic):
            return format
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<?xml") or text[:9].upper().startswith(b"<VOTABLE"):
        return "votable"
    return _sniff_text(text)


def _sniff_text(head):
    """``csv`` or ``ascii`` for a text table with a header line, else None."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not a character cut at the end: binary
            return None
        text = head[:exc.start].decode("utf-8")
    if "\x00" in text:
        return None
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if len(head) >= 8192:
        lines = lines[:-1]  # perhaps cut short
    if len(lines) < 2:
        return None
    header, first = lines[0], lines[1]
    if "," in header and header.count(",") == first.count(","):
        return "csv"
    names = header.split()
    if len(names) > 1 and all(name[:1].isalpha() or name[:1] == "_" for name in names):
        return "ascii"
    return None


def detect_format(path, format=None):
    """The format in which `read_table` reads a file.

    Parameters
    ----------
    path : path-like
        An existing file.
    format : str, optional
        Given by the user: checked and returned (see `guess_format`).

    Returns
    -------
    str or None
        ``format``; else the format its first bytes show (FITS, ECSV, Parquet, HDF5,
        VOTable); else the one its extension says; None when neither tells.
    """
    if format is not None:
        return guess_format(path, format, reading=True)
    with open(path, "rb") as handle:
        head = handle.read(8192)
    # Binary formats from their first bytes; text ones from their extension first (a
    # CSV file is also a readable whitespace table), then their content.
    format = _sniff(head)
    if format in (None, "csv", "ascii"):
        with contextlib.suppress(ValueError):
            return guess_format(path, reading=True)
    return format


# -- writing --------------------------------------------------------------------------------
def write_table(table, path_or_dash, format=None, overwrite=False):
    """Write a table, atomically, keeping units, descriptions, UCDs and provenance.

    Parameters
    ----------
    table : `~astropy.table.Table` or `~astropy.table.QTable`
    path_or_dash : path-like or ``"-"``
        Destination; ``"-"`` writes to standard output.
    format : str, optional
        One of ``votable``, ``fits``, ``ecsv``, ``csv``, ``hdf5``, ``parquet``;
        default from the extension (VOTable for standard output).
    overwrite : bool
        Replace an existing file; otherwise `FileExistsError`.

    Raises
    ------
    FileExistsError
        If the file exists and ``overwrite`` is false (nothing is written).
    ValueError
        For an unknown format or a missing optional package (h5py, pyarrow).
    """
    to_stdout = str(path_or_dash) == "-"
    format = guess_format(path_or_dash, format if format or not to_stdout else "votable")
    _require(format)
    writer = _WRITERS[format]
    if to_stdout:
        with tempfile.TemporaryDirectory(prefix="astropy-smass-") as tmp:
            path = Path(tmp) / f"out.{format}"
            writer(table, path)
            out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else sys.stdout
            sys.stdout.flush()
            with open(path, "rb") as handle:
                shutil.copyfileobj(handle, out)
            out.flush()
        return
    path = Path(path_or_dash)
    if not path.parent.is_dir():
        raise MissingFileError(f"cannot write {path}: folder {path.parent} does not exist")
    if path.name.lower().endswith(".gz"):
        atomic_write(path, lambda tmp: _write_gzip(writer, table, path, Path(tmp)),
                     overwrite=overwrite, mode=None)
    else:
        atomic_write(path, lambda tmp: writer(table, Path(tmp)), overwrite=overwrite,
                     mode=None)


def _write_gzip(writer, table, path, tmp):
    """Write ``table`` uncompressed beside ``tmp``, then gzip it into ``tmp``."""
    inner = path.name[:-3]
    with tempfile.TemporaryDirectory(dir=tmp.parent, prefix=f".{inner}.",
                                     suffix=".part") as folder:
        raw = Path(folder) / inner
        writer(table, raw)
        with open(raw, "rb") as source, open(tmp, "wb") as target, \
                gzip.GzipFile(filename=inner, mode="wb", fileobj=target, mtime=0) as packed:
            shutil.copyfileobj(source, packed, 1 << 20)


def to_votable(table):
    """A VOTable of ``table`` with VO units, UCDs, descriptions and provenance.

    Parameters
    ----------
    table : `~astropy.table.Table` or `~astropy.table.QTable`

    Returns
    -------
    `~astropy.io.votable.tree.VOTableFile`
        Units as VOUnits strings (``log(solMass)`` for ``dex(solMass)``, ``'dex'``
        for ``dex``: see `astropy_smass.io`), each column's ``info.meta['ucd']`` and
        ``info.description``, the table's ``meta['description']``, and one
        ``INFO`` element per ``smass_*`` provenance item of ``table.meta``.
    """
    from astropy.io.votable.tree import Info, VOTableFile

    plain, units = _plain_copy(table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        votable = VOTableFile.from_table(plain)
        element = votable.get_first_table()
        for field, name in zip(element.fields, plain.colnames):
            if units[name]:
                # An UnrecognizedUnit is written verbatim, as chosen in vo_unit_string.
                field.unit = u.UnrecognizedUnit(units[name])
    description = table.meta.get("description")
    if isinstance(description, str):
        element.description = description
    if isinstance(table.meta.get("name"), str):
        element.name = table.meta["name"]
    resource = votable.resources[0]
    for key, text in provenance_items(table.meta):
        # INFO IDs must not clash with FIELD IDs (a column may be called smass_model).
        resource.infos.append(Info(ID=f"info_{key}", name=key, value=text))
    return votable


def _write_votable(table, path):
    votable = to_votable(table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # W50 for the VOUnit strings we chose on purpose
        votable.to_xml(str(path))


def _write_fits(table, path):
    from astropy.io import fits

    hdu = fits_table_hdu(table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        hdu.writeto(path, overwrite=True)


def fits_table_hdu(table):
    """A FITS binary table of ``table``, with the header cards that VO tools read.

    The one place where astropy-smass makes FITS headers: `write_table` writes this
    HDU, and `astropy_smass.stream` writes its header once and the rows of one such
    HDU per chunk.

    Parameters
    ----------
    table : `~astropy.table.Table` or `~astropy.table.QTable`

    Returns
    -------
    `~astropy.io.fits.BinTableHDU`
        Units as ``TUNITn`` in VOUnits (`vo_unit_string`: ``log(solMass)``, ``dex``),
        descriptions as ``TCOMMn``, UCDs as ``TUCDn``, the ``smass_*`` provenance of
        ``table.meta`` as ``SMASS*`` keywords (structured values as JSON) and its other
        scalar items with names of at most 8 characters as keywords of those names.
    """
    from astropy.io import fits

    plain, units = _plain_copy(table, fits=True)
    hdu = fits.table_to_hdu(plain, character_as_bytes=True)
    with warnings.catch_warnings():
        # Long values go on CONTINUE cards; astropy warns when it shortens their comment.
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        _fill_fits_header(hdu.header, table, hdu.columns.names, units)
    return hdu


def _fill_fits_header(header, table, colnames, units):
    for index, name in enumerate(colnames, start=1):
        if name not in table.colnames:
            continue  # one of the columns a mixin column (SkyCoord...) was written as
        col = table[name]
        unit = units.get(name)
        if unit:
            header[f"TUNIT{index}"] = unit
        description = col.info.description
        if description:
            header[f"TCOMM{index}"] = _ascii(description)
        ucd = (col.info.meta or {}).get("ucd")
        if ucd:
            header[f"TUCD{index}"] = ucd
    for key, text in provenance_items(table.meta):
        keyword, comment = _FITS_KEYWORDS.get(key, (None, None))
        if keyword:
            header[keyword] = (_ascii(text), comment)
    for key, value in table.meta.items():
        key = str(key)
        if (not key.startswith("smass_") and re.fullmatch(r"[A-Za-z0-9_-]{1,8}", key)
                and isinstance(value, (str, int, float, bool, np.number))
                and key.upper() not in header):
            with contextlib.suppress(ValueError):
                header[key.upper()] = _ascii(value) if isinstance(value, str) else value


def _ascii(text):
    return str(text).encode("ascii", "replace").decode("ascii")


def _fixed_strings(table):
    """A shallow copy in which object columns of strings (VOTable arraysize="*") are str."""
    copy = Table(table, copy=False)
    for name in copy.colnames:
        col = copy[name]
        if getattr(col, "dtype", None) is None or col.dtype.kind != "O":
            continue
        mask = np.ma.getmaskarray(col)
        values = [v for v, m in zip(np.ma.getdata(col), mask) if not m]
        if not all(isinstance(v, (str, bytes)) for v in values):
            continue  # not strings: leave it to the writer (which may refuse it)
        text = np.array(["" if m else (v.decode() if isinstance(v, bytes) else v)
                         for v, m in zip(np.ma.getdata(col), mask)], dtype=str)
        new = MaskedColumn(text, mask=mask) if mask.any() else Column(text)
        new.info.description = col.info.description
        new.info.meta = dict(col.info.meta or {})
        new.info.meta.pop("_votable_arraysize", None)
        copy.replace_column(name, new)
    return copy


def _plain_copy(table, fits=False):
    """A `Table` sharing the data, with no units, and the VOUnit string of each column."""
    plain = _fixed_strings(table) if fits else Table(table, copy=False)
    plain.meta = {}
    units = {}
    for name in plain.colnames:
        col = plain[name]
        unit = getattr(col, "unit", None)  # mixins (Time, SkyCoord) keep their own
        units[name] = vo_unit_string(unit, fits=fits) if unit is not None else None
        if isinstance(col, Column):
            col.unit = None
    return plain, units


def _astropy_writer(format, **options):
    def write(table, path):
        table = _fixed_strings(table)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=u.UnitsWarning)
            table.write(path, format=_ASTROPY_FORMAT[format], overwrite=True, **options)
    return write


_WRITERS = {
    "votable": _write_votable,
    "fits": _write_fits,
    "ecsv": _astropy_writer("ecsv"),
    "csv": _astropy_writer("csv"),
    "hdf5": _astropy_writer("hdf5", path="data", serialize_meta=True),
    "parquet": _astropy_writer("parquet"),
}


# -- reading --------------------------------------------------------------------------------
def read_table(path_or_dash, format=None):
    """Read a table from a file or standard input.

    Parameters
    ----------
    path_or_dash : path-like or ``"-"``
        Source; ``"-"`` reads standard input (its format is recognised from the
        content, VOTable if it cannot be).
    format : str, optional
        As for `write_table`; default from the content or the extension, then any
        format astropy can identify.

    Returns
    -------
    `~astropy.table.Table`
        VO unit strings turned back into astropy units (``log(solMass)`` into
        ``dex(solMass)``); FITS ``TCOMMn``/``TUCDn`` into descriptions and UCDs;
        VOTable ``INFO`` and ``SMASS*`` FITS keywords into ``meta``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    TableReadError
        If it cannot be read as a table; the message is one line.
    """
    if str(path_or_dash) == "-":
        stream = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin
        data = stream.read()
        if isinstance(data, str):
            data = data.encode()
        if not data.strip():
            raise TableReadError("standard input is empty: no table to read")
        if data.startswith(_GZIP_MAGIC):
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error) as exc:
                raise TableReadError(f"standard input is not valid gzip data: {exc}") from exc
        format = (guess_format("-", format, reading=True) if format
                  else (_sniff(data[:8192]) or "votable"))
        with tempfile.TemporaryDirectory(prefix="astropy-smass-") as tmp:
            path = Path(tmp) / f"stdin.{format}"
            path.write_bytes(data)
            return _read_path(path, format, "standard input")
    path = Path(path_or_dash)
    if not path.exists():
        raise MissingFileError(f"{path}: no such file")
    if path.is_dir():
        raise TableReadError(f"{path} is a folder, not a table file")
    return _read_path(path, detect_format(path, format), str(path))


def _read_path(path, format, label):
    if format is not None:
        _require(format, reading=True)
    try:
        with warnings.catch_warnings():
            # Unit strings astropy cannot parse (log(solMass)) are repaired below.
            warnings.filterwarnings("ignore", category=u.UnitsWarning)
            warnings.filterwarnings("ignore", message=".*[Ii]nvalid unit string.*")
            if format == "votable":
                table = _read_votable(path)
            elif format == "fits":
                table = _read_fits(path)
            elif format is None:
                table = Table.read(path)
            elif format == "ascii":
                table = _read_ascii(path)
            else:
                table = Table.read(path, format=_ASTROPY_FORMAT[format])
                if format == "parquet":
                    table = _apply_dataset_metadata(table, path)
    except TableReadError:
        raise
    except Exception as exc:  # the readers raise many types; all mean "unreadable"
        what = f"a {format} table" if format else "a table in any known format"
        raise TableReadError(f"{label} is not {what}: {_one_line(exc)}") from exc
    if isinstance(table, QTable):
        table = Table(table)
    return _restore_units(table)


def _apply_dataset_metadata(table, path):
    """Units, descriptions and provenance of a Parquet dataset's ``_common_metadata``.

    A file written without astropy's metadata in its own footer (a HATS partition file
    written by LSDB, say) gets those of the ``_common_metadata`` of its dataset, found in
    its folder or up to three folders above it (HATS: ``dataset/Norder=/Dir=/Npix=``).
    """
    import pyarrow.parquet as pq
    from astropy.table import meta

    if b"table_meta_yaml" in (pq.read_schema(path).metadata or {}):
        return table
    for folder in list(Path(path).parents)[:4]:
        common = folder / "_common_metadata"
        if common.is_file():
            text = (pq.read_schema(common).metadata or {}).get(b"table_meta_yaml")
            break
    else:
        return table
    if not text:
        return table
    header = meta.get_header_from_yaml(text.decode().split("\n"))
    for entry in header["datatype"]:
        if entry["name"] in table.colnames:
            col = table[entry["name"]]
            if entry.get("unit"):
                col.unit = u.Unit(entry["unit"], parse_strict="silent")
            for attr in ("description", "meta"):
                if entry.get(attr):
                    setattr(col.info, attr, entry[attr])
    table.meta.update({k: v for k, v in header.get("meta", {}).items()
                       if k != "__serialized_columns__"})
    return table


def _read_ascii(path):
    """A text table: as astropy guesses it, else one value per single space.

    Some catalogues (the H-ATLAS file of the demo) separate values by exactly one
    space and leave a field empty for a missing value, so a run of spaces is a run of
    empty fields; whitespace-splitting readers then shift values between columns, and
    astropy's guessing refuses the file. If every line has as many single-space fields
    as the header, it is read that way, an empty field masked.
    """
    from astropy.io import ascii

    try:
        return Table.read(path, format="ascii")
    except Exception as first:  # astropy's guessing raises many types
        opener = gzip.open if str(path).lower().endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as handle:
            lines = [line.rstrip("\r\n") for line in handle
                     if line.strip() and not line.startswith("#")]
        if not lines or any(quote in "".join(lines[:100]) for quote in "\"'"):
            raise first
        fields = len(lines[0].split(" "))
        if fields < 2 or any(len(line.split(" ")) != fields for line in lines):
            raise first
        return ascii.read([line.replace(" ", ",") for line in lines], format="csv",
                          fast_reader=False)


def _one_line(exc):
    text = " ".join(str(exc).split())
    text = text if text else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _read_votable(path):
    from astropy.io.votable import parse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        votable = parse(str(path), verify="ignore")
    tables = list(votable.iter_tables())
    if not tables:
        raise TableReadError(f"{path} is a VOTable without a TABLE")
    element = tables[0]
    table = element.to_table(use_names_over_ids=True)
    for col in table.itercols():
        if col.info.description:  # undo the line wrapping of DESCRIPTION elements
            col.info.description = " ".join(col.info.description.split())
    infos = list(votable.infos)
    for resource in votable.resources:
        infos.extend(resource.infos)
    infos.extend(element.infos)
    for info in infos:
        if info.name and info.name.startswith("smass_"):
            table.meta[info.name] = _decode_provenance(info.name, info.value)
    return table


def _read_fits(path):
    from astropy.io import fits
    from astropy.io.fits.verify import VerifyWarning

    warnings.simplefilter("ignore", VerifyWarning)  # a broken file raises below anyway
    with fits.open(path) as hdul:
        index = next((i for i, hdu in enumerate(hdul)
                      if isinstance(hdu, (fits.BinTableHDU, fits.TableHDU))), None)
        if index is None:
            raise TableReadError(f"{path} is a FITS file without a table extension")
        header = hdul[index].header
        table = Table.read(hdul, hdu=index)
    return restore_metadata(table, header)


def restore_metadata(table, header=None):
    """Turn what astropy's readers leave of our metadata back into astropy's form.

    `read_table` applies this to every table it reads; `astropy_smass.stream` to every
    chunk, so that both give the same columns.

    Parameters
    ----------
    table : `~astropy.table.Table`
        As astropy read it (changed in place).
    header : `~astropy.io.fits.Header`, optional
        The header of the FITS table ``table`` was read from: its ``TCOMMn`` and
        ``TUCDn`` become descriptions and UCDs, its ``SMASS*`` keywords the ``smass_*``
        items of ``meta``.

    Returns
    -------
    `~astropy.table.Table`
        ``table``, with VO unit strings turned into astropy units (`unit_from_vo`).
    """
    if header is not None:
        for number, name in enumerate(table.colnames, start=1):
            col = table[name]
            if f"TCOMM{number}" in header and not col.info.description:
                col.info.description = header[f"TCOMM{number}"]
            if f"TUCD{number}" in header:
                col.info.meta = {**(col.info.meta or {}), "ucd": header[f"TUCD{number}"]}
        for keyword, key in _FITS_META.items():
            if keyword in table.meta:
                table.meta[key] = _decode_provenance(key, table.meta.pop(keyword))
        for keyword in [k for k in table.meta if re.fullmatch(r"T(COMM|UCD)\d+", str(k))]:
            del table.meta[keyword]
    return _restore_units(table)

