"""Held-out accuracy of each bundled model in bins of true stellar mass."""

import json
from importlib import resources

import matplotlib.pyplot as plt
import numpy as np

report = json.loads((resources.files("astropy_smass") / "data" / "training"
                     / "training_report.json").read_text())

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
for k, (name, model) in enumerate(report["models"].items()):
    bins = model["heldout"]["per_bin"]
    centre = np.array([(b["lo"] + b["hi"]) / 2 for b in bins])
    rms = np.array([np.nan if b["rms_dex"] is None else b["rms_dex"] for b in bins])
    offset = np.array([np.nan if b["median_offset_dex"] is None else b["median_offset_dex"]
                       for b in bins])
    style = {"marker": "o", "ms": 3.5, "color": f"C{k}", "label": name}
    axes[0].plot(centre, rms, **style)
    axes[1].plot(centre, offset, **style)
noise = report["hyperparameters"]["noise_mag"]
axes[0].set(xlabel=r"true $\log_{10} M_\star/M_\odot$", ylabel="RMS of predicted - true [dex]",
            title=f"held-out simulated galaxies, {noise:g} mag noise", ylim=(0, None))
axes[1].axhline(0, color="0.5", lw=0.8)
axes[1].set(xlabel=r"true $\log_{10} M_\star/M_\odot$",
            ylabel="median predicted - true [dex]", title="median offset")
axes[0].legend(fontsize="small", ncols=2)
