"""Cross-match a table of positions against a TAP table (`crossmatch_tap`).

The positions go up to the service as a TAP upload and the service joins them with its
table, as STILTS ``tapskymatch`` does; the nearest counterpart of each row is kept.
"""

import contextlib
import re
import warnings

import astropy.units as u
import numpy as np
from astropy.table import Column, MaskedColumn, Table

from ..exceptions import InputError, VOError
from ..flags import SmassWarning
from ..io.votable import SERVICE_DESCRIPTION, SERVICE_INFOS
from ..photometry.bands import BandColumnError
from ..photometry.ucd import ucd_atoms
from .session import _tap_service
from .tap import _reporter, _service_error, run_tap

_UPLOAD_NAME = "smass_positions"


# -- cross-match ----------------------------------------------------------------------------
_RA_NAMES = ("ra", "raj2000", "ra_icrs", "ra_deg", "radeg", "_raj2000", "alpha", "ra2000")
_DEC_NAMES = ("dec", "dej2000", "decj2000", "de_icrs", "dec_icrs", "dec_deg", "decdeg",
              "_dej2000", "delta", "dec2000", "de")


def _position_columns(table, given=None):
    """The right ascension and declination columns of a user's table."""
    if given is not None:
        names = list(given.split(",") if isinstance(given, str) else given)
        if len(names) != 2:
            raise InputError(f"match_columns takes two column names (RA, Dec), got {given!r}")
        for name in names:
            if name.strip() not in table.colnames:
                raise BandColumnError(f"position column {name.strip()!r} is not in the "
                                      f"table (columns: {', '.join(table.colnames)})")
        return names[0].strip(), names[1].strip()
    found = []
    for atom, names in (("pos.eq.ra", _RA_NAMES), ("pos.eq.dec", _DEC_NAMES)):
        by_ucd = [c for c in table.colnames
                  if (ucd_atoms((table[c].info.meta or {}).get("ucd")) or [""])[0] == atom]
        main = [c for c in by_ucd if "meta.main" in ucd_atoms(table[c].info.meta.get("ucd"))]
        by_name = [c for n in names for c in table.colnames if c.lower() == n]
        choice = (main or by_ucd or by_name or [None])[0]
        found.append(choice)
    if None in found:
        raise BandColumnError(
            f"cannot tell the position columns of the table to match (columns: "
            f"{', '.join(table.colnames)}); name them ra/dec or pass "
            "match_columns=(RA, DEC) (--match-columns RA,DEC)")
    return tuple(found)


def _degrees(column, what):
    """Values of a position column in degrees (NaN where missing)."""
    unit = getattr(column, "unit", None)
    data = getattr(column, "value", column)
    if np.asarray(data).dtype.kind in "OSU":
        from astropy.coordinates import Angle

        texts = np.ma.filled(np.ma.asarray(data).astype(str), "")
        sexagesimal = what == "ra" and any(":" in t or "h" in t for t in texts[:10])
        values = np.full(len(texts), np.nan)
        for k, text in enumerate(texts):
            if text.strip():
                with contextlib.suppress(ValueError, u.UnitsError):
                    values[k] = Angle(text, u.hourangle if sexagesimal else u.deg).deg
        return values
    values = np.ma.filled(np.ma.asarray(data, dtype=float), np.nan)
    if unit is not None and unit != u.dimensionless_unscaled:
        try:
            values = (values * u.Unit(unit)).to_value(u.deg)
        except (u.UnitsError, ValueError, TypeError) as exc:
            raise InputError(f"the {what} column is in {unit}, not an angle") from exc
    return np.asarray(values, dtype=float)


def _identifier(name):
    """An ADQL table or column name, checked (quoted when it is not a plain identifier)."""
    parts = str(name).split(".")
    if not (1 <= len(parts) <= 3) or not all(parts):
        raise InputError(f"{name!r} is not a TAP table name such as schema.table")
    out = []
    for part in parts:
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out.append(part)
        elif re.fullmatch(r'"[^"]+"', part):
            out.append(part)
        else:
            raise InputError(f"{name!r} is not a TAP table name such as schema.table")
    return ".".join(out)


def _column_identifier(name):
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else \
        '"' + name.replace('"', '""') + '"'


def _service_positions(service, table_name, given=None):
    """The RA and Dec columns of a TAP table, from TAP_SCHEMA (UCDs, else names)."""
    if given is not None:
        names = list(given.split(",") if isinstance(given, str) else given)
        return names[0].strip(), names[1].strip()
    literal = table_name.replace("'", "''")
    columns = service.run_sync(
        "SELECT column_name, ucd FROM TAP_SCHEMA.columns "
        f"WHERE table_name = '{literal}'").to_table()
    if len(columns) == 0:
        raise VOError(f"the TAP service has no table {table_name!r} (see "
                      "`astropy-smass tap URL --tables`)")
    names = [str(n) for n in columns["column_name"]]
    ucds = [str(v) if not np.ma.is_masked(v) else "" for v in columns["ucd"]]
    found = []
    for atom, fallback in (("pos.eq.ra", _RA_NAMES), ("pos.eq.dec", _DEC_NAMES)):
        main = [n for n, c in zip(names, ucds)
                if ucd_atoms(c)[:1] == [atom] and "meta.main" in ucd_atoms(c)]
        any_ucd = [n for n, c in zip(names, ucds) if ucd_atoms(c)[:1] == [atom]]
        by_name = [n for f in fallback for n in names if n.lower() == f]
        found.append((main or any_ucd or by_name or [None])[0])
    if None in found:
        raise VOError(f"table {table_name} has no columns with UCDs pos.eq.ra and pos.eq.dec "
                      "(nor named ra/dec); name them with service_positions=(RA, DEC)")
    return tuple(found)


def crossmatch_tap(service_or_url, table_name, match, radius=2 * u.arcsec,
                   match_columns=None, service_positions=None, async_=False, timeout=None,
                   job_timeout=None, progress=None, session=None,
                   execution_duration=None, keep_job=False, suffix="_tap", maxrec=None):
    """Cross-match a table of positions against a TAP table: the nearest counterpart each.

    The positions (only they, with a row number) go up to the service as a TAP upload;
    the service joins them with ``table_name`` by ADQL ``CONTAINS(POINT, CIRCLE)`` and
    ``DISTANCE``, as STILTS ``tapskymatch`` does; the nearest counterpart of each row
    is kept.

    Parameters
    ----------
    service_or_url : str or `pyvo.dal.TAPService`
    table_name : str
        The service's table, e.g. ``"hatlas.galaxies"``.
    match : `~astropy.table.Table`
        Your table. Its positions are the columns with UCDs ``pos.eq.ra`` and
        ``pos.eq.dec``, else those named ``ra``/``dec`` (``RAJ2000``...), in degrees
        unless their unit says otherwise (sexagesimal strings are read too).
    radius : `~astropy.units.Quantity` or float
        Match radius (arcsec if a number).
    match_columns : (str, str), optional
        RA and Dec columns of ``match``.
    service_positions : (str, str), optional
        RA and Dec columns of the service's table; default those with UCDs
        ``pos.eq.ra;meta.main`` and ``pos.eq.dec;meta.main`` in ``TAP_SCHEMA``.
    suffix : str
        Appended to the service's column names that ``match`` has too.
    maxrec : int, optional
        Most rows the service may return (counterparts, not your rows); a warning says
        when the result was cut short (DaCHS returns 20,000 unless told more).
    async_, timeout, job_timeout, progress, session, execution_duration, keep_job
        As for `annotate_tap`.

    Returns
    -------
    `~astropy.table.Table`
        Every row of ``match``, in order, then ``smass_match_sep`` (arcsec; masked
        where no counterpart lies within ``radius``), ``smass_match_count`` (counterparts
        within ``radius``) and the columns of the nearest counterpart (masked where
        there is none). ``meta['smass_match']`` records the match.
    """
    report = _reporter(progress)
    table_name = _identifier(table_name)
    radius = u.Quantity(radius, u.arcsec) if not isinstance(radius, u.Quantity) else radius
    radius_deg = float(radius.to_value(u.deg))
    if not 0 < radius_deg < 10:
        raise InputError(f"the match radius must be positive and below 10 deg, got {radius}")
    ra_name, dec_name = _position_columns(match, match_columns)
    ra, dec = _degrees(match[ra_name], "ra"), _degrees(match[dec_name], "dec")
    usable = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90)
    n = len(match)
    if not usable.any():
        raise InputError(f"no row of the table to match has a position in {ra_name}, "
                         f"{dec_name}")
    positions = Table({"smass_row": np.flatnonzero(usable).astype(np.int64),
                       "ra": ra[usable] % 360.0, "dec": dec[usable]})
    with _tap_service(service_or_url, timeout, session) as (service, wrapped):
        try:
            t_ra, t_dec = _service_positions(service, table_name, service_positions)
        except VOError:
            raise
        except Exception as exc:
            raise _service_error(exc, wrapped) from exc
        url = wrapped.safe
    point = (f"POINT('ICRS', t.{_column_identifier(t_ra)}, "
             f"t.{_column_identifier(t_dec)})")
    adql = (f"SELECT u.smass_row AS smass_row, "
            f"DISTANCE({point}, POINT('ICRS', u.ra, u.dec)) AS smass_match_sep, t.* "
            f"FROM {table_name} AS t JOIN TAP_UPLOAD.{_UPLOAD_NAME} AS u "
            f"ON 1 = CONTAINS({point}, CIRCLE('ICRS', u.ra, u.dec, {radius_deg!r}))")
    report(f"cross-matching {int(usable.sum())} positions with {table_name} within "
           f"{radius.to_value(u.arcsec):g} arcsec ...")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "the TAP query returned no rows", SmassWarning)
        warnings.filterwarnings("ignore", "the TAP result was truncated", SmassWarning)
        found = run_tap(service_or_url, adql, maxrec=maxrec, async_=async_, timeout=timeout,
                        job_timeout=job_timeout, progress=progress,
                        uploads={_UPLOAD_NAME: positions}, session=session,
                        execution_duration=execution_duration, keep_job=keep_job)
    if found.meta.get("smass_truncated"):
        warnings.warn("the cross-match result was truncated by the service's row limit: "
                      "some rows may miss their counterpart; match fewer rows at a time",
                      SmassWarning)
    out = _nearest_rows(match, found, n, suffix)
    out.meta["smass_tap_url"] = url
    out.meta["smass_adql"] = adql
    out.meta["smass_match"] = {
        "table": table_name, "radius_arcsec": float(radius.to_value(u.arcsec)),
        "columns": [ra_name, dec_name], "service_columns": [t_ra, t_dec],
        "rows": n, "matched": int((out["smass_match_count"] > 0).sum()),
        "several_within_radius": int((out["smass_match_count"] > 1).sum())}
    for key in ("smass_truncated", SERVICE_INFOS, SERVICE_DESCRIPTION, "smass_tap_job"):
        if key in found.meta:
            out.meta[key] = found.meta[key]
    report(f"{out.meta['smass_match']['matched']} of {n} rows have a counterpart")
    return out


def _nearest_rows(match, found, n, suffix):
    """``match`` with the nearest row of ``found`` for each of its rows (masked if none)."""
    rows = np.asarray(found["smass_row"], dtype=np.int64) if len(found) else \
        np.zeros(0, np.int64)
    sep = np.ma.filled(np.ma.asarray(found["smass_match_sep"], dtype=float), np.inf) \
        if len(found) else np.zeros(0)
    order = np.lexsort((sep, rows))  # by row, nearest first
    best = np.full(n, -1)
    count = np.bincount(rows, minlength=n) if len(rows) else np.zeros(n, int)
    first = np.ones(len(order), bool)
    first[1:] = rows[order][1:] != rows[order][:-1]
    best[rows[order][first]] = order[first]
    has = best >= 0
    out = Table(match, copy=True)
    out.meta = dict(match.meta)
    sep_arcsec = np.full(n, np.nan)
    sep_arcsec[has] = sep[best[has]] * 3600.0
    out["smass_match_sep"] = MaskedColumn(sep_arcsec, mask=~has, unit=u.arcsec,
                                          description="Distance to the nearest counterpart "
                                                      "in the TAP table")
    out["smass_match_sep"].info.meta = {"ucd": "pos.angDistance"}
    out["smass_match_count"] = Column(count.astype(np.int32),
                                      description="Counterparts within the match radius")
    out["smass_match_count"].info.meta = {"ucd": "meta.number"}
    take = np.where(has, best, 0)
    for name in found.colnames:
        if name in ("smass_row", "smass_match_sep"):
            continue
        col = found[name]
        target = name if name not in out.colnames else name + suffix
        if len(found):
            data = np.ma.asarray(col)[take]
            mask = np.ma.getmaskarray(data) | ~has
            new = MaskedColumn(np.ma.getdata(data), mask=mask, unit=col.unit)
        else:
            new = MaskedColumn(np.ma.masked_all((n,) + col.shape[1:], dtype=col.dtype),
                               unit=col.unit)
        new.info.description = col.info.description
        new.info.meta = dict(col.info.meta or {})
        out[target] = new
    return out
