"""Validation on real galaxies: catalogues, halves, baselines, scores and calibration.

The networks learn from simulated galaxies only; this module is where they meet
real ones. It knows the conventions of the three validation catalogues (see
`CATALOGUES`), splits a catalogue into a calibration half and an evaluation half
by a hash of the galaxy name (`split_halves`), scores the network against the
classical colour relations of `astropy_smass.relations` side by side
(`compare_methods`), checks the uncertainties (`uncertainty_coverage`,
`compare_uncertainties`), the training-domain flags (`domain_report`) and that
every galaxy gets a mass or a reason (`flag_census`). It fits the bias corrections
and intrinsic scatters of the bundled models on calibration halves only, all on one
mass scale, ECO's (`calibrate_bundled`), and, for the validation itself, corrections
of the models ``model="auto"`` uses on a catalogue fitted on that catalogue's
calibration half (`calibrate_on_catalogue`, used through `predict_as_auto`);
`validation_report` puts it all together.

The catalogues are not part of the package. They are read from the folder named by
the ``ASTROPY_SMASS_DATA`` environment variable or, failing that, from
``../shared/data`` beside the repository (see `data_dir`).
"""

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import astropy.constants as const
import astropy.units as u
import numpy as np
from astropy.cosmology import FlatLambdaCDM
from astropy.table import QTable, Table
from astropy.utils.masked import Masked

from astropy_smass.flags import NO_MASS, OUT_OF_DOMAIN, SmassFlag
from astropy_smass.massscale import resolve_scale
from astropy_smass.model.registry import load_model
from astropy_smass.photometry.bands import BANDS, find_band_columns
from astropy_smass.photometry.magnitudes import (
    DEFAULT_SENTINELS,
    absolute_magnitudes,
    column_values,
)
from astropy_smass.pipeline import (
    OUTPUT_COLUMNS,
    calibrate_model,
    column_description,
    predict_table,
    reference_log_mass,
)
from astropy_smass.relations import cluver2014_logmstar, taylor2011_logmstar

__all__ = ["DATA_ENV", "VALIDATION_COSMOLOGY", "SPLIT_SEED", "OUTLIER_DEX", "Catalogue",
           "CATALOGUES", "CALIBRATION_PLAN", "BORROWED_CORRECTIONS", "FALLBACK_CORRECTIONS",
           "MIN_PER_COEFFICIENT", "SIMULATED_SCATTER_KEY", "BUNDLED_ANCHOR", "SCALE_BRIDGE",
           "SCALE_CHECK_BRIDGES", "METHOD_LABELS", "NETWORK_LABELS", "DOCS_BEGIN", "DOCS_END",
           "data_dir", "load_eco", "load_dustpedia", "load_hatlas", "load_catalogue",
           "half_mask", "split_halves", "residual_statistics", "classical_masses",
           "auto_assignment", "predict_as_auto", "compare_methods", "flag_census",
           "uncertainty_coverage", "compare_uncertainties", "domain_report", "compare_degrees",
           "calibration_degree", "calibrate_bundled", "calibrate_on_catalogue",
           "validation_report", "catalogue_predictions", "format_report_rst", "report_rst",
           "update_docs"]

#: Environment variable naming the folder of the validation catalogues.
DATA_ENV = "ASTROPY_SMASS_DATA"

#: Cosmology for catalogues given as redshifts: ECO's distances follow H0 = 70 km/s/Mpc,
#: GAMA's H0 = 70, Omega_m = 0.3; at z < 0.1 the choice of Omega_m hardly matters.
VALIDATION_COSMOLOGY = FlatLambdaCDM(H0=70, Om0=0.3, name="FlatLambdaCDM(H0=70, Om0=0.3)")

#: Seed of the calibration/evaluation split used for the bundled corrections.
SPLIT_SEED = 1

#: A residual beyond this (dex) counts as an outlier.
OUTLIER_DEX = 0.3

#: Key of a model's ``metadata["scores"]`` holding its scatter (dex) on held-out,
#: noiseless simulated galaxies: the floor of the intrinsic scatter.
SIMULATED_SCATTER_KEY = "heldout_noiseless_rms_dex"

#: A correction is fitted with at least this many calibration galaxies per
#: coefficient (`calibration_degree`): degree 1 (offset and slope) from 30 galaxies,
#: a constant offset from 15, below that none.
MIN_PER_COEFFICIENT = 15

#: The catalogue whose mass scale every bundled correction is put on: ECO's SED-fit
#: masses are the closest here to the Chabrier-IMF GAMA scale of Taylor et al. (2011).
BUNDLED_ANCHOR = "eco"

#: The model, calibrated on `BUNDLED_ANCHOR`, through which corrections fitted on
#: another catalogue are tied to the anchor's mass scale; the others a cross-check.
SCALE_BRIDGE = "sdss"
SCALE_CHECK_BRIDGES = ("sdss_2mass",)

_MASS_KWARGS = ("columns", "units", "vega", "kind", "redshift", "distance", "cosmology",
                "sentinels")


# -- the catalogues -----------------------------------------------------------------------
def data_dir():
    """The folder holding the validation catalogues.

    Looked for, in order: the folder named by ``$ASTROPY_SMASS_DATA``; ``shared/data``
    beside the repository this package was imported from (``../shared/data``
    relative to the repository root, as in CI); ``../shared/data`` relative to the
    working directory.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        If none of these exists; the message lists the places tried.
    """
    tried = []
    if os.environ.get(DATA_ENV):
        tried.append(Path(os.environ[DATA_ENV]))
    tried.append(Path(__file__).resolve().parents[2] / "shared" / "data")
    tried.append(Path.cwd().parent / "shared" / "data")
    for path in tried:
        if path.is_dir():
            return path
    raise FileNotFoundError("validation catalogues not found; set $" + DATA_ENV + " to their "
                            "folder (tried: " + ", ".join(map(str, tried)) + ")")


def _data_file(path, name):
    return Path(path) if path is not None else data_dir() / name


def _masked(values, mask, unit):
    values = np.asarray(values, dtype=float)
    return Masked(np.where(mask, np.nan, values) * unit, mask=np.asarray(mask, bool))


def _describe(table, name, description, ucd=None):
    table[name].info.description = description
    if ucd:
        table[name].info.meta = {"ucd": ucd}


def load_eco(path=None):
    """The ECO catalogue (Moffett et al. 2015; Eckert et al. 2016), in package conventions.

    Parameters
    ----------
    path : path-like, optional
        ``eco_dev.csv``; default in `data_dir`.

    Returns
    -------
    `~astropy.table.QTable`
        One row per galaxy, in file order: ``econame``, ``ra``, ``dec``, ``cz_kms``
        (Local-Group-frame velocity), ``redshift`` (``cz / c``), ``distance``
        (luminosity distance in `VALIDATION_COSMOLOGY`), apparent **AB** magnitudes
        ``u g r i z`` and ``J_2MASS H_2MASS Ks_2MASS`` (the catalogue's 2MASS
        magnitudes are Vega: converted here with the offsets of
        `~astropy_smass.photometry.bands.BANDS`), masked where the catalogue writes 0.00 (no
        measurement); ``absrmag`` and ``logmstar`` (SED-fit mass, h = 0.7, in
        ``dex(Msun)``). There are no photometric errors.
    """
    raw = Table.read(_data_file(path, "eco_dev.csv"), format="ascii.csv")
    table = QTable(meta={"name": "ECO", "description": "ECO DR1 galaxies, z < 0.025 "
                         "(Moffett et al. 2015; Eckert et al. 2016)"})
    table["econame"] = np.asarray(raw["econame"], dtype=str)
    _describe(table, "econame", "ECO galaxy identifier", "meta.id;meta.main")
    table["ra"] = np.asarray(raw["ra"], float) * u.deg
    table["dec"] = np.asarray(raw["dec"], float) * u.deg
    table["cz_kms"] = np.asarray(raw["cz_kms"], float) * (u.km / u.s)
    _describe(table, "cz_kms", "Recession velocity in the Local Group frame", "spect.dopplerVeloc")
    table["redshift"] = (table["cz_kms"] / const.c).to_value(u.dimensionless_unscaled)
    _describe(table, "redshift", "cz / c", "src.redshift")
    table["distance"] = VALIDATION_COSMOLOGY.luminosity_distance(table["redshift"]).to(u.Mpc)
    _describe(table, "distance", f"Luminosity distance in {VALIDATION_COSMOLOGY.name}",
              "pos.distance")
    for band, col in [("u", "umag"), ("g", "gmag"), ("r", "rmag"), ("i", "imag"),
                      ("z", "zmag"), ("J_2MASS", "Jmag"), ("H_2MASS", "Hmag"),
                      ("Ks_2MASS", "Kmag")]:
        values = np.asarray(raw[col], float)
        table[band] = _masked(values + BANDS[band].vega_to_ab, values == 0.0, u.mag)
        system = " (from Vega)" if BANDS[band].vega_to_ab else ""
        _describe(table, band, f"Apparent AB magnitude{system}, catalogue column {col}",
                  "phot.mag")
    table["absrmag"] = np.asarray(raw["absrmag"], float) * u.mag
    table["logmstar"] = np.asarray(raw["logmstar"], float) * u.dex(u.Msun)
    _describe(table, "logmstar", "SED-fit stellar mass (h = 0.7)", "phys.mass")
    return table


#: DustPedia band columns (Clark et al. 2018), in wavelength order.
_DUSTPEDIA_BANDS = ("GALEX_FUV", "GALEX_NUV", "SDSS_u", "SDSS_g", "SDSS_r", "SDSS_i", "SDSS_z",
                    "2MASS_J", "2MASS_H", "2MASS_Ks", "WISE_3.4", "WISE_4.6", "WISE_12",
                    "WISE_22")


def load_dustpedia(path=None):
    """DustPedia photometry (Clark et al. 2018) and CIGALE masses (Nersesian et al. 2019).

    Parameters
    ----------
    path : path-like, optional
        ``dustpedia_dev.csv``; default in `data_dir`.

    Returns
    -------
    `~astropy.table.QTable`
        One row per galaxy, in file order: ``name``, ``ra``, ``dec``, ``dist_mpc``
        (Mpc); per band (``GALEX_FUV`` ... ``WISE_22``) the flux density and its
        1-sigma error ``<band>_err`` in Jy, **masked where missing or where the
        catalogue flags the measurement** (any non-empty ``<band>_flag``, kept as a
        string column); fluxes <= 0 are kept (the prediction flags them as
        non-positive). ``mstar_msun`` and ``mstar_err_msun`` (Msun, masked where
        absent) and, from them, ``logmstar`` (``dex(Msun)``) and ``logmstar_err``
        (dex).
    """
    raw = Table.read(_data_file(path, "dustpedia_dev.csv"), format="ascii.csv")
    table = QTable(meta={"name": "DustPedia", "description": "DustPedia galaxies: aperture "
                         "photometry (Clark et al. 2018) and CIGALE masses (Nersesian et al. "
                         "2019)"})
    table["name"] = np.asarray(raw["name"], dtype=str)
    _describe(table, "name", "Galaxy name", "meta.id;meta.main")
    table["ra"] = np.asarray(raw["ra"], float) * u.deg
    table["dec"] = np.asarray(raw["dec"], float) * u.deg
    table["dist_mpc"] = np.asarray(raw["dist_mpc"], float) * u.Mpc
    _describe(table, "dist_mpc", "Distance", "pos.distance")
    for band in _DUSTPEDIA_BANDS:
        flags = np.ma.filled(np.ma.asarray(raw[band + "_flag"]).astype(str), "")
        flags = np.char.strip(flags)
        suspect = flags != ""
        flux = np.ma.filled(np.ma.asarray(raw[band], dtype=float), np.nan)
        error = np.ma.filled(np.ma.asarray(raw[band + "_err"], dtype=float), np.nan)
        table[band] = _masked(flux, ~np.isfinite(flux) | suspect, u.Jy)
        _describe(table, band, "Flux density; masked where absent or flagged", "phot.flux.density")
        table[band + "_err"] = _masked(error, ~np.isfinite(error) | suspect, u.Jy)
        _describe(table, band + "_err", "1-sigma error of the flux density",
                  "stat.error;phot.flux.density")
        table[band + "_flag"] = flags
        _describe(table, band + "_flag", "DustPedia quality flag (empty = good)",
                  "meta.code.qual")
    mass = np.ma.filled(np.ma.asarray(raw["mstar_msun"], dtype=float), np.nan)
    mass_err = np.ma.filled(np.ma.asarray(raw["mstar_err_msun"], dtype=float), np.nan)
    bad = ~(np.isfinite(mass) & (mass > 0))
    table["mstar_msun"] = _masked(mass, bad, u.Msun)
    table["mstar_err_msun"] = _masked(mass_err, bad | ~np.isfinite(mass_err), u.Msun)
    with np.errstate(invalid="ignore", divide="ignore"):
        logm = np.log10(mass)
        logm_err = mass_err / (mass * np.log(10.0))
    table["logmstar"] = _masked(logm, bad, u.dex(u.Msun))
    _describe(table, "logmstar", "CIGALE stellar mass", "phys.mass")
    table["logmstar_err"] = _masked(logm_err, bad | ~np.isfinite(logm_err), u.dex)
    _describe(table, "logmstar_err", "1-sigma error of logmstar", "stat.error;phys.mass")
    return table


def load_hatlas(path=None):
    """H-ATLAS galaxies in the GAMA fields (Dobbels et al. 2020), fluxes in mJy.

    Parameters
    ----------
    path : path-like, optional
        ``hatlas_gama_fields.txt``; default in `data_dir`, or the copy shipped as
        demo data (`astropy_smass.datasets.load_demo`) when the folder is absent.

    Returns
    -------
    `~astropy.table.QTable`
        ``id``, ``redshift`` (rounded to 0.01: use with `VALIDATION_COSMOLOGY`), and
        flux densities with ``_err`` columns in mJy, masked where the file leaves the
        field empty (see `astropy_smass.datasets.read_hatlas_text`). No masses.
    """
    from astropy_smass.datasets import load_demo, read_hatlas_text

    if path is None:
        try:
            path = data_dir() / "hatlas_gama_fields.txt"
        except FileNotFoundError:
            path = None
    table = load_demo() if path is None or not Path(path).exists() else read_hatlas_text(path)
    table.meta["name"] = "H-ATLAS"
    return table


@dataclass(frozen=True)
class Catalogue:
    """How to read a validation catalogue and predict masses for it.

    Parameters
    ----------
    name : str
    loader : callable
        Returns the catalogue as a `~astropy.table.QTable` (takes an optional path).
    key : str
        Column of unique galaxy names (hashed by `split_halves`).
    reference, reference_error : str or None
        Columns of reference log masses and their errors (dex).
    predict_kwargs : dict
        Arguments that make `~astropy_smass.pipeline.predict_table` read the
        catalogue right (distance or redshift and cosmology).
    citation : str
    """

    name: str
    loader: object
    key: str
    reference: str = None
    reference_error: str = None
    predict_kwargs: dict = field(default_factory=dict)
    citation: str = ""

    def load(self, path=None):
        return self.loader(path)


#: The validation catalogues by short name.
CATALOGUES = {
    "eco": Catalogue("ECO", load_eco, "econame", "logmstar", None,
                     {"redshift": "redshift", "cosmology": VALIDATION_COSMOLOGY},
                     "Moffett et al. 2015, ApJ 812, 89; Eckert et al. 2016, ApJ 824, 124"),
    "dustpedia": Catalogue("DustPedia", load_dustpedia, "name", "logmstar", "logmstar_err",
                           {"distance": "dist_mpc"},
                           "Clark et al. 2018, A&A 609, A37; Nersesian et al. 2019, A&A 624, "
                           "A80"),
    "hatlas": Catalogue("H-ATLAS", load_hatlas, "id", None, None,
                        {"redshift": "redshift", "cosmology": VALIDATION_COSMOLOGY},
                        "Dobbels et al. 2020, A&A 634, A57"),
}

#: Which catalogue calibrates which bundled model: ECO has ugriz and 2MASS JHK,
#: DustPedia GALEX, SDSS, 2MASS and WISE.
CALIBRATION_PLAN = {"sdss": "eco", "sdss_2mass": "eco", "full_2mass": "dustpedia",
                    "galex_sdss_wise": "dustpedia", "sdss_wise": "dustpedia"}

#: Models no catalogue here can calibrate (no real VISTA photometry), and the
#: 2MASS twin whose correction and intrinsic scatter they borrow.
BORROWED_CORRECTIONS = {"full_vista": "full_2mass", "sdss_vista": "sdss_2mass"}

#: Where a model's catalogue has too few galaxies inside its training domain (all of
#: its bands unflagged and in range), the sibling, calibrated on the same catalogue
#: with fewer bands, whose correction it takes instead.
FALLBACK_CORRECTIONS = {"full_2mass": "galex_sdss_wise", "galex_sdss_wise": "sdss_wise",
                        "sdss_2mass": "sdss"}


def load_catalogue(name, path=None):
    """Load a validation catalogue by short name (a key of `CATALOGUES`)."""
    try:
        return CATALOGUES[name].load(path)
    except KeyError:
        raise ValueError(f"unknown catalogue {name!r}; known: {', '.join(CATALOGUES)}") from None


# -- halves -------------------------------------------------------------------------------
def half_mask(keys, seed=SPLIT_SEED):
    """Which galaxies are in the calibration half, by a hash of their names.

    The SHA-256 digest of ``"<seed>:<name>"`` decides, so the split is the same on
    every machine and Python version, a galaxy stays in its half when others are
    added or removed, and different seeds give independent splits.

    Parameters
    ----------
    keys : iterable of str
        Galaxy names.
    seed : int

    Returns
    -------
    ndarray of bool
        True for the calibration half, False for the evaluation half.
    """
    return np.array([hashlib.sha256(f"{seed}:{key}".encode()).digest()[0] & 1 == 0
                     for key in (str(k).strip() for k in keys)], dtype=bool)


def split_halves(table, key_column, seed=SPLIT_SEED):
    """Split a table into a calibration half and an evaluation half.

    Parameters
    ----------
    table : `~astropy.table.Table`
    key_column : str
        Column of unique galaxy names.
    seed : int

    Returns
    -------
    calibration, evaluation : `~astropy.table.Table`
        Disjoint, together every row, each in the table's order; ``meta['half']``
        says which half and ``meta['split_seed']`` the seed.
    """
    if key_column not in table.colnames:
        raise KeyError(f"no column {key_column!r} to split on (columns: "
                       f"{', '.join(table.colnames)})")
    keys = np.asarray(table[key_column]).astype(str)
    if len(np.unique(keys)) != len(keys):
        raise ValueError(f"column {key_column!r} has repeated names; the split needs unique ones")
    first = half_mask(keys, seed)
    halves = []
    for which, rows in (("calibration", first), ("evaluation", ~first)):
        half = table[rows]
        half.meta = {**table.meta, "half": which, "split_seed": seed,
                     "split_key": key_column}
        halves.append(half)
    return tuple(halves)


# -- scores -------------------------------------------------------------------------------
def residual_statistics(predicted, reference, outlier=OUTLIER_DEX):
    """Scores of predicted against reference log masses.

    Parameters
    ----------
    predicted, reference : array-like
        log10(M*/Msun); pairs with a non-finite value are left out.
    outlier : float
        Residuals larger than this in absolute value (dex) are outliers.

    Returns
    -------
    dict
        ``n``; ``median_offset`` (median of predicted - reference), ``half_width``
        (half the 16th-84th percentile range), ``rms`` (root mean square residual,
        offset included) and ``outlier_fraction``, all in dex except the last.
    """
    resid = np.asarray(predicted, float) - np.asarray(reference, float)
    resid = resid[np.isfinite(resid)]
    if not len(resid):
        return {"n": 0, "median_offset": np.nan, "half_width": np.nan, "rms": np.nan,
                "outlier_fraction": np.nan}
    p16, p50, p84 = np.percentile(resid, [16, 50, 84])
    return {"n": len(resid), "median_offset": float(p50), "half_width": float(p84 - p16) / 2,
            "rms": float(np.sqrt(np.mean(resid ** 2))),
            "outlier_fraction": float(np.mean(np.abs(resid) > outlier))}


def _mass_kwargs(kwargs):
    return {k: v for k, v in kwargs.items() if k in _MASS_KWARGS}


def classical_masses(table, *, columns=None, units=None, vega=(), kind=None, redshift=None,
                     distance=None, cosmology=None, sentinels=DEFAULT_SENTINELS):
    """Masses from the classical relations wherever the table has their bands.

    Takes the photometry arguments of `~astropy_smass.pipeline.predict_table`.

    Returns
    -------
    dict
        ``{"taylor2011": ndarray}`` when the table has g and i, ``"cluver2014"``
        when it has W1 and W2; NaN where a band is unusable. No galaxy is excluded
        for lying outside the range a relation was calibrated on.
    """
    colnames = [c for c in table.colnames if c not in (redshift, distance)]
    found = find_band_columns(colnames, bands=["g", "i", "W1", "W2"], columns=columns)
    out = {}
    for name, bands, relation in (("taylor2011", ("g", "i"), taylor2011_logmstar),
                                  ("cluver2014", ("W1", "W2"), cluver2014_logmstar)):
        if not all(b in found for b in bands):
            continue
        mags, _, flags = absolute_magnitudes(
            table, {b: found[b] for b in bands}, units=units, vega=vega, kind=kind,
            redshift=redshift, distance=distance, cosmology=cosmology, sentinels=sentinels)
        mags[(flags & NO_MASS) != 0] = np.nan
        out[name] = relation(mags[:, 0], mags[:, 1])
    return out


# -- the network as "auto" uses it --------------------------------------------------------
def rest_frame_models():
    """The installed rest-frame models, ``{name: path}``: the models this module
    calibrates and validates on the z ~ 0 catalogues, and among which its ``"auto"``
    chooses (the observed-frame models have `validation.surveys` and
    ``scripts/calibrate_surveys.py``)."""
    from astropy_smass.model.registry import available_models

    return {name: path for name, path in available_models().items()
            if not load_model(path).observed_frame}



def auto_assignment(table, **predict_kwargs):
    """Which installed model ``model="auto"`` gives each galaxy.

    Parameters
    ----------
    table : `~astropy.table.Table`
    **predict_kwargs
        Photometry arguments of `~astropy_smass.pipeline.predict_table`
        (``exclude_out_of_domain`` changes the choice; the rest of the prediction
        settings do not).

    Returns
    -------
    ndarray of str
        The model name per row; empty where no model gives a mass.
    """
    return _auto_base(table, predict_kwargs)[1]


def _auto_base(table, predict_kwargs):
    """The ``"auto"`` prediction without uncertainties, and its choice."""
    kwargs = {k: v for k, v in predict_kwargs.items()
              if k not in ("uncertainty", "n_draws", "seed")}
    base = predict_table(table, [load_model(path) for path in rest_frame_models().values()],
                         uncertainty=None, **kwargs)
    assigned = np.asarray(base["smass_model"] if "smass_model" in base.colnames else
                          np.full(len(table), base.meta["smass_model"])).astype(object)
    assigned[~np.isfinite(base["logmstar"].value)] = ""
    return base, assigned.astype(str)


def predict_as_auto(table, models, **predict_kwargs):
    """Predict as ``model="auto"`` does, with other corrections for some models.

    Each galaxy goes to the model that ``"auto"`` gives it among the installed models
    (`auto_assignment`: the choice depends on the bands and the training domains,
    not on the corrections), and is predicted by the model of that name in
    ``models``, or by the installed one where ``models`` has none. A galaxy without a
    mass keeps the flags ``"auto"`` gives it with the installed models.

    Parameters
    ----------
    table : `~astropy.table.Table`
    models : dict
        ``{name: StellarMassModel}``: installed models with other corrections or
        intrinsic scatters (same networks).
    **predict_kwargs
        Passed to `~astropy_smass.pipeline.predict_table`.

    Returns
    -------
    `~astropy.table.QTable`
        As from `~astropy_smass.pipeline.predict_table` with ``model="auto"``
        (``smass_model`` always included); ``meta["smass_correction"]`` and
        ``meta["smass_intrinsic_scatter_dex"]`` describe the models used.
    """
    base, assigned = _auto_base(table, predict_kwargs)
    requested = predict_kwargs.get("uncertainty", "auto")
    uncertainty = None if requested == "auto" else requested
    values = {"logmstar": np.full(len(table), np.nan)}
    flags = np.asarray(base["smass_flag"]).copy()
    corrections, scatters = {}, {}
    for name in dict.fromkeys(n for n in assigned if n):
        rows = assigned == name
        part = predict_table(table[rows], load_model(models.get(name, name)), **predict_kwargs)
        uncertainty = None if part.meta["smass_uncertainty"] == "none" else \
            part.meta["smass_uncertainty"]
        for column in ("logmstar", "logmstar_err", "logmstar_err_phot", "logmstar_err_sys"):
            if column in part.colnames:
                values.setdefault(column, np.full(len(table), np.nan))[rows] = \
                    part[column].value
        flags[rows] = np.asarray(part["smass_flag"])
        corrections.update(part.meta["smass_correction"])
        scatters.update(part.meta["smass_intrinsic_scatter_dex"])
    result = QTable(meta=dict(base.meta))
    result["logmstar"] = values["logmstar"] * u.dex(u.Msun)
    if uncertainty is not None:
        for column in ("logmstar_err", "logmstar_err_phot", "logmstar_err_sys"):
            if column in values:
                result[column] = values[column] * u.dex
    result["smass_flag"] = flags
    # As "auto" writes it: the best model's name where no model gives a mass.
    result["smass_model"] = (np.asarray(base["smass_model"]) if "smass_model" in base.colnames
                             else np.full(len(table), base.meta["smass_model"]))
    scale = resolve_scale(predict_kwargs.get("imf"), predict_kwargs.get("mass_definition"))
    for name in result.colnames:
        result[name].info.description = column_description(name, scale)
        result[name].info.meta = {"ucd": OUTPUT_COLUMNS[name][1]}
    result.meta.update({"smass_correction": corrections, "smass_intrinsic_scatter_dex": scatters,
                        "smass_uncertainty": uncertainty or "none"})
    return result


def _predict(table, model, **kwargs):
    if isinstance(model, dict):
        return predict_as_auto(table, model, **kwargs)
    if isinstance(model, str) and model == "auto":
        model = [load_model(path) for path in rest_frame_models().values()]
    return predict_table(table, model, **kwargs)


#: Labels of the methods in `compare_methods` tables.
METHOD_LABELS = {"network_raw": "network (raw)", "network": "network (corrected)",
                 "taylor2011": "Taylor+2011 g-i", "cluver2014": "Cluver+2014 W1-W2"}


def _bin_edges(reference, width):
    finite = reference[np.isfinite(reference)]
    if not len(finite):
        return np.array([])
    low = np.floor(finite.min() / width) * width
    high = np.ceil(finite.max() / width) * width
    return np.arange(low, high + width / 2, width)


def compare_methods(table, reference="logmstar", model="auto", *, methods=None, extra=None,
                    labels=None, bin_width=0.5, outlier=OUTLIER_DEX, common=True,
                    **predict_kwargs):
    """The network and the classical relations, scored side by side.

    Parameters
    ----------
    table : `~astropy.table.Table`
        Photometry and reference masses.
    reference : str
        Column of reference log10(M*/Msun) (``dex(Msun)``, ``Msun`` or plain log).
    model : str, `~astropy_smass.model.bundle.StellarMassModel` or dict
        The network (``"auto"``: the best bundled model per galaxy; a dict of models:
        `predict_as_auto` with them).
    methods : list of str, optional
        The rows, in order: among ``network_raw``, ``network``, ``taylor2011``,
        ``cluver2014`` and the labels of ``extra``; default all of those that the
        table's bands allow, ``extra`` last. A relation whose bands the table lacks
        is left out.
    extra : dict, optional
        More ``{label: log masses}`` to score alongside (e.g. other corrections).
    labels : dict, optional
        Row labels replacing those of `METHOD_LABELS`.
    bin_width : float
        Width (dex) of the bins of reference mass.
    outlier : float
        Outlier threshold (dex) of `residual_statistics`.
    common : bool
        Score every method on the same galaxies: those every method gives a mass.
    **predict_kwargs
        Passed to `~astropy_smass.pipeline.predict_table` (``redshift=``,
        ``distance=``, ``cosmology=``, ``columns=``...).

    Returns
    -------
    `~astropy.table.Table`
        One row per method and mass bin (``bin`` is ``"all"`` for every galaxy, else
        ``"lo-hi"`` in reference log mass): ``n``, ``median_offset`` (predicted
        minus reference), ``half_width`` (16-84 per cent half-width), ``rms``,
        ``outlier_fraction``. ``meta`` records the galaxy counts and settings.
    """
    ref = reference_log_mass(table, reference)
    kwargs = {k: v for k, v in predict_kwargs.items()
              if k not in ("correct", "uncertainty", "exclude_out_of_domain")}
    extra = {label: np.asarray(values, dtype=float) for label, values in (extra or {}).items()}
    wanted = list(methods or [*METHOD_LABELS, *extra])
    unknown = set(wanted) - set(METHOD_LABELS) - set(extra)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}; use {', '.join(METHOD_LABELS)} "
                         "or a label of extra=")
    computed = dict(extra)
    for method, correct in (("network_raw", False), ("network", True)):
        if method in wanted:
            computed[method] = _predict(table, model, correct=correct, uncertainty=None,
                                        **kwargs)["logmstar"].value
    if {"taylor2011", "cluver2014"} & set(wanted):
        computed.update(classical_masses(table, **_mass_kwargs(kwargs)))
    estimates = {m: computed[m] for m in wanted if m in computed}
    labels = {m: (labels or {}).get(m, METHOD_LABELS.get(m, m)) for m in estimates}
    usable = {m: np.isfinite(v) & np.isfinite(ref) for m, v in estimates.items()}
    both = np.logical_and.reduce(list(usable.values())) if usable else np.isfinite(ref)
    edges = _bin_edges(ref[both] if common else ref, bin_width)
    rows = []
    for method, values in estimates.items():
        sel = both if common else usable[method]
        bins = [("all", -np.inf, np.inf)] + [(f"{lo:.1f}-{hi:.1f}", lo, hi)
                                             for lo, hi in zip(edges[:-1], edges[1:])]
        for name, lo, hi in bins:
            in_bin = sel & (ref >= lo) & (ref < hi) if name != "all" else sel
            if name != "all" and not in_bin.any():
                continue
            stats = residual_statistics(values[in_bin], ref[in_bin], outlier)
            rows.append((labels[method], name, lo, hi, stats["n"], stats["median_offset"],
                         stats["half_width"], stats["rms"], stats["outlier_fraction"]))
    result = Table(rows=rows, names=("method", "bin", "bin_low", "bin_high", "n",
                                     "median_offset", "half_width", "rms", "outlier_fraction"),
                   dtype=(str, str, float, float, int, float, float, float, float))
    for name in ("bin_low", "bin_high", "median_offset", "half_width", "rms"):
        result[name].unit = u.dex
    for name in ("median_offset", "half_width", "rms", "outlier_fraction"):
        result[name].format = ".3f"
    result.meta = {"catalogue": table.meta.get("name", "table"),
                   "half": table.meta.get("half"), "n_rows": len(table),
                   "n_reference": int(np.isfinite(ref).sum()),
                   "n_per_method": {labels[m]: int(v.sum()) for m, v in usable.items()},
                   "n_common": int(both.sum()), "common": common,
                   "outlier_dex": outlier, "residual": "predicted - reference"}
    return result


def flag_census(prediction):
    """Count what happened to every row of a prediction.

    Parameters
    ----------
    prediction : `~astropy.table.Table`
        Output of `~astropy_smass.pipeline.predict_table` (``logmstar``,
        ``smass_flag``).

    Returns
    -------
    `~astropy.table.Table`
        One row per `~astropy_smass.SmassFlag` bit: ``n`` rows with the bit set and
        ``n_without_mass`` of those without a mass. ``meta`` holds ``n_rows``,
        ``n_with_mass``, ``n_clean`` (mass, no flag), ``n_without_mass`` and
        ``n_unexplained`` (no mass and no flag: must be 0).
    """
    logm = np.asarray(getattr(prediction["logmstar"], "value", prediction["logmstar"]), float)
    flags = np.asarray(prediction["smass_flag"], dtype=np.int64)
    has_mass = np.isfinite(logm)
    rows = [(flag.name, int(flag), int(((flags & flag) != 0).sum()),
             int((((flags & flag) != 0) & ~has_mass).sum())) for flag in SmassFlag]
    census = Table(rows=rows, names=("flag", "bit", "n", "n_without_mass"),
                   dtype=(str, int, int, int))
    census.meta = {"n_rows": len(logm), "n_with_mass": int(has_mass.sum()),
                   "n_clean": int((has_mass & (flags == 0)).sum()),
                   "n_without_mass": int((~has_mass).sum()),
                   "n_unexplained": int((~has_mass & (flags == 0)).sum())}
    return census


def uncertainty_coverage(predicted, uncertainty, reference, reference_error=None, nsigma=1.0):
    """Fraction of galaxies whose reference mass lies within the combined error bar.

    ``|predicted - reference| <= nsigma * sqrt(uncertainty^2 + reference_error^2)``;
    for Gaussian errors that are right, 68.3 per cent at ``nsigma=1``.

    Parameters
    ----------
    predicted, uncertainty, reference : array-like
        log masses and the 1-sigma total uncertainty of the prediction (dex).
    reference_error : array-like, optional
        1-sigma errors of the reference masses (dex).
    nsigma : float

    Returns
    -------
    fraction : float
    n : int
        Galaxies with all values finite.
    """
    predicted, uncertainty = np.asarray(predicted, float), np.asarray(uncertainty, float)
    reference = np.asarray(reference, float)
    ref_err = (np.zeros_like(reference) if reference_error is None
               else np.asarray(reference_error, float))
    width = np.hypot(uncertainty, ref_err)
    good = np.isfinite(predicted) & np.isfinite(width) & np.isfinite(reference)
    if not good.any():
        return np.nan, 0
    inside = np.abs(predicted[good] - reference[good]) <= nsigma * width[good]
    return float(inside.mean()), int(good.sum())


def compare_uncertainties(table, model="auto", *, n_draws=200, seed=0, **predict_kwargs):
    """Analytic (Jacobian) against Monte Carlo propagated uncertainties.

    Parameters
    ----------
    table : `~astropy.table.Table`
    model : str, `~astropy_smass.model.bundle.StellarMassModel` or dict
        As for `compare_methods`.
    n_draws, seed : int
        Monte Carlo draws per galaxy and their seed.
    **predict_kwargs
        Photometry arguments of `~astropy_smass.pipeline.predict_table`.

    Returns
    -------
    dict
        ``n``, ``median_ratio`` (median of analytic / Monte Carlo over galaxies
        with both positive), ``ratio_16``, ``ratio_84``, ``median_analytic`` and
        ``median_montecarlo`` (dex), and the two arrays ``analytic`` and
        ``montecarlo``.
    """
    analytic = _predict(table, model, uncertainty="analytic",
                        **predict_kwargs)["logmstar_err_phot"].value
    mc = _predict(table, model, uncertainty="montecarlo", n_draws=n_draws, seed=seed,
                  **predict_kwargs)["logmstar_err_phot"].value
    good = np.isfinite(analytic) & np.isfinite(mc) & (analytic > 0) & (mc > 0)
    ratio = analytic[good] / mc[good]
    pct = np.percentile(ratio, [16, 50, 84]) if good.any() else [np.nan] * 3
    return {"n": int(good.sum()), "median_ratio": float(pct[1]), "ratio_16": float(pct[0]),
            "ratio_84": float(pct[2]),
            "median_analytic": float(np.median(analytic[good])) if good.any() else np.nan,
            "median_montecarlo": float(np.median(mc[good])) if good.any() else np.nan,
            "analytic": analytic, "montecarlo": mc}


def domain_report(model, table, reference=None, **predict_kwargs):
    """How many real galaxies the training-domain checks flag, and whether rightly.

    Parameters
    ----------
    model : str or `~astropy_smass.model.bundle.StellarMassModel`
    table : `~astropy.table.Table`
    reference : str, optional
        Column of reference masses: then the scores of flagged galaxies (predicted
        anyway) are compared with those of galaxies inside the domain.
    **predict_kwargs
        Photometry arguments of `~astropy_smass.pipeline.predict_table`.

    Returns
    -------
    dict
        ``n_rows``; ``n_with_bands`` (every band usable); ``n_out_of_range``,
        ``n_out_of_distribution``, ``n_out_of_domain`` (either); ``features_out_of_range``
        (``{feature: count}``, most first); ``features`` (a table of each feature's
        training range beside the 1st, 50th and 99th percentiles of the real
        galaxies and the counts below and above the range); ``distance_ratio_quantiles`` (50, 90, 99
        per cent quantiles of the Mahalanobis distance over the model's limit);
        ``fraction_beyond`` (``{factor: fraction of galaxies beyond factor x limit}``);
        with ``reference``, ``scores_in_domain``, ``scores_out_of_range`` and
        ``scores_out_of_distribution`` (`residual_statistics`).
    """
    model = load_model(model)
    kwargs = _mass_kwargs(predict_kwargs)
    prediction = predict_table(table, model, exclude_out_of_domain=False, uncertainty=None,
                               **kwargs)
    flags = np.asarray(prediction["smass_flag"])
    colnames = [c for c in table.colnames
                if c not in (kwargs.get("redshift"), kwargs.get("distance"))]
    found = find_band_columns(colnames, bands=model.bands, columns=kwargs.get("columns"))
    mags, _, band_flags = absolute_magnitudes(
        table, {b: found[b] for b in model.bands},
        **{k: v for k, v in kwargs.items() if k != "columns"})
    with_bands = ((band_flags & NO_MASS) == 0).all(axis=1) & np.isfinite(mags).all(axis=1)
    features = model.features_from_magnitudes(np.where(with_bands[:, None], mags, 0.0))
    domain = model.domain
    below = (features < domain.feature_min) & with_bands[:, None]
    above = (features > domain.feature_max) & with_bands[:, None]
    per_feature = {f: int(n) for f, n in zip(model.features, (below | above).sum(axis=0)) if n}
    ratio = domain.distance(features[with_bands]) / domain.max_distance
    real = features[with_bands]
    quantiles = (np.percentile(real, [1, 50, 99], axis=0) if len(real)
                 else np.full((3, len(model.features)), np.nan))
    feature_table = Table({"feature": model.features, "train_min": domain.feature_min,
                           "train_max": domain.feature_max, "real_p1": quantiles[0],
                           "real_p50": quantiles[1], "real_p99": quantiles[2],
                           "n_below": below.sum(axis=0), "n_above": above.sum(axis=0)})
    for name in feature_table.colnames[1:6]:
        feature_table[name].format = ".3f"
    report = {
        "model": model.name, "n_rows": len(table), "n_with_bands": int(with_bands.sum()),
        "n_out_of_range": int(((flags & SmassFlag.OUT_OF_RANGE) != 0).sum()),
        "n_out_of_distribution": int(((flags & SmassFlag.OUT_OF_DISTRIBUTION) != 0).sum()),
        "n_out_of_domain": int(((flags & OUT_OF_DOMAIN) != 0).sum()),
        "features_out_of_range": dict(sorted(per_feature.items(), key=lambda kv: -kv[1])),
        "features": feature_table,
        "distance_ratio_quantiles": ({q: float(np.quantile(ratio, q / 100))
                                      for q in (50, 90, 99)} if len(ratio) else {}),
        "fraction_beyond": ({f: float(np.mean(ratio > f)) for f in (0.75, 1.0, 1.25, 1.5, 2.0)}
                            if len(ratio) else {}),
    }
    if reference is not None:
        ref = reference_log_mass(table, reference)
        logm = prediction["logmstar"].value
        groups = {"in_domain": with_bands & ((flags & OUT_OF_DOMAIN) == 0),
                  "out_of_range": (flags & SmassFlag.OUT_OF_RANGE) != 0,
                  "out_of_distribution": ((flags & SmassFlag.OUT_OF_DISTRIBUTION) != 0)
                  & ((flags & SmassFlag.OUT_OF_RANGE) == 0)}
        for name, rows in groups.items():
            report[f"scores_{name}"] = residual_statistics(logm[rows], ref[rows])
    return report


# -- calibration --------------------------------------------------------------------------
def compare_degrees(model, calibration, evaluation, reference="logmstar", degrees=(0, 1, 2),
                    reference_error=None, **predict_kwargs):
    """Fit corrections of several degrees on one half and score them on the other.

    Returns
    -------
    `~astropy.table.Table`
        One row per degree (``-1`` = no correction): ``n``, ``median_offset``,
        ``half_width``, ``rms``, ``outlier_fraction`` on the evaluation half and the
        fitted ``coefficients``.
    """
    model = load_model(model)
    ref = reference_log_mass(evaluation, reference)
    kwargs = _mass_kwargs(predict_kwargs)
    rows = []
    for degree in (-1, *degrees):
        fitted = model.replace(correction=None) if degree < 0 else calibrate_model(
            model, calibration, reference, degree=degree, reference_error=reference_error,
            **kwargs)
        logm = predict_table(evaluation, fitted, uncertainty=None, **kwargs)["logmstar"].value
        stats = residual_statistics(logm, ref)
        coefficients = "" if degree < 0 else " ".join(
            f"{c:+.4f}" for c in fitted.correction.coefficients)
        rows.append((degree, stats["n"], stats["median_offset"], stats["half_width"],
                     stats["rms"], stats["outlier_fraction"], coefficients))
    table = Table(rows=rows, names=("degree", "n", "median_offset", "half_width", "rms",
                                    "outlier_fraction", "coefficients"),
                  dtype=(int, int, float, float, float, float, str))
    for name in ("median_offset", "half_width", "rms", "outlier_fraction"):
        table[name].format = ".4f"
    return table


def calibration_degree(n, degree=1):
    """The polynomial degree a correction fitted on ``n`` galaxies gets.

    ``degree``, lowered while there are fewer than `MIN_PER_COEFFICIENT` galaxies per
    coefficient: with the defaults degree 1 from 30 galaxies, 0 below. Fewer than
    `MIN_PER_COEFFICIENT` galaxies get no correction of their own (-1).
    """
    while degree >= 0 and n < MIN_PER_COEFFICIENT * (degree + 1):
        degree -= 1
    return degree


def _calibration_halves(name, seed, path=None):
    spec = CATALOGUES[name]
    table = spec.load(path)
    return spec, split_halves(table, spec.key, seed)


def _n_fit(model, table, spec):
    """Galaxies of ``table`` with both a prediction by ``model`` and a reference mass."""
    predicted = predict_table(table, model, uncertainty=None, correct=False,
                              **spec.predict_kwargs)["logmstar"].value
    ref = reference_log_mass(table, spec.reference)
    return int((np.isfinite(predicted) & np.isfinite(ref)).sum())


def _fit(model, table, spec, degree, requested, provenance):
    """Calibrate ``model`` on ``table``, the intrinsic scatter floored (see below)."""
    fitted = calibrate_model(
        model.replace(correction=None), table, spec.reference, degree=degree, catalogue=spec.name,
        reference_error=spec.reference_error,
        provenance={**provenance, "reference_citation": spec.citation,
                    "requested_degree": requested}, **spec.predict_kwargs)
    # The network is no more accurate on real galaxies than on held-out simulated
    # ones: where the known errors explain all the real scatter, that is the floor.
    floor = float(model.metadata.get("scores", {}).get(SIMULATED_SCATTER_KEY, 0.0))
    measured = fitted.intrinsic_scatter
    fitted.correction.provenance.update({"intrinsic_scatter_measured_dex": measured,
                                         "intrinsic_scatter_floor_dex": floor,
                                         "intrinsic_scatter_dex": max(measured, floor)})
    return fitted.replace(intrinsic_scatter=max(measured, floor))


def calibrate_bundled(models=None, *, degree=1, seed=SPLIT_SEED, directory=None, write=False,
                      anchor=BUNDLED_ANCHOR, bridge=SCALE_BRIDGE):
    """Fit the bias correction and intrinsic scatter of bundled models on real galaxies.

    Each model is calibrated on the calibration half of its catalogue
    (`CALIBRATION_PLAN`), on every galaxy there that it gives a mass, with the degree
    of `calibration_degree`. Its intrinsic scatter is measured there
    (`~astropy_smass.pipeline.calibrate_model`) but not set below the
    model's scatter on held-out simulated galaxies
    (``metadata["scores"][SIMULATED_SCATTER_KEY]``). A model with fewer than
    `MIN_PER_COEFFICIENT` usable galaxies takes the result of its sibling in
    `FALLBACK_CORRECTIONS` (same catalogue, fewer bands), and the models no
    catalogue can calibrate take that of their 2MASS twin (`BORROWED_CORRECTIONS`);
    both are recorded as ``borrowed_from`` in the provenance. With an ``anchor``
    (by default `BUNDLED_ANCHOR`) every correction is then put on that catalogue's
    mass scale.

    Parameters
    ----------
    models : list of str or dict, optional
        Model names (default every model of the plan that is available), or
        ``{name: path or StellarMassModel}`` to calibrate models that are not
        installed.
    degree : int
        Highest polynomial degree of the corrections.
    seed : int
        Seed of `split_halves`.
    directory : path-like, optional
        Where to write the bundles; default over each model's current JSON.
    write : bool
        Write the calibrated bundles. Only their ``correction`` and
        ``intrinsic_scatter_dex`` change: each bundle is read again just before it is
        written, so other fields written meanwhile are kept, and over an existing
        bundle only the JSON file is rewritten (the arrays are untouched).
    anchor : str or None
        Put every model on the mass scale of this catalogue (a key of `CATALOGUES`);
        None leaves each model on the scale of the catalogue that calibrated it. The
        reference catalogues' mass definitions differ: a model calibrated on another
        catalogue has its correction shifted by the median difference, on that
        catalogue's calibration half, between the ``bridge`` model (calibrated on
        the anchor) and that catalogue's reference masses. Every correction records
        the anchor, its shift and the measured offsets between the catalogues.
    bridge : str
        The model, calibrated on ``anchor``, that measures the shift.

    Returns
    -------
    dict
        ``{name: StellarMassModel}`` of calibrated models.
    """
    present = dict(models) if isinstance(models, dict) else rest_frame_models()
    plan = {**CALIBRATION_PLAN, **BORROWED_CORRECTIONS}
    names = [m for m in (models if models is not None else plan) if m in present and m in plan]
    if anchor is not None and bridge in present and bridge not in names:
        names_fit = [bridge, *names]  # the bridge is needed to measure the shift
    else:
        names_fit = names
    halves = {}
    calibrated, borrow = {}, {}
    for name in names_fit:
        model = load_model(present[name]).replace(correction=None)
        if name not in CALIBRATION_PLAN:
            borrow[name] = BORROWED_CORRECTIONS[name]
            continue
        catalogue = CALIBRATION_PLAN[name]
        if catalogue not in halves:
            halves[catalogue] = _calibration_halves(catalogue, seed)
        spec, (calibration, _) = halves[catalogue]
        n_fit = _n_fit(model, calibration, spec)
        used = calibration_degree(n_fit, degree)
        if used < 0:
            if name in FALLBACK_CORRECTIONS:
                borrow[name] = FALLBACK_CORRECTIONS[name]
                continue
            raise ValueError(f"only {n_fit} galaxies of {spec.name}'s calibration half to "
                             f"calibrate {name!r}")
        calibrated[name] = _fit(model, calibration, spec, used, degree,
                                {"half": "calibration", "split_seed": seed,
                                 "split_key": spec.key,
                                 "galaxies": "every calibration-half galaxy the model takes"})
    if anchor is not None:
        calibrated = _shift_to_anchor(calibrated, anchor, bridge, halves)
    # Borrowers in dependency order (a VISTA model may borrow from a borrower).
    while borrow:
        ready = [n for n, source in borrow.items() if source not in borrow]
        if not ready:
            raise ValueError(f"circular borrowing of corrections among {sorted(borrow)}")
        for name in ready:
            source_name = borrow.pop(name)
            source = calibrated.get(source_name)
            if source is None and source_name in present:
                source = load_model(present[source_name])
            if source is None or source.correction is None:
                continue
            correction = source.correction
            why = ("no real photometry in its bands to calibrate on"
                   if name in BORROWED_CORRECTIONS else
                   f"fewer than {MIN_PER_COEFFICIENT} galaxies of its catalogue in its domain")
            borrowed = type(correction)(
                correction.coefficients, correction.pivot, correction.fit_range,
                {**correction.provenance, "borrowed_from": source_name,
                 "note": f"{why}: correction and intrinsic scatter of {source_name}, not "
                         "validated for this model"})
            calibrated[name] = load_model(present[name]).replace(
                correction=borrowed, intrinsic_scatter=source.intrinsic_scatter)
    if write:
        for name in names:
            if name in calibrated:
                _write_calibration(calibrated[name], present[name], directory)
    return {name: calibrated[name] for name in names if name in calibrated}


def _write_calibration(model, source, directory):
    """Save ``model``'s correction and intrinsic scatter into the bundle at ``source``."""
    import json

    from astropy_smass._utils import atomic_write
    from astropy_smass.model.bundle import StellarMassModel

    if isinstance(source, (str, os.PathLike)):
        current = StellarMassModel.load(source)
        here = Path(source).parent
    elif directory is None:
        raise ValueError(f"model {model.name!r} was given as an object: pass directory=")
    else:
        current, here = model, None
    updated = current.replace(correction=model.correction,
                              intrinsic_scatter=model.intrinsic_scatter)
    target = Path(directory) if directory is not None else here
    json_path = target / f"{updated.name}.json"
    if here is not None and target.resolve() == here.resolve() and \
            (target / f"{updated.name}.npz").exists():
        # Only the JSON half changes (to_dict gives it the checksum of the new bundle).
        text = json.dumps(updated.to_dict(), indent=1, sort_keys=False) + "\n"
        atomic_write(json_path, lambda fh: fh.write(text), overwrite=True, mode="w")
    else:
        updated.save(target, overwrite=True)
    return json_path


def _catalogue_offset(model, catalogue, table):
    """Median of ``model``'s masses minus ``catalogue``'s reference masses in ``table``."""
    spec = CATALOGUES[catalogue]
    predicted = predict_table(table, model, uncertainty=None,
                              **spec.predict_kwargs)["logmstar"].value
    ref = reference_log_mass(table, spec.reference)
    good = np.isfinite(predicted) & np.isfinite(ref)
    return (float(np.median(predicted[good] - ref[good])) if good.any() else np.nan,
            int(good.sum()))


def _shift_to_anchor(calibrated, anchor, bridge, halves):
    """Shift corrections fitted on other catalogues onto the scale of ``anchor``."""
    if CALIBRATION_PLAN.get(bridge) != anchor or bridge not in calibrated:
        raise ValueError(f"the bridge model {bridge!r} must be calibrated on {anchor!r}")
    shifts, offsets = {anchor: (0.0, None)}, {}
    for catalogue in {CALIBRATION_PLAN[n] for n in calibrated} - {anchor}:
        _, (calibration, _) = halves[catalogue]
        offset, n = _catalogue_offset(calibrated[bridge], catalogue, calibration)
        if n < MIN_PER_COEFFICIENT:
            raise ValueError(f"only {n} galaxies of {catalogue} to tie its scale to "
                             f"{anchor}'s")
        # on_anchor - reference = (anchor scale) - (catalogue scale): added to a
        # correction fitted on the catalogue, it lands on the anchor's scale.
        shifts[catalogue] = (offset, n)
        offsets[f"{CATALOGUES[catalogue].name} - {CATALOGUES[anchor].name}"] = -offset
    shifted = {}
    for name, model in calibrated.items():
        c = model.correction
        shift, n = shifts[CALIBRATION_PLAN[name]]
        coefficients = (c.coefficients[0] + shift,) + tuple(c.coefficients[1:])
        info = {**c.provenance, "scale_anchor": CATALOGUES[anchor].name,
                "scale_shift_dex": shift,
                "scale_note": f"mass scale of {CATALOGUES[anchor].name}'s SED fits; "
                              "the catalogues' offsets at fixed photometry, measured "
                              f"through the {bridge!r} model calibrated on "
                              f"{CATALOGUES[anchor].name}, are in catalogue_offsets_dex",
                "catalogue_offsets_dex": offsets}
        if n is not None:
            info.update({"scale_bridge_model": bridge, "scale_bridge_n": n})
        shifted[name] = model.replace(correction=type(c)(coefficients, c.pivot, c.fit_range,
                                                         info))
    return shifted


def calibrate_on_catalogue(name, *, degree=1, seed=SPLIT_SEED, models=None):
    """Corrections for ``model="auto"`` on one catalogue, fitted on its calibration half.

    Each installed model whose bands the catalogue has is calibrated on the
    calibration-half galaxies that ``"auto"`` gives it (`auto_assignment`), so the
    corrections follow the galaxies each model is used for; the degree is that of
    `calibration_degree` (degree 1 from 30 galaxies, a constant offset from 15).
    Where ``"auto"`` gives a model fewer than `MIN_PER_COEFFICIENT` galaxies, the
    model is calibrated on every calibration-half galaxy it takes on its own. The
    intrinsic scatter is measured and floored as in `calibrate_bundled`. The
    results stay on the catalogue's own mass scale: they measure how well a network
    calibrated on a catalogue reproduces that catalogue, not the bundled corrections.

    Parameters
    ----------
    name : str
        Key of `CATALOGUES` with reference masses.
    degree : int
        Highest polynomial degree.
    seed : int
        Seed of `split_halves`.
    models : dict, optional
        ``{name: path or StellarMassModel}``; default the installed models.

    Returns
    -------
    dict
        ``{model name: StellarMassModel}``; ``provenance["galaxies"]`` of each
        correction says which galaxies it was fitted on. Use with `predict_as_auto`.
    """
    present = dict(models) if models is not None else rest_frame_models()
    spec, (calibration, _) = _calibration_halves(name, seed)
    if spec.reference is None:
        raise ValueError(f"{spec.name} has no reference masses to calibrate on")
    have = set(find_band_columns(_photometry_columns(calibration, spec)))
    assigned = auto_assignment(calibration, **spec.predict_kwargs)
    ref = reference_log_mass(calibration, spec.reference)
    out = {}
    for model_name, path in present.items():
        model = load_model(path)
        if not set(model.bands) <= have:
            continue
        rows = (assigned == model_name) & np.isfinite(ref)
        info = {"half": "calibration", "split_seed": seed, "split_key": spec.key,
                "catalogue_calibration": spec.name}
        if rows.sum() >= MIN_PER_COEFFICIENT:
            table, n = calibration[rows], int(rows.sum())
            info["galaxies"] = "calibration-half galaxies model='auto' gives this model"
        else:
            table, n = calibration, _n_fit(model, calibration, spec)
            info["galaxies"] = (f"every calibration-half galaxy the model takes ('auto' "
                                f"gives it {int(rows.sum())}, fewer than "
                                f"{MIN_PER_COEFFICIENT})")
        used = calibration_degree(n, degree)
        if used < 0:
            continue
        info["n_auto"] = int(rows.sum())
        out[model_name] = _fit(model, table, spec, used, degree, info)
    return out


def _photometry_columns(table, spec):
    return [c for c in table.colnames if c not in (spec.predict_kwargs.get("redshift"),
                                                   spec.predict_kwargs.get("distance"))]


#: Labels of the network rows of the validation report.
NETWORK_LABELS = {"raw": "network (raw)", "bundled": "network (bundled, ECO scale)",
                  "catalogue": "network (calibrated on this catalogue)"}


def validation_report(*, seed=SPLIT_SEED, models=None, n_draws=200):
    """Every validation figure on the evaluation halves of ECO and DustPedia.

    For each catalogue, on the same galaxies of its evaluation half: the network with
    ``model="auto"`` raw, with the bundled corrections, and with corrections fitted
    on the catalogue's calibration half (`calibrate_on_catalogue`), beside Taylor et
    al. (2011) and, where the bands allow, Cluver et al. (2014); overall, per bin of
    reference mass and per model (the galaxies ``"auto"`` gives each model).

    Parameters
    ----------
    seed : int
        Seed of `split_halves`.
    models : dict, optional
        ``{name: path or StellarMassModel}`` standing in for the installed models of
        those names (same networks, other corrections) as the bundled network.
    n_draws : int
        Monte Carlo draws for the analytic/Monte Carlo comparison.

    Returns
    -------
    dict
        ``comparison`` (``{catalogue: compare_methods table}``), ``per_model``
        (``{catalogue: {model: table}}``), ``calibrated`` (``{catalogue: {model:
        StellarMassModel}}`` of `calibrate_on_catalogue`), ``coverage`` (DustPedia,
        catalogue-calibrated network: fraction and n; also ``_per_model`` and
        ``_bundled_scatter``, the latter with the bundled intrinsic scatters),
        ``uncertainties`` (DustPedia `compare_uncertainties` summary),
        ``scale_offsets`` (DustPedia - ECO through the ECO-calibrated models),
        ``census`` (``{catalogue: flag_census}`` on whole catalogues, H-ATLAS
        included) and ``domain`` (``{catalogue: {model: domain_report}}``).
    """
    installed = rest_frame_models()
    bundled = {name: load_model(path) for name, path in (models or {}).items()}
    report = {"comparison": {}, "per_model": {}, "calibrated": {}, "census": {},
              "domain": {}, "scale_offsets": {}}
    for name in ("eco", "dustpedia"):
        spec, (calibration, evaluation) = _calibration_halves(name, seed)
        calibrated = calibrate_on_catalogue(name, seed=seed)
        report["calibrated"][name] = calibrated
        kwargs = spec.predict_kwargs
        assigned = auto_assignment(evaluation, **kwargs)
        estimates = {
            "raw": _predict(evaluation, bundled, correct=False, uncertainty=None,
                            **kwargs)["logmstar"].value,
            "bundled": _predict(evaluation, bundled, uncertainty=None,
                                **kwargs)["logmstar"].value,
            "catalogue": _predict(evaluation, calibrated, uncertainty=None,
                                  **kwargs)["logmstar"].value}
        labels = {**NETWORK_LABELS,
                  "catalogue": f"network (calibrated on {spec.name} half)"}
        extra = {labels[k]: v for k, v in estimates.items()}
        order = [*extra, "taylor2011", "cluver2014"]
        report["comparison"][name] = compare_methods(
            evaluation, spec.reference, methods=order, extra=extra, **kwargs)
        report["per_model"][name] = {}
        for model_name in dict.fromkeys(sorted(n for n in assigned if n)):
            rows = assigned == model_name
            report["per_model"][name][model_name] = compare_methods(
                evaluation[rows], spec.reference, methods=order,
                extra={k: v[rows] for k, v in extra.items()}, **kwargs)
        report["domain"][name] = {}
        have = set(find_band_columns(_photometry_columns(evaluation, spec)))
        for model_name in CALIBRATION_PLAN:
            if model_name in installed and set(load_model(installed[model_name]).bands) <= have:
                report["domain"][name][model_name] = domain_report(
                    bundled.get(model_name, model_name), evaluation, spec.reference, **kwargs)
        if spec.reference_error is not None:
            ref = reference_log_mass(evaluation, spec.reference)
            ref_err, _, _ = column_values(evaluation, spec.reference_error)
            ref_err = np.where(np.isfinite(ref), ref_err, np.nan)
            with_bundled_scatter = {
                n: m.replace(intrinsic_scatter=load_model(bundled.get(n, n)).intrinsic_scatter)
                for n, m in calibrated.items()}
            coverage = {}
            for label, chosen in (("catalogue", calibrated),
                                  ("bundled_scatter", with_bundled_scatter)):
                prediction = _predict(evaluation, chosen, uncertainty="analytic", **kwargs)
                logm, err = prediction["logmstar"].value, prediction["logmstar_err"].value
                fraction, n = uncertainty_coverage(logm, err, ref, ref_err)
                coverage[label] = {"fraction": fraction, "n": n}
                if label == "catalogue":
                    coverage["per_model"] = {}
                    for model_name in report["per_model"][name]:
                        rows = assigned == model_name
                        fraction, n = uncertainty_coverage(logm[rows], err[rows], ref[rows],
                                                           ref_err[rows])
                        coverage["per_model"][model_name] = {"fraction": fraction, "n": n}
            report["coverage"] = coverage["catalogue"]
            report["coverage_per_model"] = coverage["per_model"]
            report["coverage_bundled_scatter"] = coverage["bundled_scatter"]
            summary = compare_uncertainties(evaluation, calibrated, n_draws=n_draws,
                                            seed=seed, **kwargs)
            report["uncertainties"] = {k: v for k, v in summary.items()
                                       if k not in ("analytic", "montecarlo")}
            # The offset between the catalogues' mass scales, through the models
            # calibrated on ECO (the bundled scale), on both halves.
            for model_name in (SCALE_BRIDGE, *SCALE_CHECK_BRIDGES):
                if model_name not in installed:
                    continue
                chosen = bundled.get(model_name, load_model(installed[model_name]))
                if chosen.correction is None:
                    continue
                for half, table in (("calibration", calibration), ("evaluation", evaluation)):
                    offset, n = _catalogue_offset(chosen, name, table)
                    report["scale_offsets"][(spec.name, model_name, half)] = {
                        "offset": -offset, "n": n}
    for name, spec in CATALOGUES.items():
        table = spec.load()
        report["census"][name] = flag_census(_predict(table, bundled, **spec.predict_kwargs))
    return report


def catalogue_predictions(name, half="evaluation", model="auto", *, seed=SPLIT_SEED,
                          uncertainty="auto", calibrated=None):
    """Predictions for one half of a validation catalogue, beside its reference masses.

    Parameters
    ----------
    name : str
        Key of `CATALOGUES`.
    half : {'evaluation', 'calibration', None}
        Which half (`split_halves` with ``seed``); None for the whole catalogue.
    model : str, `~astropy_smass.model.bundle.StellarMassModel` or dict
        As for `compare_methods`.
    uncertainty : see `~astropy_smass.pipeline.predict_table`
    calibrated : dict, optional
        Models calibrated on this catalogue (`calibrate_on_catalogue`); default those
        fitted on its calibration half with ``seed`` when the catalogue has reference
        masses.

    Returns
    -------
    `~astropy.table.QTable`
        The catalogue rows with ``logmstar`` (bundled correction), ``logmstar_raw``,
        ``logmstar_err`` and ``logmstar_err_phot`` (when computed), ``smass_flag``,
        ``smass_model``, ``logmstar_ref`` and ``logmstar_ref_err`` (when the
        catalogue has them), ``logmstar_cal`` and ``logmstar_cal_err`` (calibrated
        on the catalogue, when it has reference masses) and the classical
        ``taylor2011`` / ``cluver2014`` masses where the bands allow.
    """
    spec = CATALOGUES[name]
    table = spec.load()
    if half is not None:
        calibration, evaluation = split_halves(table, spec.key, seed)
        table = {"calibration": calibration, "evaluation": evaluation}[half]
    model = {} if isinstance(model, str) and model == "auto" else model
    prediction = _predict(table, model, uncertainty=uncertainty, **spec.predict_kwargs)
    raw = _predict(table, model, uncertainty=None, correct=False, **spec.predict_kwargs)
    out = QTable(meta={**table.meta, **prediction.meta})
    out[spec.key] = table[spec.key]
    for column in prediction.colnames:
        out[column] = prediction[column]
    out["logmstar_raw"] = raw["logmstar"]
    if spec.reference is not None:
        out["logmstar_ref"] = reference_log_mass(table, spec.reference) * u.dex(u.Msun)
        if calibrated is None:
            calibrated = calibrate_on_catalogue(name, seed=seed)
        own = _predict(table, calibrated, uncertainty=uncertainty, **spec.predict_kwargs)
        out["logmstar_cal"] = own["logmstar"]
        if "logmstar_err" in own.colnames:
            out["logmstar_cal_err"] = own["logmstar_err"]
    if spec.reference_error is not None:
        values, mask, _ = column_values(table, spec.reference_error)
        out["logmstar_ref_err"] = np.where(mask, np.nan, values) * u.dex
    for method, values in classical_masses(table, **_mass_kwargs(spec.predict_kwargs)).items():
        out[method] = values * u.dex(u.Msun)
    return out


def _fmt(value, digits=3):
    return "--" if not np.isfinite(value) else f"{value:.{digits}f}"


def _rst_table(header, rows):
    """A reStructuredText simple table."""
    cells = [list(map(str, header))] + [list(map(str, row)) for row in rows]
    widths = [max(len(row[k]) for row in cells) for k in range(len(header))]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(c.ljust(w) for c, w in zip(cells[0], widths)).rstrip(), rule]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells[1:]]
    return "\n".join(lines + [rule])


def _overall(table, method):
    row = table[(table["method"] == method) & (table["bin"] == "all")]
    return row[0] if len(row) else None


def _catalogue_label(name):
    return f"network (calibrated on {CATALOGUES[name].name} half)"


#: Fewest galaxies on which a target is judged for a single model.
_MIN_JUDGED = 30


def _target_rows(report):
    """The checks of the validation issue, one row each: what, value, target, met."""
    rows = []
    for name, table in report["comparison"].items():
        cases = [("``auto``", table)] + [(f"``{m}``", t) for m, t in
                                         report["per_model"].get(name, {}).items()]
        for label, t in cases:
            net = _overall(t, _catalogue_label(name))
            taylor = _overall(t, METHOD_LABELS["taylor2011"])
            if net is None or (label != "``auto``" and net["n"] < _MIN_JUDGED):
                continue  # too few galaxies to judge one model
            where = f"{CATALOGUES[name].name} {label} (N={net['n']})"
            rows.append([f"{where}: median offset", f"{net['median_offset']:+.3f} dex",
                         "within +-0.03 dex", "yes" if abs(net["median_offset"]) <= 0.03
                         else "no"])
            if taylor is not None:
                rows.append([f"{where}: 16-84 half-width vs Taylor+2011",
                             f"{net['half_width']:.3f} vs {taylor['half_width']:.3f} dex",
                             "smaller", "yes" if net["half_width"] < taylor["half_width"]
                             else "no"])
    if "coverage" in report:
        cov = report["coverage"]
        rows.append([f"DustPedia ``auto`` (N={cov['n']}): coverage",
                     f"{100 * cov['fraction']:.1f}%", "68 +- 7%",
                     "yes" if abs(cov["fraction"] - 0.68) <= 0.07 else "no"])
    if "uncertainties" in report:
        ratio = report["uncertainties"]["median_ratio"]
        rows.append(["DustPedia: analytic / Monte Carlo uncertainty (median)",
                     f"{ratio:.3f}", "1 +- 0.1", "yes" if abs(ratio - 1) <= 0.1 else "no"])
    for name, census in report["census"].items():
        rows.append([f"{CATALOGUES[name].name}: rows with neither a mass nor a flag",
                     f"{census.meta['n_unexplained']} of {census.meta['n_rows']}", "0",
                     "yes" if census.meta["n_unexplained"] == 0 else "no"])
    return rows


def _scores_table(table, first="method"):
    overall = table[table["bin"] == "all"]
    return _rst_table([first, "N", "median offset", "16-84 half-width", "RMS",
                       "outliers (>0.3 dex)"],
                      [(r["method"], r["n"], _fmt(r["median_offset"]), _fmt(r["half_width"]),
                        _fmt(r["rms"]), f"{100 * r['outlier_fraction']:.1f}%")
                       for r in overall])


def _bins_table(table):
    methods = list(table[table["bin"] == "all"]["method"])
    bins = [b for b in dict.fromkeys(table["bin"]) if b != "all"]
    rows = []
    for b in bins:
        row = [b]
        for m in methods:
            sel = table[(table["method"] == m) & (table["bin"] == b)]
            row.append("--" if not len(sel) else
                       f"{_fmt(sel['median_offset'][0])} / {_fmt(sel['half_width'][0])}")
        row.append(int(table[(table["method"] == methods[0]) & (table["bin"] == b)]["n"][0]))
        rows.append(row)
    return _rst_table(["log M* bin"] + methods + ["N"], rows)


def _correction_cells(model):
    c = model.correction
    if c is None:
        return ["--", "--", "--", "--", "--", f"{model.intrinsic_scatter:.3f}"]
    info = c.provenance
    return [str(info.get("n_used", "--")), str(info.get("degree", len(c.coefficients) - 1)),
            " ".join(f"{v:+.3f}" for v in c.coefficients), f"{c.pivot:.2f}",
            f"{c.fit_range[0]:.2f}-{c.fit_range[1]:.2f}",
            f"{model.intrinsic_scatter:.3f} ({info.get('intrinsic_scatter_measured_dex', 0):.3f}"
            f" / {info.get('intrinsic_scatter_floor_dex', 0):.3f})"]


def format_report_rst(report, models=None):
    """The validation figures of `validation_report` as reStructuredText.

    Parameters
    ----------
    report : dict
        From `validation_report`.
    models : dict, optional
        ``{name: StellarMassModel}`` whose (bundled) corrections to tabulate.

    Returns
    -------
    str
    """
    out = ["Targets", "-------", "",
           "Judged on the network calibrated on each catalogue's calibration half, on its "
           "evaluation half (single models where ``auto`` gives them at least "
           f"{_MIN_JUDGED} galaxies).", "",
           _rst_table(["check", "value", "target", "met"], _target_rows(report)), ""]
    if report.get("scale_offsets"):
        rows = [[f"``{model}``", half, v["n"], f"{v['offset']:+.3f}"]
                for (_, model, half), v in report["scale_offsets"].items()]
        taylor = {name: _overall(t, METHOD_LABELS["taylor2011"])
                  for name, t in report["comparison"].items()}
        out += ["Mass scales", "-----------", "",
                "DustPedia's CIGALE masses minus the bundled (ECO-scale) network's, on "
                "DustPedia galaxies (median, dex), through each model calibrated on ECO; the "
                "first row is the shift that puts the DustPedia-calibrated corrections on "
                "ECO's scale:", "",
                _rst_table(["model", "DustPedia half", "N", "DustPedia - ECO (dex)"], rows), "",
                "Taylor et al. (2011) minus the reference masses on the evaluation halves: "
                + "; ".join(f"{CATALOGUES[n].name} {t['median_offset']:+.3f} dex (N={t['n']})"
                            for n, t in taylor.items() if t is not None) + ".", ""]
    titles = {"eco": "ECO, evaluation half", "dustpedia": "DustPedia, evaluation half"}
    for name, table in report["comparison"].items():
        meta = table.meta
        out += [titles[name], "-" * len(titles[name]), "",
                f"{meta['n_common']} galaxies with a mass from every method (of "
                f"{meta['n_rows']} in the half, {meta['n_reference']} with a reference "
                "mass; galaxies per method: "
                + ", ".join(f"{k} {v}" for k, v in meta["n_per_method"].items()) + ").", "",
                _scores_table(table), "",
                "Median offset / 16-84 half-width (dex) per bin of reference mass:", "",
                _bins_table(table), ""]
        rows = []
        for model_name, per_model in report["per_model"].get(name, {}).items():
            for r in per_model[per_model["bin"] == "all"]:
                rows.append([f"``{model_name}``", r["method"], r["n"], _fmt(r["median_offset"]),
                             _fmt(r["half_width"]), _fmt(r["rms"]),
                             f"{100 * r['outlier_fraction']:.1f}%"])
        if rows:
            out += ["Per model (the galaxies ``auto`` gives each model):", "",
                    _rst_table(["model", "method", "N", "median offset", "16-84 half-width",
                                "RMS", "outliers"], rows), ""]
    if "coverage" in report:
        cov, unc = report["coverage"], report["uncertainties"]
        alt = report["coverage_bundled_scatter"]
        out += ["Uncertainties (DustPedia, evaluation half)", "-" * 42, "",
                f"- Coverage: {100 * cov['fraction']:.1f}% of {cov['n']} galaxies have their "
                "reference mass within the 1-sigma total uncertainty of the network "
                "calibrated on DustPedia's calibration half, combined in quadrature with the "
                "reference error (target 68 +- 7%).",
                "- The same per model: " + "; ".join(
                    f"``{k}`` {100 * v['fraction']:.1f}% of {v['n']}"
                    for k, v in report["coverage_per_model"].items()) + ".",
                f"- With the bundled intrinsic scatters instead (same corrections): "
                f"{100 * alt['fraction']:.1f}% of {alt['n']}.",
                f"- Analytic / Monte Carlo photometric uncertainty: median ratio "
                f"{unc['median_ratio']:.3f} (16-84%: {unc['ratio_16']:.3f}-"
                f"{unc['ratio_84']:.3f}) over {unc['n']} galaxies; medians "
                f"{unc['median_analytic']:.3f} and {unc['median_montecarlo']:.3f} dex.", ""]
    out += ["Flag census (whole catalogues, bundled models)", "-" * 46, ""]
    names = list(report["census"])
    flags = list(report["census"][names[0]]["flag"])
    header = ["", *[CATALOGUES[n].name for n in names]]
    rows = [["rows"] + [report["census"][n].meta["n_rows"] for n in names],
            ["with a mass"] + [report["census"][n].meta["n_with_mass"] for n in names],
            ["with a mass, no flag"] + [report["census"][n].meta["n_clean"] for n in names],
            ["without a mass"] + [report["census"][n].meta["n_without_mass"] for n in names],
            ["without a mass or a flag"] + [report["census"][n].meta["n_unexplained"]
                                            for n in names]]
    for flag in flags:
        rows.append([f"``{flag}`` (no mass)"] + [
            "{} ({})".format(*[int(v) for v in report["census"][n][
                report["census"][n]["flag"] == flag][["n", "n_without_mass"]][0]])
            for n in names])
    out += [_rst_table(header, rows), ""]
    domain_rows = []
    for name, per_model in report["domain"].items():
        for model_name, dom in per_model.items():
            top = ", ".join(f"{f} {n}" for f, n in list(dom["features_out_of_range"].items())[:3])
            scores = dom.get("scores_in_domain", {})
            flagged = dom.get("scores_out_of_distribution", {})
            domain_rows.append([CATALOGUES[name].name, f"``{model_name}``", dom["n_with_bands"],
                                dom["n_out_of_range"], dom["n_out_of_distribution"],
                                dom["n_out_of_domain"], top or "--",
                                _fmt(scores.get("half_width", np.nan)),
                                _fmt(flagged.get("half_width", np.nan))])
    if domain_rows:
        out += ["Training-domain flags (evaluation halves)", "-" * 41, "",
                _rst_table(["catalogue", "model", "with bands", "out of range",
                            "out of distribution", "either", "features out of range (most)",
                            "half-width in", "half-width OOD only"], domain_rows), ""]
    if models:
        rows = []
        for model_name, model in sorted(models.items()):
            info = model.correction.provenance if model.correction is not None else {}
            source = info.get("catalogue", "none") + (f" (via ``{info['borrowed_from']}``)"
                                                      if "borrowed_from" in info else "")
            shift = info.get("scale_shift_dex")
            rows.append([f"``{model_name}``", source, *_correction_cells(model)[:2],
                         "--" if shift is None else f"{shift:+.3f}",
                         *_correction_cells(model)[2:]])
        out += ["Bundled corrections (ECO scale)", "-" * 31, "",
                _rst_table(["model", "calibrated on", "N used", "degree", "shift to ECO",
                            "coefficients (dex)", "pivot", "fit range",
                            "intrinsic scatter (measured / floor)"], rows), ""]
    rows = []
    for name, calibrated in report.get("calibrated", {}).items():
        for model_name, model in calibrated.items():
            info = model.correction.provenance
            which = "``auto``'s" if info["galaxies"].startswith("calibration-half") else "all"
            rows.append([CATALOGUES[name].name, f"``{model_name}``", info["n_auto"], which,
                         *_correction_cells(model)])
    if rows:
        out += ["Corrections calibrated on each catalogue (for the tables above only)",
                "-" * 68, "",
                _rst_table(["catalogue", "model", "N from ``auto``", "fitted on", "N used",
                            "degree", "coefficients (dex)", "pivot", "fit range",
                            "intrinsic scatter (measured / floor)"], rows), ""]
    return "\n".join(out).rstrip() + "\n"


#: Lines that enclose the generated part of ``docs/validation.rst``.
DOCS_BEGIN = ".. BEGIN GENERATED: scripts/calibrate_bundled.py --docs; do not edit by hand"
DOCS_END = ".. END GENERATED"


def report_rst(seed=SPLIT_SEED):
    """The generated part of the validation page, for the installed bundled models."""
    present = rest_frame_models()
    models = {name: load_model(path) for name, path in present.items()
              if name in CALIBRATION_PLAN or name in BORROWED_CORRECTIONS}
    return format_report_rst(validation_report(seed=seed), models=models)


def update_docs(path, seed=SPLIT_SEED):
    """Rewrite the part of ``path`` between `DOCS_BEGIN` and `DOCS_END`.

    Returns
    -------
    bool
        Whether the file changed.
    """
    path = Path(path)
    text = path.read_text()
    try:
        head, rest = text.split(DOCS_BEGIN + "\n", 1)
        _, tail = rest.split(DOCS_END, 1)
    except ValueError:
        raise ValueError(f"{path} lacks the lines {DOCS_BEGIN!r} and {DOCS_END!r}") from None
    new = head + DOCS_BEGIN + "\n\n" + report_rst(seed) + "\n" + DOCS_END + tail
    if new == text:
        return False
    from astropy_smass._utils import atomic_write

    atomic_write(path, lambda fh: fh.write(new), overwrite=True, mode="w")
    return True
