#!/usr/bin/env python
"""Fit the bundled models' bias corrections on real galaxies, and report the validation.

Each bundled model is calibrated on the calibration half of its catalogue
(``astropy_smass.validation.CALIBRATION_PLAN``: ECO for ``sdss`` and ``sdss_2mass``,
DustPedia for ``full_2mass``, ``galex_sdss_wise`` and ``sdss_wise``); the VISTA
models, which no catalogue here can calibrate, borrow their 2MASS twin's correction.
Only the ``correction`` and ``intrinsic_scatter_dex`` fields of the bundles change.

Usage::

    python scripts/calibrate_bundled.py --compare-degrees   # choose the degree
    python scripts/calibrate_bundled.py --write             # refit and save the bundles
    python scripts/calibrate_bundled.py --write --anchor eco  # ... all on ECO's mass scale
    python scripts/calibrate_bundled.py --docs              # refresh docs/validation.rst

The catalogues are read from ``$ASTROPY_SMASS_DATA`` or ``../shared/data``.
"""

import argparse
import sys
from pathlib import Path

from astropy_smass import available_models, load_model
from astropy_smass.validation import (
    CALIBRATION_PLAN,
    CATALOGUES,
    SPLIT_SEED,
    calibrate_bundled,
    compare_degrees,
    split_halves,
    update_docs,
)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "validation.rst"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--degree", type=int, default=1, help="polynomial degree (default 1)")
    parser.add_argument("--seed", type=int, default=SPLIT_SEED, help="split seed")
    parser.add_argument("--compare-degrees", action="store_true",
                        help="fit degrees 0, 1, 2 on the calibration half and score them on "
                             "the evaluation half")
    parser.add_argument("--write", action="store_true", help="save the calibrated bundles")
    parser.add_argument("--anchor", choices=["eco"], default=None,
                        help="put every model on this catalogue's mass scale (default: each "
                             "model on the scale of the catalogue that calibrates it)")
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
        calibrated = calibrate_bundled(degree=args.degree, seed=args.seed, write=args.write,
                                       anchor=args.anchor)
        for name, model in calibrated.items():
            c = model.correction
            print(f"{name:16s} {c.provenance.get('catalogue', '?'):10s} coefficients "
                  f"{' '.join(f'{v:+.4f}' for v in c.coefficients)} pivot {c.pivot:.3f} "
                  f"range {c.fit_range[0]:.2f}-{c.fit_range[1]:.2f} "
                  f"n_used {c.provenance.get('n_used', '-')} "
                  f"intrinsic {model.intrinsic_scatter:.3f} dex"
                  + (" (borrowed)" if "borrowed_from" in c.provenance else "")
                  + (f" (shifted {c.provenance['scale_shift_dex']:+.3f} dex to "
                     f"{c.provenance['scale_anchor']})" if "scale_anchor" in c.provenance
                     else ""))
        if args.write:
            print("bundles written")
    if args.docs:
        changed = update_docs(DOCS, seed=args.seed)
        print(f"{DOCS} {'updated' if changed else 'already current'}")


if __name__ == "__main__":
    main()
