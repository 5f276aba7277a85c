r"""A realistic simulated z ~ 0 galaxy population with rest-frame absolute magnitudes.

The network of astropy-smass learns only from simulated galaxies. This module draws
their physical properties from empirical z ~ 0 scaling relations and computes their
photometry with the Bagpipes stellar population synthesis code (Carnall et al. 2018,
MNRAS 480, 4379), which is an optional dependency (``pip install astropy-smass[train]``).

Stellar populations and photometry
----------------------------------
Spectra are Bagpipes ``model_galaxy`` spectra built on its 2016 Bruzual & Charlot (2003)
grids, which use a **Kroupa (2001) IMF** over 0.1-100 Msun (Carnall et al. 2018; the
living-mass fractions stored in the grid, 0.459 at 10 Gyr and solar metallicity, match a
Kroupa IMF, 0.45-0.46, and not a Chabrier one, 0.42-0.43). Each model includes nebular
continuum and line emission (Cloudy grids, parameter ``logU``), Calzetti et al. (2000)
dust attenuation and energy-balance dust emission (Draine & Li 2007 grids).

Absolute magnitudes: at ``redshift = 0`` Bagpipes returns the spectrum as a luminosity
density L_lambda [erg s^-1 A^-1] (it applies no luminosity distance). We divide by
4 pi (10 pc)^2 and integrate through the astro-sedpy filter curves with
`sedpy.observate.getSED`, which returns AB magnitudes for photon-counting detectors. The
result is the rest-frame absolute AB magnitude at z = 0, i.e. the quantity in k-corrected,
Galactic-extinction-corrected catalogues. Sanity check (Kroupa IMF, solar metallicity,
delayed-tau SFH with tau = 0.5 Gyr and age 10 Gyr, no dust): M/L_i = 2.1 (living stars)
or 2.7 (living stars and remnants) in solar units with M_i,sun = 4.53, g - r = 0.80,
and a galaxy of current stellar mass 1e10 Msun has M_r = -19.0. These match the
well-known M/L of old populations; an M_r of -21 for 1e10 Msun would need M/L_r ~ 0.25.
Bagpipes' own photometry agrees with sedpy's integration to < 0.015 mag in all bands.

Stellar mass definition
-----------------------
``logmstar`` is log10 of the **current stellar mass (living stars plus stellar remnants)
in Msun, converted to a Chabrier (2003) IMF**:

* Bagpipes' ``sfh.stellar_mass`` is the mass in *living stars only*: the SSP weights
  times the BC03 "LIV_MSTAR_FRAC" table (column ``logmstar_living_kroupa``).
* Remnant mass (white dwarfs, neutron stars, black holes) is added with the Renzini &
  Ciotti (1993) initial-final mass relation, as implemented in FSPS (Conroy et al. 2009):
  WD 0.077 m + 0.48 for m < 8.5 Msun, NS 1.4 Msun for 8.5-40 Msun, BH 0.5 m above.
  The turn-off mass of each SSP age and metallicity is found by inverting the BC03
  living-mass fraction with the Kroupa IMF, so the remnants stay consistent with the
  grid's stellar evolution (column ``logmstar_kroupa``; at 10 Gyr the current/formed
  mass ratio is 0.59).
* Kroupa to Chabrier: ``logmstar = logmstar_kroupa - 0.034`` (the IMF factors 0.66 and
  0.61 relative to Salpeter of Madau & Dickinson 2014, ARA&A 52, 415), so that the masses
  share the IMF of the GAMA stellar mass function they are drawn from. SFRs get the same
  conversion (-0.027 dex, 0.67 and 0.63 in Madau & Dickinson 2014).

Priors (all in `DEFAULT_PRIORS`, stored in every population's ``meta``)
-------------------------------------------------------------------------
Stellar mass
    The population's weighted stellar mass function *is* the GAMA DR4 z < 0.1 GSMF
    (Driver et al. 2022, MNRAS 513, 439; h = 0.7, Chabrier IMF): a double Schechter
    function fitted by least squares to the shipped ``GAMAIV_Driver22.dat`` points for
    log M > 7 (log M* = 10.772, log phi1 = -2.460, alpha1 = -0.504, log phi2 = -3.218,
    alpha2 = -1.533; close to Driver et al.'s own fit), over 7 <= log M <= 12.
    Because the GSMF would put most galaxies below 1e8 Msun, masses are drawn from a
    mixture of 10% GSMF and 90% uniform in log M; the ``weight`` column
    [Mpc^-3] is the number density each galaxy represents,
    ``n_GSMF * p_GSMF(M) / (N q(M))``, so weighted histograms reproduce the GSMF exactly
    in expectation. Unweighted, the population is roughly flat in log M, which suits
    training.
Passive fraction
    ``f_q = 1 - (1 - f_env) exp(-(M/M_q)^beta)``, the mass-quenching form of Peng et al.
    (2010, ApJ 721, 193; beta = 0.8) with a mass-independent environment-quenched floor
    f_env = 0.10 and M_q = 10^10.7 Msun (Peng et al. fit 10^10.56 to their own masses)
    chosen to follow the red fractions of Baldry et al. (2006, MNRAS 373, 469):
    0.19 at 10^9.5, 0.32 at 1e10, 0.55 at 10^10.5, 0.84 at 1e11, 0.99 at 10^11.5.
Star-formation rates
    Star-forming: the z ~ 0 SDSS main-sequence ridge line of Renzini & Peng (2015,
    ApJL 801, L29), log SFR = 0.76 log M - 7.64, with 0.3 dex Gaussian scatter (Speagle
    et al. 2014, ApJS 214, 15, whose z = 0 extrapolation is flatter, gave too many
    luminous dwarfs and too few UV-bright massive discs against the GAMA luminosity
    functions). Passive: log sSFR ~ N(-12.0, 0.5) per yr, where GALEX-SDSS quiescent
    galaxies lie (Salim et al. 2007, ApJS 173, 267).
Star-formation histories
    Delayed-tau, SFR(t) ~ t exp(-t/tau) (e.g. Carnall et al. 2019, MNRAS 490, 417). Star
    formation starts at a cosmic time drawn uniformly in [0.3, 7] Gyr for star-forming and
    [0.5, 6] Gyr for passive galaxies, giving passive mass-weighted ages of ~8 Gyr
    (range 5-12; cf. the light-weighted ages of Gallazzi et al. 2005 and Thomas et al.
    2005, ApJ 621, 673). tau is then solved so that the 100-Myr sSFR equals the drawn
    sSFR (to < 0.02 dex). Star-forming galaxies whose sSFR exceeds what a delayed tau of
    that age can reach (about 2/age for tau -> infinity) get a younger age instead.
Metallicity
    Gallazzi et al. (2005, MNRAS 362, 41; table 2) stellar mass-metallicity relation:
    median and 16th/84th percentiles of log Z/Zsun (Zsun = 0.02, as in BC03), drawn as a
    split normal, extended below 10^8.87 Msun with the dwarf-galaxy slope of Kirby et al.
    (2013, ApJ 779, 102; 0.30 dex/dex), clipped to [-2, 0.5].
Dust attenuation
    Calzetti et al. (2000) curve applied to all starlight (no extra birth-cloud
    attenuation, eta = 1: the Calzetti curve already describes the integrated stellar
    continuum, and an extra factor 1/0.44 on < 10 Myr stars made the UV far too faint).
    Star-forming: the mass dependence of the Halpha attenuation of Garn & Best (2010,
    MNRAS 409, 421), A_Ha = 0.91 + 0.77 X + 0.11 X^2 - 0.09 X^3 with X = log(M/1e10)
    clamped to [-1.5, 1.3], scatter 0.28 mag, converted to the stellar continuum V band by
    A_V = 0.44 A_Ha / 0.82 (Calzetti et al. 2000). Emission lines therefore get the
    continuum's attenuation, about half the nebular one; they contribute a few per cent
    of broad-band fluxes. Passive: A_V exponential with mean 0.1 mag. All clipped to
    [0, 3] mag.
Nebular emission
    log U ~ N(-3.0, 0.3) clipped to [-4, -2], spanning local star-forming galaxies
    (Kewley & Dopita 2002, ApJS 142, 35); gas metallicity equals stellar.
Dust emission
    Draine & Li (2007) parameters spread over their usual ranges: q_PAH ~ U(0.5, 4.5) %,
    U_min log-uniform in [0.5, 20], gamma ~ U(0, 0.1) (da Cunha et al. 2008, MNRAS 388,
    1595 use similar ranges); they only matter for W3 and W4.

Validation against GAMA (`astropy_smass.training.lumfunc`; 200 000 galaxies, seed
20251125): within +-2 mag of the Schechter M* of the Driver et al. (2012) luminosity
functions the weighted population agrees to a median log10(population/GAMA) of -0.01 in
K, -0.01 to -0.04 in Y, J and H, -0.09 to -0.13 in g, r, i and z, -0.17 in u, +0.07 in
NUV and +0.26 in FUV. The optical bright end is the weakest point: at M_r = -22 to -23
(h = 0.7) the population has 0.2-0.3 dex fewer galaxies than GAMA, i.e. its massive
passive galaxies are ~0.15-0.2 mag fainter in r at fixed mass than GAMA's mass-to-light
ratios imply while matching in K (BC03 red-sequence colours; mass definitions). GAMA's
errors are a few per cent, so most bins differ by more than 2 sigma. Fainter than
~M* + 3 the population exceeds GAMA by up to 0.3-0.8 dex because the GAMA DR4 mass
function (low-mass slope -1.53) is steeper than the 2012 luminosity functions.

Determinism: every random number is drawn up front from
``numpy.random.default_rng(seed)`` in the calling process; worker processes only compute
spectra for fixed chunks, which are reassembled in order, so the result does not depend
on ``n_workers``.
"""

import json
import os
import tempfile
import warnings
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Table
from scipy.integrate import cumulative_trapezoid
from scipy.interpolate import RegularGridInterpolator

from ..exceptions import InputError, MissingDependencyError, MissingFileError, UnknownNameError
from ..model.bundle import arrays_checksum
from ..photometry.bands import ALL_BANDS, BANDS, SURVEY_FILTERS

__all__ = ["GENERATOR_VERSION", "BAND_FILTERS", "FILTER_CURVES", "OBSERVED_PREFIX",
           "DEFAULT_PRIORS", "KROUPA_TO_CHABRIER_DEX", "gama_data_dir", "age_of_universe",
           "add_filters",
           "SFR_KROUPA_TO_CHABRIER_DEX", "gsmf", "read_gsmf", "passive_fraction",
           "main_sequence_logsfr", "draw_parameters", "remnant_mass_fraction",
           "generate_population", "load_or_generate_population", "population_arrays",
           "population_checksum"]

#: Version of the population model; bump it whenever priors or physics change so that
#: cached populations are regenerated.
GENERATOR_VERSION = "2.0.0"

#: Canonical band key -> astro-sedpy filter name, for every band of the package registry.
BAND_FILTERS = {
    "FUV": "galex_FUV", "NUV": "galex_NUV",
    "u": "sdss_u0", "g": "sdss_g0", "r": "sdss_r0", "i": "sdss_i0", "z": "sdss_z0",
    "Z": "vista_vircam_Z", "Y": "vista_vircam_Y", "J": "vista_vircam_J",
    "H": "vista_vircam_H", "K": "vista_vircam_Ks",
    "J_2MASS": "twomass_J", "H_2MASS": "twomass_H", "Ks_2MASS": "twomass_Ks",
    "W1": "wise_w1", "W2": "wise_w2", "W3": "wise_w3", "W4": "wise_w4",
}

#: Every filter whose photometry the population stores: column key -> filter curve
#: (an astro-sedpy name, or ``speclite:NAME`` for a curve shipped by speclite). The keys
#: of `BAND_FILTERS` come first, then every other filter of
#: `~astropy_smass.photometry.bands.SURVEY_FILTERS`, keyed by its name there.
FILTER_CURVES = dict(BAND_FILTERS)
FILTER_CURVES.update({
    name: (f"speclite:{ALL_BANDS[name].filter_id}"
           if name in ALL_BANDS and ALL_BANDS[name].curve_source == "speclite" else name)
    for name in SURVEY_FILTERS if name not in BAND_FILTERS.values()})

#: Prefix of the observed-frame columns: ``obs_<key>`` is the apparent AB magnitude
#: minus the distance modulus, ``m - 5 log10(d_L / 10 pc)``, which does not depend on
#: the cosmology.
OBSERVED_PREFIX = "obs_"

#: log10(M_Chabrier / M_Kroupa) for the same light (Madau & Dickinson 2014: 0.61 / 0.66).
KROUPA_TO_CHABRIER_DEX = float(np.log10(0.61 / 0.66))
#: log10(SFR_Chabrier / SFR_Kroupa) for the same light (Madau & Dickinson 2014: 0.63 / 0.67).
SFR_KROUPA_TO_CHABRIER_DEX = float(np.log10(0.63 / 0.67))

# Gallazzi et al. (2005) table 2: log M* [Msun], then the 50th, 16th and 84th
# percentiles of log Z/Zsun.
_GALLAZZI05 = [
    [8.87, -0.60, -1.11, -0.00], [9.07, -0.61, -1.07, -0.00], [9.27, -0.65, -1.10, -0.05],
    [9.47, -0.61, -1.03, -0.01], [9.68, -0.52, -0.97, 0.05], [9.87, -0.41, -0.90, 0.09],
    [10.07, -0.23, -0.80, 0.14], [10.27, -0.11, -0.65, 0.17], [10.47, -0.01, -0.41, 0.20],
    [10.68, 0.04, -0.24, 0.22], [10.87, 0.07, -0.14, 0.24], [11.07, 0.10, -0.09, 0.25],
    [11.27, 0.12, -0.06, 0.26], [11.47, 0.13, -0.04, 0.28], [11.68, 0.14, -0.03, 0.29],
    [11.87, 0.15, -0.03, 0.30],
]

#: The priors of the population model (see the module docstring for the sources).
#: JSON-serialisable; copied into every population's ``meta["priors"]``.
DEFAULT_PRIORS = {
    "redshift": {
        "source": "proposal density, not a survey's n(z): a mixture of local_fraction "
                  "uniform in [0, local_z_max] and the rest uniform in [0, z_max]",
        "z_max": 1.25, "local_fraction": 0.15, "local_z_max": 0.1,
    },
    "gsmf": {
        "source": "GAMA DR4, Driver et al. 2022 (MNRAS 513, 439); double Schechter fit to "
                  "GAMAIV_Driver22.dat, log M > 7",
        "imf": "Chabrier", "h": 0.7,
        "log_mstar_break": 10.772, "log_phi1": -2.460, "alpha1": -0.504,
        "log_phi2": -3.218, "alpha2": -1.533,
    },
    "mass_sampling": {
        "log_mstar_min": 7.0, "log_mstar_max": 12.0, "gsmf_fraction": 0.1,
        "note": "mixture proposal: gsmf_fraction x GSMF + rest uniform in log M; the "
                "weight column restores the GSMF",
    },
    "passive_fraction": {
        "source": "Peng et al. 2010 (ApJ 721, 193) mass quenching with an environment "
                  "floor; cf. Baldry et al. 2006 (MNRAS 373, 469)",
        "f_env": 0.10, "log_mq": 10.7, "beta": 0.8,
        "log_mq_per_z": 0.4,
        "evolution_source": "M_q rising with z so that the quiescent fractions at z ~ 1 "
                            "(0.35 at 10^10.5, 0.6 at 1e11 Msun) follow Muzzin et al. "
                            "2013 (ApJ 777, 18)",
    },
    "main_sequence": {
        "source": "Renzini & Peng 2015 (ApJL 801, L29), SDSS z ~ 0 ridge line",
        "slope": 0.76, "intercept": -7.64, "scatter_dex": 0.3,
        "evolution_source": "Speagle et al. 2014 (ApJS 214, 15) eq. 28: the z ~ 0 ridge "
                            "line plus Speagle's change of log SFR between cosmic time "
                            "t(z) and today, at the same mass",
        "speagle_coeffs": [0.84, -0.026, 6.51, -0.11],
    },
    "quiescent_ssfr": {
        "source": "Salim et al. 2007 (ApJS 173, 267)", "mean": -12.0, "sigma": 0.5,
        "ms_evolution_fraction": 0.5,
        "evolution_note": "the mean rises with half the main sequence's evolution "
                          "(quiescent sSFRs of ~1e-11 /yr at z ~ 1; Fumagalli et al. "
                          "2014, ApJ 796, 35)",
    },
    "sfh": {
        "type": "delayed", "t_start_sf_gyr": [0.3, 7.0], "t_start_passive_gyr": [0.5, 6.0],
        "tau_min_gyr": 0.01, "tau_max_gyr": 100.0, "min_age_gyr": 0.2,
        "min_passive_age_gyr": 1.0,
        "source": "delayed-tau; formation times after Thomas et al. 2005 (ApJ 621, 673)",
    },
    "metallicity": {
        "source": "Gallazzi et al. 2005 (MNRAS 362, 41) table 2; Kirby et al. 2013 "
                  "(ApJ 779, 102) slope below 10^8.87 Msun",
        "table": _GALLAZZI05, "low_mass_slope": 0.30, "log_zsol_min": -2.0,
        "log_zsol_max": 0.5, "zsun": 0.02, "dlogz_per_z": -0.15,
        "evolution_source": "stellar metallicities ~0.1 dex lower at z ~ 0.7 (Gallazzi "
                            "et al. 2014, ApJ 788, 72)",
    },
    "dust": {
        "source": "Calzetti et al. 2000 (ApJ 533, 682); Garn & Best 2010 (MNRAS 409, 421)",
        "type": "Calzetti", "eta": 1.0, "t_bc_gyr": 0.01,
        "garn_best_coeffs": [0.91, 0.77, 0.11, -0.09], "garn_best_x_range": [-1.5, 1.3],
        "garn_best_scatter_mag": 0.28, "av_per_aha": 0.44 / 0.82,
        "passive_av_mean": 0.1, "av_max": 3.0,
        "evolution_source": "no evolution: the Halpha attenuation-mass relation holds to "
                            "z = 1.47 (Sobral et al. 2012, MNRAS 420, 1926)",
    },
    "nebular": {
        "source": "Kewley & Dopita 2002 (ApJS 142, 35)",
        "logu_mean": -3.0, "logu_sigma": 0.3, "logu_min": -4.0, "logu_max": -2.0,
    },
    "dust_emission": {
        "source": "Draine & Li 2007 (ApJ 657, 810); da Cunha et al. 2008 (MNRAS 388, 1595)",
        "qpah_range": [0.5, 4.5], "umin_range": [0.5, 20.0], "gamma_range": [0.0, 0.1],
    },
}

_DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "gama_z0"
_TEN_PC_CM = 10 * u.pc.to(u.cm)
# Bagpipes normalises each model to this formed mass; magnitudes are rescaled afterwards.
_MASSFORMED_REF = 10.0
_CHUNK_SIZE = 250
_PARAM_COLUMNS = ["age", "tau", "logzsol", "av", "logu", "qpah", "umin", "gamma", "redshift"]


def gama_data_dir(data_dir=None):
    """Directory holding the GAMA tables.

    ``data_dir`` if given, else the environment variable ``ASTROPY_SMASS_GAMA_DIR``, else
    the copy shipped in ``astropy_smass/data/gama_z0``.
    """
    if data_dir is None:
        data_dir = os.environ.get("ASTROPY_SMASS_GAMA_DIR") or _DATA_DIR
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise MissingFileError(f"GAMA data directory {data_dir} does not exist")
    return data_dir


def read_gsmf(data_dir=None):
    """Read the GAMA DR4 galaxy stellar mass function (Driver et al. 2022).

    Parameters
    ----------
    data_dir : str or path-like, optional
        Directory with ``GAMAIV_Driver22.dat``; see `gama_data_dir` for the default.

    Returns
    -------
    `~astropy.table.Table`
        Columns ``logmstar`` (bin centre, log10 Msun, h = 0.7, Chabrier IMF),
        ``log_phi`` and ``log_phi_err`` (log10 of Mpc^-3 dex^-1 and its error).
    """
    path = gama_data_dir(data_dir) / "GAMAIV_Driver22.dat"
    data = np.loadtxt(path, comments="#")
    table = Table(data, names=["logmstar", "log_phi", "log_phi_err"])
    table.meta.update(source="Driver et al. 2022, MNRAS 513, 439", h=0.7, imf="Chabrier",
                      units="log10 Msun; log10 Mpc^-3 dex^-1")
    return table[np.argsort(table["logmstar"])]


def gsmf(logmstar, priors=None):
    """The double-Schechter GAMA stellar mass function of the priors.

    Parameters
    ----------
    logmstar : array-like
        log10 stellar mass [Msun], Chabrier IMF, h = 0.7.
    priors : dict, optional
        Population priors; default `DEFAULT_PRIORS`.

    Returns
    -------
    numpy.ndarray
        Number density per dex [Mpc^-3 dex^-1].
    """
    p = (priors or DEFAULT_PRIORS)["gsmf"]
    x = 10.0 ** (np.asarray(logmstar, dtype=float) - p["log_mstar_break"])
    return (np.log(10) * np.exp(-x) * x
            * (10 ** p["log_phi1"] * x ** p["alpha1"] + 10 ** p["log_phi2"] * x ** p["alpha2"]))


def passive_fraction(logmstar, priors=None, redshift=0.0):
    """Fraction of passive galaxies at stellar mass ``logmstar`` (log10 Msun, Chabrier).

    The quenching mass rises by ``log_mq_per_z`` dex per unit redshift.
    """
    p = (priors or DEFAULT_PRIORS)["passive_fraction"]
    log_mq = p["log_mq"] + p.get("log_mq_per_z", 0.0) * np.asarray(redshift, dtype=float)
    mass_term = 10.0 ** (p["beta"] * (np.asarray(logmstar, dtype=float) - log_mq))
    return 1.0 - (1.0 - p["f_env"]) * np.exp(-mass_term)


def main_sequence_logsfr(logmstar, priors=None, redshift=0.0):
    """Median log10 SFR [Msun/yr] of star-forming galaxies at log10 mass ``logmstar``.

    The z ~ 0 ridge line of Renzini & Peng (2015), log SFR = 0.76 log M - 7.64, plus
    `main_sequence_evolution` at ``redshift``.
    """
    p = (priors or DEFAULT_PRIORS)["main_sequence"]
    logmstar = np.asarray(logmstar, dtype=float)
    return (p["slope"] * logmstar + p["intercept"]
            + main_sequence_evolution(logmstar, redshift, priors))


def main_sequence_evolution(logmstar, redshift, priors=None):
    """Rise of the main sequence's log SFR [dex] from z = 0 to ``redshift``.

    Speagle et al. (2014) eq. 28, log SFR = (a + b t) log M - (c + d t) with t the
    cosmic time in Gyr, evaluated at t(z) minus its value today at the same mass.
    """
    p = (priors or DEFAULT_PRIORS)["main_sequence"]
    if "speagle_coeffs" not in p:
        return np.zeros(np.broadcast(logmstar, redshift).shape)
    a, b, c, d = p["speagle_coeffs"]
    dt = age_of_universe(redshift) - age_of_universe(0.0)
    return b * dt * np.asarray(logmstar, dtype=float) - d * dt


def _sample_log_mass(rng, n, priors):
    p = priors["mass_sampling"]
    lo, hi = p["log_mstar_min"], p["log_mstar_max"]
    grid = np.linspace(lo, hi, 20001)
    pdf_gsmf = gsmf(grid, priors)
    cdf = cumulative_trapezoid(pdf_gsmf, grid, initial=0.0)
    n_total = cdf[-1]
    from_gsmf = rng.random(n) < p["gsmf_fraction"]
    u_draw = rng.random(n)
    logm = np.where(from_gsmf, np.interp(u_draw * n_total, cdf, grid), lo + u_draw * (hi - lo))
    proposal = (p["gsmf_fraction"] * gsmf(logm, priors) / n_total
                + (1.0 - p["gsmf_fraction"]) / (hi - lo))
    # importance weight: number density [Mpc^-3] represented by each galaxy
    return logm, gsmf(logm, priors) / (n * proposal)


def _split_normal(rng, median, lo, hi, n):
    z = rng.standard_normal(n)
    return median + np.where(z < 0, median - lo, hi - median) * z


def _draw_redshift(rng, n, priors):
    p = priors["redshift"]
    local = rng.random(n) < p["local_fraction"]
    return rng.random(n) * np.where(local, p["local_z_max"], p["z_max"])


def _draw_metallicity(rng, logmstar, priors, redshift=0.0):
    p = priors["metallicity"]
    table = np.asarray(p["table"])
    m0 = table[0, 0]
    shift = np.where(logmstar < m0, p["low_mass_slope"] * (logmstar - m0), 0.0)
    shift = shift + p.get("dlogz_per_z", 0.0) * redshift
    median, p16, p84 = (np.interp(logmstar, table[:, 0], table[:, k]) + shift
                        for k in (1, 2, 3))
    logz = _split_normal(rng, median, p16, p84, logmstar.size)
    return np.clip(logz, p["log_zsol_min"], p["log_zsol_max"])


def _draw_dust(rng, logmstar_kroupa, passive, priors):
    p = priors["dust"]
    x = np.clip(logmstar_kroupa - 10.0, *p["garn_best_x_range"])
    c = p["garn_best_coeffs"]
    a_halpha = c[0] + c[1] * x + c[2] * x ** 2 + c[3] * x ** 3
    a_halpha = a_halpha + p["garn_best_scatter_mag"] * rng.standard_normal(x.size)
    av_sf = p["av_per_aha"] * a_halpha
    av_passive = rng.exponential(p["passive_av_mean"], x.size)
    return np.clip(np.where(passive, av_passive, av_sf), 0.0, p["av_max"])


def draw_parameters(n, seed=0, priors=None):
    """Draw the physical parameters of ``n`` galaxies (no photometry).

    Parameters
    ----------
    n : int
        Number of galaxies.
    seed : int or `numpy.random.Generator`, optional
        Seed for `numpy.random.default_rng`.
    priors : dict, optional
        Population priors; default `DEFAULT_PRIORS`.

    Returns
    -------
    `~astropy.table.Table`
        One row per galaxy: ``redshift``, ``logmstar`` (target current stellar mass,
        log10 Msun, Chabrier), ``weight`` [Mpc^-3], ``passive``, ``logssfr_target`` [log10 yr^-1],
        ``age`` and ``tau`` [Gyr] of the delayed-tau SFH, ``logzsol``, ``av`` [mag],
        ``logu``, ``qpah`` [%], ``umin``, ``gamma``.

    Notes
    -----
    Needs Bagpipes for the BC03 living-mass fractions used to turn sSFRs into SFHs.
    """
    n = _check_n(n)
    priors = priors or DEFAULT_PRIORS
    rng = np.random.default_rng(seed)
    # Each prior draws from the generator in a fixed order, so that changing one prior
    # does not reshuffle the others.
    redshift = _draw_redshift(rng, n, priors)
    logm, weight = _sample_log_mass(rng, n, priors)
    logm_kroupa = logm - KROUPA_TO_CHABRIER_DEX
    passive = rng.random(n) < passive_fraction(logm, priors, redshift)

    ms_evolution = main_sequence_evolution(logm, redshift, priors)
    ms = main_sequence_logsfr(logm, priors, redshift) - logm
    ssfr_sf = ms + priors["main_sequence"]["scatter_dex"] * rng.standard_normal(n)
    q = priors["quiescent_ssfr"]
    ssfr_q = (q["mean"] + q.get("ms_evolution_fraction", 0.0) * ms_evolution
              + q["sigma"] * rng.standard_normal(n))
    logssfr = np.where(passive, ssfr_q, ssfr_sf)

    s = priors["sfh"]
    # Bagpipes refuses stars older than the universe; the margin keeps the oldest inside.
    t_univ = age_of_universe(redshift) - 0.01
    u_start = rng.random(n)
    lo = np.where(passive, s["t_start_passive_gyr"][0], s["t_start_sf_gyr"][0])
    hi = np.where(passive, s["t_start_passive_gyr"][1], s["t_start_sf_gyr"][1])
    youngest = np.where(passive, s.get("min_passive_age_gyr", s["min_age_gyr"]),
                        s["min_age_gyr"])
    hi = np.minimum(hi, t_univ - youngest)
    lo = np.minimum(lo, hi)
    age = t_univ - (lo + u_start * (hi - lo))
    age, tau = _solve_delayed_tau(age, logssfr, priors, t_univ)

    logzsol = _draw_metallicity(rng, logm, priors, redshift)
    av = _draw_dust(rng, logm_kroupa, passive, priors)
    neb = priors["nebular"]
    logu = np.clip(neb["logu_mean"] + neb["logu_sigma"] * rng.standard_normal(n),
                   neb["logu_min"], neb["logu_max"])
    de = priors["dust_emission"]
    qpah = rng.uniform(*de["qpah_range"], n)
    umin = 10 ** rng.uniform(*np.log10(de["umin_range"]), n)
    gamma = rng.uniform(*de["gamma_range"], n)

    table = Table()
    table["redshift"] = redshift
    table["logmstar"] = logm
    table["weight"] = weight * u.Mpc ** -3
    table["passive"] = passive
    table["logssfr_target"] = logssfr
    table["age"] = age * u.Gyr
    table["tau"] = tau * u.Gyr
    table["logzsol"] = logzsol
    table["av"] = av * u.mag
    table["logu"] = logu
    table["qpah"] = qpah
    table["umin"] = umin
    table["gamma"] = gamma
    return table


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _check_n(n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be a positive integer, got {n!r}")
    return int(n)


@lru_cache(maxsize=1)
def _bagpipes_cosmology():
    from astropy.cosmology import FlatLambdaCDM
    return FlatLambdaCDM(H0=70, Om0=0.3)


def age_of_universe(redshift):
    """Cosmic time [Gyr] at ``redshift`` in Bagpipes' cosmology (flat, H0 = 70, Om = 0.3)."""
    return np.asarray(_bagpipes_cosmology().age(redshift).to_value(u.Gyr), dtype=float)


def _age_of_universe_gyr():
    return float(age_of_universe(0.0)) - 0.01


@lru_cache(maxsize=1)
def _kroupa_tables():
    """Kroupa (2001) cumulative living-mass and remnant-mass fractions versus star mass."""
    m = np.logspace(-1.0, 2.0, 6001)
    xi = np.where(m < 0.5, (m / 0.5) ** -1.3, (m / 0.5) ** -2.3)
    mass_below = cumulative_trapezoid(m * xi, m, initial=0.0)
    total = mass_below[-1]
    m_remnant = np.select([m < 8.5, m < 40.0], [0.077 * m + 0.48, 1.4], 0.5 * m)
    remnant_below = cumulative_trapezoid(m_remnant * xi, m, initial=0.0)
    return m, mass_below / total, (remnant_below[-1] - remnant_below) / total


def remnant_mass_fraction(live_fraction):
    """Remnant mass per unit formed mass of an SSP, given its living-mass fraction.

    The turn-off mass is the Kroupa (2001) IMF mass below which the living-mass fraction
    equals ``live_fraction``; every star above it has left a Renzini & Ciotti (1993)
    remnant (WD 0.077 m + 0.48, NS 1.4 Msun above 8.5 Msun, BH 0.5 m above 40 Msun).

    Parameters
    ----------
    live_fraction : array-like
        Fraction of the formed mass still in living stars (Bagpipes/BC03
        ``LIV_MSTAR_FRAC``), between 0 and 1.

    Returns
    -------
    numpy.ndarray
        Remnant mass fraction of the formed mass.
    """
    m, living, remnant_above = _kroupa_tables()
    m_turnoff = np.interp(np.asarray(live_fraction, dtype=float), living, m)
    return np.interp(m_turnoff, m, remnant_above)


@lru_cache(maxsize=1)
def _ssfr_lookup():
    """Tables to invert sSFR(age, tau) of a delayed-tau SFH at solar metallicity.

    The sSFR is Bagpipes' 100-Myr SFR over the current (living + remnant) mass.
    """
    from bagpipes import config
    solar = int(np.argmin(np.abs(config.metallicities - 1.0)))
    ssp_age = np.asarray(config.raw_stellar_ages, dtype=float)
    live = np.asarray(config.live_frac[:, solar], dtype=float)
    current = live + remnant_mass_fraction(live)

    t_univ = _age_of_universe_gyr() * 1e9
    edges = np.concatenate([[0.0], np.geomspace(1e5, t_univ, 2000)])
    lookback = 0.5 * (edges[1:] + edges[:-1])
    width = np.diff(edges)
    current_frac = np.interp(lookback, ssp_age, current)
    recent = lookback < 1e8

    log_age = np.linspace(np.log10(0.05e9), np.log10(t_univ), 90)
    log_tau = np.linspace(np.log10(0.005e9), np.log10(200e9), 240)
    tau = 10 ** log_tau[:, None]
    ssfr = np.empty((log_age.size, log_tau.size))
    for i, age in enumerate(10 ** log_age):
        t = np.clip(age - lookback, 0.0, None)
        # log SFR, normalised per row so that small tau does not underflow to 0/0
        with np.errstate(divide="ignore"):
            log_sfr = np.log(t)[None, :] - t[None, :] / tau
        log_sfr -= log_sfr.max(axis=1, keepdims=True)
        sfr = np.exp(log_sfr)
        mass = (sfr * width * current_frac).sum(axis=1)
        sfr100 = (sfr[:, recent] * width[recent]).sum(axis=1) / 1e8
        with np.errstate(divide="ignore"):
            ssfr[i] = np.log10(sfr100 / mass)
    ssfr = np.maximum(ssfr, -20.0)
    # sSFR rises monotonically with tau at fixed age; enforce it against round-off.
    ssfr = np.maximum.accumulate(ssfr, axis=1)

    s_grid = np.linspace(-20.0, -7.0, 1301)
    logtau_of_s = np.array([np.interp(s_grid, row, log_tau) for row in ssfr])
    return log_age, s_grid, logtau_of_s, ssfr[:, -1]


def _solve_delayed_tau(age_gyr, logssfr, priors, max_age_gyr=None):
    """Delayed-tau (age, tau) [Gyr] whose 100-Myr sSFR is ``logssfr`` [log10 yr^-1]."""
    s = priors["sfh"]
    log_age, s_grid, logtau_of_s, s_max = _ssfr_lookup()
    max_log_age = log_age[-1] if max_age_gyr is None else np.log10(max_age_gyr * 1e9)
    log_age_gal = np.log10(np.clip(age_gyr, s["min_age_gyr"], None) * 1e9)
    # Too high an sSFR for this age even with tau -> infinity: make the galaxy younger.
    reachable = np.interp(log_age_gal, log_age, s_max)
    too_high = logssfr > reachable
    younger = np.interp(logssfr, s_max[::-1], log_age[::-1])
    log_age_gal = np.where(too_high, np.minimum(younger, log_age_gal), log_age_gal)
    log_age_gal = np.clip(log_age_gal, np.log10(s["min_age_gyr"] * 1e9),
                          np.minimum(max_log_age, log_age[-1]))
    interp = RegularGridInterpolator((log_age, s_grid), logtau_of_s)
    points = np.column_stack([log_age_gal, np.clip(logssfr, s_grid[0], s_grid[-1])])
    tau = 10 ** interp(points) / 1e9
    return 10 ** log_age_gal / 1e9, np.clip(tau, s["tau_min_gyr"], s["tau_max_gyr"])


def _components(row, priors):
    """Bagpipes model_components for one galaxy."""
    d = priors["dust"]
    return {
        "redshift": 0.0,
        "t_bc": d["t_bc_gyr"],
        "delayed": {"age": float(row["age"]), "tau": float(row["tau"]),
                    "massformed": _MASSFORMED_REF,
                    "metallicity": float(10 ** row["logzsol"])},
        "dust": {"type": d["type"], "Av": float(row["av"]), "eta": d["eta"],
                 "qpah": float(row["qpah"]), "umin": float(row["umin"]),
                 "gamma": float(row["gamma"])},
        "nebular": {"logU": float(row["logu"])},
    }


def load_filter_curve(curve):
    """Wavelength [Angstrom] and transmission of a filter of `FILTER_CURVES`.

    ``curve`` is an astro-sedpy filter name or ``"speclite:NAME"``.
    """
    if curve.startswith("speclite:"):
        from speclite import filters
        response = filters.load_filter(curve.split(":", 1)[1])
        return (np.asarray(response.wavelength, dtype=float),
                np.asarray(response.response, dtype=float))
    from sedpy import observate
    (sedpy_filter,) = observate.load_filters([curve])
    return sedpy_filter.wavelength.astype(float), sedpy_filter.transmission.astype(float)


class _Photometer:
    """AB magnitudes of rest-frame spectra through filter curves, at any redshift.

    For a photon-counting detector, a spectrum of luminosity density L_lambda seen at
    redshift z through a filter T has

        m - 5 log10(d_L / 10 pc) = -2.5 log10[(1 + z) / (4 pi (10 pc)^2)
                                   * int L(l) T((1 + z) l) l dl / int f_AB(l) T(l) l dl]

    with l the rest-frame wavelength: the distance modulus cancels the luminosity
    distance exactly, so the stored magnitudes need no cosmology. At z = 0 this is the
    rest-frame absolute magnitude. Integrals are trapezoidal on the model's wavelength
    grid (R = 100 across the filters), which conserves emission-line fluxes.
    """

    def __init__(self, wavelengths, curves):
        self.wavelengths = np.asarray(wavelengths, dtype=float)
        edges = np.gradient(self.wavelengths)
        self.weights = self.wavelengths * edges / (4 * np.pi * _TEN_PC_CM ** 2)
        self.curves = []
        for wave, trans in curves:
            keep = trans > 0
            lo, hi = np.flatnonzero(keep)[[0, -1]]
            wave, trans = wave[max(lo - 1, 0):hi + 2], trans[max(lo - 1, 0):hi + 2]
            f_ab = 3631e-23 * 2.99792458e18 / wave ** 2  # erg s^-1 cm^-2 A^-1
            zero_point = np.trapezoid(f_ab * trans * wave, wave)
            self.curves.append((wave, trans, zero_point))

    def magnitudes(self, luminosity, redshift):
        """AB magnitudes minus the distance modulus, shape (n_spectra, n_filters).

        ``luminosity`` [erg s^-1 A^-1], shape (n_spectra, n_wavelengths), on the rest-frame
        grid; ``redshift`` one value per spectrum.
        """
        redshift = np.broadcast_to(np.asarray(redshift, dtype=float), luminosity.shape[:1])
        stretch = 1.0 + redshift
        out = np.empty((luminosity.shape[0], len(self.curves)))
        for k, (wave, trans, zero_point) in enumerate(self.curves):
            window = slice(np.searchsorted(self.wavelengths, wave[0] / stretch.max()),
                           np.searchsorted(self.wavelengths, wave[-1] / stretch.min()) + 1)
            shifted = stretch[:, None] * self.wavelengths[None, window]
            response = np.interp(shifted, wave, trans, left=0.0, right=0.0)
            flux = np.einsum("ij,ij,j->i", luminosity[:, window], response,
                             self.weights[window]) * stretch
            with np.errstate(divide="ignore", invalid="ignore"):
                out[:, k] = -2.5 * np.log10(flux / zero_point)
        return out


class _Worker:
    """One Bagpipes model and the filters, reused for every galaxy of a process."""

    def __init__(self, components, curves=None):
        import bagpipes
        from bagpipes.models.igm_model import igm

        curves = curves or list(FILTER_CURVES.values())
        filter_curves = [load_filter_curve(c) for c in curves]
        # Bagpipes samples the spectrum at R = 100 only across its filters' range, so
        # give it our curves (as files, the only form it reads), else it uses R = 20.
        # Always every curve of FILTER_CURVES too: the wavelength grid, and so the
        # magnitudes, are then the same whichever filters a run computes.
        sampling = filter_curves + [load_filter_curve(c) for c in FILTER_CURVES.values()
                                    if c not in curves]
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for k, (wave, trans) in enumerate(sampling):
                path = os.path.join(tmp, f"filter{k}.dat")
                np.savetxt(path, np.column_stack([wave, trans]))
                paths.append(path)
            self.model = bagpipes.model_galaxy(components, filt_list=paths)
        # We integrate ourselves; skipping Bagpipes' own photometry and its rest-frame
        # UVJ magnitudes saves ~40% of the time per galaxy.
        self.model.filt_list = None
        self.model._calculate_uvj_mags = lambda: None
        self.remnant_grid = remnant_mass_fraction(self.model.sfh.live_frac_grid)
        self.photometer = _Photometer(self.model.wavelengths, filter_curves)
        # Inoue et al. (2014) intergalactic absorption, as Bagpipes applies it at z > 0.
        self.igm = igm(self.model.wavelengths)

    def run(self, rows, priors):
        n = len(rows["age"])
        spectra = np.empty((n, self.model.wavelengths.size))
        out = {k: np.empty(n) for k in ("living", "remnant", "formed", "sfr", "mwage")}
        for i in range(n):
            row = {k: rows[k][i] for k in _PARAM_COLUMNS}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                self.model.update(_components(row, priors))
            sfh = self.model.sfh
            spectra[i] = self.model.spectrum_full
            out["living"][i] = 10 ** sfh.stellar_mass
            out["remnant"][i] = np.sum(self.remnant_grid * sfh.ceh.grid)
            out["formed"][i] = 10 ** sfh.formed_mass
            out["sfr"][i] = sfh.sfr
            out["mwage"][i] = sfh.mass_weighted_age  # Bagpipes already gives Gyr
        out["mags"] = self.photometer.magnitudes(spectra, 0.0)
        redshift = np.asarray(rows["redshift"], dtype=float)
        absorbed = spectra * np.array([self.igm.trans(z) for z in redshift])
        out["obs_mags"] = self.photometer.magnitudes(absorbed, redshift)
        return out


_WORKER = None


def _init_worker(components, curves=None):
    global _WORKER
    _WORKER = _Worker(components, curves)


def _run_chunk(rows, priors):
    return _WORKER.run(rows, priors)


def _package_version(name):
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def generate_population(n, seed=0, n_workers=2, progress=False, priors=None):
    """Generate a simulated z ~ 0 galaxy population with absolute magnitudes.

    Parameters
    ----------
    n : int
        Number of galaxies.
    seed : int, optional
        Seed for `numpy.random.default_rng`; the result depends only on ``seed``,
        ``n`` and ``priors``, not on ``n_workers``.
    n_workers : int, optional
        Worker processes computing spectra (1 = in this process).
    progress : bool, optional
        Show a progress bar.
    priors : dict, optional
        Population priors; default `DEFAULT_PRIORS` (see the module docstring).

    Returns
    -------
    `~astropy.table.Table`
        One row per galaxy with

        * one column per key of `BAND_FILTERS`: rest-frame absolute AB magnitude at
          10 pc and z = 0 [mag];
        * ``logmstar``: log10 current stellar mass (living stars + remnants) [Msun],
          Chabrier-IMF equivalent; ``logmstar_kroupa`` the same in Bagpipes' native
          Kroupa IMF; ``logmstar_living_kroupa`` living stars only (Bagpipes'
          ``stellar_mass``); ``logmformed_kroupa`` mass ever formed;
        * ``logsfr`` (log10 Msun/yr, 100-Myr average, Chabrier-equivalent) and
          ``logssfr`` (log10 yr^-1);
        * the drawn parameters of `draw_parameters` (``weight`` [Mpc^-3], ``passive``,
          ``logssfr_target``, ``age`` and ``tau`` [Gyr], ``logzsol``, ``av`` [mag],
          ``logu``, ``qpah``, ``umin``, ``gamma``) and ``mass_weighted_age`` [Gyr].

        ``meta`` holds the generator version, seed, n, package versions, magnitude
        system, IMF, band filters and the priors.

    Raises
    ------
    ImportError
        If Bagpipes or astro-sedpy is not installed.
    """
    try:
        import bagpipes  # noqa: F401
        import sedpy  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("generate_population needs the optional dependencies bagpipes "
                                     "and astro-sedpy: pip install astropy-smass[train]") from exc
    n = _check_n(n)
    seed = _check_seed(seed)
    _check_workers(n_workers)
    priors = json.loads(json.dumps(priors or DEFAULT_PRIORS))

    params = draw_parameters(n, seed=seed, priors=priors)
    merged = _photometry(params, priors, n_workers, progress)
    return _assemble(params, merged, n, seed, priors)


def _check_workers(n_workers):
    if isinstance(n_workers, bool) or not isinstance(n_workers, (int, np.integer)) \
            or n_workers < 1:
        raise InputError(f"n_workers must be a positive integer, got {n_workers!r}")


def _photometry(params, priors, n_workers, progress, curves=None):
    """Spectra of the galaxies of ``params`` through ``curves`` (default all), in chunks."""
    columns = {k: np.asarray(params[k], dtype=float) for k in _PARAM_COLUMNS}
    n = len(columns["age"])
    chunks = [{k: v[i:i + _CHUNK_SIZE] for k, v in columns.items()}
              for i in range(0, n, _CHUNK_SIZE)]
    first = _components({k: v[0] for k, v in columns.items()}, priors)
    results = []
    bar = _progress_bar(len(chunks)) if progress else None
    if n_workers == 1:
        worker = _Worker(first, curves)
        for chunk in chunks:
            results.append(worker.run(chunk, priors))
            if bar is not None:
                bar.update()
    else:
        import multiprocessing
        # fork shares the already-loaded Bagpipes grids and does not re-import __main__.
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
        with ProcessPoolExecutor(max_workers=min(n_workers, len(chunks)),
                                 mp_context=multiprocessing.get_context(method),
                                 initializer=_init_worker, initargs=(first, curves)) as pool:
            for result in pool.map(_run_chunk, chunks, [priors] * len(chunks)):
                results.append(result)
                if bar is not None:
                    bar.update()
    if bar is not None:
        bar.__exit__(None, None, None)
    return {k: np.concatenate([r[k] for r in results]) for k in results[0]}


def add_filters(population, curves, n_workers=2, progress=False):
    """Add rest- and observed-frame magnitudes in more filters to a population.

    Every galaxy keeps its drawn parameters (star-formation history, metallicity,
    dust, redshift), so a filter added later needs only the spectra recomputed from
    them, not a new population.

    Parameters
    ----------
    population : `~astropy.table.Table`
        A population made by `generate_population` (generator version 2 or later).
    curves : dict
        ``{column_key: curve}`` with curves named as in `FILTER_CURVES` (an
        astro-sedpy filter name or ``"speclite:NAME"``).
    n_workers, progress
        As for `generate_population`.

    Returns
    -------
    `~astropy.table.Table`
        A copy of ``population`` with columns ``<key>`` and ``obs_<key>`` [mag] for
        every new filter.
    """
    _check_workers(n_workers)
    priors = population.meta["priors"]
    merged = _photometry(population, priors, n_workers, progress, list(curves.values()))
    logm_kroupa = np.asarray(population["logmstar_kroupa"], dtype=float)
    dlog = logm_kroupa - np.log10(merged["living"] + merged["remnant"])
    out = population.copy(copy_data=False)
    for j, (key, curve) in enumerate(curves.items()):
        _add_magnitude_columns(out, key, curve, merged["mags"][:, j],
                               merged["obs_mags"][:, j], dlog)
    out.meta["filter_curves"] = {**out.meta.get("filter_curves", {}), **curves}
    return out


def _add_magnitude_columns(table, key, curve, rest, observed, dlog):
    # float32: 2e-6 mag resolution, far below any noise.
    table[key] = (rest - 2.5 * dlog).astype(np.float32) * u.mag
    table[key].description = f"absolute AB magnitude, {curve}, rest frame"
    name = OBSERVED_PREFIX + key
    table[name] = (observed - 2.5 * dlog).astype(np.float32) * u.mag
    table[name].description = (f"observed-frame AB magnitude minus the distance modulus, "
                               f"{curve}, at the galaxy's redshift, with intergalactic "
                               "absorption")


def _progress_bar(total):
    from astropy.utils.console import ProgressBar
    bar = ProgressBar(total)
    bar.__enter__()
    return bar


def _assemble(params, res, n, seed, priors):
    current_kroupa = res["living"] + res["remnant"]
    # Every component of the model scales with the formed mass, so rescaling to the
    # drawn current mass is exact.
    logm_kroupa = np.asarray(params["logmstar"]) - KROUPA_TO_CHABRIER_DEX
    dlog = logm_kroupa - np.log10(current_kroupa)
    table = Table()
    for j, (key, curve) in enumerate(FILTER_CURVES.items()):
        _add_magnitude_columns(table, key, curve, res["mags"][:, j], res["obs_mags"][:, j],
                               dlog)
    table["logmstar"] = np.asarray(params["logmstar"])
    table["logmstar"].description = ("log10 current stellar mass (living stars + remnants) "
                                     "[Msun], Chabrier IMF equivalent")
    table["logmstar_kroupa"] = logm_kroupa
    table["logmstar_living_kroupa"] = np.log10(res["living"]) + dlog
    table["logmformed_kroupa"] = np.log10(res["formed"]) + dlog
    with np.errstate(divide="ignore"):
        logsfr = np.log10(res["sfr"]) + dlog + SFR_KROUPA_TO_CHABRIER_DEX
    table["logsfr"] = logsfr
    table["logsfr"].description = "log10 SFR averaged over 100 Myr [Msun/yr], Chabrier"
    table["logssfr"] = logsfr - table["logmstar"]
    table["mass_weighted_age"] = res["mwage"] * u.Gyr
    for name in params.colnames:
        if name != "logmstar":
            table[name] = params[name]
    table.meta.update({
        "generator": "astropy_smass.training.population",
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed), "n": int(n),
        "bagpipes_version": _package_version("bagpipes"),
        "sedpy_version": _package_version("astro-sedpy"),
        "magnitude_system": "AB",
        "magnitude_type": "band keys: absolute, rest frame, z=0, 10 pc; obs_ columns: "
                          "observed frame at the galaxy's redshift, apparent magnitude minus "
                          "5 log10(d_L / 10 pc)",
        "imf": "Chabrier-equivalent masses and SFRs (Bagpipes BC03 grids are Kroupa 2001; "
               f"offsets {KROUPA_TO_CHABRIER_DEX:.4f} and {SFR_KROUPA_TO_CHABRIER_DEX:.4f} "
               "dex)",
        "mass_definition": "living stars + stellar remnants",
        "sfh": priors["sfh"]["type"],
        "band_filters": dict(BAND_FILTERS),
        "filter_curves": dict(FILTER_CURVES),
        "priors": priors,
    })
    return table


def _population_matches(meta, n, seed, priors):
    return (meta.get("generator_version") == GENERATOR_VERSION
            and meta.get("n") == n and meta.get("seed") == seed
            and json.dumps(meta.get("priors"), sort_keys=True)
            == json.dumps(priors, sort_keys=True))


def load_or_generate_population(path, n, seed=0, n_workers=2, progress=False,
                                priors=None):
    """Read a cached population, or generate it and cache it in an HDF5 file.

    The cache is used only if its ``meta`` has the same generator version, ``n``,
    ``seed`` and priors; otherwise the population is regenerated and the file replaced.
    Writing goes to a temporary file in the same directory, renamed into place with
    `os.replace`, so readers never see a partial file.

    Parameters
    ----------
    path : str or path-like
        HDF5 file (``.h5`` or ``.hdf5``); the table is stored under ``"population"``.
    n, seed, n_workers, progress, priors
        As for `generate_population`.

    Returns
    -------
    `~astropy.table.Table`
        The population.
    """
    path = Path(path)
    if path.suffix.lower() not in (".h5", ".hdf5"):
        raise InputError(f"population cache must be an .h5/.hdf5 file, got {path}")
    n = _check_n(n)
    seed = _check_seed(seed)
    priors = json.loads(json.dumps(priors or DEFAULT_PRIORS))
    if path.exists():
        table = Table.read(path, path="population")
        if _population_matches(table.meta, n, seed, priors):
            return table
        warnings.warn(f"{path} was made with other settings; regenerating it")
    table = generate_population(n, seed=seed, n_workers=n_workers, progress=progress,
                                priors=priors)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        table.write(tmp, path="population", format="hdf5", serialize_meta=True,
                    overwrite=True, compression=True)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return table


# -- arrays of a population (training and its checks) ------------------------------
def population_arrays(population, bands, observed_frame=False):
    """Network inputs and log masses of a population, for some bands.

    Parameters
    ----------
    population : `~astropy.table.Table`
        One column per band key (absolute AB magnitudes, mag) and ``logmstar``
        (log10 Msun), as made by
        `~astropy_smass.training.population.generate_population` or
        `~astropy_smass.training.shark.read_shark`; for observed-frame inputs also
        ``obs_<band>`` (apparent AB magnitude minus the distance modulus, mag) and
        ``redshift``.
    bands : list of str
        Bands to take, in this order.
    observed_frame : bool
        Take the observed-frame magnitudes and append the redshift as a last column.

    Returns
    -------
    mags : ndarray (n, n_bands) or (n, n_bands + 1)
        NaN where a value is masked.
    logmstar : ndarray (n,)
    """
    if observed_frame:
        columns = [OBSERVED_PREFIX + band for band in bands] + ["redshift"]
    else:
        columns = list(bands)
    missing = [name for name in [*columns, "logmstar"] if name not in population.colnames]
    if missing:
        raise UnknownNameError(f"the population has no column {', '.join(map(repr, missing))}; "
                               "it needs one column per band key (absolute AB mag) and "
                               "'logmstar'"
                               + (", and obs_<band> and 'redshift' for an observed-frame model"
                                  if observed_frame else ""))

    def values(name):
        col = population[name]
        data = np.asarray(getattr(col, "value", col), dtype=float)
        mask = getattr(col, "mask", None)
        return data if mask is None else np.where(mask, np.nan, data)

    mags = (np.column_stack([values(c) for c in columns]) if columns
            else np.empty((len(population), 0)))
    return mags, values("logmstar")


def population_checksum(population):
    """SHA-256 of a population's magnitudes (every band-key column) and ``logmstar``.

    Recorded in each bundle's training provenance, it identifies the population a
    model was trained on independently of the file format it was stored in.
    """
    bands = [name for name in BANDS if name in population.colnames]
    mags, logm = population_arrays(population, bands)
    return arrays_checksum({**{band: mags[:, k] for k, band in enumerate(bands)},
                            "logmstar": logm})
