"""From table columns with units to absolute AB magnitudes and their errors.

Accepted per band: absolute or apparent magnitudes (``u.mag``, ``u.ABmag``; Vega
magnitudes when the caller says so) or flux densities (anything convertible to Jy,
including per-wavelength units through the band's pivot wavelength, and maggies). Apparent
photometry needs a redshift (with an astropy cosmology, default Planck18) or a
distance. No K-correction is applied: at the z < 0.1 of the catalogues this
package targets it is a few hundredths of a magnitude in most bands.

Everything here works at the boundary: astropy columns come in, plain float arrays
and flag bits go out, and every problem is either a clear exception naming the column
or a per-row flag.
"""

import astropy.units as u
import numpy as np
from astropy.table import Column, MaskedColumn
from astropy.utils.masked import Masked

from .bands import BandColumnError, get_band
from .flags import SmassFlag
from .uncertainty import flux_error_to_magnitude_error

__all__ = ["DEFAULT_SENTINELS", "absolute_magnitudes", "column_values", "distance_modulus"]

#: Values that catalogues use for "no measurement" in magnitude columns. Exactly 0 is
#: among them (ECO writes 0.00 for a missing magnitude); no galaxy has magnitude 0.
DEFAULT_SENTINELS = (-9999.0, -999.0, -99.0, 0.0, 99.0, 999.0, 9999.0)

# astropy's AB zero point, 10**(-0.4 * 48.6) erg/s/cm2/Hz (3630.8 Jy, often rounded to
# 3631 Jy), so that a flux column and the same data in u.ABmag give the same magnitude.
_AB_ZERO_POINT = (0 * u.ABmag).to(u.Jy)


def column_values(table, name):
    """Values (float ndarray with NaN), mask (bool ndarray) and unit of a column.

    Raises
    ------
    BandColumnError
        If the column is not numeric.
    """
    col = table[name]
    unit = getattr(col, "unit", None)
    mask = np.zeros(len(table), dtype=bool)
    if isinstance(col, MaskedColumn) or hasattr(col, "mask"):
        mask = np.array(np.ma.getmaskarray(col) if isinstance(col, (MaskedColumn, Column))
                        else np.broadcast_to(col.mask, (len(table),)), dtype=bool)
    data = col.value if isinstance(col, u.Quantity) else np.ma.getdata(col)
    data = getattr(data, "unmasked", data)
    if data.dtype.kind not in "biuf":
        raise BandColumnError(f"column {name!r} holds {data.dtype} values, not numbers")
    values = np.array(data, dtype=float)
    return values, mask, unit


def _flux_equivalencies(band):
    """Flux densities per frequency or per wavelength (at the band's pivot), and maggies
    (SDSS, Legacy Surveys: 1 maggy is AB magnitude 0)."""
    return u.spectral_density(get_band(band).pivot) + u.zero_point_flux(_AB_ZERO_POINT)


def _kind_of_unit(unit, name, band):
    """'mag' or 'flux' for a column unit; raises for anything else."""
    if unit is None or unit == u.dimensionless_unscaled:
        raise BandColumnError(
            f"column {name!r} (band {band}) has no unit; say what it holds, e.g. "
            f"units={{{band!r}: 'mag'}} (magnitudes), 'ABmag' or 'Jy' (flux density)")
    if isinstance(unit, u.MagUnit) or unit == u.mag:
        if isinstance(unit, u.MagUnit) and unit.physical_unit not in (
                u.dimensionless_unscaled, u.ABflux, u.ABmag.physical_unit):
            raise BandColumnError(f"column {name!r} (band {band}) is in {unit}, a magnitude "
                                  "system other than AB")
        return "mag"
    if unit.is_equivalent(u.Jy, equivalencies=_flux_equivalencies(band)):
        return "flux"
    raise BandColumnError(f"column {name!r} (band {band}) has unit {unit}, which is neither a "
                          "magnitude nor a flux density")


def _parse_unit(spec, what):
    # The unit parser does not know the magnitude-system names ("ABmag", "STmag")
    # that astropy.units exports as attributes, so look those up first.
    if isinstance(spec, str) and isinstance(getattr(u, spec.strip(), None),
                                            (u.UnitBase, u.FunctionUnitBase)):
        return getattr(u, spec.strip())
    try:
        return u.Unit(spec)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cannot understand unit {spec!r} given for {what}: {exc}") from exc


def _isin(values, candidates):
    """``np.isin(values, candidates)`` for a few candidate values such as the sentinels.

    Sentinels are whole numbers and measured photometry almost never is, so only the
    whole-numbered values are compared: a few times faster than `numpy.isin` on long
    columns, with the same result.
    """
    candidates = np.asarray(candidates, dtype=float)
    if not len(candidates) or not np.all(np.isfinite(candidates)
                                         & (candidates == np.floor(candidates))):
        return np.isin(values, candidates)
    with np.errstate(invalid="ignore"):
        hit = values == np.floor(values)
    if hit.any():
        index = np.flatnonzero(hit)
        hit[index] = np.isin(values[index], candidates)
    return hit


def _nan_filled(values):
    """Array-like values with masked entries (masked arrays, columns, quantities) as NaN."""
    if isinstance(values, Masked) or np.ma.isMaskedArray(values):
        return values.astype(float).filled(np.nan)
    return values


def distance_modulus(table, redshift=None, distance=None, cosmology=None):
    """Distance modulus (mag) per row from a redshift or a distance.

    Parameters
    ----------
    table : `~astropy.table.Table`
    redshift : str, array-like or None
        Column name or values of the redshift.
    distance : str, `~astropy.units.Quantity` or None
        Column name (with a length unit, or Mpc when unitless) or values of the
        luminosity distance.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Used with ``redshift``; default `~astropy.cosmology.Planck18`.

    Returns
    -------
    modulus : ndarray
        NaN where the redshift or distance is missing or not positive.
    """
    n = len(table)
    if distance is not None:
        if isinstance(distance, str):
            values, mask, unit = column_values(table, distance)
            unit = u.Mpc if unit is None or unit == u.dimensionless_unscaled else unit
            if not unit.is_equivalent(u.pc):
                raise BandColumnError(f"distance column {distance!r} has unit {unit}, not a "
                                      "length")
            values = np.where(mask, np.nan, (values * unit).to_value(u.pc))
        else:
            values = np.broadcast_to(u.Quantity(_nan_filled(distance), u.Mpc).to_value(u.pc),
                                     (n,))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(values > 0, 5 * np.log10(values / 10.0), np.nan)
    if redshift is None:
        raise ValueError("apparent photometry needs redshift= or distance=")
    if isinstance(redshift, str):
        z, mask, _ = column_values(table, redshift)
        z = np.where(mask, np.nan, z)
    else:
        z = np.broadcast_to(np.asarray(u.Quantity(_nan_filled(redshift)).value, dtype=float),
                            (n,))
    if cosmology is None:
        from astropy.cosmology import Planck18 as cosmology
    good = np.isfinite(z) & (z > 0)
    modulus = np.full(n, np.nan)
    if good.any():
        modulus[good] = cosmology.distmod(z[good]).to_value(u.mag)
    return modulus


def absolute_magnitudes(table, band_columns, error_columns=None, units=None, vega=(),
                        kind=None, redshift=None, distance=None, cosmology=None,
                        sentinels=DEFAULT_SENTINELS):
    """Read bands from a table as absolute AB magnitudes.

    Parameters
    ----------
    table : `~astropy.table.Table` or `~astropy.table.QTable`
    band_columns : dict
        ``{band: column}``, e.g. from `~astropy_smass.bands.find_band_columns`.
    error_columns : dict, optional
        ``{band: column}`` of 1-sigma errors (magnitude or flux-density units).
    units : str, unit or dict, optional
        Unit for columns that have none: one for all, or ``{band: unit}``.
    vega : iterable of str
        Bands whose magnitudes are Vega; converted with the band's Vega-to-AB offset.
    kind : {None, 'absolute', 'apparent'}
        Whether magnitudes are absolute or apparent. Default: apparent when a
        ``redshift`` or ``distance`` is given, else absolute. Fluxes are always apparent.
    redshift, distance, cosmology
        See `distance_modulus`.
    sentinels : iterable of float
        Magnitude values meaning "no measurement".

    Returns
    -------
    magnitudes : ndarray, shape (n, n_bands)
        Absolute AB magnitudes, NaN where unusable.
    errors : ndarray, shape (n, n_bands) or None
        1-sigma magnitude errors (NaN where unknown); None without error columns.
    flags : ndarray of int32, shape (n, n_bands)
        `~astropy_smass.flags.SmassFlag` bits raised while reading each band, so a
        caller can choose, per galaxy, a model whose bands are all usable.
    """
    n = len(table)
    bands = list(band_columns)
    error_columns = error_columns or {}
    if not isinstance(units, dict):
        units = {band: units for band in bands} if units is not None else {}
    units = {get_band(b).name: _parse_unit(spec, f"band {b}") for b, spec in units.items()}
    vega = {get_band(b).name for b in vega}
    if kind not in (None, "absolute", "apparent"):
        raise ValueError(f"kind must be 'absolute' or 'apparent', got {kind!r}")
    if kind is None:
        kind = "apparent" if (redshift is not None or distance is not None) else "absolute"

    # Band-major storage, returned as (n, n_bands) views: each band's column is written
    # contiguously (a strided column write costs ~15 times more).
    magnitudes = np.empty((len(bands), n)).T  # every band's column is written below
    errors = np.full((len(bands), n), np.nan).T if error_columns else None
    flags = np.zeros((len(bands), n), dtype=np.int32).T
    apparent = np.full(len(bands), kind == "apparent")
    sentinels = np.asarray(list(sentinels), dtype=float)

    for k, band in enumerate(bands):
        name = band_columns[band]
        values, mask, unit = column_values(table, name)
        if unit is None or unit == u.dimensionless_unscaled:
            unit = units.get(band, unit)
        column_kind = _kind_of_unit(unit, name, band)
        nonfinite = ~np.isfinite(values) & ~mask
        missing = mask | _isin(values, sentinels) if column_kind == "mag" else mask.copy()
        if column_kind == "flux":
            missing |= _isin(values, sentinels[sentinels < 0])
            flux = (values * unit).to_value(u.Jy, _flux_equivalencies(band))
            nonpositive = np.isfinite(flux) & (flux <= 0) & ~missing
            flags[nonpositive, k] |= SmassFlag.NONPOSITIVE_FLUX
            with np.errstate(invalid="ignore", divide="ignore"):
                mag = -2.5 * np.log10(flux / _AB_ZERO_POINT.to_value(u.Jy))
            mag[nonpositive] = np.nan
            apparent[k] = True
        else:
            # Straight into the band's (contiguous) column: no temporary copy.
            mag = np.add(values, get_band(band).vega_to_ab if band in vega else 0.0,
                         out=magnitudes[:, k])
        flags[nonfinite, k] |= SmassFlag.NONFINITE
        flags[missing, k] |= SmassFlag.MISSING_BAND
        mag[missing | nonfinite] = np.nan
        if column_kind == "flux":
            magnitudes[:, k] = mag

        if band in error_columns:
            err_name = error_columns[band]
            err, err_mask, err_unit = column_values(table, err_name)
            if err_unit is None or err_unit == u.dimensionless_unscaled:
                err_unit = unit if column_kind == "flux" else u.mag
            err = np.where(err_mask, np.nan, err)
            if isinstance(err_unit, u.MagUnit):
                err_unit = u.mag  # an error is a magnitude difference, whatever the system
            if column_kind == "flux" and not err_unit.is_equivalent(u.mag):
                try:
                    flux_err = (err * err_unit).to_value(u.Jy, _flux_equivalencies(band))
                except u.UnitConversionError as exc:
                    raise BandColumnError(f"error column {err_name!r} has unit {err_unit}, "
                                          f"which cannot be compared with the flux column "
                                          f"{name!r} ({unit})") from exc
                errors[:, k] = flux_error_to_magnitude_error(flux, flux_err)
            else:
                if not err_unit.is_equivalent(u.mag):
                    raise BandColumnError(f"error column {err_name!r} has unit {err_unit}; "
                                          f"errors of the magnitude column {name!r} must be in "
                                          "mag")
                errors[:, k] = (err * err_unit).to_value(u.mag)
            errors[np.isin(err, sentinels[sentinels < 0]), k] = np.nan

    if apparent.any():
        if redshift is None and distance is None:
            fluxes = [band_columns[b] for b, app in zip(bands, apparent) if app]
            raise ValueError(f"columns {', '.join(map(repr, fluxes))} hold apparent photometry "
                             "(fluxes, or kind='apparent'): pass redshift= (a column or values) "
                             "or distance=")
        modulus = distance_modulus(table, redshift, distance, cosmology)
        no_distance = ~np.isfinite(modulus)
        flags[np.ix_(no_distance, apparent)] |= SmassFlag.NO_DISTANCE
        magnitudes[:, apparent] -= modulus[:, None]
    return magnitudes, errors, flags
