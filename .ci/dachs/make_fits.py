#!/usr/bin/env python3
"""Convert hatlas_gama_fields.txt into a FITS binary table for DaCHS.

Usage: make_fits.py INPUT.txt OUTPUT.fits

Input format (inspected, not guessed): one header line, then rows whose fields
are separated by exactly ONE space; an empty field (two consecutive spaces, or
a leading/trailing space) means "missing".  Every row has 42 fields.

Trap: astropy's whitespace readers (``format='basic'``, ``'csv'`` with
``delimiter=' '``, ``pandas.read_csv(sep=r'\\s+')``) collapse runs of spaces,
so the values after a missing field silently shift one column to the left (the
csv reader even "succeeds" and pads the last columns with masked values).  We
therefore turn every single space into a comma and read that as CSV, in which
empty fields become masked values.

Output: column names unchanged (DaCHS lower-cases them in the database), fluxes
and errors as float64 in mJy with NaN for missing values, ``redshift``
dimensionless, ``id`` a string.  Works with astropy >= 5.2 (Debian 12 python3-
astropy as well as the project venv).
"""
import sys

import numpy as np
from astropy import units as u
from astropy.io import ascii
from astropy.table import Table

NFIELDS = 42


def read_hatlas(path):
    with open(path, encoding="ascii") as fh:
        lines = fh.read().splitlines()
    lines = [ln for ln in lines if ln.strip()]
    header = lines[0].split(" ")
    if len(header) != NFIELDS or header[0] != "id" or header[1] != "redshift":
        raise ValueError(f"unexpected header in {path}: {header[:4]}... ({len(header)} fields)")
    for i, ln in enumerate(lines[1:], start=2):
        n = len(ln.split(" "))
        if n != NFIELDS:
            raise ValueError(f"{path}:{i}: {n} single-space separated fields, expected {NFIELDS}")
    csv_text = "\n".join(ln.replace(" ", ",") for ln in lines)
    raw = ascii.read(csv_text, format="csv", fast_reader=False,
                     converters={"id": [ascii.convert_numpy(str)]})
    if raw.colnames != header:
        raise ValueError("column names changed while reading")

    out = Table()
    out["id"] = np.asarray(raw["id"], dtype=str)
    for name in header[1:]:
        col = raw[name]
        # a column that is entirely empty (PACS_blue) comes back as int/str: force float
        data = np.ma.MaskedArray(col).astype(float) if col.dtype.kind in "fiu" else \
            np.ma.masked_all(len(col), dtype=float)
        if col.dtype.kind not in "fiu" and not np.all(np.ma.getmaskarray(col)):
            raise ValueError(f"column {name} is neither numeric nor empty")
        values = np.ma.filled(data, np.nan).astype(np.float64)
        out[name] = values if name == "redshift" else values * u.mJy
    out["id"].description = "H-ATLAS source identifier"
    out.meta["ORIGIN"] = "astropy-smass .ci/dachs/make_fits.py"
    return out


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    t = read_hatlas(argv[1])
    if len(set(t["id"])) != len(t):
        raise ValueError("ids are not unique")
    t.write(argv[2], format="fits", overwrite=True)
    nmiss = {c: int(np.isnan(t[c]).sum()) for c in t.colnames[1:] if np.isnan(t[c]).any()}
    print(f"make_fits.py: wrote {argv[2]}: {len(t)} rows, {len(t.colnames)} columns; "
          f"NaN counts: {nmiss}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
