"""Maintainer check of the band registry against the filter curves and the extinction law.

The registry (`astropy_smass.photometry.bands`) stores each band's pivot wavelength and
A_band / E(B-V) so that predicting needs neither the curves nor ``dust_extinction``. This
script recomputes both from astro-sedpy / speclite and ``dust_extinction`` (the ``train``
extra) and prints them beside the stored values; it exits with status 1 when a stored
value is off (pivot by more than 1e-4 relative, coefficient by more than 6e-4), which is
when the registry must be rewritten from its output. The test suite makes the same check
(tests/test_survey_bands.py)::

    python -m validation.band_registry
"""

import sys

from astropy_smass.photometry.bands import ALL_BANDS, recompute_registry


def main():
    print(f"{'band':20s} {'filter':22s} {'pivot':>9s} {'(stored)':>9s} {'A/E(B-V)':>9s} "
          f"{'(stored)':>9s}")
    bad = []
    for key, (pivot, a_over_ebv) in recompute_registry().items():
        band = ALL_BANDS[key]
        stored = band.pivot.to_value("AA")
        off = abs(pivot - stored) > 1e-4 * stored or abs(a_over_ebv - band.a_over_ebv) > 6e-4
        if off:
            bad.append(key)
        print(f"{key:20s} {band.filter_id:22s} {pivot:9.1f} {stored:9.1f} "
              f"{a_over_ebv:9.3f} {band.a_over_ebv:9.3f}{'  <-- off' if off else ''}")
    if bad:
        print(f"stored values off for {', '.join(bad)}: rewrite them in "
              "astropy_smass/photometry/bands.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
