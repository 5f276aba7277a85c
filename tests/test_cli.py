"""The astropy-smass command: formats, pipes, STILTS pipelines, errors, demo, models, tap."""

import importlib.util
import os
import subprocess
import sys

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from helpers import assert_same_tables

from astropy_smass.cli import main
from astropy_smass.datasets import load_demo
from astropy_smass.io import FORMATS, read_table, write_table
from astropy_smass.pipeline import OUTPUT_COLUMNS

try:
    from . import services as svc
except ImportError:
    import services as svc

EXTENSION = {"votable": "vot", "fits": "fits", "ecsv": "ecsv", "csv": "csv", "hdf5": "h5",
             "parquet": "parquet"}
OPTIONAL = {"hdf5": "h5py", "parquet": "pyarrow"}
N_ROWS = 200


@pytest.fixture(scope="module")
def bundle(toy_model, tmp_path_factory):
    """The toy model saved as a bundle, passed to --model by path."""
    return str(toy_model.save(tmp_path_factory.mktemp("model")))


@pytest.fixture(scope="module")
def galaxies():
    """The first demo galaxies: fluxes in mJy, a redshift column, masked gaps."""
    return Table(load_demo()[:N_ROWS])


@pytest.fixture(scope="module")
def expected(galaxies, toy_model):
    """Masses from the in-memory accessor on the same rows."""
    return galaxies.smass.predict(toy_model, redshift="redshift")


@pytest.fixture
def input_fits(galaxies, tmp_path):
    path = tmp_path / "in.fits"
    write_table(galaxies, path)
    return path


def _values(column):
    return np.asarray(np.ma.filled(np.ma.asarray(getattr(column, "value", column),
                                                 dtype=float), np.nan))


def _run(*args, stdin=None, env=None):
    """The command as a subprocess (``python -m astropy_smass.cli``)."""
    return subprocess.run([sys.executable, "-m", "astropy_smass.cli", *map(str, args)],
                          input=stdin, capture_output=True, timeout=300,
                          env=env or dict(os.environ))


def _summary_line(stderr, n_rows):
    """The run's summary, the last line of stderr; no progress lines before it."""
    lines = stderr.strip().splitlines()
    assert lines and lines[-1].startswith("astropy-smass: "), stderr
    assert f"{n_rows} rows, " in lines[-1] and "with a stellar mass" in lines[-1], stderr
    assert all(line.startswith("astropy-smass: warning: ") for line in lines[:-1]), stderr
    assert "rows/s" not in stderr
    return lines[-1]


def _one_error_line(stderr):
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("astropy-smass: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


# -- formats --------------------------------------------------------------------------------
@pytest.mark.parametrize("format", list(FORMATS))
def test_predict_every_format(galaxies, expected, bundle, tmp_path, format, capsys):
    if format in OPTIONAL:
        pytest.importorskip(OPTIONAL[format])
    source = tmp_path / f"in.{EXTENSION[format]}"
    target = tmp_path / f"out.{EXTENSION[format]}"
    write_table(galaxies, source)
    units = ["--units", "mJy"] if format == "csv" else []  # CSV has no units
    assert main(["predict", str(source), str(target), "--model", bundle,
                 "--redshift", "redshift", *units]) == 0
    # stderr is no terminal: no progress, only the summary
    _summary_line(capsys.readouterr().err, N_ROWS)
    result = read_table(target)
    assert len(result) == N_ROWS
    assert list(np.asarray(result["id"]).astype(str)) == list(galaxies["id"])
    np.testing.assert_array_equal(_values(result["logmstar"]), _values(expected["logmstar"]))
    np.testing.assert_array_equal(np.asarray(result["smass_flag"]),
                                  np.asarray(expected["smass_flag"]))
    if format != "csv":
        assert result["logmstar"].unit == u.dex(u.Msun)
        assert result["logmstar"].info.meta["ucd"] == "phys.mass"


def test_redshift_column_found_by_ucd(input_fits, expected, bundle, tmp_path):
    # All bands are fluxes and no --redshift: the src.redshift column is used.
    target = tmp_path / "out.ecsv"
    assert main(["predict", str(input_fits), str(target), "--model", bundle]) == 0
    result = read_table(target)
    np.testing.assert_array_equal(_values(result["logmstar"]), _values(expected["logmstar"]))
    assert result.meta["smass_redshift_column"] == "redshift"


def test_options_reach_the_prediction(galaxies, toy_model, bundle, tmp_path):
    source = tmp_path / "in.ecsv"
    renamed = Table(galaxies)
    renamed.rename_column("r_prime", "red")
    write_table(renamed, source)
    target = tmp_path / "out.fits"
    assert main(["predict", str(source), str(target), "--model", bundle, "--columns", "r=red",
                 "--errors", "r=r_prime_err", "--uncertainty", "montecarlo", "--draws", "20",
                 "--seed", "3", "--keep-out-of-domain", "--prefix", "nn_"]) == 0
    result = read_table(target)
    direct = renamed.smass.predict(toy_model, columns={"r": "red"},
                                   errors={"r": "r_prime_err"}, redshift="redshift",
                                   uncertainty="montecarlo", n_draws=20, seed=3,
                                   exclude_out_of_domain=False)
    np.testing.assert_array_equal(_values(result["nn_logmstar"]), _values(direct["logmstar"]))
    np.testing.assert_array_equal(_values(result["nn_logmstar_err"]),
                                  _values(direct["logmstar_err"]))
    assert result.meta["smass_uncertainty"] == "montecarlo"
    assert result.meta["smass_out_of_domain"] == "kept (flagged)"


@pytest.mark.parametrize("format", ["votable", "fits"])
def test_no_error_columns_still_get_an_uncertainty(galaxies, toy_model, bundle, tmp_path,
                                                   format):
    from astropy_smass.massscale import SYSTEMATIC_DEX

    plain = Table(galaxies)
    plain.remove_columns([c for c in plain.colnames if c.endswith("_err")])
    source = tmp_path / "noerr.ecsv"
    write_table(plain, source)
    target = tmp_path / f"out.{EXTENSION[format]}"
    assert main(["predict", str(source), str(target), "--model", bundle]) == 0
    result = read_table(target)
    logm, err = _values(result["logmstar"]), _values(result["logmstar_err"])
    assert np.isfinite(logm).sum() > 50
    np.testing.assert_array_equal(np.isfinite(err), np.isfinite(logm))
    np.testing.assert_allclose(err[np.isfinite(err)],
                               np.hypot(toy_model.intrinsic_scatter, SYSTEMATIC_DEX))
    assert "logmstar_err_phot" not in result.colnames
    # The file says which scale the masses are on, in the columns and in the provenance.
    assert "Chabrier (2003) IMF" in result["logmstar"].info.description
    assert "living stars + stellar remnants" in result["logmstar"].info.description
    assert result.meta["smass_imf"] == "Chabrier (2003)"
    assert "living stars + stellar remnants" in result.meta["smass_mass_definition"]
    if format == "fits":
        header = fits.getheader(target, 1)
        assert header["SMASSIMF"] == "Chabrier (2003)"
        assert float(header["SMASSSYS"]) == SYSTEMATIC_DEX


def test_imf_mass_definition_and_no_uncertainty_options(galaxies, toy_model, bundle, tmp_path):
    from astropy_smass.massscale import IMFS, MASS_DEFINITIONS

    source = tmp_path / "in.ecsv"
    write_table(galaxies, source)
    base, other, none = (tmp_path / f"{name}.ecsv" for name in ("base", "other", "none"))
    assert main(["predict", str(source), str(base), "--model", bundle]) == 0
    assert main(["predict", str(source), str(other), "--model", bundle, "--imf", "Salpeter",
                 "--mass-definition", "living", "--systematic", "0"]) == 0
    assert main(["predict", str(source), str(none), "--model", bundle,
                 "--uncertainty", "none"]) == 0
    base, other, none = read_table(base), read_table(other), read_table(none)
    good = np.isfinite(_values(base["logmstar"]))
    shift = IMFS["salpeter"].offset_dex + MASS_DEFINITIONS["living"].offset_dex
    np.testing.assert_allclose(_values(other["logmstar"])[good] - _values(base["logmstar"])[good],
                               shift, atol=1e-9)
    # --systematic 0 leaves the conversion's own spread.
    np.testing.assert_allclose(_values(other["logmstar_err_sys"])[good],
                               MASS_DEFINITIONS["living"].scatter_dex)
    assert other.meta["smass_imf"] == IMFS["salpeter"].label
    assert not {"logmstar_err", "logmstar_err_phot", "logmstar_err_sys"} & set(none.colnames)
    assert none.meta["smass_uncertainty"] == "none"


# -- standard streams and pipelines ---------------------------------------------------------
def test_stdin_to_stdout_subprocess(galaxies, expected, bundle, tmp_path):
    source = tmp_path / "in.vot"
    write_table(galaxies, source)
    proc = _run("predict", "-", "-", "--model", bundle, stdin=source.read_bytes())
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.lstrip().startswith(b"<?xml")
    (tmp_path / "out.vot").write_bytes(proc.stdout)
    result = read_table(tmp_path / "out.vot")
    assert list(result["id"]) == list(galaxies["id"])
    np.testing.assert_array_equal(_values(result["logmstar"]), _values(expected["logmstar"]))


def test_stdout_in_other_format(input_fits, bundle, capsysbinary):
    assert main(["predict", str(input_fits), "-", "--format", "ecsv", "--model", bundle]) == 0
    assert capsysbinary.readouterr().out.startswith(b"# %ECSV")


@pytest.mark.services
def test_pipeline_into_stilts(input_fits, bundle):
    stilts = svc.stilts_path()
    producer = subprocess.Popen([sys.executable, "-m", "astropy_smass.cli", "predict",
                                 str(input_fits), "-", "--model", bundle],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    counted = subprocess.run([stilts, "tpipe", "in=-", "ifmt=votable",
                              "cmd=select smass_flag==0", "omode=count"],
                             stdin=producer.stdout, capture_output=True, text=True, timeout=120)
    producer.stdout.close()
    assert producer.wait(timeout=120) == 0, producer.stderr.read().decode()
    assert counted.returncode == 0, counted.stderr
    n_clean = int(counted.stdout.split("rows:")[1])
    result = read_table(input_fits)
    assert n_clean > 0
    assert n_clean < len(result)  # the toy model flags some of these galaxies


@pytest.mark.services
@pytest.mark.parametrize("format, err_unit", [("votable", "[-]"), ("fits", "[-]"),
                                              ("ecsv", "dex")])
def test_stilts_metadata_of_outputs(input_fits, bundle, tmp_path, format, err_unit):
    target = tmp_path / f"out.{EXTENSION[format]}"
    assert main(["predict", str(input_fits), str(target), "--model", bundle]) == 0
    out = svc.run_stilts("tpipe", f"in={target}", "cmd=keepcols 'logmstar logmstar_err'",
                         "cmd=meta Name Units UCD", "omode=out", "ofmt=csv-noheader").stdout
    rows = {line.split(",")[0]: line.split(",")[1:] for line in out.split()}
    log_unit = "dex(solMass)" if format == "ecsv" else "[solMass]"
    assert rows["logmstar"] == [log_unit, "phys.mass"]
    assert rows["logmstar_err"] == [err_unit, "stat.error;phys.mass"]


# -- streaming FITS, Parquet and HDF5 ----------------------------------------------------------
@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    """The whole demo catalogue (3618 galaxies) as a FITS and a Parquet file."""
    folder = tmp_path_factory.mktemp("demo")
    table = Table(load_demo())
    paths = {"fits": folder / "demo.fits", "parquet": folder / "demo.parquet"}
    for format, path in paths.items():
        if format not in OPTIONAL or importlib.util.find_spec(OPTIONAL[format]):
            write_table(table, path)
    return paths


@pytest.mark.parametrize("format", ["fits", "parquet"])
def test_streamed_equals_in_memory(demo_files, bundle, tmp_path, format, capsys, monkeypatch):
    """FITS->FITS and Parquet->Parquet are streamed in chunks; --chunk-rows 0 holds the
    table in memory; both write the same values, units, UCDs, descriptions and meta."""
    if format in OPTIONAL:
        pytest.importorskip(OPTIONAL[format])
    source = demo_files[format]
    streamed = tmp_path / f"streamed.{EXTENSION[format]}"
    in_memory = tmp_path / f"in_memory.{EXTENSION[format]}"
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert main(["predict", str(source), str(streamed), "--model", bundle,
                 "--chunk-rows", "1000"]) == 0
    err = capsys.readouterr().err
    assert "3,618/3,618 rows" in err and "rows/s" in err  # chunk progress, on a terminal
    assert main(["predict", str(source), str(in_memory), "--model", bundle,
                 "--chunk-rows", "0"]) == 0
    assert "rows/s" not in capsys.readouterr().err
    result, expected = read_table(streamed), read_table(in_memory)
    assert_same_tables(result, expected)
    assert len(result) == 3618
    assert result["logmstar"].unit == u.dex(u.Msun) and result["logmstar_err"].unit == u.dex
    for name, (description, ucd) in OUTPUT_COLUMNS.items():
        if name in result.colnames:
            assert result[name].info.description.startswith(description)
            assert result[name].info.meta["ucd"] == ucd
    assert result.meta["smass_redshift_column"] == "redshift"  # found by its UCD
    assert np.isfinite(_values(result["logmstar"])).sum() > 100
    if format == "fits":
        # The very same file: header cards (VO units, TUCDn, TCOMMn, SMASS*) and rows.
        with fits.open(streamed) as ours, fits.open(in_memory) as theirs:
            assert ours[1].header.tostring() == theirs[1].header.tostring()
            assert ours[1].data.tobytes() == theirs[1].data.tobytes()
    else:
        import pyarrow.parquet as pq

        assert pq.ParquetFile(streamed).num_row_groups == 4  # one per chunk of 1000
        assert pq.ParquetFile(in_memory).num_row_groups == 1


@pytest.mark.services
def test_stilts_reads_streamed_fits(demo_files, bundle, tmp_path):
    target = tmp_path / "streamed.fits"
    assert main(["predict", str(demo_files["fits"]), str(target), "--model", bundle,
                 "--chunk-rows", "1000"]) == 0
    out = svc.run_stilts("tpipe", f"in={target}", "cmd=keepcols 'logmstar logmstar_err'",
                         "cmd=meta Name Units UCD", "omode=out", "ofmt=csv-noheader").stdout
    rows = {line.split(",")[0]: line.split(",")[1:] for line in out.split()}
    assert rows["logmstar"] == ["[solMass]", "phys.mass"]  # from the FITS-plus primary HDU
    assert rows["logmstar_err"] == ["[-]", "stat.error;phys.mass"]
    count = svc.run_stilts("tpipe", f"in={target}", "omode=count").stdout
    assert count.split()[-2:] == ["rows:", "3618"]


def test_unstreamable_file_is_read_in_memory(galaxies, expected, bundle, tmp_path, capsys):
    # A variable-length array column (a spectrum per row) cannot be read in row slices.
    plain = tmp_path / "plain.fits"
    write_table(galaxies, plain)
    with fits.open(plain) as hdul:
        spectra = fits.Column(name="spectrum", format="PD()", array=np.array(
            [np.arange(k % 4 + 1, dtype=float) for k in range(N_ROWS)], dtype=object))
        hdu = fits.BinTableHDU.from_columns(hdul[1].columns + fits.ColDefs([spectra]),
                                            header=hdul[1].header)
        hdu.writeto(tmp_path / "spectra.fits")
    target = tmp_path / "out.fits"
    assert main(["predict", str(tmp_path / "spectra.fits"), str(target), "--model",
                 bundle]) == 0
    err = capsys.readouterr().err
    assert "cannot be streamed" in err and "into memory" in err
    result = read_table(target)
    np.testing.assert_array_equal(_values(result["logmstar"]), _values(expected["logmstar"]))
    assert list(result["spectrum"][3]) == [0.0, 1.0, 2.0, 3.0]


def test_chunk_rows_not_negative(input_fits, bundle, tmp_path, capsys):
    target = tmp_path / "out.fits"
    assert main(["predict", str(input_fits), str(target), "--model", bundle,
                 "--chunk-rows", "-1"]) == 1
    assert "--chunk-rows" in _one_error_line(capsys.readouterr().err)
    assert not target.exists()


# -- files are safe -------------------------------------------------------------------------
def test_refuses_to_overwrite(input_fits, bundle, tmp_path, capsys):
    target = tmp_path / "out.vot"
    target.write_text("precious")
    assert main(["predict", str(input_fits), str(target), "--model", bundle]) == 1
    assert "--overwrite" in _one_error_line(capsys.readouterr().err)
    assert target.read_text() == "precious"
    assert main(["predict", str(input_fits), str(target), "--model", bundle,
                 "--overwrite"]) == 0
    assert len(read_table(target)) == N_ROWS


def test_no_partial_file_on_failure(input_fits, bundle, tmp_path, capsys):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code = main(["predict", str(input_fits), str(out_dir / "out.fits"), "--model", bundle,
                 "--redshift", "no_such_column"])
    assert code == 1
    _one_error_line(capsys.readouterr().err)
    assert list(out_dir.iterdir()) == []


def test_rerun_on_output_needs_prefix(input_fits, bundle, tmp_path, capsys):
    first = tmp_path / "first.fits"
    assert main(["predict", str(input_fits), str(first), "--model", bundle]) == 0
    capsys.readouterr()
    assert main(["predict", str(first), str(tmp_path / "second.fits"), "--model", bundle]) == 1
    assert "--prefix" in _one_error_line(capsys.readouterr().err)


# -- one-line errors ------------------------------------------------------------------------
@pytest.fixture
def corrupt_bundle(toy_model, tmp_path):
    path = toy_model.save(tmp_path / "corrupt")
    npz = path.with_suffix(".npz")
    arrays = dict(np.load(npz))
    arrays["weights_output"] = arrays["weights_output"] * 1.0001
    np.savez(npz, **arrays)
    return path


def _error_cases(tmp_path, input_fits, bundle, corrupt_bundle):
    malformed = tmp_path / "malformed.vot"
    malformed.write_text("<?xml version='1.0'?><VOTABLE><RESOURCE><TABLE><FIELD name='x' "
                         "datatype='double'/><DATA><TABLEDATA><TR><TD>1")
    return {
        "missing column": (["predict", input_fits, "out.vot", "--model", bundle,
                            "--columns", "r=no_such_column"], "no_such_column"),
        "unknown model": (["predict", input_fits, "out.vot", "--model", "no_such_model"],
                          "unknown model"),
        "corrupt checksum": (["predict", input_fits, "out.vot", "--model", corrupt_bundle],
                             "checksum"),
        "malformed votable": (["predict", malformed, "out.vot", "--model", bundle],
                              "malformed.vot"),
        "missing input": (["predict", tmp_path / "nothing.fits", "out.vot", "--model", bundle],
                          "no such file"),
        "unknown extension": (["predict", input_fits, "out.txt", "--model", bundle],
                              "extension"),
        "bad mapping": (["predict", input_fits, "out.vot", "--model", bundle,
                         "--columns", "r"], "BAND=COLUMN"),
        "no bands": (["predict", tmp_path / "nobands.ecsv", "out.vot", "--model", bundle],
                     "needs bands"),
    }


@pytest.mark.parametrize("case", ["missing column", "unknown model", "corrupt checksum",
                                  "malformed votable", "missing input", "unknown extension",
                                  "bad mapping", "no bands"])
def test_errors_are_one_line(case, tmp_path, input_fits, bundle, corrupt_bundle, capsys,
                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    Table({"id": ["a", "b"], "x": [1.0, 2.0]}).write(tmp_path / "nobands.ecsv")
    args, text = _error_cases(tmp_path, input_fits, bundle, corrupt_bundle)[case]
    assert main([str(a) for a in args]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert text in line
    assert not (tmp_path / "out.vot").exists()


@pytest.mark.parametrize("case", ["corrupt checksum", "malformed votable"])
def test_errors_subprocess(case, tmp_path, input_fits, bundle, corrupt_bundle):
    args, text = _error_cases(tmp_path, input_fits, bundle, corrupt_bundle)[case]
    proc = _run(*args)
    assert proc.returncode == 1
    assert text in _one_error_line(proc.stderr.decode())


def test_usage_error_exit_status(capsys):
    with pytest.raises(SystemExit) as info:
        main(["predict", "--uncertainty", "magic"])
    assert info.value.code == 2


def test_entry_point_module():
    proc = subprocess.run([sys.executable, "-m", "astropy_smass", "--version"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert proc.stdout.startswith("astropy-smass ")


# -- demo and models ------------------------------------------------------------------------
def test_demo(bundle, tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    assert main(["predict", "--demo", "--model", bundle]) == 0
    message = _summary_line(capsys.readouterr().err, 3618)
    assert "H-ATLAS demo, wrote smass_demo.vot and smass_demo.png: 3618 rows, " in message
    table = read_table(tmp_path / "smass_demo.vot")
    assert len(table) == 3618
    assert np.isfinite(_values(table["logmstar"])).sum() > 100
    assert (tmp_path / "smass_demo.png").read_bytes().startswith(b"\x89PNG")
    # A second run refuses to replace either file.
    assert main(["predict", "--demo", "--model", bundle]) == 1
    _one_error_line(capsys.readouterr().err)


def test_demo_custom_output(bundle, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    target = tmp_path / "masses.fits"
    assert main(["predict", "--demo", str(target), "--model", bundle]) == 0
    assert len(read_table(target)) == 3618
    assert (tmp_path / "masses.png").exists()


def test_models_lists_bundles(bundle, capsys):
    assert main(["models", bundle]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["name", "bands"]
    assert lines[1].split()[:6] == ["toy", "u", "g", "r", "i", "z"]


def test_models_installed(capsys):
    from astropy_smass import available_models

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    names = list(available_models())
    if names:
        assert all(name in out for name in names)
    else:
        assert "no models are installed" in out


# -- tap ------------------------------------------------------------------------------------
@pytest.mark.services
def test_tap_command(bundle, toy_model, tmp_path):
    url, table = svc.tap_url(), svc.hatlas_table_name()
    target = tmp_path / "tap.fits"
    adql = f"SELECT TOP 25 * FROM {table} ORDER BY id"
    assert main(["tap", url, adql, str(target), "--model", bundle]) == 0
    result = read_table(target)
    assert len(result) == 25
    assert list(result["id"]) == sorted(result["id"])
    assert result.meta["smass_adql"] == adql
    assert result["logmstar"].unit == u.dex(u.Msun)
    # The same galaxies from the shipped demo file give the same masses.
    demo = Table(load_demo())
    row = {name: k for k, name in enumerate(demo["id"])}
    same = demo[[row[name] for name in result["id"]]]
    direct = same.smass.predict(toy_model, redshift="redshift")
    np.testing.assert_allclose(_values(result["logmstar"]), _values(direct["logmstar"]),
                               rtol=0, atol=1e-12, equal_nan=True)


@pytest.mark.services
def test_tap_command_bad_adql(bundle, tmp_path, capsys):
    url = svc.tap_url()
    target = tmp_path / "tap.vot"
    assert main(["tap", url, "SELEKT nothing", str(target), "--model", bundle]) == 1
    assert "rejected the query" in _one_error_line(capsys.readouterr().err)
    assert not target.exists()


def test_tap_needs_output_or_samp(capsys):
    assert main(["tap", "http://127.0.0.1:9/tap", "SELECT 1"]) == 1
    assert "--samp" in _one_error_line(capsys.readouterr().err)


def test_progress_on_a_terminal(input_fits, bundle, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert main(["predict", str(input_fits), str(tmp_path / "o.vot"), "--model", bundle]) == 0
    err = capsys.readouterr().err
    assert "predicting stellar masses for 200 rows" in err
    assert "reading" in err and "writing" in err


@pytest.mark.services
def test_tap_upload_to_samp(bundle, tmp_path, capsys):
    """`tap --upload mine=FILE --samp`: a server-side join sent straight to a SAMP client."""
    url, name = svc.tap_url(), svc.hatlas_table_name()
    mine = tmp_path / "mine.ecsv"
    Table({"id": ["G12.DR1.1506", "G09.DR1.7588"], "tag": [7, 8]}).write(mine)
    adql = (f"SELECT g.*, m.tag FROM {name} AS g JOIN TAP_UPLOAD.mine AS m ON g.id = m.id "
            "ORDER BY m.tag")
    received = {}
    with svc.samp_hub(tmp_path) as lockfile, \
            svc.samp_client(lockfile, name="receiver") as receiver:
        def load(private_key, sender_id, msg_id, mtype, params, extra):
            received["table"] = read_table(params["url"][len("file://"):])
            receiver.reply(msg_id, {"samp.status": "samp.ok", "samp.result": {}})

        receiver.bind_receive_call("table.load.votable", load)
        assert main(["tap", url, adql, "--upload", f"mine={mine}", "--samp", "--hub",
                     lockfile, "--model", bundle, "--allow-empty"]) == 0
    assert "sent 2 rows" in capsys.readouterr().err
    table = received["table"]
    assert list(table["tag"]) == [7, 8]
    assert table["logmstar"].unit == u.dex(u.Msun)
