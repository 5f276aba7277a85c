"""Virtual Observatory workflow: TAP query -> stellar masses -> TOPCAT/STILTS.

`annotate_tap` runs an ADQL query on a TAP service (with `pyvo`), recognises the
photometric bands of the result and adds the predicted stellar masses to it.
`send_to_topcat` hands a table to TOPCAT (or any SAMP client that loads tables), and
`~astropy_smass.io.to_votable` builds the VOTable that both of them, and
`~astropy_smass.io.write_table`, write: VOUnits unit strings, UCDs, descriptions and
the prediction's provenance as ``INFO`` elements.

Every network call has a timeout and every failure raises a `VOError` with a
one-line message; the pyvo or SAMP exception is kept as its ``__cause__``.
"""

import contextlib
import io
import math
import re
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import astropy.units as u
from astropy.table import Table

from .conf import Conf, conf
from .exceptions import InputError, VOError, VOTimeoutError
from .flags import SmassWarning
from .io.readwrite import to_votable, write_table
from .photometry.bands import BandColumnError, find_band_columns

# to_votable (also importable from here) is astropy_smass.io's: io writes VOTables
# without importing this module, which talks to services.
__all__ = ["VOError", "VOTimeoutError", "annotate_tap", "run_tap", "send_to_topcat",
           "redshift_column"]

#: Seconds each HTTP request to a TAP service may take by default.
DEFAULT_TIMEOUT = Conf.tap_timeout.defaultvalue
_FINAL_PHASES = ("COMPLETED", "ERROR", "ABORTED")


# -- VOTable --------------------------------------------------------------------------------
def _votable_bytes(table):
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        to_votable(table).to_xml(buffer)
    buffer.seek(0)
    return buffer


# -- TAP ------------------------------------------------------------------------------------
def _timeout_session(timeout):
    import requests

    class TimeoutSession(requests.Session):
        """A session whose requests time out unless told otherwise."""

        def request(self, method, url, **kwargs):
            kwargs.setdefault("timeout", timeout)
            return super().request(method, url, **kwargs)

    return TimeoutSession()


@contextlib.contextmanager
def _tap_service(service_or_url, timeout):
    """The service, and for a URL a session (closed at the end) with request timeouts."""
    import pyvo

    if isinstance(service_or_url, pyvo.dal.TAPService):
        yield service_or_url
        return
    url = str(service_or_url)
    if not re.match(r"https?://", url):
        raise InputError(f"{url!r} is not a TAP service URL (http:// or https://)")
    session = _timeout_session(timeout)
    try:
        yield pyvo.dal.TAPService(url, session=session)
    finally:
        session.close()


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


def _service_error(exc, url, timeout):
    """A `VOError` with one clear line for an exception raised while talking to ``url``."""
    import requests
    from pyvo.dal import DALQueryError

    if isinstance(exc, DALQueryError):
        reason = " ".join(str(getattr(exc, "reason", "") or exc).split())
        return VOError(f"the TAP service at {url} rejected the query: {reason}")
    cause = _root_cause(exc)
    if isinstance(cause, (requests.Timeout, TimeoutError)) or "timed out" in str(cause):
        return VOTimeoutError(f"the TAP service at {url} did not answer within {timeout:g} s")
    if isinstance(cause, (requests.ConnectionError, ConnectionError)):
        return VOError(f"cannot connect to the TAP service at {url}: "
                       f"{_short(cause)}")
    return VOError(f"the TAP service at {url} failed: {_short(exc)}")


def _short(exc):
    text = " ".join(str(exc).split()) or type(exc).__name__
    # urllib3 repeats the pool and the URL; the last clause says what happened.
    match = re.search(r"\[Errno -?\d+\][^')\]]*", text)
    if match:
        text = match.group(0)
    return text if len(text) <= 240 else text[:237] + "..."


def _reporter(progress):
    if callable(progress):
        return progress
    if progress:
        return lambda message: print(f"astropy-smass: {message}", file=sys.stderr, flush=True)
    return lambda message: None


def _upload_files(uploads):
    if not uploads:
        return None
    return {name: _votable_bytes(value) if isinstance(value, Table) else value
            for name, value in uploads.items()}


def run_tap(service_or_url, adql, maxrec=None, async_=False, timeout=None,
            job_timeout=None, progress=None, uploads=None):
    """Run an ADQL query and return its result as a `~astropy.table.Table`.

    Parameters are those of `annotate_tap`.

    Returns
    -------
    `~astropy.table.Table`
        The result; ``meta['smass_truncated']`` is True when the service cut it
        short (a `~astropy_smass.SmassWarning` says so too).
    """
    from pyvo.dal import DALOverflowWarning

    timeout = conf.tap_timeout if timeout is None else timeout
    job_timeout = conf.tap_job_timeout if job_timeout is None else job_timeout
    report = _reporter(progress)
    files = _upload_files(uploads)
    start = time.monotonic()
    with _tap_service(service_or_url, timeout) as service, warnings.catch_warnings():
        url = service.baseurl
        # pyvo's own overflow warning is replaced by a clearer one below.
        warnings.simplefilter("ignore", DALOverflowWarning)
        try:
            if async_:
                result = _run_async(service, adql, maxrec, files, job_timeout, report, start)
            else:
                report(f"querying {url} ...")
                result = service.run_sync(adql, maxrec=maxrec, uploads=files)
        except VOError:
            raise
        except Exception as exc:  # pyvo raises DAL*Error, requests errors, parse errors
            raise _service_error(exc, url, timeout) from exc
    table = result.to_table()
    truncated = str(getattr(result, "query_status", "OK")).upper() == "OVERFLOW"
    if truncated:
        limit = f"maxrec={maxrec}" if maxrec is not None else "the service's row limit"
        warnings.warn(f"the TAP result was truncated at {len(table)} rows by {limit}: the "
                      "query matches more rows; raise maxrec or narrow the query",
                      SmassWarning)
    table.meta["smass_truncated"] = truncated
    report(f"received {len(table)} rows in {time.monotonic() - start:.1f} s")
    return table


def _run_async(service, adql, maxrec, files, job_timeout, report, start):
    job = service.submit_job(adql, maxrec=maxrec, uploads=files)
    try:
        report(f"submitted TAP job {job.url}")
        job.run()
        interval, reported, last_report = 0.2, None, 0.0
        while True:
            phase = job.phase
            elapsed = time.monotonic() - start
            if phase != reported or elapsed - last_report > 10:
                report(f"TAP job {phase} ({elapsed:.0f} s)")
                reported, last_report = phase, elapsed
            if phase in _FINAL_PHASES:
                break
            if elapsed > job_timeout:
                raise VOTimeoutError(f"the TAP job at {job.url} did not finish within "
                                     f"{job_timeout:g} s (phase {phase})")
            time.sleep(min(interval, max(job_timeout - elapsed, 0.01)))
            interval = min(interval * 1.5, 5.0)
        if phase != "COMPLETED":
            job.raise_if_error()
            raise VOError(f"the TAP job at {job.url} ended in phase {phase}")
        return job.fetch_result()
    finally:
        # Jobs hold results on the server: always delete them, even after a failure.
        with contextlib.suppress(Exception):
            job.delete()


def redshift_column(table, exclude=()):
    """The column that holds redshifts: UCD ``src.redshift``, else named ``redshift``/``z``.

    Parameters
    ----------
    table : `~astropy.table.Table`
    exclude : iterable of str
        Columns that cannot be the redshift (e.g. a band column called ``z``).

    Returns
    -------
    str or None
    """
    names = [name for name in table.colnames if name not in set(exclude)]
    for name in names:
        ucd = str((table[name].info.meta or {}).get("ucd") or "")
        if ucd.split(";")[0].strip().lower() == "src.redshift":
            return name
    for name in names:
        if name.lower() in ("redshift", "z"):
            return name
    return None


def _fluxes_only(table, band_columns, units=None):
    for band, column in band_columns.items():
        unit = getattr(table[column], "unit", None)
        if unit is None or unit == u.dimensionless_unscaled:
            unit = units.get(band) if isinstance(units, dict) else units
            unit = None if unit is None else u.Unit(unit, parse_strict="silent")
        if unit is None or isinstance(unit, u.MagUnit) or not unit.is_equivalent(
                u.Jy, equivalencies=u.spectral_density(1 * u.um)):
            return False
    return True


def _default_redshift(table, predict_kwargs):
    """Use the table's redshift column when all bands are fluxes and none was named."""
    if (predict_kwargs.get("redshift") is not None
            or predict_kwargs.get("distance") is not None):
        return predict_kwargs
    band_columns = find_band_columns(table.colnames, columns=predict_kwargs.get("columns"),
                                     survey=predict_kwargs.get("survey"))
    if band_columns and _fluxes_only(table, band_columns, predict_kwargs.get("units")):
        name = redshift_column(table, exclude=band_columns.values())
        if name is not None:
            predict_kwargs["redshift"] = name
            table.meta["smass_redshift_column"] = name
    return predict_kwargs


def annotate_tap(service_or_url, adql, columns=None, maxrec=None, async_=False,
                 timeout=None, progress=None, uploads=None, job_timeout=None,
                 **predict_kwargs):
    """Query a TAP service and add predicted stellar masses to the result.

    Parameters
    ----------
    service_or_url : str or `pyvo.dal.TAPService`
        TAP service, or its base URL.
    adql : str
        The ADQL query; select the band columns (and redshift for fluxes).
    columns : dict, optional
        ``{band: column}`` for columns that are not recognised by name.
    maxrec : int, optional
        Most rows to return; a `~astropy_smass.SmassWarning` says when the result
        was truncated (by ``maxrec`` or the service's limit).
    async_ : bool
        Run as an asynchronous (UWS) job, polled until done; the job is deleted
        at the end, also after an error.
    timeout : float, optional
        Seconds each HTTP request may take (s); default ``conf.tap_timeout`` (60 s,
        see `astropy_smass.conf`).
    progress : bool or callable, optional
        Report progress: True prints to standard error, a callable gets each
        message (a str).
    uploads : dict, optional
        ``{name: table}`` uploaded with the query (an `~astropy.table.Table`,
        a VOTable file or URL); refer to it as ``TAP_UPLOAD.<name>`` in the ADQL,
        e.g. to join your own table with the service's on the server.
    job_timeout : float, optional
        Seconds an asynchronous job may run before giving up (s); default
        ``conf.tap_job_timeout`` (600 s).
    **predict_kwargs
        Passed to `~astropy_smass.SmassAccessor.predict` (``model``, ``errors``,
        ``redshift``, ``uncertainty``...). Without ``redshift`` or ``distance``,
        a result whose bands are all fluxes uses its ``src.redshift`` column.

    Returns
    -------
    `~astropy.table.Table`
        The query result with ``logmstar``, ``logmstar_err``, ``smass_flag``...
        added (see `~astropy_smass.SmassAccessor.annotate`); ``meta`` holds the
        provenance, the service URL and the query.

    Raises
    ------
    VOError
        The service cannot be reached, rejects the query (the message quotes the
        service's error document) or fails; `VOTimeoutError` when it does not
        answer in time.
    BandColumnError
        If the result has no usable band columns.
    """
    table = run_tap(service_or_url, adql, maxrec=maxrec, async_=async_, timeout=timeout,
                    job_timeout=job_timeout, progress=progress, uploads=uploads)
    url = service_or_url.baseurl if hasattr(service_or_url, "baseurl") else str(service_or_url)
    band_columns = find_band_columns(table.colnames, columns=columns,
                                     survey=predict_kwargs.get("survey"))
    if not band_columns:
        raise BandColumnError(
            f"the TAP result has no column recognised as a photometric band (columns: "
            f"{', '.join(table.colnames)}); select band columns in the query or map them "
            "with columns={band: column}")
    predict_kwargs = _default_redshift(table, dict(predict_kwargs, columns=columns))
    _reporter(progress)(f"predicting stellar masses for {len(table)} rows ...")
    table.smass.annotate(**predict_kwargs)
    table.meta["smass_tap_url"] = url
    table.meta["smass_adql"] = adql
    return table


# -- SAMP -----------------------------------------------------------------------------------
def _samp():
    try:  # pyvo >= 1.6 carries SAMP; astropy.samp is deprecated from astropy 8
        from pyvo import samp
    except ImportError:
        from astropy import samp
    return samp


def _hub_params(samp, hub):
    """Hub connection parameters from a lockfile path or URL (None: standard discovery)."""
    if hub is None or isinstance(hub, dict):
        return hub
    text = str(hub)
    if text.startswith("std-lockurl:"):
        text = text[len("std-lockurl:"):]
    if "://" not in text:
        text = Path(text).resolve().as_uri()
    if text.startswith("file:") and not Path(re.sub(r"^file://(localhost)?", "", text)).exists():
        raise VOError(f"no SAMP hub is running at {hub}: the lockfile does not exist")
    try:
        return samp.lockfile_helpers.read_lockfile(text)
    except Exception as exc:
        raise VOError(f"no SAMP hub lockfile at {hub}: {_short(exc)}") from exc


def send_to_topcat(table, hub=None, timeout=10, recipient=None, name=None):
    """Send a table to TOPCAT (or another SAMP client) and wait for it to load it.

    The table is written as a VOTable (`to_votable`) to a temporary file, offered
    by its ``file://`` URL with the ``table.load.votable`` message, and deleted
    once the recipients have answered or the timeout has passed.

    Parameters
    ----------
    table : `~astropy.table.Table`
    hub : str or path-like, optional
        Lockfile (path or URL) of the SAMP hub; default the standard discovery
        (``$SAMP_HUB``, else ``~/.samp``, the hub TOPCAT starts).
    timeout : float
        Seconds to wait for each recipient's answer (s).
    recipient : str, optional
        SAMP name (e.g. ``"topcat"``) or client id of the recipient; default
        TOPCAT if it is registered, else every client that loads tables.
    name : str, optional
        Name shown for the table; default ``table.meta['name']`` or ``"astropy-smass"``.

    Returns
    -------
    dict
        ``{client_id: response}``, the SAMP responses (all ``samp.ok``).

    Raises
    ------
    VOError
        No hub runs, no client loads tables, or a recipient reports an error;
        `VOTimeoutError` if a recipient does not answer within ``timeout``.
    """
    samp = _samp()
    name = name or str(table.meta.get("name") or "astropy-smass")
    params = _hub_params(samp, hub)
    client = samp.SAMPIntegratedClient(name="astropy-smass", callable=False,
                                       description="astropy-smass stellar masses")
    tmpdir = None
    try:
        with samp.conf.set_temp("use_internet", False):
            try:
                client.connect(hub_params=params)
            except Exception as exc:  # SAMPHubError, or a refused/stale hub address
                where = f" at {hub}" if hub is not None else ""
                raise VOError(f"no SAMP hub is running{where} ({_short(exc)}); start "
                              "TOPCAT, which runs one, or pass the hub's lockfile") from exc
            recipients = _samp_recipients(client, recipient)
            tmpdir = Path(tempfile.mkdtemp(prefix="astropy-smass-samp-"))
            path = tmpdir / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.vot"
            write_table(table, path)
            responses = {}
            for client_id, label in recipients.items():
                responses[client_id] = _samp_call(client, client_id, label, path.as_uri(),
                                                  name, timeout)
            return responses
    finally:
        if client.is_connected:
            with contextlib.suppress(Exception):
                client.disconnect()
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)


def _samp_recipients(client, recipient):
    subscribed = list(client.get_subscribed_clients("table.load.votable"))
    labels = {}
    for client_id in subscribed:
        with contextlib.suppress(Exception):
            labels[client_id] = str(client.get_metadata(client_id).get("samp.name", client_id))
        labels.setdefault(client_id, client_id)
    if recipient is not None:
        chosen = {c: n for c, n in labels.items()
                  if c == recipient or n.lower() == str(recipient).lower()}
        if not chosen:
            raise VOError(f"no SAMP client {recipient!r} that loads tables is registered "
                          f"(registered: {', '.join(labels.values()) or 'none'})")
        return chosen
    topcat = {c: n for c, n in labels.items() if n.lower() == "topcat"}
    if topcat:
        return topcat
    if not labels:
        raise VOError("no SAMP client that loads tables (table.load.votable) is registered "
                      "with the hub; start TOPCAT")
    return labels


def _samp_call(client, client_id, label, url, name, timeout):
    try:
        response = client.ecall_and_wait(client_id, "table.load.votable",
                                         str(max(1, math.ceil(timeout))), url=url, name=name)
    except Exception as exc:  # SAMPProxyError (xmlrpc Fault) on timeout or hub failure
        if "timeout" in str(exc).lower():
            raise VOTimeoutError(f"SAMP client {label} did not answer within {timeout:g} s") \
                from exc
        raise VOError(f"SAMP call to {label} failed: {_short(exc)}") from exc
    status = str(response.get("samp.status", ""))
    if status == "samp.error":
        error = response.get("samp.error", {})
        text = error.get("samp.errortxt", "no reason given") if isinstance(error, dict) \
            else error
        raise VOError(f"SAMP client {label} could not load the table: {text}")
    return response
