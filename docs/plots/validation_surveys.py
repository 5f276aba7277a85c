"""Redshift surveys, evaluation halves: offset and 16-84 half-width against redshift for
the calibrated network and the two baselines (from validation/surveys_report.json)."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import validation

REPORT = Path(validation.__file__).parent / "surveys_report.json"
LABELS = {"network": "network (calibrated)", "network_raw": "network (raw)",
          "linear": "linear fit to real masses", "colour": "colour relation, no K-corr."}
STYLES = {"network": ("C0", "-"), "network_raw": ("C0", ":"), "linear": ("C2", "--"),
          "colour": ("C3", "-.")}
SURVEYS = {"desi": "DESI BGS (PROVABGS)", "des": "DES SN hosts", "cosmos": "COSMOS2015"}

report = json.loads(REPORT.read_text())
fig, axes = plt.subplots(2, 3, figsize=(11, 5.6), sharex="col", layout="constrained")
for column, (name, title) in enumerate(SURVEYS.items()):
    bins = report[name]["per_redshift_bin"]
    for method, rows in bins.items():
        colour, style = STYLES[method]
        z = np.array([(r["lo"] + r["hi"]) / 2 for r in rows])
        offset = np.array([r["median_offset"] for r in rows], float)
        width = np.array([r["half_width"] for r in rows], float)
        axes[0, column].plot(z, offset, style, color=colour, marker="o", ms=3,
                             label=LABELS[method])
        axes[1, column].plot(z, width, style, color=colour, marker="o", ms=3)
    axes[0, column].axhline(0, color="k", lw=0.6)
    axes[0, column].set_title(title, fontsize=10)
    axes[1, column].set_xlabel("redshift")
    axes[0, column].set_ylim(-0.6, 0.6)
    axes[1, column].set_ylim(0, 0.5)
axes[0, 0].set_ylabel("median offset (dex)")
axes[1, 0].set_ylabel("16-84 half-width (dex)")
axes[0, 0].legend(fontsize=7, frameon=False)
