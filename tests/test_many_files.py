"""``astropy-smass predict`` over several files, folders, globs and HATS catalogues."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable
from helpers import TOY_BANDS, assert_same_tables, toy_population

from astropy_smass.cli import expand_inputs, main
from astropy_smass.io import read_table

pytest.importorskip("pyarrow")

pytestmark = pytest.mark.filterwarnings(
    "ignore:The unit 'dex:astropy.utils.exceptions.AstropyUserWarning")


def _part(n, start, seed):
    mags, _ = toy_population(n, seed=seed)
    table = QTable()
    table["id"] = np.arange(start, start + n)
    for k, band in enumerate(TOY_BANDS):
        table[f"absmag_{band}"] = mags[:, k] * u.mag
    table["absmag_g"][1] = np.nan
    return table


@pytest.fixture(scope="module")
def bundle(toy_model, tmp_path_factory):
    return str(toy_model.save(tmp_path_factory.mktemp("model")))


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    """A folder of three Parquet files (one in a sub-folder) and a stray _SUCCESS."""
    root = tmp_path_factory.mktemp("survey")
    (root / "south").mkdir()
    for k, name in enumerate(["a.parquet", "b.parquet", "south/c.parquet"]):
        part = _part(150 + 10 * k, 1000 * k, seed=k)
        if k == 2:  # another layout in the same run: a masked column, other units
            from astropy.table import MaskedColumn

            part["quality"] = MaskedColumn(np.arange(len(part)), mask=np.arange(len(part)) < 5)
            part["absmag_u"] = part["absmag_u"].value * u.ABmag
        part.write(root / name)
    (root / "_SUCCESS").write_text("")
    return root


def _single(source, bundle, tmp_path, suffix=".parquet"):
    out = tmp_path / f"single_{source.stem}{suffix}"
    assert main(["predict", str(source), str(out), "--model", bundle]) == 0
    return read_table(out)


def test_folder_in_one_run(survey, bundle, tmp_path):
    out = tmp_path / "masses"
    assert main(["predict", str(survey), str(out), "--model", bundle, "--chunk-rows", "64"]) == 0
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet"))
    assert written == ["a.parquet", "b.parquet", "south/c.parquet"]
    for name in written:
        assert_same_tables(read_table(out / name), _single(survey / name, bundle, tmp_path))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_several_inputs_glob_and_format(survey, bundle, tmp_path):
    out = tmp_path / "fits_out"
    pattern = str(survey / "*.parquet")
    assert main(["predict", pattern, str(survey / "south" / "c.parquet"), str(out),
                 "--model", bundle, "--format", "fits"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.fits", "b.fits", "c.fits"]
    back = read_table(out / "c.fits")
    assert back["logmstar"].unit == u.dex(u.Msun) and len(back) == 170
    # OUT exists now: refused without --overwrite, replaced with it.
    assert main(["predict", pattern, str(out), "--model", bundle]) == 1
    assert main(["predict", pattern, str(out), "--model", bundle, "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.parquet", "b.parquet"]


def test_failure_leaves_nothing(survey, bundle, tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    _part(50, 0, seed=5).write(bad / "a.parquet")
    other = _part(50, 0, seed=6)
    other.rename_column("absmag_r", "something_else")
    other.write(bad / "b.parquet")
    out = tmp_path / "out"
    assert main(["predict", str(bad), str(out), "--model", bundle]) == 1
    err = capsys.readouterr().err
    assert "b.parquet" in err and "error" in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]


def test_failed_writing_found_during_the_next_file(survey, bundle, tmp_path, capsys,
                                                   monkeypatch):
    """A file is closed while the next is predicted: its failure (a full disk, made
    here by the writer's close) still fails the run, names the file and leaves nothing."""
    from astropy_smass import stream

    closes = []
    close = stream._ParquetWriter.close

    def close_fails_once(self):
        closes.append(self)
        if len(closes) == 1:
            close(self)
            raise OSError(28, "No space left on device")
        close(self)

    monkeypatch.setattr(stream._ParquetWriter, "close", close_fails_once)
    out = tmp_path / "out"
    assert main(["predict", str(survey), str(out), "--model", bundle]) == 1
    err = capsys.readouterr().err
    assert "a.parquet: No space left on device" in err
    assert len(closes) >= 2  # the next file was under way
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_hats_catalogue_directory(tmp_path, bundle):
    root = tmp_path / "hats_survey"
    leaf = root / "dataset" / "Norder=0" / "Dir=0"
    leaf.mkdir(parents=True)
    (root / "hats.properties").write_text("obs_collection=toy\n")
    for pixel in (4, 7):
        _part(40, pixel * 100, seed=pixel).write(leaf / f"Npix={pixel}.parquet")
    (root / "dataset" / "_metadata").write_text("not a table")
    pairs = expand_inputs([str(root)])
    assert [name.as_posix() for _, name in pairs] == [
        "dataset/Norder=0/Dir=0/Npix=4.parquet", "dataset/Norder=0/Dir=0/Npix=7.parquet"]
    out = tmp_path / "masses"
    assert main(["predict", str(root), str(out), "--model", bundle]) == 0
    back = read_table(out / "dataset" / "Norder=0" / "Dir=0" / "Npix=7.parquet")
    assert (back["id"] == np.arange(700, 740)).all() and "logmstar" in back.colnames


def test_bad_many_file_requests(survey, bundle, tmp_path):
    with pytest.raises(FileNotFoundError):
        expand_inputs([str(tmp_path / "nothing")])
    assert main(["predict", str(survey / "*.fits"), str(tmp_path / "o"), "--model",
                 bundle]) == 1
    assert main(["predict", str(survey), "-", "--model", bundle]) == 1
    twice = tmp_path / "twice"
    twice.mkdir()
    _part(10, 0, seed=1).write(twice / "a.parquet")
    assert main(["predict", str(survey / "a.parquet"), str(twice / "a.parquet"),
                 str(tmp_path / "o"), "--model", bundle]) == 1  # two outputs a.parquet
