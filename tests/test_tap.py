"""TAP as astronomers use it, against the real DaCHS server of CI: UCD recognition of a
served SDSS-style table, cross-matching a user's table, robust asynchronous jobs,
credentials that never leak, the service's provenance, zero rows, discovery, SAMP first.

What DaCHS cannot be made to do (answer with an HTML page, report a phase UWS does not
know, require a password) is played by the small loopback servers of http_servers.py.
"""

import contextlib
import time
import urllib.error
import urllib.request
import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table

from astropy_smass import SmassFlag, SmassWarning
from astropy_smass.cli import main
from astropy_smass.datasets import load_demo
from astropy_smass.io import read_table, write_table
from astropy_smass.vo import (
    VOError,
    VOTimeoutError,
    annotate_tap,
    annotate_tap_job,
    check_samp_hub,
    crossmatch_tap,
    fetch_tap_job,
    list_columns,
    list_tables,
    redact,
    run_tap,
    session_from_environment,
)

try:
    from . import http_servers
    from . import services as svc
except ImportError:
    import http_servers
    import services as svc


@pytest.fixture(scope="module")
def demo():
    return Table(load_demo())


@pytest.fixture(scope="module")
def bundle(toy_model, tmp_path_factory):
    return str(toy_model.save(tmp_path_factory.mktemp("model")))


def _values(column):
    return np.asarray(np.ma.filled(np.ma.asarray(getattr(column, "value", column),
                                                 dtype=float), np.nan))


def _direct(demo, ids, model):
    """Masses of the demo galaxies with these ids, predicted from the file itself."""
    row = {name: k for k, name in enumerate(demo["id"])}
    return demo[[row[str(name)] for name in ids]].smass.predict(model, redshift="redshift")


def _job_exists(job_url):
    try:
        with urllib.request.urlopen(job_url, timeout=10):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code not in (404, 410)


# -- 1. UCDs: the SDSS-style table ----------------------------------------------------------
@pytest.mark.services
def test_sdss_style_table_annotated_without_columns(toy_model):
    """modelMag_u..z (phot.mag;em.opt.*) and a redshift "z" (src.redshift): no columns=."""
    url, name = svc.tap_url(), svc.eco_table_name()
    adql = f"SELECT TOP 200 * FROM {name} WHERE modelMag_u IS NOT NULL ORDER BY objid"
    result = annotate_tap(url, adql, model=toy_model)
    assert result.meta["smass_band_columns"] == {b: f"modelMag_{b}" for b in "ugriz"}
    assert result.meta["smass_redshift_column"] == "z"  # the redshift, not the z band
    expected = result.copy()
    for key in list(expected.meta):
        expected.meta.pop(key)
    direct = expected.smass.predict(toy_model, redshift="z",
                                    columns={b: f"modelMag_{b}" for b in "ugriz"})
    np.testing.assert_array_equal(_values(result["logmstar"]), _values(direct["logmstar"]))
    assert np.isfinite(_values(result["logmstar"])).sum() > 30


@pytest.mark.services
def test_sdss_style_table_with_bundled_models():
    url, name = svc.tap_url(), svc.eco_table_name()
    result = annotate_tap(url, f"SELECT TOP 100 * FROM {name} ORDER BY objid")
    assert result.meta["smass_redshift_column"] == "z"
    assert set(result.meta["smass_vega_bands"]) == {"J_2MASS", "H_2MASS", "Ks_2MASS"}
    assert np.isfinite(_values(result["logmstar"])).sum() > 50


# -- 2. cross-match -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def served_positions():
    url, name = svc.tap_url(), svc.hatlas_table_name()
    return run_tap(url, f"SELECT id, ra, dec FROM {name}")


@pytest.fixture(scope="module")
def user_csv(served_positions, tmp_path_factory):
    """200 positions: 150 within 1.5 arcsec of a served galaxy, 50 far from any, shuffled."""
    rng = np.random.default_rng(2024)
    served = SkyCoord(served_positions["ra"], served_positions["dec"], unit="deg")
    picks = rng.choice(len(served), 200, replace=False)
    near = np.arange(200) < 150
    separation = np.where(near, rng.uniform(0.0, 1.5, 200), rng.uniform(30.0, 90.0, 200))
    moved = served[picks].directional_offset_by(rng.uniform(0, 360, 200) * u.deg,
                                                separation * u.arcsec)
    order = rng.permutation(200)
    table = Table({"name": [f"mine{k:03d}" for k in range(200)],
                   "ra": moved.ra.deg[order], "dec": moved.dec.deg[order],
                   "note": ["near" if n else "far" for n in near[order]]})
    path = tmp_path_factory.mktemp("match") / "mine.csv"
    table.write(path, format="ascii.csv")
    # The truth, computed here: the nearest served galaxy within 2 arcsec, if any.
    index, sep, _ = SkyCoord(table["ra"], table["dec"], unit="deg").match_to_catalog_sky(
        served)
    expected = np.where(sep < 2 * u.arcsec, np.asarray(served_positions["id"])[index], "")
    return path, table, expected


@pytest.mark.services
def test_crossmatch_200_rows(user_csv, demo, toy_model):
    path, mine, expected = user_csv
    table = read_table(path)
    result = annotate_tap(svc.tap_url(), svc.hatlas_table_name(), match=table,
                          radius=2 * u.arcsec, model=toy_model)
    assert len(result) == 200
    assert list(result["name"]) == list(mine["name"])  # every row, in order
    matched = ~np.ma.getmaskarray(result["id"])
    assert list(np.where(matched, np.ma.filled(result["id"].astype(str), ""), "")) \
        == list(expected)
    assert matched.sum() == 150 and list(result["note"][matched]) == ["near"] * 150
    assert (np.asarray(result["smass_match_count"])[matched] == 1).all()
    assert (_values(result["smass_match_sep"])[matched] < 1.5 + 1e-6).all()
    flags = np.asarray(result["smass_flag"])
    assert ((flags & SmassFlag.NO_MATCH) != 0).tolist() == (~matched).tolist()
    assert np.isnan(_values(result["logmstar"])[~matched]).all()
    direct = _direct(demo, result["id"][matched], toy_model)
    np.testing.assert_allclose(_values(result["logmstar"])[matched],
                               _values(direct["logmstar"]), rtol=0, atol=1e-12,
                               equal_nan=True)
    assert np.isfinite(_values(result["logmstar"])[matched]).sum() > 20
    assert (flags[matched] == np.asarray(direct["smass_flag"])).all()
    assert result.meta["smass_match"]["matched"] == 150
    assert result.meta["smass_redshift_column"] == "redshift"
    # The user's ra/dec stay theirs; the service's are suffixed.
    np.testing.assert_array_equal(result["ra"], mine["ra"])
    assert "ra_tap" in result.colnames


@pytest.mark.services
def test_crossmatch_command(user_csv, bundle, tmp_path, capsys):
    path, mine, expected = user_csv
    out = tmp_path / "matched.vot"
    status = main(["tap", svc.tap_url(), svc.hatlas_table_name(), str(out), "--match",
                   str(path), "--radius", "2arcsec", "--model", bundle, "--async"])
    assert status == 0, capsys.readouterr().err
    result = read_table(out)
    assert list(result["name"]) == list(mine["name"])
    got = np.where(np.ma.getmaskarray(result["id"]), "",
                   np.ma.filled(result["id"].astype(str), ""))
    assert list(got) == list(expected)
    assert ((np.asarray(result["smass_flag"]) & 1024) != 0).sum() == 50
    assert result.meta["smass_match"]["radius_arcsec"] == 2.0


@pytest.mark.services
def test_crossmatch_needs_positions():
    with pytest.raises(Exception, match="position columns"):
        crossmatch_tap(svc.tap_url(), svc.hatlas_table_name(), Table({"x": [1.0]}))


# -- uploads by URL -------------------------------------------------------------------------
@pytest.mark.services
def test_upload_by_url(tmp_path, bundle, capsys):
    folder = tmp_path / "www"
    folder.mkdir()
    Table({"id": ["G15.DR1.7961", "G12.DR1.1506"], "tag": [7, 8]}).write(
        folder / "mine.csv", format="ascii.csv")
    with http_servers.file_server(folder) as server:
        out = tmp_path / "joined.ecsv"
        adql = (f"SELECT g.*, m.tag FROM {svc.hatlas_table_name()} AS g "
                "JOIN TAP_UPLOAD.mine AS m ON g.id = m.id ORDER BY m.tag")
        status = main(["tap", svc.tap_url(), adql, str(out), "--model", bundle,
                       "--upload", f"mine={server.url}/mine.csv"])
    assert status == 0, capsys.readouterr().err
    result = read_table(out)
    assert list(result["tag"]) == [7, 8]
    assert [str(i) for i in result["id"]] == ["G15.DR1.7961", "G12.DR1.1506"]


# -- 3. robust async ------------------------------------------------------------------------
@pytest.mark.parametrize("async_", [False, True])
def test_html_answer_is_an_error_at_once(async_):
    with http_servers.html_server() as server:
        start = time.monotonic()
        with pytest.raises(VOError, match="HTML page .*Welcome to our archive") as info:
            run_tap(server.url + "/tap", "SELECT 1", async_=async_, timeout=30)
        assert time.monotonic() - start < 10
    assert "\n" not in str(info.value)


def test_html_answer_on_the_command_line(tmp_path, capsys):
    with http_servers.html_server() as server:
        start = time.monotonic()
        status = main(["tap", server.url + "/tap", "SELECT 1", str(tmp_path / "o.vot"),
                       "--async"])
        assert time.monotonic() - start < 10
    assert status == 1
    assert "HTML page" in capsys.readouterr().err
    assert not (tmp_path / "o.vot").exists()


@pytest.mark.parametrize("phase", ["WEIRD", None])
def test_phase_that_uws_does_not_know(phase):
    with http_servers.uws_server(phase) as server:
        start = time.monotonic()
        with pytest.raises(VOError, match="no UWS phase"):
            run_tap(server.url + "/tap", "SELECT 1", async_=True, job_timeout=600)
        assert time.monotonic() - start < 10


def test_phase_unknown_for_too_long():
    with http_servers.uws_server("UNKNOWN") as server:
        start = time.monotonic()
        with pytest.raises(VOError, match="phase UNKNOWN for 5 s"):
            run_tap(server.url + "/tap", "SELECT 1", async_=True, job_timeout=600)
        assert time.monotonic() - start < 10


def test_job_timeout_keeps_the_job():
    with http_servers.uws_server("EXECUTING") as server:
        messages = []
        start = time.monotonic()
        with pytest.raises(VOTimeoutError, match="did not finish within 1 s") as info:
            run_tap(server.url + "/tap", "SELECT 1", async_=True, job_timeout=1,
                    progress=messages.append)
        assert time.monotonic() - start < 10
        assert "--resume http://127.0.0.1" in str(info.value)
        assert not [r for r in server.requests if r[0] == "DELETE"]  # kept, to resume
    assert any("TAP job EXECUTING" in m for m in messages)


@pytest.mark.services
def test_keep_resume_and_job_parameters(demo, toy_model):
    url, name = svc.tap_url(), svc.hatlas_table_name()
    adql = f"SELECT * FROM {name} WHERE id LIKE 'G09.%' AND redshift < 0.03 ORDER BY id"
    messages = []
    kept = annotate_tap(url, adql, async_=True, keep_job=True, execution_duration=321,
                        destruction="2d", model=toy_model, progress=messages.append)
    job_url = kept.meta["smass_tap_job"]
    try:
        assert _job_exists(job_url)
        with urllib.request.urlopen(job_url + "/executionduration", timeout=10) as answer:
            assert answer.read().decode().strip() == "321"
        assert any(m.startswith("TAP job COMPLETED, ") and m.endswith(" s") for m in messages)
        again = annotate_tap_job(job_url, model=toy_model)
        assert not _job_exists(job_url)  # resumed without keep_job: deleted once finished
    finally:
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(urllib.request.Request(job_url, method="DELETE"),
                                   timeout=10)
    assert again.meta["smass_adql"] == adql
    np.testing.assert_array_equal(_values(again["logmstar"]), _values(kept["logmstar"]))
    direct = _direct(demo, again["id"], toy_model)
    np.testing.assert_array_equal(_values(again["logmstar"]), _values(direct["logmstar"]))


@pytest.mark.services
def test_resume_a_pending_job_from_the_command_line(bundle, tmp_path, capsys):
    name = svc.hatlas_table_name()
    job = svc.tap_service().submit_job(f"SELECT TOP 25 * FROM {name} ORDER BY id")
    out = tmp_path / "resumed.vot"
    status = main(["tap", "--resume", job.url, str(out), "--model", bundle, "--progress"])
    err = capsys.readouterr().err
    assert status == 0, err
    assert "resuming TAP job" in err and "in phase PENDING" in err
    assert "TAP job COMPLETED" in err
    assert len(read_table(out)) == 25
    assert not _job_exists(job.url)  # finished, so deleted


@pytest.mark.services
def test_progress_on_the_command_line(bundle, tmp_path, capsys):
    url, name = svc.tap_url(), svc.hatlas_table_name()
    status = main(["tap", url, f"SELECT TOP 5 * FROM {name}", str(tmp_path / "p.vot"),
                   "--model", bundle, "--async", "--progress", "--job-timeout", "120"])
    err = capsys.readouterr().err
    assert status == 0, err
    assert "submitted TAP job" in err and "TAP job COMPLETED, " in err


# -- 4. credentials -------------------------------------------------------------------------
SECRETS = ("s3cret-pw", "tok-9d2f7a")


@pytest.fixture
def protected():
    """DaCHS behind authentication; yields the proxy's TAP URL (no credentials)."""
    target = svc.tap_url().rsplit("/tap", 1)[0]
    with http_servers.auth_proxy(target) as server:
        yield server.url + "/tap"


def _assert_no_secret(*texts):
    for text in texts:
        data = text.encode() if isinstance(text, str) else text
        for secret in SECRETS + ("smassuser",):
            assert secret.encode() not in data, secret


@pytest.mark.services
def test_credentials_in_the_url_never_leak(protected, bundle, tmp_path, capsys):
    with_password = protected.replace("http://", "http://smassuser:s3cret-pw@")
    with_token = protected + "?token=tok-9d2f7a"
    name = svc.hatlas_table_name()
    outputs = []
    for url, extra in ((with_password, []), (with_token, ["--async"])):
        for suffix in ("vot", "fits", "ecsv"):
            out = tmp_path / f"out{len(outputs)}.{suffix}"
            status = main(["tap", url, f"SELECT TOP 12 * FROM {name}", str(out),
                           "--model", bundle, "--progress", *extra])
            assert status == 0, capsys.readouterr().err
            outputs.append(out)
    # A rejected query and an unknown table: the messages name the service, not the secret.
    assert main(["tap", with_password, "SELEKT 1", str(tmp_path / "bad.vot")]) == 1
    assert main(["tap", with_token, "SELECT * FROM nowhere.none", str(tmp_path / "b.vot"),
                 "--async"]) == 1
    captured = capsys.readouterr()
    assert "rejected the query" in captured.err
    _assert_no_secret(captured.out, captured.err, *(p.read_bytes() for p in outputs))
    table = read_table(outputs[0])
    assert len(table) == 12 and table.meta["smass_tap_url"] == protected
    assert read_table(outputs[3]).meta["smass_tap_url"] == protected + "?token=***"


@pytest.mark.services
def test_python_api_with_credentials(protected, toy_model):
    url = protected.replace("http://", "http://smassuser:s3cret-pw@")
    messages = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = annotate_tap(url, f"SELECT TOP 3 * FROM {svc.hatlas_table_name()}",
                              model=toy_model, progress=messages.append)
    assert len(result) == 3
    _assert_no_secret(repr(result.meta), *messages, *(str(w.message) for w in caught))
    with pytest.raises(VOError, match="refused access \\(HTTP 401\\)") as info:
        run_tap(protected, "SELECT 1")
    _assert_no_secret(str(info.value))


@pytest.mark.services
def test_pyvo_auth_session(protected, toy_model):
    from pyvo.auth import AuthSession, securitymethods

    session = AuthSession()
    session.credentials.set_password("smassuser", "s3cret-pw")
    # DaCHS keeps its jobs outside /tap (/__system__/tap/run/async/...): the whole server.
    session.add_security_method_for_url(protected.rsplit("/tap", 1)[0],
                                        securitymethods.BASIC)
    result = annotate_tap(protected, f"SELECT TOP 4 * FROM {svc.hatlas_table_name()}",
                          session=session, async_=True, model=toy_model)
    assert len(result) == 4


@pytest.mark.services
def test_netrc_and_environment(protected, bundle, tmp_path, monkeypatch, capsys):
    name, out = svc.hatlas_table_name(), tmp_path / "n.vot"
    query = f"SELECT TOP 2 * FROM {name}"
    for key in ("ASTROPY_SMASS_TAP_TOKEN", "ASTROPY_SMASS_TAP_USER",
                "ASTROPY_SMASS_TAP_PASSWORD"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    assert main(["tap", protected, query, str(out), "--model", bundle]) == 1
    assert "refused access (HTTP 401)" in capsys.readouterr().err
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login smassuser password s3cret-pw\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert main(["tap", protected, query, str(out), "--model", bundle]) == 0
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    monkeypatch.setenv("ASTROPY_SMASS_TAP_TOKEN", "tok-9d2f7a")
    assert main(["tap", protected, query, str(out), "--model", bundle, "--overwrite"]) == 0
    monkeypatch.delenv("ASTROPY_SMASS_TAP_TOKEN")
    monkeypatch.setenv("ASTROPY_SMASS_TAP_USER", "smassuser")
    monkeypatch.setenv("ASTROPY_SMASS_TAP_PASSWORD", "s3cret-pw")
    assert main(["tap", protected, query, str(out), "--model", bundle, "--overwrite"]) == 0
    captured = capsys.readouterr()
    _assert_no_secret(captured.out, captured.err, out.read_bytes())


def test_session_from_environment_prefers_the_token(tmp_path):
    environ = {"ASTROPY_SMASS_TAP_TOKEN": "abc-token", "ASTROPY_SMASS_TAP_USER": "u",
               "ASTROPY_SMASS_TAP_PASSWORD": "p", "NETRC": str(tmp_path / "none")}
    import requests

    session = session_from_environment("https://example.org/tap", environ)
    request = requests.Request("GET", "https://example.org/tap/sync").prepare()
    assert session.auth(request).headers["Authorization"] == "Bearer abc-token"
    elsewhere = requests.Request("GET", "https://other.org/x").prepare()
    assert "Authorization" not in session.auth(elsewhere).headers  # this host only
    assert session_from_environment("https://example.org/tap",
                                    {"NETRC": str(tmp_path / "none")}) is None
    assert "abc-token" not in redact("the token abc-token failed")


def test_redact():
    assert redact("see http://me:pw-123@host:8080/tap?token=abc-987&x=1 now") == \
        "see http://host:8080/tap?token=***&x=*** now"


def test_user_session_keeps_its_own_timeout():
    """A TAPService whose session sets its own time limit keeps it (1 s here, not 60)."""
    import pyvo
    import requests

    class OneSecond(requests.Session):
        def request(self, method, url, **kwargs):
            kwargs.setdefault("timeout", 1)
            return super().request(method, url, **kwargs)

    with _silent() as url:
        service = pyvo.dal.TAPService(url, session=OneSecond())
        start = time.monotonic()
        with pytest.raises(VOTimeoutError, match="did not answer in time"):
            run_tap(service, "SELECT 1")
        assert time.monotonic() - start < 10
        # A plain session gets the time limit given.
        service = pyvo.dal.TAPService(url, session=requests.Session())
        with pytest.raises(VOTimeoutError, match="within 1 s"):
            run_tap(service, "SELECT 1", timeout=1)


def _silent():
    import contextlib
    import socket
    import threading

    @contextlib.contextmanager
    def serve():
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

    return serve()


# -- 5. provenance and zero rows ------------------------------------------------------------
@pytest.mark.services
def test_service_provenance_in_the_output(toy_model, tmp_path):
    url, name = svc.tap_url(), svc.hatlas_table_name()
    result = annotate_tap(url, f"SELECT TOP 5 * FROM {name}", model=toy_model)
    infos = {i["name"]: i["value"] for i in result.meta["smass_service_infos"]}
    assert infos["QUERY_STATUS"] == "OK"
    assert "2020A&A...634A..57D" in [i["value"] for i in result.meta["smass_service_infos"]]
    assert "H-ATLAS" in result.meta["smass_service_description"]
    write_table(result, tmp_path / "out.vot")
    meta = svc.run_stilts("tpipe", f"in={tmp_path / 'out.vot'}", "omode=meta").stdout
    assert "citation" in meta and "2020A&A...634A..57D" in meta
    assert "QUERY_STATUS" in meta


@pytest.mark.services
def test_zero_rows(toy_model, tmp_path):
    url, name = svc.tap_url(), svc.hatlas_table_name()
    with pytest.warns(SmassWarning, match="returned no rows"):
        result = annotate_tap(url, f"SELECT * FROM {name} WHERE redshift > 5",
                              model=toy_model)
    assert len(result) == 0 and "logmstar" in result.colnames
    for out in (tmp_path / "empty.vot", tmp_path / "empty.fits"):
        write_table(result, out)
        count = svc.run_stilts("tpipe", f"in={out}", "omode=count").stdout.split()
        assert count[-2:] == ["rows:", "0"]
    with fits.open(tmp_path / "empty.fits") as hdul:
        assert hdul[0].header["VOTMETA"] is True


# -- 6. discovery ---------------------------------------------------------------------------
@pytest.mark.services
def test_list_tables_and_columns():
    url = svc.tap_url()
    tables = list_tables(url)
    assert {svc.hatlas_table_name(), svc.eco_table_name()} <= set(tables["table_name"])
    columns = list_columns(url, svc.eco_table_name())
    marks = dict(zip(columns["column_name"], columns["recognised"]))
    assert marks["modelmag_r"] == "band r" and marks["z"] == "redshift"
    assert marks["j_m"] == "band J_2MASS" and marks["ra"] == "position"
    columns = list_columns(url, svc.hatlas_table_name())
    marks = dict(zip(columns["column_name"], columns["recognised"]))
    assert marks["r_prime"] == "band r" and marks["r_prime_err"] == "error of r"
    assert marks["redshift"] == "redshift" and marks["psw_hipe"] == ""
    units = dict(zip(columns["column_name"], columns["unit"]))
    assert units["r_prime"] == "mJy"
    with pytest.raises(VOError, match="no table 'nowhere.none'"):
        list_columns(url, "nowhere.none")


@pytest.mark.services
def test_discovery_commands(capsys):
    url = svc.tap_url()
    assert main(["tap", url, "--tables"]) == 0
    out = capsys.readouterr().out
    assert svc.hatlas_table_name() in out and svc.eco_table_name() in out
    assert main(["tap", url, "--columns", svc.eco_table_name()]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["column_name", "datatype", "unit", "ucd", "recognised"]
    row = next(line for line in lines if line.startswith("modelmag_g "))
    assert "phot.mag;em.opt.B" in row and "band g" in row


# -- 7. SAMP first --------------------------------------------------------------------------
def test_samp_hub_checked_before_the_query(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SAMP_HUB", raising=False)
    with http_servers.html_server() as server:
        status = main(["tap", server.url + "/tap", "SELECT 1", "--samp"])
        assert server.requests == []  # the service was never asked
    assert status == 1
    assert "no SAMP hub is running" in capsys.readouterr().err
    with pytest.raises(VOError, match="no SAMP hub"):
        check_samp_hub(tmp_path / ".samp")


@pytest.mark.services
def test_samp_hub_check_finds_a_receiver(tmp_path):
    with svc.samp_hub(tmp_path) as lockfile:
        with pytest.raises(VOError, match="no SAMP client that loads tables"):
            check_samp_hub(lockfile)
        with svc.samp_client(lockfile, name="receiver") as receiver:
            receiver.bind_receive_call("table.load.votable", lambda *a: None)
            assert list(check_samp_hub(lockfile).values()) == ["receiver"]


def test_fetch_tap_job_needs_a_url():
    with pytest.raises(ValueError, match="not a TAP service URL"):
        fetch_tap_job("hatlas.galaxies")
