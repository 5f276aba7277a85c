"""TAP queries: synchronous and asynchronous (UWS) jobs, uploads, and discovery.

`run_tap` runs an ADQL query, `fetch_tap_job` picks up an asynchronous job again,
`list_tables` and `list_columns` read a service's ``TAP_SCHEMA``; every failure of the
service becomes a `VOError` or `VOTimeoutError` with one clear line (``_service_error``).
"""

import contextlib
import datetime
import io
import os
import re
import sys
import tempfile
import time
import urllib.parse
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Column, Table

from ..conf import Conf, conf
from ..exceptions import InputError, VOError, VOTimeoutError
from ..flags import SmassWarning
from ..io.readwrite import read_table
from ..io.votable import service_meta, votable_bytes
from ..photometry.ucd import recognise_columns, redshift_column, ucd_atoms
from .session import _safe_url, _ServiceSession, _short, _split_url, _tap_service, redact

#: Seconds an asynchronous job is waited for by default (``conf.tap_job_timeout``).
DEFAULT_JOB_TIMEOUT = Conf.tap_job_timeout.defaultvalue
#: Seconds a job may report the UWS phase UNKNOWN before that is an error.
UNKNOWN_PHASE_GRACE = 5.0

_UWS_PHASES = ("PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED", "UNKNOWN",
               "HELD", "SUSPENDED", "ARCHIVED")
_FINAL_PHASES = ("COMPLETED", "ERROR", "ABORTED")


def _root_cause(exc):
    """The innermost requests/socket exception behind a pyvo error, if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "cause", None)
        if not isinstance(inner, BaseException):
            inner = exc.__cause__ or exc.__context__
        if inner is None:
            return exc
        exc = inner
    return exc


def _service_error(exc, wrapped):
    """A `VOError` with one clear line for an exception raised while talking to a service."""
    import requests
    from pyvo.dal import DALQueryError

    url = wrapped.safe
    if isinstance(exc, DALQueryError):
        reason = " ".join(str(getattr(exc, "reason", "") or exc).split())
        return VOError(redact(f"the TAP service at {url} rejected the query: {reason}"))
    cause = _root_cause(exc)
    if isinstance(cause, VOError):
        return cause
    if isinstance(cause, (requests.Timeout, TimeoutError)) or "timed out" in str(cause):
        limit = f"within {wrapped.timeout:g} s" if wrapped.timeout else "in time"
        return VOTimeoutError(redact(f"the TAP service at {url} did not answer {limit}"))
    if isinstance(cause, (requests.ConnectionError, ConnectionError)):
        return VOError(redact(f"cannot connect to the TAP service at {url}: {_short(cause)}"))
    status = getattr(getattr(cause, "response", None), "status_code", None)
    if status in (401, 403):
        return VOError(redact(
            f"the TAP service at {url} refused access (HTTP {status}): give credentials in "
            "the URL, with session=, or (command line) in .netrc or ASTROPY_SMASS_TAP_USER "
            "and ASTROPY_SMASS_TAP_PASSWORD / ASTROPY_SMASS_TAP_TOKEN"))
    return VOError(redact(f"the TAP service at {url} failed: {_short(exc)}"))


def _reporter(progress):
    if callable(progress):
        return lambda message: progress(redact(message))
    if progress:
        return lambda message: print(f"astropy-smass: {redact(message)}", file=sys.stderr,
                                     flush=True)
    return lambda message: None


# -- uploads --------------------------------------------------------------------------------
def _fetch_table(url, timeout=None, session=None):
    """A table read from an http(s) URL (any format `~astropy_smass.io.read_table` reads)."""
    import requests

    base, params, auth = _split_url(url)
    wrapped = _ServiceSession(session, timeout, base, params, auth)
    try:
        response = wrapped.get(base)
        response.raise_for_status()
        data = response.content
    except VOError as exc:
        raise VOError(str(exc).replace("the TAP service", "the upload")) from None
    except requests.RequestException as exc:
        raise VOError(redact(f"cannot read the upload table at {wrapped.safe}: "
                             f"{_short(exc)}")) from exc
    finally:
        wrapped.close()
    suffix = Path(urllib.parse.urlsplit(base).path).suffix
    with tempfile.TemporaryDirectory(prefix="astropy-smass-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix or '.dat'}"
        path.write_bytes(data)
        return read_table(path)


def _upload_files(uploads, timeout=None):
    """``{name: VOTable bytes}``: tables, files and http(s) URLs are all sent as VOTables.

    A URL is read here (as STILTS does), so the service needs no access to it.
    """
    if not uploads:
        return None
    files = {}
    for name, value in uploads.items():
        if isinstance(value, str) and re.match(r"https?://", value):
            value = _fetch_table(value, timeout)
        elif isinstance(value, (str, os.PathLike)):
            value = read_table(value)
        if isinstance(value, Table):
            value = io.BytesIO(votable_bytes(value))
        files[name] = value
    return files


# -- TAP ------------------------------------------------------------------------------------
def run_tap(service_or_url, adql, maxrec=None, async_=False, timeout=None,
            job_timeout=None, progress=None, uploads=None, session=None,
            execution_duration=None, destruction=None, keep_job=False):
    """Run an ADQL query and return its result as a `~astropy.table.Table`.

    Parameters are those of `annotate_tap`.

    Returns
    -------
    `~astropy.table.Table`
        The result. ``meta['smass_truncated']`` is True when the service cut it short
        (a `~astropy_smass.SmassWarning` says so too); ``meta['smass_service_infos']``
        and ``meta['smass_service_description']`` keep what the service said about it
        (its INFO elements and description); ``meta['smass_tap_job']`` is the URL of a
        kept asynchronous job.
    """
    from pyvo.dal import DALOverflowWarning

    report = _reporter(progress)
    files = _upload_files(uploads, timeout)
    start = time.monotonic()
    with _tap_service(service_or_url, timeout, session) as (service, wrapped), \
            warnings.catch_warnings():
        # pyvo's own overflow warning is replaced by a clearer one below.
        warnings.simplefilter("ignore", DALOverflowWarning)
        job_url = None
        try:
            if async_:
                result, job_url = _run_async(service, wrapped, adql, maxrec, files,
                                             job_timeout, report, start, execution_duration,
                                             destruction, keep_job)
            else:
                report(f"querying {wrapped.safe} ...")
                result = service.run_sync(adql, maxrec=maxrec, uploads=files)
        except VOError:
            raise
        except Exception as exc:  # pyvo raises DAL*Error, requests errors, parse errors
            raise _service_error(exc, wrapped) from exc
        table = _result_table(result, maxrec, report, start)
    if job_url is not None:
        table.meta["smass_tap_job"] = job_url
    return table


def _result_table(result, maxrec, report, start):
    table = result.to_table()
    truncated = str(getattr(result, "query_status", "OK")).upper() == "OVERFLOW"
    if truncated:
        limit = f"maxrec={maxrec}" if maxrec is not None else "the service's row limit"
        warnings.warn(f"the TAP result was truncated at {len(table)} rows by {limit}: the "
                      "query matches more rows; raise maxrec or narrow the query",
                      SmassWarning)
    if len(table) == 0:
        warnings.warn("the TAP query returned no rows", SmassWarning)
    table.meta["smass_truncated"] = truncated
    table.meta.update(_service_provenance(getattr(result, "votable", None)))
    report(f"received {len(table)} rows in {time.monotonic() - start:.1f} s")
    return table


def _service_provenance(votable):
    """The service's INFO elements and description, for ``meta`` (secrets removed)."""
    if votable is None:
        return {}
    infos, descriptions = list(votable.infos), [votable.description]
    for resource in votable.resources:
        infos.extend(resource.infos)
        descriptions.append(resource.description)
        for element in resource.tables:
            infos.extend(element.infos)
    return service_meta(infos, descriptions, clean=lambda text: redact(text or ""))


def _job_settings(job, execution_duration, destruction):
    if execution_duration is not None:
        job.execution_duration = float(u.Quantity(execution_duration, u.s).value)
    if destruction is not None:
        if isinstance(destruction, datetime.timedelta):
            destruction = datetime.datetime.now(datetime.timezone.utc) + destruction
        elif not isinstance(destruction, datetime.datetime):
            destruction = _parse_destruction(destruction)
        job.destruction = destruction


def _parse_destruction(value):
    """A destruction time from an ISO 8601 time, or a delay such as ``2d`` or ``12 h``."""
    text = str(value).strip()
    try:
        when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            delay = u.Quantity(text)
            seconds = (delay if delay.unit != u.dimensionless_unscaled
                       else delay * u.s).to_value(u.s)
        except (TypeError, ValueError, u.UnitsError):
            raise InputError(f"destruction must be an ISO 8601 time or a delay such as "
                             f"'2d' or '12h', got {value!r}") from None
        return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
            seconds=seconds)
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


def _run_async(service, wrapped, adql, maxrec, files, job_timeout, report, start,
               execution_duration=None, destruction=None, keep_job=False):
    job = service.submit_job(adql, maxrec=maxrec, uploads=files)
    job_url = redact(job.url)
    report(f"submitted TAP job {job_url}")
    _job_settings(job, execution_duration, destruction)
    job.run()
    return _finish_job(job, job_url, job_timeout, report, start, keep_job)


def _finish_job(job, job_url, job_timeout, report, start, keep_job):
    """Wait for a job, fetch its result; delete it once finished unless ``keep_job``.

    A job that does not finish in time, or whose wait is interrupted, is kept (as STILTS
    does), and the error says how to pick it up again.
    """
    finished = False
    try:
        phase = _wait(job, job_url, job_timeout, report, start)
        finished = True
        if phase != "COMPLETED":
            job.raise_if_error()
            raise VOError(f"the TAP job at {job_url} ended in phase {phase}")
        result = job.fetch_result()
        return result, (job_url if keep_job else None)
    finally:
        if finished and not keep_job:
            # Jobs hold results on the server: delete finished ones, also after an error.
            with contextlib.suppress(Exception):
                job.delete()


def _wait(job, job_url, job_timeout, report, start):
    job_timeout = conf.tap_job_timeout if job_timeout is None else job_timeout
    interval, reported, last_report, unknown_since = 0.2, None, 0.0, None
    try:
        while True:
            phase = job.phase
            elapsed = time.monotonic() - start
            if phase != reported or elapsed - last_report >= 10:
                report(f"TAP job {phase}, {elapsed:.0f} s")
                reported, last_report = phase, elapsed
            if phase not in _UWS_PHASES:
                raise VOError(f"the TAP job at {job_url} reports phase {phase!r}, which is "
                              "no UWS phase: the service does not run jobs as TAP says")
            if phase in _FINAL_PHASES:
                return phase
            if phase == "ARCHIVED":
                raise VOError(f"the TAP job at {job_url} is ARCHIVED: its result is gone")
            if phase == "UNKNOWN":
                unknown_since = time.monotonic() if unknown_since is None else unknown_since
                if time.monotonic() - unknown_since > UNKNOWN_PHASE_GRACE:
                    raise VOError(f"the TAP job at {job_url} has been in phase UNKNOWN for "
                                  f"{UNKNOWN_PHASE_GRACE:g} s: the service lost track of it")
            else:
                unknown_since = None
            if elapsed > job_timeout:
                raise VOTimeoutError(
                    f"the TAP job at {job_url} did not finish within {job_timeout:g} s "
                    f"(phase {phase}); it was kept on the server: pick it up with "
                    f"`astropy-smass tap --resume {job_url}` (annotate_tap_job) or delete it")
            time.sleep(min(interval, max(job_timeout - elapsed, 0.01)))
            interval = min(interval * 1.5, 5.0)
    except KeyboardInterrupt:
        report(f"interrupted; the TAP job was kept: resume it with `astropy-smass tap "
               f"--resume {job_url}`")
        raise


def fetch_tap_job(job_url, timeout=None, job_timeout=None, progress=None,
                  session=None, keep_job=False):
    """Pick up an asynchronous TAP job again: start it if pending, wait, fetch its result.

    Parameters
    ----------
    job_url : str
        The job's URL (``.../async/<id>``), as submitted by this package (the message
        of a job that timed out gives it), by STILTS or by any other TAP client.
    timeout, job_timeout, progress, session, keep_job
        As for `annotate_tap`.

    Returns
    -------
    `~astropy.table.Table`
        As `run_tap` returns it; ``meta['smass_adql']`` holds the job's query.
    """
    from pyvo.dal import AsyncTAPJob

    report = _reporter(progress)
    start = time.monotonic()
    base, params, auth = _split_url(job_url)
    wrapped = _ServiceSession(session, timeout, base, params, auth)
    safe_job = _safe_url(base, params)
    try:
        try:
            job = AsyncTAPJob(base, session=wrapped)
            phase = job.phase
            query = getattr(job, "query", None)  # before the job is deleted
            report(f"resuming TAP job {safe_job} in phase {phase}")
            if phase == "PENDING":
                job.run()
            result, kept = _finish_job(job, safe_job, job_timeout, report, start, keep_job)
        except VOError:
            raise
        except Exception as exc:
            raise _service_error(exc, wrapped) from exc
        with warnings.catch_warnings():
            from pyvo.dal import DALOverflowWarning

            warnings.simplefilter("ignore", DALOverflowWarning)
            table = _result_table(result, None, report, start)
    finally:
        wrapped.close()
    if kept is not None:
        table.meta["smass_tap_job"] = kept
    if query:
        table.meta["smass_adql"] = redact(query)
    return table



# -- discovery ------------------------------------------------------------------------------
def list_tables(service_or_url, timeout=None, session=None):
    """The tables a TAP service offers (from its ``TAP_SCHEMA``).

    Returns
    -------
    `~astropy.table.Table`
        ``table_name``, ``table_type`` and ``description``, one row per table.
    """
    return _schema_query(service_or_url, timeout, session,
                         "SELECT table_name, table_type, description FROM TAP_SCHEMA.tables "
                         "ORDER BY table_name")


def list_columns(service_or_url, table_name, timeout=None, session=None):
    """The columns of a TAP table, with what astropy-smass recognises in each.

    Returns
    -------
    `~astropy.table.Table`
        ``column_name``, ``datatype``, ``unit``, ``ucd``, ``description`` (from
        ``TAP_SCHEMA.columns``) and ``recognised``: ``band r``, ``error of r``,
        ``redshift``, ``position``, ``not a band`` (a UCD that is not photometry),
        ``band? i, z, ...`` (a photometric column whose band cannot be told) or empty.
    """
    literal = str(table_name).replace("'", "''")
    columns = _schema_query(
        service_or_url, timeout, session,
        "SELECT column_name, datatype, unit, ucd, description FROM TAP_SCHEMA.columns "
        f"WHERE table_name = '{literal}'")
    if len(columns) == 0:
        raise VOError(f"the TAP service has no table {table_name!r} (see "
                      "`astropy-smass tap URL --tables`)")
    for name in ("unit", "ucd", "description", "datatype"):
        columns[name] = [("" if np.ma.is_masked(v) else str(v)) for v in columns[name]]
    empty = Table()
    for row in columns:
        name = str(row["column_name"])
        numeric = row["datatype"].lower() in ("double", "float", "real", "int", "integer",
                                              "smallint", "bigint", "long", "short")
        col = Column(np.zeros(0, float if numeric else "U1"), name=name,
                     unit=u.Unit(row["unit"], parse_strict="silent") if row["unit"] else None)
        col.info.description = row["description"] or None
        col.info.meta = {"ucd": row["ucd"]} if row["ucd"] else {}
        empty[name] = col
    found = recognise_columns(empty)
    marks = {c: f"band {b}" for b, c in found.band_columns.items()}
    marks.update({c: f"error of {b}" for b, c in found.error_columns.items()})
    redshift = redshift_column(empty, exclude=found.band_columns.values())
    if redshift is not None:
        marks[redshift] = "redshift"
    for name, bands in found.unresolved.items():
        marks.setdefault(name, "band? " + ", ".join(bands[:6]) + (" ..." if len(bands) > 6
                                                                  else ""))
    for name in empty.colnames:
        atoms = ucd_atoms(empty[name].info.meta.get("ucd"))
        if atoms[:1] and atoms[0].startswith("pos.eq."):
            marks.setdefault(name, "position")
        elif name in found.not_bands:
            marks.setdefault(name, "not a band")
    columns["recognised"] = [marks.get(str(n), "") for n in columns["column_name"]]
    return columns


def _schema_query(service_or_url, timeout, session, adql):
    with _tap_service(service_or_url, timeout, session) as (service, wrapped):
        try:
            table = service.run_sync(adql).to_table()
        except VOError:
            raise
        except Exception as exc:
            raise _service_error(exc, wrapped) from exc
    for name in table.colnames:
        if table[name].dtype.kind in "OSU":
            table[name] = [("" if np.ma.is_masked(v) else " ".join(str(v).split()))
                           for v in table[name]]
    return table
