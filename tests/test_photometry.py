"""From table columns with units to absolute AB magnitudes, errors and flags."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Distance
from astropy.cosmology import WMAP9, Planck18
from astropy.table import MaskedColumn, QTable, Table
from astropy.utils.masked import Masked

from astropy_smass.flags import SmassFlag
from astropy_smass.photometry.bands import BANDS, BandColumnError
from astropy_smass.photometry.magnitudes import absolute_magnitudes, column_values, distance_modulus

ABS = np.array([-21.3, -19.8, -17.05, -22.6])
Z = np.array([0.01, 0.03, 0.05, 0.08])


def _read(table, columns, *args, **kwargs):
    return absolute_magnitudes(table, columns, *args, **kwargs)


@pytest.mark.parametrize("unit", [u.mag, u.ABmag])
@pytest.mark.parametrize("cls", [Table, QTable])
def test_absolute_magnitudes_pass_through(unit, cls):
    table = cls({"absmag_r": ABS * unit, "absmag_g": (ABS + 0.5) * unit})
    mags, errs, flags = _read(table, {"g": "absmag_g", "r": "absmag_r"})
    np.testing.assert_array_equal(mags, np.column_stack([ABS + 0.5, ABS]))
    assert errs is None
    assert flags.shape == (4, 2) and not flags.any()


def _flux_of(apparent_ab, unit, band):
    """Flux density in ``unit`` of an AB magnitude, computed by astropy."""
    return (apparent_ab * u.ABmag).to(unit, u.spectral_density(BANDS[band].pivot))


@pytest.mark.parametrize("unit", [u.Jy, u.mJy, u.erg / u.s / u.cm**2 / u.Hz,
                                  u.erg / u.s / u.cm**2 / u.AA, u.W / u.m**2 / u.um])
@pytest.mark.parametrize("band", ["FUV", "r", "W2"])
def test_fluxes_with_redshift(unit, band):
    apparent = np.array([14.2, 16.0, 18.5, 21.0])
    table = QTable({"flux": _flux_of(apparent, unit, band), "z": Z})
    mags, _, flags = _read(table, {band: "flux"}, redshift="z")
    expected = apparent - Planck18.distmod(Z).to_value(u.mag)
    np.testing.assert_allclose(mags[:, 0], expected, rtol=0, atol=1e-9)
    assert not flags.any()


def test_nanomaggies():
    apparent = np.array([14.2, 16.0, 18.5, 22.5])
    # Independent: a maggy is the flux ratio to the AB zero point, 10**(-0.4 m).
    table = Table({"flux_r": 1e9 * 10 ** (-0.4 * apparent), "flux_ivar_r": np.ones(4)})
    table["flux_r"].unit = "nanomaggy"
    mags, _, flags = _read(table, {"r": "flux_r"}, distance=10 * u.pc)
    np.testing.assert_allclose(mags[:, 0], apparent, atol=1e-9)
    assert not flags.any()


def test_flux_in_plain_table_with_string_unit():
    apparent = np.array([15.0, 17.5, 19.0, 20.0])
    table = Table({"r_flux": _flux_of(apparent, u.mJy, "r").value, "z": Z})
    table["r_flux"].unit = "mJy"
    mags, _, _ = _read(table, {"r": "r_flux"}, redshift="z")
    np.testing.assert_allclose(mags[:, 0], apparent - Planck18.distmod(Z).value, atol=1e-9)


def test_apparent_magnitudes_with_redshift_and_cosmology():
    apparent = np.array([15.0, 17.5, 19.0, 20.0])
    table = Table({"rmag": apparent * u.mag, "zspec": Z})
    mags, _, flags = _read(table, {"r": "rmag"}, redshift="zspec")
    np.testing.assert_allclose(mags[:, 0], apparent - Planck18.distmod(Z).value, atol=1e-9)
    other, _, _ = _read(table, {"r": "rmag"}, redshift="zspec", cosmology=WMAP9)
    np.testing.assert_allclose(other[:, 0], apparent - WMAP9.distmod(Z).value, atol=1e-9)
    assert not np.allclose(other, mags, atol=1e-3, rtol=0)
    # Redshift values instead of a column; a scalar for all rows.
    values, _, _ = _read(table, {"r": "rmag"}, redshift=Z)
    np.testing.assert_array_equal(values, mags)
    scalar, _, _ = _read(table, {"r": "rmag"}, redshift=0.05)
    np.testing.assert_allclose(scalar[:, 0], apparent - Planck18.distmod(0.05).value)
    # kind='absolute' keeps magnitudes as they are even with a redshift.
    kept, _, _ = _read(table, {"r": "rmag"}, redshift="zspec", kind="absolute")
    np.testing.assert_array_equal(kept[:, 0], apparent)


@pytest.mark.parametrize("unit", [u.Mpc, u.kpc, u.lyr])
def test_distance_column(unit):
    apparent = np.array([10.0, 12.0, 14.0, 16.0])
    distance = np.array([3.5, 17.0, 40.0, 80.0]) * u.Mpc
    table = QTable({"rmag": apparent * u.mag, "dist": distance.to(unit)})
    mags, _, _ = _read(table, {"r": "rmag"}, distance="dist")
    np.testing.assert_allclose(mags[:, 0], apparent - Distance(distance).distmod.value,
                               atol=1e-9)


def test_distance_values_and_unitless_column():
    apparent = np.array([10.0, 12.0, 14.0, 16.0])
    distance = np.array([3.5, 17.0, 40.0, 80.0])
    table = Table({"rmag": apparent * u.mag, "dist_mpc": distance})
    expected = apparent - Distance(distance * u.Mpc).distmod.value
    by_column, _, _ = _read(table, {"r": "rmag"}, distance="dist_mpc")  # unitless: Mpc
    np.testing.assert_allclose(by_column[:, 0], expected, atol=1e-9)
    by_quantity, _, _ = _read(table, {"r": "rmag"}, distance=(distance * u.Mpc).to(u.km))
    np.testing.assert_allclose(by_quantity[:, 0], expected, atol=1e-9)
    scalar, _, _ = _read(table, {"r": "rmag"}, distance=10 * u.pc)
    np.testing.assert_allclose(scalar[:, 0], apparent)


def test_distance_column_must_be_a_length():
    table = Table({"rmag": ABS * u.mag, "dist": [1.0, 2, 3, 4] * u.s})
    with pytest.raises(BandColumnError, match="distance column 'dist' has unit s"):
        _read(table, {"r": "rmag"}, distance="dist")


def test_vega_bands():
    table = Table({"J": ABS * u.mag, "Ks": ABS * u.mag, "r": ABS * u.mag})
    columns = {"J_2MASS": "J", "Ks_2MASS": "Ks", "r": "r"}
    mags, _, _ = _read(table, columns, vega=["J_2MASS", "Ks"])  # aliases accepted
    np.testing.assert_allclose(mags[:, 0], ABS + BANDS["J_2MASS"].vega_to_ab)
    np.testing.assert_allclose(mags[:, 1], ABS + BANDS["Ks_2MASS"].vega_to_ab)
    np.testing.assert_array_equal(mags[:, 2], ABS)


def test_unitless_column_rejected_unless_units_given():
    table = Table({"rmag": ABS, "gmag": ABS + 0.4})
    columns = {"g": "gmag", "r": "rmag"}
    with pytest.raises(BandColumnError, match=r"column 'gmag' \(band g\) has no unit.*units="):
        _read(table, columns)
    mags, _, _ = _read(table, columns, units="mag")
    np.testing.assert_array_equal(mags, np.column_stack([ABS + 0.4, ABS]))
    ab, _, _ = _read(table, columns, units="ABmag")
    np.testing.assert_array_equal(ab, mags)
    mixed, _, _ = _read(Table({"rmag": ABS, "gflux": _flux_of(ABS + 30, u.uJy, "g").value}),
                        {"g": "gflux", "r": "rmag"}, units={"r": u.mag, "g": "uJy"},
                        kind="absolute", distance=Distance(distmod=30 * u.mag))
    np.testing.assert_allclose(mixed[:, 0], ABS, atol=1e-9)
    np.testing.assert_array_equal(mixed[:, 1], ABS)
    with pytest.raises(ValueError, match="cannot understand unit 'furlongs' given for band r"):
        _read(table, columns, units={"r": "furlongs", "g": "mag"})


@pytest.mark.parametrize("unit, message", [(u.km, "neither a magnitude nor a flux density"),
                                           (u.STmag, "magnitude system other than AB"),
                                           (u.dex, "neither a magnitude nor a flux density")])
def test_wrong_units_rejected(unit, message):
    table = QTable({"rmag": ABS * unit})
    with pytest.raises(BandColumnError, match=f"column 'rmag' \\(band r\\).*{message}"):
        _read(table, {"r": "rmag"})


def test_non_numeric_column():
    table = Table({"rmag": ["a", "b", "c", "d"]})
    with pytest.raises(BandColumnError, match="column 'rmag' holds .*not numbers"):
        _read(table, {"r": "rmag"}, units="mag")


def test_magnitude_errors():
    table = QTable({"r": ABS * u.mag, "r_err": [0.01, 0.02, 0.05, 0.1] * u.mag,
                    "g": ABS * u.mag, "g_err": [10.0, 20, 30, 40] * u.mmag,
                    "i": ABS * u.ABmag, "i_err": [0.1, 0.2, 0.3, 0.4]})
    cols = {"g": "g", "r": "r", "i": "i"}
    _, errs, _ = _read(table, cols, {"g": "g_err", "r": "r_err", "i": "i_err"})
    np.testing.assert_allclose(errs[:, 0], table["g_err"].to_value(u.mag))
    np.testing.assert_allclose(errs[:, 1], table["r_err"].value)
    np.testing.assert_allclose(errs[:, 2], table["i_err"])  # unitless error of a magnitude
    # Bands without an error column have NaN errors.
    _, errs, _ = _read(table, cols, {"r": "r_err"})
    assert np.isnan(errs[:, [0, 2]]).all() and np.isfinite(errs[:, 1]).all()
    with pytest.raises(BandColumnError, match="error column 'g_err' has unit Jy"):
        _read(QTable({"g": ABS * u.mag, "g_err": [1.0] * 4 * u.Jy}), {"g": "g"}, {"g": "g_err"})


def _magnitude_error_of(flux, flux_error):
    """Magnitude error by astropy: half the magnitude difference across +-1 sigma, to first
    order, from central differences of the AB magnitude."""
    step = 1e-6 * flux
    slope = ((flux + step).to(u.ABmag) - (flux - step).to(u.ABmag)).value / (2 * step.value)
    return np.abs(slope) * flux_error.to_value(flux.unit)


def test_flux_errors():
    flux = _flux_of(np.array([15.0, 17.0, 19.0, 21.0]), u.mJy, "r")
    error = np.array([0.01, 0.05, 0.1, 0.3]) * flux
    table = QTable({"r": flux, "r_err": error.to(u.uJy), "g": flux, "g_err": error.value,
                    "i": flux, "i_err": [0.01, 0.02, 0.03, 0.04] * u.mag, "z": Z})
    cols = {"g": "g", "r": "r", "i": "i"}
    _, errs, _ = _read(table, cols, {"g": "g_err", "r": "r_err", "i": "i_err"}, redshift="z")
    expected = _magnitude_error_of(flux.to(u.Jy), error)
    np.testing.assert_allclose(errs[:, 1], expected, rtol=1e-6)  # uJy error of a mJy flux
    np.testing.assert_allclose(errs[:, 0], expected, rtol=1e-6)  # unitless: flux's unit
    np.testing.assert_allclose(errs[:, 2], table["i_err"].value)  # magnitude error of a flux
    with pytest.raises(BandColumnError, match="error column 'r_err' has unit km.*'r'"):
        _read(QTable({"r": flux, "r_err": [1.0] * 4 * u.km, "z": Z}), {"r": "r"},
              {"r": "r_err"}, redshift="z")


def test_per_wavelength_flux_errors():
    pivot = BANDS["W1"].pivot
    flux = _flux_of(np.array([12.0, 13.0, 14.0, 15.0]), u.erg / u.s / u.cm**2 / u.AA, "W1")
    error = 0.02 * flux
    table = QTable({"W1": flux, "W1_err": error})
    _, errs, _ = _read(table, {"W1": "W1"}, {"W1": "W1_err"}, distance=10 * u.pc)
    fnu = flux.to(u.Jy, u.spectral_density(pivot))
    np.testing.assert_allclose(errs[:, 0], _magnitude_error_of(fnu, 0.02 * fnu), rtol=1e-6)


def test_sentinels_masks_and_nonfinite_magnitudes():
    values = np.array([-21.0, -999.0, 99.0, 0.0, np.nan, -20.0, np.inf])
    table = Table({"r": MaskedColumn(values, mask=[0, 0, 0, 0, 0, 1, 0], unit="mag")})
    mags, _, flags = _read(table, {"r": "r"})
    assert mags[0, 0] == -21.0 and np.isnan(mags[1:, 0]).all()
    missing = (flags[:, 0] & SmassFlag.MISSING_BAND) != 0
    nonfinite = (flags[:, 0] & SmassFlag.NONFINITE) != 0
    np.testing.assert_array_equal(missing, [0, 1, 1, 1, 0, 1, 0])
    np.testing.assert_array_equal(nonfinite, [0, 0, 0, 0, 1, 0, 1])
    # Other sentinels: 0 is then a value.
    mags, _, flags = _read(table, {"r": "r"}, sentinels=(-999.0,))
    assert mags[3, 0] == 0.0 and mags[2, 0] == 99.0 and flags[3, 0] == 0


def test_masked_quantities_in_qtable():
    table = QTable({"r": Masked(ABS * u.ABmag, mask=[0, 1, 0, 0]),
                    "g": Masked(_flux_of(ABS + 30, u.Jy, "g"), mask=[0, 0, 1, 0])})
    mags, _, flags = _read(table, {"g": "g", "r": "r"}, distance=Distance(distmod=30 * u.mag),
                           kind="absolute")
    np.testing.assert_allclose(mags[[0, 1, 3], 0], ABS[[0, 1, 3]], atol=1e-9)
    np.testing.assert_array_equal(mags[[0, 2, 3], 1], ABS[[0, 2, 3]])
    assert np.isnan(mags[2, 0]) and np.isnan(mags[1, 1])
    assert flags[2, 0] == SmassFlag.MISSING_BAND and flags[1, 1] == SmassFlag.MISSING_BAND
    assert flags[[0, 3]].sum() == 0


def test_column_values():
    table = QTable({"a": Masked([1.0, 2.0] * u.mJy, mask=[True, False]),
                    "b": MaskedColumn([3, 4], mask=[False, True]),
                    "c": [5.0, 6.0] * u.ABmag})
    for name, unit in (("a", u.mJy), ("b", None), ("c", u.ABmag)):
        values, mask, got_unit = column_values(table, name)
        assert type(values) is np.ndarray and values.dtype == float
        assert type(mask) is np.ndarray and mask.dtype == bool
        assert got_unit == unit
    np.testing.assert_array_equal(column_values(table, "a")[1], [True, False])
    np.testing.assert_array_equal(column_values(table, "b")[:2], ([3.0, 4.0], [False, True]))


def test_nonpositive_and_missing_fluxes():
    flux = np.array([1e-3, 0.0, -2e-4, -999.0, np.nan, 1e-3])
    table = Table({"r": MaskedColumn(flux, mask=[0, 0, 0, 0, 0, 1], unit="Jy"),
                   "r_err": np.full(6, 1e-5), "z": np.full(6, 0.02)})
    mags, errs, flags = _read(table, {"r": "r"}, {"r": "r_err"}, redshift="z")
    assert np.isfinite(mags[0, 0]) and np.isnan(mags[1:, 0]).all()
    expected = [0, SmassFlag.NONPOSITIVE_FLUX, SmassFlag.NONPOSITIVE_FLUX,
                SmassFlag.MISSING_BAND, SmassFlag.NONFINITE, SmassFlag.MISSING_BAND]
    np.testing.assert_array_equal(flags[:, 0], expected)


def test_missing_redshift_flags_apparent_bands_only():
    table = Table({"r_flux": _flux_of(np.full(4, 17.0), u.Jy, "r"),
                   "absmag_g": ABS * u.mag,
                   "z": MaskedColumn([0.02, 0.0, np.nan, 0.05], mask=[0, 0, 0, 0])})
    table["z"].mask[3] = True
    mags, _, flags = _read(table, {"g": "absmag_g", "r": "r_flux"}, redshift="z",
                           kind="absolute")
    np.testing.assert_array_equal(mags[:, 0], ABS)  # absolute g untouched
    np.testing.assert_array_equal(flags[:, 0], 0)
    np.testing.assert_array_equal(flags[:, 1] == SmassFlag.NO_DISTANCE, [0, 1, 1, 1])
    assert np.isfinite(mags[0, 1]) and np.isnan(mags[1:, 1]).all()


def test_apparent_photometry_needs_a_distance():
    table = Table({"r_flux": [1e-3] * 4 * u.Jy, "gmag": ABS * u.mag})
    with pytest.raises(ValueError, match="'r_flux' hold apparent photometry.*redshift="):
        _read(table, {"g": "gmag", "r": "r_flux"})
    with pytest.raises(ValueError, match="'gmag'"):
        _read(table, {"g": "gmag"}, kind="apparent")
    with pytest.raises(ValueError, match="kind must be 'absolute' or 'apparent'"):
        _read(table, {"g": "gmag"}, kind="relative")


def test_distance_modulus_directly():
    table = Table({"z": [0.01, -1.0, 0.1]})
    modulus = distance_modulus(table, redshift="z")
    np.testing.assert_allclose(modulus[[0, 2]], Planck18.distmod([0.01, 0.1]).value)
    assert np.isnan(modulus[1])
    with pytest.raises(ValueError, match="redshift= or distance="):
        distance_modulus(table)


def test_empty_table():
    table = QTable({"r": [] * u.mag, "r_err": [] * u.mag, "z": np.zeros(0)})
    mags, errs, flags = _read(table, {"r": "r"}, {"r": "r_err"}, redshift="z")
    assert mags.shape == errs.shape == flags.shape == (0, 1)


def test_masked_redshift_and_distance_values():
    table = Table({"rmag": [15.0, 16.0, 17.0] * u.mag,
                   "zcol": MaskedColumn([0.01, 0.02, 0.03], mask=[False, True, False])})
    for redshift in (table["zcol"], np.ma.MaskedArray([0.01, 0.02, 0.03], [0, 1, 0]),
                     Masked([0.01, 0.02, 0.03], mask=[False, True, False])):
        mags, _, flags = _read(table, {"r": "rmag"}, redshift=redshift)
        np.testing.assert_array_equal(flags[:, 0] == SmassFlag.NO_DISTANCE, [0, 1, 0])
        np.testing.assert_allclose(mags[[0, 2], 0], [15.0, 17.0]
                                   - Planck18.distmod([0.01, 0.03]).value)
    distance = Masked([10.0, 20.0, 30.0] * u.Mpc, mask=[True, False, False])
    mags, _, flags = _read(table, {"r": "rmag"}, distance=distance)
    np.testing.assert_array_equal(flags[:, 0] == SmassFlag.NO_DISTANCE, [1, 0, 0])
    np.testing.assert_allclose(mags[1:, 0], [16.0, 17.0]
                               - Distance([20.0, 30.0] * u.Mpc).distmod.value)
