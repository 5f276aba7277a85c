#!/usr/bin/env python
"""Mass-scale offsets and uncertainty coverage of the bundled models on the real catalogues.

Every reference catalogue's masses are first moved onto the package's scale (Chabrier
IMF, living stars + remnants) with the constants of ``astropy_smass.massscale``. Then,
on each catalogue's evaluation half, per catalogue and per model:

* the median offset of the raw and the corrected network from the reference, before
  and after that conversion, and the spread of the converted offsets between
  catalogues: the measured value for ``astropy_smass.massscale.SYSTEMATIC_DEX``;
* the 1-sigma coverage of ``logmstar_err`` under the default options (reference error
  in quadrature where given), with and without the systematic part, and the PIT.

Usage::

    python scripts/scale_coverage.py                     # print the tables
    python scripts/scale_coverage.py eco dustpedia       # only these catalogues
    python scripts/scale_coverage.py --docs              # refresh docs/validation.rst

The catalogues are read from ``$ASTROPY_SMASS_DATA`` or ``../shared/data``.
"""

import argparse
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from validation import coverage as C  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs" / "validation.rst"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("catalogues", nargs="*", default=list(C.DEFAULT_CATALOGUES),
                        help="keys of validation.CATALOGUES (default: every one with masses)")
    parser.add_argument("--half", default="evaluation", choices=("evaluation", "calibration"))
    parser.add_argument("--docs", action="store_true", help=f"rewrite the section of {DOCS}")
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        offsets = C.scale_offsets(args.catalogues, half=args.half)
        coverage = C.coverage_table(args.catalogues, half=args.half)
    systematic = C.systematic_from_offsets(offsets)
    text = C.coverage_rst(offsets, coverage, systematic)
    print(text)
    print(f"measured systematic (std of corrected offsets after conversion): {systematic:.4f} "
          f"dex; raw: {C.systematic_from_offsets(offsets, 'raw'):.4f} dex")
    if args.docs:
        C.update_docs(DOCS, text)
        print(f"updated {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
