"""The VO workflow against real services: DaCHS TAP, a SAMP hub, TOPCAT.

Failure modes that a real server cannot be made to show on demand (a service that
accepts connections and never answers, one that answers with a broken VOTable) are
played by tiny servers on the loopback interface.
"""

import contextlib
import http.server
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from astropy_smass import BandColumnError, SmassWarning
from astropy_smass.datasets import load_demo
from astropy_smass.io import read_table
from astropy_smass.vo import (
    VOError,
    VOTimeoutError,
    annotate_tap,
    redshift_column,
    run_tap,
    send_to_topcat,
    to_votable,
)

try:
    from . import services as svc
except ImportError:
    import services as svc


@pytest.fixture(scope="module")
def demo():
    return Table(load_demo())


def _values(column):
    return np.asarray(np.ma.filled(np.ma.asarray(getattr(column, "value", column),
                                                 dtype=float), np.nan))


def _same_rows(demo, ids):
    row = {name: k for k, name in enumerate(demo["id"])}
    return demo[[row[str(name)] for name in ids]]


def _assert_masses_match(result, demo, model):
    """Masses from TAP rows equal those of the same galaxies read from the demo file."""
    direct = _same_rows(demo, result["id"]).smass.predict(model, redshift="redshift")
    np.testing.assert_allclose(_values(result["logmstar"]), _values(direct["logmstar"]),
                               rtol=0, atol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(np.asarray(result["smass_flag"]),
                                  np.asarray(direct["smass_flag"]))
    assert np.isfinite(_values(result["logmstar"])).any()


# -- live DaCHS TAP -------------------------------------------------------------------------
@pytest.mark.services
def test_sync_query_annotated(demo, toy_model):
    url, name = svc.tap_url(), svc.hatlas_table_name()
    adql = f"SELECT TOP 120 * FROM {name} WHERE redshift > 0.04 ORDER BY id"
    result = annotate_tap(url, adql, model=toy_model)
    assert len(result) == 120
    assert result["logmstar"].unit == u.dex(u.Msun)
    assert result["logmstar"].info.meta["ucd"] == "phys.mass"
    assert result.meta["smass_redshift_column"] == "redshift"  # found by its UCD
    assert result.meta["smass_tap_url"] == url
    assert result.meta["smass_truncated"] is False
    _assert_masses_match(result, demo, toy_model)


def _job_exists(job_url):
    try:
        with urllib.request.urlopen(job_url, timeout=10):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code not in (404, 410)


@pytest.mark.services
def test_async_query_annotated_and_job_deleted(demo, toy_model):
    url, name = svc.tap_url(), svc.hatlas_table_name()
    messages = []
    result = annotate_tap(url, f"SELECT * FROM {name} WHERE id LIKE 'G12.%' ORDER BY id",
                          model=toy_model, async_=True, progress=messages.append)
    assert len(result) > 500
    assert any("COMPLETED" in m for m in messages)
    _assert_masses_match(result, demo, toy_model)
    job_url = next(m.split()[-1] for m in messages if m.startswith("submitted TAP job"))
    assert not _job_exists(job_url)


@pytest.mark.services
def test_async_error_deletes_job():
    url = svc.tap_url()
    messages = []
    with pytest.raises(VOError, match="rejected the query"):
        run_tap(url, "SELECT nothing FROM nowhere.at_all", async_=True,
                progress=messages.append)
    job_url = next(m.split()[-1] for m in messages if m.startswith("submitted TAP job"))
    assert not _job_exists(job_url)


@pytest.mark.services
def test_upload_join(demo, toy_model):
    url, name = svc.tap_url(), svc.hatlas_table_name()
    mine = Table({"id": ["G15.DR1.7961", "G12.DR1.1506", "G09.DR1.7588", "G15.DR1.5224"],
                  "tag": [1, 2, 3, 4]})
    adql = (f"SELECT g.*, m.tag FROM {name} AS g JOIN TAP_UPLOAD.mine AS m "
            "ON g.id = m.id ORDER BY m.tag")
    result = annotate_tap(url, adql, model=toy_model, uploads={"mine": mine})
    assert list(result["tag"]) == [1, 2, 3, 4]
    assert [str(i) for i in result["id"]] == list(mine["id"])
    _assert_masses_match(result, demo, toy_model)


@pytest.mark.services
def test_adql_error_document():
    url = svc.tap_url()
    with pytest.raises(VOError, match="rejected the query") as info:
        run_tap(url, "SELEC * FROM hatlas.galaxies")
    assert "\n" not in str(info.value)
    assert "parse" in str(info.value).lower()  # DaCHS's own explanation is quoted


@pytest.mark.services
def test_maxrec_truncation_warns(toy_model):
    url, name = svc.tap_url(), svc.hatlas_table_name()
    with pytest.warns(SmassWarning, match="truncated at 7 rows by maxrec=7"):
        result = annotate_tap(url, f"SELECT * FROM {name}", maxrec=7, model=toy_model)
    assert len(result) == 7
    assert result.meta["smass_truncated"] is True


@pytest.mark.services
def test_no_band_columns(toy_model):
    url, name = svc.tap_url(), svc.hatlas_table_name()
    with pytest.raises(BandColumnError, match="no column recognised as a photometric band"):
        annotate_tap(url, f"SELECT TOP 5 id, redshift, psw_hipe FROM {name}", model=toy_model)


@pytest.mark.services
def test_explicit_service_object(toy_model):
    service = svc.tap_service()
    result = annotate_tap(service, f"SELECT TOP 3 * FROM {svc.hatlas_table_name()}",
                          model=toy_model)
    assert len(result) == 3


# -- failure modes on loopback --------------------------------------------------------------
def test_unreachable_service():
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(VOError, match="cannot connect") as info:
        run_tap(f"http://127.0.0.1:{port}/tap", "SELECT 1", timeout=5)
    assert "\n" not in str(info.value)


@contextlib.contextmanager
def _silent_server():
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []

    def accept():
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/tap"
    finally:
        server.close()
        for conn in held:
            conn.close()


@pytest.mark.parametrize("async_", [False, True])
def test_timeout(async_):
    with _silent_server() as url:
        start = time.monotonic()
        with pytest.raises(VOTimeoutError, match="did not answer within 1 s"):
            run_tap(url, "SELECT 1", timeout=1, async_=async_)
        assert time.monotonic() - start < 10


@contextlib.contextmanager
def _broken_votable_server():
    """Answers every request with HTTP 200 and a truncated VOTable."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = (b"<?xml version='1.0'?><VOTABLE version='1.4'><RESOURCE type='results'>"
                    b"<TABLE><FIELD name='x' datatype='double'/><DATA><TABLEDATA><TR><TD>1")
            self.send_response(200)
            self.send_header("Content-Type", "application/x-votable+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tap"
    finally:
        server.shutdown()
        server.server_close()


def test_malformed_votable_from_service():
    with _broken_votable_server() as url:
        with pytest.raises(VOError, match="failed") as info:
            run_tap(url, "SELECT 1", timeout=5)
    assert "\n" not in str(info.value)


def test_not_a_url():
    with pytest.raises(ValueError, match="not a TAP service URL"):
        run_tap("hatlas.galaxies", "SELECT 1")


def test_redshift_column_choice():
    table = Table({"z": [0.1], "zz": [0.2], "r": [1.0]})
    assert redshift_column(table) == "z"
    assert redshift_column(table, exclude=["z"]) is None
    table["zz"].info.meta = {"ucd": "src.redshift;meta.main"}
    assert redshift_column(table) == "zz"


# -- SAMP -----------------------------------------------------------------------------------
@pytest.fixture
def annotated(demo, toy_model):
    return Table(demo[:40]).smass.annotate(toy_model, redshift="redshift")


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Temporary files go to a folder of the test's own, so leftovers can be seen."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.services
def test_samp_receiver_gets_table(annotated, tmp_path, private_tmp):
    received = {}
    with svc.samp_hub(tmp_path) as lockfile, \
            svc.samp_client(lockfile, name="receiver") as receiver:
        def load(private_key, sender_id, msg_id, mtype, params, extra):
            received["table"] = read_table(params["url"][len("file://"):])
            received["name"] = params["name"]
            receiver.reply(msg_id, {"samp.status": "samp.ok", "samp.result": {}})

        receiver.bind_receive_call("table.load.votable", load)
        responses = send_to_topcat(annotated, hub=lockfile, timeout=10, name="masses")
    assert list(responses.values())[0]["samp.status"] == "samp.ok"
    table = received["table"]
    assert received["name"] == "masses"
    assert len(table) == len(annotated)
    assert table["logmstar"].unit == u.dex(u.Msun)
    assert table["logmstar"].info.meta["ucd"] == "phys.mass"
    np.testing.assert_array_equal(_values(table["logmstar"]), _values(annotated["logmstar"]))
    assert list(private_tmp.iterdir()) == []  # the temporary VOTable is gone


@pytest.mark.services
def test_samp_receiver_that_never_replies(annotated, tmp_path, private_tmp):
    with svc.samp_hub(tmp_path) as lockfile, \
            svc.samp_client(lockfile, name="broken") as receiver:
        def load(*args):
            raise RuntimeError("cannot load")  # so no reply is ever sent

        receiver.bind_receive_call("table.load.votable", load)
        start = time.monotonic()
        with pytest.raises(VOTimeoutError, match="broken did not answer within 2 s"):
            send_to_topcat(annotated, hub=lockfile, timeout=2)
        assert time.monotonic() - start < 15
    assert list(private_tmp.iterdir()) == []


@pytest.mark.services
def test_samp_no_receiver(annotated, tmp_path):
    with svc.samp_hub(tmp_path) as lockfile:
        with pytest.raises(VOError, match="no SAMP client that loads tables"):
            send_to_topcat(annotated, hub=lockfile, timeout=2)


def test_samp_no_hub(annotated, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SAMP_HUB", raising=False)
    with pytest.raises(VOError, match="no SAMP hub is running"):
        send_to_topcat(annotated, timeout=2)
    with pytest.raises(VOError, match="no SAMP hub is running"):
        send_to_topcat(annotated, hub=tmp_path / ".samp", timeout=2)


@pytest.mark.services
def test_topcat_receives_table(annotated, tmp_path, private_tmp):
    svc.require_topcat()
    with svc.samp_hub(tmp_path) as lockfile, svc.topcat_client(lockfile, timeout=60) as topcat:
        responses = send_to_topcat(annotated, hub=lockfile, timeout=60, name="smass-test")
        assert responses[topcat.client_id]["samp.status"] == "samp.ok"
        deadline = time.monotonic() + 10
        while "smass-test" not in topcat.log() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "Load new table" in topcat.log()
    assert list(private_tmp.iterdir()) == []


def test_to_votable_keeps_table_name(annotated):
    annotated = annotated.copy()
    annotated.meta["name"] = "hatlas"
    assert to_votable(annotated).get_first_table().name == "hatlas"
