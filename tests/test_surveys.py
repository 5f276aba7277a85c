"""The redshift-survey validation (DESI BGS, DES hosts, COSMOS2015) on the real files.

Skipped, with the reason, where ``$ASTROPY_SMASS_DATA`` or ``../shared/data`` is absent.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from validation import residual_statistics, surveys

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["desi", "des", "cosmos"])
def test_halves_and_baselines(real_data, name):
    calibration, evaluation = surveys.survey_halves(name)
    low, high = surveys.SURVEYS[name].redshift_range
    for half in (calibration, evaluation):
        z = np.asarray(half["z"])
        assert np.all((z > low) & (z < high))
    keys = surveys.SURVEYS[name].catalogue.key
    assert not set(calibration[keys]) & set(evaluation[keys])
    assert abs(len(calibration) - len(evaluation)) < 0.1 * len(evaluation)
    reference = surveys.reference_masses(evaluation, name)
    linear = surveys.linear_baseline(calibration, evaluation, name)
    colour = surveys.colour_baseline(evaluation, name)
    # the regression fitted on real masses is unbiased on the other half; the colour
    # relation without a K-correction is not
    assert abs(residual_statistics(linear, reference)["median_offset"]) < 0.05
    assert residual_statistics(colour, reference)["median_offset"] > 0.2


def test_desi_photometric_system_from_targetid(real_data):
    table = surveys.load_desi()
    # every galaxy of this SV3 sample has DR9 north photometry (release 9011)
    assert set(table["photsys"]) == {"N"}
    assert table["flux_g"].unit == "nanomaggy"


def test_observed_frame_models_cover_the_surveys(real_data):
    """Every evaluation-half galaxy gets a model and nearly all a mass, per survey."""
    for name in ("desi", "des", "cosmos"):
        _, evaluation = surveys.survey_halves(name)
        out = surveys.predict_survey(evaluation, name)
        assert np.isfinite(out["logmstar"]).mean() > 0.98, name
        # a NaN mass always carries a flag
        assert np.all(out["smass_flag"][np.isnan(out["logmstar"])] != 0), name


def test_docs_table_matches_the_report():
    report = json.loads((ROOT / "validation" / "surveys_report.json").read_text())
    text = (ROOT / "docs" / "redshift.rst").read_text()
    for label, name in (("DESI BGS", "desi"), ("DES hosts", "des"), ("COSMOS2015", "cosmos")):
        row = next(line for line in text.splitlines() if line.startswith(label + ","))
        numbers = re.findall(r"[+-]?\d+\.\d+", row.split("  ", 1)[1])
        overall = report[name]["overall"]
        # with mass (per cent), network offset and half-width, linear fit's half-width
        assert float(numbers[0]) == pytest.approx(100 * report[name]["with_mass"], abs=0.05)
        assert float(numbers[1]) == pytest.approx(overall["network"]["median_offset"],
                                                  abs=5e-4)
        assert float(numbers[2]) == pytest.approx(overall["network"]["half_width"], abs=5e-4)
        assert float(numbers[3]) == pytest.approx(overall["linear"]["half_width"], abs=5e-4)
