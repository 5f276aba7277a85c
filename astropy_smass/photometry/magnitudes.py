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

from ..flags import SmassFlag
from ..model.uncertainty import flux_error_to_magnitude_error
from .bands import BandColumnError, get_band

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
    data, mask, unit = _column_data(table, name)
    if mask is None:
        mask = np.zeros(len(table), dtype=bool)
    return np.array(data, dtype=float), mask, unit


def _column_data(table, name):
    """A column's numbers (a view, any numeric dtype), mask and unit.

    The mask is None when no entry is masked, so that a plain column costs no pass.
    """
    col = table[name]
    unit = getattr(col, "unit", None)
    mask = None
    if isinstance(col, MaskedColumn) or hasattr(col, "mask"):
        mask = np.array(np.ma.getmaskarray(col) if isinstance(col, (MaskedColumn, Column))
                        else np.broadcast_to(col.mask, (len(table),)), dtype=bool)
        if not mask.any():
            mask = None
    data = col.value if isinstance(col, u.Quantity) else np.ma.getdata(col)
    data = getattr(data, "unmasked", data)
    if data.dtype.kind not in "biuf":
        raise BandColumnError(f"column {name!r} holds {data.dtype} values, not numbers")
    return data, mask, unit


def _flux_equivalencies(band):
    """Flux densities per frequency or per wavelength (at the band's pivot), and maggies
    (SDSS, Legacy Surveys: 1 maggy is AB magnitude 0)."""
    return u.spectral_density(get_band(band).pivot) + u.zero_point_flux(_AB_ZERO_POINT)


def _unitless(unit):
    # u.mag is looked at first: comparing units costs tens of microseconds a time.
    return unit is None or (unit is not u.mag and unit == u.dimensionless_unscaled)


def _kind_of_unit(unit, name, band):
    """'mag' or 'flux' for a column unit; raises for anything else."""
    if unit is u.mag:
        return "mag"
    if _unitless(unit):
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


def _no_value_among(values, candidates, finite=True):
    """True when no value is among ``candidates`` (and, with ``finite``, every value is
    finite).

    One or two reductions (the range of the values) instead of a pass per test: a value
    equal to a candidate makes the range contain a candidate, and a NaN or infinite one
    makes it non-finite. A False is no verdict: the caller then tests each value.
    """
    if not len(values):
        return True
    candidates = np.asarray(candidates, dtype=float)
    low = np.min(values)  # NaN if any value is NaN
    if not np.isfinite(low):
        return False
    if not finite and not np.any(candidates >= low):
        return True  # all above every candidate (errors and negative sentinels, say)
    high = np.max(values)
    if not np.isfinite(high):
        return False
    return not np.any((candidates >= low) & (candidates <= high))


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
        ``{band: column}``, e.g. from `~astropy_smass.photometry.bands.find_band_columns`.
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
    return _read_magnitudes(table, band_columns, error_columns, units, vega, kind, redshift,
                            distance, cosmology, sentinels)[:3]


def _read_magnitudes(table, band_columns, error_columns=None, units=None, vega=(), kind=None,
                     redshift=None, distance=None, cosmology=None,
                     sentinels=DEFAULT_SENTINELS):
    """`absolute_magnitudes`, and which bands raised a flag (bool array, n_bands).

    A band that raised none has an all-zero column in ``flags``: the caller need not
    look at it.
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
    # contiguously (a strided column write costs ~15 times more). Every column of
    # magnitudes and errors is written below; flags are zero pages until a bit is set.
    magnitudes = np.empty((len(bands), n)).T
    errors = np.empty((len(bands), n)).T if error_columns else None
    flags = np.zeros((len(bands), n), dtype=np.int32).T
    flagged = np.zeros(len(bands), dtype=bool)
    apparent = np.full(len(bands), kind == "apparent")
    sentinels = np.asarray(list(sentinels), dtype=float)
    negative_sentinels = sentinels[sentinels < 0]

    for k, band in enumerate(bands):
        name = band_columns[band]
        data, mask, unit = _column_data(table, name)
        if _unitless(unit):
            unit = units.get(band, unit)
        column_kind = _kind_of_unit(unit, name, band)
        if column_kind == "mag":
            # Straight into the band's (contiguous) column: the one copy of the data.
            offset = get_band(band).vega_to_ab if band in vega else 0.0
            mag = np.add(data, offset, out=magnitudes[:, k])
            # Most columns hold no mask, NaN or sentinel: their range tells so.
            if mask is not None or not _no_value_among(mag if offset == 0.0 else data,
                                                       sentinels):
                values = np.asarray(data, dtype=float)
                if mask is None:
                    mask = np.zeros(n, dtype=bool)
                nonfinite = ~np.isfinite(values) & ~mask
                missing = mask | _isin(values, sentinels)
                flags[nonfinite, k] |= SmassFlag.NONFINITE
                flags[missing, k] |= SmassFlag.MISSING_BAND
                mag[missing | nonfinite] = np.nan
                flagged[k] = True
        else:
            values = np.array(data, dtype=float)
            mask = np.zeros(n, dtype=bool) if mask is None else mask
            nonfinite = ~np.isfinite(values) & ~mask
            missing = mask | _isin(values, negative_sentinels)
            flux = (values * unit).to_value(u.Jy, _flux_equivalencies(band))
            nonpositive = np.isfinite(flux) & (flux <= 0) & ~missing
            flags[nonpositive, k] |= SmassFlag.NONPOSITIVE_FLUX
            with np.errstate(invalid="ignore", divide="ignore"):
                mag = -2.5 * np.log10(flux / _AB_ZERO_POINT.to_value(u.Jy))
            mag[nonpositive] = np.nan
            apparent[k] = True
            flags[nonfinite, k] |= SmassFlag.NONFINITE
            flags[missing, k] |= SmassFlag.MISSING_BAND
            mag[missing | nonfinite] = np.nan
            magnitudes[:, k] = mag
            flagged[k] = True

        if band in error_columns:
            _read_errors(table, error_columns[band], name, unit, column_kind,
                         flux if column_kind == "flux" else None, band,
                         negative_sentinels, errors[:, k])
        elif errors is not None:
            errors[:, k] = np.nan

    if apparent.any():
        if redshift is None and distance is None:
            fluxes = [band_columns[b] for b, app in zip(bands, apparent) if app]
            raise ValueError(f"columns {', '.join(map(repr, fluxes))} hold apparent photometry "
                             "(fluxes, or kind='apparent'): pass redshift= (a column or values) "
                             "or distance=")
        modulus = distance_modulus(table, redshift, distance, cosmology)
        no_distance = ~np.isfinite(modulus)
        if no_distance.any():
            flags[np.ix_(no_distance, apparent)] |= SmassFlag.NO_DISTANCE
            flagged |= apparent
        magnitudes[:, apparent] -= modulus[:, None]
    return magnitudes, errors, flags, flagged


def _read_errors(table, err_name, name, unit, column_kind, flux, band, negative_sentinels,
                 out):
    """Write the magnitude errors of one band, from its error column, into ``out``."""
    data, err_mask, err_unit = _column_data(table, err_name)
    if _unitless(err_unit):
        err_unit = unit if column_kind == "flux" else u.mag
    if isinstance(err_unit, u.MagUnit):
        err_unit = u.mag  # an error is a magnitude difference, whatever the system
    in_mag = err_unit is u.mag or err_unit.is_equivalent(u.mag)
    if column_kind == "flux" and not in_mag:
        err = np.array(data, dtype=float)
        if err_mask is not None:
            err[err_mask] = np.nan
        try:
            flux_err = (err * err_unit).to_value(u.Jy, _flux_equivalencies(band))
        except u.UnitConversionError as exc:
            raise BandColumnError(f"error column {err_name!r} has unit {err_unit}, "
                                  f"which cannot be compared with the flux column "
                                  f"{name!r} ({unit})") from exc
        out[:] = flux_error_to_magnitude_error(flux, flux_err)
    else:
        if not in_mag:
            raise BandColumnError(f"error column {err_name!r} has unit {err_unit}; "
                                  f"errors of the magnitude column {name!r} must be in "
                                  "mag")
        scale = 1.0 if err_unit is u.mag else err_unit.to(u.mag)
        np.multiply(data, scale, out=out)
        if err_mask is not None:
            out[err_mask] = np.nan
        if scale == 1.0:
            data = out  # the same values, and just written (in cache)
    if not _no_value_among(data, negative_sentinels, finite=False):
        out[np.isin(data, negative_sentinels)] = np.nan
