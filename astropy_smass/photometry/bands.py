"""The photometric bands astropy-smass understands, and how table columns map to them.

One registry, `ALL_BANDS`, holds every supported band (GALEX, SDSS, DECam, BASS, MzLS,
Pan-STARRS1, HSC, LSST, Subaru Suprime-Cam, VISTA, UKIDSS WFCAM, 2MASS, WISE, Euclid) with
its filter curve, pivot wavelength, Vega-to-AB offset where the survey's native system is
Vega, and Galactic extinction coefficient; `BANDS` is its part with the historical short
names (GALEX, SDSS, VISTA, 2MASS, WISE). `SURVEY_FILTERS` lists the curves the training
population is computed in, and `load_filter_curve` reads one (astro-sedpy or speclite,
imported only there).

`find_band_columns` and `find_error_columns` recognise the column-naming conventions of
common catalogues (GAMA, Shark/Viperfish, DustPedia, H-ATLAS, ECO, plain band names) and
of the big services (SDSS ``cModelMag_r``, 2MASS ``j_m``, WISE ``w1mpro``, Pan-STARRS
``gKronMag``, HSC ``g_cmodel_mag``, Legacy Surveys ``flux_g``, DES ``MAG_AUTO_G``);
``survey=`` (`SURVEYS`) names the system of columns whose names carry only a band
letter, and an explicit ``columns={band: column}`` mapping always wins.
"""

import functools
import re
from dataclasses import dataclass, field

import astropy.units as u
import numpy as np

from ..exceptions import BandColumnError, InputError, MissingDependencyError, UnknownNameError

__all__ = ["Band", "BandMatch", "BANDS", "ALL_BANDS", "SURVEY_FILTERS", "SURVEYS",
           "SURVEY_ALIASES", "CONVENTIONS", "EXTINCTION_LAW", "EXTINCTION_RV",
           "BandColumnError", "get_band", "resolve_band", "normalise_survey",
           "find_band_columns", "recognise_bands", "find_error_columns", "suggest_survey",
           "load_filter_curve", "filter_name", "pivot_wavelength",
           "extinction_coefficient", "recompute_registry"]


@dataclass(frozen=True)
class Band:
    """A photometric band.

    Parameters
    ----------
    name : str
        Canonical key used throughout the package: the historical short names for
        GALEX, SDSS, VISTA, 2MASS and WISE (``"r"``, ``"K"``, ``"Ks_2MASS"``, ``"W1"``),
        the astro-sedpy filter name for the other survey bands (``"decam_g"``,
        ``"hsc_i"``), and ``euclid_*`` / ``lsst_*`` for the speclite curves.
    survey : str
        Survey or instrument (``"GALEX"``, ``"SDSS"``, ``"DECam"``, ``"VISTA"``...).
    filter_id : str
        Name of the filter transmission curve: an astro-sedpy filter name, or a speclite
        filter name (``"Euclid-VIS"``, ``"lsst2023-u"``) when ``curve_source`` is
        ``"speclite"``.
    pivot : `~astropy.units.Quantity`
        Pivot wavelength of the filter (Angstrom), computed from the curve.
    vega_to_ab : float
        AB minus Vega magnitude (mag) for surveys whose native system is Vega; 0 for AB.
    stems : tuple of str
        Column-name stems recognised as this band, compared case-insensitively except
        for single letters ``z``/``Z``, which separate SDSS z from VISTA Z.
    system : str
        Short name of the photometric system (``"sdss"``, ``"decam"``, ``"bass"``...), as
        used by ``survey=``.
    letter : str
        The band's name within its system (``"g"``, ``"Ks"``, ``"VIS"``).
    curve_source : str
        ``"sedpy"`` or ``"speclite"``: the package whose curve ``filter_id`` names.
    a_over_ebv : float
        Galactic extinction A_band / E(B-V) (Gordon et al. 2023 Milky Way law, R_V = 3.1,
        averaged over the filter curve for a source flat in f_nu); see `extinction_coefficient`.
    """

    name: str
    survey: str
    filter_id: str
    pivot: u.Quantity = field(repr=False)
    vega_to_ab: float = 0.0
    stems: tuple = field(default=(), repr=False)
    system: str = field(default="", repr=False)
    letter: str = field(default="", repr=False)
    curve_source: str = field(default="sedpy", repr=False)
    a_over_ebv: float = field(default=float("nan"), repr=False)

    @property
    def native_system(self):
        """``"Vega"`` or ``"AB"``: the system the survey publishes magnitudes in."""
        return "Vega" if self.vega_to_ab else "AB"


def _band(name, survey, filter_id, pivot_angstrom, vega_to_ab=0.0, stems=(), *, system,
          letter, a_over_ebv, curve_source="sedpy"):
    return Band(name, survey, filter_id, pivot_angstrom * u.AA, vega_to_ab,
                (name,) + tuple(stems), system, letter, curve_source, a_over_ebv)


def _sdss(letter, pivot, a_over_ebv):
    return _band(letter, "SDSS", f"sdss_{letter}0", pivot,
                 stems=(f"{letter}_sdss", f"sdss_{letter}", f"{letter}_prime", f"{letter}prime",
                        f"{letter}petro", f"{letter}_petro", f"{letter}model"),
                 system="sdss", letter=letter, a_over_ebv=a_over_ebv)


def _vista(letter, filter_letter, pivot, offset, a_over_ebv):
    low = letter.lower()
    return _band(letter, "VISTA", f"vista_vircam_{filter_letter}", pivot, offset,
                 stems=(f"{low}_vista", f"vista_{low}", f"{low}_viking", f"viking_{low}",
                        f"{low}_vircam"),
                 system="vista", letter=filter_letter, a_over_ebv=a_over_ebv)


def _survey_band(system, survey, filter_id, letter, pivot, a_over_ebv, vega_to_ab=0.0,
                 tokens=(), key=None, curve_source="sedpy", extra_stems=()):
    """A band of the survey systems added for observed-frame photometry.

    Its key is the sedpy filter name (or ``key``); it is recognised in column names as the
    key, and as ``<token>_<letter>`` / ``<letter>_<token>`` for each survey token.
    """
    key = key or filter_id
    tokens = tuple(tokens) or (system,)
    stems = tuple(f"{t}_{letter}" for t in tokens) + tuple(f"{letter}_{t}" for t in tokens)
    if filter_id != key:
        stems += (filter_id,)
    stems += tuple(extra_stems)
    return _band(key, survey, filter_id, pivot, vega_to_ab, stems, system=system,
                 letter=letter, a_over_ebv=a_over_ebv, curve_source=curve_source)


# Pivot wavelengths, lambda_p^2 = int T lambda dlambda / int T / lambda dlambda, from the
# astro-sedpy / speclite curves (T a photon-counting response; `pivot_wavelength`).
# Vega-to-AB offsets: 2MASS from Blanton & Roweis (2007); VISTA from the CASU VIRCAM
# calibration; UKIDSS WFCAM from Hewett et al. (2006); WISE from Jarrett et al. (2011).
# GALEX, SDSS, DECam, BASS, MzLS, Pan-STARRS1, HSC, LSST, Suprime-Cam and Euclid publish
# AB magnitudes (SDSS u is ~0.04 mag off AB, which we do not correct, as is common
# practice). A/E(B-V) from `extinction_coefficient` (G23, R_V = 3.1); the test suite
# recomputes every pivot and coefficient from the curves when sedpy, speclite and
# dust_extinction are installed. Check or regenerate with ``python -m validation.band_registry``.
_BAND_LIST = [
    _band("FUV", "GALEX", "galex_FUV", 1535.1,
          stems=("galex_fuv", "fuv_galex", "fuv_mag"), system="galex", letter="FUV",
          a_over_ebv=8.727),
    _band("NUV", "GALEX", "galex_NUV", 2300.8,
          stems=("galex_nuv", "nuv_galex", "nuv_mag"), system="galex", letter="NUV",
          a_over_ebv=8.432),
    _sdss("u", 3556.5, 4.925),
    _sdss("g", 4702.4, 3.806),
    _sdss("r", 6174.9, 2.706),
    _sdss("i", 7490.8, 2.040),
    _sdss("z", 8946.4, 1.530),
    _vista("Z", "Z", 8805.2, 0.521, 1.569),
    _vista("Y", "Y", 10218.4, 0.618, 1.183),
    _vista("J", "J", 12527.5, 0.937, 0.834),
    _vista("H", "H", 16432.5, 1.384, 0.529),
    _vista("K", "Ks", 21502.9, 1.839, 0.335),
    _band("J_2MASS", "2MASS", "twomass_J", 12355.0, 0.91,
          stems=("j_2mass", "2mass_j", "twomass_j", "j_twomass", "j2mass"),
          system="2mass", letter="J", a_over_ebv=0.856),
    _band("H_2MASS", "2MASS", "twomass_H", 16457.2, 1.39,
          stems=("h_2mass", "2mass_h", "twomass_h", "h_twomass", "h2mass"),
          system="2mass", letter="H", a_over_ebv=0.527),
    _band("Ks_2MASS", "2MASS", "twomass_Ks", 21602.9, 1.85,
          stems=("ks", "ks_2mass", "2mass_ks", "twomass_ks", "ks_twomass", "k_2mass",
                 "2mass_k", "ks2mass"),
          system="2mass", letter="Ks", a_over_ebv=0.332),
    _band("W1", "WISE", "wise_w1", 33682.2, 2.699,
          stems=("wise1", "wise_w1", "w1_wise", "wise_3.4", "w1mpro"),
          system="wise", letter="W1", a_over_ebv=0.154),
    _band("W2", "WISE", "wise_w2", 46179.1, 3.339,
          stems=("wise2", "wise_w2", "w2_wise", "wise_4.6", "w2mpro"),
          system="wise", letter="W2", a_over_ebv=0.098),
    _band("W3", "WISE", "wise_w3", 120718.5, 5.174,
          stems=("wise3", "wise_w3", "w3_wise", "wise_12", "w3mpro"),
          system="wise", letter="W3", a_over_ebv=0.137),
    _band("W4", "WISE", "wise_w4", 221943.7, 6.620,
          stems=("wise4", "wise_w4", "w4_wise", "wise_22", "w4mpro"),
          system="wise", letter="W4", a_over_ebv=0.120),
]

#: Every band of the rest-frame models and of absolute-magnitude catalogues (GALEX, SDSS,
#: VISTA, 2MASS, WISE), keyed by its short name, in order of wavelength. The survey bands
#: added for observed-frame photometry are in `ALL_BANDS`.
BANDS = {band.name: band for band in sorted(_BAND_LIST, key=lambda b: b.pivot)}

_DECAM = ("decam", "des")
_PS1 = ("panstarrs", "ps1", "panstarrs1")
_SURVEY_BAND_LIST = [
    _survey_band("decam", "DECam", "decam_u", "u", 3814.4, 4.605, tokens=_DECAM),
    _survey_band("decam", "DECam", "decam_g", "g", 4808.3, 3.712, tokens=_DECAM),
    _survey_band("decam", "DECam", "decam_r", "r", 6420.7, 2.573, tokens=_DECAM),
    _survey_band("decam", "DECam", "decam_i", "i", 7813.4, 1.913, tokens=_DECAM),
    _survey_band("decam", "DECam", "decam_z", "z", 9169.5, 1.460, tokens=_DECAM),
    _survey_band("decam", "DECam", "decam_Y", "Y", 9892.6, 1.258, tokens=_DECAM),
    _survey_band("bass", "BASS", "bass_g", "g", 4759.3, 3.757),
    _survey_band("bass", "BASS", "bass_r", "r", 6397.2, 2.585),
    _survey_band("mzls", "MzLS", "mzls_z", "z", 9199.3, 1.451),
    _survey_band("panstarrs", "Pan-STARRS1", "panstarrs_g", "g", 4849.1, 3.676, tokens=_PS1),
    _survey_band("panstarrs", "Pan-STARRS1", "panstarrs_r", "r", 6201.2, 2.695, tokens=_PS1),
    _survey_band("panstarrs", "Pan-STARRS1", "panstarrs_i", "i", 7535.0, 2.022, tokens=_PS1),
    _survey_band("panstarrs", "Pan-STARRS1", "panstarrs_z", "z", 8674.2, 1.607, tokens=_PS1),
    _survey_band("panstarrs", "Pan-STARRS1", "panstarrs_y", "y", 9627.8, 1.329, tokens=_PS1),
    _survey_band("hsc", "HSC", "hsc_g", "g", 4791.2, 3.728),
    _survey_band("hsc", "HSC", "hsc_r", "r", 6214.1, 2.689),
    _survey_band("hsc", "HSC", "hsc_i", "i", 7688.8, 1.964),
    _survey_band("hsc", "HSC", "hsc_z", "z", 8903.1, 1.535),
    _survey_band("hsc", "HSC", "hsc_y", "y", 9771.7, 1.290),
    _survey_band("lsst_baseline", "LSST", "lsst_baseline_u", "u", 3716.4, 4.728),
    _survey_band("lsst_baseline", "LSST", "lsst_baseline_g", "g", 4787.0, 3.734),
    _survey_band("lsst_baseline", "LSST", "lsst_baseline_r", "r", 6207.6, 2.691),
    _survey_band("lsst_baseline", "LSST", "lsst_baseline_i", "i", 7548.9, 2.017),
    _survey_band("lsst_baseline", "LSST", "lsst_baseline_z", "z", 8673.8, 1.607),
    _survey_band("lsst_baseline", "LSST", "lsst_baseline_y", "y", 9746.3, 1.299),
    _survey_band("lsst", "LSST", "lsst2023-u", "u", 3716.5, 4.728, key="lsst_u",
                 curve_source="speclite"),
    _survey_band("lsst", "LSST", "lsst2023-g", "g", 4787.0, 3.734, key="lsst_g",
                 curve_source="speclite"),
    _survey_band("lsst", "LSST", "lsst2023-r", "r", 6207.6, 2.691, key="lsst_r",
                 curve_source="speclite"),
    _survey_band("lsst", "LSST", "lsst2023-i", "i", 7548.9, 2.017, key="lsst_i",
                 curve_source="speclite"),
    _survey_band("lsst", "LSST", "lsst2023-z", "z", 8673.8, 1.607, key="lsst_z",
                 curve_source="speclite"),
    _survey_band("lsst", "LSST", "lsst2023-y", "y", 9746.2, 1.299, key="lsst_y",
                 curve_source="speclite"),
    _survey_band("suprimecam", "Suprime-Cam", "subaru_suprimecam_B", "B", 4448.0, 4.033,
                 tokens=("suprimecam", "suprime", "subaru")),
    _survey_band("suprimecam", "Suprime-Cam", "subaru_suprimecam_V", "V", 5470.1, 3.142,
                 tokens=("suprimecam", "suprime", "subaru")),
    _survey_band("suprimecam", "Suprime-Cam", "subaru_suprimecam_rp", "rp", 6275.4, 2.653,
                 tokens=("suprimecam", "suprime", "subaru")),
    _survey_band("suprimecam", "Suprime-Cam", "subaru_suprimecam_ip", "ip", 7671.1, 1.970,
                 tokens=("suprimecam", "suprime", "subaru")),
    _survey_band("suprimecam", "Suprime-Cam", "subaru_suprimecam_zp", "zp", 9028.1, 1.501,
                 tokens=("suprimecam", "suprime", "subaru")),
    _survey_band("wfcam", "UKIDSS", "ukirt_wfcam_J", "J", 12501.5, 0.836, 0.938,
                 tokens=("wfcam", "ukidss", "ukirt")),
    _survey_band("wfcam", "UKIDSS", "ukirt_wfcam_H", "H", 16359.5, 0.534, 1.379,
                 tokens=("wfcam", "ukidss", "ukirt")),
    _survey_band("wfcam", "UKIDSS", "ukirt_wfcam_K", "K", 22059.8, 0.320, 1.900,
                 tokens=("wfcam", "ukidss", "ukirt")),
    _survey_band("euclid", "Euclid", "Euclid-VIS", "VIS", 7247.7, 2.247, key="euclid_vis",
                 curve_source="speclite", extra_stems=("VIS",)),
    _survey_band("euclid", "Euclid", "Euclid-Y", "Y", 10803.3, 1.089, key="euclid_y",
                 tokens=("euclid", "nisp"), curve_source="speclite"),
    _survey_band("euclid", "Euclid", "Euclid-J", "J", 13638.7, 0.735, key="euclid_j",
                 tokens=("euclid", "nisp"), curve_source="speclite"),
    _survey_band("euclid", "Euclid", "Euclid-H", "H", 17680.8, 0.474, key="euclid_h",
                 tokens=("euclid", "nisp"), curve_source="speclite"),
]

#: Every supported band, keyed by canonical name, in order of wavelength: the bands of
#: `BANDS` and those of DECam (Legacy Surveys south, DES), BASS and MzLS (Legacy Surveys
#: north), Pan-STARRS1, HSC, LSST, Subaru Suprime-Cam, UKIDSS WFCAM and Euclid.
ALL_BANDS = {band.name: band for band in sorted(_BAND_LIST + _SURVEY_BAND_LIST,
                                                key=lambda b: b.pivot)}

#: The filter curves of every supported band, by the name the population generator and
#: `load_filter_curve` use: the astro-sedpy filter name, or (for the speclite curves) the
#: band key (``euclid_vis`` is speclite's ``Euclid-VIS``, ``lsst_u`` is ``lsst2023-u``).
#: The single list of filters the training population is computed in.
SURVEY_FILTERS = (
    "galex_FUV", "galex_NUV",
    "sdss_u0", "sdss_g0", "sdss_r0", "sdss_i0", "sdss_z0",
    "decam_u", "decam_g", "decam_r", "decam_i", "decam_z", "decam_Y",
    "bass_g", "bass_r", "mzls_z",
    "panstarrs_g", "panstarrs_r", "panstarrs_i", "panstarrs_z", "panstarrs_y",
    "hsc_g", "hsc_r", "hsc_i", "hsc_z", "hsc_y",
    "lsst_baseline_u", "lsst_baseline_g", "lsst_baseline_r", "lsst_baseline_i",
    "lsst_baseline_z", "lsst_baseline_y",
    "subaru_suprimecam_B", "subaru_suprimecam_V", "subaru_suprimecam_rp",
    "subaru_suprimecam_ip", "subaru_suprimecam_zp",
    "vista_vircam_Z", "vista_vircam_Y", "vista_vircam_J", "vista_vircam_H",
    "vista_vircam_Ks",
    "ukirt_wfcam_J", "ukirt_wfcam_H", "ukirt_wfcam_K",
    "twomass_J", "twomass_H", "twomass_Ks",
    "wise_w1", "wise_w2", "wise_w3", "wise_w4",
    "euclid_vis", "euclid_y", "euclid_j", "euclid_h",
    "lsst_u", "lsst_g", "lsst_r", "lsst_i", "lsst_z", "lsst_y",
)

# numpy >= 2 calls it trapezoid; numpy 1 trapz.
_trapezoid = getattr(np, "trapezoid", None) or np.trapz  # noqa: NPY201


_ALIASES = {"Ks": "Ks_2MASS", "J2MASS": "J_2MASS", "H2MASS": "H_2MASS", "2MASS_J": "J_2MASS",
            "2MASS_H": "H_2MASS", "2MASS_Ks": "Ks_2MASS"}
# Every band is also named by its filter curve (sedpy or speclite name): sdss_r0 is r,
# vista_vircam_Ks is K, twomass_Ks is Ks_2MASS, Euclid-VIS is euclid_vis.
_ALIASES.update({band.filter_id: band.name for band in ALL_BANDS.values()
                 if band.filter_id != band.name})


def filter_name(band):
    """The name of a band's curve in `SURVEY_FILTERS` (sedpy name, or key for speclite)."""
    band = get_band(band)
    return band.name if band.curve_source == "speclite" else band.filter_id


def load_filter_curve(filter_id):
    """The transmission curve of a filter: ``(wavelength_angstrom, transmission)``.

    Parameters
    ----------
    filter_id : str
        A name from `SURVEY_FILTERS` (``"decam_g"``, ``"euclid_vis"``), a band key or
        alias (``"r"``, ``"Ks"``), or the curve's own name in speclite
        (``"Euclid-VIS"``, ``"lsst2023-u"``).

    Returns
    -------
    wavelength : ndarray
        Wavelengths in Angstrom, increasing.
    transmission : ndarray
        Photon-counting response (sedpy's ``transmission``, speclite's ``response``).

    Notes
    -----
    Reads the curve from astro-sedpy or speclite (the ``train`` extra), imported here
    only: the rest of the package needs neither.
    """
    band = get_band(filter_id)
    if band.curve_source == "speclite":
        try:
            import speclite.filters
        except ImportError as exc:
            raise MissingDependencyError(f"the curve of {band.name} ({band.filter_id}) comes from "
                                         "speclite: pip install 'astropy-smass[train]'") from exc
        curve = speclite.filters.load_filter(band.filter_id)
        wave, trans = curve.wavelength, curve.response
    else:
        try:
            from sedpy import observate
        except ImportError as exc:
            raise MissingDependencyError(f"the curve of {band.name} ({band.filter_id}) comes from "
                                         "astro-sedpy: pip install 'astropy-smass[train]'") from exc
        curve = observate.Filter(band.filter_id)
        wave, trans = curve.wavelength, curve.transmission
    wave = np.asarray(wave, dtype=float)
    trans = np.asarray(trans, dtype=float)
    order = np.argsort(wave)
    return wave[order], trans[order]


def pivot_wavelength(filter_id):
    """Pivot wavelength (Angstrom) of a filter, computed from its curve.

    ``lambda_p**2 = int T lambda dlambda / int T / lambda dlambda`` for the
    photon-counting response T, as astro-sedpy's ``wave_pivot``.
    """
    wave, trans = load_filter_curve(filter_id)
    return float(np.sqrt(_trapezoid(trans * wave, wave) / _trapezoid(trans / wave, wave)))


#: Milky Way extinction law of the stored A_band / E(B-V): Gordon et al. (2023), R_V = 3.1.
EXTINCTION_LAW = "G23"
EXTINCTION_RV = 3.1


def extinction_coefficient(filter_id, law=EXTINCTION_LAW, r_v=EXTINCTION_RV):
    """A_band / E(B-V) of a filter for a Milky Way law from ``dust_extinction``.

    The law's A(lambda)/E(B-V) = R_V A(lambda)/A_V averaged over the filter with
    photon-counting weights ``T(lambda) f_lambda lambda`` for a source flat in f_nu
    (f_lambda proportional to lambda**-2): the limit of the band's extinction for small
    E(B-V), for which the choice of source spectrum changes A_band by well under 1 per
    cent in the optical. Parts of a curve outside the law's range (912 A to 32 micron for
    G23) are left out.

    Needs ``dust_extinction`` (``test`` and ``train`` extras), astro-sedpy and speclite.
    """
    from dust_extinction import parameter_averages

    model = getattr(parameter_averages, law)(Rv=r_v)
    wave, trans = load_filter_curve(filter_id)
    low, high = (1e4 / x for x in model.x_range[::-1])  # x_range in 1/micron
    ok = (wave > low) & (wave < high) & (trans > 0)
    weight = trans[ok] / wave[ok]
    a_over_ebv = r_v * model(wave[ok] * u.AA)
    return float(_trapezoid(weight * a_over_ebv, wave[ok]) / _trapezoid(weight, wave[ok]))


# Names longer than one letter are also understood in any case (DECAM_G, euclid_VIS).
_LOWER_NAMES = {name.lower(): key for name, key in
                list(_ALIASES.items()) + [(key, key) for key in ALL_BANDS] if len(name) > 2}


def get_band(name):
    """Return the `Band` called ``name`` (canonical key or alias such as ``"Ks"``).

    Raises
    ------
    KeyError
        If ``name`` is not a supported band; the message lists the supported ones.
    """
    if isinstance(name, Band):
        return name
    key = _ALIASES.get(name, name)
    if key not in ALL_BANDS:
        key = _LOWER_NAMES.get(str(name).lower(), key)
    if key not in ALL_BANDS:
        raise UnknownNameError(f"unknown band {name!r}; supported bands: {', '.join(ALL_BANDS)}")
    return ALL_BANDS[key]


# ----------------------------------------------------------------------------------------
# Photometric systems that survey= names.

_WISE = {"W1": "W1", "W2": "W2", "W3": "W3", "W4": "W4"}
_SUPRIME = {"B": "subaru_suprimecam_B", "V": "subaru_suprimecam_V",
            "r": "subaru_suprimecam_rp", "rp": "subaru_suprimecam_rp",
            "r+": "subaru_suprimecam_rp", "i": "subaru_suprimecam_ip",
            "ip": "subaru_suprimecam_ip", "i+": "subaru_suprimecam_ip",
            "z": "subaru_suprimecam_zp", "zp": "subaru_suprimecam_zp",
            "z+": "subaru_suprimecam_zp", "zpp": "subaru_suprimecam_zp",
            "z++": "subaru_suprimecam_zp"}
_VISTA = {"Z": "Z", "Y": "Y", "J": "J", "H": "H", "K": "K", "Ks": "K"}

#: The photometric systems that ``survey=`` names, as ``{survey: {letter: band key}}``.
#: With ``survey=``, a band letter in a column name that carries no system (``g``,
#: ``mag_g``, ``FLUX_G``, ``MAG_AUTO_G``) is that survey's band. A letter mapped to None
#: is a band of the survey without a supported filter curve (KiDS OmegaCAM u g r i).
SURVEYS = {
    "galex": {"FUV": "FUV", "NUV": "NUV"},
    "sdss": {b: b for b in "ugriz"},
    "decam": {b: f"decam_{b}" for b in ("u", "g", "r", "i", "z", "Y")},
    "des": {b: f"decam_{b}" for b in ("g", "r", "i", "z", "Y")},
    "legacy_south": {**{b: f"decam_{b}" for b in "griz"}, **_WISE},
    "legacy_north": {"g": "bass_g", "r": "bass_r", "z": "mzls_z", **_WISE},
    "bass": {"g": "bass_g", "r": "bass_r"},
    "mzls": {"z": "mzls_z"},
    "panstarrs": {b: f"panstarrs_{b}" for b in "grizy"},
    "hsc": {b: f"hsc_{b}" for b in "grizy"},
    "lsst": {b: f"lsst_{b}" for b in "ugrizy"},
    "lsst_baseline": {b: f"lsst_baseline_{b}" for b in "ugrizy"},
    "suprimecam": _SUPRIME,
    "vista": _VISTA,
    "ukidss": {"J": "ukirt_wfcam_J", "H": "ukirt_wfcam_H", "K": "ukirt_wfcam_K"},
    "2mass": {"J": "J_2MASS", "H": "H_2MASS", "K": "Ks_2MASS", "Ks": "Ks_2MASS"},
    "wise": _WISE,
    "euclid": {"VIS": "euclid_vis", "Y": "euclid_y", "J": "euclid_j", "H": "euclid_h"},
    "kids": {"u": None, "g": None, "r": None, "i": None, **_VISTA},
}

#: Other names of the surveys in `SURVEYS`.
SURVEY_ALIASES = {
    "decals": "legacy_south", "ls_south": "legacy_south", "legacy_surveys_south": "legacy_south",
    "desi_south": "legacy_south", "ls_north": "legacy_north", "legacy_surveys_north":
    "legacy_north", "desi_north": "legacy_north", "bass_mzls": "legacy_north",
    "ps1": "panstarrs", "pan-starrs": "panstarrs", "pan-starrs1": "panstarrs",
    "panstarrs1": "panstarrs", "suprime-cam": "suprimecam", "suprime": "suprimecam",
    "subaru": "suprimecam", "viking": "vista", "vhs": "vista", "vircam": "vista",
    "ultravista": "vista", "wfcam": "ukidss", "ukirt": "ukidss", "twomass": "2mass",
    "allwise": "wise", "unwise": "wise", "kids-viking": "kids", "desy": "des",
}

_KIDS_NOTE = ("KiDS OmegaCAM u g r i have no filter curve in astro-sedpy, speclite or "
              "any other filter-curve package on PyPI (pyphot, kcorrect, svo-filters, "
              "sncosmo, eazy and lephare were checked: the last four fetch curves from the "
              "network at run time), so they are not supported; VIKING Z Y J H Ks are the "
              "VISTA bands (survey='viking')")

# Letters of bands that several systems share: never resolved from a flux or pipeline
# name without survey=. FUV, NUV, W1-W4 and VIS belong to one system each.
_UNIQUE_LETTERS = {"fuv", "nuv", "w1", "w2", "w3", "w4", "vis"}
_SHARED_LETTERS = {letter.lower() for table in SURVEYS.values() for letter in table
                   if letter.lower() not in _UNIQUE_LETTERS}


def normalise_survey(survey):
    """The tuple of `SURVEYS` names that ``survey`` means (one name or several).

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones) or the bare
        ``"legacy"``, which does not say which hemisphere's filters.
    """
    if survey is None:
        return ()
    if isinstance(survey, str):
        survey = [part for part in survey.replace(",", " ").split() if part]
    names = []
    for name in survey:
        key = str(name).strip().lower().replace(" ", "_")
        key = SURVEY_ALIASES.get(key, key)
        if key in ("legacy", "legacy_surveys", "ls", "desi"):
            raise InputError(
                f"survey={name!r} does not say which filters: the Legacy Surveys are DECam "
                "g r (i) z in the south (survey='legacy_south') and BASS g r + MzLS z in the "
                "north, at Dec > 32.375 deg in the north Galactic cap "
                "(survey='legacy_north'); a catalogue with both has a column saying which "
                "(PHOTSYS 'S' or 'N'): split it and predict each part")
        if key not in SURVEYS:
            raise InputError(f"unknown survey {name!r}; known: {', '.join(SURVEYS)} (and "
                             f"{', '.join(sorted(SURVEY_ALIASES))})")
        if key not in names:
            names.append(key)
    return tuple(names)


def _survey_letter(letter, surveys):
    """The band key of ``letter`` in the first of ``surveys`` that has it, else None.

    The letter's case is matched first (VISTA Z, SDSS z), then any case (DES Y, y).
    """
    for exact in (True, False):
        for survey in surveys:
            for name, key in SURVEYS[survey].items():
                if (name == letter) if exact else (name.lower() == letter.lower()):
                    if key is None:
                        raise BandColumnError(f"band {letter!r} of survey {survey!r}: "
                                              f"{_KIDS_NOTE}")
                    return key
    return None


def resolve_band(name, survey=None):
    """The `Band` that ``name`` means, reading a bare band letter in ``survey``'s system.

    Without ``survey`` (or for a letter the survey lacks) it is `get_band`: ``"g"`` is
    SDSS g, ``"Z"`` VISTA Z, ``"Ks"`` 2MASS Ks, as always. With ``survey="des"``, ``"g"``
    is ``decam_g``. Keys of ``columns=``, ``errors=``, ``units=`` and ``vega=`` are read
    this way.
    """
    surveys = normalise_survey(survey)
    if surveys and isinstance(name, str) and name.lower() in _SHARED_LETTERS:
        key = _survey_letter(name, surveys)
        if key is not None:
            return ALL_BANDS[key]
    return get_band(name)


# ----------------------------------------------------------------------------------------
# Column names.

# Prefixes and suffixes that decorate a band name in catalogue column names:
# GAMA (absmag_r, mag_ab_r), Shark/Viperfish (total_ab_dust_r_sdss), ECO (rmag), DustPedia
# (SDSS_r). Those in _FLUX_AFFIXES name a flux (Legacy Surveys FLUX_G).
_PREFIXES = ("total_ab_dust_", "total_ab_nodust_", "total_ap_dust_", "mag_ab_dust_",
             "mag_ab_nodust_", "mag_ap_dust_", "absmag_", "abs_mag_", "mag_ab_", "mag_", "m_",
             "flux_", "f_")
_SUFFIXES = ("_absmag", "_abmag", "_mag", "mag", "_flux", "flux")
_FLUX_AFFIXES = {"flux_", "f_", "_flux", "flux"}
# Shark writes the survey after the band; these suffixes identify the survey.
_SURVEY_SUFFIXES = {"galex": "GALEX", "sdss": "SDSS", "vista": "VISTA", "viking": "VISTA",
                    "2mass": "2MASS", "wise": "WISE"}

# Photometry kinds of survey pipelines (SExtractor MAG_AUTO_G, DES SOF_CM_MAG_G and
# BDF_MAG_G, KiDS MAG_GAAP_G, COSMOS2015 V_MAG_AUTO), in order of preference for a galaxy's
# total light: when a table has several for one band, the first is used (and reported).
# Several surveys name their columns so: the band's system must be named (survey=).
_PIPELINE_KINDS = ("bdf", "sof_cm", "gaap", "cmodel", "auto", "kron", "petro", "model",
                   "detmodel", "iso", "psf", "wavg_psf")
_PIPELINE_AFFIXES = {}
for _rank, _kind in enumerate(_PIPELINE_KINDS):
    for _flux, _word in enumerate(("mag", "flux")):
        _PIPELINE_AFFIXES[f"{_word}_{_kind}_"] = (_kind, _rank, _flux, "prefix")
        _PIPELINE_AFFIXES[f"_{_word}_{_kind}"] = (_kind, _rank, _flux, "suffix")
        _PIPELINE_AFFIXES[f"{_kind}_{_word}_"] = (_kind, _rank, _flux, "prefix")
    _PIPELINE_AFFIXES[f"wavg_mag_{_kind}_"] = ("wavg_" + _kind, len(_PIPELINE_KINDS), 0,
                                               "prefix")
    _PIPELINE_AFFIXES[f"wavg_flux_{_kind}_"] = ("wavg_" + _kind, len(_PIPELINE_KINDS), 1,
                                                "prefix")
del _rank, _kind, _flux, _word

# Column names that are usually a redshift, though they are also band names.
_REDSHIFT_NAMES = ("z", "Z")


class _Convention:
    """The column names of one service: a pattern, its band and its preference rank."""

    def __init__(self, family, pattern, band, kinds, vega=False, errors=None, describe=""):
        self.family = family
        self.pattern = re.compile(pattern, re.IGNORECASE)
        self._band = band
        self.kinds = kinds
        self.vega = vega
        self._errors = errors
        self.describe = describe

    def match(self, colname):
        """``(band key, rank)`` if ``colname`` follows this convention, else None."""
        found = self.pattern.fullmatch(colname)
        if found is None:
            return None
        band, kind, is_flux = self._band(found)
        return band, (self.kinds.index(kind.lower()), is_flux)

    def errors(self, colname):
        found = self.pattern.fullmatch(colname)
        return self._errors(found) if (found and self._errors) else ()


def _letter(band_keys):
    return lambda found: band_keys[found.group(1).lower()]


_SDSS_KINDS = ("cmodel", "model", "petro", "dev", "exp", "psf", "fiber", "fiber2")
_TWOMASS_KINDS = ("_ext", "_k20fe", "")
_PS1_KINDS = ("kron", "meankron", "ap", "meanap", "psf", "meanpsf")
_HSC_KINDS = ("cmodel", "kronflux", "psfflux", "gaap", "convolvedflux", "apertureflux")
_EUCLID_KINDS = ("templfit", "sersic", "disk_sersic", "psf", "aper")
_TWOMASS = {"j": "J_2MASS", "h": "H_2MASS", "k": "Ks_2MASS"}

#: Column conventions of the big services, recognised without ``survey=``: each names its
#: own photometric system. When a table has several kinds of photometry for one band,
#: the first kind in the tuple is used and the choice is reported in the result's meta
#: (``smass_band_choices``); ``columns=`` overrides it.
CONVENTIONS = (
    _Convention("SDSS", r"(cmodel|model|petro|dev|exp|psf|fiber2|fiber)mag_([ugriz])",
                lambda f: (f.group(2).lower(), f.group(1), 0), _SDSS_KINDS,
                describe="SDSS cModelMag > modelMag > petroMag > devMag > expMag > psfMag > "
                         "fiberMag (modelMagErr_* etc. errors)"),
    _Convention("2MASS", r"([jhk])_m(_ext|_k20fe)?",
                lambda f: (_TWOMASS[f.group(1).lower()], f.group(2) or "", 0),
                _TWOMASS_KINDS, vega=True,
                errors=lambda f: ((f"{f.group(1)}_msig{f.group(2)}",) if f.group(2) else
                                  (f"{f.group(1)}_msigcom", f"{f.group(1)}_cmsig")),
                describe="2MASS j_m_ext > j_m_k20fe > j_m (Vega; errors *_msigcom, "
                         "*_msig_ext, *_msig_k20fe)"),
    _Convention("WISE", r"w([1-4])(gmag|mpro)",
                lambda f: (f"W{f.group(1)}", f.group(2), 0), ("gmag", "mpro"), vega=True,
                errors=lambda f: ((f"w{f.group(1)}gerr",) if f.group(2).lower() == "gmag"
                                  else (f"w{f.group(1)}sigmpro",)),
                describe="WISE w1gmag > w1mpro (Vega; errors w1gerr, w1sigmpro)"),
    _Convention("Pan-STARRS1", r"([grizy])(meankron|meanap|meanpsf|kron|ap|psf)mag",
                lambda f: (f"panstarrs_{f.group(1).lower()}", f.group(2), 0), _PS1_KINDS,
                describe="Pan-STARRS1 gKronMag > gMeanKronMag > gApMag > gMeanApMag > "
                         "gPSFMag > gMeanPSFMag (errors *MagErr)"),
    _Convention("HSC", r"([grizy])_(cmodel|kronflux|psfflux|gaap\w*|convolvedflux\w*|"
                       r"apertureflux\w*)_(mag|flux)",
                lambda f: (f"hsc_{f.group(1).lower()}",
                           next(k for k in _HSC_KINDS if f.group(2).lower().startswith(k)),
                           int(f.group(3).lower() == "flux")), _HSC_KINDS,
                describe="HSC g_cmodel_mag > g_kronflux_mag > g_psfflux_mag (errors "
                         "*_magerr or *_magsigma; fluxes *_flux after magnitudes)"),
    _Convention("Euclid", r"flux_(vis|y|j|h)_(templfit|sersic|disk_sersic|psf|\dfwhm_aper)",
                lambda f: (f"euclid_{f.group(1).lower()}",
                           "aper" if f.group(2).lower().endswith("aper") else f.group(2), 1),
                _EUCLID_KINDS,
                describe="Euclid MER flux_*_templfit > *_sersic > *_disk_sersic > *_psf > "
                         "*_aper (errors fluxerr_*)"),
)

_PIPELINE_DESCRIBE = ("pipeline names (MAG_AUTO_G, SOF_CM_MAG_G, BDF_MAG_G, MAG_GAAP_G, "
                      "V_MAG_AUTO): " + " > ".join(_PIPELINE_KINDS) + " > wavg_psf; "
                      "magnitudes before fluxes")


@dataclass(frozen=True)
class _Hit:
    band: str
    family: object = None  # preference family: a _Convention, "pipeline" or None
    rank: tuple = None
    vega: bool = False


def _stem_matches(stem, band):
    for candidate in band.stems:
        if candidate in ("z", "Z"):
            if stem == candidate:
                return True
        elif stem.lower() == candidate.lower():
            return True
    return False


def _candidate_stems(colname):
    """The column name with each recognised decoration removed (itself included).

    Returns ``{stem: (kind, rank)}``: kind ``""`` (no decoration or a magnitude one),
    ``"flux"`` (a flux decoration) or ``"pipeline"`` (with its preference rank).
    """
    stems = {colname: ("", None)}
    lowered = colname.lower()
    for prefix in _PREFIXES:
        if lowered.startswith(prefix):
            stems.setdefault(colname[len(prefix):], ("flux" if prefix in _FLUX_AFFIXES
                                                     else "", None))
    for stem, (kind, _) in list(stems.items()):
        for suffix in _SUFFIXES:
            if stem.lower().endswith(suffix) and len(stem) > len(suffix):
                stems.setdefault(stem[: -len(suffix)],
                                 ("flux" if suffix in _FLUX_AFFIXES or kind == "flux" else "",
                                  None))
    for affix, (_, rank, is_flux, where) in _PIPELINE_AFFIXES.items():
        if where == "prefix" and lowered.startswith(affix) and len(colname) > len(affix):
            stems[colname[len(affix):]] = ("pipeline", (rank, is_flux))
        elif where == "suffix" and lowered.endswith(affix) and len(colname) > len(affix):
            stems[colname[: -len(affix)]] = ("pipeline", (rank, is_flux))
    return stems


# The WFCAM and VISTA science archives (UKIDSS LAS, VHS, VIKING): jPetroMag, ksAperMag3,
# yHallMag, with errors *Err, in Vega magnitudes (converted to AB). VISTA and WFCAM share
# the letters, so survey= must say which ('vista' or 'ukidss'). Petrosian first: the
# archives' total magnitude.
_ARCHIVE_KINDS = ("petro", "hall", "kron", "aper", "psf")
_ARCHIVE = re.compile(r"(z|y|j|h|k|ks)(petro|hall|kron|aper|psf)mag\d*", re.IGNORECASE)
_ARCHIVE_DESCRIBE = ("WFCAM/VISTA archives jPetroMag > jHallMag > jKronMag > jAperMag3 > "
                     "jPsfMag (Vega; errors *Err)")


@functools.lru_cache(maxsize=4096)
def _column_hits(colname, surveys=()):
    """What ``colname`` could hold: ``((_Hit, ...), letter needing a survey or None)``.

    Cached: the answer depends only on the name and the registry, which is fixed, and
    finding it tries every band's spellings (most of a small table's prediction time).
    """
    for convention in CONVENTIONS:
        matched = convention.match(colname)
        if matched is not None:
            band, rank = matched
            return (_Hit(band, convention, rank, convention.vega),), None
    archive = _ARCHIVE.fullmatch(colname)
    if archive is not None:
        letter = archive.group(1)
        if not surveys:
            return (), letter
        key = _survey_letter(letter.upper() if letter.lower() != "ks" else "Ks", surveys)
        rank = (_ARCHIVE_KINDS.index(archive.group(2).lower()), 0)
        vega = key is not None and ALL_BANDS[key].native_system == "Vega"
        return ((_Hit(key, "archive", rank, vega),) if key else ()), None
    hits = {}
    unresolved = None
    for stem, (kind, rank) in _candidate_stems(colname).items():
        family = "pipeline" if kind == "pipeline" else None
        if stem.lower() in _SHARED_LETTERS:
            if surveys:
                key = _survey_letter(stem, surveys)
                if key is not None:
                    hits.setdefault(key, _Hit(key, family, rank))
            elif kind:
                # A flux or pipeline name of a shared letter (FLUX_G, MAG_AUTO_G): the
                # survey's filters differ, and are never guessed.
                unresolved = stem
            else:
                for band in BANDS.values():
                    if _stem_matches(stem, band):
                        hits.setdefault(band.name, _Hit(band.name))
            continue
        # Shark/Viperfish: "<band>_<survey>", the survey fixing SDSS z vs VISTA Z.
        head, _, tail = stem.rpartition("_")
        survey = _SURVEY_SUFFIXES.get(tail.lower()) if head else None
        for band in ALL_BANDS.values():
            if survey is not None and band.survey == survey and head.lower() in (
                    band.name.lower(), band.name.split("_")[0].lower(),
                    band.filter_id.rsplit("_", 1)[-1].lower()):
                hits.setdefault(band.name, _Hit(band.name, family, rank))
            elif _stem_matches(stem, band):
                hits.setdefault(band.name, _Hit(band.name, family, rank))
    return tuple(hits.values()), (None if hits else unresolved)


def _column_bands(colname):
    """Canonical band names that ``colname`` could hold (plain names, no survey)."""
    return {hit.band for hit in _column_hits(colname)[0]}


@dataclass
class BandMatch:
    """Which column holds which band, and how that was decided.

    Attributes
    ----------
    columns : dict
        ``{band: column}`` in wavelength order (what `find_band_columns` returns).
    vega : tuple of str
        Bands whose column follows a convention of Vega magnitudes (2MASS ``j_m``, WISE
        ``w1mpro``): converted to AB unless the column's unit says AB.
    choices : dict
        ``{band: {"column", "candidates", "preference"}}`` for bands that several columns
        could hold, chosen by a service's documented preference order.
    survey : tuple of str
        The `SURVEYS` used for bare band letters (empty: their historical meaning).
    """

    columns: dict
    vega: tuple = ()
    choices: dict = field(default_factory=dict)
    survey: tuple = ()

    def systems(self):
        """``{band: survey label}`` of the matched bands (e.g. ``{"decam_g": "DECam"}``)."""
        return {band: ALL_BANDS[band].survey for band in self.columns}


def _unresolved_message(unresolved):
    cols = [col for col, _ in unresolved]
    letters = [letter for _, letter in unresolved]
    col, letter = unresolved[0]
    # A survey band (not one of the historical short names) as the example key.
    example = next((key for table in SURVEYS.values() for name, key in table.items()
                    if key and key not in BANDS and name.lower() == letter.lower()),
                   "decam_g")
    legacy = any(c.lower().startswith("flux_") for c in cols)
    what = ("the Legacy Surveys' flux_<band> is DECam in the south and BASS/MzLS in the "
            "north" if legacy else "several surveys name their columns so")
    plural = len(cols) > 1
    return (f"column{'s' if plural else ''} {', '.join(map(repr, cols))} hold"
            f"{'' if plural else 's'} band{'s' if plural else ''} {' '.join(letters)} of a "
            f"photometric system that the name{'s do' if plural else ' does'} not give "
            f"({what}), and astropy-smass does not guess it. Name the system with "
            "survey=..., e.g. survey='legacy_south' (DECam g r z + WISE), "
            "survey='legacy_north' (BASS g r + MzLS z + WISE), survey='des', 'hsc', "
            "'panstarrs', 'lsst', 'suprimecam' (command line: --survey NAME; all: "
            f"{', '.join(SURVEYS)}), or map each column to a band: "
            f"columns={{{example!r}: {col!r}}}")


def recognise_bands(colnames, bands=None, columns=None, survey=None):
    """Map bands to the columns of a table that hold them, saying how.

    Parameters are those of `find_band_columns`.

    Returns
    -------
    `BandMatch`
    """
    colnames = list(colnames)
    surveys = normalise_survey(survey)
    explicit = {resolve_band(band, surveys).name: col for band, col in (columns or {}).items()}
    for band, col in explicit.items():
        if col not in colnames:
            raise BandColumnError(f"column {col!r} given for band {band!r} is not in the table "
                                  f"(columns: {', '.join(colnames)})")
    wanted = ([resolve_band(b, surveys).name for b in bands] if bands is not None
              else list(ALL_BANDS))
    taken = set(explicit.values())
    candidates = {}
    unresolved = []
    for col in colnames:
        if col in taken:
            continue
        hits, letter = _column_hits(col, surveys)
        if letter is not None:
            unresolved.append((col, letter))
        for hit in hits:
            candidates.setdefault(hit.band, []).append((col, hit))
    if unresolved:
        raise BandColumnError(_unresolved_message(unresolved))
    found, vega, choices = {}, [], {}
    for band in ALL_BANDS:
        if band not in wanted:
            continue
        if band in explicit:
            found[band] = explicit[band]
            continue
        if band not in candidates:
            continue
        cols = candidates[band]
        if len(cols) > 1:
            # A bare "z" or "Z" beside another column of that band (GAMA: Z and
            # absmag_Z; DESI: Z and FLUX_Z) is the redshift, not a magnitude.
            cols = [c for c in cols if c[0] not in _REDSHIFT_NAMES] or cols
        if len(cols) > 1:
            families = {id(hit.family) for _, hit in cols}
            ranks = [hit.rank for _, hit in cols]
            if (cols[0][1].family is None or len(families) > 1
                    or len(set(ranks)) < len(ranks)):
                raise BandColumnError(
                    f"band {band!r} is ambiguous: columns {', '.join(repr(c) for c, _ in cols)} "
                    f"could all hold it; pass columns={{{band!r}: <column>}} to choose")
            cols = sorted(cols, key=lambda c: c[1].rank)
            family = cols[0][1].family
            choices[band] = {
                "column": cols[0][0], "candidates": [c for c, _ in cols],
                "preference": (family.describe if isinstance(family, _Convention)
                               else _ARCHIVE_DESCRIBE if family == "archive"
                               else _PIPELINE_DESCRIBE)}
        found[band] = cols[0][0]
        if cols[0][1].vega:
            vega.append(band)
    # A column mapped by hand that follows a Vega convention for the same band (2MASS
    # j_m as J_2MASS) is Vega all the same.
    for band, col in explicit.items():
        if band in found and any(hit.vega and hit.band == band
                                 for hit in _column_hits(col)[0]):
            vega.append(band)
    vega = [band for band in found if band in vega]
    return BandMatch(found, tuple(vega), choices, surveys)


def suggest_survey(colnames):
    """The `SURVEYS` that would read the most columns named by a band letter alone.

    For the message of a table that no model can use: a COSMOS2015 table of ``mag_V``,
    ``mag_r``, ``mag_ip``, ``mag_zpp`` read without ``survey=`` has only SDSS r.

    Returns
    -------
    list of (str, list of str)
        ``(survey, columns it reads)`` for the surveys that read more letter columns than
        the historical meaning does, most first; empty if none does.
    """
    letter_columns = [col for col in colnames if col not in _REDSHIFT_NAMES
                      and any(stem.lower() in _SHARED_LETTERS
                             for stem in _candidate_stems(col))]
    if not letter_columns:
        return []
    default = set()
    for col in letter_columns:
        hits, _ = _column_hits(col)
        if hits:
            default.add(col)
    found = []
    for survey, table in SURVEYS.items():
        if None in table.values():
            continue
        read = []
        for col in letter_columns:
            try:
                hits, _ = _column_hits(col, (survey,))
            except BandColumnError:  # pragma: no cover - only KiDS raises
                continue
            if hits:
                read.append(col)
        if len(read) > len(default):
            found.append((survey, read))
    return sorted(found, key=lambda item: -len(item[1]))


def find_band_columns(colnames, bands=None, columns=None, survey=None):
    """Map bands to the columns of a table that hold them.

    Parameters
    ----------
    colnames : iterable of str
        The table's column names.
    bands : iterable of str, optional
        Bands to look for; default all supported bands. Bands without a column are
        left out of the result.
    columns : dict, optional
        Explicit ``{band: column}`` mapping; it always wins over recognition. A band is
        any name `get_band` knows: short (``"r"``), sedpy (``"decam_g"``) or speclite
        (``"Euclid-VIS"``).
    survey : str or sequence of str, optional
        The photometric system (`SURVEYS`: ``"des"``, ``"legacy_south"``, ``"hsc"``...) of
        columns whose names carry a band letter but no system (``g``, ``mag_g``,
        ``FLUX_G``, ``MAG_AUTO_G``), and of bare letters among the keys of ``columns``.
        Without it such names keep their historical meaning (SDSS u g r i z, VISTA Z Y J
        H K, 2MASS Ks), except fluxes and pipeline names (``FLUX_G``, ``MAG_AUTO_G``),
        which are never guessed.

    Returns
    -------
    dict
        ``{band: column}`` in wavelength order.

    Raises
    ------
    BandColumnError
        If an explicit column does not exist; if several columns could hold one band
        (unless they follow one service's convention, whose preference order then
        chooses: see `recognise_bands`); or if a flux or pipeline column names a band
        letter without its system and no ``survey`` is given. The message says how to
        resolve it. A bare ``z`` or ``Z`` column beside another column of the same band
        is taken to be a redshift and is no rival.
    """
    return recognise_bands(colnames, bands, columns, survey).columns


_ERROR_PATTERNS = ("{}_err", "{}_error", "{}err", "{}_e", "e_{}", "del{}", "{}_sigma", "sigma_{}")
_ERROR_WORDS = (("mag", ("err", "_err", "sigma", "_sigma")),
                ("flux", ("err", "_err", "sigma", "_sigma")))


def _error_candidates(col):
    """Names of a band column's error column, most likely first; inverse variances last."""
    yield from (pattern.format(col) for pattern in _ERROR_PATTERNS)
    for convention in CONVENTIONS:
        yield from convention.errors(col)
    # DES magerr_auto_g, SDSS modelMagErr_r, Pan-STARRS gKronMagErr, HSC g_cmodel_magerr,
    # COSMOS V_MAGERR_AUTO, Euclid fluxerr_vis_psf.
    for word, inserts in _ERROR_WORDS:
        for found in re.finditer(word, col, re.IGNORECASE):
            for insert in inserts:
                yield col[:found.end()] + insert + col[found.end():]
    # Legacy Surveys flux_ivar_g: an inverse variance, read as such by the photometry.
    for found in re.finditer("flux", col, re.IGNORECASE):
        yield col[:found.end()] + "_ivar" + col[found.end():]


def find_error_columns(colnames, band_columns, errors=None, survey=None):
    """Map bands to the columns holding their 1-sigma errors.

    A column ``<column>_err`` (also ``_error``, ``e_<column>``, GAMA's
    ``del<column>``) beside a band's column is its error, as are the errors of the
    services' conventions: ``magerr_g`` for ``mag_g``, SDSS ``modelMagErr_r``, 2MASS
    ``j_msigcom``, WISE ``w1sigmpro``, Pan-STARRS ``gKronMagErr``, HSC
    ``g_cmodel_magerr``, and Legacy Surveys inverse variances ``flux_ivar_g`` (read as
    1 / sqrt(ivar)). An explicit ``errors={band: column}`` mapping wins.

    Parameters
    ----------
    colnames : iterable of str
        The table's column names.
    band_columns : dict
        ``{band: column}`` as returned by `find_band_columns`.
    errors : dict, optional
        Explicit ``{band: error_column}`` mapping.
    survey : str or sequence of str, optional
        As for `find_band_columns`: the system of bare letters among the keys of
        ``errors``.

    Returns
    -------
    dict
        ``{band: error_column}`` for the bands whose error was found.
    """
    colnames = list(colnames)
    lowered = {c.lower(): c for c in colnames}
    explicit = {resolve_band(band, survey).name: col for band, col in (errors or {}).items()}
    for band, col in explicit.items():
        if col not in colnames:
            raise BandColumnError(f"error column {col!r} given for band {band!r} is not in the "
                                  "table")
    found = {}
    for band, col in band_columns.items():
        if band in explicit:
            found[band] = explicit[band]
            continue
        for name in _error_candidates(col):
            if name in colnames or name.lower() in lowered:
                found[band] = name if name in colnames else lowered[name.lower()]
                break
    return found


def recompute_registry():
    """Pivot wavelength and A/E(B-V) of every band, recomputed from the filter curves.

    Maintainer tooling (needs astro-sedpy, speclite and dust_extinction): the values
    stored in the registry were written from this function's output, and the test suite
    compares them. ``python -m validation.band_registry`` prints the comparison.

    Returns
    -------
    dict
        ``{band key: (pivot_angstrom, a_over_ebv)}``.
    """
    return {key: (pivot_wavelength(key), extinction_coefficient(key)) for key in ALL_BANDS}
