"""Validation RMS per epoch of each bundled model, the kept epoch marked."""

import json
from importlib import resources

import matplotlib.pyplot as plt

report = json.loads((resources.files("astropy_smass") / "data" / "training"
                     / "training_report.json").read_text())

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
for k, (name, model) in enumerate(report["models"].items()):
    curve = model["learning_curve"]
    axes[0].plot(curve["epoch"], curve["train_loss"], color=f"C{k}", lw=1, label=name)
    axes[1].plot(curve["epoch"], curve["validation_rms_dex"], color=f"C{k}", lw=1, label=name)
    axes[1].plot(curve["best_epoch"], curve["best_validation_rms_dex"], "o", ms=4,
                 color=f"C{k}")
axes[0].set(xlabel="epoch", ylabel="training loss (standardised target)", yscale="log",
            title="training loss (noisy magnitudes)")
axes[1].set(xlabel="epoch", ylabel="validation RMS [dex]", yscale="log",
            title="validation RMS; dot: weights kept")
axes[1].legend(fontsize="small", ncols=2)
