"""Column recognition from VO metadata: UCDs, column names and descriptions.

Tables from TAP services and VOTable files say what their columns hold with a UCD
(IVOA UCD1+): ``phot.mag;em.opt.R`` is a magnitude in the R range (600-750 nm),
``phot.flux.density;em.IR.3-4um`` a flux density at 3-4 micron, ``src.redshift`` a
redshift, ``stat.error;phot.mag;em.opt.R`` the error of an R magnitude. This module
reads them, on top of the name conventions of `astropy_smass.bands`:

* a column whose UCD is not photometric (``src.redshift``, ``pos.eq.ra``,
  ``meta.id``...) is never taken for a band, whatever its name (a redshift ``z``
  is not the SDSS z band);
* a photometric column (``phot.mag``, ``phot.flux.density``, ``phot.flux``,
  ``phys.magAbs``) with an ``em.*`` atom can only be a band whose pivot wavelength lies
  in that range; among those, its name, a survey named in its name or description
  (``SDSS``, ``2MASS``, ``WISE``...), a band letter in its name (``modelMag_r``) and a
  wavelength quoted in its description (``(893 nm)``) choose one, or none;
* errors are the ``stat.error`` columns of the same band whose names match;
* a magnitude column described as "Vega" (and not "AB") is read as a Vega magnitude;
* when several columns hold one band (SDSS model, cModel and Petrosian magnitudes),
  the one marked ``meta.main`` wins, else the first of cModel, model, Petrosian, Kron/
  auto, aperture, fibre, PSF magnitudes; the choice is returned (and recorded in the
  prediction's ``meta['smass_band_choices']``), and ``columns=`` overrides it.

A table without UCDs is recognised by its column names alone, exactly as
`~astropy_smass.photometry.bands.recognise_bands` does.
"""

import functools
import re
from dataclasses import dataclass, field

import astropy.units as u

from .bands import ALL_BANDS as BANDS
from .bands import (
    BandColumnError,
    BandMatch,
    find_error_columns,
    recognise_bands,
    resolve_band,
)

__all__ = ["ColumnRecognition", "recognise_columns", "ucd_atoms", "photometric_ucd",
           "em_range", "redshift_column", "is_apparent", "default_redshift"]

#: UCD primary atoms of photometric measurements: (atom, kind).
_PHOT_ATOMS = {"phot.mag": "apparent", "phot.flux.density": "flux", "phot.flux": "flux",
               "phys.magabs": "absolute"}

# Wavelength ranges (Angstrom) of the em.* atoms of UCD1+ that name a range by a letter.
_EM_LETTERS = {
    "em.opt.u": (3000, 4000), "em.opt.b": (4000, 5000), "em.opt.v": (5000, 6000),
    "em.opt.r": (6000, 7500), "em.opt.i": (7500, 10000), "em.ir.j": (10000, 15000),
    "em.ir.h": (15000, 20000), "em.ir.k": (20000, 30000), "em.opt": (3000, 10000),
    "em.uv": (100, 4000), "em.ir": (10000, 1e7), "em.ir.nir": (10000, 50000),
    "em.ir.mir": (50000, 300000), "em.ir.fir": (300000, 1e7),
}
_EM_RANGE = re.compile(r"^em\.(uv|ir|mm|x-ray)\.(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)(nm|um|ghz|kev)$")
# A pivot wavelength within this fraction of a range's edge still counts as inside:
# SDSS i (749 nm) is labelled em.opt.I (750-1000 nm) by VizieR and most services.
_EDGE = 0.05

#: Measurement families, most preferred first (for several columns of one band).
_FAMILIES = (("cmodel", ("cmodel",)), ("model", ("model",)), ("petrosian", ("petro",)),
             ("kron", ("kron", "auto")), ("aperture", ("aper", "ap")),
             ("fibre", ("fiber", "fibre")), ("psf", ("psf",)))

_WAVELENGTH = re.compile(r"(\d+(?:\.\d+)?)\s*(nm|um|µm|μm|micron|microns|mum|a|aa|å|angstrom)\b",
                         re.IGNORECASE)
_WAVELENGTH_UNITS = {"nm": 10.0, "um": 1e4, "µm": 1e4, "μm": 1e4, "micron": 1e4,
                     "microns": 1e4, "mum": 1e4, "a": 1.0, "aa": 1.0, "å": 1.0,
                     "angstrom": 1.0}
_ERROR_WORDS = re.compile(r"(error|err|sigcom|sigma|sig|unc|ivar)", re.IGNORECASE)


# -- UCDs -----------------------------------------------------------------------------------
def ucd_atoms(ucd):
    """The atoms of a UCD, lower case, in order (``[]`` for None or an empty string).

    >>> ucd_atoms("phot.mag;em.opt.R;meta.main")
    ['phot.mag', 'em.opt.r', 'meta.main']
    """
    if not ucd:
        return []
    return [atom.strip().lower() for atom in str(ucd).split(";") if atom.strip()]


def photometric_ucd(ucd):
    """What a photometric UCD says: ``(kind, em_atom, is_error)``, or None.

    ``kind`` is ``'apparent'`` (``phot.mag``), ``'absolute'`` (``phys.magAbs``) or
    ``'flux'`` (``phot.flux.density``, ``phot.flux``); ``em_atom`` the ``em.*`` atom (or
    None); ``is_error`` whether it is the UCD of an error (``stat.error;phot.mag...``).

    >>> photometric_ucd("stat.error;phot.mag;em.opt.R")
    ('apparent', 'em.opt.r', True)
    >>> photometric_ucd("src.redshift") is None
    True
    """
    atoms = ucd_atoms(ucd)
    is_error = bool(atoms) and atoms[0] in ("stat.error", "stat.stdev")
    main = atoms[1:] if is_error else atoms
    if not main or main[0] not in _PHOT_ATOMS:
        return None
    em = next((atom for atom in main[1:] if atom.startswith("em.")), None)
    return _PHOT_ATOMS[main[0]], em, is_error


def em_range(atom):
    """The wavelength range (Angstrom) of an ``em.*`` UCD atom, or None.

    >>> em_range("em.IR.3-4um")
    (30000.0, 40000.0)
    >>> em_range("em.opt.R")
    (6000, 7500)
    """
    atom = str(atom).lower()
    if atom in _EM_LETTERS:
        return _EM_LETTERS[atom]
    match = _EM_RANGE.match(atom)
    if not match:
        return None
    low, high, unit = float(match.group(2)), float(match.group(3)), match.group(4)
    if unit in ("nm", "um"):
        scale = 10.0 if unit == "nm" else 1e4
        return low * scale, high * scale
    quantity = u.Quantity([low, high], {"ghz": u.GHz, "kev": u.keV}[unit])
    edges = sorted(quantity.to_value(u.AA, equivalencies=u.spectral()))
    return edges[0], edges[1]


def _bands_in(atom, bands):
    limits = em_range(atom) if atom else None
    if limits is None:
        return None  # no wavelength information
    low, high = limits[0] * (1 - _EDGE), limits[1] * (1 + _EDGE)
    return [b for b in bands if low <= BANDS[b].pivot.to_value(u.AA) <= high]


def _column_ucd(column):
    return (getattr(column.info, "meta", None) or {}).get("ucd")


def _column_text(column):
    return " ".join(str(column.info.description or "").split())


def redshift_column(table, exclude=()):
    """The column that holds redshifts: UCD ``src.redshift``, else named ``redshift``/``z``.

    A column marked ``meta.main`` wins among several ``src.redshift`` columns, and a
    spectroscopic one (``src.redshift``) over a photometric one (``src.redshift.phot``).

    Parameters
    ----------
    table : `~astropy.table.Table`
    exclude : iterable of str
        Columns that cannot be the redshift (e.g. a band column called ``z``).

    Returns
    -------
    str or None
    """
    exclude = set(exclude)
    names = [name for name in table.colnames if name not in exclude]
    ranked = []
    for order, name in enumerate(names):
        atoms = ucd_atoms(_column_ucd(table[name]))
        if atoms and atoms[0] in ("src.redshift", "src.redshift.phot"):
            ranked.append(("meta.main" not in atoms, atoms[0] != "src.redshift", order, name))
    if ranked:
        return min(ranked)[-1]
    for name in names:
        if name.lower() in ("redshift", "z") and _photometric(table[name]) is None \
                and not _non_photometric(table[name]):
            return name
    for name in names:
        if name.lower() in ("redshift", "z"):
            return name
    return None


def _photometric(column):
    return photometric_ucd(_column_ucd(column))


def _non_photometric(column):
    """True when a column's UCD says it is something other than photometry."""
    ucd = _column_ucd(column)
    return bool(ucd_atoms(ucd)) and photometric_ucd(ucd) is None


# -- name cues ------------------------------------------------------------------------------
def _tokens(text, lower=True):
    """Word tokens of a column name: split at ``_``, ``.``, digits and camelCase."""
    text = re.sub(r"([a-z])([A-Z])", r"\1_\2", str(text))
    tokens = [t for t in re.split(r"[^A-Za-z0-9]+|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])",
                                  text) if t]
    return [t.lower() for t in tokens] if lower else tokens


def _norm(text):
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


_SURVEY_ALIASES = {"twomass": "2MASS", "2mass": "2MASS", "viking": "VISTA", "vircam": "VISTA",
                   "vhs": "VISTA", "allwise": "WISE", "unwise": "WISE", "ukidss": "UKIDSS",
                   "legacy": None}
# Parts of band stems that name no survey.
_NOT_SURVEYS = {"prime", "petro", "model", "mag", "flux", "baseline"}


@functools.lru_cache(maxsize=1)
def _survey_keys():
    """``{word: {survey, ...}}``: words that name a band's survey or system."""
    keys = {}
    for band in BANDS.values():
        words = {_norm(band.survey), _norm(getattr(band, "system", "")),
                 _norm(band.filter_id.split("_")[0].split("-")[0])}
        for stem in band.stems:
            words.update(_norm(part) for part in str(stem).split("_"))
        for word in words:
            if len(word) >= 3 and word not in _NOT_SURVEYS \
                    and word != _norm(getattr(band, "letter", "")):
                keys.setdefault(word, set()).add(band.survey)
    for alias, survey in _SURVEY_ALIASES.items():
        if survey is not None and any(b.survey == survey for b in BANDS.values()):
            keys.setdefault(alias, set()).add(survey)
    return keys


def _surveys_named(name, description):
    keys = _survey_keys()
    words = set(_tokens(name)) | {_norm(w) for w in re.split(r"[\s,;:()/'\"]+", description)}
    found = set()
    for key, surveys in keys.items():
        if key in words:
            found |= surveys
    return found


def _named_by_token(band, tokens):
    """True when a token of the name is the band's letter (``r``, ``Ks``/``K``, ``W1``).

    Single letters ``z`` (SDSS) and ``Z`` (VISTA) are told apart by case, as in
    `astropy_smass.bands`.
    """
    core = getattr(band, "letter", "") or band.name.split("_")[0]
    if band.name in ("z", "Z"):
        return band.name in tokens
    lowered = {t.lower() for t in tokens}
    return core.lower() in lowered or (len(core) <= 3 and core.lower().rstrip("s") in lowered)


def _narrow(name, description, candidates):
    """The bands among ``candidates`` that a column's name and description point to."""
    remaining = list(candidates)
    surveys = _surveys_named(name, description)
    if surveys:
        same = [b for b in remaining if BANDS[b].survey in surveys]
        remaining = same or remaining
    if len(remaining) > 1:
        tokens = set(_tokens(name, lower=False))
        lettered = [b for b in remaining if _named_by_token(BANDS[b], tokens)]
        remaining = lettered or remaining
        if len(remaining) > 1 and not surveys:
            # No survey named: a band letter means what it means as a column name
            # (``r`` is SDSS r, see astropy_smass.bands), so modelMag_r is SDSS r.
            plain = set()
            for token in tokens:
                plain |= (_name_bands(token) or set()) & set(remaining)
            remaining = sorted(plain) if len(plain) == 1 else remaining
    if len(remaining) > 1:
        waves = [float(v) * _WAVELENGTH_UNITS[unit.lower()]
                 for v, unit in _WAVELENGTH.findall(description)]
        near = []
        for wave in waves:
            distance = {b: abs(BANDS[b].pivot.to_value(u.AA) / wave - 1) for b in remaining}
            best = min(distance, key=distance.get)
            if distance[best] < 0.15 and sorted(distance.values())[1:2] != [distance[best]]:
                near.append(best)
        if len(set(near)) == 1:
            remaining = near[:1]
    return remaining


def _family(name):
    lowered = name.lower()
    for rank, (family, stems) in enumerate(_FAMILIES):
        for stem in stems:
            if stem == "ap":
                if "ap" in _tokens(name):
                    return rank, family
            elif stem in lowered:
                return rank, family
    return None


# -- recognition ----------------------------------------------------------------------------
@dataclass
class ColumnRecognition(BandMatch):
    """What `recognise_columns` found in a table: a `~astropy_smass.photometry.bands.BandMatch`
    (``columns``, ``vega``, ``choices``, ``survey``) and more.

    Attributes
    ----------
    error_columns : dict
        ``{band: error column}``.
    kinds : dict
        ``{band: 'apparent' | 'absolute' | 'flux'}`` where a UCD says so.
    not_bands : list
        Columns left out because their UCD is not photometric (``src.redshift``...).
    unresolved : dict
        ``{column: [bands]}``: photometric columns that could hold several bands, with
        nothing in their name or description to choose; they are not used.
    """

    error_columns: dict = field(default_factory=dict)
    kinds: dict = field(default_factory=dict)
    not_bands: list = field(default_factory=list)
    unresolved: dict = field(default_factory=dict)

    @property
    def band_columns(self):
        """``{band: column}`` (the same as ``columns``)."""
        return self.columns


def _name_bands(name, survey=None):
    """The bands a column's name alone gives (None: a band letter of no known survey)."""
    try:
        return set(recognise_bands([name], survey=survey).columns)
    except BandColumnError:
        return None


def _ucd_band(table, name, survey):
    """What a photometric UCD says of a column: ``(bands, kind)``.

    ``bands`` is None when the names decide (no wavelength in the UCD, or the name's
    band agrees with it), else the bands the UCD, the name and the description leave
    (one: the column's band; several: unresolved; none: not a band of ours).
    """
    column = table[name]
    kind, em, is_error = _photometric(column)
    if is_error:
        return [], kind
    in_range = _bands_in(em, list(BANDS))
    if in_range is None:
        return None, kind
    by_name = _name_bands(name, survey)
    surveys = _surveys_named(name, _column_text(column))
    if by_name and by_name <= set(in_range) and (
            not surveys or any(BANDS[b].survey in surveys for b in by_name)):
        return None, kind
    return _narrow(name, _column_text(column), in_range), kind


def _choose(band, names, table):
    """One column among several for ``band``: ``(column, reason)`` or ``(None, None)``."""
    main = [n for n in names if "meta.main" in ucd_atoms(_column_ucd(table[n]))]
    if len(main) == 1:
        return main[0], "its UCD is marked meta.main"
    families = {n: _family(n) for n in names}
    if all(families.values()) and len({f[0] for f in families.values()}) == len(names):
        chosen = min(names, key=lambda n: families[n][0])
        others = ", ".join(families[n][1] for n in names if n != chosen)
        return chosen, (f"{families[chosen][1]} magnitudes are preferred to {others}; pass "
                        f"columns={{{band!r}: <column>}} to choose another")
    return None, None


def recognise_columns(table, bands=None, columns=None, errors=None, exclude=(), survey=None):
    """Recognise the band and error columns of a table by UCD, name and description.

    The names are read by `~astropy_smass.photometry.bands.recognise_bands` (service
    conventions, Vega conventions, the choice among a service's magnitude kinds);
    the UCDs add to that: a column whose UCD is not photometric is never a band, a
    photometric column whose name says no band (or a band its UCD's wavelength range
    excludes) gets the band its UCD, name and description point to.

    Parameters
    ----------
    table : `~astropy.table.Table`
        Columns may carry a UCD (``column.info.meta['ucd']``, as VOTable readers and
        `astropy_smass.io.read_table` set it) and a description.
    bands : iterable of str, optional
        Bands to look for; default all.
    columns : dict, optional
        ``{band: column}``; always wins.
    errors : dict, optional
        ``{band: error column}``; always wins.
    exclude : iterable of str
        Columns that are not photometry (the redshift, distance or E(B-V) column).
    survey : str or sequence of str, optional
        As for `~astropy_smass.photometry.bands.find_band_columns`.

    Returns
    -------
    ColumnRecognition

    Raises
    ------
    BandColumnError
        If a column given in ``columns`` or ``errors`` does not exist, or several
        columns could hold one band and nothing tells which to use.
    """
    exclude = {name for name in exclude if isinstance(name, str)}
    wanted = None if bands is None else {resolve_band(b, survey).name for b in bands}
    explicit = {resolve_band(b, survey).name: c for b, c in (columns or {}).items()}
    kinds, not_bands, unresolved, by_ucd, drop = {}, [], {}, {}, set()
    for name in table.colnames:
        if name in exclude:
            continue
        if _non_photometric(table[name]):
            not_bands.append(name)
            continue
        if _photometric(table[name]) is None or name in explicit.values():
            continue
        found, kind = _ucd_band(table, name, survey)
        kinds[name] = kind
        if found is None:
            continue
        drop.add(name)  # the UCD decides this column, not the name
        if len(found) == 1:
            by_ucd.setdefault(found[0], []).append(name)
        elif len(found) > 1:
            unresolved[name] = list(found)
    names = [n for n in table.colnames if n not in exclude and n not in not_bands
             and n not in drop]
    match = recognise_bands(names, bands=bands, columns=columns, survey=survey)
    found, choices = dict(match.columns), dict(match.choices)
    for band, choice in list(choices.items()):
        # A service that marks one of the candidates meta.main says which it means.
        main = [c for c in choice["candidates"]
                if "meta.main" in ucd_atoms(_column_ucd(table[c]))]
        if len(main) == 1 and main[0] != found[band]:
            found[band] = main[0]
            choices[band] = dict(choice, column=main[0],
                                 preference="its UCD is marked meta.main")
    for band, cols in by_ucd.items():
        if band in explicit or (wanted is not None and band not in wanted):
            continue
        rivals = ([found[band]] if band in found else []) + cols
        if len(rivals) > 1:
            chosen, reason = _choose(band, rivals, table)
            if chosen is None:
                raise BandColumnError(
                    f"band {band!r} is ambiguous: columns {', '.join(map(repr, rivals))} "
                    f"could all hold it; pass columns={{{band!r}: <column>}} to choose")
            choices[band] = {"column": chosen, "candidates": rivals, "preference": reason}
            found[band] = chosen
        else:
            found[band] = cols[0]
    order = {band: k for k, band in enumerate(BANDS)}
    found = dict(sorted(found.items(), key=lambda item: order[item[0]]))
    vega = list(match.vega)
    for band, name in found.items():
        words = set(re.findall(r"[A-Za-z]+", _column_text(table[name])))
        if "Vega" in words and "AB" not in words and kinds.get(name) != "flux" \
                and band not in vega:
            vega.append(band)
    return ColumnRecognition(
        columns=found, vega=tuple(b for b in found if b in vega),
        choices={b: c for b, c in choices.items() if b in found}, survey=match.survey,
        error_columns=_error_columns(table, found, errors, survey),
        kinds={b: kinds[c] for b, c in found.items() if kinds.get(c)},
        not_bands=not_bands, unresolved=unresolved)


def _stripped(name):
    """A column name without its error words, for matching errors to values."""
    return _norm(_ERROR_WORDS.sub("", re.sub(r"^e_", "", str(name), flags=re.IGNORECASE)))


def _error_columns(table, band_columns, errors, survey=None):
    found = find_error_columns(table.colnames, band_columns, errors, survey=survey)
    for band, name in band_columns.items():
        if band in found:
            continue
        phot = _photometric(table[name])
        if phot is None or phot[1] is None:
            continue
        rivals = []
        for other in table.colnames:
            err = _photometric(table[other])
            if err is not None and err[2] and err[1] == phot[1]:
                rivals.append(other)
        same = [r for r in rivals if _stripped(r) == _stripped(name)]
        if len(same) == 1:
            found[band] = same[0]
        elif len(rivals) == 1 and sum(
                1 for b, c in band_columns.items()
                if (_photometric(table[c]) or (None, None))[1] == phot[1]) == 1:
            found[band] = rivals[0]
    return found


def is_apparent(table, recognition, units=None):
    """True when every recognised band is a flux or, by its UCD, an apparent magnitude.

    Parameters
    ----------
    table : `~astropy.table.Table`
    recognition : `ColumnRecognition`
    units : str, unit or dict, optional
        The ``units=`` given for columns without a unit.
    """
    if not recognition.band_columns:
        return False
    for band, name in recognition.band_columns.items():
        kind = recognition.kinds.get(band)
        if kind in ("flux", "apparent"):
            continue
        unit = getattr(table[name], "unit", None)
        if unit is None or unit == u.dimensionless_unscaled:
            unit = units.get(band) if isinstance(units, dict) else units
            unit = None if unit is None else u.Unit(unit, parse_strict="silent")
        if kind is None and _is_flux(unit, BANDS[band]):
            continue
        return False
    return True


def default_redshift(table, predict_kwargs):
    """Use the table's redshift column for apparent photometry when none was named.

    When neither ``redshift`` nor ``distance`` is in ``predict_kwargs`` and every
    recognised band is a flux, or an apparent magnitude by its UCD (``phot.mag``), the
    redshift column (`redshift_column`: UCD ``src.redshift``, else named ``redshift`` or
    ``z``) becomes ``redshift``, and ``table.meta['smass_redshift_column']`` says so.

    Returns
    -------
    dict
        ``predict_kwargs``, completed.
    """
    if (predict_kwargs.get("redshift") is not None
            or predict_kwargs.get("distance") is not None):
        return predict_kwargs
    found = recognise_columns(table, columns=predict_kwargs.get("columns"),
                              errors=predict_kwargs.get("errors"),
                              exclude=[predict_kwargs.get("ebv")],
                              survey=predict_kwargs.get("survey"))
    if is_apparent(table, found, predict_kwargs.get("units")):
        name = redshift_column(table, exclude=found.band_columns.values())
        if name is not None:
            predict_kwargs["redshift"] = name
            table.meta["smass_redshift_column"] = name
    return predict_kwargs


def _is_flux(unit, band):
    if unit is None or isinstance(unit, (u.MagUnit, u.UnrecognizedUnit)) or unit == u.mag:
        return False
    equivalencies = u.spectral_density(band.pivot) + u.zero_point_flux(3630.78 * u.Jy)
    try:
        return unit.is_equivalent(u.Jy, equivalencies=equivalencies)
    except (TypeError, ValueError):
        return False
