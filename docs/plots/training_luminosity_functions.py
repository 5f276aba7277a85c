"""The training population's luminosity functions against GAMA's (Driver et al. 2012).

Two figures from ``astropy_smass/data/training/population_lf.ecsv`` (written by
`~astropy_smass.training.lumfunc.record_luminosity_functions` when the bundled models
were trained): every band, and the ratio to GAMA in r and K.
"""

import matplotlib.pyplot as plt
import numpy as np

from astropy_smass.training.lumfunc import GAMA_LF_FILES, read_population_lf

lf = read_population_lf()
window = lf.meta["window_mag"]


def band_rows(band):
    rows = lf[lf["band"] == band]
    return {name: np.asarray(rows[name]) for name in rows.colnames}


# -- every band -------------------------------------------------------------------------------
bands = list(GAMA_LF_FILES)
fig, axes = plt.subplots(3, 4, figsize=(12, 8.4), layout="constrained")
for ax, band in zip(axes.flat, bands):
    c = band_rows(band)
    mstar = c["mstar"][0]
    ax.axvspan(mstar - window, mstar + window, color="0.92", zorder=0)
    ok = c["pop_phi"] > 0
    ax.fill_between(c["mag"][ok], np.clip(c["pop_phi"] - c["pop_err"], 1e-9, None)[ok],
                    (c["pop_phi"] + c["pop_err"])[ok], color="C3", alpha=0.3, lw=0)
    ax.plot(c["mag"][ok], c["pop_phi"][ok], "-", color="C3", label="population")
    ax.errorbar(c["mag"], c["gama_phi"], yerr=c["gama_err"], fmt="o", ms=2.5, color="k",
                elinewidth=0.8, label="GAMA (Driver+12)")
    near = c["near_mstar"]
    ax.text(0.04, 0.05, f"median log ratio {np.median(c['log_ratio'][near]):+.2f}\n"
            f"within 2$\\sigma$: {np.sum(np.abs(c['deviation'][near]) <= 2)}/{near.sum()}",
            transform=ax.transAxes, fontsize=7.5)
    ax.set(yscale="log", ylim=(1e-7, 0.1), xlim=(c["mag"].max() + 0.5, c["mag"].min() - 0.5),
           title=band)
    ax.set_xlabel(r"$M_\mathrm{AB} - 5\log_{10}(h/0.7)$ [mag]", fontsize=8)
    ax.set_ylabel(r"$\phi$ [Mpc$^{-3}$ mag$^{-1}$]", fontsize=8)
last = axes.flat[len(bands)]
last.axis("off")
handles, labels = axes.flat[0].get_legend_handles_labels()
last.legend(handles + [plt.Rectangle((0, 0), 1, 1, color="0.92")],
            labels + [rf"$M^\star \pm {window:g}$ mag"], loc="center")

# -- the ratio in r and K ---------------------------------------------------------------------
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained", sharey=True)
for ax, band in zip(axes, ("r", "K")):
    c = band_rows(band)
    mstar = c["mstar"][0]
    rel = c["gama_err"] / c["gama_phi"]
    for edge in (mstar - window, mstar + window):
        ax.axvline(edge, color="C0", lw=0.8, ls="--")
    ax.fill_between(c["mag"], np.log10(np.clip(1 - rel, 1e-3, None)), np.log10(1 + rel),
                    color="0.6", alpha=0.5, lw=0, label="GAMA 1$\\sigma$ (relative)")
    ax.fill_between(c["mag"], np.log10(np.clip(1 - 2 * rel, 1e-3, None)),
                    np.log10(1 + 2 * rel), color="0.6", alpha=0.25, lw=0,
                    label="GAMA 2$\\sigma$")
    ratio_err = c["pop_err"] / (c["pop_phi"] * np.log(10))
    ax.errorbar(c["mag"], c["log_ratio"], yerr=ratio_err, fmt="o-", ms=3, color="C3",
                label="population (Poisson errors)")
    ax.axhline(0, color="k", lw=0.8)
    for level in (-0.1, 0.1):
        ax.axhline(level, color="k", lw=0.6, ls=":")
    ax.set(xlim=(c["mag"].max() + 0.5, c["mag"].min() - 0.5), ylim=(-0.8, 0.8),
           xlabel=rf"$M_{band} - 5\log_{{10}}(h/0.7)$ [mag]",
           title=f"{band}: population / GAMA ($M^\\star = {mstar:.2f}$)")
axes[0].set_ylabel(r"$\log_{10}(\phi_\mathrm{pop} / \phi_\mathrm{GAMA})$ [dex]")
handles, labels = axes[0].get_legend_handles_labels()
fig.legend(handles + [plt.Line2D([], [], color="C0", lw=0.8, ls="--"),
                      plt.Line2D([], [], color="k", lw=0.6, ls=":")],
           labels + [rf"$M^\star \pm {window:g}$ mag", r"$\pm 0.1$ dex"],
           loc="outside lower center", ncols=5, fontsize="small")
