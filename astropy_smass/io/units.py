"""Units in VOTable and FITS, and plain copies of tables for the writers.

`vo_unit_string` writes an astropy unit as astropy-smass writes it in a VOTable (CDS)
or a FITS ``TUNITn`` keyword; `unit_from_vo` reads any of those forms back. Shared by
`astropy_smass.io.readwrite` and `astropy_smass.io.votable`.
"""

import contextlib
import re

import astropy.units as u
import numpy as np
from astropy.table import Column, MaskedColumn, Table

__all__ = ["vo_unit_string", "unit_from_vo"]


# -- units ----------------------------------------------------------------------------------
def vo_unit_string(unit, fits=False):
    """The unit string astropy-smass writes for an astropy unit in VOTable or FITS.

    Parameters
    ----------
    unit : `~astropy.units.UnitBase` or None
    fits : bool
        For a FITS ``TUNITn`` keyword rather than a VOTable 1.3 ``unit`` attribute.

    Returns
    -------
    str or None
        VOTable: the CDS string (``[solMass]`` for ``dex(solMass)``, ``[-]`` for
        ``dex``, ``mag`` for astropy's magnitude units, ``mJy``...), else the VOUnit or
        astropy string where CDS has none. FITS: the FITS string, astropy's where FITS
        has none, and None for logarithmic units (which go into astropy's
        serialized-column block instead, see the module docstring).

    Examples
    --------
    >>> import astropy.units as u
    >>> vo_unit_string(u.dex(u.Msun))
    '[solMass]'
    >>> vo_unit_string(u.dex)
    '[-]'
    >>> vo_unit_string(u.Msun)
    'solMass'
    >>> vo_unit_string(u.dex(u.Msun), fits=True) is None
    True
    """
    if unit is None:
        return None
    if isinstance(unit, u.UnrecognizedUnit):
        return unit.name
    if _is_log_unit(unit):
        if fits:
            return None
        physical = getattr(unit, "physical_unit", u.dimensionless_unscaled)
        if physical == u.dimensionless_unscaled:
            return "[-]"
        return f"[{vo_unit_string(physical)}]"
    if isinstance(unit, u.MagUnit):
        return "mag"
    if unit == u.dimensionless_unscaled:
        return ""
    for format in (("fits",) if fits else ("cds", "vounit")):
        with contextlib.suppress(ValueError):
            return unit.to_string(format)
    return unit.to_string()


def _log_tunit(unit):
    """The standard FITS string of a logarithmic unit: ``log(solMass)``, or ``dex``."""
    physical = getattr(unit, "physical_unit", u.dimensionless_unscaled)
    if physical == u.dimensionless_unscaled:
        return "dex"
    return f"log({vo_unit_string(physical, fits=True)})"


def _is_log_unit(unit):
    """True for ``dex`` and ``dex(X)`` (astropy's logarithmic units other than mag)."""
    return isinstance(unit, u.DexUnit) or (not isinstance(unit, u.FunctionUnitBase)
                                           and getattr(unit, "name", None) == "dex")


_LOG_UNIT = re.compile(r"^\s*log\s*\((.+)\)\s*$")


def unit_from_vo(unit):
    """The astropy unit for a VOUnits, CDS or FITS string, the inverse of `vo_unit_string`.

    Parameters
    ----------
    unit : str, `~astropy.units.UnitBase` or None

    Returns
    -------
    `~astropy.units.UnitBase` or None
        ``[X]`` and ``log(X)`` become ``dex(X)``; ``[-]``, ``'dex'`` and ``dex`` become
        ``dex``; any other recognised unit is returned as parsed; an unrecognisable one
        unchanged (as an `~astropy.units.UnrecognizedUnit`).
    """
    if unit is None:
        return None
    if not isinstance(unit, str):
        if isinstance(unit, u.DexUnit) and unit.physical_unit == u.dimensionless_unscaled:
            return u.dex  # dex(---) from CDS [-], dex(1) from astropy's FITS block
        if getattr(unit, "name", None) == "dex":
            # astropy's VOUnit parser makes an unknown unit of the quoted 'dex'.
            return u.dex
        if not isinstance(unit, u.UnrecognizedUnit):
            return unit
        unit = unit.name
    text = unit.strip()
    if text in ("'dex'", "dex", "[-]", "[---]"):
        return u.dex
    match = _LOG_UNIT.match(text)
    if match:
        inner = unit_from_vo(match.group(1))
        if inner is not None and not isinstance(inner, u.UnrecognizedUnit):
            return u.dex(inner)
    for fmt in ("vounit", "fits", "cds", None):
        with contextlib.suppress(ValueError):
            return u.Unit(text, format=fmt)
    return u.Unit(text, parse_strict="silent")


def _restore_units(table):
    for col in table.itercols():
        unit = getattr(col, "unit", None)
        if unit is not None:
            new = unit_from_vo(unit)
            if new is not unit and not isinstance(new, u.UnrecognizedUnit):
                col.unit = new
    return table


# -- provenance -----------------------------------------------------------------------------


def _ascii(text):
    return str(text).encode("ascii", "replace").decode("ascii")


def _fixed_strings(table):
    """A shallow copy in which object columns of strings (VOTable arraysize="*") are str."""
    copy = Table(table, copy=False)
    for name in copy.colnames:
        col = copy[name]
        if getattr(col, "dtype", None) is None or col.dtype.kind != "O":
            continue
        mask = np.ma.getmaskarray(col)
        values = [v for v, m in zip(np.ma.getdata(col), mask) if not m]
        if not all(isinstance(v, (str, bytes)) for v in values):
            continue  # not strings: leave it to the writer (which may refuse it)
        text = np.array(["" if m else (v.decode() if isinstance(v, bytes) else v)
                         for v, m in zip(np.ma.getdata(col), mask)], dtype=str)
        new = MaskedColumn(text, mask=mask) if mask.any() else Column(text)
        new.info.description = col.info.description
        new.info.meta = dict(col.info.meta or {})
        new.info.meta.pop("_votable_arraysize", None)
        copy.replace_column(name, new)
    return copy


def _plain_copy(table, fits=False):
    """A `Table` sharing the data, with no units, and the VOUnit string of each column."""
    plain = _fixed_strings(table) if fits else Table(table, copy=False)
    plain.meta = {}
    units = {}
    for name in plain.colnames:
        col = plain[name]
        unit = getattr(col, "unit", None)  # mixins (Time, SkyCoord) keep their own
        units[name] = vo_unit_string(unit, fits=fits) if unit is not None else None
        if isinstance(col, Column):
            col.unit = None
    return plain, units
