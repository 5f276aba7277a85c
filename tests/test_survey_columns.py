"""Survey photometry in tables: survey=, service naming conventions, nanomaggies,
inverse variances and Galactic extinction (ebv=), through the accessor and the CLI."""

import astropy.units as u
import numpy as np
import pytest
from astropy.cosmology import Planck18
from astropy.table import MaskedColumn, QTable, Table
from helpers import toy_population

from astropy_smass.cli import main
from astropy_smass.flags import SmassFlag
from astropy_smass.model.bundle import StellarMassModel
from astropy_smass.model.features import default_features
from astropy_smass.photometry.bands import (
    ALL_BANDS,
    SURVEYS,
    BandColumnError,
    find_band_columns,
    find_error_columns,
    get_band,
    normalise_survey,
    recognise_bands,
    resolve_band,
    suggest_survey,
)
from astropy_smass.photometry.magnitudes import absolute_magnitudes

# Headers of the real catalogues in ../shared/data (inputs, not expected results).
DESI = ["targetid", "z", "flux_g", "flux_r", "flux_z", "flux_w1", "flux_w2",
        "logmstar_provabgs"]
DES = ["snid", "sntype", "z", "mwebv", "mag_g", "mag_r", "mag_i", "mag_z", "magerr_g",
       "magerr_r", "magerr_i", "magerr_z", "logmass", "logmass_err"]
COSMOS = ["id", "z", "mag_V", "mag_r", "mag_ip", "mag_zpp", "magerr_V", "magerr_r",
          "magerr_ip", "magerr_zpp", "logmstar"]
Z = np.array([0.05, 0.12, 0.3, 0.45, 0.6])
# Apparent g r i of five galaxies typical of the toy networks' population (helpers.py).
APPARENT = toy_population(5, seed=11)[0][:, 1:4] + Planck18.distmod(Z).value[:, None]


def test_plain_names_keep_their_meaning_and_survey_renames_them():
    plain = ["u", "g", "mag_r", "imag", "z_mag", "Z", "Y", "J", "H", "K", "Ks", "W1"]
    found = find_band_columns(plain)
    assert found == {"u": "u", "g": "g", "r": "mag_r", "i": "imag", "z": "z_mag", "Z": "Z",
                     "Y": "Y", "J": "J", "H": "H", "K": "K", "Ks_2MASS": "Ks", "W1": "W1"}
    des = find_band_columns(plain, survey="des")
    # DES has g r i z Y; W1 belongs to WISE whatever the survey; letters DES lacks are left.
    assert des == {"decam_g": "g", "decam_r": "mag_r", "decam_i": "imag",
                   "decam_z": "z_mag", "decam_Y": "Y", "W1": "W1"}
    # "Z" is the redshift beside DES z (as GAMA's Z beside absmag_Z); alone it is DECam z.
    assert find_band_columns(["Z"], survey="des") == {"decam_z": "Z"}
    # Several systems: the first that has a letter takes it (VISTA for J H Ks).
    both = find_band_columns(["mag_g", "mag_z", "mag_Y", "mag_J", "mag_Ks"],
                             survey=["des", "vista"])
    assert both == {"decam_g": "mag_g", "decam_z": "mag_z", "decam_Y": "mag_Y", "J": "mag_J",
                    "K": "mag_Ks"}
    # Names that carry their survey are not renamed.
    assert find_band_columns(["SDSS_r", "g_decam", "HSC_i", "r"], survey="panstarrs") == {
        "r": "SDSS_r", "hsc_i": "HSC_i", "decam_g": "g_decam", "panstarrs_r": "r"}


def test_sedpy_and_registry_names_in_columns_and_errors():
    names = ["G", "G_ERR", "R", "ZMAG", "ZMAG_ERR", "my_vis", "decam_i", "mzls_z"]
    columns = {"decam_g": "G", "subaru_suprimecam_rp": "R", "sdss_z0": "ZMAG",
               "Euclid-VIS": "my_vis"}
    found = find_band_columns(names, columns=columns)
    assert found == {"decam_g": "G", "subaru_suprimecam_rp": "R", "euclid_vis": "my_vis",
                     "decam_i": "decam_i", "z": "ZMAG", "mzls_z": "mzls_z"}
    errors = find_error_columns(names, found, errors={"decam_g": "G_ERR"})
    assert errors == {"decam_g": "G_ERR", "z": "ZMAG_ERR"}
    # Bare letters among the keys follow survey=, as column names do.
    found = find_band_columns(["a", "b"], columns={"g": "a", "r": "b"}, survey="hsc")
    assert found == {"hsc_g": "a", "hsc_r": "b"}
    assert resolve_band("g", "hsc") is ALL_BANDS["hsc_g"]
    assert resolve_band("g") is ALL_BANDS["g"]
    assert resolve_band("W1", "hsc") is ALL_BANDS["W1"]


def test_flux_without_survey_is_never_guessed():
    with pytest.raises(BandColumnError) as info:
        find_band_columns(["TARGETID", "Z", "FLUX_G", "FLUX_R", "FLUX_Z", "FLUX_IVAR_G"])
    message = str(info.value)
    assert "'FLUX_G', 'FLUX_R', 'FLUX_Z'" in message
    assert "survey='legacy_south'" in message and "survey='legacy_north'" in message
    assert "--survey" in message
    assert "columns={'decam_g': 'FLUX_G'}" in message
    # Pipeline names (SExtractor MAG_AUTO_G, COSMOS2015 V_MAG_AUTO) likewise.
    with pytest.raises(BandColumnError, match=r"'MAG_AUTO_G'.*columns=\{'decam_g'"):
        find_band_columns(["MAG_AUTO_G", "MAGERR_AUTO_G"])
    with pytest.raises(BandColumnError, match="subaru_suprimecam_V"):
        find_band_columns(["V_MAG_AUTO"])
    # Bands of one system only are no guess: WISE fluxes, GALEX, Euclid VIS.
    assert find_band_columns(["flux_w1", "FLUX_FUV", "VIS"]) == {
        "FUV": "FLUX_FUV", "euclid_vis": "VIS", "W1": "flux_w1"}
    # The explicit mapping or a survey resolves it.
    assert find_band_columns(["FLUX_G", "Z"], columns={"decam_g": "FLUX_G"}) == {
        "decam_g": "FLUX_G", "Z": "Z"}


def test_real_catalogue_headers():
    desi = recognise_bands(DESI, survey="legacy_south")
    assert desi.columns == {"decam_g": "flux_g", "decam_r": "flux_r", "decam_z": "flux_z",
                            "W1": "flux_w1", "W2": "flux_w2"}
    assert desi.survey == ("legacy_south",)
    north = find_band_columns(DESI, survey="legacy_north")
    assert north == {"bass_g": "flux_g", "bass_r": "flux_r", "mzls_z": "flux_z",
                     "W1": "flux_w1", "W2": "flux_w2"}
    des = find_band_columns(DES, survey="des")
    assert des == {f"decam_{b}": f"mag_{b}" for b in "griz"}
    assert find_error_columns(DES, des) == {f"decam_{b}": f"magerr_{b}" for b in "griz"}
    cosmos = find_band_columns(COSMOS, survey="suprimecam")
    assert cosmos == {"subaru_suprimecam_V": "mag_V", "subaru_suprimecam_rp": "mag_r",
                      "subaru_suprimecam_ip": "mag_ip", "subaru_suprimecam_zp": "mag_zpp"}
    assert set(find_error_columns(COSMOS, cosmos).values()) == {
        "magerr_V", "magerr_r", "magerr_ip", "magerr_zpp"}
    # Without survey= the DES names keep their historical (SDSS) meaning.
    assert find_band_columns(DES) == {b: f"mag_{b}" for b in "griz"}


def test_service_conventions_and_preference():
    sdss = ["objID", "modelMag_u", "modelMag_g", "modelMag_r", "modelMagErr_r", "petroMag_r",
            "petroMagErr_r", "cModelMag_r", "cModelMagErr_r", "extinction_r", "j_m",
            "j_msigcom", "h_m", "h_msigcom", "k_m", "k_msigcom", "w1mpro", "w1sigmpro",
            "w2mpro", "w2sigmpro"]
    match = recognise_bands(sdss)
    assert match.columns == {"u": "modelMag_u", "g": "modelMag_g", "r": "cModelMag_r",
                             "J_2MASS": "j_m", "H_2MASS": "h_m", "Ks_2MASS": "k_m",
                             "W1": "w1mpro", "W2": "w2mpro"}
    assert match.choices["r"]["column"] == "cModelMag_r"
    assert match.choices["r"]["candidates"] == ["cModelMag_r", "modelMag_r", "petroMag_r"]
    assert "cModelMag > modelMag > petroMag" in match.choices["r"]["preference"]
    assert set(match.vega) == {"J_2MASS", "H_2MASS", "Ks_2MASS", "W1", "W2"}
    errors = find_error_columns(sdss, match.columns)
    assert errors == {"r": "cModelMagErr_r", "J_2MASS": "j_msigcom", "H_2MASS": "h_msigcom",
                      "Ks_2MASS": "k_msigcom", "W1": "w1sigmpro", "W2": "w2sigmpro"}
    # The user's mapping overrides the preference.
    assert find_band_columns(sdss, columns={"r": "petroMag_r"})["r"] == "petroMag_r"
    # 2MASS extended-source total magnitudes before the point-source ones.
    assert find_band_columns(["k_m", "k_m_ext", "k_m_k20fe"]) == {"Ks_2MASS": "k_m_ext"}
    assert find_error_columns(["k_m_ext", "k_msig_ext"], {"Ks_2MASS": "k_m_ext"}) == {
        "Ks_2MASS": "k_msig_ext"}

    ps1 = ["gMeanPSFMag", "gMeanPSFMagErr", "gKronMag", "gKronMagErr", "rKronMag",
           "rKronMagErr", "yMeanKronMag"]
    match = recognise_bands(ps1)
    assert match.columns == {"panstarrs_g": "gKronMag", "panstarrs_r": "rKronMag",
                             "panstarrs_y": "yMeanKronMag"}
    assert find_error_columns(ps1, match.columns) == {"panstarrs_g": "gKronMagErr",
                                                      "panstarrs_r": "rKronMagErr"}
    hsc = ["g_cmodel_mag", "g_cmodel_magerr", "g_psfflux_mag", "i_cmodel_mag",
           "i_cmodel_magsigma", "i_cmodel_flux"]
    match = recognise_bands(hsc)
    assert match.columns == {"hsc_g": "g_cmodel_mag", "hsc_i": "i_cmodel_mag"}
    assert find_error_columns(hsc, match.columns) == {"hsc_g": "g_cmodel_magerr",
                                                      "hsc_i": "i_cmodel_magsigma"}
    # DES pipeline names, with survey=: SOF before MAG_AUTO before the PSF average.
    des = ["COADD_OBJECT_ID", "MAG_AUTO_G", "MAGERR_AUTO_G", "SOF_CM_MAG_G",
           "SOF_CM_MAG_ERR_G", "WAVG_MAG_PSF_G", "MAG_AUTO_R", "MAGERR_AUTO_R"]
    match = recognise_bands(des, survey="des")
    assert match.columns == {"decam_g": "SOF_CM_MAG_G", "decam_r": "MAG_AUTO_R"}
    assert find_error_columns(des, match.columns) == {"decam_g": "SOF_CM_MAG_ERR_G",
                                                      "decam_r": "MAGERR_AUTO_R"}
    # GAMA mag_ab_*: SDSS and VIKING as the plain names.
    gama = ["CATAID", "Z", "mag_ab_u", "mag_ab_r", "mag_ab_Z", "mag_ab_K", "magerr_ab_r"]
    found = find_band_columns(gama)
    assert found == {"u": "mag_ab_u", "r": "mag_ab_r", "Z": "mag_ab_Z", "K": "mag_ab_K"}
    assert find_error_columns(gama, found) == {"r": "magerr_ab_r"}
    # Euclid MER fluxes.
    euclid = ["flux_vis_psf", "fluxerr_vis_psf", "flux_h_templfit", "flux_h_psf",
              "fluxerr_h_templfit"]
    match = recognise_bands(euclid)
    assert match.columns == {"euclid_vis": "flux_vis_psf", "euclid_h": "flux_h_templfit"}
    assert find_error_columns(euclid, match.columns) == {"euclid_vis": "fluxerr_vis_psf",
                                                         "euclid_h": "fluxerr_h_templfit"}
    # WFCAM/VISTA archive names (Vega): the letters are shared, so survey= says which.
    archive = ["jPetroMag", "jPetroMagErr", "jAperMag3", "jAperMag3Err", "ksPetroMag"]
    with pytest.raises(BandColumnError, match="'jPetroMag'"):
        find_band_columns(archive)
    match = recognise_bands(archive, survey="viking")
    assert match.columns == {"J": "jPetroMag", "K": "ksPetroMag"}
    assert match.vega == ("J", "K") and match.choices["J"]["column"] == "jPetroMag"
    assert find_error_columns(archive, {"J": "jAperMag3"}) == {"J": "jAperMag3Err"}
    assert find_band_columns(archive[:2], survey="ukidss") == {"ukirt_wfcam_J": "jPetroMag"}
    # Two conventions for one band stay ambiguous.
    with pytest.raises(BandColumnError, match="'r' is ambiguous"):
        find_band_columns(["modelMag_r", "absmag_r"])


def test_survey_names():
    assert normalise_survey("DES") == ("des",)
    assert normalise_survey("des, vista") == ("des", "vista")
    assert normalise_survey(["PS1", "viking", "unWISE"]) == ("panstarrs", "vista", "wise")
    with pytest.raises(ValueError, match="legacy_south.*legacy_north"):
        normalise_survey("legacy")
    with pytest.raises(ValueError, match="unknown survey 'sloan'.*legacy_south"):
        normalise_survey("sloan")
    # KiDS: the VIKING bands are VISTA's; OmegaCAM u g r i have no curve, and say so.
    assert find_band_columns(["MAG_GAAP_Z", "MAG_GAAP_Ks"], survey="kids") == {
        "Z": "MAG_GAAP_Z", "K": "MAG_GAAP_Ks"}
    with pytest.raises(BandColumnError, match="OmegaCAM u g r i have no filter curve"):
        find_band_columns(["MAG_GAAP_r"], survey="kids")
    for name, table in SURVEYS.items():
        for letter, key in table.items():
            assert key is None or key in ALL_BANDS, (name, letter)


def test_nanomaggies_maggies_and_inverse_variances():
    apparent = np.array([14.2, 16.0, 18.5, 22.5])
    nmgy = 10 ** (-0.4 * (apparent - 22.5)) * u.nanomaggy
    sigma = 0.05 * nmgy
    # flux_ivar_r is unitless: an inverse variance by its name, in the flux's unit**-2.
    table = QTable({"flux_g": nmgy, "flux_ivar_g": 1 / sigma**2, "flux_r": nmgy.to(u.maggy),
                    "flux_ivar_r": (1 / sigma.to(u.maggy) ** 2).value})
    found = find_band_columns(table.colnames, survey="legacy_south")
    errors = find_error_columns(table.colnames, found)
    assert errors == {"decam_g": "flux_ivar_g", "decam_r": "flux_ivar_r"}
    mags, errs, flags = absolute_magnitudes(table, found, errors, distance=10 * u.pc)
    np.testing.assert_allclose(mags, np.column_stack([apparent, apparent]), atol=1e-9)
    # sigma_m = 2.5 / ln 10 * sigma_f / f, with sigma_f = ivar**-0.5.
    np.testing.assert_allclose(errs, 2.5 / np.log(10) * 0.05, rtol=1e-9)
    assert not flags.any()
    # A zero inverse variance is no measurement of the error.
    table["flux_ivar_g"][1] = 0 / u.nanomaggy**2
    _, errs, _ = absolute_magnitudes(table, found, errors, distance=10 * u.pc)
    assert np.isnan(errs[1, 0]) and np.isfinite(errs[0, 0])


def test_extinction_correction():
    table = Table({"mag_g": [18.0, 19.0, 20.0, 21.0], "mag_i": [17.0, 18.0, 19.0, 20.0],
                   "mwebv": MaskedColumn([0.0, 0.05, 0.2, 0.03], mask=[0, 0, 0, 1])})
    table["mag_g"].unit = table["mag_i"].unit = u.mag
    columns = {"decam_g": "mag_g", "decam_i": "mag_i"}
    mags, _, flags = absolute_magnitudes(table, columns, ebv="mwebv", distance=10 * u.pc)
    ebv = np.array([0.0, 0.05, 0.2])
    for k, band in enumerate(columns):
        expected = table[columns[band]][:3] - get_band(band).a_over_ebv * ebv
        np.testing.assert_allclose(mags[:3, k], expected, atol=1e-12)
    assert np.isnan(mags[3]).all()
    np.testing.assert_array_equal(flags[:, 0], [0, 0, 0, SmassFlag.NONFINITE])
    # Values instead of a column, in mag or millimag; a wrong unit is refused.
    by_value, _, _ = absolute_magnitudes(table[:3], columns, ebv=ebv * 1000 * u.mmag,
                                         distance=10 * u.pc)
    np.testing.assert_allclose(by_value, mags[:3], atol=1e-12)
    with pytest.raises(BandColumnError, match="colour excess is in mag"):
        absolute_magnitudes(table, columns, ebv=[0.1] * 4 * u.Jy, distance=10 * u.pc)
    with pytest.raises(BandColumnError, match="'EBV' is not in the table"):
        absolute_magnitudes(table, columns, ebv="EBV", distance=10 * u.pc)


def _renamed(model, bands, name):
    """The same network, reading other bands (features of the same layout), for apparent
    photometry at 0 < z < 1 (the magnitudes below are made absolute with Planck18)."""
    return StellarMassModel(name, bands, default_features(bands), model.network,
                            model.domain, intrinsic_scatter=model.intrinsic_scatter,
                            metadata={"redshift_range": [0.0, 1.0]})


@pytest.fixture(scope="module")
def decam_model(toy_gri_model):
    return _renamed(toy_gri_model, ["decam_g", "decam_r", "decam_i"], "toy_decam")


def _expected(toy_gri_model, absolute):
    return toy_gri_model.predict_magnitudes(absolute, uncertainty=None)["logmstar"]


def test_des_like_magnitudes_with_ebv(decam_model, toy_gri_model):
    ebv = np.array([0.02, 0.0, 0.11, 0.05, 0.15])
    a = np.array([get_band(f"decam_{b}").a_over_ebv for b in "gri"])
    observed = APPARENT + ebv[:, None] * a  # seen through the Milky Way's dust
    table = QTable({"snid": np.arange(5), "z": Z, "mwebv": ebv})
    for k, b in enumerate("gri"):
        table[f"mag_{b}"] = observed[:, k] * u.mag
        table[f"magerr_{b}"] = np.full(5, 0.02) * u.mag
    result = table.smass.predict(decam_model, survey="des", ebv="mwebv", redshift="z")
    absolute = APPARENT - Planck18.distmod(Z).value[:, None]
    assert np.isfinite(result["logmstar"].value).all()
    np.testing.assert_allclose(result["logmstar"].value, _expected(toy_gri_model, absolute),
                               atol=1e-5)
    assert result.meta["smass_band_columns"] == {f"decam_{b}": f"mag_{b}" for b in "gri"}
    assert result.meta["smass_error_columns"] == {f"decam_{b}": f"magerr_{b}" for b in "gri"}
    assert result.meta["smass_survey"] == ["des"]
    assert result.meta["smass_band_systems"] == {f"decam_{b}": "DECam" for b in "gri"}
    assert result.meta["smass_ebv"]["source"] == "mwebv"
    assert "G23" in result.meta["smass_ebv"]["law"]
    # Without the correction the masses differ; without survey= the SDSS model is asked.
    plain = table.smass.predict(decam_model, survey="des", redshift="z",
                                exclude_out_of_domain=False)
    assert np.all(np.abs(plain["logmstar"].value - result["logmstar"].value)[ebv > 0] > 0)
    with pytest.raises(BandColumnError, match="needs bands decam_g"):
        table.smass.predict(decam_model, redshift="z")


def test_desi_like_nanomaggies(decam_model, toy_gri_model):
    table = Table({"targetid": np.arange(5), "Z": Z})
    for k, b in enumerate("gri"):
        table[f"FLUX_{b.upper()}"] = 10 ** (-0.4 * (APPARENT[:, k] - 22.5))
        table[f"FLUX_{b.upper()}"].unit = "nanomaggy"
        table[f"FLUX_IVAR_{b.upper()}"] = np.full(5, 400.0)
        table[f"FLUX_IVAR_{b.upper()}"].unit = "1 / nanomaggy2"
    with pytest.raises(BandColumnError, match="survey='legacy_south'"):
        table.smass.predict(decam_model, redshift="Z")
    result = table.smass.predict(decam_model, survey="legacy_south", redshift="Z")
    absolute = APPARENT - Planck18.distmod(Z).value[:, None]
    assert np.isfinite(result["logmstar"].value).all()
    np.testing.assert_allclose(result["logmstar"].value, _expected(toy_gri_model, absolute),
                               atol=1e-5)
    assert result.meta["smass_error_columns"]["decam_g"] == "FLUX_IVAR_G"
    assert np.all(result["logmstar_err_phot"].value > 0)
    # The same through an explicit mapping by sedpy names, with no survey=.
    mapped = table.smass.predict(decam_model, redshift="Z",
                                 columns={f"decam_{b}": f"FLUX_{b.upper()}" for b in "gri"})
    np.testing.assert_array_equal(mapped["logmstar"].value, result["logmstar"].value)
    annotated = table.smass.annotate(decam_model, survey="legacy_south", redshift="Z")
    np.testing.assert_array_equal(annotated["logmstar"], result["logmstar"].value)
    mstar = table.smass.stellar_mass(decam_model, survey="legacy_south", redshift="Z")
    np.testing.assert_allclose(np.log10(mstar.unmasked.to_value(u.Msun)),
                               result["logmstar"].value)


def test_vega_conventions_are_converted(toy_gri_model):
    model = _renamed(toy_gri_model, ["J_2MASS", "H_2MASS", "Ks_2MASS"], "toy_2mass")
    vega = APPARENT - np.array([0.91, 1.39, 1.85])  # the same AB magnitudes, in Vega
    table = QTable({"z": Z, "j_m": vega[:, 0] * u.mag, "h_m": vega[:, 1] * u.mag,
                    "k_m": vega[:, 2] * u.mag})
    result = table.smass.predict(model, redshift="z")
    offsets = np.array([get_band(b).vega_to_ab for b in ("J_2MASS", "H_2MASS", "Ks_2MASS")])
    absolute = vega + offsets - Planck18.distmod(Z).value[:, None]
    assert np.isfinite(result["logmstar"].value).any()
    np.testing.assert_allclose(result["logmstar"].value, _expected(toy_gri_model, absolute),
                               atol=1e-5)
    assert result.meta["smass_vega_bands"] == ["J_2MASS", "H_2MASS", "Ks_2MASS"]
    # Given vega= as well, the offset is applied once; a column in ABmag is AB already.
    again = table.smass.predict(model, redshift="z", vega=["J_2MASS"])
    np.testing.assert_array_equal(again["logmstar"].value, result["logmstar"].value)
    ab = QTable({"z": Z, "j_m": (vega[:, 0] + offsets[0]) * u.ABmag,
                 "h_m": vega[:, 1] * u.mag, "k_m": vega[:, 2] * u.mag})
    assert ab.smass.predict(model, redshift="z").meta["smass_vega_bands"] == ["H_2MASS",
                                                                               "Ks_2MASS"]


def test_sdss_choice_in_meta(toy_model):
    z = np.array([0.02, 0.03, 0.05, 0.07, 0.09])
    model_mags = toy_population(5, seed=13)[0] + Planck18.distmod(z).value[:, None]
    table = QTable({"z": z})
    for k, b in enumerate("ugriz"):
        table[f"petroMag_{b}"] = (model_mags[:, k] + 0.2) * u.mag
        table[f"modelMag_{b}"] = model_mags[:, k] * u.mag
        table[f"modelMagErr_{b}"] = np.full(5, 0.03) * u.mag
    result = table.smass.predict(toy_model, redshift="z")
    assert np.isfinite(result["logmstar"].value).all()
    choices = result.meta["smass_band_choices"]
    assert set(choices) == set("ugriz")
    assert all(c["column"] == f"modelMag_{b}" for b, c in choices.items())
    assert result.meta["smass_error_columns"] == {b: f"modelMagErr_{b}" for b in "ugriz"}
    explicit = table.smass.predict(toy_model, redshift="z",
                                   columns={b: f"modelMag_{b}" for b in "ugriz"})
    np.testing.assert_array_equal(explicit["logmstar"], result["logmstar"])
    assert "smass_band_choices" not in explicit.meta
    petro = table.smass.predict(toy_model, redshift="z",
                                columns={b: f"petroMag_{b}" for b in "ugriz"})
    assert np.mean(petro["logmstar"].value) < np.mean(result["logmstar"].value)  # fainter


def test_cli_survey_and_ebv(decam_model, tmp_path, capsys):
    ebv = np.array([0.02, 0.0, 0.11, 0.05, 0.15])
    table = Table({"z": Z, "mwebv": ebv})
    for k, b in enumerate("gri"):
        table[f"mag_{b}"] = APPARENT[:, k]
        table[f"mag_{b}"].unit = u.mag
    table.write(tmp_path / "des.ecsv")
    bundle = decam_model.save(tmp_path / "model")
    out = tmp_path / "out.ecsv"
    assert main(["predict", str(tmp_path / "des.ecsv"), str(out), "--model", str(bundle),
                 "--survey", "des", "--ebv", "mwebv", "--redshift", "z"]) == 0
    written = Table.read(out)
    expected = table.smass.predict(decam_model, survey="des", ebv="mwebv", redshift="z")
    np.testing.assert_allclose(written["logmstar"], expected["logmstar"].value, rtol=1e-12)
    # Without --survey the error names the option.
    table.rename_columns([f"mag_{b}" for b in "gri"], [f"MAG_AUTO_{b.upper()}" for b in "gri"])
    table.write(tmp_path / "auto.ecsv")
    capsys.readouterr()
    code = main(["predict", str(tmp_path / "auto.ecsv"), str(tmp_path / "x.ecsv"), "--model",
                 str(bundle), "--redshift", "z"])
    assert code != 0
    assert "survey='des'" in capsys.readouterr().err


def test_explicit_vega_convention_column():
    # Mapped by hand, 2MASS j_m is still a Vega magnitude of J_2MASS; not of VISTA J.
    assert recognise_bands(["j_m", "k_m"], columns={"J_2MASS": "j_m"}).vega == (
        "J_2MASS", "Ks_2MASS")
    assert recognise_bands(["j_m"], columns={"J": "j_m"}).vega == ()


@pytest.mark.parametrize("fmt", ["parquet", "fits"])
def test_streaming_with_survey_and_ebv(decam_model, tmp_path, fmt):
    pytest.importorskip("pyarrow")
    from astropy_smass.io import read_table
    from astropy_smass.stream import predict_file

    n = 40
    rng = np.random.default_rng(4)
    z = rng.uniform(0.05, 0.4, n)
    ebv = rng.uniform(0.0, 0.1, n)
    mags = toy_population(n, seed=12)[0][:, 1:4] + Planck18.distmod(z).value[:, None]
    table = QTable({"z": z, "mwebv": ebv})
    for k, b in enumerate("gri"):
        table[f"mag_{b}"] = (mags[:, k] + ebv * get_band(f"decam_{b}").a_over_ebv) * u.mag
    source = tmp_path / f"des.{fmt}"
    table.write(source)
    out = tmp_path / f"out.{fmt}"
    predict_file(source, out, chunk_rows=16, model=decam_model, progress=False, survey="des",
                 ebv="mwebv", redshift="z")
    written = read_table(out)
    expected = table.smass.predict(decam_model, survey="des", ebv="mwebv", redshift="z")
    assert np.isfinite(expected["logmstar"].value).sum() > n // 2
    np.testing.assert_allclose(np.asarray(written["logmstar"], float),
                               expected["logmstar"].value, rtol=1e-12)
    if fmt == "fits":
        return  # a FITS header keeps only the package's own short keywords
    assert written.meta["smass_ebv"]["source"] == "mwebv"
    assert written.meta["smass_band_columns"] == {f"decam_{b}": f"mag_{b}" for b in "gri"}


def test_survey_suggested_when_no_model_can_use_the_table(decam_model, toy_gri_model):
    assert suggest_survey(COSMOS) == [("suprimecam", ["mag_V", "mag_r", "mag_ip", "mag_zpp"])]
    assert suggest_survey(DES) == []  # SDSS reads them all: no better guess to offer
    table = Table({name: np.ones(3) for name in COSMOS})
    for name in COSMOS[2:]:
        table[name].unit = u.mag
    with pytest.raises(BandColumnError, match="survey='suprimecam' would read 'mag_V'"):
        table.smass.predict([toy_gri_model, decam_model], redshift="z")
