#!/usr/bin/env python
"""Calibrate the observed-frame models on the redshift surveys and report the validation.

Each observed-frame model with a real catalogue in its bands is calibrated on that
catalogue's calibration half (`CALIBRATION_PLAN`): the Legacy Surveys north models on
DESI BGS, the DECam ``legacy_south_grz`` and ``des_griz`` on the DES hosts,
``suprimecam_vriz`` on COSMOS2015, the SDSS
models (and the rest-frame ``sdss_urzj``) on ECO. The reference masses are first moved
onto the package's scale (Chabrier IMF, living stars + remnants) with the constants of
`astropy_smass.massscale`. Models no catalogue here covers borrow the correction and
intrinsic scatter of the calibrated model closest in bands (`BORROWED`). Then every
survey's evaluation half is scored, per redshift bin, beside the two baselines of
`validation.surveys` (a colour relation without K-correction, and a linear regression
fitted on the calibration half's real masses).

Usage::

    python scripts/calibrate_surveys.py --models DIR            # fit, score, print
    python scripts/calibrate_surveys.py --models DIR --write    # save the bundles in DIR
    python scripts/calibrate_surveys.py --models DIR --docs     # and docs/validation_surveys.rst

The catalogues are read from ``$ASTROPY_SMASS_DATA`` or ``../shared/data``.
"""

import argparse
import json
import sys
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# validation/ is maintainer tooling in the repository, not part of the installed package.
sys.path.insert(0, str(ROOT))

from astropy_smass.model.bundle import StellarMassModel  # noqa: E402
from astropy_smass.pipeline import calibrate_model, predict_table  # noqa: E402
from validation import (  # noqa: E402
    CATALOGUES,
    residual_statistics,
    split_halves,
    surveys,  # noqa: E402
)

#: model -> catalogue whose calibration half calibrates it.
CALIBRATION_PLAN = {
    "legacy_north_grz": "desi", "legacy_north_grz_wise": "desi",
    "legacy_south_grz": "des", "des_griz": "des", "suprimecam_vriz": "cosmos",
    "sdss_ugriz_z": "eco", "sdss_2mass_z": "eco", "sdss_urzj": "eco",
}

#: model -> the calibrated model whose correction and intrinsic scatter it borrows: the
#: same bands in a sister system (Legacy south's DECam for BASS/MzLS, DES Y), or the
#: calibrated model closest in wavelength coverage.
BORROWED = {
    "legacy_south_grz_wise": "legacy_north_grz_wise",
    "des_grizy": "des_griz", "panstarrs_grizy": "des_griz", "hsc_grizy": "des_griz",
    "lsst_grizy": "des_griz", "lsst_ugrizy": "des_griz",
    "sdss_wise_z": "sdss_ugriz_z", "twomass_wise_z": "sdss_2mass_z",
    "vista_zyjhk": "sdss_2mass_z", "euclid_vis_yjh": "sdss_2mass_z",
}

#: ECO's columns as the SDSS observed-frame models and the rest-frame u r z J model read
#: them: 2MASS J stands in for the VISTA J of ``sdss_urzj`` (a few hundredths of a mag).
ECO_KWARGS = {"sdss_urzj": {"columns": {"J": "J_2MASS"}}}


def _halves(name):
    if name in surveys.SURVEYS:
        return surveys.survey_halves(name)
    return split_halves(CATALOGUES[name].load(), CATALOGUES[name].key)


def _kwargs(name, model_name=None):
    if name in surveys.SURVEYS:
        return surveys.predict_kwargs(name, "N" if name == "desi" else None)
    return {**CATALOGUES[name].predict_kwargs, **ECO_KWARGS.get(model_name, {})}


def _reference(table, name):
    if name in surveys.SURVEYS:
        return surveys.reference_masses(table, name)
    return np.asarray(table["logmstar"].value, float)


def calibrate(models, degree=1):
    """Calibrated copies of the models of `CALIBRATION_PLAN` and `BORROWED`."""
    calibrated = {}
    for model_name, catalogue in CALIBRATION_PLAN.items():
        if model_name not in models:
            continue
        calibration, _ = _halves(catalogue)
        calibration = calibration.copy()
        calibration["logmstar_package"] = _reference(calibration, catalogue) * u.dex(u.Msun)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            calibrated[model_name] = calibrate_model(
                models[model_name], calibration, reference="logmstar_package", degree=degree,
                catalogue=catalogue,
                provenance={"half": "calibration", "split_seed": 1,
                            "reference_scale": "moved to the package's (Chabrier, living + "
                                               "remnants) with astropy_smass.massscale"},
                **_kwargs(catalogue, model_name))
    for model_name, source in BORROWED.items():
        if model_name in models and source in calibrated:
            donor = calibrated[source]
            correction = type(donor.correction).from_dict(donor.correction.to_dict())
            correction.provenance["borrowed_from"] = source
            calibrated[model_name] = models[model_name].replace(
                correction=correction, intrinsic_scatter=donor.intrinsic_scatter)
    return calibrated


def score(name, calibrated):
    """Evaluation-half scores of the network (raw and calibrated) and the baselines."""
    calibration, evaluation = _halves(name)
    reference = _reference(evaluation, name)
    model_list = list(calibrated.values())
    kwargs = _kwargs(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        network = predict_table(evaluation, model=model_list, **kwargs)
        raw = predict_table(evaluation, model=model_list, correct=False, **kwargs)
    methods = {"network": network["logmstar"].value, "network_raw": raw["logmstar"].value}
    if name in surveys.SURVEYS:
        methods["linear"] = surveys.linear_baseline(calibration, evaluation, name)
        methods["colour"] = surveys.colour_baseline(evaluation, name)
    z = np.asarray(evaluation["z"] if "z" in evaluation.colnames else evaluation["redshift"])
    zrange = (surveys.SURVEYS[name].redshift_range if name in surveys.SURVEYS
              else (0.0, 0.03))
    used = network["smass_model"] if "smass_model" in network.colnames else None
    report = {"catalogue": name, "n": len(evaluation),
              "with_mass": float(np.isfinite(methods["network"]).mean()),
              "models": (dict(zip(*np.unique(used, return_counts=True))) if used is not None
                         else {}),
              "overall": {k: residual_statistics(v, reference) for k, v in methods.items()},
              "per_redshift_bin": {k: surveys.redshift_bins(v, reference, z, zrange,
                                                            width=0.1 if zrange[1] > 0.1
                                                            else 0.01)
                                   for k, v in methods.items()}}
    report["models"] = {str(k): int(v) for k, v in report["models"].items()}
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", required=True, help="folder of the trained bundles")
    parser.add_argument("--write", action="store_true", help="save the calibrated bundles")
    parser.add_argument("--report", default=str(ROOT / "validation" / "surveys_report.json"))
    args = parser.parse_args(argv)
    folder = Path(args.models)
    models = {p.stem: StellarMassModel.load(p) for p in sorted(folder.glob("*.json"))}
    calibrated = calibrate(models)
    for name, model in calibrated.items():
        c = model.correction
        print(f"{name:24s} {c.provenance.get('catalogue', c.provenance.get('borrowed_from'))}"
              f" coefficients {' '.join(f'{v:+.3f}' for v in c.coefficients)} intrinsic "
              f"{model.intrinsic_scatter:.3f} dex")
    reports = {name: score(name, {k: v for k, v in calibrated.items() if v.observed_frame
                                  or name == "eco"})
               for name in ("desi", "des", "cosmos", "eco")}
    for name, report in reports.items():
        print(f"\n{name}: N {report['n']}, with mass {report['with_mass']:.3f}, models "
              f"{report['models']}")
        for method, stats in report["overall"].items():
            print(f"  {method:12s} offset {stats['median_offset']:+.3f} half-width "
                  f"{stats['half_width']:.3f} rms {stats['rms']:.3f} n {stats['n']}")
    Path(args.report).write_text(json.dumps(reports, indent=1, default=float) + "\n")
    if args.write:
        for model in calibrated.values():
            model.save(folder, overwrite=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
