"""Helpers for the VO integration tests (DaCHS TAP, STILTS, SAMP, TOPCAT).

A plain module, not a conftest and without tests.  The services are set up by
``.ci/services.sh`` (see its header); it writes ``.ci/services.env`` which is
read here.  Everything talks to 127.0.0.1 only.

Policy: when a service is missing the helpers call ``pytest.skip(reason)``
(shown with ``pytest -rs``); when the environment variable
``ASTROPY_SMASS_REQUIRE_SERVICES=1`` is set (CI does) they call
``pytest.fail(reason)`` instead, so a broken CI set-up can never turn into a
green run of skipped tests.

Typical use::

    from services import tap_service, hatlas_table_name   # or: from . import services

    def test_something():
        svc = tap_service()                     # skips/fails if DaCHS is down
        t = svc.run_sync(f"SELECT TOP 5 * FROM {hatlas_table_name()}").to_table()

    def test_topcat(tmp_path):
        require_topcat()
        with samp_hub(tmp_path) as lockurl, topcat_client(lockurl) as topcat, \\
                samp_client(lockurl) as cli:
            cli.ecall_and_wait(topcat.client_id, "table.load.votable", "30", url=...)
"""
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

import pytest

try:  # pyvo >= 1.7 ships the SAMP implementation (astropy.samp is deprecated in astropy 8)
    from pyvo import samp as _samp
except ImportError:  # older pyvo: fall back to astropy.samp (removed in future astropy)
    from astropy import samp as _samp

__all__ = [
    "REPO_ROOT",
    "SERVICES_ENV",
    "services_required",
    "unavailable",
    "tap_url",
    "tap_service",
    "hatlas_table_name",
    "eco_table_name",
    "stilts_path",
    "run_stilts",
    "StiltsError",
    "topcat_available",
    "require_topcat",
    "samp_hub",
    "samp_client",
    "find_client",
    "topcat_client",
    "TopcatHandle",
    "samp",
]

samp = _samp  #: the SAMP module in use (pyvo.samp, or astropy.samp as fallback)

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES_ENV = REPO_ROOT / ".ci" / "services.env"
DEFAULT_TABLE = "hatlas.galaxies"
DEFAULT_ECO_TABLE = "eco.photoobj"
HTTP_TIMEOUT = 30  # seconds, for every TAP request made through tap_service()


# --------------------------------------------------------------------------- policy
def services_required():
    """True if ``ASTROPY_SMASS_REQUIRE_SERVICES=1`` (CI): fail instead of skip."""
    return os.environ.get("ASTROPY_SMASS_REQUIRE_SERVICES", "").strip() == "1"


def unavailable(reason):
    """Skip the current test with *reason*, or fail it if services are required."""
    msg = f"{reason} (set up with .ci/services.sh)"
    if services_required():
        pytest.fail(f"ASTROPY_SMASS_REQUIRE_SERVICES=1 but {msg}", pytrace=False)
    pytest.skip(msg)


def _read_services_env():
    values = {}
    try:
        text = SERVICES_ENV.read_text()
    except OSError:
        return values
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, val = line.partition("=")
            values[key.strip()] = val.strip().strip("'\"")
    return values


def _setting(name):
    """Environment variable *name*, else the value in .ci/services.env, else None."""
    return os.environ.get(name) or _read_services_env().get(name)


# --------------------------------------------------------------------------- TAP
def _tap_availability(url, timeout=2.0):
    """Return None if ``url/availability`` says available, else a reason string."""
    avail = url.rstrip("/") + "/availability"
    try:
        with urllib.request.urlopen(avail, timeout=timeout) as resp:
            body = resp.read(100_000).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"TAP service {url} not reachable ({avail}: {exc})"
    if "available>true" not in body.replace(" ", "").lower():
        return f"TAP service {url} reports not available: {body[:300]!r}"
    return None


def tap_url():
    """URL of the local DaCHS TAP service, checked with a 2 s availability request.

    From ``$ASTROPY_SMASS_TAP_URL`` or ``.ci/services.env``; skips (or fails
    under ``ASTROPY_SMASS_REQUIRE_SERVICES=1``) if unset or not answering.
    """
    url = _setting("ASTROPY_SMASS_TAP_URL")
    if not url:
        unavailable(f"no TAP URL: ASTROPY_SMASS_TAP_URL unset and {SERVICES_ENV} missing")
    reason = _tap_availability(url)
    if reason:
        unavailable(reason)
    return url


class _TimeoutSession:
    """requests.Session factory whose requests get a default timeout."""

    @staticmethod
    def make(timeout=HTTP_TIMEOUT):
        import requests

        class Session(requests.Session):
            def request(self, method, url, **kwargs):
                kwargs.setdefault("timeout", timeout)
                return super().request(method, url, **kwargs)

        return Session()


def tap_service(timeout=HTTP_TIMEOUT):
    """``pyvo.dal.TAPService`` for :func:`tap_url`; every HTTP request times out."""
    import pyvo

    return pyvo.dal.TAPService(tap_url(), session=_TimeoutSession.make(timeout))


def hatlas_table_name():
    """Fully qualified ADQL name of the served H-ATLAS table (``hatlas.galaxies``)."""
    return _setting("ASTROPY_SMASS_HATLAS_TABLE") or DEFAULT_TABLE


def eco_table_name():
    """ADQL name of the ECO table served with SDSS/2MASS-style names (``eco.photoobj``)."""
    return _setting("ASTROPY_SMASS_ECO_TABLE") or DEFAULT_ECO_TABLE


# --------------------------------------------------------------------------- STILTS / TOPCAT
_STILTS_OK = {}


def stilts_path():
    """Path of a working ``stilts`` (``$ASTROPY_SMASS_STILTS`` or PATH); skip/fail otherwise."""
    exe = os.environ.get("ASTROPY_SMASS_STILTS") or shutil.which("stilts")
    if not exe:
        unavailable("stilts not found on PATH (apt-get install stilts starlink-ecsv-java)")
    if exe not in _STILTS_OK:
        try:
            proc = subprocess.run([exe, "-version"], capture_output=True, text=True,
                                  timeout=60, stdin=subprocess.DEVNULL)
            _STILTS_OK[exe] = None if proc.returncode == 0 else (
                f"`{exe} -version` exited {proc.returncode}: {proc.stderr[-500:]}")
        except (OSError, subprocess.TimeoutExpired) as exc:
            _STILTS_OK[exe] = f"`{exe} -version` failed: {exc}"
    if _STILTS_OK[exe]:
        unavailable(_STILTS_OK[exe])
    return exe


class StiltsError(subprocess.CalledProcessError):
    """CalledProcessError whose message includes the stderr of stilts."""

    def __str__(self):
        err = self.stderr.decode(errors="replace") if isinstance(self.stderr, bytes) \
            else (self.stderr or "")
        return f"stilts failed (exit {self.returncode}): {' '.join(self.cmd)}\n{err[-3000:]}"


def run_stilts(*args, stdin=None, timeout=60, check=True):
    """Run ``stilts ARGS...`` (no shell) and return the CompletedProcess.

    Each argument is one argv word, e.g. ``run_stilts("tpipe", f"in={path}",
    "cmd=meta Name Units UCD")``.  ``stdin`` may be str (text mode) or bytes
    (binary mode: stdout/stderr are then bytes too); output is captured.  With
    ``check=True`` a non-zero exit raises :class:`StiltsError` (a
    ``subprocess.CalledProcessError`` whose message includes stderr);
    ``subprocess.TimeoutExpired`` after *timeout* seconds.
    """
    exe = stilts_path()
    binary = isinstance(stdin, (bytes, bytearray))
    proc = subprocess.run([exe, *map(str, args)], input=stdin,
                          stdin=None if stdin is not None else subprocess.DEVNULL,
                          capture_output=True, text=not binary, timeout=timeout)
    if check and proc.returncode != 0:
        raise StiltsError(proc.returncode, proc.args, proc.stdout, proc.stderr)
    return proc


def topcat_available():
    """True if ``topcat``, ``xvfb-run`` and ``xauth`` are on PATH."""
    return all(shutil.which(c) for c in ("topcat", "xvfb-run", "xauth"))


def require_topcat():
    """Skip (or fail under ASTROPY_SMASS_REQUIRE_SERVICES=1) if TOPCAT cannot run."""
    if not topcat_available():
        missing = [c for c in ("topcat", "xvfb-run", "xauth") if not shutil.which(c)]
        unavailable(f"TOPCAT helpers missing: {', '.join(missing)} "
                    "(apt-get install topcat xvfb xauth)")


# --------------------------------------------------------------------------- SAMP
def _lockfile_path(lockfile_url):
    url = lockfile_url[len("std-lockurl:"):] if lockfile_url.startswith("std-lockurl:") \
        else lockfile_url
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme != "file":
        raise ValueError(f"not a file: lockfile URL: {lockfile_url}")
    return Path(urllib.parse.unquote(parsed.path))


@contextlib.contextmanager
def _no_internet_lookups():
    # Otherwise pyvo/astropy.samp try http://google.com (1 s timeout) and then
    # advertise socket.getfqdn() instead of 127.0.0.1.
    with _samp.conf.set_temp("use_internet", False):
        yield


@contextlib.contextmanager
def samp_hub(tmp_path, timeout=0):
    """Run a private SAMP hub on 127.0.0.1 (standard profile only).

    The lockfile is ``tmp_path/.samp``; yields its URL (``file:///.../.samp``).
    Pass it to :func:`samp_client` / :func:`topcat_client`, or to Java clients
    as ``SAMP_HUB=std-lockurl:<url>``.  ``$SAMP_HUB`` of the calling process is
    ignored (and hidden while the hub starts, since it would override the
    lockfile location).
    """
    lockfile = Path(tmp_path) / ".samp"
    saved = os.environ.pop("SAMP_HUB", None)
    try:
        with _no_internet_lookups():
            hub = _samp.SAMPHubServer(addr="127.0.0.1", lockfile=str(lockfile),
                                      web_profile=False, timeout=timeout,
                                      label="astropy-smass tests")
            hub.start(wait=False)
    finally:
        if saved is not None:
            os.environ["SAMP_HUB"] = saved
    try:
        yield lockfile.resolve().as_uri()
    finally:
        # clients that died without unregistering make stop() warn; harmless here
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", _samp.SAMPWarning)
            hub.stop()


def _read_lockfile(lockfile_url):
    params = {}
    for line in _lockfile_path(lockfile_url).read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _, val = line.partition("=")
            params[key.strip()] = val.strip()
    return params


@contextlib.contextmanager
def samp_client(lockfile_url, name="astropy-smass-test", **kwargs):
    """A connected ``SAMPIntegratedClient`` (on 127.0.0.1) of the hub at *lockfile_url*.

    Extra keyword arguments go to ``SAMPIntegratedClient``.  Use the ``*_and_wait``
    calls with a timeout string, e.g. ``cli.ecall_and_wait(id, mtype, "10", ...)``.
    """
    with _no_internet_lookups():
        cli = _samp.SAMPIntegratedClient(name=name, addr="127.0.0.1", **kwargs)
        cli.connect(hub_params=_read_lockfile(lockfile_url))
    try:
        yield cli
    finally:
        if cli.is_connected:
            cli.disconnect()


def find_client(cli, samp_name):
    """Public ids of the clients whose ``samp.name`` is *samp_name* (case-insensitive)."""
    found = []
    for cid in cli.get_registered_clients():
        try:
            meta = cli.get_metadata(cid)
        except Exception:  # client unregistered meanwhile
            continue
        if str(meta.get("samp.name", "")).lower() == samp_name.lower():
            found.append(cid)
    return found


class TopcatHandle:
    """What :func:`topcat_client` yields: SAMP ``client_id``, the ``process``
    (xvfb-run) and ``log_path`` (TOPCAT's -verbose stdout+stderr)."""

    def __init__(self, client_id, process, log_path):
        self.client_id = client_id
        self.process = process
        self.log_path = log_path

    def log(self):
        try:
            return Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_group(proc, grace=5.0):
    """Terminate the process group started for *proc* (xvfb-run, Xvfb, java).

    SIGTERM first, so that TOPCAT's shutdown hook unregisters from the hub;
    SIGKILL whatever is left after *grace* seconds.
    """
    pgid = proc.pid  # start_new_session=True: the group id is the leader's pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        proc.poll()  # reap xvfb-run itself
        if proc.returncode is not None and not _group_alive(pgid):
            break
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)


@contextlib.contextmanager
def topcat_client(lockfile_url, timeout=30.0, extra_args=(), log_path=None):
    """Run TOPCAT headless (``xvfb-run -a topcat -verbose``) as a client of the hub.

    The hub is selected through ``SAMP_HUB=std-lockurl:<lockfile_url>`` (Java
    ignores ``$HOME``).  Waits up to *timeout* seconds until a client named
    ``topcat`` is registered and subscribed to ``table.load.votable`` (TOPCAT
    registers first and declares its subscriptions a moment later), then yields a
    :class:`TopcatHandle`; on exit the whole process group (xvfb-run, Xvfb, java) is
    killed.
    """
    require_topcat()
    lockfile = _lockfile_path(lockfile_url)
    if log_path is None:
        fd, log_path = tempfile.mkstemp(prefix="topcat-", suffix=".log", dir=lockfile.parent)
        os.close(fd)
    env = dict(os.environ, SAMP_HUB=f"std-lockurl:{lockfile.as_uri()}")
    env.pop("DISPLAY", None)  # always headless
    cmd = ["xvfb-run", "-a", "topcat", "-verbose", *extra_args]
    with samp_client(lockfile_url, name="astropy-smass-topcat-watcher",
                     callable=False) as watcher:
        before = set(find_client(watcher, "topcat"))
        with open(log_path, "wb") as logf:
            proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=logf,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            new = []
            while time.monotonic() < deadline:
                ready = set(watcher.get_subscribed_clients("table.load.votable"))
                new = [c for c in find_client(watcher, "topcat")
                       if c not in before and c in ready]
                if new or proc.poll() is not None:
                    break
                time.sleep(0.25)
            if not new:
                rc = proc.poll()
                state = (f"exited with {rc}" if rc is not None
                         else f"not registered and subscribed after {timeout} s")
                tail = Path(log_path).read_text(errors="replace")[-3000:]
                raise RuntimeError(f"TOPCAT ({' '.join(cmd)}) {state}; log {log_path}:\n{tail}")
            yield TopcatHandle(new[0], proc, log_path)
        finally:
            _kill_group(proc)
