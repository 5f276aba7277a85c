"""DustPedia evaluation half: predicted against CIGALE masses, raw and calibrated."""

import matplotlib.pyplot as plt
import numpy as np

from validation import catalogue_predictions


def _unavailable(message):
    fig, ax = plt.subplots(figsize=(6.4, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    return fig


def dustpedia_figure(table):
    ref, ref_err = table["logmstar_ref"].value, table["logmstar_ref_err"].value
    raw, own = table["logmstar_raw"].value, table["logmstar_cal"].value
    err = table["logmstar_cal_err"].value
    good = np.isfinite(ref) & np.isfinite(own)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.7), layout="constrained")
    limits = np.nanpercentile(ref[good], [0.5, 99.5]) + np.array([-0.4, 0.4])
    for ax, values, errors, label in ((axes[0], raw, None, "network, raw"),
                                      (axes[1], own, err,
                                       "network calibrated on DustPedia half")):
        ax.errorbar(ref[good], values[good], xerr=ref_err[good],
                    yerr=None if errors is None else errors[good], fmt="o", ms=2.5,
                    lw=0.5, alpha=0.7, color="C0")
        ax.plot(limits, limits, "k-", lw=0.8)
        ax.set_xlim(limits)
        ax.set_ylim(limits)
        ax.set_xlabel(r"CIGALE $\log_{10} M_\star/M_\odot$")
        ax.set_ylabel(r"predicted $\log_{10} M_\star/M_\odot$")
        ax.set_title(f"DustPedia: {label}", fontsize=9)
    bins = np.arange(-0.8, 0.8001, 0.05)
    for name, values, colour in (("raw", raw, "C1"),
                                 ("bundled (ECO scale)", table["logmstar"].value, "C0"),
                                 ("calibrated on DustPedia", own, "C4"),
                                 ("Taylor+2011", table["taylor2011"].value, "C2"),
                                 ("Cluver+2014", table["cluver2014"].value, "C3")):
        resid = (values - ref)[good & np.isfinite(values)]
        if not len(resid):
            continue
        p16, p50, p84 = np.percentile(resid, [16, 50, 84])
        axes[2].hist(resid, bins=bins, histtype="step", color=colour, lw=1.3,
                     label=f"{name} (N={len(resid)}): {p50:+.3f}, {(p84 - p16) / 2:.3f}")
        axes[2].axvspan(p16, p84, color=colour, alpha=0.1)
    axes[2].axvline(0, color="k", lw=0.6)
    axes[2].set_xlabel("predicted - reference (dex)")
    axes[2].set_ylabel("galaxies")
    axes[2].legend(fontsize=6, loc="upper left", frameon=False)
    axes[2].set_title("median, 16-84% half-width (each method's galaxies)", fontsize=9)
    return fig


try:
    dustpedia = catalogue_predictions("dustpedia", "evaluation", uncertainty="analytic")
except (FileNotFoundError, ValueError) as exc:  # no catalogue or no bundled model
    _unavailable(f"DustPedia comparison not drawn: {exc}")
else:
    dustpedia_figure(dustpedia)
