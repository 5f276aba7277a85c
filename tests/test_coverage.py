"""Mass-scale conversion of the reference catalogues, coverage and PIT (validation/coverage.py)."""


import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from astropy_smass.massscale import IMFS
from validation import CATALOGUES
from validation import coverage as C


def test_pit_is_uniform_for_right_errors_and_not_otherwise():
    rng = np.random.default_rng(3)
    truth = rng.uniform(8, 11, 50000)
    sigma, ref_err = 0.1, 0.05
    predicted = truth + sigma * rng.standard_normal(truth.size)
    reference = truth + ref_err * rng.standard_normal(truth.size)
    right = C.coverage_summary(predicted, np.full(truth.size, sigma), reference,
                               np.full(truth.size, ref_err))
    assert right["coverage"] == pytest.approx(0.683, abs=0.01)
    assert right["coverage_2sigma"] == pytest.approx(0.954, abs=0.01)
    np.testing.assert_allclose(right["pit_density"], 1.0, atol=0.06)
    assert right["pit_ks"] < 0.01
    assert right["median_offset"] == pytest.approx(0.0, abs=0.005)
    assert right["half_width"] == pytest.approx(np.hypot(sigma, ref_err), rel=0.03)
    # Errors too small: U-shaped PIT, too few inside; without the reference error too.
    small = C.coverage_summary(predicted, np.full(truth.size, sigma / 2), reference)
    assert small["coverage"] < 0.5
    density = small["pit_density"]
    assert density[0] > 1.5 and density[-1] > 1.5 and density[5] < 0.8
    # A systematic part counted in the uncertainty but absent from the scatter.
    total = np.hypot(np.hypot(sigma, ref_err), 0.1)
    wide = C.coverage_summary(predicted, np.full(truth.size, total), reference,
                              systematic=0.1)
    assert wide["coverage"] > 0.8
    assert wide["coverage_no_sys"] == pytest.approx(0.683, abs=0.01)
    # NaN anywhere drops the galaxy; none left gives NaN, not an error.
    assert C.coverage_summary([np.nan], [0.1], [10.0])["n"] == 0
    assert np.isnan(C.pit([10.0], [0.1], [np.nan])[0])


def test_shared_photometric_noise_is_counted_once():
    # A reference fitted to the same photometry moves with the same photometric error
    # as the network; counting that error in both terms over-covers.
    rng = np.random.default_rng(5)
    n = 50000
    truth = rng.uniform(8, 11, n)
    phot, intrinsic, own = 0.05, 0.06, 0.04
    shared_noise = phot * rng.standard_normal(n)
    predicted = truth + shared_noise + intrinsic * rng.standard_normal(n)
    reference = truth + shared_noise + own * rng.standard_normal(n)
    total = np.full(n, np.hypot(phot, intrinsic))
    ref_err = np.full(n, np.hypot(phot, own))
    summary = C.coverage_summary(predicted, total, reference, ref_err,
                                 photometric=np.full(n, phot))
    assert summary["coverage"] == pytest.approx(0.683, abs=0.01)
    assert summary["coverage_independent"] > 0.78
    np.testing.assert_allclose(summary["pit_density"], 1.0, atol=0.06)
    # Nothing shared: the plain sum in quadrature.
    np.testing.assert_allclose(C.difference_sigma([0.1], [0.05]), np.hypot(0.1, 0.05))
    np.testing.assert_allclose(C.difference_sigma([0.1], [0.05], [np.nan]),
                               np.hypot(0.1, 0.05))
    # A reference error smaller than the shared response: only the difference remains.
    np.testing.assert_allclose(C.difference_sigma([0.1], [0.02], [0.06]),
                               np.sqrt(0.1 ** 2 - 0.06 ** 2 + 0.04 ** 2))


def test_pit_histogram():
    density, edges = C.pit_histogram([0.05, 0.15, 0.15, np.nan], bins=10)
    assert edges[0] == 0 and edges[-1] == 1
    assert density.sum() == pytest.approx(10.0)
    assert density[1] == pytest.approx(10 * 2 / 3)


def _fake_catalogue(name):
    spec = CATALOGUES[name]
    table = QTable()
    table[spec.key] = [f"g{k}" for k in range(4)]
    table[spec.reference] = np.array([9.0, 10.0, np.nan, 11.0]) * u.dex(u.Msun)
    if spec.reference_error:
        table[spec.reference_error] = np.full(4, 0.1) * u.dex
    return table


def test_on_package_scale_converts_with_the_documented_constant():
    table = _fake_catalogue("dustpedia")
    converted = C.on_package_scale(table, "dustpedia")
    shift = IMFS["salpeter"].offset_dex
    np.testing.assert_allclose(converted["logmstar"].value, [9 - shift, 10 - shift, np.nan,
                                                             11 - shift])
    np.testing.assert_array_equal(converted["logmstar_catalogue"].value,
                                  table["logmstar"].value)
    assert converted.meta["smass_reference_scale"]["catalogue_scale"] == "dustpedia"
    # Converting twice is converting once; the input is untouched.
    assert C.on_package_scale(converted, "dustpedia") is converted
    assert table["logmstar"][0].value == 9.0
    ref, err = C.reference_masses(converted, "dustpedia")
    np.testing.assert_allclose(ref[[0, 1, 3]], np.array([9, 10, 11]) - shift)
    np.testing.assert_allclose(err, 0.1)
    ref, _ = C.reference_masses(table, "dustpedia")  # not converted yet: converted here
    np.testing.assert_allclose(ref[[0, 1, 3]], np.array([9, 10, 11]) - shift)
    ref, _ = C.reference_masses(converted, "dustpedia", package_scale=False)
    np.testing.assert_array_equal(ref, table["logmstar"].value)
    # ECO is on the package's scale already; it has no mass errors.
    eco = C.on_package_scale(_fake_catalogue("eco"), "eco")
    np.testing.assert_array_equal(eco["logmstar"].value, [9, 10, np.nan, 11])
    assert np.isnan(C.reference_masses(eco, "eco")[1]).all()


def test_systematic_from_offsets():
    from astropy.table import Table

    offsets = Table({"model": ["all", "sdss", "all", "all"],
                     "corrected_offset_package": [0.01, 0.5, -0.03, np.nan],
                     "raw_offset_package": [0.3, 0.4, 0.2, 0.1]})
    assert C.systematic_from_offsets(offsets) == pytest.approx(np.std([0.01, -0.03], ddof=1))
    assert C.systematic_from_offsets(offsets, "raw") == pytest.approx(
        np.std([0.3, 0.2, 0.1], ddof=1))
    assert np.isnan(C.systematic_from_offsets(offsets[:2]))


def test_coverage_rst_and_docs_markers(tmp_path):
    from astropy.table import Table

    offsets = Table(rows=[("ECO", "all", "sdss", 10, 0.0, 0.3, 0.3, 0.1, 0.0, 0.0, 0.07)],
                    names=("catalogue", "model", "models", "n", "conversion_dex",
                           "raw_offset_catalogue",
                           "raw_offset_package", "raw_half_width", "corrected_offset_catalogue",
                           "corrected_offset_package", "corrected_half_width"))
    coverage = Table(rows=[("ECO", "all", "sdss", 10, False, 0.0, 0.07, 0.09, 0.05, 0.76, 0.67,
                            0.76, 0.97, 0.04, np.ones(10)),
                           ("DustPedia", "all", "sdss", 10, True, 0.0, 0.07, 0.09, 0.05, 0.71,
                            0.69, 0.83, 0.99, 0.04, np.ones(10))],
                     names=("catalogue", "model", "models", "n", "reference_error",
                            "median_offset",
                            "half_width", "median_err", "median_err_sys", "coverage",
                            "coverage_no_sys", "coverage_independent", "coverage_2sigma",
                            "pit_ks", "pit_density"))
    text = C.coverage_rst(offsets, coverage, systematic=0.0157, plot="plots/coverage.png")
    assert "76%" in text and "0.016 dex" in text and ".. image:: plots/coverage.png" in text
    assert "all (``sdss``)" in text
    dustpedia = next(line for line in text.splitlines() if line.startswith("DustPedia"))
    assert dustpedia.split()[4:6] == ["yes", "yes"]  # reference error; shared photometry
    assert "71%" in dustpedia and "83%" in dustpedia
    page = tmp_path / "page.rst"
    page.write_text(f"Before\n\n{C.COVERAGE_BEGIN}\nold\n{C.COVERAGE_END}\nAfter\n")
    C.update_docs(page, text)
    new = page.read_text()
    assert "old" not in new and "76%" in new and new.endswith(f"{C.COVERAGE_END}\nAfter\n")


def test_real_data(real_data):
    """ECO and DustPedia with the bundled models: the helpers run and report sane numbers."""
    offsets = C.scale_offsets(("eco", "dustpedia"))
    assert set(offsets["catalogue"]) == {"ECO", "DustPedia"}
    dust = offsets[(offsets["catalogue"] == "DustPedia") & (offsets["model"] == "all")][0]
    assert dust["conversion_dex"] == pytest.approx(IMFS["salpeter"].offset_dex)
    assert dust["raw_offset_package"] - dust["raw_offset_catalogue"] == pytest.approx(
        IMFS["salpeter"].offset_dex, abs=1e-9)
    coverage = C.coverage_table(("eco", "dustpedia"))
    for row in coverage:
        assert row["n"] > 50 and 0.3 < row["coverage"] < 1.0
        assert row["coverage_no_sys"] <= row["coverage"]
        assert row["pit_density"].shape == (C.PIT_BINS,)
