"""The photometric bands astropy-smass understands, and how table columns map to them.

One registry, `BANDS`, holds every supported band with its filter identity, pivot
wavelength and, where the survey's native system is Vega, the Vega-to-AB offset.
`find_band_columns` and `find_error_columns` recognise the column-naming
conventions of common catalogues (GAMA, Shark/Viperfish, DustPedia, H-ATLAS, ECO,
plain band names); an explicit ``columns={band: column}`` mapping always wins.
"""

from dataclasses import dataclass, field

import astropy.units as u

from ..exceptions import BandColumnError

__all__ = ["Band", "BANDS", "BandColumnError", "get_band", "find_band_columns",
           "find_error_columns"]


@dataclass(frozen=True)
class Band:
    """A photometric band.

    Parameters
    ----------
    name : str
        Canonical key used throughout the package (``"r"``, ``"K"``, ``"Ks_2MASS"``).
    survey : str
        Survey or instrument (``"GALEX"``, ``"SDSS"``, ``"VISTA"``, ``"2MASS"``, ``"WISE"``).
    filter_id : str
        Name of the filter transmission curve in ``astro-sedpy``.
    pivot : `~astropy.units.Quantity`
        Pivot wavelength of the filter (Angstrom), computed from the sedpy curve.
    vega_to_ab : float
        AB minus Vega magnitude (mag) for surveys whose native system is Vega; 0 for AB.
    stems : tuple of str
        Column-name stems recognised as this band, compared case-insensitively except
        for single letters ``z``/``Z``, which separate SDSS z from VISTA Z.
    """

    name: str
    survey: str
    filter_id: str
    pivot: u.Quantity = field(repr=False)
    vega_to_ab: float = 0.0
    stems: tuple = field(default=(), repr=False)

    @property
    def native_system(self):
        """``"Vega"`` or ``"AB"``: the system the survey publishes magnitudes in."""
        return "Vega" if self.vega_to_ab else "AB"


def _band(name, survey, filter_id, pivot_angstrom, vega_to_ab=0.0, stems=()):
    return Band(name, survey, filter_id, pivot_angstrom * u.AA, vega_to_ab,
                (name,) + tuple(stems))


def _sdss(letter, pivot):
    return _band(letter, "SDSS", f"sdss_{letter}0", pivot,
                 stems=(f"{letter}_sdss", f"sdss_{letter}", f"{letter}_prime", f"{letter}prime",
                        f"{letter}petro", f"{letter}_petro", f"{letter}model"))


def _vista(letter, filter_letter, pivot, offset):
    low = letter.lower()
    return _band(letter, "VISTA", f"vista_vircam_{filter_letter}", pivot, offset,
                 stems=(f"{low}_vista", f"vista_{low}", f"{low}_viking", f"viking_{low}",
                        f"{low}_vircam"))


# Pivot wavelengths from the astro-sedpy curves. Vega-to-AB offsets: 2MASS from
# Blanton & Roweis (2007); VISTA from the CASU VIRCAM calibration; WISE from
# Jarrett et al. (2011). GALEX and SDSS are AB natively (SDSS u is ~0.04 mag off AB,
# which we do not correct, as is common practice).
_BAND_LIST = [
    _band("FUV", "GALEX", "galex_FUV", 1535.1,
          stems=("galex_fuv", "fuv_galex", "fuv_mag")),
    _band("NUV", "GALEX", "galex_NUV", 2300.8,
          stems=("galex_nuv", "nuv_galex", "nuv_mag")),
    _sdss("u", 3556.5),
    _sdss("g", 4702.4),
    _sdss("r", 6174.9),
    _sdss("i", 7490.8),
    _sdss("z", 8946.4),
    _vista("Z", "Z", 8805.2, 0.521),
    _vista("Y", "Y", 10218.4, 0.618),
    _vista("J", "J", 12527.5, 0.937),
    _vista("H", "H", 16432.5, 1.384),
    _vista("K", "Ks", 21502.9, 1.839),
    _band("J_2MASS", "2MASS", "twomass_J", 12355.0, 0.91,
          stems=("j_2mass", "2mass_j", "twomass_j", "j_twomass", "j2mass")),
    _band("H_2MASS", "2MASS", "twomass_H", 16457.2, 1.39,
          stems=("h_2mass", "2mass_h", "twomass_h", "h_twomass", "h2mass")),
    _band("Ks_2MASS", "2MASS", "twomass_Ks", 21602.9, 1.85,
          stems=("ks", "ks_2mass", "2mass_ks", "twomass_ks", "ks_twomass", "k_2mass",
                 "2mass_k", "ks2mass")),
    _band("W1", "WISE", "wise_w1", 33682.2, 2.699,
          stems=("wise1", "wise_w1", "w1_wise", "wise_3.4", "w1mpro")),
    _band("W2", "WISE", "wise_w2", 46179.1, 3.339,
          stems=("wise2", "wise_w2", "w2_wise", "wise_4.6", "w2mpro")),
    _band("W3", "WISE", "wise_w3", 120718.5, 5.174,
          stems=("wise3", "wise_w3", "w3_wise", "wise_12", "w3mpro")),
    _band("W4", "WISE", "wise_w4", 221943.7, 6.620,
          stems=("wise4", "wise_w4", "w4_wise", "wise_22", "w4mpro")),
]

#: Every supported band, keyed by canonical name, in order of wavelength.
BANDS = {band.name: band for band in sorted(_BAND_LIST, key=lambda b: b.pivot)}

_ALIASES = {"Ks": "Ks_2MASS", "J2MASS": "J_2MASS", "H2MASS": "H_2MASS", "2MASS_J": "J_2MASS",
            "2MASS_H": "H_2MASS", "2MASS_Ks": "Ks_2MASS"}

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
    if key not in BANDS:
        raise KeyError(f"unknown band {name!r}; supported bands: {', '.join(BANDS)}")
    return BANDS[key]


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
        for band in BANDS.values():
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
    wanted = [get_band(b).name for b in bands] if bands is not None else list(BANDS)
    taken = set(explicit.values())
    candidates = {}
    for col in colnames:
        if col in taken:
            continue
        for band in _column_bands(col):
            candidates.setdefault(band, []).append(col)
    found = {}
    for band in BANDS:
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
