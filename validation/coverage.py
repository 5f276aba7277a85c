"""Mass scales and uncertainty coverage on the reference catalogues.

Every reference catalogue's masses are moved onto the package's scale (Chabrier IMF,
living stars + remnants) with the documented constants of `astropy_smass.massscale`
(`on_package_scale`) before they are compared with the network. This module measures,
per catalogue and per model:

* `scale_offsets`: the median offset of the network (raw or corrected) from the
  reference masses before and after that conversion, and the 16-84 per cent
  half-width; the spread of the converted offsets between catalogues is the measured
  value of the scale systematic (`systematic_from_offsets`);
* `coverage_table`: the fraction of reference masses inside the 1-sigma interval of
  ``logmstar_err`` (the reference's own error added where the catalogue gives one,
  the photometric noise that moves both masses counted once, `difference_sigma`),
  with and without the systematic part, and the probability integral transform (PIT)
  histogram, flat for honest Gaussian errors (`pit`, `pit_histogram`);
* `plot_coverage` and `coverage_rst` draw and tabulate them for the validation page
  (`update_docs`).

Usage (the catalogues come from ``$ASTROPY_SMASS_DATA`` or ``../shared/data``)::

    python scripts/scale_coverage.py          # print the tables
    python scripts/scale_coverage.py --docs   # refresh docs/validation.rst and its plot
"""

import numpy as np
from astropy.table import QTable, Table
from scipy.special import ndtr

from astropy_smass.massscale import REFERENCE_SCALES, to_package_scale
from astropy_smass.photometry.magnitudes import column_values
from astropy_smass.pipeline import predict_table, reference_log_mass

__all__ = ["REFERENCE_SCALE_OF", "SHARED_PHOTOMETRY", "PIT_BINS", "difference_sigma",
           "on_package_scale", "reference_masses", "pit",
           "pit_histogram", "coverage_summary", "catalogue_halves", "scale_offsets",
           "systematic_from_offsets", "coverage_table", "plot_coverage", "coverage_rst",
           "COVERAGE_BEGIN", "COVERAGE_END", "update_docs"]

#: Validation catalogue (a key of `validation.CATALOGUES`) -> its scale (a key of
#: `astropy_smass.massscale.REFERENCE_SCALES`).
REFERENCE_SCALE_OF = {"eco": "eco", "dustpedia": "dustpedia", "desi": "desi", "des": "des",
                      "cosmos": "cosmos"}

#: Catalogues whose reference masses were fitted to the photometry the network reads
#: here, so that one photometric error moves both masses (`difference_sigma`).
SHARED_PHOTOMETRY = {
    "dustpedia": "CIGALE fits (Nersesian et al. 2019) to the Clark et al. (2018) fluxes",
    "des": "the DES-SN5YR host fits to the DES griz magnitudes of the host table",
}

#: Bins of the PIT histograms.
PIT_BINS = 10


def _spec(name):
    """The `validation.Catalogue` of a key of `validation.CATALOGUES` or of the redshift
    surveys (`validation.surveys.SURVEYS`)."""
    import validation
    from validation.surveys import SURVEYS

    if name in validation.CATALOGUES:
        return validation.CATALOGUES[name]
    if name in SURVEYS:
        return SURVEYS[name].catalogue
    raise ValueError(f"unknown catalogue {name!r}")


def on_package_scale(table, name):
    """A catalogue with its reference masses moved onto the package's scale.

    Parameters
    ----------
    table : `~astropy.table.Table`
        A validation catalogue as its loader returns it.
    name : str
        Its key in `validation.CATALOGUES` or `validation.surveys.SURVEYS`.

    Returns
    -------
    `~astropy.table.QTable`
        A shallow copy in which the reference column (``spec.reference``) holds
        ``log10 M`` on the package's scale (`~astropy_smass.massscale.to_package_scale`)
        and ``<reference>_catalogue`` the catalogue's own values;
        ``meta["smass_reference_scale"]`` records the conversion. A catalogue without
        reference masses, or without a documented scale, comes back unchanged.
    """
    spec = _spec(name)
    scale = REFERENCE_SCALE_OF.get(name)
    if spec.reference is None or scale is None or spec.reference not in table.colnames:
        return table
    if f"{spec.reference}_catalogue" in table.colnames:
        return table  # converted already
    import astropy.units as u

    out = QTable(table, copy=False)
    original = reference_log_mass(table, spec.reference)
    out[f"{spec.reference}_catalogue"] = original * u.dex(u.Msun)
    out[f"{spec.reference}_catalogue"].info.description = (
        f"{spec.name}'s own log stellar mass ({REFERENCE_SCALES[scale].catalogue} scale)")
    out[spec.reference] = to_package_scale(original, scale) * u.dex(u.Msun)
    out[spec.reference].info.description = (
        f"{spec.name}'s log stellar mass on the package's scale (Chabrier IMF, living stars "
        f"+ remnants): {REFERENCE_SCALES[scale].offset_dex:+.3f} dex removed")
    out.meta = dict(table.meta)
    out.meta["smass_reference_scale"] = {"catalogue_scale": scale,
                                         "offset_removed_dex": REFERENCE_SCALES[scale].offset_dex}
    return out


def reference_masses(table, name, package_scale=True):
    """Reference log masses and their 1-sigma errors (dex) of a validation catalogue.

    Parameters
    ----------
    table : `~astropy.table.Table`
        The catalogue (or part of it), converted or not.
    name : str
        Its key in `validation.CATALOGUES` or `validation.surveys.SURVEYS`.
    package_scale : bool
        On the package's scale (default) or the catalogue's own.

    Returns
    -------
    reference, error : numpy.ndarray
        NaN where missing; the error is NaN everywhere when the catalogue gives none.
    """
    spec = _spec(name)
    converted = f"{spec.reference}_catalogue" in table.colnames
    if package_scale:
        ref = reference_log_mass(table, spec.reference)
        if not converted and REFERENCE_SCALE_OF.get(name):
            ref = to_package_scale(ref, REFERENCE_SCALE_OF[name])
    else:
        ref = reference_log_mass(table, f"{spec.reference}_catalogue" if converted
                                 else spec.reference)
    if spec.reference_error is None:
        return ref, np.full(len(ref), np.nan)
    values, mask, _ = column_values(table, spec.reference_error)
    return ref, np.where(mask, np.nan, np.asarray(values, dtype=float))


def pit(predicted, uncertainty, reference, reference_error=None):
    """Probability integral transform of the reference masses under the predictions.

    ``PIT = Phi((reference - predicted) / sqrt(uncertainty^2 + reference_error^2))``,
    with ``Phi`` the standard normal CDF: uniform on [0, 1] when the errors are right
    and Gaussian; U-shaped when they are too small, peaked when too large, sloped
    when biased.

    Parameters
    ----------
    predicted, uncertainty, reference : array-like
        log masses and the 1-sigma uncertainty of the prediction (dex).
    reference_error : array-like, optional
        1-sigma errors of the reference masses (dex); NaN counts as 0.

    Returns
    -------
    numpy.ndarray
        NaN where any input is missing.
    """
    predicted = np.asarray(predicted, dtype=float)
    width2 = np.square(np.asarray(uncertainty, dtype=float))
    if reference_error is not None:
        ref_err = np.asarray(reference_error, dtype=float)
        width2 = width2 + np.where(np.isnan(ref_err), 0.0, np.square(ref_err))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.asarray(reference, dtype=float) - predicted) / np.sqrt(width2)
    return ndtr(z)


def pit_histogram(values, bins=PIT_BINS):
    """PIT histogram as densities (1 everywhere for a flat one).

    Parameters
    ----------
    values : array-like
        PIT values; NaN are left out.
    bins : int

    Returns
    -------
    density, edges : numpy.ndarray
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    counts, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    density = counts * bins / max(len(values), 1)
    return density, edges


def difference_sigma(uncertainty, reference_error=None, photometric=None):
    """1-sigma width of predicted minus reference log mass (dex).

    With independent errors it is ``sqrt(uncertainty^2 + reference_error^2)``. When the
    reference mass was fitted to the same photometry, one photometric error moves both
    masses, and in the difference it cancels: counting it in both terms counts it
    twice. Given ``photometric``, the propagated photometric part of ``uncertainty``,
    the reference's error is taken to hold the same response to the photometry, up to
    the whole of its quoted error ``s = min(photometric, reference_error)``::

        width^2 = (uncertainty^2 - photometric^2) + (photometric - s)^2
                  + (reference_error^2 - s^2)

    Parameters
    ----------
    uncertainty : array-like
        Total 1-sigma uncertainty of the prediction (dex).
    reference_error : array-like, optional
        1-sigma error of the reference mass (dex); NaN counts as 0.
    photometric : array-like, optional
        Photometric part of ``uncertainty`` (dex) shared with the reference; NaN
        counts as 0 (nothing shared).

    Returns
    -------
    numpy.ndarray
    """
    total2 = np.square(np.asarray(uncertainty, dtype=float))
    ref = (np.zeros_like(total2) if reference_error is None
           else np.nan_to_num(np.asarray(reference_error, dtype=float), nan=0.0))
    if photometric is None:
        return np.sqrt(total2 + ref ** 2)
    phot = np.minimum(np.nan_to_num(np.asarray(photometric, dtype=float), nan=0.0),
                      np.sqrt(total2))
    shared = np.minimum(phot, ref)
    return np.sqrt(total2 - phot ** 2 + (phot - shared) ** 2 + ref ** 2 - shared ** 2)


def coverage_summary(predicted, uncertainty, reference, reference_error=None,
                     systematic=None, bins=PIT_BINS, photometric=None):
    """Offset, scatter, coverage and PIT of predictions against reference masses.

    Parameters
    ----------
    predicted, uncertainty, reference : array-like
        log masses and the total 1-sigma uncertainty of the prediction (dex).
    reference_error : array-like, optional
        1-sigma errors of the reference masses (dex), added in quadrature.
    systematic : array-like or float, optional
        The systematic part of ``uncertainty`` (dex), to score without it as well.
    bins : int
        PIT histogram bins.
    photometric : array-like, optional
        The photometric part of ``uncertainty`` (dex) when the reference masses were
        fitted to the same photometry: counted once (`difference_sigma`).

    Returns
    -------
    dict
        ``n``; ``median_offset`` and ``half_width`` (half the 16-84 per cent range) of
        predicted - reference (dex); ``coverage`` and ``coverage_2sigma`` (fractions
        within 1 and 2 sigma); ``coverage_no_sys`` (1 sigma without ``systematic``);
        ``coverage_independent`` (1 sigma, every error counted as independent);
        ``pit_density`` (array of ``bins``); ``pit_ks`` (largest distance of the PIT's
        empirical CDF from the uniform one).
    """
    predicted = np.asarray(predicted, dtype=float)
    uncertainty = np.asarray(uncertainty, dtype=float)
    reference = np.asarray(reference, dtype=float)
    good = np.isfinite(predicted) & np.isfinite(uncertainty) & np.isfinite(reference)
    ref_err = (np.zeros_like(reference) if reference_error is None
               else np.asarray(reference_error, dtype=float))[good]
    phot = None if photometric is None else np.asarray(photometric, dtype=float)[good]
    out = {"n": int(good.sum())}
    if not good.any():
        return {**out, "median_offset": np.nan, "half_width": np.nan, "coverage": np.nan,
                "coverage_2sigma": np.nan, "coverage_no_sys": np.nan,
                "coverage_independent": np.nan, "pit_density": np.full(bins, np.nan),
                "pit_ks": np.nan}
    resid = predicted[good] - reference[good]
    p16, p50, p84 = np.percentile(resid, [16, 50, 84])
    width = difference_sigma(uncertainty[good], ref_err, phot)
    out.update(median_offset=float(p50), half_width=float((p84 - p16) / 2),
               coverage=float(np.mean(np.abs(resid) <= width)),
               coverage_2sigma=float(np.mean(np.abs(resid) <= 2 * width)),
               coverage_independent=float(np.mean(
                   np.abs(resid) <= difference_sigma(uncertainty[good], ref_err))))
    if systematic is not None:
        sys2 = np.square(np.broadcast_to(np.asarray(systematic, dtype=float),
                                         predicted.shape)[good])
        no_sys = difference_sigma(np.sqrt(np.clip(uncertainty[good] ** 2 - sys2, 0, None)),
                                  ref_err, phot)
        out["coverage_no_sys"] = float(np.mean(np.abs(resid) <= no_sys))
    else:
        out["coverage_no_sys"] = out["coverage"]
    values = pit(predicted[good], width, reference[good])
    out["pit_density"], _ = pit_histogram(values, bins)
    sorted_values = np.sort(values)
    ecdf = np.arange(1, len(sorted_values) + 1) / len(sorted_values)
    out["pit_ks"] = float(np.max(np.maximum(ecdf - sorted_values,
                                            sorted_values - (ecdf - 1 / len(sorted_values)))))
    return out


def catalogue_halves(name, seed=None, package_scale=True):
    """A validation catalogue's calibration and evaluation halves.

    The redshift surveys' halves are those of `validation.surveys.survey_halves`
    (inside the redshift range their targets are judged in).

    Parameters
    ----------
    name : str
        Key of `validation.CATALOGUES` or `validation.surveys.SURVEYS`.
    seed : int, optional
        Seed of `validation.split_halves` (default `validation.SPLIT_SEED`).
    package_scale : bool
        Move the reference masses onto the package's scale first (`on_package_scale`).

    Returns
    -------
    spec, (calibration, evaluation)
    """
    import validation
    from validation.surveys import SURVEYS, survey_halves

    seed = validation.SPLIT_SEED if seed is None else seed
    spec = _spec(name)
    if name in SURVEYS:
        halves = survey_halves(name, seed)
    else:
        halves = validation.split_halves(spec.load(), spec.key, seed)
    if package_scale:
        halves = tuple(on_package_scale(half, name) for half in halves)
    return spec, halves


def _half(name, half, seed):
    spec, (calibration, evaluation) = catalogue_halves(name, seed)
    return spec, {"calibration": calibration, "evaluation": evaluation}[half]


def _predict(table, name, model, **kwargs):
    """Predictions for a catalogue as its validation reads it (per photometric system for
    DESI): ``logmstar``, ``logmstar_err``, ``logmstar_err_sys`` and ``logmstar_err_phot``
    (dex, NaN without an uncertainty) and ``smass_model``, as arrays."""
    from validation.surveys import SURVEYS, _groups, predict_kwargs

    if name not in SURVEYS:
        groups = [(_spec(name).predict_kwargs, slice(None))]
    else:
        groups = [(predict_kwargs(name, photsys), rows) for photsys, rows in _groups(name, table)]
    n = len(table)
    out = {"logmstar": np.full(n, np.nan), "logmstar_err": np.full(n, np.nan),
           "logmstar_err_sys": np.full(n, np.nan), "logmstar_err_phot": np.full(n, np.nan),
           "smass_model": np.full(n, "", dtype="U64")}
    for base, rows in groups:
        part = table[rows] if not isinstance(rows, slice) else table
        if not len(part):
            continue
        result = predict_table(part, model, **{**base, **kwargs})
        for key in ("logmstar", "logmstar_err", "logmstar_err_sys", "logmstar_err_phot"):
            if key in result.colnames:
                out[key][rows] = result[key].value
        out["smass_model"][rows] = (np.asarray(result["smass_model"]).astype(str)
                                    if "smass_model" in result.colnames
                                    else result.meta.get("smass_model", ""))
    return out


def _available(names):
    out = []
    for name in names:
        try:
            spec = _spec(name)
        except ValueError:
            continue
        if spec.reference is None:
            continue
        try:
            spec.load()
        except (FileNotFoundError, OSError):
            continue
        out.append(name)
    return out


DEFAULT_CATALOGUES = ("eco", "dustpedia", "desi", "des", "cosmos")


def _groups(assigned, per_model):
    """("all", every row), then one (model, rows) per model when more than one is used."""
    groups = [("all", np.ones(len(assigned), bool))]
    used = sorted(set(assigned) - {""})
    if per_model and len(used) > 1:
        groups += [(m, assigned == m) for m in used]
    return groups


def scale_offsets(names=DEFAULT_CATALOGUES, *, half="evaluation", seed=None, model="auto",
                  per_model=True):
    """Median offsets of the network from each catalogue, before and after conversion.

    For each catalogue with reference masses (and each model ``"auto"`` uses there,
    with ``per_model``): the network's masses with no correction (``raw``) and with
    the bundled corrections (``corrected``), each against the reference masses on
    the catalogue's own scale and on the package's scale.

    Parameters
    ----------
    names : iterable of str
        Keys of `validation.CATALOGUES` or `validation.surveys.SURVEYS`; those not
        available are left out.
    half : {'evaluation', 'calibration'}
    seed : int, optional
        Seed of the split.
    model : str or `~astropy_smass.model.bundle.StellarMassModel`
        Passed to `~astropy_smass.predict_table`.
    per_model : bool
        Also one row per model, where ``"auto"`` uses more than one.

    Returns
    -------
    `~astropy.table.Table`
        ``catalogue``, ``model`` ("all" for every galaxy), ``models`` (the models used),
        ``n``, ``conversion_dex``
        (the offset removed from the reference), and for ``raw`` and ``corrected``:
        ``<kind>_offset_catalogue`` and ``<kind>_offset_package`` (median predicted -
        reference, dex) and ``<kind>_half_width`` (16-84 per cent half-width, dex).
    """
    rows = []
    for name in _available(names):
        spec, table = _half(name, half, seed)
        raw = _predict(table, name, model, correct=False, uncertainty=None)
        corrected = _predict(table, name, model, uncertainty=None)
        ref_pkg, _ = reference_masses(table, name)
        ref_cat, _ = reference_masses(table, name, package_scale=False)
        conversion = REFERENCE_SCALES[REFERENCE_SCALE_OF[name]].offset_dex
        groups = _groups(corrected["smass_model"], per_model)
        for label, rows_mask in groups:
            used = sorted(set(corrected["smass_model"][rows_mask]) - {""})
            row = {"catalogue": spec.name, "model": label, "models": " ".join(used),
                   "conversion_dex": conversion}
            for kind, prediction in (("raw", raw), ("corrected", corrected)):
                logm = prediction["logmstar"]
                good = rows_mask & np.isfinite(logm) & np.isfinite(ref_pkg)
                row["n"] = int(good.sum())
                if good.any():
                    pkg = logm[good] - ref_pkg[good]
                    row[f"{kind}_offset_catalogue"] = float(np.median(logm[good] - ref_cat[good]))
                    row[f"{kind}_offset_package"] = float(np.median(pkg))
                    p16, p84 = np.percentile(pkg, [16, 84])
                    row[f"{kind}_half_width"] = float((p84 - p16) / 2)
                else:
                    row.update({f"{kind}_offset_catalogue": np.nan,
                                f"{kind}_offset_package": np.nan, f"{kind}_half_width": np.nan})
            if label == "all" or row["n"] >= 15:
                rows.append(row)
    names_out = ["catalogue", "model", "models", "n", "conversion_dex", "raw_offset_catalogue",
                 "raw_offset_package", "raw_half_width", "corrected_offset_catalogue",
                 "corrected_offset_package", "corrected_half_width"]
    table = Table(rows=[[r[k] for k in names_out] for r in rows], names=names_out,
                  dtype=[str, str, str, int] + [float] * 7) if rows else Table(names=names_out)
    table.meta.update(half=half, seed=seed, model=str(model))
    return table


def systematic_from_offsets(offsets, kind="corrected"):
    """The scale systematic measured from the catalogues' offsets after conversion.

    The standard deviation (ddof 1) of the per-catalogue median offsets of
    `scale_offsets` (rows ``model == "all"``), on the package's scale. This is the
    value `astropy_smass.massscale.SYSTEMATIC_DEX` should hold; with fewer than two
    catalogues it is NaN.

    Parameters
    ----------
    offsets : `~astropy.table.Table`
        From `scale_offsets`.
    kind : {'corrected', 'raw'}

    Returns
    -------
    float
        dex.
    """
    rows = offsets[offsets["model"] == "all"]
    values = np.asarray(rows[f"{kind}_offset_package"], dtype=float)
    values = values[np.isfinite(values)]
    return float(np.std(values, ddof=1)) if len(values) >= 2 else float("nan")


def coverage_table(names=DEFAULT_CATALOGUES, *, half="evaluation", seed=None, model="auto",
                   per_model=True, bins=PIT_BINS, **predict_kwargs):
    """1-sigma coverage and PIT per catalogue and per model, with the default options.

    The network predicts each catalogue's ``half`` as a user would (``model="auto"``,
    ``uncertainty="auto"``, the bundled corrections, the default systematic), and its
    ``logmstar_err`` is checked against the reference masses on the package's scale,
    the reference's own error added where the catalogue gives one; for the catalogues
    of `SHARED_PHOTOMETRY` the photometric noise that moves both masses is counted once
    (`difference_sigma`).

    Parameters
    ----------
    names : iterable of str
        Keys of `validation.CATALOGUES` or `validation.surveys.SURVEYS`; those not
        available are left out.
    half : {'evaluation', 'calibration'}
    seed : int, optional
    model : str or `~astropy_smass.model.bundle.StellarMassModel` or list
        Passed to `~astropy_smass.predict_table`.
    per_model : bool
        Also one row per model ``"auto"`` uses on the catalogue (15 galaxies or more),
        where it uses more than one.
    bins : int
        PIT bins.
    **predict_kwargs
        More arguments of `~astropy_smass.predict_table` (``systematic=``...).

    Returns
    -------
    `~astropy.table.Table`
        ``catalogue``, ``model``, ``models`` (the models used), ``n``,
        ``reference_error`` (whether the reference
        has errors), ``median_offset``, ``half_width``, ``median_err`` (median
        ``logmstar_err``), ``median_err_sys``, ``coverage``, ``coverage_no_sys``,
        ``coverage_independent`` (every error counted as independent),
        ``coverage_2sigma``, ``pit_ks`` and ``pit_density`` (a vector of ``bins``).
    """
    rows = []
    for name in _available(names):
        spec, table = _half(name, half, seed)
        prediction = _predict(table, name, model, **predict_kwargs)
        logm, err = prediction["logmstar"], prediction["logmstar_err"]
        sys = np.nan_to_num(prediction["logmstar_err_sys"], nan=0.0)
        phot = prediction["logmstar_err_phot"] if name in SHARED_PHOTOMETRY else None
        ref, ref_err = reference_masses(table, name)
        groups = _groups(prediction["smass_model"], per_model)
        for label, mask in groups:
            summary = coverage_summary(logm[mask], err[mask], ref[mask], ref_err[mask],
                                       systematic=sys[mask], bins=bins,
                                       photometric=None if phot is None else phot[mask])
            if label != "all" and summary["n"] < 15:
                continue
            good = mask & np.isfinite(logm) & np.isfinite(ref)
            used = " ".join(sorted(set(prediction["smass_model"][good]) - {""}))
            rows.append((spec.name, label, used, summary["n"], spec.reference_error is not None,
                         summary["median_offset"], summary["half_width"],
                         float(np.median(err[good])) if good.any() else np.nan,
                         float(np.median(sys[good])) if good.any() else np.nan,
                         summary["coverage"], summary["coverage_no_sys"],
                         summary["coverage_independent"],
                         summary["coverage_2sigma"], summary["pit_ks"],
                         summary["pit_density"]))
    names_out = ("catalogue", "model", "models", "n", "reference_error", "median_offset",
                 "half_width",
                 "median_err", "median_err_sys", "coverage", "coverage_no_sys",
                 "coverage_independent", "coverage_2sigma", "pit_ks", "pit_density")
    if not rows:
        return Table(names=names_out[:-1])
    table = Table(rows=rows, names=names_out)
    table.meta.update(half=half, seed=seed, bins=bins)
    return table


def plot_coverage(coverage, path=None):
    """PIT histograms (one panel per catalogue, one line per model) and 1-sigma coverage.

    Parameters
    ----------
    coverage : `~astropy.table.Table`
        From `coverage_table`.
    path : path-like, optional
        Save the figure there (PNG).

    Returns
    -------
    `matplotlib.figure.Figure`
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    catalogues = list(dict.fromkeys(coverage["catalogue"]))
    ncol = len(catalogues) + 1
    fig, axes = plt.subplots(1, ncol, figsize=(3.2 * ncol, 3.0), squeeze=False)
    axes = axes[0]
    bins = len(coverage["pit_density"][0])
    edges = np.linspace(0, 1, bins + 1)
    for ax, name in zip(axes, catalogues):
        rows = coverage[coverage["catalogue"] == name]
        for row in rows:
            style = {"lw": 2.0, "color": "k"} if row["model"] == "all" else {"lw": 1.0}
            ax.stairs(row["pit_density"], edges, label=f"{row['model']} ({row['n']})",
                      **style)
        ax.axhline(1.0, color="0.6", ls=":")
        ax.set_title(name)
        ax.set_xlabel("PIT")
        ax.set_xlim(0, 1)
        ax.legend(fontsize=6, loc="upper center")
    axes[0].set_ylabel("density (flat = calibrated)")
    ax = axes[-1]
    overall = coverage[coverage["model"] == "all"]
    x = np.arange(len(overall))
    ax.bar(x - 0.2, overall["coverage"], 0.4, label="with sys")
    ax.bar(x + 0.2, overall["coverage_no_sys"], 0.4, label="without sys")
    ax.axhspan(0.60, 0.76, color="0.85", zorder=0)
    ax.axhline(0.683, color="k", ls=":")
    ax.set_xticks(x, list(overall["catalogue"]), rotation=30, fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_title("1-sigma coverage")
    ax.legend(fontsize=6)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def _fmt(value, fmt="{:.3f}"):
    return "-" if value is None or not np.isfinite(value) else fmt.format(value)


def _rst(header, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    line = "  ".join("=" * w for w in widths)
    out = [line, "  ".join(str(h).ljust(w) for h, w in zip(header, widths)).rstrip(), line]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    out.append(line)
    return "\n".join(out)


def _label(row):
    models = row["models"] if "models" in row.colnames else ""
    if row["model"] != "all":
        return f"``{row['model']}``"
    return "all" if not models or " " in models else f"all (``{models}``)"


def coverage_rst(offsets, coverage, systematic=None, plot=None):
    """The validation page's section on mass scales and coverage, as reStructuredText.

    Parameters
    ----------
    offsets : `~astropy.table.Table`
        From `scale_offsets`.
    coverage : `~astropy.table.Table`
        From `coverage_table`.
    systematic : float, optional
        The measured systematic (`systematic_from_offsets`).
    plot : str, optional
        Path of the coverage figure, relative to the page.

    Returns
    -------
    str
    """
    from astropy_smass.massscale import SYSTEMATIC_DEX

    parts = ["Offsets before and after conversion", "-" * 35, "",
             "Median of network minus reference log mass (dex), before and after moving the "
             "reference onto the package's scale, and the 16-84 per cent half-width after; "
             "raw = no correction, corrected = the bundled corrections.", ""]
    rows = [(r["catalogue"], _label(r), r["n"], _fmt(r["conversion_dex"], "{:+.3f}"),
             _fmt(r["raw_offset_catalogue"], "{:+.3f}"), _fmt(r["raw_offset_package"], "{:+.3f}"),
             _fmt(r["corrected_offset_catalogue"], "{:+.3f}"),
             _fmt(r["corrected_offset_package"], "{:+.3f}"), _fmt(r["corrected_half_width"]))
            for r in offsets]
    parts.append(_rst(("catalogue", "model", "N", "conversion", "raw, catalogue scale",
                       "raw, package scale", "corrected, catalogue scale",
                       "corrected, package scale", "16-84 half-width"), rows))
    parts.append("")
    measured = "not measured" if systematic is None or not np.isfinite(systematic) else (
        f"{systematic:.3f} dex")
    parts += [f"Spread of the catalogues' corrected offsets after conversion (standard "
              f"deviation): {measured}; `astropy_smass.massscale.SYSTEMATIC_DEX` is "
              f"{SYSTEMATIC_DEX:.3f} dex.", "",
              "Coverage", "-" * 8, "",
              "Fraction of reference masses (package scale) within the 1-sigma "
              "``logmstar_err`` of the default prediction, the reference's own error added "
              "where the catalogue has one (target 68 +- 8 per cent). Where the reference "
              "masses were fitted to the same photometry (shared photometry: yes), the "
              "photometric noise that moves both masses is counted once "
              "(`validation.coverage.difference_sigma`); the column 'independent' counts it "
              "twice. Also without the systematic part, and within 2 sigma (95 per cent). "
              "KS: largest distance of the PIT distribution from the uniform one.", ""]
    shared = {_spec(name).name for name in SHARED_PHOTOMETRY}
    rows = [(r["catalogue"], _label(r), r["n"], "yes" if r["reference_error"] else "no",
             "yes" if r["catalogue"] in shared else "no",
             _fmt(r["median_offset"], "{:+.3f}"), _fmt(r["half_width"]), _fmt(r["median_err"]),
             _fmt(100 * r["coverage"], "{:.0f}%"), _fmt(100 * r["coverage_no_sys"], "{:.0f}%"),
             _fmt(100 * r["coverage_independent"], "{:.0f}%"),
             _fmt(100 * r["coverage_2sigma"], "{:.0f}%"), _fmt(r["pit_ks"], "{:.2f}"))
            for r in coverage]
    parts.append(_rst(("catalogue", "model", "N", "ref. error", "shared photometry",
                       "median offset", "16-84 half-width", "median logmstar_err", "1-sigma",
                       "1-sigma no sys", "1-sigma independent", "2-sigma", "PIT KS"), rows))
    if plot:
        parts += ["", f".. image:: {plot}", "   :width: 100%",
                  "   :alt: PIT histograms per catalogue and model, and 1-sigma coverage"]
    return "\n".join(parts) + "\n"


COVERAGE_BEGIN = ".. BEGIN GENERATED: scripts/scale_coverage.py --docs; do not edit by hand"
COVERAGE_END = ".. END GENERATED COVERAGE"


def update_docs(path, text):
    """Replace the generated coverage section of a page (between the markers)."""
    from pathlib import Path

    path = Path(path)
    page = path.read_text()
    start, end = page.index(COVERAGE_BEGIN), page.index(COVERAGE_END)
    path.write_text(page[:start] + COVERAGE_BEGIN + "\n\n" + text + "\n" + page[end:])
