"""Model bundles: files, checksums, versions, discovery by name and by plugin."""

import json
import os
import stat
import sys
import textwrap
import warnings

import astropy.units as u
import numpy as np
import pytest
from helpers import toy_population

import astropy_smass
from astropy_smass import _utils
from astropy_smass._utils import atomic_write
from astropy_smass.conf import conf
from astropy_smass.exceptions import ModelFormatError
from astropy_smass.flags import SmassFlag, SmassWarning
from astropy_smass.model import bundle as bundle_module
from astropy_smass.model import registry as registry_module
from astropy_smass.model.bundle import (
    FORMAT_VERSION,
    StellarMassModel,
    arrays_checksum,
    bundle_checksum,
)
from astropy_smass.model.correction import BiasCorrection
from astropy_smass.model.registry import available_models, load_model
from astropy_smass.pipeline import calibrate_model


@pytest.fixture
def magnitudes():
    mags, _ = toy_population(300, seed=21)
    mags[:5] += 8.0  # a few galaxies outside the training domain
    return mags


@pytest.fixture
def corrected_model(toy_model):
    return toy_model.replace(name="toy_corrected",
                             correction=BiasCorrection((0.05, -0.1, 0.02), 10.0, (9.0, 11.0),
                                                       {"catalogue": "test"}),
                             metadata={"description": "corrected toy", "scores": {"r2": 0.9}})


@pytest.fixture
def no_bundled_models(tmp_path, monkeypatch):
    """An empty bundled-model folder, so that only the test's own models are found."""
    folder = tmp_path / "bundled"
    folder.mkdir()
    monkeypatch.setattr(registry_module, "_bundled_dir", lambda: folder)
    return folder


def _predictions(model, mags):
    return model.predict_magnitudes(mags, np.full_like(mags, 0.05), uncertainty="analytic",
                                    exclude_out_of_domain=False)


def test_save_load_round_trip(corrected_model, magnitudes, tmp_path):
    path = corrected_model.save(tmp_path)
    assert path == tmp_path / "toy_corrected.json"
    assert (tmp_path / "toy_corrected.npz").exists()
    loaded = StellarMassModel.load(path)
    assert loaded.bands == corrected_model.bands
    assert loaded.features == corrected_model.features
    assert loaded.correction == corrected_model.correction
    assert loaded.intrinsic_scatter == corrected_model.intrinsic_scatter
    assert loaded.metadata == corrected_model.metadata
    assert repr(loaded) == repr(corrected_model)
    before, after = _predictions(corrected_model, magnitudes), _predictions(loaded, magnitudes)
    assert set(before) == set(after)
    for key in before:
        np.testing.assert_array_equal(after[key], before[key])
    assert (before["flags"] != 0).any()  # the domain came through, too
    spec = json.loads(path.read_text())
    assert spec["format_version"] == FORMAT_VERSION
    assert spec["weights_sha256"] == arrays_checksum(corrected_model.arrays())


def test_npz_has_no_pickles(toy_model, tmp_path):
    toy_model.save(tmp_path)
    with np.load(tmp_path / "toy.npz", allow_pickle=False) as npz:
        assert all(npz[key].dtype != object for key in npz.files)


def test_tampered_weights_refused(toy_model, tmp_path):
    path = toy_model.save(tmp_path)
    npz_path = tmp_path / "toy.npz"
    with np.load(npz_path) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays["weights_output"] = arrays["weights_output"] * (1 + 1e-12)
    np.savez(npz_path, **arrays)
    with pytest.raises(ModelFormatError, match="checksum"):
        StellarMassModel.load(path)
    with pytest.raises(ModelFormatError, match="checksum"):
        load_model(path)


def test_loaded_model_follows_a_replaced_npz(toy_model, tmp_path):
    path = toy_model.save(tmp_path)
    first = load_model(path)
    assert load_model(path) is first  # cached
    # Replace only the weights (a valid npz, but not the one the JSON describes).
    other = toy_model.replace(network=type(toy_model.network)(
        toy_model.network.weights_hidden * 2, toy_model.network.bias_hidden,
        toy_model.network.weights_output, 0.0, "relu", toy_model.network.input_mean,
        toy_model.network.input_scale))
    arrays = other.arrays()
    np.savez(tmp_path / "toy.npz", **arrays)
    os.utime(tmp_path / "toy.npz", ns=(1, 1))  # a different mtime whatever the clock
    with pytest.raises(ModelFormatError, match="checksum"):
        load_model(path)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not really a zip", b"\x00" * 64])
def test_corrupt_npz_refused(toy_model, tmp_path, content):
    path = toy_model.save(tmp_path)
    (tmp_path / "toy.npz").write_bytes(content)
    with pytest.raises(ModelFormatError, match="cannot read model weights"):
        StellarMassModel.load(path)


def test_missing_npz_refused(toy_model, tmp_path):
    path = toy_model.save(tmp_path)
    (tmp_path / "toy.npz").unlink()
    with pytest.raises(ModelFormatError, match="toy.npz"):
        StellarMassModel.load(path)


def _edit_json(path, change, rehash=False):
    """Edit a bundle's JSON; with ``rehash``, as a tamperer who recomputes the checksum."""
    spec = json.loads(path.read_text())
    change(spec)
    if rehash:
        with np.load(path.with_suffix(".npz")) as npz:
            spec["sha256"] = bundle_checksum(spec, {key: npz[key] for key in npz.files})
    path.write_text(json.dumps(spec))


@pytest.mark.parametrize("version", [FORMAT_VERSION + 1, 0, "1", None])
def test_wrong_format_version_refused(toy_model, tmp_path, version):
    path = toy_model.save(tmp_path)
    _edit_json(path, lambda spec: spec.update(format_version=version))
    with pytest.raises(ModelFormatError, match=f"version {version!r}.*reads version"):
        StellarMassModel.load(path)


@pytest.mark.parametrize("key", ["bands", "features", "activation", "weights_sha256"])
def test_missing_keys_refused(toy_model, tmp_path, key):
    path = toy_model.save(tmp_path)
    _edit_json(path, lambda spec: spec.pop(key))
    with pytest.raises(ModelFormatError, match=f"missing keys {key}"):
        StellarMassModel.load(path)


def test_inconsistent_bundle_refused(toy_model, tmp_path):
    path = toy_model.save(tmp_path)
    _edit_json(path, lambda spec: spec.update(features=spec["features"][:-1]), rehash=True)
    with pytest.raises(ModelFormatError, match="inconsistent model bundle"):
        StellarMassModel.load(path)
    _edit_json(path, lambda spec: spec.update(features=spec["features"] + ["u-z"],
                                              activation="softsign"), rehash=True)
    with pytest.raises(ModelFormatError, match="softsign"):
        StellarMassModel.load(path)


def test_weights_file_must_sit_beside_the_json(toy_model, tmp_path):
    toy_model.save(tmp_path / "elsewhere")
    path = toy_model.save(tmp_path / "here")
    _edit_json(path, lambda spec: spec.update(weights_file="../elsewhere/toy.npz"))
    with pytest.raises(ModelFormatError, match="weights_file"):
        StellarMassModel.load(path)


def test_unreadable_json_refused(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ModelFormatError, match="cannot read model file"):
        StellarMassModel.load(path)
    path.write_text("[1, 2]")
    with pytest.raises(ModelFormatError, match="unsupported model format"):
        StellarMassModel.load(path)


def test_never_overwrites_unless_asked(toy_model, corrected_model, tmp_path):
    path = toy_model.save(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(FileExistsError, match="overwrite=True"):
        toy_model.replace(intrinsic_scatter=0.3).save(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    toy_model.replace(intrinsic_scatter=0.3).save(tmp_path, overwrite=True)
    assert StellarMassModel.load(path).intrinsic_scatter == 0.3
    # A lone npz of the same name also blocks the save.
    (tmp_path / "toy_corrected.npz").write_bytes(b"")
    with pytest.raises(FileExistsError):
        corrected_model.save(tmp_path)
    assert not (tmp_path / "toy_corrected.json").exists()


def test_atomic_write(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write(target, lambda fh: fh.write("first"), mode="w")
    assert target.read_text() == "first"
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    with pytest.raises(FileExistsError):
        atomic_write(target, lambda fh: fh.write("second"), mode="w")

    def failing(handle):
        handle.write("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, failing, overwrite=True, mode="w")
    assert target.read_text() == "first"  # the old file is untouched
    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "new.txt", failing, mode="w")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]  # no temporary files

    # mode=None hands over the temporary path, for writers that want a file name.
    atomic_write(tmp_path / "byname.npy", lambda name: np.save(open(name, "wb"), np.arange(3)),
                 mode=None)
    np.testing.assert_array_equal(np.load(tmp_path / "byname.npy"), np.arange(3))


def test_checksum_ignores_zip_layout_and_byte_order():
    rng = np.random.default_rng(0)
    arrays = {"a": rng.normal(size=(3, 4)), "b": np.arange(5, dtype="<i8")}
    swapped = {"a": arrays["a"].astype(">f8"), "b": arrays["b"].astype(">i8")}
    assert arrays_checksum(swapped) == arrays_checksum(arrays)
    assert arrays_checksum({"b": arrays["b"], "a": arrays["a"]}) == arrays_checksum(arrays)
    assert arrays_checksum({**arrays, "a": arrays["a"].T.copy()}) != arrays_checksum(arrays)
    assert arrays_checksum({"c": arrays["a"], "b": arrays["b"]}) != arrays_checksum(arrays)


def test_compressed_npz_loads(toy_model, magnitudes, tmp_path):
    path = toy_model.save(tmp_path)
    np.savez_compressed(tmp_path / "toy.npz", **toy_model.arrays())
    np.testing.assert_array_equal(StellarMassModel.load(path).predict_magnitudes(magnitudes)
                                  ["logmstar"], toy_model.predict_magnitudes(magnitudes)
                                  ["logmstar"])


def test_load_model_by_path_folder_and_name(toy_model, corrected_model, no_bundled_models,
                                            tmp_path):
    single = tmp_path / "single"
    path = toy_model.save(single)
    assert load_model(path).name == "toy"
    assert load_model(str(path)).name == "toy"
    assert load_model(single).name == "toy"  # a folder holding one bundle
    assert load_model(toy_model) is toy_model
    corrected_model.save(no_bundled_models)
    toy_model.save(no_bundled_models)
    assert set(available_models()) == {"toy", "toy_corrected"}
    assert load_model("toy_corrected").correction == corrected_model.correction
    with pytest.raises(ValueError, match="holds 2 model bundles"):
        load_model(no_bundled_models)
    with pytest.raises(ValueError, match="unknown model 'nope'; available: toy, toy_corrected"):
        load_model("nope")
    with pytest.raises(FileNotFoundError, match="missing.json"):
        load_model(tmp_path / "missing.json")


def test_no_models_folder(monkeypatch, tmp_path):
    # A fresh checkout may have no data/models folder at all (git keeps no empty folders).
    monkeypatch.setattr(registry_module, "_bundled_dir", lambda: tmp_path / "absent")
    assert available_models() == {}
    with pytest.raises(ValueError, match="available: none"):
        load_model("toy")


def _make_plugin(root, dist, module, entries, body, auto_entries=None):
    """A real installed distribution in ``root``: a module and a dist-info with entry points
    (``auto_entries`` in the group of models that join ``model="auto"``)."""
    package = root / module
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(body))
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    text = ""
    for group, listed in (("astropy_smass.models", entries),
                          ("astropy_smass.auto_models", auto_entries)):
        if listed:
            lines = "\n".join(f"{name} = {target}" for name, target in listed.items())
            text += f"[{group}]\n{lines}\n"
    (info / "entry_points.txt").write_text(text)
    return package


@pytest.fixture
def plugin_root(tmp_path, monkeypatch, request):
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    _utils._WARNED.clear()  # plugin warnings are said once per process
    yield root
    for name in list(sys.modules):
        if name.startswith("smass_test_plugin"):
            del sys.modules[name]


def test_entry_point_plugin(toy_model, corrected_model, magnitudes, no_bundled_models,
                            plugin_root):
    package = _make_plugin(
        plugin_root, "smass-test-plugin-a", "smass_test_plugin_a",
        {"folder": "smass_test_plugin_a:models_dir", "single": "smass_test_plugin_a:one_file"},
        """
        from pathlib import Path
        HERE = Path(__file__).parent

        def models_dir():
            return HERE / "models"

        one_file = str(HERE / "more" / "toy_corrected.json")
        """)
    toy_model.replace(name="plugin_toy").save(package / "models")
    corrected_model.save(package / "more")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a working plugin warns about nothing
        found = available_models()
    assert found == {"plugin_toy": package / "models" / "plugin_toy.json",
                     "toy_corrected": package / "more" / "toy_corrected.json"}
    loaded = load_model("plugin_toy")
    assert loaded.name == "plugin_toy"
    np.testing.assert_array_equal(loaded.predict_magnitudes(magnitudes)["logmstar"],
                                  toy_model.predict_magnitudes(magnitudes)["logmstar"])


def test_entry_point_plugin_as_package(toy_model, no_bundled_models, plugin_root):
    package = _make_plugin(plugin_root, "smass-test-plugin-b", "smass_test_plugin_b",
                           {"pkg": "smass_test_plugin_b"}, "")
    toy_model.replace(name="package_toy").save(package)
    assert available_models() == {"package_toy": package / "package_toy.json"}


def test_broken_plugin_warns_but_does_not_break(toy_model, no_bundled_models, plugin_root):
    package = _make_plugin(
        plugin_root, "smass-test-plugin-c", "smass_test_plugin_c",
        {"good": "smass_test_plugin_c:FOLDER", "missing_module": "smass_test_plugin_nope:x",
         "raises": "smass_test_plugin_c:explode", "nowhere": "smass_test_plugin_c:NOWHERE",
         "clash": "smass_test_plugin_c:CLASH"},
        """
        from pathlib import Path
        FOLDER = Path(__file__).parent / "models"
        NOWHERE = Path(__file__).parent / "no_such_folder"
        CLASH = Path(__file__).parent / "clash"

        def explode():
            raise RuntimeError("plugin bug")
        """)
    toy_model.save(no_bundled_models)
    toy_model.replace(name="good_toy").save(package / "models")
    toy_model.save(package / "clash")  # same name as a bundled model: ignored
    with pytest.warns(SmassWarning) as record:
        found = available_models()
    messages = " | ".join(str(w.message) for w in record)
    for name in ("missing_module", "raises", "nowhere"):
        assert f"model plugin {name!r} failed to load" in messages
    assert "plugin bug" in messages
    assert "'toy' from plugin 'clash'" in messages
    assert found == {"toy": no_bundled_models / "toy.json",
                     "good_toy": package / "models" / "good_toy.json"}
    assert "'toy' from plugin 'clash' (smass-test-plugin-c 1.0)" in messages
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # each problem is said once per process
        assert load_model("good_toy").name == "good_toy"
        available_models()


def test_calibrate_fits_a_correction(toy_model):
    from astropy.table import Table

    mags, logm = toy_population(3000, seed=30)
    table = Table({f"absmag_{b}": mags[:, k] for k, b in enumerate(toy_model.bands)})
    for name in table.colnames:
        table[name].unit = "mag"
    raw = toy_model.predict_magnitudes(mags, correct=False)["logmstar"]
    table["ref_logmstar"] = raw + 0.2 - 0.1 * (raw - 10.0)
    calibrated = calibrate_model(toy_model, table, reference="ref_logmstar",
                                 catalogue="synthetic")
    grid = np.linspace(*calibrated.correction.fit_range, 5)
    np.testing.assert_allclose(calibrated.correction.offset(grid), 0.2 - 0.1 * (grid - 10.0),
                               atol=1e-6)
    assert calibrated.correction.provenance["catalogue"] == "synthetic"
    assert calibrated.intrinsic_scatter == pytest.approx(0.0, abs=1e-6)
    assert toy_model.correction is None  # calibrate returns a copy


@pytest.mark.parametrize("n", [1, 6, 7, 8, 14, 15])
def test_blocks_of_rows_give_the_same_results(toy_model, monkeypatch, n):
    mags, _ = toy_population(n, seed=50)
    mags[0] += 8.0  # one row out of the domain
    if n > 2:
        mags[2, 1] = np.nan  # one row without a usable g
    errors = np.full_like(mags, 0.04)
    if n > 3:
        errors[3, 0] = -1.0  # one row with a bad error
    whole = toy_model.predict_magnitudes(mags, errors, uncertainty="analytic",
                                         exclude_out_of_domain=False)
    with conf.set_temp("block_rows", 7):
        blocked = toy_model.predict_magnitudes(mags, errors, uncertainty="analytic",
                                               exclude_out_of_domain=False)
    np.testing.assert_array_equal(blocked["flags"], whole["flags"])
    for key in ("logmstar", "logmstar_err", "logmstar_err_phot"):
        np.testing.assert_allclose(blocked[key], whole[key], rtol=1e-13, atol=0)
    # Each row alone gives what it gave in the table, and the network agrees.
    for k in range(n):
        alone = toy_model.predict_magnitudes(mags[k:k + 1], errors[k:k + 1], "analytic",
                                             exclude_out_of_domain=False)
        np.testing.assert_allclose(alone["logmstar"], whole["logmstar"][k:k + 1], rtol=1e-13)
    finite = np.isfinite(mags).all(axis=1)
    network = toy_model.network.predict(toy_model.features_from_magnitudes(mags[finite]))
    # The fused pass centres the inputs in float32 (test_magnitude_pass.py).
    np.testing.assert_allclose(whole["logmstar"][finite], network, rtol=0, atol=1e-5)
    assert (whole["flags"][0] & SmassFlag.OUT_OF_RANGE)
    if n > 3:
        assert whole["flags"][2] & SmassFlag.NONFINITE and np.isnan(whole["logmstar"][2])
        assert whole["flags"][3] & SmassFlag.BAD_ERROR and np.isnan(whole["logmstar_err"][3])
        assert np.isfinite(whole["logmstar"][3])


def test_predict_magnitudes_validates_its_inputs(toy_model):
    with pytest.raises(ValueError, match=r"shape \(n, 5\)"):
        toy_model.predict_magnitudes(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="uncertainty must be"):
        toy_model.predict_magnitudes(np.zeros((3, 5)), uncertainty="bootstrap")


# -- tamper-evident bundles (issue 15) --------------------------------------------------
@pytest.mark.parametrize("edit", [
    pytest.param(lambda spec: spec["correction"]["coefficients"].__setitem__(0, 5.05),
                 id="correction +5 dex"),
    pytest.param(lambda spec: spec.update(activation="tanh"), id="activation"),
    pytest.param(lambda spec: spec.update(intrinsic_scatter_dex=-1.0), id="scatter -1"),
    pytest.param(lambda spec: spec.update(intrinsic_scatter_dex=float("nan")), id="scatter NaN"),
    pytest.param(lambda spec: spec.update(features=spec["features"][::-1]), id="features"),
    pytest.param(lambda spec: spec["correction"].update(fit_range=[0.0, 20.0]),
                 id="correction range"),
    pytest.param(lambda spec: spec.update(redshift_range=[0.0, 2.0]), id="redshift range"),
    pytest.param(lambda spec: spec["metadata"].update(description="better"), id="metadata"),
])
def test_any_edit_of_the_json_is_refused(corrected_model, tmp_path, edit):
    path = corrected_model.save(tmp_path)
    StellarMassModel.load(path)
    _edit_json(path, edit)
    with pytest.raises(ModelFormatError, match=r"does not match its checksum \(sha256\)"):
        StellarMassModel.load(path)


def test_domain_edit_is_refused(corrected_model, tmp_path):
    path = corrected_model.save(tmp_path)
    arrays = corrected_model.arrays()
    arrays["domain_max_distance"] = np.array(1e9)  # let every galaxy in
    np.savez(path.with_suffix(".npz"), **arrays)
    with pytest.raises(ModelFormatError, match="does not match the checksum"):
        StellarMassModel.load(path)


@pytest.mark.parametrize("edit, message", [
    (lambda spec: spec.update(intrinsic_scatter_dex=-1.0), "intrinsic_scatter_dex must be"),
    (lambda spec: spec.update(intrinsic_scatter_dex=float("nan")),
     "intrinsic_scatter_dex must be"),
    (lambda spec: spec.update(activation="softsign"), "unknown activation 'softsign'"),
    (lambda spec: spec["correction"]["coefficients"].__setitem__(0, float("inf")),
     "correction coefficients must be finite"),
    (lambda spec: spec["correction"].update(fit_range=[12.0, 8.0]), "fit_range must be"),
    (lambda spec: spec.update(bands=["u", "g", "r", "i", "q"]), "unknown band 'q'"),
    (lambda spec: spec.update(redshift_range=[0.5, 0.1]), "redshift_range must be"),
])
def test_values_are_validated_even_with_a_recomputed_checksum(corrected_model, tmp_path,
                                                              edit, message):
    path = corrected_model.save(tmp_path)
    _edit_json(path, edit, rehash=True)
    with pytest.raises(ModelFormatError, match=message):
        StellarMassModel.load(path)


def test_nan_weights_with_a_recomputed_checksum_are_refused(toy_model, tmp_path):
    """Once, NaN weights with a recomputed checksum gave NaN masses with smass_flag 0."""
    path = toy_model.save(tmp_path)
    arrays = toy_model.arrays()
    arrays["weights_output"] = arrays["weights_output"].copy()
    arrays["weights_output"][3] = np.nan
    np.savez(path.with_suffix(".npz"), **arrays)
    _edit_json(path, lambda spec: spec.update(weights_sha256=arrays_checksum(arrays)),
               rehash=True)
    with pytest.raises(ModelFormatError, match="'weights_output' has 1 values that are NaN"):
        StellarMassModel.load(path)


def test_invalid_model_is_not_saved(toy_model, tmp_path):
    with pytest.raises(ModelFormatError, match="cannot be saved: intrinsic_scatter_dex"):
        toy_model.replace(intrinsic_scatter=-0.1).save(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_checksum_ignores_the_json_layout(corrected_model, tmp_path):
    path = corrected_model.save(tmp_path)
    spec = json.loads(path.read_text())
    path.write_text(json.dumps(dict(reversed(list(spec.items()))), indent=4))
    assert StellarMassModel.load(path).name == "toy_corrected"


def test_format_1_bundles_still_load_with_one_warning(corrected_model, tmp_path):
    path = corrected_model.save(tmp_path)
    _edit_json(path, lambda spec: (spec.update(format_version=1), spec.pop("sha256")))
    _utils._WARNED.clear()
    with pytest.warns(SmassWarning, match="format version 1, whose checksum covers its arrays"):
        loaded = StellarMassModel.load(path)
    assert loaded.correction == corrected_model.correction
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once per process
        StellarMassModel.load(path)
    # Values are validated in old bundles too.
    _edit_json(path, lambda spec: spec.update(intrinsic_scatter_dex=-1.0))
    with pytest.raises(ModelFormatError, match="intrinsic_scatter_dex must be"):
        StellarMassModel.load(path)
    # Saving writes the current format, with the whole-bundle checksum.
    again = StellarMassModel.load(corrected_model.save(tmp_path / "new"))
    assert json.loads((tmp_path / "new" / "toy_corrected.json").read_text())[
        "format_version"] == FORMAT_VERSION == 2
    assert again.correction == corrected_model.correction


def test_bundled_models_are_format_2_and_valid():
    folder = registry_module._bundled_dir()
    paths = sorted(folder.glob("*.json"))
    assert paths
    for path in paths:
        spec = json.loads(path.read_text())
        assert spec["format_version"] == FORMAT_VERSION, path.name
        with np.load(path.with_suffix(".npz")) as npz:
            arrays = {key: npz[key] for key in npz.files}
        assert spec["sha256"] == bundle_checksum(spec, arrays), path.name
        assert bundle_module.validate_bundle(spec, arrays) == [], path.name
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            StellarMassModel.load(path)


# -- plugins are opt-in for auto (issue 15) ------------------------------------------------
def _shifted(model, name):
    """The same network, bands and scores, its masses shifted by +5 dex."""
    return model.replace(name=name, correction=BiasCorrection((5.0, 0.0), 10.0, (0.0, 20.0),
                                                              {"catalogue": "hostile"}))


def _plugin_with(plugin_root, toy_model, name, auto):
    entries = {"models": "smass_test_plugin_d:FOLDER"}
    package = _make_plugin(plugin_root, "smass-test-plugin-d", "smass_test_plugin_d",
                           {} if auto else entries, """
        from pathlib import Path
        FOLDER = Path(__file__).parent / "models"
        """, auto_entries=entries if auto else None)
    _shifted(toy_model, name).save(package / "models")
    return package


def _toy_table(n=20):
    from astropy.table import QTable
    from helpers import TOY_BANDS

    mags = toy_population(n, seed=8)[0]
    return QTable({f"absmag_{b}": mags[:, k] * u.mag for k, b in enumerate(TOY_BANDS)})


def test_plugin_model_is_not_in_auto_unless_declared(toy_model, no_bundled_models,
                                                     plugin_root):
    """A plugin with the bundled model's bands and scores once took over auto (+5 dex)."""
    toy_model.save(no_bundled_models)
    _plugin_with(plugin_root, toy_model, "aaa_toy", auto=False)  # sorts before 'toy'
    table = _toy_table()
    auto = table.smass.predict()
    assert auto.meta["smass_models"] == ["toy"]
    assert auto.meta["smass_model_sources"]["toy"].startswith("astropy-smass ")
    expected = toy_model.predict_magnitudes(
        np.column_stack([table[c].value for c in table.colnames]))["logmstar"]
    np.testing.assert_allclose(auto["logmstar"].value, expected)
    # By name, or in a list of models, it is used; the output says who provided it.
    named = table.smass.predict("aaa_toy")
    np.testing.assert_allclose(named["logmstar"].value, expected + 5.0)
    assert named.meta["smass_model_sources"] == {"aaa_toy": "smass-test-plugin-d 1.0"}
    both = table.smass.predict(["aaa_toy", "toy"])
    assert both.meta["smass_models"] == ["toy", "aaa_toy"]  # bundled wins the tie
    np.testing.assert_allclose(both["logmstar"].value, expected)


def test_declared_plugin_joins_auto_but_loses_ties(toy_model, no_bundled_models,
                                                   plugin_root):
    toy_model.save(no_bundled_models)
    _plugin_with(plugin_root, toy_model, "aaa_toy", auto=True)
    auto = _toy_table().smass.predict()
    assert auto.meta["smass_models"] == ["toy", "aaa_toy"]
    assert auto.meta["smass_model_sources"] == {
        "toy": f"astropy-smass {astropy_smass.__version__}",
        "aaa_toy": "smass-test-plugin-d 1.0"}
    assert list(auto["smass_model"]) == ["toy"] * len(auto)


def test_plugins_in_auto_by_configuration(toy_model, no_bundled_models, plugin_root):
    from astropy_smass.conf import conf

    toy_model.save(no_bundled_models)
    _plugin_with(plugin_root, toy_model, "aaa_toy", auto=False)
    assert _toy_table().smass.predict().meta["smass_models"] == ["toy"]
    with conf.set_temp("plugins_in_auto", True):
        assert _toy_table().smass.predict().meta["smass_models"] == ["toy", "aaa_toy"]


def test_model_sources(toy_model, no_bundled_models, plugin_root, tmp_path):
    from astropy_smass.model.registry import model_sources, source_text

    toy_model.save(no_bundled_models)
    package = _plugin_with(plugin_root, toy_model, "aaa_toy", auto=False)
    sources = model_sources()
    assert sources["toy"].bundled and sources["toy"].auto
    assert (sources["aaa_toy"].distribution, sources["aaa_toy"].version,
            sources["aaa_toy"].auto) == ("smass-test-plugin-d", "1.0", False)
    assert sources["aaa_toy"].path == package / "models" / "aaa_toy.json"
    path = toy_model.replace(name="elsewhere").save(tmp_path / "mine")
    assert source_text(load_model(path)) == f"file {path.resolve()}"
    assert source_text(toy_model.replace(name="fresh")) == "in memory"
