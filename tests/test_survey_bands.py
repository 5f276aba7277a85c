"""The registry of survey bands: filter curves, pivots, Vega offsets, extinction."""

import astropy.units as u
import numpy as np
import pytest

from astropy_smass.photometry.bands import (
    ALL_BANDS,
    BANDS,
    SURVEY_FILTERS,
    extinction_coefficient,
    filter_name,
    get_band,
    load_filter_curve,
    pivot_wavelength,
)

# The filter list of the brief, as the population generator uses it (sedpy names, then
# the speclite curves by their registry names).
SEDPY = ("galex_FUV galex_NUV sdss_u0 sdss_g0 sdss_r0 sdss_i0 sdss_z0 decam_u decam_g "
         "decam_r decam_i decam_z decam_Y bass_g bass_r mzls_z panstarrs_g panstarrs_r "
         "panstarrs_i panstarrs_z panstarrs_y hsc_g hsc_r hsc_i hsc_z hsc_y lsst_baseline_u "
         "lsst_baseline_g lsst_baseline_r lsst_baseline_i lsst_baseline_z lsst_baseline_y "
         "subaru_suprimecam_B subaru_suprimecam_V subaru_suprimecam_rp subaru_suprimecam_ip "
         "subaru_suprimecam_zp vista_vircam_Z vista_vircam_Y vista_vircam_J vista_vircam_H "
         "vista_vircam_Ks ukirt_wfcam_J ukirt_wfcam_H ukirt_wfcam_K twomass_J twomass_H "
         "twomass_Ks wise_w1 wise_w2 wise_w3 wise_w4").split()
SPECLITE = {"euclid_vis": "Euclid-VIS", "euclid_y": "Euclid-Y", "euclid_j": "Euclid-J",
            "euclid_h": "Euclid-H", "lsst_u": "lsst2023-u", "lsst_g": "lsst2023-g",
            "lsst_r": "lsst2023-r", "lsst_i": "lsst2023-i", "lsst_z": "lsst2023-z",
            "lsst_y": "lsst2023-y"}


def test_survey_filters_is_the_brief_list_and_covers_the_registry():
    assert list(SURVEY_FILTERS) == SEDPY + list(SPECLITE)
    assert len(set(SURVEY_FILTERS)) == len(SURVEY_FILTERS)
    # One band per filter, and every band of the registry has its filter in the list.
    keys = [get_band(name).name for name in SURVEY_FILTERS]
    assert sorted(keys) == sorted(ALL_BANDS)
    for name in SURVEY_FILTERS:
        assert filter_name(name) == name
    for key, curve in SPECLITE.items():
        band = get_band(key)
        assert band.name == key and band.filter_id == curve
        assert band.curve_source == "speclite"
        assert get_band(curve) is band
    for name in SEDPY:
        band = get_band(name)
        assert band.filter_id == name and band.curve_source == "sedpy"


def test_short_names_and_sedpy_names_are_one_band():
    pairs = {"sdss_r0": "r", "sdss_u0": "u", "galex_FUV": "FUV", "vista_vircam_Ks": "K",
             "vista_vircam_Z": "Z", "twomass_Ks": "Ks_2MASS", "twomass_J": "J_2MASS",
             "wise_w1": "W1", "wise_w4": "W4"}
    for sedpy_name, short in pairs.items():
        assert get_band(sedpy_name) is BANDS[short]
    # Short names are unchanged, and case separates SDSS z from VISTA Z as before.
    assert get_band("z") is BANDS["z"] and get_band("Z") is BANDS["Z"]
    assert get_band("Ks") is BANDS["Ks_2MASS"]
    # Longer names also in other cases (column-style upper case).
    assert get_band("DECAM_G") is ALL_BANDS["decam_g"]
    assert get_band("decam_y") is ALL_BANDS["decam_Y"]
    with pytest.raises(KeyError, match="unknown band 'omegacam_u'"):
        get_band("omegacam_u")


def test_registry_fields():
    surveys = {"GALEX", "SDSS", "DECam", "BASS", "MzLS", "Pan-STARRS1", "HSC", "LSST",
               "Suprime-Cam", "VISTA", "UKIDSS", "2MASS", "WISE", "Euclid"}
    assert {band.survey for band in ALL_BANDS.values()} == surveys
    pivots = [band.pivot.to_value(u.AA) for band in ALL_BANDS.values()]
    assert pivots == sorted(pivots)
    for key, band in ALL_BANDS.items():
        assert band.name == key and key in band.stems
        assert band.system and band.letter
        assert 0.05 < band.a_over_ebv < 10
        # Vega-native: VISTA, UKIDSS WFCAM, 2MASS and WISE; everything else is AB.
        assert (band.native_system == "Vega") == (band.survey in ("VISTA", "UKIDSS", "2MASS",
                                                                    "WISE"))
    for key in BANDS:
        assert ALL_BANDS[key] is BANDS[key]


@pytest.fixture(scope="module")
def curves():
    pytest.importorskip("sedpy.observate")
    pytest.importorskip("speclite.filters")
    return {name: load_filter_curve(name) for name in SURVEY_FILTERS}


def test_load_filter_curve(curves):
    for name, (wave, trans) in curves.items():
        assert wave.ndim == 1 and wave.shape == trans.shape and len(wave) > 20
        assert np.all(np.diff(wave) >= 0) and trans.max() > 0 and trans.min() >= 0
        band = get_band(name)
        # The pivot lies inside the curve, where it transmits.
        assert wave[trans > 0].min() < band.pivot.to_value(u.AA) < wave[trans > 0].max()
    # Any name of a band gives its curve.
    for alias in ("r", "Euclid-VIS", "sdss_r0"):
        wave, trans = load_filter_curve(alias)
        np.testing.assert_array_equal(wave, curves[filter_name(alias)][0])


def test_stored_pivots_match_the_curves(curves):
    for name in SURVEY_FILTERS:
        band = get_band(name)
        assert band.pivot.to_value(u.AA) == pytest.approx(pivot_wavelength(name), rel=1e-4)


def test_vega_offsets_match_sedpy(curves):
    observate = pytest.importorskip("sedpy.observate")
    for band in ALL_BANDS.values():
        if band.native_system == "Vega":
            curve = observate.Filter(band.filter_id)
            assert band.vega_to_ab == pytest.approx(-curve.ab_to_vega, abs=0.06)


def test_extinction_coefficients_match_dust_extinction(curves):
    """The stored A/E(B-V) are those dust_extinction gives today (regenerate otherwise)."""
    pytest.importorskip("dust_extinction")
    for name in SURVEY_FILTERS:
        band = get_band(name)
        assert band.a_over_ebv == pytest.approx(extinction_coefficient(name), abs=6e-4), name
    # Sanity against the law at the pivot: a broad band's mean is within 20 per cent of it
    # (W3 straddles the 10 micron silicate feature), and A/E(B-V) = R_V near V.
    from dust_extinction.parameter_averages import G23

    law = G23(Rv=3.1)
    for band in ALL_BANDS.values():
        at_pivot = 3.1 * law(band.pivot)
        assert band.a_over_ebv == pytest.approx(at_pivot, rel=0.2), band.name
    assert 3.1 * law(5500 * u.AA) == pytest.approx(3.1, rel=0.02)
    assert ALL_BANDS["subaru_suprimecam_V"].a_over_ebv == pytest.approx(3.1, rel=0.03)
