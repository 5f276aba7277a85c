"""Validation on the redshift surveys: DESI BGS, DES supernova hosts and COSMOS2015.

These catalogues give apparent photometry in survey bands at 0 < z < 1.5, with
reference masses from SED fits (PROVABGS, the DES-SN5YR host fits, COSMOS2015). Each is
split into halves by `validation.split_halves`: the observed-frame network's residual
bias is calibrated on one half and everything is scored on the other, against two
baselines:

* ``colour``: a classical colour-mass-to-light relation applied to apparent magnitudes
  minus the distance modulus, with no K-correction (what a user without a K-correction
  code gets): Bell et al. (2003) g - r for DESI, Taylor et al. (2011) g - i for DES and,
  in the nearest Suprime-Cam bands (V for g, i+ for i), for COSMOS.
* ``linear``: a linear regression fitted by least squares on the **real reference
  masses of the calibration half**, with the survey's magnitudes minus the distance
  modulus, its adjacent colours, z and z^2 as features. The network never sees real
  masses in training: beating this regression is the claim worth making.
"""

from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
from astropy.table import QTable, Table

from astropy_smass.relations import bell2003_logmstar, taylor2011_logmstar

from . import VALIDATION_COSMOLOGY, Catalogue, _data_file, _describe, residual_statistics

__all__ = ["SURVEYS", "load_desi", "load_des", "load_cosmos", "survey_halves",
           "linear_baseline", "colour_baseline", "redshift_bins", "REDSHIFT_WIDTH"]

#: Width of the redshift bins of the per-bin scores.
REDSHIFT_WIDTH = 0.1

#: DESI TARGETID bits 42-57 hold the Legacy Surveys data release: 9010 is DR9 south
#: (DECam), 9011 DR9 north (BASS + MzLS) (DESI Collaboration 2023, EDR paper, sect. 2).
_RELEASE_SHIFT, _RELEASE_BITS = 42, 0xFFFF
_NORTH_RELEASES = (9011,)


def load_desi(path=None):
    """DESI EDR BGS galaxies with PROVABGS masses, fluxes in nanomaggies.

    Returns
    -------
    `~astropy.table.QTable`
        ``targetid``, ``z``, ``photsys`` (``"N"`` or ``"S"``, from the TARGETID's
        release bits), ``flux_g flux_r flux_z flux_w1 flux_w2`` (Galactic-extinction
        corrected, nanomaggy) and ``logmstar`` (PROVABGS, ``dex(Msun)``).
    """
    raw = Table.read(_data_file(path, "desi_bgs_dev.csv"), format="ascii.csv")
    table = QTable(meta={"name": "DESI BGS", "description": "DESI EDR Bright Galaxy Survey "
                         "(SV3) with PROVABGS masses (Hahn et al. 2023)"})
    targetid = np.asarray(raw["targetid"], dtype=np.int64)
    table["targetid"] = targetid.astype(str)
    _describe(table, "targetid", "DESI TARGETID", "meta.id;meta.main")
    table["z"] = np.asarray(raw["z"], float)
    _describe(table, "z", "Spectroscopic redshift", "src.redshift")
    release = (targetid >> _RELEASE_SHIFT) & _RELEASE_BITS
    table["photsys"] = np.where(np.isin(release, _NORTH_RELEASES), "N", "S")
    _describe(table, "photsys", "Legacy Surveys photometric system: N (BASS/MzLS) or S "
              "(DECam)")
    for band in ("g", "r", "z", "w1", "w2"):
        name = f"flux_{band}"
        table[name] = np.asarray(raw[name], float) * u.nanomaggy
        _describe(table, name, "Galactic-extinction-corrected flux", "phot.flux.density")
    table["logmstar"] = np.asarray(raw["logmstar_provabgs"], float) * u.dex(u.Msun)
    _describe(table, "logmstar", "PROVABGS stellar mass", "phys.mass")
    return table


def load_des(path=None):
    """DES 5-year supernova host galaxies: DES g r i z AB magnitudes, E(B-V), host masses.

    Returns
    -------
    `~astropy.table.QTable`
        ``snid``, ``z``, ``mwebv`` (mag), ``mag_g ... mag_z`` and ``magerr_*`` (mag,
        not corrected for Galactic extinction), ``logmstar`` and ``logmstar_err``.
    """
    raw = Table.read(_data_file(path, "des_hosts_dev.csv"), format="ascii.csv")
    table = QTable(meta={"name": "DES hosts", "description": "DES-SN5YR host galaxies"})
    table["snid"] = np.asarray(raw["snid"]).astype(str)
    _describe(table, "snid", "DES supernova identifier", "meta.id;meta.main")
    table["z"] = np.asarray(raw["z"], float)
    _describe(table, "z", "Host spectroscopic redshift", "src.redshift")
    table["mwebv"] = np.asarray(raw["mwebv"], float) * u.mag
    for band in "griz":
        table[f"mag_{band}"] = np.asarray(raw[f"mag_{band}"], float) * u.mag
        table[f"magerr_{band}"] = np.asarray(raw[f"magerr_{band}"], float) * u.mag
    table["logmstar"] = np.asarray(raw["logmass"], float) * u.dex(u.Msun)
    table["logmstar_err"] = np.asarray(raw["logmass_err"], float) * u.dex
    return table


def load_cosmos(path=None):
    """COSMOS2015 galaxies (Laigle et al. 2016): Suprime-Cam V r+ i+ z++ AB magnitudes.

    Returns
    -------
    `~astropy.table.QTable`
        ``id``, ``z``, ``mag_V mag_r mag_ip mag_zpp`` and ``magerr_*`` (mag) and
        ``logmstar``.
    """
    raw = Table.read(_data_file(path, "cosmos2015_dev.csv"), format="ascii.csv")
    table = QTable(meta={"name": "COSMOS2015", "description": "COSMOS2015 (Laigle et al. "
                         "2016), the GALPRO test set"})
    table["id"] = np.asarray(raw["id"]).astype(str)
    table["z"] = np.asarray(raw["z"], float)
    for band in ("V", "r", "ip", "zpp"):
        table[f"mag_{band}"] = np.asarray(raw[f"mag_{band}"], float) * u.mag
        table[f"magerr_{band}"] = np.asarray(raw[f"magerr_{band}"], float) * u.mag
    table["logmstar"] = np.asarray(raw["logmstar"], float) * u.dex(u.Msun)
    return table


@dataclass(frozen=True)
class Survey:
    """A redshift survey's validation set-up.

    Parameters
    ----------
    catalogue : `validation.Catalogue`
    redshift_range : tuple of float
        Where the targets of issue #12 are judged.
    bands : dict
        ``{band key: column}`` in wavelength order (per ``photsys`` for DESI).
    errors : dict
        ``{band key: error column}``.
    colour : tuple of str
        The two band keys of the colour relation and its function.
    """

    catalogue: Catalogue
    redshift_range: tuple
    bands: dict
    errors: dict = field(default_factory=dict)
    colour: tuple = ()


_DESI_SOUTH = {"decam_g": "flux_g", "decam_r": "flux_r", "decam_z": "flux_z",
               "W1": "flux_w1", "W2": "flux_w2"}
_DESI_NORTH = {"bass_g": "flux_g", "bass_r": "flux_r", "mzls_z": "flux_z",
               "W1": "flux_w1", "W2": "flux_w2"}

#: The redshift surveys by short name.
SURVEYS = {
    "desi": Survey(
        Catalogue("DESI BGS", load_desi, "targetid", "logmstar", None,
                  {"redshift": "z", "cosmology": VALIDATION_COSMOLOGY},
                  "DESI Collaboration 2023 (EDR); Hahn et al. 2023, ApJ 945, 16 (PROVABGS)"),
        (0.02, 0.6), {"S": _DESI_SOUTH, "N": _DESI_NORTH}, {},
        ("g", "r", bell2003_logmstar)),
    "des": Survey(
        Catalogue("DES hosts", load_des, "snid", "logmstar", "logmstar_err",
                  {"redshift": "z", "cosmology": VALIDATION_COSMOLOGY, "ebv": "mwebv"},
                  "DES Collaboration 2024 (DES-SN5YR)"),
        (0.05, 0.7), {"decam_g": "mag_g", "decam_r": "mag_r", "decam_i": "mag_i",
                      "decam_z": "mag_z"},
        {"decam_g": "magerr_g", "decam_r": "magerr_r", "decam_i": "magerr_i",
         "decam_z": "magerr_z"},
        ("g", "i", taylor2011_logmstar)),
    "cosmos": Survey(
        Catalogue("COSMOS2015", load_cosmos, "id", "logmstar", None,
                  {"redshift": "z", "cosmology": VALIDATION_COSMOLOGY},
                  "Laigle et al. 2016, ApJS 224, 24"),
        (0.05, 1.0), {"subaru_suprimecam_V": "mag_V", "subaru_suprimecam_rp": "mag_r",
                      "subaru_suprimecam_ip": "mag_ip", "subaru_suprimecam_zp": "mag_zpp"},
        {"subaru_suprimecam_V": "magerr_V", "subaru_suprimecam_rp": "magerr_r",
         "subaru_suprimecam_ip": "magerr_ip", "subaru_suprimecam_zp": "magerr_zpp"},
        ("V", "i", taylor2011_logmstar)),
}


def survey_bands(name, table):
    """``{band: column}`` for every row group of a survey: ``{None: bands}``, or for DESI
    ``{"S": ..., "N": ...}`` with the rows of each in ``table["photsys"]``."""
    bands = SURVEYS[name].bands
    return bands if "S" in bands else {None: bands}


def survey_halves(name, seed=1, path=None):
    """The calibration and evaluation halves of a survey, in its redshift range."""
    from . import split_halves

    survey = SURVEYS[name]
    table = survey.catalogue.load(path)
    z = np.asarray(table["z"], float)
    low, high = survey.redshift_range
    table = table[(z > low) & (z < high)]
    return split_halves(table, survey.catalogue.key, seed)


def magnitudes_minus_dm(table, name):
    """Apparent magnitudes minus the distance modulus (no K-correction), one column per
    band of the survey, Galactic-extinction corrected where the survey needs it.

    Returns
    -------
    ndarray (n, n_bands)
    """
    from astropy_smass.photometry.magnitudes import absolute_magnitudes

    survey = SURVEYS[name]
    kwargs = dict(survey.catalogue.predict_kwargs)
    out = None
    for photsys, bands in survey_bands(name, table).items():
        rows = (np.ones(len(table), bool) if photsys is None
                else np.asarray(table["photsys"]) == photsys)
        mags = absolute_magnitudes(table[rows], bands, **kwargs)[0]
        if out is None:
            out = np.full((len(table), mags.shape[1]), np.nan)
        out[rows] = mags
    return out


def _design(mags, z):
    colours = mags[:, :-1] - mags[:, 1:]
    return np.column_stack([np.ones(len(z)), mags, colours, z, z ** 2])


def linear_baseline(calibration, evaluation, name):
    """Linear regression of the calibration half's real masses, applied to ``evaluation``.

    Features: magnitudes minus the distance modulus, adjacent colours, z and z^2.

    Returns
    -------
    ndarray
        Predicted log masses of ``evaluation`` (NaN where a feature is missing).
    """
    x_cal = _design(magnitudes_minus_dm(calibration, name), np.asarray(calibration["z"]))
    y_cal = reference_masses(calibration, name)
    good = np.isfinite(x_cal).all(axis=1) & np.isfinite(y_cal)
    coeffs = np.linalg.lstsq(x_cal[good], y_cal[good], rcond=None)[0]
    x_eval = _design(magnitudes_minus_dm(evaluation, name), np.asarray(evaluation["z"]))
    return x_eval @ coeffs


def colour_baseline(table, name):
    """The survey's colour relation on magnitudes minus the distance modulus, without a
    K-correction."""
    survey = SURVEYS[name]
    blue, red, relation = survey.colour
    mags = magnitudes_minus_dm(table, name)
    bands = list(next(iter(survey_bands(name, table).values())))
    letters = [b.split("_")[-1] for b in bands]

    def column(letter):
        return mags[:, [k for k, b in enumerate(letters) if b.startswith(letter)][0]]

    return relation(column(blue), column(red))


def redshift_bins(predicted, reference, z, redshift_range, width=REDSHIFT_WIDTH):
    """`validation.residual_statistics` per redshift bin, with the fraction of galaxies
    given a mass.

    Returns
    -------
    list of dict
        ``lo``, ``hi``, ``n_galaxies``, ``with_mass`` and the statistics.
    """
    predicted, reference, z = (np.asarray(v, float) for v in (predicted, reference, z))
    edges = np.arange(redshift_range[0], redshift_range[1] + width / 2, width)
    edges[-1] = redshift_range[1]
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (z >= lo) & (z < hi)
        rows.append({"lo": float(lo), "hi": float(hi), "n_galaxies": int(sel.sum()),
                     "with_mass": float(np.isfinite(predicted[sel]).mean()) if sel.any()
                     else np.nan,
                     **residual_statistics(predicted[sel], reference[sel])})
    return rows


def reference_masses(table, name):
    """The survey's reference log masses moved onto the package's scale (Chabrier IMF,
    living stars + remnants) with the documented constants of `astropy_smass.massscale`."""
    values = np.asarray(table["logmstar"].value, float)
    try:
        from astropy_smass.massscale import to_package_scale
    except ImportError:  # before the mass-scale module
        return values
    return to_package_scale(values, name)


def predict_kwargs(name, photsys=None):
    """Arguments of `~astropy_smass.pipeline.predict_table` that read a survey right."""
    survey = SURVEYS[name]
    bands = survey.bands[photsys] if photsys else survey.bands
    kwargs = {**survey.catalogue.predict_kwargs, "columns": dict(bands)}
    if survey.errors:
        kwargs["errors"] = dict(survey.errors)
    return kwargs


def _groups(name, table):
    for photsys in survey_bands(name, table):
        rows = (np.ones(len(table), bool) if photsys is None
                else np.asarray(table["photsys"]) == photsys)
        yield photsys, rows


def predict_survey(table, name, model="auto", **kwargs):
    """Predictions for a survey table, per photometric system, in the table's order."""
    from astropy_smass.pipeline import predict_table

    out = None
    for photsys, rows in _groups(name, table):
        if not rows.any():
            continue
        result = predict_table(table[rows], model=model, **predict_kwargs(name, photsys),
                               **kwargs)
        if out is None:
            out = {"logmstar": np.full(len(table), np.nan),
                   "smass_model": np.full(len(table), "", dtype="U40"),
                   "smass_flag": np.zeros(len(table), np.int32)}
        out["logmstar"][rows] = result["logmstar"].value
        out["smass_flag"][rows] = result["smass_flag"]
        out["smass_model"][rows] = (result["smass_model"] if "smass_model" in result.colnames
                                    else result.meta["smass_model"])
    return out
