"""Reading and writing tables, with units, UCDs and provenance that VO tools understand.

`write_table` writes VOTable, FITS, ECSV, CSV, HDF5 or Parquet, chosen by the file
extension or explicitly, to a file (atomically: through a temporary file that is
renamed, so a failed write leaves nothing behind) or to standard output (``-``).
`read_table` reads any of those, from a file or standard input.

Units are written so that plain ``astropy.table.Table.read`` and STILTS/TOPCAT both
read a log stellar mass as one (tested both ways):

* VOTable files are version 1.3, whose units follow the CDS standard: ``dex(solMass)`` is
  written ``[solMass]`` and ``dex`` (a difference of logarithms) ``[-]``; astropy's
  VOTable reader parses them back to ``dex(solMass)`` and ``dex``, STILTS shows them as
  they are (see `astropy_smass.io.votable`).
* FITS files carry no ``TUNITn`` for logarithmic units, because no FITS unit string
  parses to one in astropy (``log(solMass)`` is standard FITS, but astropy leaves it
  unrecognised, warns, and then cannot rebuild the unit); astropy's own serialized-column
  header block gives plain ``Table.read`` the exact unit instead. For STILTS and TOPCAT the
  primary HDU holds the table's metadata as a VOTable (the "FITS-plus" layout that STILTS
  itself writes): there they read ``[solMass]``, the UCDs, descriptions and provenance.
  Other units are ordinary ``TUNITn``.

`read_table` also reads older files (``log(solMass)``, ``'dex'``). ECSV, HDF5 and
Parquet keep astropy's own unit strings and metadata unchanged.

Column descriptions and UCDs (``column.info.description`` and
``column.info.meta['ucd']``) become VOTable ``DESCRIPTION``/``ucd`` and FITS
``TCOMMn``/``TUCDn``; the prediction's provenance (the ``smass_*`` items of
``table.meta``) becomes VOTable ``INFO`` elements and ``SMASS*`` FITS header keywords.
Only those keywords, from a fixed list, go into a FITS header: other items of
``table.meta`` (say ``TSCAL2`` from an input file) never do, so they cannot clobber the
header's structural keywords.
"""

import contextlib
import gzip
import importlib.util
import re
import shutil
import sys
import tempfile
import warnings
import zlib
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import QTable, Table
from astropy.utils.exceptions import AstropyUserWarning

from .._utils import atomic_write
from ..exceptions import (
    InputError,
    MissingDependencyError,
    MissingFileError,
    SmassWarning,
    TableReadError,
)
from .units import (
    _ascii,
    _fixed_strings,
    _is_log_unit,
    _log_tunit,
    _plain_copy,
    _restore_units,
    unit_from_vo,
    vo_unit_string,
)
from .votable import (
    SERVICE_DESCRIPTION,
    SERVICE_INFOS,
    _decode_provenance,
    provenance_items,
    read_votable_meta,
    votable_bytes,
)

__all__ = ["FORMATS", "TableReadError", "guess_format", "detect_format", "read_table",
           "write_table", "vo_unit_string", "unit_from_vo", "provenance_items",
           "fits_table_hdu", "fits_primary_hdu", "fits_primary_bytes", "restore_metadata"]

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
    "smass_imf": ("SMASSIMF", "IMF of logmstar"),
    "smass_mass_definition": ("SMASSDEF", "stellar mass definition of logmstar"),
    "smass_scale_offset_dex": ("SMASSOFF", "offset from the package mass scale (dex)"),
    "smass_systematic_dex": ("SMASSSYS", "scale systematic in logmstar_err (dex)"),
    "smass_uncertainty_formula": ("SMASSUNF", "how logmstar_err combines its parts"),
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
    "smass_band_choices": ("SMASSCHO", "column chosen among several for a band"),
    "smass_vega_bands": ("SMASSVEG", "bands read as Vega magnitudes"),
    "smass_match": ("SMASSMAT", "positional cross-match with the TAP table"),
    "smass_tap_job": ("SMASSJOB", "TAP job URL"),
    SERVICE_INFOS: ("SMASSSRV", "INFO elements of the TAP service's result"),
    SERVICE_DESCRIPTION: ("SMASSDSC", "description of the TAP service's result"),
}
_FITS_META = {keyword: key for key, (keyword, _) in _FITS_KEYWORDS.items()}


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
        raise MissingDependencyError(f"{what} {format} files needs the optional "
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
    if to_stdout and format == "fits":
        writer = _write_fits_stream
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
    """Write ``table`` uncompressed beside ``tmp`` (as ``<tmp>.raw``, which
    `~astropy_smass._utils.atomic_write` removes on failure), then gzip it into ``tmp``."""
    inner = path.name[:-3]
    raw = tmp.with_name(tmp.name + ".raw")
    writer(table, raw)
    with open(raw, "rb") as source, open(tmp, "wb") as target, \
            gzip.GzipFile(filename=inner, mode="wb", fileobj=target, mtime=0) as packed:
        shutil.copyfileobj(source, packed, 1 << 20)
    raw.unlink()


def _write_votable(table, path):
    Path(path).write_bytes(votable_bytes(table))


def _write_fits_stream(table, path):
    """FITS for a pipe: STILTS cannot read the FITS-plus layout from standard input
    ("Illegal seek"), so a plain primary HDU, and ``TUNITn`` ``log(solMass)`` / ``dex``
    (standard FITS, which STILTS shows; plain astropy leaves them unrecognised, and
    `read_table` turns them into ``dex(solMass)`` and ``dex``)."""
    from astropy.io import fits

    hdu = fits_table_hdu(table, pipe=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=True)


def _write_fits(table, path):
    from astropy.io import fits

    hdu = fits_table_hdu(table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        fits.HDUList([fits_primary_hdu(table), hdu]).writeto(path, overwrite=True)
    with open(path, "r+b") as handle:
        head = handle.read(2880)
        handle.seek(0)
        handle.write(_votmeta_first(head))


def fits_primary_hdu(table):
    """The primary HDU of a FITS-plus file: the table's metadata as a VOTable.

    STILTS and TOPCAT read the units, UCDs, descriptions and provenance of the table
    in the next HDU from it (``VOTMETA = T``); other FITS readers see a primary HDU of
    bytes. Write it with `fits_primary_bytes`, or fix the card order of a written file
    as `write_table` does: STILTS recognises the layout only with ``VOTMETA`` as the
    fifth card, and astropy moves ``EXTEND`` before it when writing.
    """
    from astropy.io import fits

    try:
        document = votable_bytes(table, data=False)
    except Exception as exc:  # a column VOTable cannot describe: the FITS file still works
        warnings.warn(f"the FITS file gets no VOTable metadata for STILTS and TOPCAT "
                      f"({_one_line(exc)}); they will not see its logarithmic units",
                      SmassWarning)
        return fits.PrimaryHDU()
    hdu = fits.PrimaryHDU(np.frombuffer(document, dtype=np.uint8))
    header = hdu.header
    header.insert("NAXIS1", ("VOTMETA", True, "Table metadata in VOTable format"),
                  after=True)
    header["NTABLE"] = (1, "Number of following BINTABLE HDUs")
    header.add_comment("The data of this primary HDU are the bytes of a VOTable document")
    header.add_comment("that describes the table in the following BINTABLE extension")
    header.add_comment("(units, UCDs, descriptions, provenance): the FITS-plus layout")
    header.add_comment("that STILTS and TOPCAT read.")
    return hdu


def fits_primary_bytes(table):
    """The bytes of `fits_primary_hdu`, ``VOTMETA`` in its place (for streamed files)."""
    import io

    buffer = io.BytesIO()
    fits_primary_hdu(table).writeto(buffer)
    data = buffer.getvalue()
    return _votmeta_first(data[:2880]) + data[2880:]


def _votmeta_first(block):
    """The first header block with the ``VOTMETA`` card moved to the fifth place."""
    cards = [block[i:i + 80] for i in range(0, len(block), 80)]
    keys = [card[:8].rstrip() for card in cards]
    if b"VOTMETA" not in keys or keys.index(b"VOTMETA") == 4:
        return block
    card = cards.pop(keys.index(b"VOTMETA"))
    cards.insert(4, card)
    return b"".join(cards)


def fits_table_hdu(table, metadata=True, pipe=False):
    """A FITS binary table of ``table``, with the header cards that VO tools read.

    The one place where astropy-smass makes FITS headers: `write_table` writes this
    HDU, and `astropy_smass.stream` writes its header once and the rows of one such
    HDU per chunk.

    Parameters
    ----------
    table : `~astropy.table.Table` or `~astropy.table.QTable`
    metadata : bool
        Make the header's metadata; False when only the rows' encoding is wanted (the
        chunks of a stream after the first).
    pipe : bool
        For standard output: logarithmic units as ``TUNITn`` (``log(solMass)``,
        ``dex``), not in astropy's serialized-column block.

    Returns
    -------
    `~astropy.io.fits.BinTableHDU`
        Units as ``TUNITn`` (`vo_unit_string`), logarithmic units (``dex(solMass)``,
        ``dex``) in astropy's serialized-column block, descriptions as ``TCOMMn``, UCDs
        as ``TUCDn``, and the ``smass_*`` provenance of ``table.meta`` as ``SMASS*``
        keywords (structured values as JSON). Nothing else of ``table.meta`` goes in.
    """
    from astropy.io import fits

    plain, units = _plain_copy(table, fits=True)
    if pipe:
        units.update({name: _log_tunit(col.unit) for name, col in table.columns.items()
                      if _is_log_unit(getattr(col, "unit", None))})
    elif metadata:
        plain = _serialized_log_units(table, plain)
    with warnings.catch_warnings():
        # "could not be saved in native FITS format": they are, in the serialized block.
        warnings.simplefilter("ignore", AstropyUserWarning)
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


def _serialized_log_units(table, plain):
    """``plain`` with astropy's serialized-column block for the logarithmic units.

    No FITS unit string parses to ``dex(X)`` in astropy, so these columns get no
    ``TUNITn``; astropy's own header block (YAML in ``COMMENT`` cards, as
    ``QTable.write`` makes it) gives plain ``Table.read`` their units, descriptions and
    UCDs. Other readers see the descriptions (``TCOMMn``), and STILTS the units in the
    FITS-plus primary HDU.
    """
    logs = {name: col.unit for name, col in table.columns.items()
            if _is_log_unit(getattr(col, "unit", None))
            and getattr(col, "dtype", np.dtype("O")).kind == "f" and name in plain.colnames}
    if not logs:
        return plain
    try:
        from astropy.io.fits.connect import _encode_mixins
    except ImportError:  # a future astropy: the units are lost to plain Table.read only
        return plain
    mixed = QTable(plain, copy=False)
    for name, unit in logs.items():
        values = np.ma.filled(np.ma.asarray(plain[name], dtype=float), np.nan)
        quantity = u.Dex(values, unit) if isinstance(unit, u.DexUnit) else \
            u.Dex(values, u.dex(u.dimensionless_unscaled))
        quantity.info.description = plain[name].info.description
        quantity.info.meta = dict(plain[name].info.meta or {})
        mixed[name] = quantity
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _encode_mixins(mixed)


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
    table.meta.update(read_votable_meta(votable, element))
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

