#!/usr/bin/env python3
"""Convert the shared catalogues into FITS binary tables for DaCHS.

Usage: make_fits.py INPUT.txt OUTPUT.fits          H-ATLAS (hatlas/q.rd)
       make_fits.py --eco eco_dev.csv OUTPUT.fits   ECO, SDSS-style names (eco/q.rd)

Input format (inspected, not guessed): one header line, then rows whose fields
are separated by exactly ONE space; an empty field (two consecutive spaces, or
a leading/trailing space) means "missing".  Every row has 42 fields.

Trap: astropy's whitespace readers (``format='basic'``, ``'csv'`` with
``delimiter=' '``, ``pandas.read_csv(sep=r'\\s+')``) collapse runs of spaces,
so the values after a missing field silently shift one column to the left (the
csv reader even "succeeds" and pads the last columns with masked values).  We
therefore turn every single space into a comma and read that as CSV, in which
empty fields become masked values.

H-ATLAS positions: the file has none. For the cross-match tests every source gets a
SYNTHETIC position (``ra``, ``dec``), drawn uniformly inside the GAMA field its id
names (G09, G12, G15) from a hash of the id: reproducible, and NOT the sky position
of the source.  The column descriptions in hatlas/q.rd say so.

Output: column names unchanged (DaCHS lower-cases them in the database), fluxes
and errors as float64 in mJy with NaN for missing values, ``redshift``
dimensionless, ``id`` a string.  Works with astropy >= 5.2 (Debian 12 python3-
astropy as well as the project venv).
"""
import hashlib
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
    ra, dec = synthetic_positions(out["id"])
    out["ra"], out["dec"] = ra * u.deg, dec * u.deg
    out.meta["ORIGIN"] = "astropy-smass .ci/dachs/make_fits.py"
    return out


#: GAMA II equatorial fields: (RA min, RA max, Dec min, Dec max) in degrees.
GAMA_FIELDS = {"G09": (129.0, 141.0, -2.0, 3.0), "G12": (174.0, 186.0, -3.0, 2.0),
               "G15": (211.5, 223.5, -2.0, 3.0)}


def synthetic_positions(ids):
    """Reproducible positions, uniform on the sphere inside each id's GAMA field."""
    ra, dec = np.empty(len(ids)), np.empty(len(ids))
    for k, name in enumerate(ids):
        field = str(name).split(".")[0]
        ra0, ra1, dec0, dec1 = GAMA_FIELDS[field]
        digest = hashlib.sha256(str(name).encode()).digest()
        a, b = (int.from_bytes(digest[i:i + 8], "big") / 2.0 ** 64 for i in (0, 8))
        ra[k] = ra0 + a * (ra1 - ra0)
        s0, s1 = np.sin(np.radians(dec0)), np.sin(np.radians(dec1))
        dec[k] = np.degrees(np.arcsin(s0 + b * (s1 - s0)))
    return ra, dec


def read_eco(path):
    """ECO DR1 (developer split) with SDSS PhotoObj/SpecObj-style and 2MASS-style names.

    ``umag``..``zmag`` become ``modelMag_u``..``modelMag_z`` (AB), ``Jmag`` ``Hmag``
    ``Kmag`` become 2MASS ``j_m`` ``h_m`` ``k_m`` (Vega, as 2MASS publishes them), the
    redshift ``z`` is cz/c.  ECO writes 0.00 for a missing magnitude: NaN here (NULL in
    the database).
    """
    raw = ascii.read(path, format="csv", fast_reader=False,
                     converters={"econame": [ascii.convert_numpy(str)]})
    out = Table()
    out["objid"] = np.asarray(raw["econame"], dtype=str)
    out["ra"] = np.asarray(raw["ra"], dtype=float) * u.deg
    out["dec"] = np.asarray(raw["dec"], dtype=float) * u.deg
    out["z"] = np.asarray(raw["cz_kms"], dtype=float) / 299792.458
    names = {"umag": "modelMag_u", "gmag": "modelMag_g", "rmag": "modelMag_r",
             "imag": "modelMag_i", "zmag": "modelMag_z", "Jmag": "j_m", "Hmag": "h_m",
             "Kmag": "k_m"}
    for source, target in names.items():
        values = np.asarray(raw[source], dtype=float)
        out[target] = np.where(values == 0.0, np.nan, values) * u.mag
    out.meta["ORIGIN"] = "astropy-smass .ci/dachs/make_fits.py --eco"
    return out


def main(argv):
    eco = len(argv) == 4 and argv[1] == "--eco"
    if eco:
        argv = argv[:1] + argv[2:]
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    t = read_eco(argv[1]) if eco else read_hatlas(argv[1])
    if len(set(t[t.colnames[0]])) != len(t):
        raise ValueError("ids are not unique")
    t.write(argv[2], format="fits", overwrite=True)
    nmiss = {c: int(np.isnan(t[c]).sum()) for c in t.colnames[1:]
             if t[c].dtype.kind == "f" and np.isnan(t[c]).any()}
    print(f"make_fits.py: wrote {argv[2]}: {len(t)} rows, {len(t.colnames)} columns; "
          f"NaN counts: {nmiss}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
