#!/usr/bin/env python
"""Fit the bundled models' bias corrections on real galaxies, and report the validation.

Each bundled model is calibrated on the calibration half of its catalogue
(``validation.CALIBRATION_PLAN``: ECO for ``sdss`` and ``sdss_2mass``,
DustPedia for ``full_2mass``, ``galex_sdss_wise`` and ``sdss_wise``); the VISTA
models, which no catalogue here can calibrate, borrow their 2MASS twin's correction.
Every correction is then put on one mass scale, ECO's (``--anchor eco``, the
default): the DustPedia-calibrated corrections are shifted by the offset between
DustPedia's masses and those of the ECO-calibrated ``sdss`` model on DustPedia's
calibration half. Only the ``correction`` and ``intrinsic_scatter_dex`` fields of the
bundles' JSON files change; the arrays are not touched.

Usage::

    python scripts/calibrate_bundled.py                    # fit and print, write nothing
    python scripts/calibrate_bundled.py --compare-degrees  # degrees 0-2, scored per half
    python scripts/calibrate_bundled.py --write            # refit and save the bundles
    python scripts/calibrate_bundled.py --docs             # refresh docs/validation.rst

The catalogues are read from ``$ASTROPY_SMASS_DATA`` or ``../shared/data``.
"""

import argparse
import sys
from pathlib import Path

# validation/ is maintainer tooling in the repository, not part of the installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from astropy_smass import available_models, load_model  # noqa: E402
from validation import (  # noqa: E402
    BUNDLED_ANCHOR,
    CALIBRATION_PLAN,
    CATALOGUES,
    SPLIT_SEED,
    calibrate_bundled,
    compare_degrees,
    split_halves,
    update_docs,
)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "validation.rst"


def describe(name, model):
    c = model.correction
    info = c.provenance
    text = (f"{name:16s} {info.get('catalogue', '?'):10s} degree {info.get('degree', '?')} "
            f"coefficients {' '.join(f'{v:+.4f}' for v in c.coefficients)} pivot "
            f"{c.pivot:.3f} range {c.fit_range[0]:.2f}-{c.fit_range[1]:.2f} "
            f"n_used {info.get('n_used', '-')} intrinsic {model.intrinsic_scatter:.3f} dex")
    if "borrowed_from" in info:
        text += f" (borrowed from {info['borrowed_from']})"
    if info.get("scale_shift_dex"):
        text += f" (shifted {info['scale_shift_dex']:+.3f} dex to {info['scale_anchor']})"
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--degree", type=int, default=1,
                        help="highest polynomial degree (default 1; lowered for few galaxies)")
    parser.add_argument("--seed", type=int, default=SPLIT_SEED, help="split seed")
    parser.add_argument("--compare-degrees", action="store_true",
                        help="fit degrees 0, 1, 2 on the calibration half and score them on "
                             "the evaluation half")
    parser.add_argument("--write", action="store_true", help="save the calibrated bundles")
    parser.add_argument("--anchor", choices=["eco", "none"], default=BUNDLED_ANCHOR,
                        help="put every model on this catalogue's mass scale (default "
                             f"{BUNDLED_ANCHOR}); 'none' leaves each model on the scale of "
                             "the catalogue that calibrates it")
    parser.add_argument("--docs", action="store_true",
                        help=f"rewrite the generated part of {DOCS.name}")
    args = parser.parse_args(argv)

    present = available_models()
    if not any(name in present for name in CALIBRATION_PLAN):
        sys.exit("no bundled model of the calibration plan is installed")
    if args.compare_degrees:
        for name, catalogue in CALIBRATION_PLAN.items():
            if name not in present:
                continue
            spec = CATALOGUES[catalogue]
            calibration, evaluation = split_halves(spec.load(), spec.key, args.seed)
            table = compare_degrees(load_model(present[name]).replace(correction=None),
                                    calibration, evaluation, spec.reference,
                                    reference_error=spec.reference_error,
                                    **spec.predict_kwargs)
            print(f"\n{name} (calibrated on {spec.name}; scores on the evaluation half):")
            table.pprint(max_width=-1)
    if args.write or not (args.compare_degrees or args.docs):
        anchor = None if args.anchor == "none" else args.anchor
        calibrated = calibrate_bundled(degree=args.degree, seed=args.seed, write=args.write,
                                       anchor=anchor)
        for name, model in calibrated.items():
            print(describe(name, model))
        offsets = next(iter(calibrated.values())).correction.provenance.get(
            "catalogue_offsets_dex", {}) if calibrated else {}
        for pair, value in offsets.items():
            print(f"measured offset {pair}: {value:+.3f} dex")
        if args.write:
            print("bundles written")
    if args.docs:
        changed = update_docs(DOCS, seed=args.seed)
        print(f"{DOCS} {'updated' if changed else 'already current'}")


if __name__ == "__main__":
    main()
