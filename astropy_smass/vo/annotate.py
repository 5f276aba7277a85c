"""Stellar masses for a TAP result: `annotate_tap` and `annotate_tap_job`.

The bands of the result are recognised by UCD, name and description
(`astropy_smass.photometry.ucd`) and the masses added with ``table.smass.annotate``.
"""

import astropy.units as u
import numpy as np

from ..flags import SmassFlag
from ..photometry.bands import BandColumnError
from ..photometry.ucd import default_redshift, is_apparent, recognise_columns, redshift_column
from .crossmatch import crossmatch_tap
from .session import _safe_url, _split_url
from .tap import _reporter, fetch_tap_job, run_tap


# -- annotating -----------------------------------------------------------------------------
def annotate_tap(service_or_url, adql, columns=None, maxrec=None, async_=False,
                 timeout=None, progress=None, uploads=None, job_timeout=None,
                 match=None, radius=2 * u.arcsec, match_columns=None, service_positions=None,
                 session=None, execution_duration=None, destruction=None, keep_job=False,
                 **predict_kwargs):
    """Query a TAP service, or cross-match a table with it, and add stellar masses.

    Parameters
    ----------
    service_or_url : str or `pyvo.dal.TAPService`
        TAP service, or its base URL. User information (``https://user:pw@host/tap``)
        and query parameters (``?token=...``) are sent with every request to the
        service's host, and never recorded.
    adql : str
        The ADQL query (select the band columns, and the redshift for apparent
        photometry); with ``match``, the name of the service's table to match against.
    columns : dict, optional
        ``{band: column}`` for columns that are not recognised (by UCD, name or
        description); it also chooses among several columns of one band.
    maxrec : int, optional
        Most rows to return; a `~astropy_smass.SmassWarning` says when the result
        was truncated (by ``maxrec`` or the service's limit).
    async_ : bool
        Run as an asynchronous (UWS) job, polled until done. A finished job is deleted
        (also after an error) unless ``keep_job``; one that does not finish within
        ``job_timeout`` is kept, and the error says how to resume it.
    timeout : float, optional
        Seconds each HTTP request may take; default ``conf.tap_timeout`` (60 s, see
        `astropy_smass.conf`), or, for a service or session whose session class sets its
        own time limit, that one.
    progress : bool or callable, optional
        Report progress (phase and elapsed time of a job): True prints to standard
        error, a callable gets each message (a str).
    uploads : dict, optional
        ``{name: table}`` uploaded with the query (an `~astropy.table.Table`, a file
        name or an http(s) URL of a table, read here); refer to it as
        ``TAP_UPLOAD.<name>`` in the ADQL.
    job_timeout : float, optional
        Seconds to wait for an asynchronous job; default ``conf.tap_job_timeout`` (600 s,
        see `astropy_smass.conf`).
    match : `~astropy.table.Table`, optional
        Your table of positions: cross-match it with the table named by ``adql`` (see
        `crossmatch_tap`) and give every row of it, in order, the nearest counterpart's
        photometry and mass, or the flag ``NO_MATCH`` (1024).
    radius : `~astropy.units.Quantity` or float
        Match radius (arcsec if a number).
    match_columns, service_positions : (str, str), optional
        Position columns of ``match`` and of the service's table (see `crossmatch_tap`).
    session : `requests.Session` or `pyvo.auth.AuthSession`, optional
        The session to talk to the service through (credentials, cookies,
        certificates). Default the session of a given `pyvo.dal.TAPService`, else a
        new one.
    execution_duration : float or `~astropy.units.Quantity`, optional
        The job's ``EXECUTIONDURATION`` on the server (s).
    destruction : `datetime.datetime`, `datetime.timedelta` or str, optional
        The job's ``DESTRUCTION`` time (a time, or a delay from now such as ``"2d"``).
    keep_job : bool
        Never delete the job; its URL is in ``meta['smass_tap_job']``.
    **predict_kwargs
        Passed to `~astropy_smass.SmassAccessor.predict` (``model``, ``errors``,
        ``redshift``, ``uncertainty``...). Without ``redshift`` or ``distance``, a
        result whose bands are fluxes or apparent magnitudes (UCD ``phot.mag``) uses
        its redshift column (UCD ``src.redshift``).

    Returns
    -------
    `~astropy.table.Table`
        The query result (or your table with its counterparts) with ``logmstar``,
        ``logmstar_err``, ``smass_flag``... added (see
        `~astropy_smass.SmassAccessor.annotate`); ``meta`` holds the provenance, the
        service URL (without credentials), the query, the service's INFO elements and,
        where one column was chosen among several for a band, that choice
        (``smass_band_choices``).

    Raises
    ------
    VOError
        The service cannot be reached, answers with something other than TAP,
        refuses access, rejects the query (the message quotes the service's error
        document) or fails; `VOTimeoutError` when it does not answer in time.
    BandColumnError
        If the result has no usable band columns.
    """
    if match is not None:
        table = crossmatch_tap(service_or_url, adql, match, radius=radius,
                               match_columns=match_columns,
                               service_positions=service_positions, async_=async_,
                               timeout=timeout, job_timeout=job_timeout, progress=progress,
                               session=session, execution_duration=execution_duration,
                               keep_job=keep_job, maxrec=maxrec)
        service_part = [c for c in table.colnames if c not in match.colnames]
        _annotate(table, columns, progress, predict_kwargs, only=service_part)
        no_match = np.asarray(table["smass_match_count"]) == 0
        flag = table[predict_kwargs.get("prefix", "") + "smass_flag"]
        flag[no_match] = np.asarray(flag)[no_match] | int(SmassFlag.NO_MATCH)
        return table
    table = run_tap(service_or_url, adql, maxrec=maxrec, async_=async_, timeout=timeout,
                    job_timeout=job_timeout, progress=progress, uploads=uploads,
                    session=session, execution_duration=execution_duration,
                    destruction=destruction, keep_job=keep_job)
    table.meta["smass_tap_url"] = _tap_url(service_or_url)
    table.meta["smass_adql"] = adql
    _annotate(table, columns, progress, predict_kwargs)
    return table


def annotate_tap_job(job_url, columns=None, timeout=None, progress=None,
                     job_timeout=None, session=None, keep_job=False,
                     **predict_kwargs):
    """`annotate_tap` for an asynchronous job that already exists (see `fetch_tap_job`).

    Returns
    -------
    `~astropy.table.Table`
        The job's result with the stellar masses added; ``meta['smass_adql']`` is the
        job's query and ``meta['smass_tap_url']`` the job URL (without credentials).
    """
    table = fetch_tap_job(job_url, timeout=timeout, job_timeout=job_timeout,
                          progress=progress, session=session, keep_job=keep_job)
    table.meta["smass_tap_url"] = _tap_url(job_url)
    _annotate(table, columns, progress, predict_kwargs)
    return table


def _tap_url(service_or_url):
    url = getattr(service_or_url, "baseurl", service_or_url)
    base, params, _ = _split_url(url)
    return _safe_url(base, params)


def _annotate(table, columns, progress, predict_kwargs, only=None):
    """Recognise the bands (among the ``only`` columns) and add the masses to ``table``."""
    view = table[only] if only is not None else table
    found = recognise_columns(view, columns=columns, errors=predict_kwargs.get("errors"),
                              survey=predict_kwargs.get("survey"),
                              exclude=[predict_kwargs.get(k) for k in ("redshift", "distance",
                                                                       "ebv")])
    if not found.band_columns:
        unsure = "".join(f"; column {name!r} could be band {' or '.join(bands)}"
                         for name, bands in found.unresolved.items())
        raise BandColumnError(
            f"the TAP result has no column recognised as a photometric band (columns: "
            f"{', '.join(view.colnames)}){unsure}; select band columns in the query or map "
            "them with columns={band: column}")
    kwargs = dict(predict_kwargs, columns=columns)
    if only is not None:
        # The user's own columns are neither bands nor the redshift.
        kwargs["columns"] = dict(found.band_columns)
        if kwargs.get("errors") is None:
            kwargs["errors"] = dict(found.error_columns)
        if kwargs.get("redshift") is None and kwargs.get("distance") is None \
                and is_apparent(view, found, kwargs.get("units")):
            name = redshift_column(view, exclude=found.band_columns.values())
            if name is not None:
                kwargs["redshift"] = name
                table.meta["smass_redshift_column"] = name
    else:
        kwargs = default_redshift(table, kwargs)
    _reporter(progress)(f"predicting stellar masses for {len(table)} rows ...")
    table.smass.annotate(**kwargs)
    if only is not None and found.choices:
        table.meta["smass_band_choices"] = {
            b: c for b, c in found.choices.items() if b in table.meta["smass_band_columns"]}
    return table
