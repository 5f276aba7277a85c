"""Virtual Observatory workflow: TAP query or cross-match -> stellar masses -> TOPCAT/STILTS.

`annotate_tap` runs an ADQL query on a TAP service (with `pyvo`), recognises the
photometric bands of the result (by UCD, name and description:
`astropy_smass.photometry.ucd`) and adds the predicted stellar masses to it; with
``match=`` it cross-matches the user's own table against a TAP table by position
(`crossmatch_tap`). `annotate_tap_job` picks up an asynchronous job again (also one
left by an earlier run), `list_tables` and `list_columns` show what a service offers,
and `send_to_topcat` hands a table to TOPCAT (or any SAMP client that loads tables).
The tables are written by `~astropy_smass.io.write_table` (VOTable:
`~astropy_smass.io.to_votable`), with units, UCDs, descriptions, the prediction's
provenance and the service's own INFO elements.

Every network request has a time limit and every failure raises a `VOError` (a
`~astropy_smass.exceptions.SmassError`) with a one-line message, the pyvo, requests or
SAMP exception kept as its ``__cause__``. An answer that is an HTML page, or a job in a
phase that UWS does not know, is an error at once. Passwords and tokens, given in the
URL (``https://user:password@host/tap``, ``?token=...``), through ``session=`` or (on
the command line) from ``.netrc`` or the environment, are used for the requests to the
service's host only and never appear in messages, ``meta`` or output files: see
`redact`.
"""

import contextlib
import datetime
import io
import math
import netrc
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.parse
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Column, MaskedColumn, Table

from .conf import Conf, conf
from .exceptions import InputError, VOError, VOTimeoutError
from .flags import SmassFlag, SmassWarning
from .io.readwrite import read_table, write_table
from .io.votable import SERVICE_DESCRIPTION, SERVICE_INFOS, to_votable, votable_bytes
from .photometry.bands import BandColumnError
from .photometry.ucd import (
    default_redshift,
    is_apparent,
    recognise_columns,
    redshift_column,
    ucd_atoms,
)

__all__ = ["VOError", "VOTimeoutError", "annotate_tap", "annotate_tap_job", "run_tap",
           "fetch_tap_job", "crossmatch_tap", "list_tables", "list_columns",
           "send_to_topcat", "check_samp_hub", "session_from_environment", "redact",
           "to_votable", "redshift_column", "DEFAULT_TIMEOUT", "DEFAULT_JOB_TIMEOUT"]

#: Seconds each HTTP request to a TAP service may take by default (``conf.tap_timeout``
#: changes it; see `astropy_smass.conf`).
DEFAULT_TIMEOUT = Conf.tap_timeout.defaultvalue
#: Seconds an asynchronous job is waited for by default (``conf.tap_job_timeout``).
DEFAULT_JOB_TIMEOUT = Conf.tap_job_timeout.defaultvalue
#: Seconds a job may report the UWS phase UNKNOWN before that is an error.
UNKNOWN_PHASE_GRACE = 5.0

_UWS_PHASES = ("PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED", "UNKNOWN",
               "HELD", "SUSPENDED", "ARCHIVED")
_FINAL_PHASES = ("COMPLETED", "ERROR", "ABORTED")
_UPLOAD_NAME = "smass_positions"


# -- secrets --------------------------------------------------------------------------------
# Every password and token this process was given for a service, so that any text it
# writes (messages, meta, files) can be cleaned of them.
_SECRETS = set()
_USERINFO = re.compile(r"(?<=://)[^/@\s:]+(:[^/@\s]*)?@")
_QUERY_VALUE = re.compile(r"([?&][^=&#\s]+=)[^&#\s]+")


def _remember(*secrets):
    for secret in secrets:
        if secret and len(str(secret)) >= 4:
            _SECRETS.add(str(secret))
            _SECRETS.add(urllib.parse.quote(str(secret), safe=""))
            _SECRETS.add(urllib.parse.quote_plus(str(secret)))


def redact(text):
    """``text`` without the passwords and tokens given for services, nor user names and
    query parameter values in URLs.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
        User information in URLs (``user:password@``) is removed, the values of URL query
        parameters become ``***``, and every password or token that this process was
        given for a service (in a URL, a session, the environment or ``.netrc``) is
        replaced by ``***`` wherever it appears.

    Examples
    --------
    >>> redact("http://me:secret@example.org/tap?token=abc123/sync")
    'http://example.org/tap?token=***'
    """
    text = _USERINFO.sub("", str(text))
    text = _QUERY_VALUE.sub(r"\1***", text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _split_url(url):
    """``(base, params, auth)``: the URL without user information or query, its query
    parameters (sent with every request to the service), and ``(user, password)``."""
    parts = urllib.parse.urlsplit(str(url).strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{redact(url)!r} is not a TAP service URL (http:// or https://)")
    auth = None
    if parts.username is not None:
        auth = (urllib.parse.unquote(parts.username),
                urllib.parse.unquote(parts.password or ""))
        _remember(auth[1])
    params = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    _remember(*(value for _, value in params))
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    if ":" in parts.hostname:  # IPv6
        netloc = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
    base = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return base, params, auth


def _safe_url(base, params):
    """The URL to show and record: no user information, query values as ``***``."""
    if not params:
        return base
    return base + "?" + "&".join(f"{urllib.parse.quote(k)}=***" for k, _ in params)


def session_from_environment(url, environ=None):
    """A `requests.Session` with the credentials the environment holds for ``url``.

    Used by the command line. In order of precedence:

    1. ``ASTROPY_SMASS_TAP_TOKEN``: sent as ``Authorization: Bearer <token>``;
    2. ``ASTROPY_SMASS_TAP_USER`` and ``ASTROPY_SMASS_TAP_PASSWORD``: HTTP basic
       authentication;
    3. the ``machine`` entry of the service's host in ``.netrc`` (``$NETRC``, else
       ``~/.netrc``): HTTP basic authentication.

    Credentials in the URL itself (``user:password@``) win over all of these. The
    credentials are sent to the service's host only.

    Parameters
    ----------
    url : str
    environ : mapping, optional
        Default `os.environ`.

    Returns
    -------
    `requests.Session` or None
        None when the environment holds no credentials for the host.
    """
    import requests

    environ = os.environ if environ is None else environ
    host = urllib.parse.urlsplit(str(url)).hostname
    session = requests.Session()
    session.trust_env = False  # the credentials chosen here, not requests' own .netrc look-up
    token = environ.get("ASTROPY_SMASS_TAP_TOKEN")
    if token:
        _remember(token)
        session.auth = _HostAuth(host, token=token)
        return session
    user, password = environ.get("ASTROPY_SMASS_TAP_USER"), environ.get(
        "ASTROPY_SMASS_TAP_PASSWORD")
    if user and password is not None:
        _remember(password)
        session.auth = _HostAuth(host, basic=(user, password))
        return session
    path = environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
    if host and os.path.isfile(path):
        try:
            entry = netrc.netrc(path).authenticators(host)
        except (netrc.NetrcParseError, OSError) as exc:
            raise VOError(f"cannot read {path}: {redact(exc)}") from None
        if entry is not None:
            login, _, password = entry
            _remember(password)
            session.auth = _HostAuth(host, basic=(login or "", password or ""))
            return session
    session.close()
    return None


# -- sessions -------------------------------------------------------------------------------
def _host_auth_class():
    import requests

    class HostAuth(requests.auth.AuthBase):
        """HTTP basic or bearer credentials, sent to one host only."""

        def __init__(self, host, basic=None, token=None):
            self.host, self.basic, self.token = host, basic, token

        def __call__(self, request):
            if urllib.parse.urlsplit(request.url).hostname != self.host:
                return request
            if self.token is not None:
                request.headers["Authorization"] = f"Bearer {self.token}"
                return request
            return requests.auth.HTTPBasicAuth(*self.basic)(request)

        def __repr__(self):
            return f"<credentials for {self.host}>"

    return HostAuth


def _HostAuth(host, basic=None, token=None):  # noqa: N802 (a class, made lazily)
    return _host_auth_class()(host, basic=basic, token=token)


def _has_own_timeout(session):
    import requests

    request = getattr(type(session), "request", None)
    return request is not None and request is not requests.Session.request


class _ServiceSession:
    """What pyvo talks through: the caller's session (or a new one), with

    * a time limit on every request that has none (unless the caller's session sets
      its own: then it is kept);
    * the service URL's query parameters (``?token=``) and user information added to
      every request to the service's host, and to no other host;
    * an answer that is an HTML page turned into a `VOError` at once.
    """

    def __init__(self, session, timeout, base, params, auth):
        import requests

        self.owned = session is None
        self.session = requests.Session() if session is None else session
        keep = timeout is None and not self.owned and _has_own_timeout(self.session)
        self.timeout = None if keep else (conf.tap_timeout if timeout is None else timeout)
        self.base = base
        self.safe = _safe_url(base, params)
        self.netloc = urllib.parse.urlsplit(base).netloc
        self.params = list(params)
        self.auth = auth

    # pyvo calls get/post/put/delete (an AuthSession has no request()).
    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self.request("POST", url, **kwargs)

    def put(self, url, **kwargs):
        return self.request("PUT", url, **kwargs)

    def delete(self, url, **kwargs):
        return self.request("DELETE", url, **kwargs)

    def request(self, method, url, **kwargs):
        """One request, its redirects followed here, so that each hop to the service's
        host gets the query parameters and credentials (requests would drop the
        ``?token=`` of the first URL)."""
        follow = kwargs.pop("allow_redirects", True)
        response = self._send(method, url, **kwargs)
        for _ in range(10):
            if not (follow and response.is_redirect):
                break
            url = urllib.parse.urljoin(str(url), response.headers["Location"])
            if response.status_code in (301, 302, 303) and method.upper() != "HEAD":
                method = "GET"
                for key in ("data", "files", "json"):
                    kwargs.pop(key, None)
            kwargs.pop("params", None)  # a redirect's URL is complete
            response.close()
            response = self._send(method, url, **kwargs)
        self._check(response, method, url)
        return response

    def _send(self, method, url, **kwargs):
        kwargs["allow_redirects"] = False
        if self.timeout is not None:
            kwargs.setdefault("timeout", self.timeout)
        if urllib.parse.urlsplit(str(url)).netloc == self.netloc:
            if self.params:
                present = {k for k, _ in urllib.parse.parse_qsl(
                    urllib.parse.urlsplit(str(url)).query)}
                extra = [(k, v) for k, v in self.params if k not in present]
                given = kwargs.get("params") or []
                given = list(given.items()) if isinstance(given, dict) else list(given)
                kwargs["params"] = given + extra
            if self.auth is not None:
                kwargs.setdefault("auth", self.auth)
        caller = getattr(self.session, method.lower(), None)
        if caller is None:
            response = self.session.request(method, url, **kwargs)
        else:
            response = caller(url, **kwargs)
        if self.params:
            # pyvo builds job URLs from response.url: without the parameters added here,
            # or "/phase" would land after "?token=...".
            response.url = str(url)
        return response

    def _check(self, response, method, url):
        kind = str(response.headers.get("Content-Type", "")).lower()
        if response.status_code < 400 and ("text/html" in kind or "xhtml" in kind):
            title = ""
            with contextlib.suppress(Exception):
                match = re.search(rb"<title[^>]*>(.*?)</title>", response.content[:65536],
                                  re.I | re.S)
                if match:
                    title = " ".join(match.group(1).decode("utf-8", "replace").split())
                    title = f" ({title[:80]!r})"
            response.close()
            what = urllib.parse.urlsplit(str(url)).path.rsplit("/", 1)[-1] or "the request"
            raise VOError(redact(
                f"the TAP service at {self.safe} answered {method} {what} with an HTML "
                f"page{title}, not a VOTable or UWS document: is {self.safe} the base URL "
                "of a TAP service?"))

    def __getattr__(self, name):  # update_from_capabilities, headers, close...
        return getattr(self.session, name)

    def close(self):
        if self.owned:
            self.session.close()


@contextlib.contextmanager
def _tap_service(service_or_url, timeout, session=None):
    """``(service, safe URL, timeout used)``: a TAPService talking through a
    `_ServiceSession`, closed at the end when this function made it."""
    import pyvo

    if isinstance(service_or_url, pyvo.dal.TAPService):
        url = service_or_url.baseurl
        if session is None:
            session = getattr(service_or_url, "_session", None)
    else:
        url = str(service_or_url)
    base, params, auth = _split_url(url)
    wrapped = _ServiceSession(session, timeout, base, params, auth)
    try:
        yield pyvo.dal.TAPService(base, session=wrapped), wrapped
    finally:
        wrapped.close()


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


def _short(exc):
    text = " ".join(str(exc).split()) or type(exc).__name__
    # urllib3 repeats the pool and the URL; the last clause says what happened.
    match = re.search(r"\[Errno -?\d+\][^')\]]*", text)
    if match:
        text = match.group(0)
    text = redact(text)
    return text if len(text) <= 240 else text[:237] + "..."


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
    meta = {}
    entries = []
    for info in infos:
        if not info.name:
            continue
        entry = {"name": str(info.name), "value": redact(info.value or "")}
        if info.ucd:
            entry["ucd"] = str(info.ucd)
        entries.append(entry)
    if entries:
        meta[SERVICE_INFOS] = entries
    text = next((d for d in descriptions if isinstance(d, str) and d.strip()), None)
    if text is not None:
        meta[SERVICE_DESCRIPTION] = redact(" ".join(text.split()))
    return meta


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


# -- cross-match ----------------------------------------------------------------------------
_RA_NAMES = ("ra", "raj2000", "ra_icrs", "ra_deg", "radeg", "_raj2000", "alpha", "ra2000")
_DEC_NAMES = ("dec", "dej2000", "decj2000", "de_icrs", "dec_icrs", "dec_deg", "decdeg",
              "_dej2000", "delta", "dec2000", "de")


def _position_columns(table, given=None):
    """The right ascension and declination columns of a user's table."""
    if given is not None:
        names = list(given.split(",") if isinstance(given, str) else given)
        if len(names) != 2:
            raise InputError(f"match_columns takes two column names (RA, Dec), got {given!r}")
        for name in names:
            if name.strip() not in table.colnames:
                raise BandColumnError(f"position column {name.strip()!r} is not in the "
                                      f"table (columns: {', '.join(table.colnames)})")
        return names[0].strip(), names[1].strip()
    found = []
    for atom, names in (("pos.eq.ra", _RA_NAMES), ("pos.eq.dec", _DEC_NAMES)):
        by_ucd = [c for c in table.colnames
                  if (ucd_atoms((table[c].info.meta or {}).get("ucd")) or [""])[0] == atom]
        main = [c for c in by_ucd if "meta.main" in ucd_atoms(table[c].info.meta.get("ucd"))]
        by_name = [c for n in names for c in table.colnames if c.lower() == n]
        choice = (main or by_ucd or by_name or [None])[0]
        found.append(choice)
    if None in found:
        raise BandColumnError(
            f"cannot tell the position columns of the table to match (columns: "
            f"{', '.join(table.colnames)}); name them ra/dec or pass "
            "match_columns=(RA, DEC) (--match-columns RA,DEC)")
    return tuple(found)


def _degrees(column, what):
    """Values of a position column in degrees (NaN where missing)."""
    unit = getattr(column, "unit", None)
    data = getattr(column, "value", column)
    if np.asarray(data).dtype.kind in "OSU":
        from astropy.coordinates import Angle

        texts = np.ma.filled(np.ma.asarray(data).astype(str), "")
        sexagesimal = what == "ra" and any(":" in t or "h" in t for t in texts[:10])
        values = np.full(len(texts), np.nan)
        for k, text in enumerate(texts):
            if text.strip():
                with contextlib.suppress(ValueError, u.UnitsError):
                    values[k] = Angle(text, u.hourangle if sexagesimal else u.deg).deg
        return values
    values = np.ma.filled(np.ma.asarray(data, dtype=float), np.nan)
    if unit is not None and unit != u.dimensionless_unscaled:
        try:
            values = (values * u.Unit(unit)).to_value(u.deg)
        except (u.UnitsError, ValueError, TypeError) as exc:
            raise InputError(f"the {what} column is in {unit}, not an angle") from exc
    return np.asarray(values, dtype=float)


def _identifier(name):
    """An ADQL table or column name, checked (quoted when it is not a plain identifier)."""
    parts = str(name).split(".")
    if not (1 <= len(parts) <= 3) or not all(parts):
        raise InputError(f"{name!r} is not a TAP table name such as schema.table")
    out = []
    for part in parts:
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out.append(part)
        elif re.fullmatch(r'"[^"]+"', part):
            out.append(part)
        else:
            raise InputError(f"{name!r} is not a TAP table name such as schema.table")
    return ".".join(out)


def _column_identifier(name):
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else \
        '"' + name.replace('"', '""') + '"'


def _service_positions(service, table_name, given=None):
    """The RA and Dec columns of a TAP table, from TAP_SCHEMA (UCDs, else names)."""
    if given is not None:
        names = list(given.split(",") if isinstance(given, str) else given)
        return names[0].strip(), names[1].strip()
    literal = table_name.replace("'", "''")
    columns = service.run_sync(
        "SELECT column_name, ucd FROM TAP_SCHEMA.columns "
        f"WHERE table_name = '{literal}'").to_table()
    if len(columns) == 0:
        raise VOError(f"the TAP service has no table {table_name!r} (see "
                      "`astropy-smass tap URL --tables`)")
    names = [str(n) for n in columns["column_name"]]
    ucds = [str(v) if not np.ma.is_masked(v) else "" for v in columns["ucd"]]
    found = []
    for atom, fallback in (("pos.eq.ra", _RA_NAMES), ("pos.eq.dec", _DEC_NAMES)):
        main = [n for n, c in zip(names, ucds)
                if ucd_atoms(c)[:1] == [atom] and "meta.main" in ucd_atoms(c)]
        any_ucd = [n for n, c in zip(names, ucds) if ucd_atoms(c)[:1] == [atom]]
        by_name = [n for f in fallback for n in names if n.lower() == f]
        found.append((main or any_ucd or by_name or [None])[0])
    if None in found:
        raise VOError(f"table {table_name} has no columns with UCDs pos.eq.ra and pos.eq.dec "
                      "(nor named ra/dec); name them with service_positions=(RA, DEC)")
    return tuple(found)


def crossmatch_tap(service_or_url, table_name, match, radius=2 * u.arcsec,
                   match_columns=None, service_positions=None, async_=False, timeout=None,
                   job_timeout=None, progress=None, session=None,
                   execution_duration=None, keep_job=False, suffix="_tap", maxrec=None):
    """Cross-match a table of positions against a TAP table: the nearest counterpart each.

    The positions (only they, with a row number) go up to the service as a TAP upload;
    the service joins them with ``table_name`` by ADQL ``CONTAINS(POINT, CIRCLE)`` and
    ``DISTANCE``, as STILTS ``tapskymatch`` does; the nearest counterpart of each row
    is kept.

    Parameters
    ----------
    service_or_url : str or `pyvo.dal.TAPService`
    table_name : str
        The service's table, e.g. ``"hatlas.galaxies"``.
    match : `~astropy.table.Table`
        Your table. Its positions are the columns with UCDs ``pos.eq.ra`` and
        ``pos.eq.dec``, else those named ``ra``/``dec`` (``RAJ2000``...), in degrees
        unless their unit says otherwise (sexagesimal strings are read too).
    radius : `~astropy.units.Quantity` or float
        Match radius (arcsec if a number).
    match_columns : (str, str), optional
        RA and Dec columns of ``match``.
    service_positions : (str, str), optional
        RA and Dec columns of the service's table; default those with UCDs
        ``pos.eq.ra;meta.main`` and ``pos.eq.dec;meta.main`` in ``TAP_SCHEMA``.
    suffix : str
        Appended to the service's column names that ``match`` has too.
    maxrec : int, optional
        Most rows the service may return (counterparts, not your rows); a warning says
        when the result was cut short (DaCHS returns 20,000 unless told more).
    async_, timeout, job_timeout, progress, session, execution_duration, keep_job
        As for `annotate_tap`.

    Returns
    -------
    `~astropy.table.Table`
        Every row of ``match``, in order, then ``smass_match_sep`` (arcsec; masked
        where no counterpart lies within ``radius``), ``smass_match_count`` (counterparts
        within ``radius``) and the columns of the nearest counterpart (masked where
        there is none). ``meta['smass_match']`` records the match.
    """
    report = _reporter(progress)
    table_name = _identifier(table_name)
    radius = u.Quantity(radius, u.arcsec) if not isinstance(radius, u.Quantity) else radius
    radius_deg = float(radius.to_value(u.deg))
    if not 0 < radius_deg < 10:
        raise InputError(f"the match radius must be positive and below 10 deg, got {radius}")
    ra_name, dec_name = _position_columns(match, match_columns)
    ra, dec = _degrees(match[ra_name], "ra"), _degrees(match[dec_name], "dec")
    usable = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90)
    n = len(match)
    if not usable.any():
        raise InputError(f"no row of the table to match has a position in {ra_name}, "
                         f"{dec_name}")
    positions = Table({"smass_row": np.flatnonzero(usable).astype(np.int64),
                       "ra": ra[usable] % 360.0, "dec": dec[usable]})
    with _tap_service(service_or_url, timeout, session) as (service, wrapped):
        try:
            t_ra, t_dec = _service_positions(service, table_name, service_positions)
        except VOError:
            raise
        except Exception as exc:
            raise _service_error(exc, wrapped) from exc
        url = wrapped.safe
    point = (f"POINT('ICRS', t.{_column_identifier(t_ra)}, "
             f"t.{_column_identifier(t_dec)})")
    adql = (f"SELECT u.smass_row AS smass_row, "
            f"DISTANCE({point}, POINT('ICRS', u.ra, u.dec)) AS smass_match_sep, t.* "
            f"FROM {table_name} AS t JOIN TAP_UPLOAD.{_UPLOAD_NAME} AS u "
            f"ON 1 = CONTAINS({point}, CIRCLE('ICRS', u.ra, u.dec, {radius_deg!r}))")
    report(f"cross-matching {int(usable.sum())} positions with {table_name} within "
           f"{radius.to_value(u.arcsec):g} arcsec ...")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "the TAP query returned no rows", SmassWarning)
        warnings.filterwarnings("ignore", "the TAP result was truncated", SmassWarning)
        found = run_tap(service_or_url, adql, maxrec=maxrec, async_=async_, timeout=timeout,
                        job_timeout=job_timeout, progress=progress,
                        uploads={_UPLOAD_NAME: positions}, session=session,
                        execution_duration=execution_duration, keep_job=keep_job)
    if found.meta.get("smass_truncated"):
        warnings.warn("the cross-match result was truncated by the service's row limit: "
                      "some rows may miss their counterpart; match fewer rows at a time",
                      SmassWarning)
    out = _nearest_rows(match, found, n, suffix)
    out.meta["smass_tap_url"] = url
    out.meta["smass_adql"] = adql
    out.meta["smass_match"] = {
        "table": table_name, "radius_arcsec": float(radius.to_value(u.arcsec)),
        "columns": [ra_name, dec_name], "service_columns": [t_ra, t_dec],
        "rows": n, "matched": int((out["smass_match_count"] > 0).sum()),
        "several_within_radius": int((out["smass_match_count"] > 1).sum())}
    for key in ("smass_truncated", SERVICE_INFOS, SERVICE_DESCRIPTION, "smass_tap_job"):
        if key in found.meta:
            out.meta[key] = found.meta[key]
    report(f"{out.meta['smass_match']['matched']} of {n} rows have a counterpart")
    return out


def _nearest_rows(match, found, n, suffix):
    """``match`` with the nearest row of ``found`` for each of its rows (masked if none)."""
    rows = np.asarray(found["smass_row"], dtype=np.int64) if len(found) else \
        np.zeros(0, np.int64)
    sep = np.ma.filled(np.ma.asarray(found["smass_match_sep"], dtype=float), np.inf) \
        if len(found) else np.zeros(0)
    order = np.lexsort((sep, rows))  # by row, nearest first
    best = np.full(n, -1)
    count = np.bincount(rows, minlength=n) if len(rows) else np.zeros(n, int)
    first = np.ones(len(order), bool)
    first[1:] = rows[order][1:] != rows[order][:-1]
    best[rows[order][first]] = order[first]
    has = best >= 0
    out = Table(match, copy=True)
    out.meta = dict(match.meta)
    sep_arcsec = np.full(n, np.nan)
    sep_arcsec[has] = sep[best[has]] * 3600.0
    out["smass_match_sep"] = MaskedColumn(sep_arcsec, mask=~has, unit=u.arcsec,
                                          description="Distance to the nearest counterpart "
                                                      "in the TAP table")
    out["smass_match_sep"].info.meta = {"ucd": "pos.angDistance"}
    out["smass_match_count"] = Column(count.astype(np.int32),
                                      description="Counterparts within the match radius")
    out["smass_match_count"].info.meta = {"ucd": "meta.number"}
    take = np.where(has, best, 0)
    for name in found.colnames:
        if name in ("smass_row", "smass_match_sep"):
            continue
        col = found[name]
        target = name if name not in out.colnames else name + suffix
        if len(found):
            data = np.ma.asarray(col)[take]
            mask = np.ma.getmaskarray(data) | ~has
            new = MaskedColumn(np.ma.getdata(data), mask=mask, unit=col.unit)
        else:
            new = MaskedColumn(np.ma.masked_all((n,) + col.shape[1:], dtype=col.dtype),
                               unit=col.unit)
        new.info.description = col.info.description
        new.info.meta = dict(col.info.meta or {})
        out[target] = new
    return out


# -- annotating -----------------------------------------------------------------------------
def annotate_tap(service_or_url, adql, columns=None, maxrec=None, async_=False,
                 timeout=None, progress=None, uploads=None, job_timeout=None,
                 match=None, radius=2 * u.arcsec, match_columns=None, service_positions=None,
                 session=None, execution_duration=None, destruction=None, keep_job=False,
                 **predict_kwargs):
    """Query a TAP service, or cross-match a table with it, and add stellar masses.

    Parameters
    ----------
    service_or_url : str or `pyvo.dal.TAPService`
        TAP service, or its base URL. User information (``https://user:pw@host/tap``)
        and query parameters (``?token=...``) are sent with every request to the
        service's host, and never recorded.
    adql : str
        The ADQL query (select the band columns, and the redshift for apparent
        photometry); with ``match``, the name of the service's table to match against.
    columns : dict, optional
        ``{band: column}`` for columns that are not recognised (by UCD, name or
        description); it also chooses among several columns of one band.
    maxrec : int, optional
        Most rows to return; a `~astropy_smass.SmassWarning` says when the result
        was truncated (by ``maxrec`` or the service's limit).
    async_ : bool
        Run as an asynchronous (UWS) job, polled until done. A finished job is deleted
        (also after an error) unless ``keep_job``; one that does not finish within
        ``job_timeout`` is kept, and the error says how to resume it.
    timeout : float, optional
        Seconds each HTTP request may take; default ``conf.tap_timeout`` (60 s, see
        `astropy_smass.conf`), or, for a service or session whose session class sets its
        own time limit, that one.
    progress : bool or callable, optional
        Report progress (phase and elapsed time of a job): True prints to standard
        error, a callable gets each message (a str).
    uploads : dict, optional
        ``{name: table}`` uploaded with the query (an `~astropy.table.Table`, a file
        name or an http(s) URL of a table, read here); refer to it as
        ``TAP_UPLOAD.<name>`` in the ADQL.
    job_timeout : float, optional
        Seconds to wait for an asynchronous job; default ``conf.tap_job_timeout`` (600 s,
        see `astropy_smass.conf`).
    match : `~astropy.table.Table`, optional
        Your table of positions: cross-match it with the table named by ``adql`` (see
        `crossmatch_tap`) and give every row of it, in order, the nearest counterpart's
        photometry and mass, or the flag ``NO_MATCH`` (1024).
    radius : `~astropy.units.Quantity` or float
        Match radius (arcsec if a number).
    match_columns, service_positions : (str, str), optional
        Position columns of ``match`` and of the service's table (see `crossmatch_tap`).
    session : `requests.Session` or `pyvo.auth.AuthSession`, optional
        The session to talk to the service through (credentials, cookies,
        certificates). Default the session of a given `pyvo.dal.TAPService`, else a
        new one.
    execution_duration : float or `~astropy.units.Quantity`, optional
        The job's ``EXECUTIONDURATION`` on the server (s).
    destruction : `datetime.datetime`, `datetime.timedelta` or str, optional
        The job's ``DESTRUCTION`` time (a time, or a delay from now such as ``"2d"``).
    keep_job : bool
        Never delete the job; its URL is in ``meta['smass_tap_job']``.
    **predict_kwargs
        Passed to `~astropy_smass.SmassAccessor.predict` (``model``, ``errors``,
        ``redshift``, ``uncertainty``...). Without ``redshift`` or ``distance``, a
        result whose bands are fluxes or apparent magnitudes (UCD ``phot.mag``) uses
        its redshift column (UCD ``src.redshift``).

    Returns
    -------
    `~astropy.table.Table`
        The query result (or your table with its counterparts) with ``logmstar``,
        ``logmstar_err``, ``smass_flag``... added (see
        `~astropy_smass.SmassAccessor.annotate`); ``meta`` holds the provenance, the
        service URL (without credentials), the query, the service's INFO elements and,
        where one column was chosen among several for a band, that choice
        (``smass_band_choices``).

    Raises
    ------
    VOError
        The service cannot be reached, answers with something other than TAP,
        refuses access, rejects the query (the message quotes the service's error
        document) or fails; `VOTimeoutError` when it does not answer in time.
    BandColumnError
        If the result has no usable band columns.
    """
    if match is not None:
        table = crossmatch_tap(service_or_url, adql, match, radius=radius,
                               match_columns=match_columns,
                               service_positions=service_positions, async_=async_,
                               timeout=timeout, job_timeout=job_timeout, progress=progress,
                               session=session, execution_duration=execution_duration,
                               keep_job=keep_job, maxrec=maxrec)
        service_part = [c for c in table.colnames if c not in match.colnames]
        _annotate(table, columns, progress, predict_kwargs, only=service_part)
        no_match = np.asarray(table["smass_match_count"]) == 0
        flag = table[predict_kwargs.get("prefix", "") + "smass_flag"]
        flag[no_match] = np.asarray(flag)[no_match] | int(SmassFlag.NO_MATCH)
        return table
    table = run_tap(service_or_url, adql, maxrec=maxrec, async_=async_, timeout=timeout,
                    job_timeout=job_timeout, progress=progress, uploads=uploads,
                    session=session, execution_duration=execution_duration,
                    destruction=destruction, keep_job=keep_job)
    table.meta["smass_tap_url"] = _tap_url(service_or_url)
    table.meta["smass_adql"] = adql
    _annotate(table, columns, progress, predict_kwargs)
    return table


def annotate_tap_job(job_url, columns=None, timeout=None, progress=None,
                     job_timeout=None, session=None, keep_job=False,
                     **predict_kwargs):
    """`annotate_tap` for an asynchronous job that already exists (see `fetch_tap_job`).

    Returns
    -------
    `~astropy.table.Table`
        The job's result with the stellar masses added; ``meta['smass_adql']`` is the
        job's query and ``meta['smass_tap_url']`` the job URL (without credentials).
    """
    table = fetch_tap_job(job_url, timeout=timeout, job_timeout=job_timeout,
                          progress=progress, session=session, keep_job=keep_job)
    table.meta["smass_tap_url"] = _tap_url(job_url)
    _annotate(table, columns, progress, predict_kwargs)
    return table


def _tap_url(service_or_url):
    url = getattr(service_or_url, "baseurl", service_or_url)
    base, params, _ = _split_url(url)
    return _safe_url(base, params)


def _annotate(table, columns, progress, predict_kwargs, only=None):
    """Recognise the bands (among the ``only`` columns) and add the masses to ``table``."""
    view = table[only] if only is not None else table
    found = recognise_columns(view, columns=columns, errors=predict_kwargs.get("errors"),
                              survey=predict_kwargs.get("survey"),
                              exclude=[predict_kwargs.get(k) for k in ("redshift", "distance",
                                                                       "ebv")])
    if not found.band_columns:
        unsure = "".join(f"; column {name!r} could be band {' or '.join(bands)}"
                         for name, bands in found.unresolved.items())
        raise BandColumnError(
            f"the TAP result has no column recognised as a photometric band (columns: "
            f"{', '.join(view.colnames)}){unsure}; select band columns in the query or map "
            "them with columns={band: column}")
    kwargs = dict(predict_kwargs, columns=columns)
    if only is not None:
        # The user's own columns are neither bands nor the redshift.
        kwargs["columns"] = dict(found.band_columns)
        if kwargs.get("errors") is None:
            kwargs["errors"] = dict(found.error_columns)
        if kwargs.get("redshift") is None and kwargs.get("distance") is None \
                and is_apparent(view, found, kwargs.get("units")):
            name = redshift_column(view, exclude=found.band_columns.values())
            if name is not None:
                kwargs["redshift"] = name
                table.meta["smass_redshift_column"] = name
    else:
        kwargs = default_redshift(table, kwargs)
    _reporter(progress)(f"predicting stellar masses for {len(table)} rows ...")
    table.smass.annotate(**kwargs)
    if only is not None and found.choices:
        table.meta["smass_band_choices"] = {
            b: c for b, c in found.choices.items() if b in table.meta["smass_band_columns"]}
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


def check_samp_hub(hub=None, recipient=None):
    """Fail now, not after a long query, if a table could not be sent over SAMP.

    Connects to the hub and checks that a client that loads tables (``recipient``, or
    TOPCAT, or any) is registered; then disconnects.

    Parameters
    ----------
    hub, recipient
        As for `send_to_topcat`.

    Returns
    -------
    dict
        ``{client_id: samp.name}`` of the clients a table would go to.

    Raises
    ------
    VOError
        No hub runs, or no client that loads tables is registered.
    """
    samp = _samp()
    params = _hub_params(samp, hub)
    client = samp.SAMPIntegratedClient(name="astropy-smass", callable=False,
                                       description="astropy-smass stellar masses")
    try:
        with samp.conf.set_temp("use_internet", False):
            _samp_connect(client, params, hub)
            return _samp_recipients(client, recipient)
    finally:
        if client.is_connected:
            with contextlib.suppress(Exception):
                client.disconnect()


def _samp_connect(client, params, hub):
    try:
        client.connect(hub_params=params)
    except Exception as exc:  # SAMPHubError, or a refused/stale hub address
        where = f" at {hub}" if hub is not None else ""
        raise VOError(f"no SAMP hub is running{where} ({_short(exc)}); start "
                      "TOPCAT, which runs one, or pass the hub's lockfile") from exc


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
            _samp_connect(client, params, hub)
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
