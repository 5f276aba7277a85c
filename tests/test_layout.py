"""The package layout: old module paths, the error hierarchy, the accessor's guard."""

import importlib
import os
import sys
import warnings
from pathlib import Path

import pytest
from astropy.table import QTable, Table
from astropy.utils.exceptions import AstropyDeprecationWarning, AstropyUserWarning

import astropy_smass
from astropy_smass import accessor, exceptions
from astropy_smass._moved import MOVED
from astropy_smass.pipeline import output_columns


@pytest.mark.parametrize("old", sorted(name for name in MOVED if "validation" not in name))
def test_old_module_paths_still_import(old, monkeypatch):
    monkeypatch.delitem(sys.modules, old, raising=False)
    with pytest.warns(AstropyDeprecationWarning, match="has moved to"):
        module = importlib.import_module(old)
    new = MOVED[old]
    if isinstance(new, str):
        assert module is importlib.import_module(new)
    else:  # a split module: every public name of its parts
        for part in new:
            for name in getattr(importlib.import_module(part), "__all__", []):
                assert getattr(module, name) is getattr(importlib.import_module(part), name)


def test_moved_names_keep_working():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyDeprecationWarning)
        from astropy_smass.bands import BANDS
        from astropy_smass.bundle import StellarMassModel, available_models, load_model
    assert BANDS is astropy_smass.BANDS
    assert (StellarMassModel, load_model, available_models) == (
        astropy_smass.StellarMassModel, astropy_smass.load_model, astropy_smass.available_models)


def test_accessor_module_forwards_to_the_pipeline():
    from astropy_smass import pipeline

    with pytest.warns(AstropyDeprecationWarning, match="pipeline.OUTPUT_COLUMNS"):
        assert accessor.OUTPUT_COLUMNS is pipeline.OUTPUT_COLUMNS
    with pytest.raises(AttributeError):
        accessor.nonsense()


def test_every_error_derives_from_smass_error():
    errors = [obj for name, obj in vars(exceptions).items()
              if isinstance(obj, type) and issubclass(obj, Exception)
              and not issubclass(obj, Warning) and obj.__module__ == exceptions.__name__]
    assert len(errors) >= 10
    for error in errors:
        assert issubclass(error, exceptions.SmassError), error
    # what they were before, they still are
    for error in (exceptions.BandColumnError, exceptions.ModelFormatError,
                  exceptions.TableReadError, exceptions.UnstreamableError,
                  exceptions.TrainError, exceptions.ColumnClashError,
                  exceptions.ModelNotFoundError):
        assert issubclass(error, ValueError), error
    assert issubclass(exceptions.ModelNotFoundError, FileNotFoundError)
    assert issubclass(exceptions.VOError, RuntimeError)
    assert issubclass(exceptions.VOTimeoutError, TimeoutError)
    assert issubclass(exceptions.SmassWarning, AstropyUserWarning)


def test_accessor_cannot_be_shadowed():
    table = QTable({"r": [1.0, 2.0]})
    with pytest.raises(AttributeError, match="cannot be assigned"):
        table.smass = 3
    with pytest.raises(AttributeError, match="cannot be deleted"):
        del table.smass
    assert isinstance(table.smass, accessor.SmassAccessor)
    table["smass"] = [5, 6]  # a column of that name is fine
    assert isinstance(table.smass, accessor.SmassAccessor)


def test_register_warns_about_a_foreign_smass(monkeypatch):
    monkeypatch.setattr(Table, "smass", property(lambda self: "someone else's"))
    with pytest.warns(exceptions.SmassWarning, match="already has an attribute 'smass'"):
        accessor.register()
    assert isinstance(Table({"a": [1]}).smass, accessor.SmassAccessor)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        accessor.register()  # its own accessor: no warning


def test_output_columns():
    names = ["logmstar", "smass_flag"]
    assert output_columns(["a", "b"], names) == (["a", "b"],
                                                {"logmstar": "logmstar",
                                                 "smass_flag": "smass_flag"})
    kept, renamed = output_columns(["a", "logmstar"], names, prefix="p_", keep_columns=["a"])
    assert kept == ["a"] and renamed["logmstar"] == "p_logmstar"
    with pytest.raises(exceptions.ColumnClashError, match="already has columns logmstar; X"):
        output_columns(["a", "logmstar"], names, remedy="X")
    assert output_columns(["logmstar"], names, keep_columns=False)[0] == []
    assert output_columns(["logmstar"], names, overwrite=True)[0] == ["logmstar"]
    with pytest.raises(exceptions.ColumnClashError, match="keep_columns names c"):
        output_columns(["a"], names, keep_columns=["c"])


def test_table_methods_moved_to_the_pipeline(toy_model):
    with pytest.raises(AttributeError, match="pipeline.calibrate_model"):
        toy_model.calibrate(None)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        toy_model.nonsense()


@pytest.mark.parametrize("error, one_line", [
    (exceptions.InputError("bad input"), True),
    (exceptions.MissingFileError("no such file: x.fits"), True),
    (FileNotFoundError(2, "No such file or directory", "x.fits"), True),  # the OS's, named
    (RuntimeError("internal check failed"), False),
    (ValueError("a plain ValueError is a bug now"), False),
])
def test_cli_one_line_only_for_user_errors(error, one_line, monkeypatch, capsys):
    from astropy_smass import cli

    def fail(args):
        raise error

    monkeypatch.setattr(cli, "run_models", fail)
    assert cli.main(["models"]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    if one_line:
        assert len(lines) == 1 and lines[0].startswith("astropy-smass: error: "), err
        assert "Traceback" not in err
    else:
        assert "Traceback (most recent call last)" in err
        assert "this is a bug in astropy-smass" in lines[-1]


@pytest.mark.skipif(not os.environ.get("ASTROPY_SMASS_TEST_INSTALLED"),
                    reason="tox -e test sets ASTROPY_SMASS_TEST_INSTALLED: the tests run "
                           "against the installed package")
def test_tests_run_against_the_installed_package():
    repo = Path(__file__).resolve().parents[1]
    package = Path(astropy_smass.__file__).resolve()
    assert package.parent != repo / "astropy_smass", package  # not the source tree
    assert "site-packages" in package.parts, package
    # The maintainer tooling is not installed with the package.
    assert not (package.parent / "validation.py").exists()
    assert not (package.parent.parent / "validation" / "__init__.py").exists()
