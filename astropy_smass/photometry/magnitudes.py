"""From table columns with units to absolute AB magnitudes and their errors.

Accepted per band: absolute or apparent magnitudes (``u.mag``, ``u.ABmag``; Vega
magnitudes when the caller says so) or flux densities (anything convertible to Jy,
including per-wavelength units through the band's pivot wavelength, and maggies). Apparent
photometry needs a redshift (with an astropy cosmology, default Planck18) or a
distance. No K-correction is applied: at the z < 0.1 of the catalogues this
package targets it is a few hundredths of a magnitude in most bands. With ``ebv=`` every
band is corrected for Galactic extinction, A_band = (A_band / E(B-V)) E(B-V), with the
registry's coefficients (`~astropy_smass.bands.Band.a_over_ebv`). Flux errors may be
inverse variances (Legacy Surveys ``flux_ivar_g``).

Everything here works at the boundary: astropy columns come in, plain float arrays
and flag bits go out, and every problem is either a clear exception naming the column
or a per-row flag.
"""

import functools
import re

import astropy.units as u
import numpy as np
from astropy.table import Column, MaskedColumn
from astropy.utils.masked import Masked

from ..exceptions import InputError
from ..flags import SmassFlag
from .bands import BandColumnError, get_band

__all__ = ["DEFAULT_SENTINELS", "absolute_magnitudes", "column_values", "distance_modulus",
           "extinction_values", "redshift_values", "flux_error_to_magnitude_error"]

_MAG_PER_LN = 2.5 / np.log(10.0)

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
        raise InputError(f"cannot understand unit {spec!r} given for {what}: {exc}") from exc


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


#: Column names that say "a velocity" (cz, cz_kms, vel, v_helio, vrad, ...).
_VELOCITY_NAME = re.compile(
    r"^(cz|v|vel|velocity|recvel|vhelio|vrad|vlg|vcmb|vgsr|vsys|vr)([_-]?(kms|km_?s|helio|"
    r"hel|lg|cmb|gsr|sys|rad|obs|corr?))*$|(^|[_-])(cz|vel|velocity)([_-]|$)|km_?s(\b|_|$)",
    re.IGNORECASE)


def _table_column(table, name, what):
    """The column ``name``, or a `BandColumnError` naming it and the table's columns."""
    if name not in table.colnames:
        listed = ", ".join(table.colnames[:30]) + (", ..." if len(table.colnames) > 30 else "")
        raise BandColumnError(f"{what} column {name!r} is not in the table (columns: "
                              f"{listed})")
    return name


def _per_row(values, n, what):
    """``values`` broadcast to one per row: a scalar, or exactly ``n`` values."""
    values = np.asarray(values, dtype=float)
    if values.ndim > 1 or (values.ndim == 1 and len(values) not in (1, n)):
        raise InputError(f"{what} has {values.size} values (shape {values.shape}) but the "
                         f"table has {n} rows: give one value, or one per row")
    return np.broadcast_to(values.reshape(-1) if values.ndim else values, (n,))


def _velocity_to_redshift(values, unit):
    """``cz / c`` for velocities in ``unit``."""
    from astropy.constants import c

    return (values * unit / c).to_value(u.dimensionless_unscaled)


def redshift_values(table, redshift, redshift_unit=None):
    """The redshift of each row, from a column or values; NaN where masked.

    A column (or `~astropy.units.Quantity`) with a velocity unit, such as ECO's
    ``cz_kms`` in ``km/s``, is converted with ``z = cz / c``.

    Parameters
    ----------
    table : `~astropy.table.Table`
    redshift : str or array-like
        Column name, or one value or one per row.
    redshift_unit : str or `~astropy.units.UnitBase`, optional
        Unit of a column or values that have none: ``"km/s"`` for a recession
        velocity; dimensionless for a redshift.

    Returns
    -------
    ndarray (n,)

    Raises
    ------
    BandColumnError
        If the column does not exist, holds no numbers, has a unit that is neither
        dimensionless nor a velocity, or has no unit but a name that says it is a
        velocity (``cz``, ``cz_kms``, ``vel``...).
    ValueError
        If the values are neither one nor one per row.
    """
    n = len(table)
    if redshift_unit is not None:
        redshift_unit = _parse_unit(redshift_unit, "the redshift")
    if isinstance(redshift, str):
        name = _table_column(table, redshift, "redshift")
        values, mask, unit = column_values(table, name)
        values[mask] = np.nan
        label = f"redshift column {name!r}"
    else:
        name, label = None, "redshift="
        unit = getattr(redshift, "unit", None)
        values = _per_row(u.Quantity(_nan_filled(redshift)).value if unit is not None
                          else _nan_filled(redshift), n, "redshift=")
    if _unitless(unit):
        if redshift_unit is not None:
            unit = redshift_unit
        elif name is not None and unit is None and _VELOCITY_NAME.search(name):
            raise BandColumnError(
                f"{label} has no unit, and its name says it is a velocity: give its unit, "
                "redshift_unit='km/s' (converted with z = cz/c), or set the column's unit "
                "(dimensionless if it is a redshift after all)")
        else:
            return values
    elif redshift_unit is not None and not unit.is_equivalent(redshift_unit):
        raise BandColumnError(f"{label} has unit {unit}, but redshift_unit={redshift_unit} "
                              "was given")
    if _unitless(unit):
        return values
    if unit.is_equivalent(u.km / u.s):
        return _velocity_to_redshift(values, unit)
    raise BandColumnError(f"{label} has unit {unit}: a redshift is dimensionless (or give a "
                          "recession velocity in km/s, converted with z = cz/c)")


def distance_modulus(table, redshift=None, distance=None, cosmology=None, redshift_unit=None):
    """Distance modulus (mag) per row from a redshift or a distance.

    Parameters
    ----------
    table : `~astropy.table.Table`
    redshift : str, array-like or None
        Column name or values of the redshift (or of a recession velocity with a
        velocity unit: see `redshift_values`).
    distance : str, `~astropy.units.Quantity` or None
        Column name (with a length unit, or Mpc when unitless) or values of the
        luminosity distance.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Used with ``redshift``; default `~astropy.cosmology.Planck18`.
    redshift_unit : str or unit, optional
        See `redshift_values`.

    Returns
    -------
    modulus : ndarray
        NaN where the redshift or distance is missing or not positive.
    """
    n = len(table)
    if distance is not None:
        if isinstance(distance, str):
            values, mask, unit = column_values(table, _table_column(table, distance,
                                                                    "distance"))
            unit = u.Mpc if unit is None or unit == u.dimensionless_unscaled else unit
            if not unit.is_equivalent(u.pc):
                raise BandColumnError(f"distance column {distance!r} has unit {unit}, not a "
                                      "length")
            values = np.where(mask, np.nan, (values * unit).to_value(u.pc))
        else:
            try:
                values = u.Quantity(_nan_filled(distance), u.Mpc).to_value(u.pc)
            except u.UnitConversionError as exc:
                raise BandColumnError(f"distance= is in {u.Quantity(distance).unit}, not a "
                                      "length") from exc
            values = _per_row(values, n, "distance=")
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(values > 0, 5 * np.log10(values / 10.0), np.nan)
    if redshift is None:
        raise InputError("apparent photometry needs redshift= or distance=")
    z = redshift_values(table, redshift, redshift_unit)
    if cosmology is None:
        from astropy.cosmology import Planck18 as cosmology
    good = np.isfinite(z) & (z > 0)
    modulus = np.full(n, np.nan)
    if good.any():
        modulus[good] = cosmology.distmod(z[good]).to_value(u.mag)
    return modulus


def extinction_values(table, ebv):
    """E(B-V) per row (mag) from a column name or values; NaN where masked.

    Parameters
    ----------
    table : `~astropy.table.Table`
    ebv : str, array-like or `~astropy.units.Quantity`
        Column name, or one value or a value per row, of the Galactic colour excess
        E(B-V) in magnitudes (a unitless column or values are taken to be in mag).

    Returns
    -------
    ndarray of float, shape (n,)

    Raises
    ------
    BandColumnError
        If the column or values have a unit that is not a magnitude.
    """
    n = len(table)
    if isinstance(ebv, str):
        if ebv not in table.colnames:
            raise BandColumnError(f"E(B-V) column {ebv!r} is not in the table")
        values, mask, unit = column_values(table, ebv)
        values = np.where(mask, np.nan, values)
        what = f"E(B-V) column {ebv!r}"
    else:
        unit = getattr(ebv, "unit", None)
        values = np.asarray(getattr(_nan_filled(ebv), "value", _nan_filled(ebv)), dtype=float)
        what = "ebv="
    if not _unitless(unit):
        if isinstance(unit, u.MagUnit) or not unit.is_equivalent(u.mag):
            raise BandColumnError(f"{what} has unit {unit}; a colour excess is in mag")
        values = values * unit.to(u.mag)
    return np.array(np.broadcast_to(values, (n,)), dtype=float)


def absolute_magnitudes(table, band_columns, error_columns=None, units=None, vega=(),
                        kind=None, redshift=None, distance=None, cosmology=None,
                        sentinels=DEFAULT_SENTINELS, redshift_unit=None, ebv=None):
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
    vega : str or iterable of str
        Bands whose magnitudes are Vega; converted with the band's Vega-to-AB offset.
    kind : {None, 'absolute', 'apparent'}
        Whether magnitudes are absolute or apparent. Default: apparent when a
        ``redshift`` or ``distance`` is given, else absolute. Fluxes are always apparent.
    redshift, distance, cosmology, redshift_unit
        See `distance_modulus`.
    sentinels : iterable of float
        Magnitude values meaning "no measurement".
    ebv : str, array-like or `~astropy.units.Quantity`, optional
        Galactic E(B-V) (column name or values, mag): every band is corrected by
        ``Band.a_over_ebv * E(B-V)`` (Gordon et al. 2023 law, R_V = 3.1). A row whose
        E(B-V) is missing or not finite gets NaN magnitudes, flagged NONFINITE.

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
                            distance, cosmology, sentinels, redshift_unit=redshift_unit,
                            ebv=ebv)[:3]


def _quiet_floats(function):
    """Run ``function`` without numpy's floating-point warnings: at the boundary, NaN,
    infinite and absurd inputs (a flux of 1e300) are flagged per row, not warned about."""
    @functools.wraps(function)
    def quiet(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return function(*args, **kwargs)
    return quiet


@_quiet_floats
def _read_magnitudes(table, band_columns, error_columns=None, units=None, vega=(), kind=None,
                     redshift=None, distance=None, cosmology=None,
                     sentinels=DEFAULT_SENTINELS, redshift_unit=None, info=None, ebv=None):
    """`absolute_magnitudes`, and which bands raised a flag (bool array, n_bands).

    A band that raised none has an all-zero column in ``flags``: the caller need not
    look at it. A dict passed as ``info`` receives ``flux_bands``, the bands read
    from flux columns.
    """
    n = len(table)
    bands = list(band_columns)
    error_columns = error_columns or {}
    if not isinstance(units, dict):
        units = {band: units for band in bands} if units is not None else {}
    units = {get_band(b).name: _parse_unit(spec, f"band {b}") for b, spec in units.items()}
    vega = {get_band(b).name for b in ((vega,) if isinstance(vega, str) else vega or ())}
    if kind not in (None, "absolute", "apparent"):
        raise InputError(f"kind must be 'absolute' or 'apparent', got {kind!r}")
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
            if info is not None:
                info.setdefault("flux_bands", []).append(band)

        if band in error_columns:
            _read_errors(table, error_columns[band], name, unit, column_kind,
                         flux if column_kind == "flux" else None, band,
                         negative_sentinels, errors[:, k])
        elif errors is not None:
            errors[:, k] = np.nan

    if ebv is not None:
        excess = extinction_values(table, ebv)
        no_excess = ~np.isfinite(excess)
        for k, band in enumerate(bands):
            magnitudes[:, k] -= get_band(band).a_over_ebv * excess
        if no_excess.any():
            flags[no_excess, :] |= SmassFlag.NONFINITE
            flagged[:] = True

    if apparent.any():
        if redshift is None and distance is None:
            fluxes = [band_columns[b] for b, app in zip(bands, apparent) if app]
            raise InputError(f"columns {', '.join(map(repr, fluxes))} hold apparent photometry "
                             "(fluxes, or kind='apparent'): pass redshift= (a column or values) "
                             "or distance=")
        modulus = distance_modulus(table, redshift, distance, cosmology, redshift_unit)
        no_distance = ~np.isfinite(modulus)
        if no_distance.any():
            flags[np.ix_(no_distance, apparent)] |= SmassFlag.NO_DISTANCE
            flagged |= apparent
        magnitudes[:, apparent] -= modulus[:, None]
    return magnitudes, errors, flags, flagged


def _is_inverse_variance(err_name, err_unit, flux_unit):
    """Whether an error column of a flux holds inverse variances (by name or unit)."""
    if "ivar" in err_name.lower():
        return True
    if _unitless(err_unit) or isinstance(err_unit, u.MagUnit) or _unitless(flux_unit):
        return False
    try:
        return (err_unit * flux_unit ** 2).decompose().physical_type == "dimensionless"
    except (u.UnitsError, ValueError, TypeError):
        return False


def _read_errors(table, err_name, name, unit, column_kind, flux, band, negative_sentinels,
                 out):
    """Write the magnitude errors of one band, from its error column, into ``out``."""
    data, err_mask, err_unit = _column_data(table, err_name)
    if column_kind == "flux" and _is_inverse_variance(err_name, err_unit, unit):
        # Legacy Surveys flux_ivar_g: 1 / sigma**2, in the flux unit**-2.
        ivar = np.array(data, dtype=float)
        if err_mask is not None:
            ivar[err_mask] = np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            sigma = np.where(ivar > 0, 1.0 / np.sqrt(ivar), np.nan)
        sigma_unit = unit if _unitless(err_unit) else err_unit ** -0.5
        try:
            flux_err = (sigma * sigma_unit).to_value(u.Jy, _flux_equivalencies(band))
        except u.UnitConversionError as exc:
            raise BandColumnError(f"inverse-variance column {err_name!r} has unit {err_unit}, "
                                  f"which is not the inverse square of the flux column "
                                  f"{name!r} ({unit})") from exc
        out[:] = flux_error_to_magnitude_error(flux, flux_err)
        return
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


def flux_error_to_magnitude_error(flux, flux_error):
    """1-sigma magnitude error (mag) of a flux with a 1-sigma error, to first order."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _MAG_PER_LN * np.abs(np.asarray(flux_error, float) / np.asarray(flux, float))
