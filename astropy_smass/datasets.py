"""Small real catalogues shipped with astropy-smass for demonstrations.

The demo catalogue holds the H-ATLAS galaxies of the GAMA G09, G12 and G15 fields
that Dobbels et al. (2020) used as input to FIREnet: GALEX, SDSS, 2MASS, WISE and
Herschel flux densities in mJy with 1-sigma errors, and redshifts rounded to 0.01.
These galaxies have no SED-fit stellar masses, which is the case astropy-smass is
for. The file ``data/demo/hatlas_gama.ecsv`` was made from the text file of the
wdobbels/FIREnet repository (MIT licence) by `read_hatlas_text`; it holds the
developer half of the catalogue only.

    >>> from astropy_smass.datasets import load_demo
    >>> demo = load_demo()
    >>> len(demo)
    3618
    >>> demo["r_prime"].unit
    Unit("mJy")
"""

from importlib import resources

import astropy.units as u
import numpy as np
from astropy.io import ascii
from astropy.table import MaskedColumn, QTable

from .exceptions import TableReadError

__all__ = ["load_demo", "demo_path", "read_hatlas_text", "DEMO_REFERENCES"]

#: Papers to cite when showing results on the demo catalogue.
DEMO_REFERENCES = (
    "Dobbels W. et al., 2020, A&A 634, A57 (FIREnet; this galaxy sample and its photometry)",
    "Eales S. et al., 2010, PASP 122, 499 (Herschel-ATLAS)",
    "Driver S. P. et al., 2011, MNRAS 413, 971 (Galaxy And Mass Assembly, GAMA)",
)

# Band columns of the text file: (name, instrument and band, UCD band word, pivot nm).
_BANDS = [
    ("FUV", "GALEX FUV", "em.UV.100-200nm", 153),
    ("NUV", "GALEX NUV", "em.UV.200-300nm", 231),
    ("u_prime", "SDSS u", "em.opt.U", 355),
    ("g_prime", "SDSS g", "em.opt.B", 469),
    ("r_prime", "SDSS r", "em.opt.R", 617),
    ("i_prime", "SDSS i", "em.opt.I", 749),
    ("z_prime", "SDSS z", "em.opt.I", 895),
    ("J_2mass", "2MASS J", "em.IR.J", 1236),
    ("H_2mass", "2MASS H", "em.IR.H", 1646),
    ("Ks_2mass", "2MASS Ks", "em.IR.K", 2160),
    ("WISE1", "WISE W1 (3.4 um)", "em.IR.3-4um", 3368),
    ("WISE2", "WISE W2 (4.6 um)", "em.IR.4-8um", 4618),
    ("WISE3", "WISE W3 (12 um)", "em.IR.8-15um", 12072),
    ("WISE4", "WISE W4 (22 um)", "em.IR.15-30um", 22194),
    ("PACS_blue", "Herschel PACS 70 um", "em.IR.60-100um", 70000),
    ("PACS_green", "Herschel PACS 100 um", "em.IR.60-100um", 100000),
    ("PACS_red", "Herschel PACS 160 um", "em.IR.100-200um", 160000),
    ("PSW_HIPE", "Herschel SPIRE 250 um", "em.IR.200-400um", 250000),
    ("PMW_HIPE", "Herschel SPIRE 350 um", "em.IR.200-400um", 350000),
    ("PLW_HIPE", "Herschel SPIRE 500 um", "em.IR.400-1000um", 500000),
]
_N_FIELDS = 2 + 2 * len(_BANDS)


def demo_path():
    """Path of the shipped demo catalogue (ECSV)."""
    return resources.files("astropy_smass") / "data" / "demo" / "hatlas_gama.ecsv"


def load_demo():
    """The H-ATLAS GAMA-field galaxies, as a `~astropy.table.QTable`.

    Returns
    -------
    `~astropy.table.QTable`
        3618 galaxies in file order: ``id``, ``redshift`` (dimensionless, rounded
        to 0.01) and, for each of FUV NUV u g r i z J H Ks W1-W4 and the five
        Herschel bands, the flux density and its 1-sigma error (``<band>_err``) in
        mJy, masked where not measured. Columns carry descriptions and UCDs;
        ``meta`` holds the references to cite (`DEMO_REFERENCES`).
    """
    with resources.as_file(demo_path()) as path:
        return QTable.read(path, format="ascii.ecsv")


def read_hatlas_text(path):
    """Read the FIREnet H-ATLAS text file into a table with units and masks.

    Fields are separated by exactly one space and an empty field (two spaces in a
    row, or one at the end of a line) is a missing value. Whitespace-splitting
    readers merge those runs and shift every later value one column to the left,
    so each line is split on single spaces here and every row is checked to have
    all its fields.

    Parameters
    ----------
    path : path-like
        ``hatlas_gama_fields.txt``.

    Returns
    -------
    `~astropy.table.QTable`
        As `load_demo`.

    Raises
    ------
    ValueError
        If the header or a row does not have the expected fields.
    """
    with open(path, encoding="ascii") as handle:
        lines = [line.rstrip("\r\n") for line in handle if line.strip()]
    header = lines[0].split(" ")
    expected = ["id", "redshift"] + [f"{n}{s}" for n, *_ in _BANDS for s in ("", "_err")]
    if header != expected:
        raise TableReadError(f"{path}: unexpected header {header[:4]}... ({len(header)} fields)")
    for number, line in enumerate(lines[1:], start=2):
        if len(line.split(" ")) != _N_FIELDS:
            raise TableReadError(f"{path}:{number}: {len(line.split(' '))} fields, expected "
                                 f"{_N_FIELDS}")
    # One space is one delimiter: as CSV, an empty field is a masked value.
    raw = ascii.read([line.replace(" ", ",") for line in lines], format="csv",
                     fast_reader=False, converters={"id": [ascii.convert_numpy(str)]})

    table = QTable(meta={
        "name": "hatlas_gama",
        "description": "H-ATLAS galaxies in the GAMA G09, G12 and G15 fields with GALEX, "
                       "SDSS, 2MASS, WISE and Herschel flux densities (mJy) and redshifts "
                       "rounded to 0.01: the input sample of FIREnet (Dobbels et al. 2020), "
                       "developer half. Demo data of astropy-smass.",
        "source": "https://github.com/wdobbels/FIREnet (MIT licence), hatlas_gama_fields.txt",
        "references": list(DEMO_REFERENCES),
    })
    table["id"] = np.asarray(raw["id"], dtype=str)
    table["id"].info.description = "H-ATLAS source identifier (GAMA field, DR1 number)"
    table["id"].info.meta = {"ucd": "meta.id;meta.main"}
    table["redshift"] = _float_column(raw["redshift"])
    table["redshift"].info.description = "Redshift, rounded to 0.01"
    table["redshift"].info.meta = {"ucd": "src.redshift"}
    for name, label, ucd_band, _ in _BANDS:
        for suffix in ("", "_err"):
            col = _float_column(raw[name + suffix], u.mJy)
            what = "Flux density" if not suffix else "1-sigma error of the flux density"
            col.description = f"{what} in {label}; masked where not measured"
            col.meta = {"ucd": ("stat.error;" if suffix else "") +
                        f"phot.flux.density;{ucd_band}"}
            table[name + suffix] = col
    return table


def _float_column(raw, unit=None):
    # A column with no value at all (PACS 70 um) is read as strings: all masked.
    mask = np.ma.getmaskarray(raw)
    if raw.dtype.kind in "iuf":
        values = np.ma.getdata(raw).astype(float)
    elif mask.all():
        values = np.zeros(len(raw))
    else:
        raise TableReadError(f"column {raw.info.name!r} is neither numeric nor empty")
    return MaskedColumn(np.where(mask, 0.0, values), mask=mask, unit=unit, dtype=float)
