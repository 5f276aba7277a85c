"""Hand tables to TOPCAT, or any SAMP client that loads tables.

`check_samp_hub` fails before a long query if no table could be sent;
`send_to_topcat` sends one as a VOTable and waits for the recipients to load it.
"""

import contextlib
import math
import re
import shutil
import tempfile
from pathlib import Path

from ..exceptions import VOError, VOTimeoutError
from ..io.readwrite import write_table
from .session import _short


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
