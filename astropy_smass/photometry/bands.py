"""The photometric bands astropy-smass understands, and how table columns map to them.

One registry, `BANDS`, holds every supported band with its filter identity, pivot
wavelength and, where the survey's native system is Vega, the Vega-to-AB offset.
`find_band_columns` and `find_error_columns` recognise the column-naming
conventions of common catalogues (GAMA, Shark/Viperfish, DustPedia, H-ATLAS, ECO,
plain band names); an explicit ``columns={band: column}`` mapping always wins.
"""

from dataclasses import dataclass, field

import astropy.units as u
import numpy as np

from ..exceptions import BandColumnError

__all__ = ["Band", "BANDS", "ALL_BANDS", "SURVEY_FILTERS", "BandColumnError", "get_band",
           "find_band_columns", "find_error_columns", "load_filter_curve", "filter_name",
           "pivot_wavelength", "extinction_coefficient"]


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
                 tokens=(), key=None, curve_source="sedpy"):
    """A band of the survey systems added for observed-frame photometry.

    Its key is the sedpy filter name (or ``key``); it is recognised in column names as the
    key, and as ``<token>_<letter>`` / ``<letter>_<token>`` for each survey token.
    """
    key = key or filter_id
    tokens = tuple(tokens) or (system,)
    stems = tuple(f"{t}_{letter}" for t in tokens) + tuple(f"{letter}_{t}" for t in tokens)
    if filter_id != key:
        stems += (filter_id,)
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
# dust_extinction are installed. Regenerate with ``python -m astropy_smass.photometry.bands``.
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
                 curve_source="speclite"),
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
            raise ImportError(f"the curve of {band.name} ({band.filter_id}) comes from "
                              "speclite: pip install 'astropy-smass[train]'") from exc
        curve = speclite.filters.load_filter(band.filter_id)
        wave, trans = curve.wavelength, curve.response
    else:
        try:
            from sedpy import observate
        except ImportError as exc:
            raise ImportError(f"the curve of {band.name} ({band.filter_id}) comes from "
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


# Prefixes and suffixes that decorate a band name in catalogue column names:
# GAMA (absmag_r), Shark/Viperfish (total_ab_dust_r_sdss), ECO (rmag), DustPedia (SDSS_r).
_PREFIXES = ("total_ab_dust_", "total_ab_nodust_", "total_ap_dust_", "mag_ab_dust_",
             "mag_ab_nodust_", "mag_ap_dust_", "absmag_", "abs_mag_", "mag_", "m_", "flux_",
             "f_")
_SUFFIXES = ("_absmag", "_abmag", "_mag", "mag", "_flux", "flux")
# Shark writes the survey after the band; these suffixes identify the survey.
_SURVEY_SUFFIXES = {"galex": "GALEX", "sdss": "SDSS", "vista": "VISTA", "viking": "VISTA",
                    "2mass": "2MASS", "wise": "WISE"}


# Column names that are usually a redshift, though they are also band names.
_REDSHIFT_NAMES = ("z", "Z")


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
        raise KeyError(f"unknown band {name!r}; supported bands: {', '.join(ALL_BANDS)}")
    return ALL_BANDS[key]


def _stem_matches(stem, band):
    for candidate in band.stems:
        if candidate in ("z", "Z"):
            if stem == candidate:
                return True
        elif stem.lower() == candidate.lower():
            return True
    return False


def _candidate_stems(colname):
    """The column name with each recognised decoration removed (itself included)."""
    stems = {colname}
    lowered = colname.lower()
    for prefix in _PREFIXES:
        if lowered.startswith(prefix):
            stems.add(colname[len(prefix):])
    for stem in list(stems):
        for suffix in _SUFFIXES:
            if stem.lower().endswith(suffix) and len(stem) > len(suffix):
                stems.add(stem[: -len(suffix)])
    return stems


def _column_bands(colname):
    """Canonical band names that ``colname`` could hold."""
    matches = set()
    for stem in _candidate_stems(colname):
        # Shark/Viperfish: "<band>_<survey>", the survey fixing SDSS z vs VISTA Z.
        head, _, tail = stem.rpartition("_")
        survey = _SURVEY_SUFFIXES.get(tail.lower()) if head else None
        for band in ALL_BANDS.values():
            if survey is not None and band.survey == survey and head.lower() in (
                    band.name.lower(), band.name.split("_")[0].lower(),
                    band.filter_id.rsplit("_", 1)[-1].lower()):
                matches.add(band.name)
            elif _stem_matches(stem, band):
                matches.add(band.name)
    return matches


def find_band_columns(colnames, bands=None, columns=None):
    """Map bands to the columns of a table that hold them.

    Parameters
    ----------
    colnames : iterable of str
        The table's column names.
    bands : iterable of str, optional
        Bands to look for; default all supported bands. Bands without a column are
        left out of the result.
    columns : dict, optional
        Explicit ``{band: column}`` mapping; it always wins over recognition.

    Returns
    -------
    dict
        ``{band: column}`` in wavelength order.

    Raises
    ------
    BandColumnError
        If an explicit column does not exist, or several columns could hold one
        band; the message lists the candidates. A bare ``z`` or ``Z`` column beside
        another column of the same band is taken to be a redshift and is no rival.
    """
    colnames = list(colnames)
    explicit = {get_band(band).name: col for band, col in (columns or {}).items()}
    for band, col in explicit.items():
        if col not in colnames:
            raise BandColumnError(f"column {col!r} given for band {band!r} is not in the table "
                                  f"(columns: {', '.join(colnames)})")
    wanted = [get_band(b).name for b in bands] if bands is not None else list(ALL_BANDS)
    taken = set(explicit.values())
    candidates = {}
    for col in colnames:
        if col in taken:
            continue
        for band in _column_bands(col):
            candidates.setdefault(band, []).append(col)
    found = {}
    for band in ALL_BANDS:
        if band not in wanted:
            continue
        if band in explicit:
            found[band] = explicit[band]
        elif band in candidates:
            cols = candidates[band]
            if len(cols) > 1 and band in _REDSHIFT_NAMES:
                # A bare "z" or "Z" beside another column of that band (GAMA: Z and
                # absmag_Z) is the redshift, not a magnitude.
                cols = [col for col in cols if col not in _REDSHIFT_NAMES] or cols
            if len(cols) > 1:
                raise BandColumnError(
                    f"band {band!r} is ambiguous: columns {', '.join(map(repr, cols))} could "
                    f"all hold it; pass columns={{{band!r}: <column>}} to choose")
            found[band] = cols[0]
    return found


_ERROR_PATTERNS = ("{}_err", "{}_error", "{}err", "{}_e", "e_{}", "del{}", "{}_sigma", "sigma_{}")


def find_error_columns(colnames, band_columns, errors=None):
    """Map bands to the columns holding their 1-sigma errors.

    A column ``<column>_err`` (also ``_error``, ``e_<column>``, GAMA's
    ``del<column>``) beside a band's column is its error. An explicit
    ``errors={band: column}`` mapping wins.

    Parameters
    ----------
    colnames : iterable of str
        The table's column names.
    band_columns : dict
        ``{band: column}`` as returned by `find_band_columns`.
    errors : dict, optional
        Explicit ``{band: error_column}`` mapping.

    Returns
    -------
    dict
        ``{band: error_column}`` for the bands whose error was found.
    """
    colnames = list(colnames)
    lowered = {c.lower(): c for c in colnames}
    explicit = {get_band(band).name: col for band, col in (errors or {}).items()}
    for band, col in explicit.items():
        if col not in colnames:
            raise BandColumnError(f"error column {col!r} given for band {band!r} is not in the "
                                  "table")
    found = {}
    for band, col in band_columns.items():
        if band in explicit:
            found[band] = explicit[band]
            continue
        for pattern in _ERROR_PATTERNS:
            name = pattern.format(col)
            if name in colnames or name.lower() in lowered:
                found[band] = name if name in colnames else lowered[name.lower()]
                break
    return found


def recompute_registry():
    """Pivot wavelength and A/E(B-V) of every band, recomputed from the filter curves.

    Maintainer tooling (needs astro-sedpy, speclite and dust_extinction): the values
    stored in the registry were written from this function's output, and the test suite
    compares them. ``python -m astropy_smass.photometry.bands`` prints the comparison.

    Returns
    -------
    dict
        ``{band key: (pivot_angstrom, a_over_ebv)}``.
    """
    return {key: (pivot_wavelength(key), extinction_coefficient(key)) for key in ALL_BANDS}


if __name__ == "__main__":  # pragma: no cover - maintainer tooling
    print(f"{'band':20s} {'filter':22s} {'pivot':>9s} {'(stored)':>9s} {'A/E(B-V)':>9s} "
          f"{'(stored)':>9s}")
    for key, (pivot, a_over_ebv) in recompute_registry().items():
        band = ALL_BANDS[key]
        print(f"{key:20s} {band.filter_id:22s} {pivot:9.1f} {band.pivot.value:9.1f} "
              f"{a_over_ebv:9.3f} {band.a_over_ebv:9.3f}")
