"""The ``astropy-smass`` command.

::

    astropy-smass predict IN OUT [options]      stellar masses for a table file (or - for a pipe)
    astropy-smass predict --demo [OUT]          the same for the bundled H-ATLAS demo, plus a plot
    astropy-smass models [BUNDLE ...]           the models that can be used
    astropy-smass tap URL "ADQL" [OUT]          query a TAP service, add masses [--samp to TOPCAT]
    astropy-smass tap URL TABLE OUT --match F   cross-match your table F with a TAP table
    astropy-smass tap URL --tables | --columns TABLE       what a TAP service offers
    astropy-smass tap --resume JOB_URL [OUT]    pick up an asynchronous TAP job again
    astropy-smass train ...                     train a model (when the training tools are there)

Errors print one line, ``astropy-smass: error: ...``, and exit with status 1 (2 for a
wrong command line); ``--traceback`` shows the Python traceback instead. Every
``predict`` and ``tap`` run ends with a one-line summary on standard error (rows, rows
with a mass, the commonest flags; ``--quiet`` turns it off), and exits with status 3
(`EXIT_NO_MASS`) when no row got a mass, unless ``--allow-empty`` is given. SIGTERM
and SIGHUP, like SIGINT, stop a run and remove its partial output (status 128 + the
signal number). Output files are written atomically and never replaced unless
``--overwrite`` is given. ``predict`` streams FITS, Parquet and HDF5 files a chunk of
rows at a time (``--chunk-rows``).
"""

import argparse
import contextlib
import os
import re
import signal
import sys
import traceback
import warnings
from pathlib import Path

from .exceptions import CommandError, MissingFileError, OutputExistsError, SmassError

__all__ = ["main", "build_parser", "predict_file", "EXIT_ERROR", "EXIT_USAGE", "EXIT_NO_MASS"]

PROG = "astropy-smass"

#: Exit statuses: an error; a command line that does not parse (argparse's); a run in
#: which no row got a stellar mass (without ``--allow-empty``).
EXIT_ERROR, EXIT_USAGE, EXIT_NO_MASS = 1, 2, 3


# -- errors and messages --------------------------------------------------------------------
def _version():
    from ._utils import VERSION as __version__

    return __version__


def _is_user_error(exc):
    """Errors reported in one line: the package's own (`~astropy_smass.SmassError`), and
    the operating system's about a named file (missing, not permitted, disk full). Any
    other exception is a bug, reported with its traceback."""
    return isinstance(exc, SmassError) or (isinstance(exc, OSError)
                                           and getattr(exc, "filename", None) is not None
                                           and bool(exc.strerror))


def _message(exc):
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    if isinstance(exc, OSError) and getattr(exc, "filename", None) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    text = " ".join(str(text).split()) or type(exc).__name__
    return _redact(cli_syntax(text))


def _redact(text):
    """``text`` without the credentials given for TAP services (see `astropy_smass.vo`)."""
    vo = sys.modules.get("astropy_smass.vo")  # no service used: no credentials to hide
    return vo.redact(text) if vo is not None else text


# Python keyword arguments in messages, and the command line's options for them.
_FLAG_FOR = {"columns": "--columns", "errors": "--errors", "units": "--units",
             "redshift": "--redshift", "distance": "--distance", "vega": "--vega",
             "kind": "--kind", "model": "--model", "redshift_unit": "--redshift-unit",
             "sentinels": None, "cosmology": None, "prefix": "--prefix"}
_SWITCHES = {"exclude_out_of_domain=False": "--keep-out-of-domain",
             "check_units=False": "--no-unit-check", "overwrite=True": "--overwrite",
             "correct=False": "--no-correction"}
_MAPPING = re.compile(r"\b(columns|errors|units)=\{([^{}]*)\}")
_PAIR = re.compile(r"""\s*(['"]?)([^'":,]+?)\1\s*:\s*(['"<]?)([^'",>]+?)['">]?\s*(?:,|$)""")
_VALUE = re.compile(r"""\b(kind|redshift_unit|model|units)=(['"])([^'"]*)\2""")
_NUMBER = re.compile(r"\b(maxrec|timeout|chunk_rows|n_draws)=(\d[\d.]*)")
_KEYWORD = re.compile(r"\b(" + "|".join(k for k, v in _FLAG_FOR.items() if v) + r")=(?![\w{'\"])")


def cli_syntax(text):
    """A message of the Python API with its keyword arguments written as CLI options.

    >>> cli_syntax("say what it holds, e.g. units={'r': 'mag'} (magnitudes)")
    'say what it holds, e.g. --units r=mag (magnitudes)'
    >>> cli_syntax("pass columns={'r': <column>} to choose, or redshift= or distance=")
    'pass --columns r=COLUMN to choose, or --redshift or --distance'
    >>> cli_syntax("pass overwrite=True (--overwrite) to replace it")
    'pass --overwrite to replace it'
    """
    for python, option in _SWITCHES.items():
        text = text.replace(f"{python} ({option})", option).replace(python, option)

    def mapping(match):
        option = _FLAG_FOR[match.group(1)]
        pairs = _PAIR.findall(match.group(2))
        if not pairs:
            return f"{option} BAND=VALUE"
        parts = []
        for quote, key, bracket, value in pairs:
            key = key.strip() if quote else key.strip().upper()
            value = value.strip()
            if bracket == "<" or not (quote or bracket):
                value = value.upper()
            parts.append(f"{option} {key}={value}")
        return " ".join(parts)

    text = _MAPPING.sub(mapping, text)
    text = _VALUE.sub(lambda m: f"{_FLAG_FOR[m.group(1)]} {m.group(3)}", text)
    options = {"maxrec": "--maxrec", "timeout": "--timeout", "chunk_rows": "--chunk-rows",
               "n_draws": "--draws"}
    text = _NUMBER.sub(lambda m: f"{options[m.group(1)]} {m.group(2)}", text)
    text = re.sub(r"(--[\w-]+) \(\1\)", r"\1", text)
    return _KEYWORD.sub(lambda m: _FLAG_FOR[m.group(1)], text)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    text = cli_syntax(" ".join(str(message).split()))
    print(f"{PROG}: warning: {_redact(text)}", file=sys.stderr)


def _on_terminal():
    return hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


def _progress(enabled=None):
    """A callable printing progress to standard error when it is a terminal."""
    if enabled is None:
        enabled = _on_terminal()
    if not enabled:
        return lambda message: None
    return lambda message: print(f"{PROG}: {_redact(message)}", file=sys.stderr, flush=True)


# -- argument parsing -----------------------------------------------------------------------
def _mapping(values, option):
    result = {}
    for value in values or ():
        key, sep, target = value.partition("=")
        if not sep or not key or not target:
            raise CommandError(f"{option} takes BAND=COLUMN, got {value!r}")
        result[key.strip()] = target.strip()
    return result


def _units(values):
    if not values:
        return None
    bare = [v for v in values if "=" not in v]
    if bare:
        if len(values) > 1:
            raise CommandError("give --units once as UNIT (for every band) or as BAND=UNIT "
                               "for each band")
        return bare[0]
    return _mapping(values, "--units")


def _add_predict_options(parser):
    group = parser.add_argument_group("prediction")
    group.add_argument("--model", default="auto", metavar="NAME|PATH|auto",
                       help="model name (see `astropy-smass models`), bundle JSON path, a "
                            "comma-separated list of them (the best of these for each "
                            "galaxy), or auto: the best bundled model for each galaxy "
                            "(default; plugin models join only if their package says so)")
    group.add_argument("--columns", action="append", metavar="BAND=COLUMN",
                       help="column holding a band (repeatable); wins over name recognition")
    group.add_argument("--errors", action="append", metavar="BAND=COLUMN",
                       help="column holding a band's 1-sigma error (repeatable)")
    group.add_argument("--units", action="append", metavar="[BAND=]UNIT",
                       help="unit of band columns that have none: mag, ABmag, Jy, mJy... "
                            "(repeatable as BAND=UNIT)")
    group.add_argument("--vega", nargs="+", default=(), metavar="BAND",
                       help="bands whose magnitudes are in the Vega system")
    group.add_argument("--survey", nargs="+", metavar="NAME",
                       help="photometric system of columns whose names give a band but no "
                            "survey (g, mag_g, FLUX_G, MAG_AUTO_G): des, legacy_south, "
                            "legacy_north, hsc, panstarrs, lsst, suprimecam, euclid, sdss, "
                            "... (see the docs' band list); several are tried in order")
    group.add_argument("--ebv", metavar="COLUMN",
                       help="column of Galactic E(B-V) (mag): correct every band for "
                            "Milky Way extinction (Gordon et al. 2023, R_V = 3.1)")
    group.add_argument("--kind", choices=("absolute", "apparent"),
                       help="magnitudes are absolute or apparent (default: apparent when a "
                            "redshift or distance is given)")
    group.add_argument("--redshift", metavar="COLUMN",
                       help="redshift column, for apparent magnitudes and fluxes (default for "
                            "fluxes: the column with UCD src.redshift, or named redshift/z)")
    group.add_argument("--redshift-unit", metavar="UNIT",
                       help="unit of a --redshift column that has none: km/s for a recession "
                            "velocity such as cz (converted with z = cz/c)")
    group.add_argument("--distance", metavar="COLUMN",
                       help="luminosity distance column (its unit, else Mpc)")
    group.add_argument("--uncertainty", default="auto",
                       choices=("auto", "none", "analytic", "montecarlo"),
                       help="how logmstar_err is made (default auto: photometric errors "
                            "propagated analytically where error columns exist, plus the "
                            "intrinsic scatter and the scale systematic; none: no "
                            "uncertainty columns)")
    group.add_argument("--imf", default="chabrier", type=str.lower,
                       choices=("chabrier", "kroupa", "salpeter", "diet-salpeter"),
                       help="IMF of the masses (default chabrier, the package's)")
    group.add_argument("--mass-definition", default="living+remnants", type=str.lower,
                       choices=("living+remnants", "living"),
                       help="count stellar remnants (default) or living stars only")
    group.add_argument("--systematic", type=float, metavar="DEX",
                       help="scale systematic in logmstar_err (default: the "
                            "systematic_dex configuration item; 0 leaves it out)")
    group.add_argument("--draws", type=int, default=100, help="Monte Carlo draws per galaxy")
    group.add_argument("--seed", type=int, help="seed of the Monte Carlo draws")
    group.add_argument("--keep-out-of-domain", action="store_true",
                       help="give masses to galaxies outside the training domain (flagged)")
    group.add_argument("--no-correction", action="store_true",
                       help="do not apply the model's residual-bias correction")
    group.add_argument("--no-unit-check", action="store_true",
                       help="predict even when the fluxes look a unit prefix off (Jy values "
                            "labelled mJy, say)")
    group.add_argument("--prefix", default="", help="prefix of the new column names")


def _add_output_options(parser):
    group = parser.add_argument_group("output")
    group.add_argument("--format", metavar="FORMAT",
                       help="output format: votable, fits, ecsv, csv, hdf5, parquet "
                            "(default: from OUT's extension; votable for -)")
    group.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    group.add_argument("--quiet", action="store_true",
                       help="no summary line (rows, rows with a mass, commonest flags) on "
                            "standard error")
    group.add_argument("--allow-empty", action="store_true",
                       help=f"exit with status 0, not {EXIT_NO_MASS}, when no row gets a "
                            "stellar mass")
    return group


def build_parser():
    """The `argparse.ArgumentParser` of the ``astropy-smass`` command."""
    from ._utils import VERSION as __version__
    from .conf import conf

    parser = argparse.ArgumentParser(
        prog=PROG, description="Stellar masses of galaxies from broad-band photometry, with "
                               "a neural network trained on simulated galaxies.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show the Python traceback of an error")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    predict = commands.add_parser(
        "predict", help="add stellar masses to a table file",
        description="Read IN (VOTable, FITS, ECSV, CSV, HDF5, Parquet; - for standard input), "
                    "add logmstar, logmstar_err, smass_flag... and write OUT (- for standard "
                    "output, as a VOTable unless --format says otherwise).")
    predict.add_argument("paths", nargs="*", metavar="IN [IN ...] OUT",
                         help="input table file (- for standard input) and output file (- "
                              "for standard output); or several inputs, folders, quoted "
                              "globs or HATS catalogues, and OUT a folder that gets one "
                              "output per input")
    predict.add_argument("--in-format", metavar="FORMAT",
                         help="format of IN: votable, fits, ecsv, csv, hdf5, parquet, or ascii "
                              "(a whitespace-separated text table; read only) (default: from "
                              "its content or extension)")
    predict.add_argument("--demo", action="store_true",
                         help="run on the bundled H-ATLAS demo catalogue; writes OUT (default "
                              "smass_demo.vot) and a plot beside it (smass_demo.png)")
    _add_predict_options(predict)
    output = _add_output_options(predict)
    output.add_argument("--chunk-rows", type=int, default=conf.chunk_rows, metavar="N",
                        help="rows read, predicted and written at a time when IN and OUT are "
                             f"FITS, Parquet or HDF5 files (default {conf.chunk_rows}); 0 "
                             "reads the whole table into memory")
    predict.set_defaults(run=run_predict)

    models = commands.add_parser("models", help="list the available models",
                                 description="List the model bundles that can be used by name, "
                                             "or describe the bundle files given.")
    models.add_argument("bundles", nargs="*", metavar="BUNDLE", help="bundle JSON files")
    models.set_defaults(run=run_models)

    tap = commands.add_parser(
        "tap", help="query or cross-match a TAP service and add stellar masses",
        usage="%(prog)s URL ADQL [OUT] [options]\n"
              "       %(prog)s URL TABLE [OUT] --match FILE [--radius 2arcsec] [options]\n"
              "       %(prog)s URL --tables | URL --columns TABLE\n"
              "       %(prog)s --resume JOB_URL [OUT] [options]",
        description="Run an ADQL query on a TAP service, or cross-match your own table with "
                    "one of its tables, add stellar masses to the result and write it to OUT "
                    "and/or send it to TOPCAT over SAMP. Credentials: in the URL "
                    "(https://user:password@host/tap, ?token=...), else "
                    "ASTROPY_SMASS_TAP_TOKEN (bearer token), ASTROPY_SMASS_TAP_USER and "
                    "ASTROPY_SMASS_TAP_PASSWORD, or the host's entry in .netrc ($NETRC); "
                    "they are never written to outputs or messages. --columns TABLE (a name "
                    "without '=') lists the columns of TABLE with units and UCDs, marking "
                    "those recognised as photometry, errors and redshift.")
    tap.add_argument("positional", nargs="*", metavar="URL ADQL|TABLE OUT",
                     help="TAP service base URL; the ADQL query (with --match: the table to "
                          "match against); output file (- for standard output)")
    group = tap.add_argument_group("service")
    group.add_argument("--timeout", type=float, metavar="SECONDS",
                       help="time limit of each request to the service (default 60, "
                            "conf.tap_timeout)")
    group.add_argument("--maxrec", type=int, metavar="N", help="most rows to return")
    group.add_argument("--upload", action="append", metavar="NAME=FILE|URL",
                       help="upload a table file or http(s) URL, to be used as "
                            "TAP_UPLOAD.NAME (repeatable)")
    group.add_argument("--tables", action="store_true",
                       help="list the service's tables and exit")
    group = tap.add_argument_group("cross-match")
    group.add_argument("--match", metavar="FILE|URL",
                       help="your table of positions (columns with UCD pos.eq.ra/dec, or "
                            "named ra/dec): every row comes back, in order, with the nearest "
                            "counterpart in TABLE and its mass, or flag 1024 (no match)")
    group.add_argument("--radius", default="2arcsec", metavar="ANGLE",
                       help="match radius (default 2arcsec; a number is arcsec)")
    group.add_argument("--match-columns", metavar="RA,DEC",
                       help="position columns of your table")
    group.add_argument("--service-columns", metavar="RA,DEC",
                       help="position columns of TABLE (default: from its UCDs)")
    group = tap.add_argument_group("asynchronous jobs")
    group.add_argument("--async", dest="async_", action="store_true",
                       help="run as an asynchronous job (for long queries)")
    group.add_argument("--job-timeout", type=float, metavar="SECONDS",
                       help="how long to wait for the job (default 600, "
                            "conf.tap_job_timeout); a job that does not finish in time is "
                            "kept, to be resumed")
    group.add_argument("--execution-duration", type=float, metavar="SECONDS",
                       help="the job's EXECUTIONDURATION limit on the server")
    group.add_argument("--destruction", metavar="TIME|DELAY",
                       help="the job's DESTRUCTION time: ISO 8601, or a delay such as 2d")
    group.add_argument("--keep-job", action="store_true",
                       help="do not delete the job at the end; its URL is printed")
    group.add_argument("--resume", metavar="JOB_URL",
                       help="pick up an existing asynchronous job: wait for it, fetch and "
                            "annotate its result")
    group.add_argument("--progress", action="store_true",
                       help="report the job's phase and elapsed time (default: only on a "
                            "terminal)")
    group = tap.add_argument_group("SAMP")
    group.add_argument("--samp", action="store_true",
                       help="send the result to TOPCAT (SAMP); the hub is checked first")
    group.add_argument("--hub", metavar="LOCKFILE",
                       help="SAMP hub lockfile (default: the standard one)")
    _add_predict_options(tap)
    _add_output_options(tap)
    tap.set_defaults(run=run_tap)

    try:
        from .training.cli import add_train_parser, run_train
    except ImportError:
        pass
    else:
        train = add_train_parser(commands)
        train.set_defaults(run=run_train)
    return parser


def _predict_kwargs(args):
    model = args.model
    if "," in model:  # several models: auto among these
        model = [name.strip() for name in model.split(",") if name.strip()]
    kwargs = {
        "model": model,
        "columns": _mapping(args.columns, "--columns") or None,
        "errors": _mapping(args.errors, "--errors") or None,
        "units": _units(args.units),
        "vega": tuple(args.vega),
        "survey": args.survey,
        "ebv": args.ebv,
        "kind": args.kind,
        "redshift": args.redshift,
        "redshift_unit": args.redshift_unit,
        "distance": args.distance,
        "uncertainty": args.uncertainty,
        "imf": args.imf,
        "mass_definition": args.mass_definition,
        "systematic": args.systematic,
        "n_draws": args.draws,
        "seed": args.seed,
        "correct": not args.no_correction,
        "exclude_out_of_domain": not args.keep_out_of_domain,
        "check_units": not args.no_unit_check,
    }
    if args.redshift_unit is not None and args.redshift is None:
        raise CommandError("--redshift-unit needs --redshift COLUMN")
    if args.model == "auto":
        from .model.registry import available_models

        if not available_models():
            raise CommandError("no models are installed; give a bundle with --model PATH")
    return kwargs


def _check_output(output, format, overwrite):
    """Fail before any work if OUT cannot be written."""
    from .io import guess_format

    if output is None:
        return
    format = guess_format(output, format if format or output != "-" else "votable")
    if output != "-":
        path = Path(output)
        if path.exists() and not overwrite:
            raise OutputExistsError(f"{path} exists; pass --overwrite to replace it")
        if not path.parent.is_dir():
            raise MissingFileError(f"cannot write {path}: folder {path.parent} does not exist")
    return format


# -- predict --------------------------------------------------------------------------------
def annotate(table, kwargs, prefix="", progress=None):
    """Add the prediction's columns to ``table`` (the CLI's defaults applied)."""
    from .photometry.ucd import default_redshift as _default_redshift

    progress = progress or _progress()
    _check_clashes(table.colnames, prefix)
    kwargs = _default_redshift(table, dict(kwargs))
    progress(f"predicting stellar masses for {len(table)} rows ...")
    return table.smass.annotate(prefix=prefix, **kwargs)


def _check_clashes(colnames, prefix):
    from .pipeline import output_columns

    output_columns(colnames, prefix=prefix, remedy="use --prefix to add the new ones beside them")


def _stream_formats(input, output, in_format, out_format):
    """The formats of IN and OUT when both are files `stream.predict_file` handles."""
    from .io import detect_format, guess_format
    from .stream import COMPRESSED_SUFFIXES, FORMATS

    if input == "-" or output == "-" or not Path(input).is_file():
        return None
    if str(input).lower().endswith(COMPRESSED_SUFFIXES) or \
            str(output).lower().endswith(COMPRESSED_SUFFIXES):
        return None  # compressed files cannot be read or written a slice at a time
    source, target = detect_format(input, in_format), guess_format(output, out_format)
    if source in FORMATS and target in FORMATS:
        return source, target
    return None


def predict_file(input, output, kwargs, in_format=None, out_format=None, overwrite=False,
                 prefix="", progress=None, chunk_rows=None, stream_progress=None):
    """Read ``input``, add stellar masses, write ``output`` (``-`` for standard streams).

    This is the one function that moves data for ``astropy-smass predict``. When
    ``input`` and ``output`` are both FITS, Parquet or HDF5 files they are streamed,
    ``chunk_rows`` rows at a time (`astropy_smass.stream.predict_file`), so memory does
    not grow with the number of rows; otherwise (VOTable, ECSV, CSV, standard input or
    output, compressed files), or with ``chunk_rows=0``, the whole table is held in
    memory. Both ways give the same table, read back with `astropy_smass.io.read_table`
    (FITS: the same bytes).

    Parameters
    ----------
    input, output : str or path-like
        File names; ``-`` for standard input or output.
    kwargs : dict
        Arguments of the prediction (`~astropy_smass.predict_table`).
    in_format, out_format : str, optional
        Formats (see `astropy_smass.io.guess_format`); default from content or extension.
    overwrite : bool
        Replace ``output`` if it exists.
    prefix : str
        Prefix of the new column names.
    progress : callable, optional
        Called with progress messages (default: printed to standard error when it is a
        terminal); a stream also shows rows per second there.
    chunk_rows : int, optional
        Rows per chunk when streaming (default
        ``conf.chunk_rows``, see `astropy_smass.conf`); 0 never streams.
    stream_progress : callable, optional
        The ``progress`` of `astropy_smass.stream.predict_file` (default: a bar on
        standard error when it is a terminal).

    Returns
    -------
    `~astropy.table.Table` or dict
        The annotated table when it was held in memory; the summary of
        `astropy_smass.stream.predict_file` (``n_rows``, ``rows_per_second``...) when
        it was streamed.
    """
    from .conf import conf
    from .io import read_table, write_table
    from .stream import UnstreamableError

    progress = progress or _progress()
    chunk_rows = conf.chunk_rows if chunk_rows is None else int(chunk_rows)
    if chunk_rows < 0:
        raise CommandError(f"--chunk-rows must be 0 (no streaming) or more, got {chunk_rows}")
    formats = _stream_formats(input, output, in_format, out_format) if chunk_rows else None
    if formats is not None:
        try:
            return _stream_file(input, output, kwargs, formats, overwrite, prefix, progress,
                                chunk_rows, stream_progress)
        except UnstreamableError as exc:
            warnings.warn(f"{_message(exc)}: reading the whole table into memory instead",
                          UserWarning)
    progress(f"reading {'standard input' if input == '-' else input} ...")
    table = read_table(input, in_format)
    annotate(table, kwargs, prefix=prefix, progress=progress)
    progress(f"writing {'standard output' if output == '-' else output} ...")
    write_table(table, output, out_format, overwrite=overwrite)
    return table


def _stream_file(input, output, kwargs, formats, overwrite, prefix, progress, chunk_rows,
                 stream_progress=None):
    from . import stream
    from .io import TableReadError
    from .photometry.ucd import default_redshift as _default_redshift

    try:
        schema = stream.read_schema(input, formats[0])
    except (stream.UnstreamableError, FileNotFoundError):
        raise
    except Exception as exc:  # the readers raise many types; all mean "unreadable"
        raise TableReadError(f"{input} is not a {formats[0]} table: {_message(exc)}") from exc
    _check_clashes(schema.colnames, prefix)
    given = kwargs.get("redshift")
    columns = tuple((c.info.name, str(getattr(c, "unit", None)), repr(c.info.meta))
                    for c in schema.itercols())
    kwargs = dict(kwargs)
    kwargs["redshift"] = stream.shared(  # once for the files of one layout
        ("default redshift", columns, repr(sorted(kwargs.items(), key=str))),
        lambda: _default_redshift(schema, dict(kwargs))["redshift"])
    # What `annotate` records in the table's meta when it picks the redshift column.
    meta = {"smass_redshift_column": kwargs["redshift"]} if kwargs["redshift"] != given else {}
    progress(f"predicting stellar masses for {input}, {chunk_rows} rows at a time ...")
    summary = stream.predict_file(
        input, output, chunk_rows=chunk_rows, format=formats[0], out_format=formats[1],
        overwrite=overwrite, prefix=prefix, out_dataset="data",
        progress=_on_terminal() if stream_progress is None else stream_progress,
        meta=meta, **kwargs)
    progress(f"wrote {summary['n_rows']} rows to {output}")
    return summary


def run_predict(args):
    paths = list(args.paths)
    if args.demo:
        if len(paths) > 1:
            raise CommandError("predict --demo takes at most one file name (OUT)")
        args.input, args.output = (paths + [None, None])[:2]
        return run_demo(args)
    if len(paths) < 2:
        raise CommandError("predict needs IN and OUT (use - for standard input or output), "
                           "or --demo")
    *inputs, output = paths
    if len(inputs) == 1 and (inputs[0] == "-" or Path(inputs[0]).is_file()):
        return _predict_one(args, inputs[0], output)
    return _predict_many(args, inputs, output)


def _predict_one(args, input, output):
    _check_output(output, args.format, args.overwrite)
    kwargs = _predict_kwargs(args)
    if input != "-" and not Path(input).exists():
        raise MissingFileError(f"{input}: no such file")
    _tune_malloc()
    result = predict_file(input, output, kwargs, in_format=args.in_format,
                          out_format=args.format, overwrite=args.overwrite, prefix=args.prefix,
                          chunk_rows=args.chunk_rows)
    return _report(_summary_of(result, args.prefix), args)


def _summary_of(result, prefix=""):
    """The `~astropy_smass.diagnostics.RunSummary` of an annotated table or a stream."""
    from .diagnostics import RunSummary

    if isinstance(result, dict):
        summary = RunSummary()
        summary.n_rows, summary.n_mass = result["n_rows"], result["n_mass"]
        summary.flag_counts = dict(result["flag_counts"])
        return summary
    return RunSummary.from_table(result, prefix)


def _report(summary, args, what=""):
    """Print the summary line (unless --quiet); the exit status of the run."""
    empty = summary.n_rows > 0 and summary.n_mass == 0
    if not args.quiet:
        print(f"{PROG}: {what}{summary.line()}", file=sys.stderr)
    if empty and not args.allow_empty:
        print(f"{PROG}: no row got a stellar mass (exit status {EXIT_NO_MASS}; "
              "--allow-empty accepts this)", file=sys.stderr)
        return EXIT_NO_MASS
    return 0


# -- many files in one run ------------------------------------------------------------------
def _is_hats(folder):
    return any((folder / name).is_file() for name in ("hats.properties", "properties")) \
        and (folder / "dataset").is_dir()


def _table_files(folder):
    """Table files under a folder, sorted (hidden files and ``_metadata``-like skipped)."""
    from .io import FORMATS

    suffixes = tuple(s for values in FORMATS.values() for s in values)
    found = []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if any(part.startswith((".", "_")) for part in parts):
            continue
        if path.is_file() and path.name.lower().endswith(suffixes):
            found.append(path)
    return found


def expand_inputs(inputs):
    """The ``(file, name in the output folder)`` pairs for the inputs of a run.

    Parameters
    ----------
    inputs : list of str
        Files, folders (every table file in them, recursively; a HATS catalogue's
        partition files) and glob patterns (``survey/*.parquet``, ``**`` too).

    Returns
    -------
    list of (`~pathlib.Path`, `~pathlib.PurePath`)
        Each output's path relative to the output folder: a file's own name, or its
        path within the folder given (``dataset/Norder=.../Npix=...parquet`` for HATS).
    """
    import glob

    pairs = []
    for text in inputs:
        path = Path(text)
        if text == "-":
            raise CommandError("standard input (-) cannot be one of several inputs")
        if path.is_dir():
            root = path
            files = _table_files(path / "dataset" if _is_hats(path) else path)
            if not files:
                raise CommandError(f"{path} holds no table files")
            pairs += [(f, f.relative_to(root)) for f in files]
        elif path.is_file():
            pairs.append((path, Path(path.name)))
        elif glob.has_magic(text):
            files = [Path(f) for f in sorted(glob.glob(text, recursive=True))
                     if Path(f).is_file()]
            if not files:
                raise CommandError(f"no files match {text}")
            pairs += [(f, Path(f.name)) for f in files]
        else:
            raise MissingFileError(f"{text}: no such file or folder")
    seen = {}
    for source, name in pairs:
        if name in seen and seen[name] != source:
            raise CommandError(f"{seen[name]} and {source} would both be written as {name}; "
                               "give their common folder instead")
        seen[name] = source
    return list(dict.fromkeys(pairs))


def _output_name(name, format):
    """``name`` with the suffix of ``format`` (or unchanged without one)."""
    from .io import FORMATS, guess_format

    if format is None:
        return name
    suffix = FORMATS[guess_format(name, format)][0]
    lower = name.name.lower()
    for values in FORMATS.values():
        for old in sorted(values, key=len, reverse=True):
            if lower.endswith(old):
                return name.with_name(name.name[:-len(old)] + suffix)
    return name.with_name(name.name + suffix)


def _predict_many(args, inputs, output):
    """Several inputs: one output each, in a folder that appears only when all are done.

    In one `astropy_smass.stream.shared_run`: each file is opened once, and files with
    the same columns share what depends only on the columns (models, band columns).
    """
    from . import stream

    with stream.shared_run():
        return _predict_each(args, inputs, output)


def _predict_each(args, inputs, output):
    import shutil
    import tempfile
    import time

    from . import stream
    from ._utils import signals_deferred
    from .diagnostics import RunSummary

    pairs = expand_inputs(inputs)
    target = Path(output)
    if output == "-":
        raise CommandError("several inputs need OUT to be a folder, not standard output")
    if target.exists() and not args.overwrite:
        raise OutputExistsError(f"{target} exists; pass --overwrite to replace it")
    if target.exists() and not target.is_dir():
        raise CommandError(f"several inputs need OUT to be a folder; {target} is a file")
    if not target.parent.is_dir():
        raise MissingFileError(f"cannot write {target}: folder {target.parent} does not exist")
    names = [_output_name(name, args.format) for _, name in pairs]
    kwargs = _predict_kwargs(args)
    _tune_malloc()
    sizes = []
    for source, _ in pairs:
        try:
            fmt = stream.format_of(source, args.in_format)
            sizes.append(stream._open_reader(source, fmt, None, None).n_rows)
        except Exception:  # not streamable: its size shows when it has been read
            sizes.append(0)
    bar = stream._Progress(None, sum(sizes), unit="rows")
    say = _progress()
    say(f"{len(pairs)} input files, {sum(sizes):,} rows, to {target}/")
    start, offset = time.perf_counter(), 0
    total = RunSummary()
    tmp = None
    try:
        with signals_deferred():  # an interruption waits until the folder is known
            tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.",
                                        suffix=".part"))
        # Each file's writing ends while the next is predicted; all have ended here.
        with stream.files_overlapped():
            for (source, _), name, size in zip(pairs, names, sizes):
                bar.label = str(source)

                def report(done, total, seconds, offset=offset):
                    bar(offset + done)

                result = _predict_into(args, kwargs, source, tmp / name, report)
                total.merge(_summary_of(result, args.prefix))
                offset += size
                bar(offset)
        os.chmod(tmp, 0o777 & ~_umask())
        if target.exists():
            old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.",
                                        suffix=".old"))
            os.replace(target, old / "replaced")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        if tmp is not None:
            with signals_deferred():
                shutil.rmtree(tmp, ignore_errors=True)
        raise
    seconds = time.perf_counter() - start
    return _report(total, args, f"wrote {len(pairs)} files to {target}/ in {seconds:.1f} s: ")


def _predict_into(args, kwargs, source, destination, report):
    """One file of a run over many; a user's error says which."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        return predict_file(source, destination, kwargs, in_format=args.in_format,
                            out_format=args.format, prefix=args.prefix,
                            chunk_rows=args.chunk_rows, progress=lambda message: None,
                            stream_progress=report)
    except Exception as exc:
        if not _is_user_error(exc):
            raise
        raise CommandError(f"{source}: {_message(exc)}") from exc


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _tune_malloc():
    """Keep freed chunk-sized arrays in the heap rather than unmapping them (glibc).

    A streaming run allocates and frees arrays of the same few sizes for every chunk;
    glibc hands blocks over 32 MB back to the system and others once the heap top
    exceeds its trim threshold, so every chunk would fault its pages in afresh (about
    a third of the prediction's time). The command owns its process, so it may say so.
    """
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError, TypeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
        libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD


def run_demo(args):
    from astropy.table import Table

    from .datasets import load_demo
    from .io import write_table

    if args.input is not None and args.output is not None:
        raise CommandError("predict --demo takes at most one file name (OUT)")
    output = args.output or args.input or "smass_demo.vot"
    if output == "-":
        raise CommandError("predict --demo writes files; give OUT as a file name")
    out_format = args.format or (None if Path(output).suffix else "votable")
    _check_output(output, out_format, args.overwrite)
    png = Path(output).with_suffix(".png")
    if png.exists() and not args.overwrite:
        raise OutputExistsError(f"{png} exists; pass --overwrite to replace it")
    kwargs = _predict_kwargs(args)
    if kwargs["redshift"] is None and kwargs["distance"] is None:
        kwargs["redshift"] = "redshift"
    table = Table(load_demo())
    annotate(table, kwargs, prefix=args.prefix)
    write_table(table, output, out_format, overwrite=args.overwrite)
    plotted = _demo_plot(table, png, args.prefix, args.overwrite)
    wrote = f"H-ATLAS demo, wrote {output}{' and ' + str(png) if plotted else ''}: "
    return _report(_summary_of(table, args.prefix), args, wrote)


def _demo_plot(table, png, prefix, overwrite):
    """Predicted mass against absolute W1 magnitude; False if matplotlib is missing."""
    import numpy as np

    from ._utils import atomic_write
    from .photometry.magnitudes import absolute_magnitudes

    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        warnings.warn("matplotlib is not installed: no plot was made", UserWarning)
        return False
    mags, _, _ = absolute_magnitudes(table, {"W1": "WISE1"}, redshift="redshift")
    logm = np.ma.filled(np.ma.asarray(table[prefix + "logmstar"], dtype=float), np.nan)
    good = np.isfinite(mags[:, 0]) & np.isfinite(logm)
    figure = Figure(figsize=(5.5, 4.5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    points = axes.scatter(mags[good, 0], logm[good], c=np.asarray(table["redshift"])[good],
                          s=4, cmap="viridis", rasterized=True)
    figure.colorbar(points, ax=axes, label="redshift")
    axes.invert_xaxis()
    axes.set_xlabel(r"$M_{W1}$ (AB mag)")
    axes.set_ylabel(r"$\log_{10}(M_*/M_\odot)$ (astropy-smass)")
    models = table.meta.get("smass_models", [])
    axes.set_title(f"H-ATLAS GAMA fields: {good.sum()} galaxies\nmodel: "
                   f"{', '.join(map(str, models))}", fontsize=9)
    figure.tight_layout()
    atomic_write(png, lambda handle: figure.savefig(handle, format="png", dpi=120),
                 overwrite=overwrite)
    return True


# -- models ---------------------------------------------------------------------------------
def run_models(args):
    from .model.registry import load_model, model_sources, source_text
    from .pipeline import _plugins_in_auto

    if args.bundles:
        entries = [(str(path), load_model(path), None) for path in args.bundles]
    else:
        entries = [(name, load_model(name), source) for name, source in model_sources().items()]
        if not entries:
            print("no models are installed; describe a bundle file with "
                  "`astropy-smass models PATH`")
            return 0
    everyone = _plugins_in_auto()
    rows = [("name", "bands", "held-out RMS", "correction", "provided by")]
    for _, model, source in entries:
        provider = source_text(model)
        if source is not None and not (source.auto or everyone):
            provider += " (by name only, not in auto)"
        rms = model.metadata.get("scores", {}).get("heldout_rms_dex")
        correction = "none"
        if model.correction is not None:
            provenance = model.correction.provenance
            correction = (f"{provenance.get('catalogue', 'fitted')} (degree "
                          f"{provenance.get('degree', len(model.correction.coefficients) - 1)})")
        rows.append((model.name, " ".join(model.bands),
                     f"{rms:.3f} dex" if rms is not None else "-", correction, provider))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


# -- tap ------------------------------------------------------------------------------------
def _tap_positionals(args):
    """``(url, adql_or_table, output)`` from the positional arguments, by mode."""
    given = list(args.positional)
    if args.resume:
        if len(given) > 1:
            raise CommandError("tap --resume JOB_URL takes at most OUT besides")
        return None, None, (given or [None])[0]
    if not given:
        raise CommandError("tap needs the service URL (see astropy-smass tap --help)")
    if args.tables or args.describe:
        if len(given) != 1:
            raise CommandError("tap URL --tables / --columns TABLE takes only the URL")
        return given[0], None, None
    if len(given) < 2:
        what = "TABLE (the service's table to match against)" if args.match else "ADQL"
        raise CommandError(f"tap needs {what} after the URL")
    if len(given) > 3:
        raise CommandError(f"tap takes URL, {'TABLE' if args.match else 'ADQL'} and OUT; "
                           f"got {len(given)} arguments (quote the query)")
    return given[0], given[1], (given[2] if len(given) == 3 else None)


def _print_table(table, columns):
    rows = [columns] + [[str(row[c]) for c in columns] for row in table]
    widths = [max(len(r[i]) for r in rows) for i in range(len(columns))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def run_tap(args):
    from .io import write_table
    from .vo import (
        annotate_tap,
        annotate_tap_job,
        check_samp_hub,
        list_columns,
        list_tables,
        session_from_environment,
    )

    tables = [c for c in args.columns or () if "=" not in c]
    args.columns = [c for c in args.columns or () if "=" in c] or None
    if len(tables) > 1:
        raise CommandError("give --columns TABLE for one table at a time")
    args.describe = tables[0] if tables else None
    url, adql, output = _tap_positionals(args)
    session = session_from_environment(args.resume or url)
    if args.tables:
        _print_table(list_tables(url, timeout=args.timeout, session=session),
                     ["table_name", "table_type", "description"])
        return 0
    if args.describe:
        _print_table(list_columns(url, args.describe, timeout=args.timeout, session=session),
                     ["column_name", "datatype", "unit", "ucd", "recognised", "description"])
        return 0
    if output is None and not args.samp:
        raise CommandError("tap needs OUT (- for standard output), --samp, or both")
    _check_output(output, args.format, args.overwrite)
    if args.samp:
        check_samp_hub(args.hub)  # before the query, not after it
    kwargs = _predict_kwargs(args)
    for key in ("redshift", "distance"):
        if kwargs[key] is None:
            del kwargs[key]  # let annotate_tap find the redshift column
    if args.prefix:
        kwargs["prefix"] = args.prefix
    progress = _progress(True if args.progress else None)
    common = dict(timeout=args.timeout, progress=progress, job_timeout=args.job_timeout,
                  session=session, keep_job=args.keep_job)
    if args.resume:
        table = annotate_tap_job(args.resume, **common, **kwargs)
    else:
        uploads = dict(_mapping(args.upload, "--upload"))
        match = None
        if args.match:
            match = _read_location(args.match, args.timeout)
        table = annotate_tap(url, adql, maxrec=args.maxrec, async_=args.async_,
                             uploads=uploads or None, match=match,
                             radius=_angle(args.radius), match_columns=args.match_columns,
                             service_positions=args.service_columns,
                             execution_duration=args.execution_duration,
                             destruction=args.destruction, **common, **kwargs)
    if output is not None:
        write_table(table, output, args.format, overwrite=args.overwrite)
    if table.meta.get("smass_tap_job"):
        print(f"{PROG}: kept TAP job {table.meta['smass_tap_job']} (resume with --resume, or "
              "delete it)", file=sys.stderr)
    if args.samp:
        from .vo import send_to_topcat

        send_to_topcat(table, hub=args.hub, timeout=max(args.timeout or 10.0, 10.0))
        print(f"{PROG}: sent {len(table)} rows to TOPCAT", file=sys.stderr)
    return _report(_summary_of(table, args.prefix), args)


def _read_location(location, timeout):
    """A table from a file or an http(s) URL."""
    import re

    from .io import read_table

    if re.match(r"https?://", str(location)):
        from .vo.tap import _fetch_table

        return _fetch_table(location, timeout)
    return read_table(location)


def _angle(text):
    import astropy.units as u

    try:
        value = u.Quantity(text)
    except (TypeError, ValueError) as exc:
        raise CommandError(f"--radius takes an angle such as 2arcsec, got {text!r}") from exc
    if value.unit == u.dimensionless_unscaled:
        value = value.value * u.arcsec
    if not value.unit.is_equivalent(u.deg):
        raise CommandError(f"--radius takes an angle such as 2arcsec, got {text!r}")
    return value


# -- entry point ----------------------------------------------------------------------------
class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like SIGINT's KeyboardInterrupt, so that every
    ``finally`` and ``except BaseException`` on the way (the atomic writes' removal of
    their temporary files) runs before the command exits."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum, frame):
    from ._utils import interrupt

    interrupt(Terminated(signum))


def _raise_interrupted(signum, frame):
    from ._utils import interrupt

    interrupt(KeyboardInterrupt())


@contextlib.contextmanager
def _signals_interrupt():
    """SIGTERM and SIGHUP raise `Terminated`, SIGINT `KeyboardInterrupt`, while the
    command runs (main thread only); held back while a temporary file is made or removed
    (`astropy_smass._utils.signals_deferred`)."""
    import threading

    handlers = {getattr(signal, name): handler
                for name, handler in (("SIGTERM", _raise_terminated),
                                      ("SIGHUP", _raise_terminated),
                                      ("SIGINT", _raise_interrupted))
                if hasattr(signal, name)}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    try:
        for number, handler in handlers.items():
            if signal.getsignal(number) is signal.SIG_IGN:
                continue  # ignored by whoever started us (nohup, a background job)
            previous[number] = signal.signal(number, handler)
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def main(argv=None):
    """Run the command; returns the exit status.

    0 success, 1 error, 2 bad usage, 3 no row got a mass (without ``--allow-empty``),
    130 interrupted (SIGINT), 128 + the signal number for SIGTERM and SIGHUP.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings(), _signals_interrupt():
        warnings.showwarning = _show_warning
        try:
            return args.run(args)
        except Terminated as exc:
            name = signal.Signals(exc.signum).name
            print(f"{PROG}: stopped by {name}; partial output files were removed", file=sys.stderr)
            return 128 + exc.signum
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            # The reader of standard output went away (`... | head`): stop quietly.
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            return EXIT_ERROR
        except Exception as exc:
            if args.traceback:
                raise
            if not _is_user_error(exc):
                traceback.print_exc(file=sys.stderr)
                print(f"{PROG}: error: {type(exc).__name__}: {_message(exc)}\n"
                      f"{PROG}: this is a bug in astropy-smass {_version()}: please report it "
                      "to its developers with the traceback above", file=sys.stderr)
                return EXIT_ERROR
            print(f"{PROG}: error: {_message(exc)}", file=sys.stderr)
            return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
