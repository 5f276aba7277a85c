"""The path of one prediction, from a table to a table of masses.

`predict_table` reads the photometry (`astropy_smass.photometry`), chooses the models
(`select_models`), runs each model on its galaxies
(`~astropy_smass.model.bundle.StellarMassModel.predict_magnitudes`: features, network,
training domain, bias correction, uncertainty and flags in one pass) and assembles the
output table with units, descriptions, UCDs and provenance. `output_columns` is the one
place that decides the names of the new columns beside the input ones (``prefix=``,
``keep_columns=``, clashes), for the accessor, streaming, Dask and the command line.
`calibrate_model` and `saliency_table` are the table-level forms of a model's
calibration and feature importance. See the Architecture page of the documentation.
"""

import warnings

import astropy.units as u
import numpy as np
from astropy.table import QTable, Table

from .conf import conf
from .diagnostics import check_flux_units, explain_no_mass
from .exceptions import (
    BandColumnError,
    ColumnClashError,
    InputError,
    InputTypeError,
    ModelNotFoundError,
    SmassWarning,
)
from .flags import NO_MASS, SmassFlag
from .massscale import resolve_scale, total_uncertainty
from .model.correction import BiasCorrection
from .model.registry import load_model, model_sources, source_text
from .model.uncertainty import intrinsic_scatter
from .photometry.bands import (
    get_band,
    resolve_band,
    suggest_survey,
)
from .photometry.magnitudes import (
    DEFAULT_SENTINELS,
    _read_magnitudes,
    absolute_magnitudes,
    column_values,
    redshift_values,
)
from .photometry.ucd import recognise_columns

__all__ = ["predict_table", "select_models", "auto_candidates", "output_columns",
           "calibrate_model", "saliency_table", "reference_log_mass", "redshift_range",
           "column_description", "OUTPUT_COLUMNS", "UNCERTAINTY_MODES",
           "DEFAULT_REDSHIFT_RANGE"]

#: Description and UCD of each output column (the descriptions of ``logmstar`` and
#: ``logmstar_err_sys`` also name the mass scale: see `column_description`).
OUTPUT_COLUMNS = {
    "logmstar": ("log10 of the stellar mass predicted by the astropy-smass network",
                 "phys.mass"),
    "logmstar_err": ("Total 1-sigma uncertainty of logmstar: sqrt(phot^2 + intrinsic^2 + "
                     "sys^2) of the propagated photometric errors (logmstar_err_phot, where "
                     "known), the model's intrinsic scatter and the scale systematic "
                     "(logmstar_err_sys)", "stat.error;phys.mass"),
    "logmstar_err_phot": ("Part of logmstar_err propagated from the photometric errors",
                          "stat.error;phys.mass"),
    "logmstar_err_sys": ("Systematic part of logmstar_err: residual difference between "
                         "reference stellar-mass scales after conversion to this scale",
                         "stat.error.sys;phys.mass"),
    "smass_flag": ("astropy-smass quality bits: 1 missing band, 2 non-finite input, "
                   "4 non-positive flux, 8 no distance, 16 feature out of training range, "
                   "32 out of training distribution, 64 bad photometric error, "
                   "128 bias correction held constant, 256 implausible photometry, "
                   "512 redshift outside the model's range, 1024 no counterpart in a "
                   "cross-match", "meta.code.qual"),
    "smass_model": ("Name of the astropy-smass model that gave the mass", "meta.code"),
}


#: Accepted values of ``uncertainty=`` ("none" and None are the same).
UNCERTAINTY_MODES = ("auto", "none", "analytic", "montecarlo")


def column_description(name, scale):
    """The description of output column ``name`` for the mass scale ``scale``.

    Parameters
    ----------
    name : str
        A key of `OUTPUT_COLUMNS`.
    scale : `~astropy_smass.massscale.MassScale`

    Returns
    -------
    str
    """
    text = OUTPUT_COLUMNS[name][0]
    if name in ("logmstar", "logmstar_err_sys"):
        text = f"{text} ({scale.describe()})"
    return text


def _uncertainty_mode(uncertainty):
    """``uncertainty=`` checked: "auto", "analytic", "montecarlo" or None (for "none")."""
    mode = "none" if uncertainty is None else uncertainty
    if not isinstance(mode, str) or mode.lower() not in UNCERTAINTY_MODES:
        raise InputError(f"uncertainty must be one of {', '.join(UNCERTAINTY_MODES)} (or None), "
                         f"got {uncertainty!r}")
    mode = mode.lower()
    return None if mode == "none" else mode


def _systematic_dex(systematic, scale):
    """The scale systematic (dex): the reference-system term and the conversion's own."""
    if systematic is None:
        systematic = conf.systematic_dex  # read at call time: conf.set_temp works
    try:
        value = u.Quantity(systematic, u.dex).value
    except (TypeError, ValueError, u.UnitsError):
        value = np.nan
    if not np.isscalar(value) or not np.isfinite(value) or value < 0:
        raise InputError(f"systematic must be a non-negative number of dex, got {systematic!r}")
    return float(np.hypot(value, scale.conversion_scatter_dex))


def output_columns(input_colnames, names=tuple(OUTPUT_COLUMNS), *, prefix="",
                   keep_columns=True, overwrite=False,
                   remedy="pass prefix= or keep_columns=False"):
    """The columns of a prediction written beside its input: the one check of their names.

    Used by `~astropy_smass.accessor.SmassAccessor.annotate`, the streaming and Dask
    paths and the command line, so that all of them name, keep and refuse columns alike.

    Parameters
    ----------
    input_colnames : list of str
        The input table's columns.
    names : iterable of str
        The prediction's columns (default: every column a prediction can have).
    prefix : str
        Prepended to each prediction column's name.
    keep_columns : bool or list of str
        The input columns to keep: all (True), none (False) or those listed.
    overwrite : bool
        Let a prediction column replace a kept input column of the same name.
    remedy : str
        What the error message tells the user to do about a clash.

    Returns
    -------
    kept : list of str
        The input columns to keep, in order.
    renamed : dict
        ``{prediction column: output column}``.

    Raises
    ------
    ColumnClashError
        If a kept input column has the name of a prediction column (and not
        ``overwrite``), or ``keep_columns`` lists a column the input does not have.
    """
    input_colnames = list(input_colnames)
    if keep_columns is True:
        kept = input_colnames
    elif keep_columns is False:
        kept = []
    else:
        kept = list(keep_columns)
        missing = [c for c in kept if c not in input_colnames]
        if missing:
            raise ColumnClashError(f"keep_columns names {', '.join(missing)}, which the input "
                                   "does not have")
    renamed = {name: prefix + name for name in names}
    clashes = [new for new in renamed.values() if new in kept]
    if clashes and not overwrite:
        raise ColumnClashError(f"the table already has columns {', '.join(clashes)}; {remedy}")
    return kept, renamed


def _model_rank(model):
    # Observed-frame models first: they learned the K-correction, which a rest-frame
    # model of apparent magnitudes minus the distance modulus lacks (they are candidates
    # only for apparent photometry with a redshift). Then fewest bands: the simulated
    # population's optical colours transfer best, and every extra band adds its own
    # simulation-to-survey mismatch and shrinks the training domain (on ECO's
    # calibration half, 'sdss' scatters 0.071 dex about the SED masses and 'sdss_2mass'
    # 0.082 dex on the same galaxies; the observed-frame 'sdss_ugriz_z' gives 0.062 dex
    # on ECO's evaluation half where 'sdss_2mass_z' gives 0.073 and a mass to 10 per
    # cent fewer galaxies; see docs/method.rst and docs/redshift.rst). On a tie the
    # package's own models win over plugins', whatever their names.
    scores = model.metadata.get("scores", {})
    source = getattr(model, "source", None)
    bundled = source is not None and source.bundled and source.distribution == "astropy-smass"
    return (not model.observed_frame, len(model.bands), scores.get("heldout_rms_dex", np.inf),
            not bundled, model.name)


def _is_auto(model):
    return isinstance(model, str) and model == "auto"


def _is_list(model):
    return isinstance(model, (list, tuple))


def auto_candidates():
    """The models ``model="auto"`` chooses among.

    The bundled models, plugin models whose distribution lists them in the
    ``astropy_smass.auto_models`` entry-point group, and, when the configuration item
    ``plugins_in_auto`` is set (see ``astropy_smass.conf``), every plugin model. Other
    plugin models are used when named, alone or in a list given to ``model=``.

    Returns
    -------
    list of `~astropy_smass.model.bundle.StellarMassModel`
    """
    everyone = _plugins_in_auto()
    return [load_model(name) for name, source in model_sources().items()
            if source.auto or everyone]


def _plugins_in_auto():
    return bool(conf.plugins_in_auto)


def select_models(band_columns, model="auto", observed=False):
    """The models to use for a table, best first.

    Parameters
    ----------
    band_columns : dict
        Recognised ``{band: column}`` of the table.
    model : str, path, `~astropy_smass.model.bundle.StellarMassModel` or list of them
        ``"auto"`` for every model of `auto_candidates` whose bands the table has;
        a list for those of its models whose bands the table has; both observed-frame
        models first (when ``observed``), then fewest bands, then by held-out accuracy,
        then the package's own models before plugins'. Otherwise that one model.
    observed : bool
        The photometry is apparent and each row has a redshift: observed-frame
        (redshift-aware) models can be used, and come first.

    Returns
    -------
    list of `~astropy_smass.model.bundle.StellarMassModel`

    Raises
    ------
    BandColumnError
        If no model can use the table's bands; the message says which bands each
        model needs.
    """
    have = set(band_columns)
    if not (_is_auto(model) or _is_list(model)):
        chosen = load_model(model)
        missing = [b for b in chosen.bands if b not in have]
        if missing:
            raise BandColumnError(
                f"model {chosen.name!r} needs bands {', '.join(missing)}, which have no column "
                f"in the table (recognised: {_describe(band_columns)}); map them with "
                "columns={band: column}")
        if chosen.observed_frame and not observed:
            raise InputError(
                f"model {chosen.name!r} takes apparent magnitudes and a redshift: give "
                "redshift= (a column or values; --redshift on the command line)")
        return [chosen]
    models = auto_candidates() if _is_auto(model) else [load_model(m) for m in model]
    if not models:
        raise ModelNotFoundError("no stellar-mass models are installed; pass model= a bundle "
                                 "path or a loaded StellarMassModel")
    usable = sorted((m for m in models if set(m.bands) <= have
                     and (observed or not m.observed_frame)), key=_model_rank)
    if not usable:
        needs = "; ".join(f"{m.name}: {' '.join(m.bands)}" for m in sorted(models,
                                                                           key=_model_rank))
        raise BandColumnError(f"no model can use this table: recognised bands "
                              f"{_describe(band_columns)}; the models need {needs}. Map columns "
                              "with columns={band: column}")
    return usable


def _survey_hint(colnames):
    """A sentence naming the survey that would read more of the table, or ``""``."""
    suggestions = suggest_survey(colnames)
    if not suggestions:
        return ""
    best, read = suggestions[0]
    others = ", ".join(repr(name) for name, _ in suggestions[1:4])
    return (f"Columns named by a band letter alone are read as SDSS u g r i z, VISTA Z Y J "
            f"H K and 2MASS Ks unless survey= names their system: survey={best!r} would "
            f"read {', '.join(map(repr, read))}" + (f" (also possible: {others})"
                                                    if others else ""))


def _describe(band_columns):
    return ", ".join(f"{b}={c!r}" for b, c in band_columns.items()) or "none"


def _photometry_colnames(table, redshift=None, distance=None, ebv=None):
    """Column names that may hold photometry: all but the redshift, distance and E(B-V)
    columns.

    A redshift column is often called ``z`` or ``Z``, which are also band names.
    """
    context = {name for name in (redshift, distance, ebv) if isinstance(name, str)}
    return [name for name in table.colnames if name not in context]


def _observed(kind, redshift, distance):
    """Whether observed-frame models can read the photometry: apparent magnitudes whose
    distance comes from a redshift (they take the redshift as an input)."""
    return kind in (None, "apparent") and redshift is not None and distance is None


def _resolve_inputs(table, model, columns, errors, redshift=None, distance=None, survey=None,
                    ebv=None, kind=None):
    """Models, ``{band: column}``, ``{band: error column}`` and the `BandMatch`."""
    if not isinstance(table, Table):
        raise InputTypeError(f"expected an astropy Table, got {type(table).__name__}")
    colnames = _photometry_colnames(table, redshift, distance, ebv)
    # Names, and the UCDs and descriptions of VOTable/TAP columns (a src.redshift "z" is
    # never the z band): astropy_smass.photometry.ucd.
    context = dict(columns=columns, errors=errors, exclude=[redshift, distance, ebv],
                   survey=survey)
    if _is_auto(model):
        match = recognise_columns(table, **context)
    elif _is_list(model):
        if not model:
            raise InputError("model= is an empty list; give models, or 'auto'")
        model = [load_model(m) for m in model]
        bands = list(dict.fromkeys(b for m in model for b in m.bands))
        match = recognise_columns(table, bands=bands, **context)
    else:
        # One model: only its bands matter, so a clash in another band is no error.
        model = load_model(model)
        match = recognise_columns(table, bands=model.bands, **context)
    band_columns = match.columns
    try:
        models = select_models(band_columns, model, _observed(kind, redshift, distance))
    except BandColumnError as exc:
        hint = _survey_hint(colnames) if survey is None else ""
        if hint:
            raise BandColumnError(f"{exc}. {hint}") from None
        raise
    needed = [b for b in band_columns if any(b in m.bands for m in models)]
    band_columns = {b: band_columns[b] for b in needed}
    error_columns = {b: c for b, c in match.error_columns.items() if b in band_columns}
    return models, band_columns, error_columns, match


def _vega_bands(table, vega, match, band_columns, survey):
    """Bands to convert from Vega: those named in ``vega=``, and those whose column follows
    a Vega convention (2MASS j_m, WISE w1mpro) unless its unit says AB."""
    bands = {resolve_band(b, survey).name for b in vega}
    for band in match.vega:
        if band in band_columns:
            unit = getattr(table[band_columns[band]], "unit", None)
            if not (isinstance(unit, u.MagUnit) and unit.physical_unit != u.dimensionless_unscaled):
                bands.add(band)
    return bands


def predict_table(table, model="auto", *, columns=None, errors=None, units=None, vega=(),
                  kind=None, redshift=None, distance=None, cosmology=None,
                  sentinels=DEFAULT_SENTINELS, uncertainty="auto", n_draws=100, seed=None,
                  correct=True, exclude_out_of_domain=True, redshift_unit=None,
                  check_units=True, survey=None, ebv=None, imf=None, mass_definition=None,
                  systematic=None, _resolved=None):
    """Predict log stellar masses for every row of a table, in order.

``table.smass.predict(...)`` is ``predict_table(table, ...)``.

    Parameters
    ----------
    table : `~astropy.table.Table`
        The photometry, one galaxy a row.
    model : str, path, `~astropy_smass.model.bundle.StellarMassModel` or list
        ``"auto"`` (default) picks, for each galaxy, the best model whose bands it
        has among the bundled ones and the plugin models that join ``auto`` (see
        `auto_candidates`); a list of models (names,
        paths or loaded models) picks among those; or one model: a name (see
        `~astropy_smass.available_models`), a bundle path or a loaded model.
        ``meta['smass_model_sources']`` names the distribution and version that
        provided each model used.
    columns : dict, optional
        ``{band: column}``; wins over column-name recognition. Bands by short name
        (``"r"``), astro-sedpy name (``"decam_g"``, ``"sdss_r0"``) or registry key
        (``"euclid_vis"``).
    errors : dict, optional
        ``{band: error_column}``; wins over ``<column>_err`` recognition.
    units : str, unit or dict, optional
        Unit of columns that carry none (``"mag"``, ``"ABmag"``, ``"Jy"``...),
        for all bands or as ``{band: unit}``.
    vega : str or iterable of str
        Bands whose magnitudes are in the Vega system (e.g. 2MASS ``J_2MASS``).
    kind : {None, 'absolute', 'apparent'}
        Magnitudes are apparent when a redshift or distance is given, unless set.
    redshift : str or array-like, optional
        Column or values of redshift, for apparent magnitudes and fluxes. A column
        or `~astropy.units.Quantity` with a velocity unit (``km/s``) is a recession
        velocity, converted with ``z = cz / c``. Galaxies outside the model's
        redshift range are flagged (`~astropy_smass.SmassFlag.REDSHIFT_OUT_OF_RANGE`).
    distance : str or `~astropy.units.Quantity`, optional
        Column or values of luminosity distance (Mpc if unitless).
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Default `~astropy.cosmology.Planck18`.
    sentinels : iterable of float
        Magnitude values meaning "missing" (default -9999, -999, -99, 0, 99, 999,
        9999).
    uncertainty : {'auto', 'none', 'analytic', 'montecarlo'}
        How ``logmstar_err`` is made. ``'auto'`` (default) propagates the
        photometric errors analytically where error columns exist; without them
        ``logmstar_err`` is the model's intrinsic scatter and the scale systematic.
        ``'none'`` (or None) gives no uncertainty columns at all.
    n_draws, seed : int
        Monte Carlo draws per galaxy and their seed.
    correct : bool
        Apply the model's residual-bias correction.
    exclude_out_of_domain : bool
        Give no mass to galaxies outside the training domain (always flagged).
    redshift_unit : str or unit, optional
        Unit of a ``redshift`` column or values that have none, e.g. ``"km/s"``
        for a recession velocity. A unitless column named like a velocity (``cz``,
        ``cz_kms``, ``vel``...) is an error without it.
    check_units : bool
        Refuse a table whose fluxes would fit the training galaxies only after a
        change of unit prefix (Jy values labelled mJy, say): see
        `~astropy_smass.diagnostics.check_flux_units`.
    survey : str or sequence of str, optional
        Photometric system of columns whose names give a band letter but no survey
        (``g``, ``mag_g``, ``FLUX_G``, ``MAG_AUTO_G``): a name from
        `~astropy_smass.photometry.bands.SURVEYS` such as ``"des"``, ``"legacy_south"``,
        ``"legacy_north"``, ``"hsc"``, ``"panstarrs"``, ``"lsst"``,
        ``"suprimecam"``, ``"euclid"``, ``"sdss"``. Without it, plain letters keep
        their historical meaning (SDSS u g r i z, VISTA Z Y J H K) and a flux such as
        ``FLUX_G`` is an error that says how to name its system.
    ebv : str or array-like, optional
        Galactic E(B-V) (column name or values, mag): every band is corrected with
        the registry's A_band / E(B-V) (Gordon et al. 2023, R_V = 3.1).
    imf : {'chabrier', 'kroupa', 'salpeter', 'diet-salpeter'}, optional
        IMF of the returned masses (default ``'chabrier'``, the package's). Other
        IMFs are a constant shift (`~astropy_smass.massscale.IMFS`).
    mass_definition : {'living+remnants', 'living'}, optional
        Count stellar remnants (default, the package's definition) or living stars
        only; the latter is a typical shift of -0.099 dex whose galaxy-to-galaxy
        spread (0.015 dex) is added to ``logmstar_err_sys``
        (`~astropy_smass.massscale.MASS_DEFINITIONS`).
    systematic : float or `~astropy.units.Quantity`, optional
        The scale systematic in dex (default ``conf.systematic_dex``, which is
        `~astropy_smass.massscale.SYSTEMATIC_DEX` unless configured); 0 leaves it out
        of ``logmstar_err``.
    _resolved : tuple, optional
        Private: what ``_resolve_inputs`` returned for a table of the same columns, so
        that a stream of chunks resolves its models and columns once.

    Returns
    -------
    `~astropy.table.QTable`
        ``logmstar`` (``dex(Msun)``); with an uncertainty, ``logmstar_err`` (``dex``)
        = sqrt(``logmstar_err_phot``^2 + intrinsic^2 + ``logmstar_err_sys``^2) for
        every row with a mass, ``logmstar_err_phot`` (only when photometric errors
        are propagated; NaN where a row's error is invalid, which then counts as 0
        in the total) and ``logmstar_err_sys``; ``smass_flag``
        (`~astropy_smass.SmassFlag` bits); ``smass_model`` (when several models were
        used). The IMF (``smass_imf``) and mass definition
        (``smass_mass_definition``) are in ``meta`` and the column descriptions;
        provenance in ``meta``, including which column was read as which band
        (``smass_band_columns``, ``smass_band_systems``), a service's preferred
        column where several could hold a band (``smass_band_choices``), bands
        converted from Vega (``smass_vega_bands``) and the extinction correction
        (``smass_ebv``).
        Rows without a mass hold NaN and a non-zero flag.

    Warns
    -----
    `~astropy_smass.SmassWarning`
        When most rows get no mass; the message names the likely cause.
    """
    uncertainty = _uncertainty_mode(uncertainty)
    scale = resolve_scale(imf, mass_definition)
    systematic = _systematic_dex(systematic, scale) if uncertainty is not None else None
    if kind is None:
        kind = "apparent" if (redshift is not None or distance is not None) else "absolute"
    models, band_columns, error_columns, match = _resolved or _resolve_inputs(
        table, model, columns, errors, redshift, distance, survey, ebv, kind)
    vega = (vega,) if isinstance(vega, str) else tuple(vega or ())
    vega = _vega_bands(table, vega, match, band_columns, survey)
    if isinstance(units, dict):
        units = {resolve_band(b, survey).name: unit for b, unit in units.items()}
    # The redshift once, as values (velocities converted, the column checked).
    z = None if redshift is None else redshift_values(table, redshift, redshift_unit)
    # The best model's bands first, in its order: its magnitudes are then a view.
    order = list(models[0].bands) + [b for b in band_columns if b not in models[0].bands]
    band_columns = {b: band_columns[b] for b in order}
    if uncertainty == "auto":
        # Without photometric errors, the uncertainty is the intrinsic and systematic part.
        uncertainty = "analytic" if error_columns else "intrinsic"
    elif uncertainty is not None and not error_columns:
        warnings.warn("no photometric error columns were found: logmstar_err_phot is 0 and "
                      "logmstar_err the model's intrinsic scatter and the scale systematic",
                      SmassWarning)
    propagate = uncertainty if uncertainty in ("analytic", "montecarlo") else None
    # As absolute_magnitudes, and which bands raised any flag at all.
    read_info = {}
    mags, errs, band_flags, flagged = _read_magnitudes(
        table, band_columns, error_columns, units=units, vega=vega, kind=kind,
        redshift=z, distance=distance, cosmology=cosmology, sentinels=sentinels,
        info=read_info, ebv=ebv)
    if errs is not None:
        # A band without an error column contributes no propagated error.
        missing_err = [k for k, b in enumerate(band_columns) if b not in error_columns]
        errs[:, missing_err] = 0.0

    n = len(table)
    index = {band: k for k, band in enumerate(band_columns)}
    model_flags = []
    for candidate in models:
        # Column by column (band_flags is band-major), and only bands that raised a flag:
        # most tables raise none, and then no galaxy needs its flags gathered.
        row_flags = None
        for b in candidate.bands:
            if flagged[index[b]]:
                row_flags = band_flags[:, index[b]] | (0 if row_flags is None else row_flags)
        row_flags = _redshift_flags(candidate, z, row_flags)
        model_flags.append(row_flags)
    if model_flags[0] is None:
        assigned = None  # the first model takes every galaxy
    else:
        assigned = np.full(n, -1)
        # A galaxy goes to the first model that has its bands and its redshift.
        refuse = int(NO_MASS | SmassFlag.REDSHIFT_OUT_OF_RANGE)
        for j, row_flags in enumerate(model_flags):
            free = assigned < 0
            if row_flags is not None:
                free &= (row_flags & refuse) == 0
            assigned[free] = j
        # A galaxy no model can take reports the first model's flags. One outside the
        # training domain of its model is not handed to a later one: later models use as
        # many bands or more, and adding bands cannot make the rejected photometry typical.
        assigned[assigned < 0] = 0

    keys = ["logmstar", "flags"] + ([] if propagate is None else ["logmstar_err_phot"])
    out = {}
    for j, candidate in enumerate(models):
        rows = slice(None) if assigned is None else assigned == j
        if assigned is not None:
            if not rows.any():
                continue
            if rows.all():
                rows = slice(None)  # one model for every row: no copies
        cols = [index[b] for b in candidate.bands]
        inputs = _take(mags, rows, cols)
        input_errors = None if errs is None else _take(errs, rows, cols)
        if candidate.observed_frame:
            # The redshift is the last input, taken as exact.
            inputs = np.column_stack([inputs, z[rows]])
            if input_errors is not None:
                input_errors = np.column_stack([input_errors, np.zeros(len(inputs))])
        result = candidate.predict_magnitudes(
            inputs, input_errors,
            uncertainty=propagate, n_draws=n_draws, seed=seed, correct=correct,
            exclude_out_of_domain=exclude_out_of_domain,
            flags=None if model_flags[j] is None else model_flags[j][rows])
        if check_units:
            flux = [k for k, b in enumerate(candidate.bands)
                    if b in read_info.get("flux_bands", ())]
            check_flux_units(candidate, inputs, result["flags"], flux,
                             {b: band_columns[b] for b in candidate.bands}, units)
        if isinstance(rows, slice):
            out = {key: result[key] for key in keys}
            break
        for key in keys:
            if key not in out:
                out[key] = np.zeros(n, np.int32) if key == "flags" else np.full(n, np.nan)
            out[key][rows] = result[key]
    if not out:  # an empty table
        out = {key: np.zeros(0, np.int32 if key == "flags" else float) for key in keys}
    n_no_mass = int(np.count_nonzero(np.isnan(out["logmstar"])))
    if n_no_mass and 2 * n_no_mass > n:
        context = {"magnitudes": mags, "bands": list(band_columns), "model": models[0],
                   "kind": kind, "has_distance": distance is not None or z is not None,
                   "flux_bands": read_info.get("flux_bands", ()),
                   "vega": {get_band(b).name for b in vega}, "band_columns": band_columns,
                   "redshift": z, "redshift_range": redshift_range(models[0]),
                   "raw_medians": _raw_medians(table, band_columns,
                                               read_info.get("flux_bands", ()))}
        warnings.warn(explain_no_mass(n, out["flags"], out["logmstar"], context),
                      SmassWarning)

    logmstar = out["logmstar"]
    if scale.offset_dex:
        logmstar += scale.offset_dex
    # The arrays are this call's own: the table takes them without copies.
    columns = {"logmstar": logmstar << u.dex(u.Msun)}
    if uncertainty is not None:
        has_mass = np.isfinite(logmstar)
        intrinsic = np.array([m.intrinsic_scatter for m in models])
        intrinsic = intrinsic[assigned] if assigned is not None else np.full(n, intrinsic[0])
        phot = out.get("logmstar_err_phot")
        total = total_uncertainty(phot, intrinsic, systematic)
        total[~has_mass] = np.nan
        columns["logmstar_err"] = total << u.dex
        if phot is not None:
            columns["logmstar_err_phot"] = phot << u.dex
        columns["logmstar_err_sys"] = np.where(has_mass, systematic, np.nan) << u.dex
    columns["smass_flag"] = out["flags"]
    if len(models) > 1:
        names = np.array([m.name for m in models])
        columns["smass_model"] = names[np.zeros(n, int) if assigned is None else assigned] \
            if n else np.array([], dtype="U1")
    result = QTable(columns, copy=False)
    for name in result.colnames:
        result[name].info.description = column_description(name, scale)
        result[name].info.meta = {"ucd": OUTPUT_COLUMNS[name][1]}
    result.meta.update(_provenance(models, band_columns, error_columns, uncertainty, correct,
                                   cosmology, redshift, distance, n_draws, seed,
                                   exclude_out_of_domain))
    result.meta.update(_band_provenance(match, band_columns, vega, ebv))
    result.meta.update(scale.meta())
    if uncertainty is not None:
        result.meta["smass_systematic_dex"] = systematic
        result.meta["smass_uncertainty_formula"] = (
            "logmstar_err = sqrt(logmstar_err_phot^2 + intrinsic^2 + logmstar_err_sys^2); "
            "the photometric part counts as 0 where no photometric error is known")
    return result


def _raw_medians(table, band_columns, flux_bands):
    """Median value of each magnitude column, as stored (for the no-mass diagnosis)."""
    medians = {}
    for band, name in band_columns.items():
        if band not in flux_bands:
            values, mask, _ = column_values(table, name)
            values = values[~mask & np.isfinite(values)]
            medians[band] = float(np.median(values)) if len(values) else np.nan
    return medians


#: Redshift range of models that record none: the bundled z ~ 0 models, trained on
#: rest-frame magnitudes without K-corrections (a few hundredths of a magnitude at z < 0.1).
DEFAULT_REDSHIFT_RANGE = (0.0, 0.1)


def redshift_range(model):
    """The redshifts ``(low, high)`` a model was trained for."""
    found = getattr(model, "redshift_range", None)
    if found is None:
        found = model.metadata.get("redshift_range", DEFAULT_REDSHIFT_RANGE)
    return float(found[0]), float(found[1])


def _redshift_flags(model, z, row_flags):
    """``row_flags`` with `SmassFlag.REDSHIFT_OUT_OF_RANGE` where ``z`` lies outside the
    model's range (a missing redshift is NO_DISTANCE's business, not this flag's)."""
    if z is None:
        return row_flags
    low, high = redshift_range(model)
    with np.errstate(invalid="ignore"):
        outside = (z < low) | (z > high)
    if not outside.any():
        return row_flags
    bits = np.multiply(outside, np.int32(SmassFlag.REDSHIFT_OUT_OF_RANGE), dtype=np.int32)
    return bits if row_flags is None else row_flags | bits


def _take(array, rows, cols):
    """``array[rows][:, cols]`` with one copy at most (none for all rows, leading columns)."""
    if cols == list(range(cols[0], cols[0] + len(cols))):
        return array[rows, cols[0]:cols[0] + len(cols)]
    if isinstance(rows, slice):
        return array[:, cols]
    return array[np.ix_(np.flatnonzero(rows), cols)]


def _provenance(models, band_columns, error_columns, uncertainty, correct, cosmology,
                redshift, distance, n_draws, seed, exclude):
    from ._utils import VERSION as __version__

    meta = {
        "smass_version": __version__,
        "smass_model": models[0].name if len(models) == 1 else "auto",
        "smass_models": [m.name for m in models],
        "smass_model_sources": {m.name: source_text(m) for m in models},
        "smass_band_columns": dict(band_columns),
        "smass_error_columns": dict(error_columns),
        "smass_correction": {m.name: (m.correction.to_dict() if correct and m.correction
                                      else None) for m in models},
        "smass_intrinsic_scatter_dex": {m.name: m.intrinsic_scatter for m in models},
        "smass_uncertainty": {None: "none", "intrinsic": "intrinsic+systematic (no "
                              "photometric errors)"}.get(uncertainty, uncertainty),
        "smass_out_of_domain": "excluded" if exclude else "kept (flagged)",
        "smass_flag_bits": {flag.name: int(flag) for flag in SmassFlag},
    }
    if uncertainty == "montecarlo":
        meta["smass_mc"] = {"n_draws": n_draws, "seed": seed}
    if redshift is not None and distance is None:
        meta["smass_cosmology"] = cosmology.name if cosmology is not None else "Planck18"
    return meta


def _band_provenance(match, band_columns, vega, ebv):
    """What the columns were read as: systems, choices, Vega conversion, extinction."""
    from .photometry.bands import EXTINCTION_LAW, EXTINCTION_RV

    meta = {"smass_survey": list(match.survey) or "none",
            "smass_band_systems": {b: get_band(b).survey for b in band_columns}}
    choices = {b: c for b, c in match.choices.items() if b in band_columns}
    if choices:
        meta["smass_band_choices"] = choices
    converted = [b for b in band_columns if b in vega]
    if converted:
        meta["smass_vega_bands"] = converted
    if ebv is not None:
        meta["smass_ebv"] = {
            "source": ebv if isinstance(ebv, str) else "values",
            "law": f"{EXTINCTION_LAW} (Gordon et al. 2023), R_V = {EXTINCTION_RV}",
            "a_over_ebv": {b: get_band(b).a_over_ebv for b in band_columns}}
    return meta


def reference_log_mass(table, name):
    """Reference log10(M*/Msun) from a column in dex(Msun), Msun, or unitless log."""
    values, mask, unit = column_values(table, name)
    values = np.where(mask, np.nan, values)
    # A plain "dex" (as many catalogues write log masses) is a log10 mass, too.
    if unit is None or unit in (u.dimensionless_unscaled, u.dex) or isinstance(unit, u.DexUnit):
        return values
    if unit.is_equivalent(u.Msun):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log10((values * unit).to_value(u.Msun))
    raise BandColumnError(f"reference column {name!r} has unit {unit}; expected dex(Msun), "
                          "Msun or a plain log10 mass")


def saliency_table(table, model, *, columns=None, **kwargs):
    """Per-galaxy feature importance (see `StellarMassModel.saliency_magnitudes`)."""
    model = load_model(model)
    survey = kwargs.pop("survey", None)
    band_columns = recognise_columns(
        table, bands=model.bands, columns=columns, survey=survey,
        exclude=[kwargs.get("redshift"), kwargs.get("distance"), kwargs.get("ebv")]).columns
    select_models(band_columns, model)
    mags, _, band_flags = absolute_magnitudes(table, band_columns, **kwargs)
    mags = mags[:, [list(band_columns).index(b) for b in model.bands]]
    usable = ((band_flags & NO_MASS) == 0).all(axis=1) & np.isfinite(mags).all(axis=1)
    saliency = np.full((len(table), len(model.features)), np.nan)
    if usable.any():
        saliency[usable] = model.saliency_magnitudes(mags[usable])
    result = QTable(saliency * u.dex, names=model.features)
    result.meta["smass_model"] = model.name
    return result


def calibrate_model(model, table, reference="logmstar", degree=1, fit_range=None,
                    catalogue=None, reference_error=None, provenance=None, **kwargs):
    """Fit a model's residual-bias correction against reference masses in ``table``.

    The correction is fitted to ``reference - predicted`` (see
    `~astropy_smass.model.correction.BiasCorrection.fit`). The intrinsic scatter is then
    measured on the corrected residuals as the part of their robust variance not
    explained by the propagated photometric errors and the reference errors (see
    `~astropy_smass.model.uncertainty.intrinsic_scatter`).

    Parameters
    ----------
    model : str, path or `~astropy_smass.model.bundle.StellarMassModel`
        The model to calibrate.
    table : `~astropy.table.Table`
        Photometry (read as by `predict_table`) and reference masses.
    reference : str
        Column of reference log10(M*/Msun) (or a ``dex(Msun)`` / ``Msun`` column).
    degree : int
        Polynomial degree of the correction.
    fit_range : tuple, optional
        Predicted-mass range to fit; default the 1st-99th percentiles.
    catalogue : str, optional
        Name of the reference catalogue, recorded in the provenance.
    reference_error : str or array-like, optional
        1-sigma errors of the reference masses: a column (dex, or Msun when
        ``reference`` is in Msun) or values in dex. Without it the reference
        masses count as exact, so the intrinsic scatter is an upper limit.
    provenance : dict, optional
        More provenance to record (which half of a catalogue, split seed, ...).
    **kwargs
        Passed to `predict_table` (``columns=``, ``distance=``, ``uncertainty=``...).

    Returns
    -------
    StellarMassModel
        A copy of this model with the new correction and the measured intrinsic
        scatter; save it with its ``save`` method.
    """
    model = load_model(model)
    prediction = predict_table(table, model, correct=False, **kwargs)
    predicted = prediction["logmstar"].value
    ref = reference_log_mass(table, reference)
    if reference_error is None:
        ref_err = np.zeros(len(table))
    elif isinstance(reference_error, str):
        values, mask, unit = column_values(table, reference_error)
        ref_err = np.where(mask, np.nan, values)
        if unit is not None and not isinstance(unit, u.DexUnit) and unit != u.dex \
                and unit.is_equivalent(u.Msun):
            # An error on a linear mass: d log10 M = dM / (M ln 10).
            ref_err = (ref_err * unit).to_value(u.Msun) / (10.0 ** ref * np.log(10.0))
    else:
        ref_err = np.broadcast_to(np.asarray(u.Quantity(reference_error).value, float),
                                  (len(table),))
    info = {"catalogue": catalogue or table.meta.get("name", "user table"),
            "reference_column": reference, "n_rows": len(table),
            "n_predicted": int(np.isfinite(predicted).sum()), **(provenance or {})}
    correction = BiasCorrection.fit(predicted, ref, degree=degree, fit_range=fit_range,
                                    provenance=info)
    calibrated = model.replace(correction=correction)
    after = predict_table(table, calibrated, correct=True, **kwargs)
    corrected = after["logmstar"].value
    phot = (after["logmstar_err_phot"].value if "logmstar_err_phot" in after.colnames
            else np.zeros(len(table)))
    scatter, parts = intrinsic_scatter(ref - corrected, phot, ref_err, details=True)
    correction.provenance.update({"intrinsic_scatter_dex": scatter, **parts})
    return calibrated.replace(intrinsic_scatter=scatter)
