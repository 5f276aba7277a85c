"""Saliency of each feature for the bundled models: typical change of mass per feature."""

import json
from importlib import resources

import matplotlib.pyplot as plt
import numpy as np

report = json.loads((resources.files("astropy_smass") / "data" / "training"
                     / "training_report.json").read_text())
names = ["full_vista", "full_2mass", "sdss_wise", "sdss"]
names = [n for n in names if n in report["models"]]

fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 4.6), layout="constrained",
                         squeeze=False)
for ax, name in zip(axes[0], names):
    saliency = report["models"][name]["saliency"]
    y = np.arange(len(saliency["ranking"]))
    ax.barh(y, saliency["importance_dex"], color="C0")
    ax.set_yticks(y, saliency["ranking"], fontsize=7)
    ax.invert_yaxis()
    ax.set(xlabel=r"mean $|\partial \log M / \partial x|\,\sigma_x$ [dex]", title=name)
