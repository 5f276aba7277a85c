"""The filter curves of every supported band, and their Galactic extinction coefficients."""

import astropy.units as u
import matplotlib.pyplot as plt
import numpy as np
from dust_extinction.parameter_averages import G23

from astropy_smass.photometry.bands import ALL_BANDS, EXTINCTION_RV, load_filter_curve

surveys = {}
for band in ALL_BANDS.values():
    surveys.setdefault(band.survey, []).append(band)
order = ["GALEX", "SDSS", "DECam", "BASS", "MzLS", "Pan-STARRS1", "HSC", "LSST",
         "Suprime-Cam", "Euclid", "VISTA", "UKIDSS", "2MASS", "WISE"]

fig, (curves, extinction) = plt.subplots(
    2, 1, figsize=(10, 8.5), layout="constrained", gridspec_kw={"height_ratios": [3, 1.3]})
for row, survey in enumerate(order):
    for k, band in enumerate(surveys[survey]):
        if band.name.startswith("lsst_baseline"):
            continue  # the same throughputs as lsst2023 to within 0.1 Angstrom in pivot
        wave, trans = load_filter_curve(band.name)
        trans = trans / trans.max()
        curves.fill_between(wave / 1e4, row, row + 0.85 * trans, color=f"C{k % 10}",
                            alpha=0.55, lw=0)
        curves.text(band.pivot.to_value("um"), row + 0.88, band.letter, ha="center",
                    va="bottom", fontsize=6.5)
curves.set_yticks(np.arange(len(order)) + 0.4, order)
curves.set_xscale("log")
curves.set_xlim(0.13, 30)
curves.set_ylim(-0.1, len(order) + 0.2)
curves.set_xlabel(r"wavelength [$\mu$m]")
curves.set_title("Filter curves (astro-sedpy; speclite for Euclid and LSST), peak-normalised")

law = G23(Rv=EXTINCTION_RV)
grid = np.geomspace(0.1, 30, 600)
extinction.plot(grid, EXTINCTION_RV * law(grid * u.um),
                color="0.5", lw=1, label=r"G23, $R_V = 3.1$: $A(\lambda)/E(B-V)$")
pivots = np.array([b.pivot.to_value("um") for b in ALL_BANDS.values()])
coeffs = np.array([b.a_over_ebv for b in ALL_BANDS.values()])
extinction.plot(pivots, coeffs, "o", ms=3.5, color="C3",
                label="band-averaged, stored in the registry")
extinction.set(xscale="log", yscale="log", xlim=(0.13, 30), ylim=(0.05, 12),
               xlabel=r"pivot wavelength [$\mu$m]", ylabel=r"$A_\mathrm{band}/E(B-V)$")
extinction.legend(frameon=False, fontsize=8)
