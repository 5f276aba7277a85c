"""Luminosity functions of a simulated population against GAMA's z ~ 0 ones.

The GAMA luminosity functions (Driver et al. 2012, MNRAS 427, 3244) are 1/Vmax
estimates of k-corrected (to z = 0), Galactic-extinction-corrected absolute AB
magnitudes in 0.5 mag bins, published for h = 1 (``M - 5 log10 h`` and
``(Mpc/h)^-3``). `read_gama_lf` converts them to h = 0.7, the units of the GAMA
stellar mass function the population is drawn from:
``M = (M - 5 log10 h) + 5 log10(0.7)`` and ``phi [Mpc^-3] = phi [(Mpc/h)^-3] * 0.7^3``,
and divides by the 0.5 mag bin width so that every function here is in
Mpc^-3 mag^-1.

GAMA's Y, J, H and K functions are UKIRT WFCAM bands; they are compared with this
package's VISTA ``Y``, ``J``, ``H`` and ``K`` (Ks) bands, whose curves are close.

`record_luminosity_functions` is what `~astropy_smass.training.fit.train_all` runs on
the training population: it writes the bin-by-bin comparison to an ECSV file (shipped
for the bundled models as ``astropy_smass/data/training/population_lf.ecsv``, read by
`read_population_lf`) and returns the per-band summary stored in the training report
under ``"luminosity_functions"``.
"""

import json
from importlib import resources
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Table, vstack
from scipy.optimize import curve_fit

from ..exceptions import InputError, OutputExistsError, UnknownNameError
from .population import gama_data_dir

__all__ = ["GAMA_LF_FILES", "POPULATION_LF_FILE", "read_gama_lf", "schechter_mag",
           "fit_schechter", "population_lf", "compare_luminosity_functions",
           "summarize_lf_comparison", "lf_report", "write_population_lf",
           "read_population_lf", "record_luminosity_functions", "plot_luminosity_functions"]

#: Package band key -> GAMA luminosity-function file (Driver et al. 2012).
GAMA_LF_FILES = {
    "FUV": "lf1500_z0_driver12.data", "NUV": "lf2300_z0_driver12.data",
    "u": "lfu_z0_driver12.data", "g": "lfg_z0_driver12.data", "r": "lfr_z0_driver12.data",
    "i": "lfi_z0_driver12.data", "z": "lfz_z0_driver12.data", "Y": "lfy_z0_driver12.data",
    "J": "lfj_z0_driver12.data", "H": "lfh_z0_driver12.data", "K": "lfk_z0_driver12.data",
}

#: File name of the bundled models' population luminosity functions
#: (in ``astropy_smass/data/training``).
POPULATION_LF_FILE = "population_lf.ecsv"

_GAMA_BIN_WIDTH = 0.5  # mag
_PHI_UNIT = u.Mpc ** -3 / u.mag


def read_gama_lf(band, data_dir=None, h=0.7, keep_empty=False):
    """Read a GAMA z ~ 0 luminosity function, converted to Hubble parameter ``h``.

    Parameters
    ----------
    band : str
        Package band key: one of `GAMA_LF_FILES` (``"FUV"``, ``"NUV"``, ``"u"``, ``"g"``,
        ``"r"``, ``"i"``, ``"z"``, ``"Y"``, ``"J"``, ``"H"``, ``"K"``).
    data_dir : str or path-like, optional
        Directory with the ``lf*_z0_driver12.data`` files; default the environment
        variable ``ASTROPY_SMASS_GAMA_DIR``, else the copy shipped with the package.
    h : float, optional
        Hubble parameter H0 / (100 km/s/Mpc) to convert to (default 0.7).
    keep_empty : bool, optional
        Keep bins without galaxies (default: drop them).

    Returns
    -------
    `~astropy.table.Table`
        Columns ``mag`` (bin centre, absolute AB magnitude [mag] for ``h``),
        ``phi`` and ``phi_err`` (number density [Mpc^-3 mag^-1], 1-sigma) and
        ``n_gal`` (galaxies in the bin), brightest first; ``meta`` records the band,
        ``h``, bin width and source.
    """
    if band not in GAMA_LF_FILES:
        raise UnknownNameError(f"no GAMA luminosity function for band {band!r}; "
                               f"available: {', '.join(GAMA_LF_FILES)}")
    if not 0 < h <= 2:
        raise InputError(f"h must be in (0, 2], got {h!r}")
    path = Path(gama_data_dir(data_dir)) / GAMA_LF_FILES[band]
    data = np.atleast_2d(np.loadtxt(path, comments="#"))
    mag_h, phi_h, err_h, n_gal = data.T
    keep = np.ones(len(mag_h), bool) if keep_empty else n_gal > 0
    table = Table()
    table["mag"] = (mag_h[keep] + 5 * np.log10(h)) * u.mag
    table["phi"] = phi_h[keep] * h ** 3 / _GAMA_BIN_WIDTH * _PHI_UNIT
    table["phi_err"] = err_h[keep] * h ** 3 / _GAMA_BIN_WIDTH * _PHI_UNIT
    table["n_gal"] = n_gal[keep].astype(int)
    with open(path) as f:
        title = f.readline().lstrip("#").strip()
    table.meta.update(band=band, h=h, bin_width=_GAMA_BIN_WIDTH, source=title,
                      magnitude_system="AB")
    return table


def schechter_mag(mag, mstar, alpha, phistar):
    """Schechter function in magnitudes [same units as ``phistar``, per mag].

    ``0.4 ln10 phistar x^(alpha + 1) exp(-x)`` with ``x = 10^(0.4 (mstar - mag))``.
    """
    x = 10 ** (0.4 * (mstar - np.asarray(mag, dtype=float)))
    return 0.4 * np.log(10) * phistar * x ** (alpha + 1) * np.exp(-x)


def fit_schechter(lf):
    """Fit a Schechter function to a luminosity function table.

    Parameters
    ----------
    lf : `~astropy.table.Table`
        As returned by `read_gama_lf` (columns ``mag``, ``phi``, ``phi_err``).

    Returns
    -------
    dict
        ``mstar`` [mag], ``alpha``, ``phistar`` [Mpc^-3], fitted by weighted least
        squares in log10 phi (errors ``phi_err / (phi ln10)``).
    """
    mag = np.asarray(lf["mag"], dtype=float)
    phi = np.asarray(lf["phi"], dtype=float)
    err = np.asarray(lf["phi_err"], dtype=float)
    ok = (phi > 0) & (err > 0)
    if ok.sum() < 4:
        raise InputError("need at least 4 non-empty bins to fit a Schechter function")
    mag, phi, err = mag[ok], phi[ok], err[ok]
    sigma = err / (phi * np.log(10))

    def log_model(m, mstar, alpha, log_phistar):
        return np.log10(schechter_mag(m, mstar, alpha, 10 ** log_phistar))

    p0 = [mag[np.argmax(phi * 10 ** (-0.4 * mag))], -1.1, np.log10(phi.max())]
    popt, _ = curve_fit(log_model, mag, np.log10(phi), p0=p0, sigma=sigma, maxfev=20000)
    return {"mstar": float(popt[0]), "alpha": float(popt[1]),
            "phistar": float(10 ** popt[2])}


def _weights(population, density):
    if "weight" in population.colnames:
        if density is not None:
            raise InputError("give either a 'weight' column or density, not both")
        return np.asarray(u.Quantity(population["weight"], u.Mpc ** -3).value, dtype=float)
    if density is None:
        raise InputError("population has no 'weight' column: give density, the number "
                         "density [Mpc^-3] that the whole population represents")
    density = u.Quantity(density, u.Mpc ** -3).value
    return np.full(len(population), density / len(population))


def population_lf(population, band, bins, density=None):
    """Luminosity function of a (weighted) simulated population.

    Parameters
    ----------
    population : `~astropy.table.Table`
        Needs the column ``band`` (absolute magnitudes [mag]) and either a ``weight``
        column (number density each galaxy represents [Mpc^-3]) or ``density``.
    band : str
        Column to use.
    bins : array-like or `~astropy.units.Quantity`
        Bin edges [mag], increasing.
    density : float or `~astropy.units.Quantity`, optional
        Total number density [Mpc^-3] of the population when it has no ``weight``
        column (each galaxy then stands for ``density / N``).

    Returns
    -------
    `~astropy.table.Table`
        Columns ``mag`` (bin centre [mag]), ``phi`` and ``phi_err`` (Poisson,
        sqrt(sum w^2)) [Mpc^-3 mag^-1] and ``n_gal`` (simulated galaxies in the bin).
    """
    if band not in population.colnames:
        raise UnknownNameError(f"population has no column {band!r}")
    edges = np.asarray(u.Quantity(bins, u.mag).value if hasattr(bins, "unit") else bins,
                       dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise InputError("bins must be at least two increasing edges")
    mags = np.asarray(u.Quantity(population[band], u.mag).value
                      if population[band].unit is not None else population[band],
                      dtype=float)
    weights = _weights(population, density)
    good = np.isfinite(mags)
    width = np.diff(edges)
    sum_w, _ = np.histogram(mags[good], edges, weights=weights[good])
    sum_w2, _ = np.histogram(mags[good], edges, weights=weights[good] ** 2)
    count, _ = np.histogram(mags[good], edges)
    table = Table()
    table["mag"] = 0.5 * (edges[1:] + edges[:-1]) * u.mag
    table["phi"] = sum_w / width * _PHI_UNIT
    table["phi_err"] = np.sqrt(sum_w2) / width * _PHI_UNIT
    table["n_gal"] = count
    table.meta["band"] = band
    return table


def compare_luminosity_functions(population, bands=None, data_dir=None, window=2.0,
                                 density=None):
    """Compare a population's luminosity functions with GAMA's, bin by bin.

    Parameters
    ----------
    population : `~astropy.table.Table`
        Simulated population (see `population_lf`).
    bands : iterable of str, optional
        Bands to compare; default every band of `GAMA_LF_FILES` present in the table.
    data_dir : str or path-like, optional
        GAMA data directory (see `read_gama_lf`).
    window : float, optional
        Half-width [mag] around the band's Schechter M* of the bins flagged
        ``near_mstar`` (default 2).
    density : float or `~astropy.units.Quantity`, optional
        See `population_lf`.

    Returns
    -------
    `~astropy.table.Table`
        One row per band and non-empty GAMA bin: ``band``, ``mag``, ``gama_phi``,
        ``gama_err``, ``pop_phi``, ``pop_err`` [Mpc^-3 mag^-1], ``pop_n``,
        ``deviation`` ((pop - GAMA) / GAMA error), ``deviation_total`` (the same over
        the quadrature sum of both errors), ``log_ratio`` (log10 pop / GAMA),
        ``mstar`` (Schechter M* of the GAMA points [mag]), ``near_mstar`` and
        ``schechter_deviation`` ((Schechter fit - GAMA) / GAMA error, for a Schechter
        function fitted to GAMA's ``near_mstar`` points alone; NaN elsewhere);
        ``meta["window_mag"]`` is ``window``.
    """
    if bands is None:
        bands = [b for b in GAMA_LF_FILES if b in population.colnames]
    rows = []
    for band in bands:
        gama = read_gama_lf(band, data_dir=data_dir)
        centres = np.asarray(gama["mag"].value)
        edges = np.concatenate([centres - _GAMA_BIN_WIDTH / 2,
                                [centres[-1] + _GAMA_BIN_WIDTH / 2]])
        # GAMA bins are contiguous 0.5-mag bins; rebuild the full grid to histogram on.
        grid = np.arange(edges[0], edges[-1] + 1e-6, _GAMA_BIN_WIDTH)
        pop = population_lf(population, band, grid, density=density)
        index = np.rint((centres - grid[0] - _GAMA_BIN_WIDTH / 2) / _GAMA_BIN_WIDTH)
        pop = pop[index.astype(int)]
        mstar = fit_schechter(gama)["mstar"]
        t = Table()
        t["band"] = [band] * len(gama)
        t["mag"] = gama["mag"]
        t["gama_phi"] = gama["phi"]
        t["gama_err"] = gama["phi_err"]
        t["pop_phi"] = pop["phi"]
        t["pop_err"] = pop["phi_err"]
        t["pop_n"] = pop["n_gal"]
        gp, ge = gama["phi"].value, gama["phi_err"].value
        pp, pe = pop["phi"].value, pop["phi_err"].value
        t["deviation"] = (pp - gp) / ge
        t["deviation_total"] = (pp - gp) / np.hypot(ge, pe)
        with np.errstate(divide="ignore"):
            t["log_ratio"] = np.log10(pp / gp)
        t["mstar"] = np.full(len(t), mstar) * u.mag
        near = np.abs(centres - mstar) <= window
        t["near_mstar"] = near
        # The best a smooth curve does on the same bins: a Schechter function fitted to
        # GAMA's own points in the window. GAMA's bins scatter about any smooth curve by
        # more than their quoted errors, so this is the yardstick for the population.
        smooth = np.full(len(t), np.nan)
        if near.sum() >= 4:
            fit = fit_schechter(gama[near])
            smooth[near] = (schechter_mag(centres[near], **fit) - gp[near]) / ge[near]
        t["schechter_deviation"] = smooth
        rows.append(t)
    comparison = vstack(rows)
    comparison.meta["window_mag"] = float(window)
    return comparison


def _mstar_of(comparison, band):
    return float(u.Quantity(comparison["mstar"][comparison["band"] == band][0], u.mag).value)


def summarize_lf_comparison(comparison, near_mstar_only=True):
    """Per-band agreement statistics of `compare_luminosity_functions` output.

    Parameters
    ----------
    comparison : `~astropy.table.Table`
        Output of `compare_luminosity_functions`.
    near_mstar_only : bool, optional
        Use only the bins within the window around M* (default True).

    Returns
    -------
    `~astropy.table.Table`
        Per band: ``mstar`` [mag], ``n_bins``, ``mag_min``/``mag_max`` (range covered),
        ``frac_1sigma`` and ``frac_2sigma`` (fraction of bins with ``|deviation|`` <= 1
        and 2, GAMA errors only), ``frac_1sigma_total`` (with the population's Poisson
        error too), ``frac_1sigma_schechter`` and ``frac_2sigma_schechter`` (the same
        for a Schechter function fitted to GAMA's points in the window: what a smooth
        curve achieves), ``max_abs_log_ratio`` and ``median_log_ratio``.
    """
    out = []
    for band in dict.fromkeys(comparison["band"]):
        c = comparison[comparison["band"] == band]
        if near_mstar_only:
            c = c[c["near_mstar"]]
        dev = np.abs(np.asarray(c["deviation"]))
        dev_t = np.abs(np.asarray(c["deviation_total"]))
        smooth = np.abs(np.asarray(c["schechter_deviation"])) if (
            "schechter_deviation" in c.colnames) else np.full(len(c), np.nan)
        lr = np.asarray(c["log_ratio"])
        out.append({
            "band": band, "mstar": _mstar_of(comparison, band),
            "n_bins": len(c),
            "mag_min": float(np.min(c["mag"].value)) if len(c) else np.nan,
            "mag_max": float(np.max(c["mag"].value)) if len(c) else np.nan,
            "frac_1sigma": float(np.mean(dev <= 1)) if len(c) else np.nan,
            "frac_2sigma": float(np.mean(dev <= 2)) if len(c) else np.nan,
            "frac_1sigma_total": float(np.mean(dev_t <= 1)) if len(c) else np.nan,
            "frac_1sigma_schechter": float(np.mean(smooth <= 1)) if len(c) else np.nan,
            "frac_2sigma_schechter": float(np.mean(smooth <= 2)) if len(c) else np.nan,
            "max_abs_log_ratio": float(np.max(np.abs(lr))) if len(c) else np.nan,
            "median_log_ratio": float(np.median(lr)) if len(c) else np.nan,
        })
    table = Table(rows=out) if out else Table()
    if len(table):
        table["mstar"].unit = u.mag
        table["mag_min"].unit = u.mag
        table["mag_max"].unit = u.mag
    return table


_REFERENCE = ("GAMA z ~ 0 luminosity functions of Driver et al. (2012, MNRAS 427, 3244), "
              "1/Vmax, 0.5 mag bins, converted to h = 0.7")
_SUMMARY_DEFINITIONS = {
    "window_mag": "bins whose centre lies within this many mag of the band's M* are "
                  "summarised",
    "mstar": "Schechter M* fitted to the GAMA points (mag, h = 0.7)",
    "frac_1sigma": "fraction of those bins with |population - GAMA| <= 1 GAMA error",
    "frac_2sigma": "fraction with |population - GAMA| <= 2 GAMA errors",
    "frac_1sigma_total": "fraction within 1 sigma of GAMA's and the population's Poisson "
                         "errors in quadrature",
    "frac_1sigma_schechter": "fraction within 1 GAMA error of a Schechter function fitted "
                             "to GAMA's own points in the window (the best a smooth curve "
                             "does)",
    "frac_2sigma_schechter": "the same within 2 GAMA errors",
    "max_abs_log_ratio": "largest |log10(population / GAMA)| (dex)",
    "median_log_ratio": "median log10(population / GAMA) (dex)",
}


def lf_report(comparison, population_sha256=None, file=None):
    """JSON-ready per-band summary of a luminosity-function comparison.

    Parameters
    ----------
    comparison : `~astropy.table.Table`
        Output of `compare_luminosity_functions` (or `read_population_lf`).
    population_sha256 : str, optional
        Checksum of the population compared
        (`~astropy_smass.training.population.population_checksum`), recorded with the summary.
    file : str, optional
        Name of the file holding ``comparison``, recorded with the summary.

    Returns
    -------
    dict
        ``reference``, ``window_mag``, ``definitions``, ``file``,
        ``population_sha256`` and ``bands``: one dict per band with the columns of
        `summarize_lf_comparison` (magnitudes in mag, ratios in dex), rounded to 1e-4.
    """
    window = comparison.meta.get("window_mag")
    rows = []
    for row in summarize_lf_comparison(comparison):
        entry = {"band": str(row["band"]), "n_bins": int(row["n_bins"])}
        for key in ("mstar", "mag_min", "mag_max", "frac_1sigma", "frac_2sigma",
                    "frac_1sigma_total", "frac_1sigma_schechter", "frac_2sigma_schechter",
                    "max_abs_log_ratio", "median_log_ratio"):
            value = float(row[key])
            entry[key] = round(value, 4) if np.isfinite(value) else None
        rows.append(entry)
    return {"reference": _REFERENCE, "window_mag": None if window is None else float(window),
            "definitions": dict(_SUMMARY_DEFINITIONS), "file": file,
            "population_sha256": population_sha256, "bands": rows}


def write_population_lf(comparison, path, overwrite=False):
    """Write a luminosity-function comparison to an ECSV file, atomically.

    Parameters
    ----------
    comparison : `~astropy.table.Table`
        Output of `compare_luminosity_functions`.
    path : path-like
        Destination (``.ecsv``).
    overwrite : bool, optional
        Replace an existing file; otherwise `FileExistsError`.

    Returns
    -------
    `~pathlib.Path`
    """
    from .._utils import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: comparison.write(tmp, format="ascii.ecsv", overwrite=True),
                 overwrite=overwrite, mode=None)
    return path


def read_population_lf(path=None):
    """Read a luminosity-function comparison written by `write_population_lf`.

    Parameters
    ----------
    path : path-like, optional
        Default: the bundled models' training population, compared when they were
        trained (``astropy_smass/data/training/population_lf.ecsv``).

    Returns
    -------
    `~astropy.table.Table`
        The columns of `compare_luminosity_functions`; ``meta`` records the window, the
        source of the GAMA points and the population's checksum.
    """
    if path is None:
        path = resources.files("astropy_smass") / "data" / "training" / POPULATION_LF_FILE
    return Table.read(str(path), format="ascii.ecsv")


def record_luminosity_functions(population, lf_path, report_path=None, *, bands=None,
                                data_dir=None, window=2.0, overwrite=False):
    """Compare a population with GAMA, write the comparison and summarise it.

    Parameters
    ----------
    population : `~astropy.table.Table`
        Weighted simulated population (see `population_lf`), e.g. read by
        `~astropy_smass.training.fit.read_population`.
    lf_path : path-like
        ECSV file for the bin-by-bin comparison (`write_population_lf`).
    report_path : path-like, optional
        An existing training report (JSON) in which to store the summary under
        ``"luminosity_functions"``; nothing else in it changes.
    bands, data_dir, window
        See `compare_luminosity_functions`.
    overwrite : bool, optional
        Replace an existing ``lf_path``; otherwise `FileExistsError`.

    Returns
    -------
    dict
        The summary (`lf_report`), with the population's checksum
        (`~astropy_smass.training.population.population_checksum`; None without a ``logmstar``
        column).
    """
    from .._utils import json_default
    from .population import population_checksum

    lf_path = Path(lf_path)
    if lf_path.exists() and not overwrite:
        raise OutputExistsError(f"{lf_path} exists; pass overwrite=True (--overwrite) to "
                                "replace it")
    comparison = compare_luminosity_functions(population, bands=bands, data_dir=data_dir,
                                              window=window)
    checksum = population_checksum(population) if "logmstar" in population.colnames else None
    comparison.meta.update(reference=_REFERENCE, population_sha256=checksum,
                           description="Luminosity functions of the weighted training "
                                       "population on the non-empty GAMA bins, with GAMA's "
                                       "(Mpc^-3 mag^-1, h = 0.7)")
    entry = lf_report(comparison, population_sha256=checksum, file=lf_path.name)
    write_population_lf(comparison, lf_path, overwrite=overwrite)
    if report_path is not None:
        from .._utils import atomic_write

        report_path = Path(report_path)
        report = json.loads(report_path.read_text())
        report["luminosity_functions"] = entry
        text = json.dumps(report, indent=1, default=json_default) + "\n"
        atomic_write(report_path, lambda fh: fh.write(text), overwrite=True, mode="w")
    return entry


def plot_luminosity_functions(population, path, bands=None, data_dir=None, density=None):
    """Plot the population's luminosity functions over GAMA's, one panel per band.

    Parameters
    ----------
    population : `~astropy.table.Table`
        Simulated population (see `population_lf`).
    path : str or path-like
        Output image file (format from the extension).
    bands : iterable of str, optional
        Bands to plot; default every band of `GAMA_LF_FILES` present in the table.
    data_dir : str or path-like, optional
        GAMA data directory (see `read_gama_lf`).
    density : float or `~astropy.units.Quantity`, optional
        See `population_lf`.

    Returns
    -------
    `~matplotlib.figure.Figure`
        The figure (also written to ``path``).
    """
    # A bare Figure renders with Agg and leaves the session's pyplot backend alone.
    from matplotlib.figure import Figure

    if bands is None:
        bands = [b for b in GAMA_LF_FILES if b in population.colnames]
    bands = list(bands)
    ncol = min(4, len(bands))
    nrow = int(np.ceil(len(bands) / ncol))
    fig = Figure(figsize=(3.6 * ncol, 3.0 * nrow))
    axes = fig.subplots(nrow, ncol, squeeze=False)
    for ax, band in zip(axes.flat, bands):
        gama = read_gama_lf(band, data_dir=data_dir)
        mstar = fit_schechter(gama)["mstar"]
        edges = np.arange(gama["mag"].value.min() - 2.25, gama["mag"].value.max() + 0.3, 0.25)
        pop = population_lf(population, band, edges, density=density)
        ok = pop["phi"].value > 0
        ax.errorbar(gama["mag"].value, gama["phi"].value, yerr=gama["phi_err"].value,
                    fmt="o", ms=3, color="k", label="GAMA (Driver+12)")
        ax.plot(pop["mag"].value[ok], pop["phi"].value[ok], "-", color="C3",
                label="population")
        ax.axvspan(mstar - 2, mstar + 2, color="0.9", zorder=0)
        ax.set_yscale("log")
        ax.set_ylim(1e-7, 0.1)
        ax.set_xlim(edges[-1], edges[0])
        ax.set_title(band)
        ax.set_xlabel(r"$M_\mathrm{AB}$ [mag] ($h = 0.7$)")
        ax.set_ylabel(r"$\phi$ [Mpc$^{-3}$ mag$^{-1}$]")
    for ax in list(axes.flat)[len(bands):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return fig


def local_population(population, zmax=0.1):
    """The galaxies of a redshift-spread population below ``zmax``, weighted as a z ~ 0
    population.

    The population's masses are drawn independently of its redshifts, so the galaxies
    below ``zmax`` are a fair sample of the mass function: their weights are scaled by
    ``N / N(z < zmax)`` so that they still represent the whole number density. A
    population without a ``redshift`` column is returned as it is.
    """
    if "redshift" not in population.colnames:
        return population
    local = np.asarray(population["redshift"], float) < zmax
    subset = population[local]
    subset["weight"] = subset["weight"] * (len(population) / max(local.sum(), 1))
    return subset


#: The model floor (dex) added in quadrature to GAMA's errors in `lf_realism`'s chi^2.
LF_FLOOR_DEX = 0.05


def lf_realism(comparison, floor_dex=LF_FLOOR_DEX):
    """Realism figures of a population's luminosity functions within the window around
    each band's M*: the median ``|log10(population / GAMA)|`` and chi^2 per bin with
    GAMA's errors plus a ``floor_dex`` model floor in quadrature.

    Parameters
    ----------
    comparison : `~astropy.table.Table`
        Output of `compare_luminosity_functions` (its ``near_mstar`` bins are used).
    floor_dex : float
        Model floor (dex).

    Returns
    -------
    dict
        ``{band: {"n_bins", "median_abs_log_ratio", "chi2_dof"}}``.
    """
    out = {}
    for band in dict.fromkeys(comparison["band"]):
        c = comparison[(comparison["band"] == band) & comparison["near_mstar"]]
        gp = np.asarray(u.Quantity(c["gama_phi"]).value)
        ge = np.asarray(u.Quantity(c["gama_err"]).value)
        pp = np.asarray(u.Quantity(c["pop_phi"]).value)
        sigma = np.hypot(ge, np.log(10) * floor_dex * gp)
        out[band] = {"n_bins": len(c),
                     "median_abs_log_ratio": float(np.median(np.abs(c["log_ratio"]))),
                     "chi2_dof": float(np.mean(((pp - gp) / sigma) ** 2))}
    return out
