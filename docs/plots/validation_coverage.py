"""PIT histograms and 1-sigma coverage of logmstar_err on the evaluation halves."""

import warnings

import matplotlib.pyplot as plt

from validation import coverage


def _unavailable(message):
    fig, ax = plt.subplots(figsize=(6.4, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    return fig


try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = coverage.coverage_table()
    if not len(table):
        raise FileNotFoundError("no reference catalogue available")
except (FileNotFoundError, ValueError) as exc:  # no catalogue or no bundled model
    _unavailable(f"coverage not drawn: {exc}")
else:
    coverage.plot_coverage(table)
