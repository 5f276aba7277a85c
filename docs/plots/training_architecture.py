"""Held-out accuracy and prediction speed against hidden width, for relu and tanh."""

import json
from importlib import resources

import matplotlib.pyplot as plt

report = json.loads((resources.files("astropy_smass") / "data" / "training"
                     / "training_report.json").read_text())
rows = report.get("architecture_comparison") or []
chosen = (report["hyperparameters"]["hidden"], report["hyperparameters"]["activation"])

fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
for k, activation in enumerate(sorted({r["activation"] for r in rows})):
    sel = sorted((r for r in rows if r["activation"] == activation), key=lambda r: r["hidden"])
    widths = [r["hidden"] for r in sel]
    axes[0].plot(widths, [r["rms_dex"] for r in sel], "o-", color=f"C{k}",
                 label=f"{activation}, noisy test")
    axes[0].plot(widths, [r["noiseless_rms_dex"] for r in sel], "s--", color=f"C{k}",
                 mfc="none", label=f"{activation}, noiseless test")
    axes[1].plot(widths, [r["predict_rows_per_s_1thread"] / 1e6 for r in sel], "o-",
                 color=f"C{k}", label=activation)
for ax in axes:
    ax.axvline(chosen[0], color="0.6", lw=0.8, ls=":")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("hidden units")
axes[0].axhline(0.085, color="C3", lw=0.8)
axes[0].set(ylabel="held-out RMS [dex]", title=r"full_vista, $10^{8}$-$10^{11.5}\,M_\odot$",
            ylim=(0, None))
axes[1].axhline(1.0, color="C3", lw=0.8)
axes[1].set(ylabel="million galaxies / s (one core)", ylim=(0, None),
            title="predict_magnitudes, no uncertainties")
axes[0].legend(fontsize="small")
axes[1].legend(fontsize="small")
if not rows:
    fig.text(0.5, 0.5, "no architecture comparison in the report", ha="center")
