"""H-ATLAS (no SED masses): W1 luminosity against predicted mass, and the uncertainties."""

import matplotlib.pyplot as plt
import numpy as np

from astropy_smass.photometry.magnitudes import absolute_magnitudes
from validation import CATALOGUES, catalogue_predictions


def _unavailable(message):
    fig, ax = plt.subplots(figsize=(6.4, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    return fig


def hatlas_figure(table, w1):
    logm, phot = table["logmstar"].value, table["logmstar_err_phot"].value
    total = table["logmstar_err"].value
    good = np.isfinite(logm) & np.isfinite(w1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    sc = axes[0].scatter(w1[good], logm[good], c=np.asarray(table["redshift"])[good], s=4,
                         cmap="viridis", lw=0)
    axes[0].invert_xaxis()
    axes[0].set_xlabel(r"$M_{W1}$ (AB mag)")
    axes[0].set_ylabel(r"predicted $\log_{10} M_\star/M_\odot$")
    axes[0].set_title(f"H-ATLAS: {good.sum()} of {len(table)} galaxies with a mass",
                      fontsize=9)
    fig.colorbar(sc, ax=axes[0], label="redshift")
    ok = good & np.isfinite(phot)
    axes[1].scatter(logm[ok], phot[ok], s=4, lw=0, alpha=0.6, label="propagated (photometry)")
    axes[1].scatter(logm[ok], total[ok], s=4, lw=0, alpha=0.6, label="total (+ intrinsic)")
    axes[1].set_yscale("log")
    axes[1].set_xlabel(r"predicted $\log_{10} M_\star/M_\odot$")
    axes[1].set_ylabel("1-sigma uncertainty (dex)")
    axes[1].legend(fontsize=7, frameon=False)
    axes[1].set_title("uncertainties (redshift rounding not included)", fontsize=9)
    return fig


try:
    spec = CATALOGUES["hatlas"]
    hatlas = catalogue_predictions("hatlas", None, uncertainty="analytic")
    hatlas["redshift"] = spec.load()["redshift"]
    mags, _, _ = absolute_magnitudes(spec.load(), {"W1": "WISE1"}, redshift="redshift",
                                     cosmology=spec.predict_kwargs["cosmology"])
except (FileNotFoundError, ValueError) as exc:  # no catalogue or no bundled model
    _unavailable(f"H-ATLAS figure not drawn: {exc}")
else:
    hatlas_figure(hatlas, mags[:, 0])
