"""ECO evaluation half: predicted against SED-fit masses, raw and corrected, and residuals."""

import matplotlib.pyplot as plt
import numpy as np

from validation import catalogue_predictions


def _unavailable(message):
    fig, ax = plt.subplots(figsize=(6.4, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    return fig


def residual_panel(ax, residuals, labels, colours):
    bins = np.arange(-0.8, 0.8001, 0.025)
    for resid, label, colour in zip(residuals, labels, colours):
        resid = resid[np.isfinite(resid)]
        p16, p50, p84 = np.percentile(resid, [16, 50, 84])
        ax.hist(resid, bins=bins, histtype="step", color=colour, lw=1.4,
                label=f"{label}: {p50:+.3f}, half-width {(p84 - p16) / 2:.3f}")
        ax.axvspan(p16, p84, color=colour, alpha=0.12)
    ax.axvline(0, color="k", lw=0.6)
    ax.set_xlabel("predicted - reference (dex)")
    ax.set_ylabel("galaxies")
    ax.legend(fontsize=6.5, loc="upper left", frameon=False)


def comparison_figure(table, title):
    ref = table["logmstar_ref"].value
    raw, bundled = table["logmstar_raw"].value, table["logmstar"].value
    own, taylor = table["logmstar_cal"].value, table["taylor2011"].value
    good = (np.isfinite(ref) & np.isfinite(raw) & np.isfinite(bundled) & np.isfinite(own)
            & np.isfinite(taylor))
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.7), layout="constrained")
    limits = np.nanpercentile(ref[good], [0.5, 99.5]) + np.array([-0.3, 0.3])
    for ax, values, label in ((axes[0], raw, "network, raw"),
                              (axes[1], bundled, "network, bundled correction")):
        ax.scatter(ref[good], values[good], s=3, alpha=0.4, color="C0", lw=0)
        ax.plot(limits, limits, "k-", lw=0.8)
        ax.set_xlim(limits)
        ax.set_ylim(limits)
        ax.set_xlabel(r"reference $\log_{10} M_\star/M_\odot$")
        ax.set_ylabel(r"predicted $\log_{10} M_\star/M_\odot$")
        ax.set_title(f"{title}: {label}", fontsize=9)
    residual_panel(axes[2], [raw[good] - ref[good], bundled[good] - ref[good],
                             own[good] - ref[good], taylor[good] - ref[good]],
                   ["raw", "bundled (ECO scale)", f"calibrated on {title} half", "Taylor+2011"],
                   ["C1", "C0", "C4", "C2"])
    axes[2].set_title(f"{good.sum()} galaxies; median, 16-84% half-width", fontsize=9)
    return fig


try:
    eco = catalogue_predictions("eco", "evaluation", uncertainty=None)
except (FileNotFoundError, ValueError) as exc:  # no catalogue or no bundled model
    _unavailable(f"ECO comparison not drawn: {exc}")
else:
    comparison_figure(eco, "ECO")
