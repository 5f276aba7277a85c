"""Read Shark mock catalogues as training populations.

The semi-analytic model Shark (Lagos et al. 2018, MNRAS 481, 3573) with its SED
post-processing (Lagos et al. 2019, MNRAS 489, 4196) and the Viperfish / Stingray
tools writes galaxy catalogues whose photometry columns are named
``total_ab_dust_<band>_<survey>`` (total = bulge + disk, ``ab`` = absolute AB
magnitude, with dust attenuation) or ``mag_ab_dust_<band>_<survey>``, e.g.
``total_ab_dust_FUV_GALEX``, ``total_ab_dust_r_SDSS``, ``total_ab_dust_Z_VISTA``,
``total_ab_dust_W1_WISE``. Stellar masses are ``mstars_bulge`` and ``mstars_disk``
(linear; Shark writes them in Msun/h) or a precomputed ``log_mstar_total``.

`read_shark` turns such a catalogue, an HDF5 file (galaxy datasets in a group such
as ``galaxies/``) or anything `astropy.table.Table.read` reads, into a population
table in the format of `~astropy_smass.training.population.generate_population`:
one column per band key of absolute AB magnitudes and ``logmstar`` (log10 Msun), so
that `~astropy_smass.training.fit.train_model` trains on it directly.
"""

import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Table

from ..exceptions import InputError, MissingFileError, UnknownNameError
from ..photometry.bands import BandColumnError, find_band_columns

__all__ = ["read_shark", "SHARK_PREFIXES", "SHARK_H"]

#: Column prefixes of absolute magnitudes with dust, tried in this order.
SHARK_PREFIXES = ("total_ab_dust_", "mag_ab_dust_")
#: The dimensionless Hubble parameter of Shark's standard runs (Planck 2015, SURFS).
SHARK_H = 0.6751
# |magnitude| at or above this is a placeholder (Shark writes -999 for no photometry).
_SENTINEL_LIMIT = 90.0


def _read_hdf5(path, group):
    """1-D datasets of one group (and its subgroups) as a Table, plus ``h`` if stored."""
    import h5py

    with h5py.File(path, "r") as handle:
        if group is None:
            group = "galaxies" if "galaxies" in handle else "/"
        if group not in handle:
            raise UnknownNameError(f"{path} has no group {group!r} (top level: "
                                   f"{', '.join(handle.keys())})")
        datasets = {}

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.ndim == 1 and obj.dtype.kind in "fiub":
                datasets[name] = obj

        handle[group].visititems(visit)
        if not datasets:
            raise InputError(f"group {group!r} of {path} holds no 1-D numeric datasets")
        lengths = [len(d) for d in datasets.values()]
        n = max(set(lengths), key=lengths.count)  # the galaxy count: the commonest length
        table = Table()
        for name, dataset in datasets.items():
            if len(dataset) != n:
                continue
            key = name.rsplit("/", 1)[-1]
            table[key if key not in table.colnames else name.replace("/", "_")] = dataset[()]
        h = None
        for location in ("cosmology/h", "run_info/h", "h"):
            if location in handle and isinstance(handle[location], h5py.Dataset) \
                    and handle[location].size == 1:
                h = float(np.asarray(handle[location][()]).reshape(-1)[0])
                break
        else:
            attrs = handle[group].attrs
            h = float(attrs["h"]) if "h" in attrs else None
    return table, h


def _magnitude_columns(colnames, bands, columns, prefixes):
    """``{band: column}`` using the first prefix that gives any band."""
    for prefix in prefixes:
        candidates = [c for c in colnames if c.lower().startswith(prefix.lower())]
        explicit = list((columns or {}).values())
        found = find_band_columns(candidates + [c for c in explicit if c not in candidates],
                                  bands=bands, columns=columns)
        if found:
            return found, prefix
    if columns:
        return find_band_columns(colnames, bands=bands, columns=columns), None
    patterns = ", ".join(p + "<band>_<survey>" for p in prefixes)
    raise BandColumnError(f"no Shark magnitude columns ({patterns}) were recognised among "
                          f"{', '.join(colnames[:30])}"
                          f"{' ...' if len(colnames) > 30 else ''}; pass columns={{band: column}}")


def _column(table, name):
    col = table[name]
    data = np.asarray(getattr(col, "value", col), dtype=float)
    mask = getattr(col, "mask", None)
    return data if mask is None else np.where(mask, np.nan, data)


def read_shark(source, *, bands=None, columns=None, mass=None, h=None, group=None,
               prefixes=SHARK_PREFIXES, magnitudes_per_h=False):
    """Read a Shark catalogue into a training population.

    Parameters
    ----------
    source : path-like or `~astropy.table.Table`
        An HDF5 file (``.h5``, ``.hdf5``, ``.hdf``) whose galaxy properties are 1-D
        datasets of a group, a file `astropy.table.Table.read` understands (FITS,
        Parquet, CSV, ...), or a table.
    bands : iterable of str, optional
        Bands to keep; default every band recognised.
    columns : dict, optional
        Explicit ``{band: column}``, winning over recognition (e.g. to use VST
        ``total_ab_dust_r_VST`` as SDSS ``r``).
    mass : str or sequence of str, optional
        Mass column(s). Default ``log_mstar_total`` (log10 Msun) if present, else the
        sum of ``mstars_bulge`` and ``mstars_disk`` (linear). Several linear columns are
        summed; a single column whose name starts with ``log`` is taken as log10.
    h : float, optional
        Dimensionless Hubble parameter: masses are divided by ``h`` (Shark writes
        Msun/h). Default the value stored in the HDF5 file (``cosmology/h``) for
        linear Shark masses; for linear masses without a stored ``h`` it must be
        given (``SHARK_H`` for Shark's standard runs, 1 if the masses are in Msun).
        ``log_mstar_total`` is taken to be in Msun unless ``h`` is given.
    group : str, optional
        HDF5 group holding the galaxies; default ``galaxies`` if present, else the
        file's root.
    prefixes : sequence of str
        Magnitude column prefixes, tried in order.
    magnitudes_per_h : bool
        True if the magnitudes are ``M - 5 log10 h``; then ``5 log10 h`` is added.

    Returns
    -------
    `~astropy.table.Table`
        One column per recognised band key (absolute AB magnitude, mag; NaN where
        the catalogue has a placeholder such as -999) and ``logmstar`` (log10 Msun;
        NaN for zero mass). ``meta`` records the source, the columns used, ``h`` and
        ``generator = "shark"``.

    Raises
    ------
    BandColumnError
        If no magnitude column is recognised.
    KeyError
        If the mass columns are missing.
    ValueError
        If linear masses need an ``h`` that is neither given nor stored.
    """
    stored_h = None
    if isinstance(source, Table):
        table, origin = source, source.meta.get("name", "table")
    else:
        path = Path(source)
        if not path.exists():
            raise MissingFileError(f"Shark catalogue {path} does not exist")
        if path.suffix.lower() in (".h5", ".hdf5", ".hdf"):
            table, stored_h = _read_hdf5(path, group)
        else:
            table = Table.read(path)
        origin = str(path)
    colnames = table.colnames
    band_columns, prefix = _magnitude_columns(colnames, bands, columns, prefixes)

    if mass is None:
        if "log_mstar_total" in colnames:
            mass = ["log_mstar_total"]
        elif "mstars_bulge" in colnames and "mstars_disk" in colnames:
            mass = ["mstars_bulge", "mstars_disk"]
        else:
            raise UnknownNameError("no stellar-mass columns: expected 'log_mstar_total' or "
                                   "'mstars_bulge' and 'mstars_disk'; pass mass=")
    mass = [mass] if isinstance(mass, str) else list(mass)
    missing = [m for m in mass if m not in colnames]
    if missing:
        raise UnknownNameError(f"mass column {', '.join(map(repr, missing))} not in the catalogue")
    logarithmic = len(mass) == 1 and mass[0].lower().startswith("log")
    if h is None and not logarithmic:
        h = stored_h
        if h is None:
            raise InputError(f"masses {', '.join(mass)} are linear and the file stores no h: "
                             f"pass h= (Shark's standard runs: {SHARK_H}; 1 if the masses are "
                             "already in Msun)")
    if h is not None and not h > 0:
        raise InputError(f"h must be positive, got {h!r}")
    if logarithmic:
        logm = _column(table, mass[0])
    else:
        total = np.sum([_column(table, m) for m in mass], axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            logm = np.log10(total)
    if h is not None:
        logm = logm - np.log10(h)
    logm = np.where(np.isfinite(logm), logm, np.nan)

    population = Table()
    for band, col in band_columns.items():
        values = _column(table, col)
        bad = ~np.isfinite(values) | (np.abs(values) >= _SENTINEL_LIMIT)
        values = np.where(bad, np.nan, values)
        if magnitudes_per_h:
            values = values + 5 * np.log10(h if h is not None else 1.0)
        population[band] = values * u.mag
        population[band].description = f"absolute AB magnitude from Shark column {col!r}"
    population["logmstar"] = logm
    population["logmstar"].description = f"log10 stellar mass [Msun] from {' + '.join(mass)}"
    if not np.isfinite(logm).any():
        warnings.warn(f"no finite stellar mass in {origin}")
    population.meta.update({
        "generator": "shark", "source": origin, "n": len(population),
        "band_columns": dict(band_columns), "magnitude_prefix": prefix,
        "mass_columns": mass, "h": h, "magnitudes_per_h": bool(magnitudes_per_h),
        "magnitude_system": "AB", "magnitude_type": "absolute, rest frame (Shark)",
        "mass_definition": f"Shark {' + '.join(mass)}",
        "imf": "Chabrier (Shark)",
    })
    return population
