"""What a run did, and why rows got no mass: summaries, warnings and plausibility checks.

Every prediction says what happened. `RunSummary` counts the rows, those with a mass
and each `~astropy_smass.SmassFlag`; the command line prints it as one line. When most
rows get no mass, `predict_table` issues a `~astropy_smass.SmassWarning` that names the
likely cause (`explain_no_mass`), and `check_flux_units` refuses fluxes that fit the
training galaxies only after a change of unit prefix (mJy read as Jy, say).
"""

import warnings

import numpy as np

from .exceptions import ImplausiblePhotometryError
from .flags import NO_MASS, OUT_OF_DOMAIN, SmassFlag
from .photometry.bands import BANDS

__all__ = ["RunSummary", "count_flags", "explain_no_mass", "check_flux_units",
           "UNIT_CHECK_MIN_ROWS"]

#: Rows with usable photometry needed before `check_flux_units` judges a table.
UNIT_CHECK_MIN_ROWS = 20

# A unit prefix off by 1000**k shifts magnitudes by 7.5 k.
_PREFIX_STEPS = (1, -1, 2, -2, 3, -3)
_PREFIX_NAMES = {1: "1000", 2: "a million", 3: "a billion"}
_UNIT_CHECK_SAMPLE = 4096


def count_flags(flags):
    """Rows with each `~astropy_smass.SmassFlag` bit set.

    Parameters
    ----------
    flags : array-like of int

    Returns
    -------
    dict
        ``{flag name: count}`` for the bits that are set somewhere, most frequent first.
    """
    flags = np.asarray(flags, dtype=np.int64)
    counts = {}
    if flags.size and flags.any():
        for flag in SmassFlag:
            n = int(np.count_nonzero(flags & int(flag)))
            if n:
                counts[flag.name] = n
    return dict(sorted(counts.items(), key=lambda item: (-item[1], SmassFlag[item[0]])))


class RunSummary:
    """Rows, rows with a mass and flag counts of a run, added up chunk by chunk.

    Examples
    --------
    >>> import numpy as np
    >>> summary = RunSummary()
    >>> summary.add([10.2, np.nan, np.nan], [0, 1, 48])
    >>> summary.line(top=2)
    '3 rows, 1 with a stellar mass (33.3%); flags: MISSING_BAND 1, OUT_OF_RANGE 1, ...'
    """

    def __init__(self):
        self.n_rows = 0
        self.n_mass = 0
        self.flag_counts = {}

    def add(self, logmstar, flags):
        """Count one table's (or chunk's) ``logmstar`` values and ``smass_flag`` bits."""
        values = np.ma.filled(np.ma.asarray(getattr(logmstar, "value", logmstar),
                                            dtype=float), np.nan)
        self.n_rows += len(values)
        self.n_mass += int(np.count_nonzero(np.isfinite(values)))
        for name, n in count_flags(np.ma.filled(np.ma.asarray(flags), 0)).items():
            self.flag_counts[name] = self.flag_counts.get(name, 0) + n

    def merge(self, other):
        """Add another summary's counts to this one."""
        self.n_rows += other.n_rows
        self.n_mass += other.n_mass
        for name, n in other.flag_counts.items():
            self.flag_counts[name] = self.flag_counts.get(name, 0) + n

    @classmethod
    def from_table(cls, table, prefix=""):
        """The summary of a predicted or annotated table."""
        summary = cls()
        summary.add(table[prefix + "logmstar"], table[prefix + "smass_flag"])
        return summary

    @property
    def n_no_mass(self):
        return self.n_rows - self.n_mass

    def as_dict(self):
        return {"n_rows": self.n_rows, "n_mass": self.n_mass,
                "flag_counts": self.commonest(len(SmassFlag))}

    def commonest(self, n=3):
        """The ``n`` most frequent flags and their counts."""
        ranked = sorted(self.flag_counts.items(),
                        key=lambda item: (-item[1], SmassFlag[item[0]]))
        return dict(ranked[:n])

    def line(self, top=3):
        """One line: rows, rows with a mass, and the commonest flags."""
        share = f" ({100 * self.n_mass / self.n_rows:.1f}%)" if self.n_rows else ""
        text = f"{self.n_rows} rows, {self.n_mass} with a stellar mass{share}"
        common = self.commonest(top)
        if common:
            text += "; flags: " + ", ".join(f"{name} {n}" for name, n in common.items())
            if len(self.flag_counts) > top:
                text += ", ..."
        return text


def _no_mass_reasons(flags, no_mass):
    """Among rows without a mass, how many carry each group of reasons."""
    flags = flags[no_mass]
    groups = {
        "missing": SmassFlag.MISSING_BAND,
        "nonfinite": SmassFlag.NONFINITE | SmassFlag.NONPOSITIVE_FLUX,
        "distance": SmassFlag.NO_DISTANCE,
        "implausible": SmassFlag.IMPLAUSIBLE,
        "redshift": SmassFlag.REDSHIFT_OUT_OF_RANGE,
        "nomatch": SmassFlag.NO_MATCH,
        "domain": SmassFlag.OUT_OF_RANGE | SmassFlag.OUT_OF_DISTRIBUTION,
    }
    return {key: int(np.count_nonzero(flags & int(bits))) for key, bits in groups.items()}


def _median_offsets(magnitudes, centre):
    """Median of magnitudes minus the training centre's, per band (NaN-aware)."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bands
        return np.nanmedian(magnitudes - centre, axis=0)


def explain_no_mass(n_rows, flags, logmstar, context):
    """A sentence on why most rows got no mass, naming the likely cause.

    Parameters
    ----------
    n_rows : int
    flags, logmstar : ndarray (n,)
        The prediction's flags and masses.
    context : dict
        What the prediction was given and found: ``magnitudes`` (n, n_bands) and
        ``bands`` (their order), ``model`` (the first model used), ``kind``
        ('absolute' or 'apparent'), ``has_distance`` (bool), ``flux_bands``,
        ``vega`` (set of bands declared Vega), ``band_columns``, ``redshift``
        (ndarray or None), ``redshift_range`` (of the model) and ``raw_medians``
        (``{band: median value}`` of the magnitude columns as read, before any distance).

    Returns
    -------
    str
    """
    no_mass = ~np.isfinite(logmstar)
    n_no = int(no_mass.sum())
    head = f"{n_no} of {n_rows} rows got no stellar mass"
    reasons = _no_mass_reasons(flags, no_mass)
    dominant = max(reasons, key=reasons.get)
    if reasons[dominant] == 0:
        return head + "."
    share = f"{reasons[dominant]} of them"
    band_columns = context.get("band_columns", {})
    if dominant == "missing":
        mags = context["magnitudes"]
        missing = [b for k, b in enumerate(context["bands"])
                   if np.mean(~np.isfinite(mags[no_mass, k])) > 0.5]
        named = ", ".join(f"{b} ({band_columns.get(b, '?')!r})" for b in missing)
        where = (f": {named} {'is' if len(missing) == 1 else 'are'} masked, NaN or a "
                 "sentinel value (such as 0 or 99) in most of them" if missing else "")
        return (f"{head}: {share} miss a band the models need{where}. Check the column "
                "mapping (columns=) and the sentinels (sentinels=).")
    if dominant == "nonfinite":
        return (f"{head}: {share} have NaN, infinite, zero or negative photometry. Check the "
                "band columns (columns=) and their units (units=).")
    if dominant == "distance":
        return (f"{head}: {share} have no usable distance (the redshift or distance is "
                "missing, zero or negative). Check redshift= or distance=.")
    if dominant == "nomatch":
        return (f"{head}: {share} have no counterpart within the cross-match radius. Check "
                "the positions and the radius of the match.")
    if dominant == "redshift":
        z = context.get("redshift")
        low, high = context.get("redshift_range", (np.nan, np.nan))
        text = (f"{head}: {share} have a redshift outside the range of the models "
                f"({low:g} to {high:g})")
        if z is not None and np.isfinite(z).any() and np.nanmedian(z) > 30:
            text += (f", with a median of {np.nanmedian(z):.0f}: a recession velocity in "
                     "km/s? Give redshift_unit='km/s' (or the column's unit) and it is "
                     "converted with z = cz/c")
        return text + "."
    return f"{head}: {share} are outside the training domain. " + _domain_cause(context)


def _domain_cause(context):
    """The likely cause when most galaxies lie outside the training domain."""
    model, mags, bands = context["model"], context["magnitudes"], context["bands"]
    columns = [bands.index(b) for b in model.bands if b in bands]
    model_bands = [bands[k] for k in columns]
    offsets = _median_offsets(mags[:, columns], model.domain_center_magnitudes())
    finite = np.isfinite(offsets)
    if not finite.any():
        return _GENERIC
    typical = float(np.median(offsets[finite]))
    flux_bands = set(context.get("flux_bands", ()))
    vega = set(context.get("vega", ()))
    raw = {b: m for b, m in context.get("raw_medians", {}).items()
           if b in model_bands and b not in flux_bands and np.isfinite(m)}
    if raw and all(abs(m) < 2 for m in raw.values()):
        names = ", ".join(repr(context.get("band_columns", {}).get(b, b)) for b in raw)
        return (f"The magnitude columns {names} hold values near 0 (median "
                f"{np.median(list(raw.values())):.3g}), which no galaxy's magnitude is: "
                "they look like fluxes. Give their unit (units=, e.g. 'Jy' or 'mJy').")
    if context.get("kind") == "absolute" and not context.get("has_distance") and typical > 15:
        return (f"The magnitudes are read as absolute, but they are {typical:.0f} mag fainter "
                "than typical training galaxies: they look like apparent magnitudes. Give a "
                "distance (redshift= or distance=) to convert them.")
    if flux_bands and abs(typical) > 5:
        step = round(typical / 7.5)
        if step and abs(typical - 7.5 * step) < 2.0:
            factor = _PREFIX_NAMES.get(abs(step), f"1e{3 * abs(step)}")
            way = "small" if step > 0 else "large"
            return (f"The fluxes give magnitudes {abs(typical):.1f} mag "
                    f"{'fainter' if step > 0 else 'brighter'} than typical training "
                    f"galaxies: a factor of about {factor} too {way}. Check the flux unit "
                    "(units=; a prefix off, such as Jy values labelled mJy?).")
    # Vega/AB: the Vega-native bands sit apart from the others by about their offset.
    native = [k for k, b in enumerate(model_bands) if BANDS[b].vega_to_ab]
    others = [k for k, b in enumerate(model_bands) if not BANDS[b].vega_to_ab]
    if native and others and np.isfinite(offsets[native]).all():
        base = np.nanmedian(offsets[others])
        shift = np.array([BANDS[model_bands[k]].vega_to_ab for k in native])
        declared = np.array([model_bands[k] in vega for k in native])
        apart = offsets[native] - base
        # Read as AB, Vega magnitudes are brighter (smaller) by the offset; declared Vega
        # but already AB, fainter by it.
        expected = np.where(declared, shift, -shift)
        if (np.mean(np.abs(apart - expected)) < 0.5 * np.mean(np.abs(apart))
                and np.mean(np.abs(apart)) > 0.4):
            names = ", ".join(model_bands[k] for k in native)
            if declared.all():
                return (f"The bands {names} are declared Vega (vega=), but they look like AB "
                        "magnitudes already: leave them out of vega=.")
            return (f"The bands {names} look like Vega magnitudes read as AB: list them in "
                    "vega=.")
    return _GENERIC


_GENERIC = ("The usual causes: apparent magnitudes without a distance (give redshift= or "
            "distance=), a wrong unit (units=), or Vega magnitudes read as AB (vega=).")


def _usable_rows(flags, limit):
    """Indices of rows with usable photometry, evenly spread, at most ``limit``."""
    rows = np.flatnonzero((flags & int(NO_MASS & ~SmassFlag.IMPLAUSIBLE)) == 0)
    if len(rows) > limit:
        rows = rows[np.linspace(0, len(rows) - 1, limit).astype(int)]
    return rows


def check_flux_units(model, magnitudes, flags, flux_columns, band_columns=None, units=None):
    """Refuse fluxes that fit the training galaxies only after a change of unit prefix.

    A flux unit off by a prefix (Jy values labelled mJy) shifts every galaxy by 7.5 mag:
    many still look like plausible dwarfs or giants, so no single row shows it, but the
    table as a whole does. When more than 30 per cent of the rows with usable photometry
    lie outside the training domain, and fluxes scaled by a power of 1000 would put at
    least 90 per cent of them inside (25 points more than as given), the table is
    refused. (DustPedia's fluxes in Jy labelled mJy: 56 per cent inside; in Jy, 93.)
    A sample of genuinely faint dwarfs can look the same: ``check_units=False``
    predicts anyway.

    Parameters
    ----------
    model : `~astropy_smass.bundle.StellarMassModel`
    magnitudes : ndarray (n, n_bands)
        Absolute magnitudes in the model's band order.
    flags : ndarray (n,)
        The prediction's flags for these rows.
    flux_columns : list of int
        Which of the columns of ``magnitudes`` were read from fluxes.
    band_columns : dict, optional
        ``{band: column}``, for the message.
    units : optional
        The ``units=`` given, for the message.

    Raises
    ------
    ImplausiblePhotometryError
    """
    if not flux_columns:
        return
    rows = _usable_rows(flags, _UNIT_CHECK_SAMPLE)
    if len(rows) < UNIT_CHECK_MIN_ROWS:
        return
    inside = (flags[rows] & int(OUT_OF_DOMAIN | SmassFlag.IMPLAUSIBLE)) == 0
    share = inside.mean()
    if share >= 0.7:
        return
    sample = np.array(magnitudes[rows], dtype=float)
    best = (0.0, 0)
    for step in _PREFIX_STEPS:
        shifted = sample.copy()
        shifted[:, flux_columns] -= 7.5 * step  # fluxes 1000**step times larger
        _, new_flags, _ = model._magnitude_pass.run(shifted, None)
        fraction = np.mean((new_flags & int(OUT_OF_DOMAIN | NO_MASS)) == 0)
        if fraction > best[0]:
            best = (fraction, step)
    fraction, step = best
    if fraction < 0.9 or fraction < share + 0.25:
        return
    factor = _PREFIX_NAMES.get(abs(step), f"1e{3 * abs(step)}")
    way = "small" if step > 0 else "large"
    names = ", ".join(repr(c) for c in (band_columns or {}).values()) or "the flux columns"
    unit_text = f" (units={units!r})" if units else ""
    raise ImplausiblePhotometryError(
        f"the fluxes look {factor} times too {way}{unit_text}: {len(rows) - inside.sum()} of "
        f"{len(rows)} galaxies with usable photometry lie outside the training domain of "
        f"model {model.name!r}, but with fluxes {factor} times "
        f"{'larger' if step > 0 else 'smaller'} {100 * fraction:.0f}% would lie inside. "
        f"Check the unit of {names} (a prefix off, such as Jy values labelled mJy?); if "
        "the galaxies really are that "
        f"{'faint' if step > 0 else 'bright'}, pass check_units=False")
