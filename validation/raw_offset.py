"""Why the raw network's masses sit above the reference catalogues': the population's side.

The network reproduces its training population's mass-to-light ratios, so its raw
offset from a reference catalogue is, to first order, the offset of the population's
masses from the reference's at the same photometry. These functions measure that on
the plane of Taylor et al. (2011), log M*/L_i = -0.68 + 0.70 (g - i) (Chabrier IMF,
BC03), which ECO's masses follow to 0.07 dex:

* `population_offsets`: draws galaxies with
  `astropy_smass.training.population.draw_parameters`, computes their g, i and
  current mass with Bagpipes as the population generator does, and repeats it with one
  ingredient changed at a time (no dust, no nebular emission, solar metallicity,
  younger star-formation histories at the same sSFR, living stars only);
* `ssp_comparison`: Bagpipes' BC03 single stellar populations (Kroupa IMF, with the
  package's remnants) against the 2003 BC03 Chabrier tables (light per formed mass and
  current/formed mass), and against Taylor's relation.

Both need the ``[train]`` extra (Bagpipes, astro-sedpy). The results are discussed in the
validation docs ("Why the raw network sits 0.3 dex above ECO").
"""

import os
import tempfile

import numpy as np

__all__ = ["TAYLOR_MSUN_I", "BC03_2003_CHABRIER", "taylor_log_ml", "population_offsets",
           "ssp_comparison"]

#: Absolute i magnitude of the Sun (AB) of Taylor et al. (2011).
TAYLOR_MSUN_I = 4.58

#: BC03 (2003), Chabrier IMF, Z = 0.02, single burst, per 1 Msun formed:
#: ``{log10 age [yr]: (V magnitude (Vega), M* (living + remnants))}`` from
#: ``bc2003_lr_m62_chab_ssp.4color`` (columns 4 and 7; M* + Mgas = 1), as shipped with
#: CIGALE's database builder.
BC03_2003_CHABRIER = {9.006547: (4.5531, 0.60963), 9.301030: (5.3190, 0.57011),
                      9.698970: (6.2626, 0.53527), 10.0: (6.8845, 0.51206)}

_TEN_PC_CM = 3.0857e19
_VARIANTS = ("full", "nodust", "nonebular", "solar", "young50", "young30")


def taylor_log_ml(g_minus_i):
    """Taylor et al. (2011) log10 M*/L_i (solar units) for a g - i colour (mag)."""
    return -0.68 + 0.70 * np.asarray(g_minus_i, dtype=float)


class _Photometry:
    """A Bagpipes model reused for many galaxies, with sedpy g, i (and V) magnitudes."""

    def __init__(self, bands=("sdss_g0", "sdss_i0")):
        from sedpy import observate

        self.filters = observate.load_filters(list(bands))
        self.tmp = tempfile.TemporaryDirectory()
        self.paths = []
        for f in self.filters:
            path = os.path.join(self.tmp.name, f.name + ".dat")
            np.savetxt(path, np.column_stack([f.wavelength, f.transmission]))
            self.paths.append(path)
        self.model = None

    def __call__(self, components):
        import bagpipes
        from sedpy import observate

        from astropy_smass.training.population import remnant_mass_fraction

        if self.model is None:
            self.model = bagpipes.model_galaxy(components, filt_list=self.paths)
            self.model.filt_list = None
            self.remnants = remnant_mass_fraction(self.model.sfh.live_frac_grid)
        else:
            self.model.update(components)
        spectrum = self.model.spectrum_full / (4 * np.pi * _TEN_PC_CM ** 2)
        mags = np.ravel(observate.getSED(self.model.wavelengths, spectrum, self.filters))
        sfh = self.model.sfh
        living = 10 ** sfh.stellar_mass
        remnant = float(np.sum(self.remnants * sfh.ceh.grid))
        return mags, living, remnant, 10 ** sfh.formed_mass


def population_offsets(n=12000, seed=11, mass_range=(8.5, 11.5), max_redshift=0.1,
                       variants=_VARIANTS):
    """Offset of simulated galaxies from Taylor et al. (2011), one ingredient at a time.

    Parameters
    ----------
    n : int
        Galaxies drawn (those inside ``mass_range`` are kept).
    seed : int
        Seed of `~astropy_smass.training.population.draw_parameters`.
    mass_range : tuple of float
        log10 M*/Msun range kept.
    max_redshift : float
        Only galaxies drawn below this redshift are kept (populations that draw one):
        the z ~ 0 galaxies that the rest-frame comparison is about.
    variants : iterable of str
        ``"full"`` (as the population), ``"nodust"`` (A_V = 0), ``"nonebular"``,
        ``"solar"`` (solar metallicity), ``"young50"`` and ``"young30"`` (ages x 0.5 and
        x 0.3, tau solved again for the same 100-Myr sSFR).

    Returns
    -------
    `~astropy.table.Table`
        One row per galaxy: ``logmstar`` (drawn, dex), ``passive``, ``age`` [Gyr],
        and per variant ``gi_<variant>`` (g - i, mag) and ``offset_<variant>`` (log
        current Chabrier mass minus Taylor's mass from the same g and i, dex), plus
        ``living_minus_current`` (dex).
    """
    from astropy.table import Table

    from astropy_smass.training import population as P

    priors = P.DEFAULT_PRIORS
    drawn = P.draw_parameters(n, seed=seed)
    logm = np.asarray(drawn["logmstar"])
    keep = (logm > mass_range[0]) & (logm < mass_range[1])
    if "redshift" in drawn.colnames:
        keep &= np.asarray(drawn["redshift"]) < max_redshift
    drawn = drawn[keep]
    ages = {"young50": 0.5, "young30": 0.3}
    solved = {key: P._solve_delayed_tau(np.asarray(drawn["age"]) * factor,
                                        np.asarray(drawn["logssfr_target"]), priors)
              for key, factor in ages.items()}
    out = Table({"logmstar": drawn["logmstar"], "passive": drawn["passive"],
                 "age": drawn["age"]})
    for variant in variants:
        photometry = _Photometry()
        gi, offset, living = [], [], []
        for k, row in enumerate(drawn):
            components = P._components(row, priors)
            components["delayed"]["massformed"] = 0.0
            if variant == "nodust":
                components["dust"]["Av"] = 0.0
            elif variant == "nonebular":
                components.pop("nebular")
            elif variant == "solar":
                components["delayed"]["metallicity"] = 1.0
            elif variant in ages:
                components["delayed"]["age"] = float(solved[variant][0][k])
                components["delayed"]["tau"] = float(solved[variant][1][k])
            (g, i), live, remnant, _ = photometry(components)
            current = np.log10(live + remnant) + P.KROUPA_TO_CHABRIER_DEX
            taylor = taylor_log_ml(g - i) - 0.4 * (i - TAYLOR_MSUN_I)
            gi.append(g - i)
            offset.append(current - taylor)
            living.append(np.log10(live / (live + remnant)))
        out[f"gi_{variant}"] = gi
        out[f"offset_{variant}"] = offset
        if variant == "full":
            out["living_minus_current"] = living
    return out


def ssp_comparison(log_ages=tuple(BC03_2003_CHABRIER)):
    """Bagpipes BC03 single bursts (solar metallicity, no dust) against BC03 (2003).

    Parameters
    ----------
    log_ages : iterable of float
        log10 ages [yr], keys of `BC03_2003_CHABRIER`.

    Returns
    -------
    `~astropy.table.Table`
        ``age`` [Gyr]; ``dv_mag`` (Bagpipes Kroupa V minus BC03 2003 Chabrier V per
        formed mass, Vega; the IMF alone gives +0.086); ``current_formed`` (Bagpipes
        living + Renzini & Ciotti remnants per formed mass) and ``bc03_mstar_formed``;
        ``log_ml_v_ratio`` (package current Chabrier-equivalent M/L_V over BC03 2003
        Chabrier M*/L_V, dex); ``gi`` and ``offset_taylor`` (log current M/L_i minus
        Taylor's at that g - i, dex).
    """
    from astropy.table import Table

    from astropy_smass.training.population import KROUPA_TO_CHABRIER_DEX

    photometry = _Photometry(("sdss_g0", "sdss_i0", "bessell_V"))
    rows = []
    for log_age in log_ages:
        v03, mstar03 = BC03_2003_CHABRIER[log_age]
        age = 10 ** log_age / 1e9
        (g, i, v_ab), live, remnant, formed = photometry(
            {"redshift": 0.0, "burst": {"age": age, "massformed": 0.0, "metallicity": 1.0}})
        v_vega = v_ab + 0.02  # Bessell V: AB - Vega = -0.02
        current = (live + remnant) / formed
        log_ml_ratio = (np.log10(current / mstar03) + 0.4 * (v_vega - v03)
                        + KROUPA_TO_CHABRIER_DEX)
        log_ml_i = np.log10((live + remnant) / 10 ** (-0.4 * (i - TAYLOR_MSUN_I)))
        rows.append((age, v_vega - v03, current, mstar03, log_ml_ratio, g - i,
                     log_ml_i + KROUPA_TO_CHABRIER_DEX - taylor_log_ml(g - i)))
    return Table(rows=rows, names=("age", "dv_mag", "current_formed", "bc03_mstar_formed",
                                   "log_ml_v_ratio", "gi", "offset_taylor"))
