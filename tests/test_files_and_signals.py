"""Output files a user can trust (issue 15): signals leave no debris, ``.gz`` outputs are
compressed, ``--overwrite`` follows symbolic links; and inputs the CLI documents are read:
CSV on standard input, whitespace text tables (``--in-format ascii``)."""

import gzip
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table
from helpers import TOY_BANDS, toy_population

from astropy_smass.cli import main
from astropy_smass.io import read_table, write_table


@pytest.fixture(scope="module")
def bundle(toy_model, tmp_path_factory):
    return str(toy_model.save(tmp_path_factory.mktemp("model")))


def _catalogue(n, seed=3):
    mags = toy_population(n, seed=seed)[0]
    table = Table({f"absmag_{b}": mags[:, k] * u.mag for k, b in enumerate(TOY_BANDS)})
    table["id"] = np.arange(n)
    return table


@pytest.fixture(scope="module")
def big_fits(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.fits"
    _catalogue(150_000).write(path)
    return path


def _values(column):
    return np.ma.filled(np.ma.asarray(getattr(column, "value", column), dtype=float), np.nan)


# -- signals -------------------------------------------------------------------------------
def _run_and_signal(args, folder, signum, timeout=120):
    """Start the command, wait for its temporary output, send ``signum``; the exit status."""
    proc = subprocess.Popen([sys.executable, "-m", "astropy_smass", *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while not any(p.name.endswith(".part") for p in folder.iterdir()):
            if proc.poll() is not None:
                pytest.fail(f"the run ended before it wrote anything: {proc.stderr.read()}")
            if time.monotonic() > deadline:
                pytest.fail("no temporary output appeared")
            time.sleep(0.02)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err.decode()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT],
                         ids=["SIGTERM", "SIGHUP", "SIGINT"])
@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "in-memory"])
def test_signals_leave_no_temporary_output(big_fits, bundle, tmp_path, signum, streamed):
    """A SLURM time limit sends SIGTERM: the run once left a 30 MB hidden .part file."""
    out = tmp_path / ("out.fits" if streamed else "out.vot")
    code, err = _run_and_signal(["predict", big_fits, out, "--model", bundle,
                                 "--chunk-rows", "2000"], tmp_path, signum)
    assert code == (130 if signum == signal.SIGINT else 128 + signum), err
    assert list(tmp_path.iterdir()) == [], "debris left behind"
    name = signal.Signals(signum).name
    assert ("interrupted" if signum == signal.SIGINT else f"stopped by {name}") in err


def test_signal_handlers_are_restored(bundle, tmp_path):
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)
    source = tmp_path / "in.fits"
    _catalogue(20).write(source)
    assert main(["predict", str(source), str(tmp_path / "out.fits"), "--model", bundle,
                 "--quiet"]) == 0
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)) == before


# -- compressed outputs ----------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".fits.gz", ".vot.gz", ".ecsv.gz", ".csv.gz"])
def test_gz_outputs_are_compressed(bundle, tmp_path, suffix, capsys):
    """``.fits.gz`` once had the very bytes of ``.fits``, and gzip -t failed."""
    source = tmp_path / "in.fits"
    _catalogue(300).write(source)
    out = tmp_path / f"out{suffix}"
    assert main(["predict", str(source), str(out), "--model", bundle, "--quiet"]) == 0
    data = out.read_bytes()
    assert data[:2] == b"\x1f\x8b"
    inner = gzip.decompress(data)
    assert len(inner) > len(data)
    if shutil.which("gzip"):
        assert subprocess.run(["gzip", "-t", str(out)]).returncode == 0
    back = read_table(out)
    plain = tmp_path / f"plain{suffix[:-3]}"
    assert main(["predict", str(source), str(plain), "--model", bundle, "--quiet"]) == 0
    np.testing.assert_array_equal(_values(back["logmstar"]),
                                  _values(read_table(plain)["logmstar"]))
    assert list(back["id"]) == list(range(300))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.fits", out.name,
                                                                 plain.name])


def test_gz_write_is_atomic(tmp_path, monkeypatch):
    from astropy_smass.io import readwrite

    def broken(table, path):
        path.write_bytes(b"half a table")
        raise RuntimeError("disk full")

    monkeypatch.setitem(readwrite._WRITERS, "fits", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_table(_catalogue(5), tmp_path / "out.fits.gz")
    assert list(tmp_path.iterdir()) == []


# -- symbolic links --------------------------------------------------------------------------
def test_overwrite_follows_a_symlink(bundle, tmp_path, capsys):
    """``--overwrite`` on a link once replaced the link by a regular file."""
    source = tmp_path / "in.fits"
    _catalogue(30).write(source)
    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / "masses.vot"
    target.write_text("old")
    link = tmp_path / "masses.vot"
    link.symlink_to(target)
    assert main(["predict", str(source), str(link), "--model", bundle, "--quiet"]) == 1
    assert "--overwrite" in capsys.readouterr().err and target.read_text() == "old"
    assert main(["predict", str(source), str(link), "--model", bundle, "--quiet",
                 "--overwrite"]) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert len(read_table(target)) == 30
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["masses.vot"]
    # A streamed output too.
    fits_target = tmp_path / "store" / "masses.fits"
    _catalogue(3).write(fits_target)
    (tmp_path / "masses.fits").symlink_to(fits_target)
    assert main(["predict", str(source), str(tmp_path / "masses.fits"), "--model", bundle,
                 "--quiet", "--overwrite"]) == 0
    assert (tmp_path / "masses.fits").is_symlink() and len(read_table(fits_target)) == 30


# -- inputs ----------------------------------------------------------------------------------
def test_csv_on_standard_input(bundle, tmp_path):
    """cli.rst says CSV on standard input is recognised; it once was read as a VOTable."""
    source = tmp_path / "in.csv"
    table = _catalogue(25)
    table.write(source)
    proc = subprocess.run([sys.executable, "-m", "astropy_smass", "predict", "-",
                           str(tmp_path / "out.vot"), "--model", bundle, "--units", "mag"],
                          input=source.read_bytes(), capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    assert "25 rows, 25 with a stellar mass" in proc.stderr.decode()
    out = read_table(tmp_path / "out.vot")
    assert list(out["id"]) == list(range(25))
    # gzip-compressed CSV on standard input, too
    proc = subprocess.run([sys.executable, "-m", "astropy_smass", "predict", "-", "-",
                           "--model", bundle, "--units", "mag", "--format", "csv"],
                          input=gzip.compress(source.read_bytes()), capture_output=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    # No error columns: logmstar_err is the intrinsic scatter and the scale systematic.
    assert proc.stdout.decode().splitlines()[0].endswith(
        ",id,logmstar,logmstar_err,logmstar_err_sys,smass_flag")
    assert len(proc.stdout.decode().splitlines()) == 26


def test_ascii_tables(bundle, tmp_path, capsys):
    """--in-format ascii reads whitespace tables, also one value per single space with
    empty fields (the H-ATLAS file of ../shared/data)."""
    table = _catalogue(12)
    lines = [" ".join(table.colnames)]
    for k, row in enumerate(table):
        values = [repr(float(v)) for v in list(row)[:-1]] + [str(row["id"])]
        if k == 4:
            values[1] = ""  # a missing g magnitude: two spaces in a row
        lines.append(" ".join(values))
    text = tmp_path / "catalogue.dat"
    text.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.vot"
    assert main(["predict", str(text), str(out), "--model", bundle, "--units", "mag",
                 "--in-format", "ascii"]) == 0
    result = read_table(out)
    assert list(result["id"]) == list(range(12))
    flags = np.asarray(result["smass_flag"])
    assert flags[4] == 1 and (np.delete(flags, 4) == 0).all()
    capsys.readouterr()
    assert main(["predict", str(text), str(tmp_path / "o"), "--format", "ascii"]) == 1
    assert "'ascii' tables are read but not written" in capsys.readouterr().err


def test_hatlas_text_file_from_the_command_line(tmp_path, capsys):
    from test_reporting import shared_data

    source = shared_data("hatlas_gama_fields.txt")
    out = tmp_path / "hatlas.vot"
    assert main(["predict", str(source), str(out), "--in-format", "ascii", "--units",
                 "mJy"]) == 0
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("astropy-smass: 3618 rows, ")
    result = read_table(out)
    assert len(result) == 3618 and np.isfinite(_values(result["logmstar"])).sum() > 3000
    assert result.meta["smass_redshift_column"] == "redshift"


def test_parquet_read_back_names_pandas(tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    path = tmp_path / "t.parquet"
    write_table(_catalogue(3), path)
    from astropy_smass.exceptions import MissingDependencyError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pandas" else real(name, *a))
    with pytest.raises(MissingDependencyError, match=r"reading parquet files needs the "
                       r"optional package pandas \(pip install pandas\)"):
        read_table(path)
    write_table(_catalogue(3), tmp_path / "u.parquet")  # writing needs pyarrow alone


def test_a_signal_just_after_the_temporary_file_is_made(tmp_path, monkeypatch):
    """The race that once left a .part file: a signal between making it and the code
    that removes it. It is held back until the file is known, then removed."""
    from astropy_smass import _utils
    from astropy_smass.cli import Terminated, _signals_interrupt

    real = tempfile.mkstemp

    def then_a_signal(*args, **kwargs):
        made = real(*args, **kwargs)
        signal.raise_signal(signal.SIGTERM)  # its handler runs before mkstemp returns
        return made

    monkeypatch.setattr(_utils.tempfile, "mkstemp", then_a_signal)
    written = []
    with _signals_interrupt(), pytest.raises(Terminated):
        _utils.atomic_write(tmp_path / "out.txt", written.append, mode="w")
    assert written == [] and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("repeat", range(3))
def test_signals_leave_no_temporary_output_again(big_fits, bundle, tmp_path, repeat):
    """The in-memory path, where the temporary file appears late, a few more times."""
    code, err = _run_and_signal(["predict", big_fits, tmp_path / "out.vot", "--model",
                                 bundle], tmp_path, signal.SIGTERM)
    assert code == 143, err
    assert list(tmp_path.iterdir()) == []
