"""Smoke tests of the VO test infrastructure (.ci/services.sh + tests/services.py).

They prove that the real components work -- DaCHS TAP (sync, async, upload),
STILTS, a SAMP hub and TOPCAT -- and that the helpers skip (or, with
ASTROPY_SMASS_REQUIRE_SERVICES=1, fail) when a service is missing.
"""
import subprocess
import threading

import numpy as np
import pytest
from astropy import units as u
from astropy.table import Table

try:
    from . import services as svc  # tests/ is a package
except ImportError:
    import services as svc  # pytest's default "prepend" import mode

pytestmark = pytest.mark.services

FLUX_COLUMNS = ["fuv", "nuv", "u_prime", "g_prime", "r_prime", "i_prime", "z_prime",
                "j_2mass", "h_2mass", "ks_2mass", "wise1", "wise2", "wise3", "wise4",
                "pacs_blue", "pacs_green", "pacs_red", "psw_hipe", "pmw_hipe", "plw_hipe"]
KNOWN_IDS = ["G15.DR1.7961", "G12.DR1.1506", "G09.DR1.7588"]  # first rows of the file


def _tag_table():
    return Table({"id": KNOWN_IDS, "tag": [1, 2, 3]})


# ------------------------------------------------------------------ helper policy
@pytest.mark.parametrize("required", [False, True])
def test_tap_url_skips_or_fails_when_down(monkeypatch, required):
    # port 9 (discard) on loopback: connection refused, no waiting
    monkeypatch.setenv("ASTROPY_SMASS_TAP_URL", "http://127.0.0.1:9/tap")
    monkeypatch.setenv("ASTROPY_SMASS_REQUIRE_SERVICES", "1" if required else "0")
    expected = pytest.fail.Exception if required else pytest.skip.Exception
    with pytest.raises(expected, match="not reachable"):
        svc.tap_url()


@pytest.mark.parametrize("required", [False, True])
def test_stilts_path_skips_or_fails_when_missing(monkeypatch, tmp_path, required):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("ASTROPY_SMASS_STILTS", raising=False)
    monkeypatch.setenv("ASTROPY_SMASS_REQUIRE_SERVICES", "1" if required else "0")
    expected = pytest.fail.Exception if required else pytest.skip.Exception
    with pytest.raises(expected, match="stilts not found"):
        svc.stilts_path()
    assert not svc.topcat_available()


# ------------------------------------------------------------------ TAP
def test_tap_sync_top5_units():
    table = svc.hatlas_table_name()
    t = svc.tap_service().run_sync(f"SELECT TOP 5 * FROM {table}").to_table()
    assert len(t) == 5
    assert t.colnames[:3] == ["id", "redshift", "fuv"]
    for name in FLUX_COLUMNS:
        assert t[name].unit == u.mJy, name
        assert t[name + "_err"].unit == u.mJy, name
    assert np.all((t["redshift"] > 0) & (t["redshift"] < 0.1))


def test_tap_metadata_and_nulls():
    service = svc.tap_service()
    table = svc.hatlas_table_name()
    cols = service.run_sync(
        "SELECT column_name, unit, ucd FROM tap_schema.columns "
        f"WHERE table_name = '{table}'").to_table()
    meta = {r["column_name"]: (r["unit"], r["ucd"]) for r in cols}
    assert meta["id"][1] == "meta.id;meta.main"
    assert meta["redshift"][1] == "src.redshift"
    assert meta["fuv"] == ("mJy", "phot.flux.density;em.UV.100-200nm")
    assert meta["fuv_err"][1].startswith("stat.error;phot.flux.density")
    # missing values are SQL NULL (not NaN): PACS blue is empty for all H-ATLAS sources
    counts = service.run_sync(
        f"SELECT COUNT(*) AS n, COUNT(pacs_blue) AS nblue, COUNT(wise4) AS nw4 "
        f"FROM {table}").to_table()
    assert counts["n"][0] == 3618
    assert counts["nblue"][0] == 0
    assert 0 < counts["nw4"][0] < 3618


def test_tap_async():
    table = svc.hatlas_table_name()
    job = svc.tap_service().submit_job(
        f"SELECT id, redshift, r_prime FROM {table} WHERE redshift < 0.02 ORDER BY id")
    try:
        job.run()
        job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=60)
        assert job.phase == "COMPLETED", job.phase
        t = job.fetch_result().to_table()
    finally:
        job.delete()
    assert len(t) > 0
    assert np.all(t["redshift"] < 0.02)
    assert t["r_prime"].unit == u.mJy


def test_tap_upload_join():
    table = svc.hatlas_table_name()
    t = svc.tap_service().run_sync(
        f"SELECT g.id, g.redshift, g.psw_hipe, u.tag FROM {table} AS g "
        "JOIN TAP_UPLOAD.mine AS u ON g.id = u.id ORDER BY u.tag",
        uploads={"mine": _tag_table()}).to_table()
    assert list(t["id"]) == KNOWN_IDS
    assert list(t["tag"]) == [1, 2, 3]
    assert t["psw_hipe"].unit == u.mJy
    assert np.isclose(t["psw_hipe"][0], 41.133)


# ------------------------------------------------------------------ STILTS
def _astropy_table():
    t = Table({"id": KNOWN_IDS, "fuv": [0.0117, 0.0558, 0.0128] * u.mJy})
    t["fuv"].meta["ucd"] = "phot.flux.density;em.UV.100-200nm"
    t["fuv"].description = "GALEX FUV flux density"
    return t


def test_stilts_reads_astropy_votable(tmp_path):
    path = tmp_path / "t.vot"
    _astropy_table().write(path, format="votable")
    out = svc.run_stilts("tpipe", f"in={path}", "cmd=meta Name Units UCD Description").stdout
    line = next(ln for ln in out.splitlines() if "| fuv " in ln)
    assert "mJy" in line
    assert "phot.flux.density;em.UV.100-200nm" in line
    assert "GALEX FUV flux density" in line
    # data round trip through stdin/stdout
    csv = svc.run_stilts("tpipe", "in=-", "ifmt=votable", "ofmt=csv",
                         stdin=path.read_bytes()).stdout.decode()
    assert csv.splitlines()[1].startswith("G15.DR1.7961,")


def test_stilts_reads_astropy_ecsv(tmp_path):
    # needs starlink-ecsv-java
    path = tmp_path / "t.ecsv"
    _astropy_table().write(path, format="ascii.ecsv")
    out = svc.run_stilts("tpipe", f"in={path}", "ifmt=ecsv",
                         "cmd=meta Name Units UCD").stdout
    assert "phot.flux.density;em.UV.100-200nm" in out


def test_run_stilts_reports_errors(tmp_path):
    with pytest.raises(subprocess.CalledProcessError, match="(?s)stilts failed.*missing.vot"):
        svc.run_stilts("tpipe", f"in={tmp_path / 'missing.vot'}")


# ------------------------------------------------------------------ SAMP
def _votable_url(tmp_path):
    path = tmp_path / "smass-test.vot"
    _astropy_table().write(path, format="votable")
    return path.resolve().as_uri()


def test_samp_hub_python_receiver(tmp_path):
    url = _votable_url(tmp_path)
    received = {}
    got = threading.Event()
    with svc.samp_hub(tmp_path) as lockurl, \
            svc.samp_client(lockurl, name="receiver") as receiver, \
            svc.samp_client(lockurl, name="sender") as sender:

        def on_load(private_key, sender_id, msg_id, mtype, params, extra):
            received.update(params)
            received["table"] = Table.read(params["url"], format="votable")
            got.set()
            receiver.reply(msg_id, {"samp.status": svc.samp.SAMP_STATUS_OK,
                                    "samp.result": {}})

        receiver.bind_receive_call("table.load.votable", on_load)
        rid = receiver.get_public_id()
        assert rid in sender.get_subscribed_clients("table.load.votable")
        response = sender.ecall_and_wait(rid, "table.load.votable", "10",
                                         url=url, name="smass-test")
        assert response["samp.status"] == svc.samp.SAMP_STATUS_OK
        assert got.wait(10)
    assert received["name"] == "smass-test"
    assert received["table"]["fuv"].unit == u.mJy
    assert list(received["table"]["id"]) == KNOWN_IDS


def test_topcat_loads_table_over_samp(tmp_path):
    svc.require_topcat()
    url = _votable_url(tmp_path)
    with svc.samp_hub(tmp_path) as lockurl, \
            svc.topcat_client(lockurl, timeout=30) as topcat, \
            svc.samp_client(lockurl, name="sender") as sender:
        meta = sender.get_metadata(topcat.client_id)
        assert meta["samp.name"].lower() == "topcat"
        assert topcat.client_id in sender.get_subscribed_clients("table.load.votable")
        response = sender.ecall_and_wait(topcat.client_id, "table.load.votable", "30",
                                         url=url, name="smass-test")
        assert response["samp.status"] == svc.samp.SAMP_STATUS_OK, (response, topcat.log())
    assert topcat.process.poll() is not None  # killed on exit
