"""The band registry and the recognition of catalogue column names."""

import astropy.units as u
import pytest

from astropy_smass.photometry.bands import (
    BANDS,
    BandColumnError,
    find_band_columns,
    find_error_columns,
    get_band,
)

# Column names as the catalogues write them (headers of the files in shared/data and
# of the GAMA / Shark / Viperfish releases); they are inputs, not expected results.
DUSTPEDIA = ["name", "ra", "dec", "dist_mpc", "GALEX_FUV", "GALEX_FUV_err", "GALEX_FUV_flag",
             "GALEX_NUV", "GALEX_NUV_err", "GALEX_NUV_flag", "SDSS_u", "SDSS_u_err",
             "SDSS_u_flag", "SDSS_g", "SDSS_g_err", "SDSS_g_flag", "SDSS_r", "SDSS_r_err",
             "SDSS_r_flag", "SDSS_i", "SDSS_i_err", "SDSS_i_flag", "SDSS_z", "SDSS_z_err",
             "SDSS_z_flag", "2MASS_J", "2MASS_J_err", "2MASS_J_flag", "2MASS_H", "2MASS_H_err",
             "2MASS_H_flag", "2MASS_Ks", "2MASS_Ks_err", "2MASS_Ks_flag", "WISE_3.4",
             "WISE_3.4_err", "WISE_3.4_flag", "WISE_4.6", "WISE_4.6_err", "WISE_4.6_flag",
             "WISE_12", "WISE_12_err", "WISE_12_flag", "WISE_22", "WISE_22_err", "WISE_22_flag",
             "mstar_msun", "mstar_err_msun", "sfr_msun_yr"]
HATLAS = ["id", "redshift", "FUV", "FUV_err", "NUV", "NUV_err", "u_prime", "u_prime_err",
          "g_prime", "g_prime_err", "r_prime", "r_prime_err", "i_prime", "i_prime_err",
          "z_prime", "z_prime_err", "J_2mass", "J_2mass_err", "H_2mass", "H_2mass_err",
          "Ks_2mass", "Ks_2mass_err", "WISE1", "WISE1_err", "WISE2", "WISE2_err", "WISE3",
          "WISE3_err", "WISE4", "WISE4_err", "PACS_blue", "PACS_blue_err", "PSW_HIPE",
          "PSW_HIPE_err"]
ECO = ["econame", "ra", "dec", "cz_kms", "umag", "gmag", "rmag", "imag", "zmag", "Jmag", "Hmag",
       "Kmag", "absrmag", "logmstar", "u_minus_r_corr"]


def test_registry_has_every_band_with_filter_and_pivot():
    surveys = {"GALEX": {"FUV", "NUV"}, "SDSS": set("ugriz"), "VISTA": set("ZYJHK"),
               "2MASS": {"J_2MASS", "H_2MASS", "Ks_2MASS"}, "WISE": {"W1", "W2", "W3", "W4"}}
    assert set(BANDS) == set().union(*surveys.values())
    for survey, names in surveys.items():
        assert {BANDS[name].survey for name in names} == {survey}
    for name, band in BANDS.items():
        assert band.name == name
        assert band.filter_id
        assert band.pivot.unit.physical_type == "length"
        assert band.pivot > 0
        assert name in band.stems
    pivots = [band.pivot.to_value(u.AA) for band in BANDS.values()]
    assert pivots == sorted(pivots), "BANDS must be in order of wavelength"


def test_native_systems():
    for band in BANDS.values():
        vega_native = band.survey in ("VISTA", "2MASS", "WISE")
        assert band.native_system == ("Vega" if vega_native else "AB")
        # Vega is brighter than AB's zero point redward of ~5500 A: AB - Vega > 0 there.
        assert (band.vega_to_ab > 0) == vega_native


def test_pivots_and_vega_offsets_match_sedpy():
    observate = pytest.importorskip("sedpy.observate")
    for band in BANDS.values():
        curve = observate.Filter(band.filter_id)
        assert band.pivot.to_value(u.AA) == pytest.approx(curve.wave_pivot, rel=1e-4)
        if band.native_system == "Vega":
            # sedpy's ab_to_vega is Vega - AB, from its own Vega spectrum; published
            # offsets differ from it by a few hundredths of a magnitude.
            assert band.vega_to_ab == pytest.approx(-curve.ab_to_vega, abs=0.06)


def test_get_band_aliases_and_unknown():
    assert get_band("Ks") is BANDS["Ks_2MASS"]
    assert get_band("2MASS_J") is BANDS["J_2MASS"]
    assert get_band(BANDS["r"]) is BANDS["r"]
    with pytest.raises(KeyError, match="supported bands: .*W4"):
        get_band("q")


def test_gama_absmag_columns():
    names = [f"absmag_{band}" for band in BANDS] + [f"delabsmag_{band}" for band in BANDS]
    # GAMA calls its redshift Z: beside absmag_Z it is not taken for the VISTA Z band.
    found = find_band_columns(names + ["Z", "CATAID"])
    assert found == {band: f"absmag_{band}" for band in BANDS}
    errors = find_error_columns(names, found)
    assert errors == {band: f"delabsmag_{band}" for band in BANDS}


@pytest.mark.parametrize("prefix", ["total_ab_dust_", "mag_ab_dust_", "total_ab_nodust_"])
@pytest.mark.parametrize("upper", [False, True])
def test_shark_viperfish_columns(prefix, upper):
    pairs = {"FUV": ("fuv", "galex"), "NUV": ("nuv", "galex"), "u": ("u", "sdss"),
             "g": ("g", "sdss"), "r": ("r", "sdss"), "i": ("i", "sdss"), "z": ("z", "sdss"),
             "Z": ("z", "vista"), "Y": ("y", "vista"), "J": ("j", "vista"),
             "H": ("h", "vista"), "K": ("k", "vista"), "J_2MASS": ("j", "2mass"),
             "H_2MASS": ("h", "2mass"), "Ks_2MASS": ("ks", "2mass"), "W1": ("w1", "wise"),
             "W2": ("w2", "wise"), "W3": ("w3", "wise"), "W4": ("w4", "wise")}
    if upper:  # Shark writes e.g. total_ab_dust_Z_VISTA: band as named, survey upper-case
        pairs = {band: (band.split("_")[0], survey.upper())
                 for band, (_, survey) in pairs.items()}
    columns = {band: f"{prefix}{stem}_{survey}" for band, (stem, survey) in pairs.items()}
    found = find_band_columns(list(columns.values()) + ["id_galaxy_sky", "zobs"])
    assert found == columns
    # SDSS z and VISTA Z are told apart by the survey, not the letter's case.
    assert found["z"].lower().endswith("_sdss") and found["Z"].lower().endswith("_vista")


def test_dustpedia_columns():
    found = find_band_columns(DUSTPEDIA)
    assert found == {"FUV": "GALEX_FUV", "NUV": "GALEX_NUV", "u": "SDSS_u", "g": "SDSS_g",
                     "r": "SDSS_r", "i": "SDSS_i", "z": "SDSS_z", "J_2MASS": "2MASS_J",
                     "H_2MASS": "2MASS_H", "Ks_2MASS": "2MASS_Ks", "W1": "WISE_3.4",
                     "W2": "WISE_4.6", "W3": "WISE_12", "W4": "WISE_22"}
    errors = find_error_columns(DUSTPEDIA, found)
    assert errors == {band: f"{col}_err" for band, col in found.items()}


def test_hatlas_columns():
    found = find_band_columns(HATLAS)
    assert found == {"FUV": "FUV", "NUV": "NUV", "u": "u_prime", "g": "g_prime",
                     "r": "r_prime", "i": "i_prime", "z": "z_prime", "J_2MASS": "J_2mass",
                     "H_2MASS": "H_2mass", "Ks_2MASS": "Ks_2mass", "W1": "WISE1",
                     "W2": "WISE2", "W3": "WISE3", "W4": "WISE4"}
    assert find_error_columns(HATLAS, found) == {b: f"{c}_err" for b, c in found.items()}


def test_eco_columns():
    found = find_band_columns(ECO)
    assert {b: found[b] for b in "ugriz"} == {b: f"{b}mag" for b in "ugriz"}
    # ECO's absolute r (absrmag) and u-r colour are not photometry of a band.
    assert "absrmag" not in found.values() and "u_minus_r_corr" not in found.values()
    # ECO's J H K are 2MASS (Vega): the plain letters are ambiguous, so an explicit
    # mapping must be able to say so.
    explicit = {"J_2MASS": "Jmag", "H_2MASS": "Hmag", "Ks_2MASS": "Kmag"}
    found = find_band_columns(ECO, columns=explicit)
    assert {b: found[b] for b in explicit} == explicit
    assert not {"J", "H", "K"} & set(found)


def test_plain_band_names():
    names = ["FUV", "NUV", "u", "g", "r", "i", "z", "W1", "W2", "ra", "dec"]
    found = find_band_columns(names)
    assert found == {name: name for name in names if name not in ("ra", "dec")}
    # Single letters: z is SDSS, Z is VISTA; both may coexist.
    assert find_band_columns(["z", "Z"]) == {"Z": "Z", "z": "z"}


def test_bare_z_beside_a_magnitude_is_a_redshift():
    assert find_band_columns(ECO + ["z"])["z"] == "zmag"
    assert find_band_columns(["mag_Z", "Z", "z"]) == {"Z": "mag_Z", "z": "z"}
    # Two decorated rivals stay ambiguous.
    with pytest.raises(BandColumnError, match="'zmag', 'z_sdss'"):
        find_band_columns(["zmag", "z_sdss", "z"])


def test_result_in_wavelength_order():
    found = find_band_columns(["W1", "r", "FUV", "Ks_2mass", "g"])
    order = list(found)
    assert order == sorted(order, key=lambda b: BANDS[b].pivot)


def test_explicit_columns_win():
    names = ["absmag_r", "my_r", "absmag_g"]
    assert find_band_columns(names, columns={"r": "my_r"}) == {"g": "absmag_g", "r": "my_r"}
    # An explicit column is taken away from recognition of other bands.
    found = find_band_columns(["mag_g", "r"], columns={"i": "r"})
    assert found == {"g": "mag_g", "i": "r"}


def test_ambiguity_lists_candidates():
    with pytest.raises(BandColumnError) as info:
        find_band_columns(["absmag_r", "r_sdss", "absmag_g"])
    message = str(info.value)
    assert "'r'" in message and "'absmag_r'" in message and "'r_sdss'" in message
    assert "columns=" in message
    # The explicit mapping resolves it; a clash in a band not asked for is no error.
    assert find_band_columns(["absmag_r", "r_sdss"], columns={"r": "r_sdss"}) == {"r": "r_sdss"}
    assert find_band_columns(["absmag_r", "r_sdss", "g"], bands=["g"]) == {"g": "g"}


def test_bands_argument_restricts_and_accepts_aliases():
    found = find_band_columns(HATLAS, bands=["r", "Ks"])
    assert found == {"r": "r_prime", "Ks_2MASS": "Ks_2mass"}


def test_bad_explicit_columns():
    with pytest.raises(BandColumnError, match="'rmag_typo'.*'r'"):
        find_band_columns(ECO, columns={"r": "rmag_typo"})
    with pytest.raises(KeyError, match="unknown band 'q'"):
        find_band_columns(ECO, columns={"q": "rmag"})
    found = find_band_columns(ECO)
    with pytest.raises(BandColumnError, match="'r_error_typo'"):
        find_error_columns(ECO, found, errors={"r": "r_error_typo"})


def test_error_column_conventions():
    names = ["r_mag", "r_mag_err", "g", "e_g", "i", "I_ERROR", "u", "z", "z_error", "z_err"]
    bands = find_band_columns(names)
    assert bands == {"u": "u", "g": "g", "r": "r_mag", "i": "i", "z": "z"}
    errors = find_error_columns(names, bands)
    assert errors["r"] == "r_mag_err"
    assert errors["g"] == "e_g"
    assert errors["i"] == "I_ERROR"  # case-insensitive, actual spelling returned
    assert errors["z"] == "z_err"  # _err is preferred to _error
    assert "u" not in errors
    # An explicit error mapping wins over recognition.
    errors = find_error_columns(names, bands, errors={"z": "z_error", "u": "e_g"})
    assert errors["z"] == "z_error" and errors["u"] == "e_g"


def test_error_and_flag_columns_are_not_bands():
    assert find_band_columns(["absmag_r", "delabsmag_r", "absmag_r_err", "SDSS_g",
                              "SDSS_g_err", "SDSS_g_flag"]) == {"g": "SDSS_g", "r": "absmag_r"}
