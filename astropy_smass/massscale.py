r"""Stellar-mass scales: the package's own, the ones users may ask for, and the references'.

A stellar mass means nothing without its **initial mass function** (IMF) and its
**definition** (which stars it counts). This module states both for astropy-smass and
for every reference catalogue the package is calibrated or validated on, with the
constants that move a mass from one scale to another.

The package's scale
-------------------
``logmstar`` is log10 of the **current stellar mass, living stars plus stellar remnants**
(white dwarfs, neutron stars, black holes; not the gas stars have returned to the
interstellar medium), for a **Chabrier (2003) IMF**, in Msun, with distances for
H0 = 70 km/s/Mpc where a catalogue gives redshifts. This is how the training population
is defined (`astropy_smass.training.population`): Bagpipes' living mass plus remnants
from the Renzini & Ciotti (1993) initial-final mass relation, converted from Bagpipes'
Kroupa (2001) IMF to Chabrier with the Madau & Dickinson (2014) factors.

Conversions
-----------
All offsets are ``log10(M_other / M_package)`` **at fixed photometry**, in dex, so a
package mass moves to another scale by *adding* the offset and a reference mass on
another scale moves to the package's by *subtracting* it (`to_package_scale`):

* IMF (`IMFS`): stellar masses for the same light scale as the IMF's mass per unit
  light. The package uses the factors of Madau & Dickinson (2014, ARA&A 52, 415, sect.
  3.1): Chabrier = 0.61 x Salpeter and Kroupa = 0.66 x Salpeter (the same table the
  training population uses for its Kroupa-to-Chabrier step), and the "diet" Salpeter
  IMF of Bell & de Jong (2001, ApJ 550, 212) = 0.70 x Salpeter. These are constants by
  convention: Bruzual & Charlot (2003) SSP tables give Salpeter/Chabrier M/L_V ratios of
  0.24-0.26 dex from 0.3 to 13 Gyr (``bc2003_lr_m62_{salp,chab}_ssp.4color``), a
  little more than the adopted 0.215 dex.
* Mass definition (`MASS_DEFINITIONS`): the remnant share grows with the age of the
  stars, so living-only and living-plus-remnant masses differ by a galaxy-dependent
  amount. The adopted value is the median over the package's own simulated population
  at z < 0.1 (43 455 of 200 000 galaxies of
  `~astropy_smass.training.population.draw_parameters`, population 2.0.0, seed 7,
  10^8.5-10^11.5 Msun; BC03 living fractions of Bagpipes plus Renzini & Ciotti
  remnants): living = current - 0.099 dex (16-84 per cent -0.112 to -0.083; star-forming
  median -0.089, passive -0.109; 2.5-97.5 per cent -0.126 to -0.067), and total formed
  mass = current + 0.213 dex (0.197 to 0.223). The half-width of the 16-84 range is
  the conversion's own uncertainty (`MassDefinition.scatter_dex`).

Reference catalogues
--------------------
`REFERENCE_SCALES` records what each catalogue's masses are, from its papers and,
where the papers could not be read here, from the public code and data products that
made them; ``status`` says how firmly each item is established.

The systematic term
-------------------
After conversion, reference catalogues still disagree by a few hundredths of a dex or
more (SPS models, star-formation histories, dust, photometry). `SYSTEMATIC_DEX` is the
1-sigma size of that residual scale difference; it is reported as ``logmstar_err_sys``
and included in ``logmstar_err`` (see `total_uncertainty`). **Its value is
provisional** until measured from the spread of the catalogues' median offsets after
conversion (``validation.coverage.scale_offsets``). It is the default of the
configuration item ``astropy_smass.conf.conf.systematic_dex``, which users may change
(``conf.set_temp``, or ``~/.astropy/config/astropy_smass.cfg``).
"""

import math
from dataclasses import dataclass, field

import numpy as np

from .exceptions import InputError

__all__ = ["IMF", "MassDefinition", "ReferenceScale", "IMFS", "MASS_DEFINITIONS",
           "PACKAGE_IMF", "PACKAGE_MASS_DEFINITION", "SYSTEMATIC_DEX", "REFERENCE_SCALES",
           "MassScale", "resolve_scale", "scale_offset", "to_package_scale",
           "from_package_scale", "total_uncertainty", "scale_table"]


@dataclass(frozen=True)
class IMF:
    """An initial mass function and its mass offset from Chabrier (2003).

    Parameters
    ----------
    key : str
        Name accepted by ``imf=`` (lower case).
    label : str
        Human-readable name with its reference.
    offset_dex : float
        ``log10(M_this / M_Chabrier)`` at fixed photometry (dex).
    citation : str
        Source of ``offset_dex``.
    """

    key: str
    label: str
    offset_dex: float
    citation: str


@dataclass(frozen=True)
class MassDefinition:
    """Which stars a stellar mass counts, and its offset from living + remnants.

    Parameters
    ----------
    key : str
        Name accepted by ``mass_definition=``.
    label : str
        Human-readable description.
    offset_dex : float
        Typical ``log10(M_this / M_living+remnants)`` (dex).
    scatter_dex : float
        Half-width of the 16-84 per cent range of that offset over galaxies (dex): the
        uncertainty a single constant leaves.
    range_dex : tuple of float
        16th and 84th percentiles of the offset (dex).
    citation : str
        Source of the numbers.
    user : bool
        Whether predictions may be asked for on this definition.
    """

    key: str
    label: str
    offset_dex: float
    scatter_dex: float
    range_dex: tuple
    citation: str
    user: bool = True


_MD14 = ("Madau & Dickinson 2014, ARA&A 52, 415, sect. 3.1: M_Chabrier = 0.61 M_Salpeter, "
         "M_Kroupa = 0.66 M_Salpeter")

#: IMFs a mass can be given for, keyed by the name ``imf=`` takes.
IMFS = {
    "chabrier": IMF("chabrier", "Chabrier (2003)", 0.0,
                    "Chabrier 2003, PASP 115, 763 (the package's IMF)"),
    "kroupa": IMF("kroupa", "Kroupa (2001)", math.log10(0.66 / 0.61), _MD14),
    "salpeter": IMF("salpeter", "Salpeter (1955), 0.1-100 Msun", math.log10(1.0 / 0.61), _MD14),
    "diet-salpeter": IMF("diet-salpeter", "diet Salpeter (Bell & de Jong 2001)",
                         math.log10(0.70 / 0.61),
                         "Bell & de Jong 2001, ApJ 550, 212: M_diet = 0.70 M_Salpeter; "
                         + _MD14),
}

_POPULATION = ("astropy_smass.training.population 2.0.0: the 43 455 galaxies at z < 0.1 of "
               "200 000 drawn by draw_parameters (seed 7), 10^8.5-10^11.5 Msun; Bagpipes BC03 "
               "living fractions, Renzini & Ciotti 1993 remnants")

#: Mass definitions, keyed by the name ``mass_definition=`` takes.
MASS_DEFINITIONS = {
    "living+remnants": MassDefinition(
        "living+remnants", "current stellar mass: living stars + stellar remnants", 0.0, 0.0,
        (0.0, 0.0), "the package's definition (astropy_smass.training.population)"),
    "living": MassDefinition(
        "living", "living stars only (no remnants)", -0.099, 0.015, (-0.112, -0.083),
        _POPULATION),
    "formed": MassDefinition(
        "formed", "total mass ever formed (integral of the star-formation history)", 0.213,
        0.013, (0.197, 0.223), _POPULATION, user=False),
}

#: The package's own IMF and mass definition (keys of `IMFS` and `MASS_DEFINITIONS`).
PACKAGE_IMF = "chabrier"
PACKAGE_MASS_DEFINITION = "living+remnants"

#: 1-sigma residual scale difference between reference systems after conversion (dex):
#: ``logmstar_err_sys``. PROVISIONAL, to be set on the final models: the standard
#: deviation of the five reference catalogues' median offsets after conversion was
#: 0.019 dex with the models bundled when this was written
#: (``validation.coverage.systematic_from_offsets``), and DustPedia - ECO at fixed
#: photometry, through the model they share, 0.024 dex.
SYSTEMATIC_DEX = 0.02


@dataclass(frozen=True)
class ReferenceScale:
    """The stellar-mass scale of a reference catalogue.

    Parameters
    ----------
    catalogue : str
        Short name (a key of the validation catalogues where there is one).
    imf : str or None
        Key of `IMFS`; None where it could not be established.
    mass_definition : str or None
        Key of `MASS_DEFINITIONS`; None where it could not be established.
    sed_code : str
        SED-fitting code and stellar population models.
    h : float or None
        Hubble constant / 100 km/s/Mpc of the masses.
    sources : str
        Papers, data products or code the entries come from.
    status : dict
        For ``imf`` and ``mass_definition``: how each was established ("stated in ...",
        "from the code ...", "assumed: ...").
    note : str
    """

    catalogue: str
    imf: str
    mass_definition: str
    sed_code: str
    h: float
    sources: str
    status: dict = field(default_factory=dict)
    note: str = ""

    @property
    def offset_dex(self):
        """``log10(M_reference / M_package)`` at fixed photometry (dex); NaN if unknown."""
        if self.imf is None or self.mass_definition is None:
            return float("nan")
        return scale_offset(self.imf, self.mass_definition, allow_reference=True)


#: What each reference catalogue's masses are.
REFERENCE_SCALES = {
    "eco": ReferenceScale(
        "ECO", "chabrier", "living+remnants",
        "Kannappan & Gawiser (2007) SED fitting as updated by Kannappan et al. (2013): grid of "
        "Bruzual & Charlot (2003) models (old + young populations), likelihood-weighted "
        "median mass", 0.7,
        "Moffett et al. 2015, ApJ 812, 89; Eckert et al. 2016, ApJ 824, 124; Kannappan et "
        "al. 2013, ApJ 777, 42",
        {"imf": "Chabrier as recalled from the RESOLVE/ECO papers (Eckert et al. 2015, 2016); "
                "not re-read here: their method sections could not be retrieved",
         "mass_definition": "assumed living + remnants: BC03's tabulated M* (column 7 of its "
                            "*.4color files, M* + Mgas = 1) is that; the papers do not say "
                            "otherwise in what could be read"},
        "h = 0.7 stated in the shared data README."),
    "dustpedia": ReferenceScale(
        "DustPedia", "salpeter", "living+remnants",
        "CIGALE (Boquien et al. 2019) with Bruzual & Charlot (2003) SSPs, delayed SFH + "
        "burst/truncation, THEMIS dust", None,
        "Nersesian et al. 2019, A&A 624, A80; Clark et al. 2018, A&A 609, A37",
        {"imf": "Salpeter as reported for the DustPedia CIGALE run (shared data README); the "
                "offset of the catalogue from ECO-scale masses, +0.21 dex at fixed "
                "photometry, matches Salpeter/Chabrier (0.215); Nersesian et al.'s table "
                "could not be read here",
         "mass_definition": "from the code: CIGALE's BC03 stellar mass is BC03 column 7 "
                            "(M*, living + remnants; cigale database_builder reads "
                            "color4_table[6])"},
        "Distances are per galaxy (redshift-independent where available), not an H0 scale."),
    "gama": ReferenceScale(
        "GAMA", "chabrier", "living+remnants",
        "Taylor et al. (2011) SED fits: Bruzual & Charlot (2003) models, exponentially "
        "declining SFHs, Calzetti dust; GAMA DR4 (Driver et al. 2022) ProSpect masses", 0.7,
        "Taylor et al. 2011, MNRAS 418, 1587; Driver et al. 2022, MNRAS 513, 439",
        {"imf": "Chabrier, stated in Taylor et al. 2011 and Driver et al. 2022",
         "mass_definition": "assumed living + remnants (BC03 M*); ProSpect (Driver et al. "
                            "2022) not checked"},
        "The training population's mass function is GAMA DR4's (h = 0.7)."),
    "desi": ReferenceScale(
        "DESI PROVABGS", "chabrier", "living+remnants",
        "PROVABGS (Hahn et al. 2023): FSPS with MIST isochrones, non-parametric (NMF) SFH + "
        "burst, spectrum + photometry", None,
        "Hahn et al. 2023, ApJ 945, 16; DESI EDR PROVABGS catalogue; code "
        "github.com/changhoonhahn/provabgs",
        {"imf": "from the code: fsps.StellarPopulation(imf_type=1), Chabrier",
         "mass_definition": "from the code: logmstar_provabgs is PROVABGS_LOGMSTAR_BF "
                            "(ValeriaTorresG/SimpleStellarMassModel write_data.py); the "
                            "PROVABGS SV3 pipeline (svda/bin/4_va_hpix.py) computes logMstar_bf "
                            "as the *surviving* mass, sum of formed mass x FSPS "
                            "StellarPopulation.stellar_mass, which includes remnants by "
                            "default (add_stellar_remnants). Not the total formed mass."},
        "Planck13 cosmology in the PROVABGS fits."),
    "des": ReferenceScale(
        "DES SN hosts", "kroupa", "living+remnants",
        "PEGASE.2 templates (Fioc & Rocca-Volmerange) fitted to DES griz (Z-PEG style; Smith "
        "et al. 2020, Wiseman et al. 2020, Kelsey et al. 2023)", None,
        "DES-SN5YR data release (HOSTGAL_LOGMASS); Smith et al. 2020, MNRAS 494, 4426; "
        "Wiseman et al. 2020, MNRAS 495, 4040",
        {"imf": "Kroupa (2001) as reported for the DES host fits (shared data README); "
                "not re-read here",
         "mass_definition": "NOT FOUND: PEGASE.2 reports living stars and remnants "
                            "separately and the DES papers' definition could not be read "
                            "here; ASSUMED living + remnants for the conversion (were they "
                            "living stars only, the DES masses would belong 0.10 dex higher "
                            "on the package scale than converted here)"},
        "The release notes that HOSTGAL_LOGMASS_ERR is statistical only and smaller than the "
        "0.1-0.2 dex usually assumed."),
    "cosmos": ReferenceScale(
        "COSMOS2015", "chabrier", "living+remnants",
        "LePhare with Bruzual & Charlot (2003) templates, exponentially declining and "
        "delayed SFHs, Calzetti / Arnouts dust", 0.7,
        "Laigle et al. 2016, ApJS 224, 24",
        {"imf": "Chabrier, stated in Laigle et al. 2016 (recalled, not re-read here)",
         "mass_definition": "assumed living + remnants (BC03 M* as used by LePhare)"},
        "The GALPRO test set's redshifts are probably photometric."),
}


@dataclass(frozen=True)
class MassScale:
    """A resolved output scale: IMF, mass definition and the offset from the package's.

    Attributes
    ----------
    imf : `IMF`
    definition : `MassDefinition`
    offset_dex : float
        Added to package-scale masses (dex).
    conversion_scatter_dex : float
        Uncertainty of the conversion itself (dex), added to the systematic term.
    """

    imf: IMF
    definition: MassDefinition
    offset_dex: float
    conversion_scatter_dex: float

    @property
    def is_package_scale(self):
        return self.imf.key == PACKAGE_IMF and self.definition.key == PACKAGE_MASS_DEFINITION

    def describe(self):
        """A short sentence naming the IMF and the mass definition."""
        return f"{self.imf.label} IMF; {self.definition.label}"

    def meta(self):
        """The ``smass_*`` provenance items of this scale."""
        return {"smass_imf": self.imf.label, "smass_mass_definition": self.definition.label,
                "smass_scale_offset_dex": self.offset_dex}


def _lookup(name, table, what, allow_reference):
    key = str(name).strip().lower().replace("_", "-") if name is not None else None
    if what == "mass_definition" and key is not None:
        key = key.replace(" ", "")
    aliases = {"diet": "diet-salpeter", "dietsalpeter": "diet-salpeter",
               "living-remnants": "living+remnants", "current": "living+remnants",
               "surviving": "living+remnants", "living-only": "living"}
    key = aliases.get(key, key)
    entry = table.get(key)
    allowed = [k for k, v in table.items() if allow_reference or getattr(v, "user", True)]
    if entry is None or key not in allowed:
        raise InputError(f"unknown {what} {name!r}; choose one of {', '.join(allowed)}")
    return entry


def resolve_scale(imf=None, mass_definition=None):
    """The output scale for ``imf=`` and ``mass_definition=``.

    Parameters
    ----------
    imf : str, optional
        A key of `IMFS` (case-insensitive; default the package's, ``"chabrier"``).
    mass_definition : str, optional
        ``"living+remnants"`` (default) or ``"living"``.

    Returns
    -------
    `MassScale`

    Raises
    ------
    `~astropy_smass.exceptions.InputError`
        For an unknown name; the message lists the accepted ones.
    """
    imf_entry = _lookup(PACKAGE_IMF if imf is None else imf, IMFS, "imf", False)
    definition = _lookup(PACKAGE_MASS_DEFINITION if mass_definition is None
                         else mass_definition, MASS_DEFINITIONS, "mass_definition", False)
    return MassScale(imf_entry, definition, imf_entry.offset_dex + definition.offset_dex,
                     definition.scatter_dex)


def scale_offset(imf=PACKAGE_IMF, mass_definition=PACKAGE_MASS_DEFINITION,
                 allow_reference=False):
    """``log10(M_scale / M_package)`` at fixed photometry (dex).

    Parameters
    ----------
    imf : str
        A key of `IMFS`.
    mass_definition : str
        A key of `MASS_DEFINITIONS`.
    allow_reference : bool
        Also accept definitions that predictions cannot be asked for (``"formed"``).

    Returns
    -------
    float
        The IMF offset plus the mass-definition offset.
    """
    imf_entry = _lookup(imf, IMFS, "imf", True)
    definition = _lookup(mass_definition, MASS_DEFINITIONS, "mass_definition",
                         allow_reference)
    return imf_entry.offset_dex + definition.offset_dex


def to_package_scale(logmstar, catalogue):
    """Move a reference catalogue's log masses onto the package's scale.

    Parameters
    ----------
    logmstar : array-like
        log10(M*/Msun) on the catalogue's scale (dex).
    catalogue : str or `ReferenceScale`
        A key of `REFERENCE_SCALES`, or a scale.

    Returns
    -------
    numpy.ndarray
        ``logmstar - offset`` (dex): Chabrier IMF, living stars + remnants.

    Raises
    ------
    `~astropy_smass.exceptions.InputError`
        If the catalogue's IMF or mass definition is unknown (no conversion is guessed).
    """
    scale = REFERENCE_SCALES[catalogue] if isinstance(catalogue, str) else catalogue
    if scale.imf is None or scale.mass_definition is None:
        raise InputError(f"the IMF or mass definition of {scale.catalogue} is not known; "
                         "no conversion is applied")
    return np.asarray(logmstar, dtype=float) - scale.offset_dex


def from_package_scale(logmstar, imf=PACKAGE_IMF, mass_definition=PACKAGE_MASS_DEFINITION):
    """Move package-scale log masses to another IMF and mass definition (dex)."""
    return np.asarray(logmstar, dtype=float) + scale_offset(imf, mass_definition)


def total_uncertainty(photometric=None, intrinsic=0.0, systematic=0.0):
    """The total 1-sigma uncertainty of a log mass (dex).

    ``sqrt(photometric^2 + intrinsic^2 + systematic^2)``: the three parts are
    independent. A missing (None) or NaN photometric part counts as zero: the
    photometric errors are then unknown, and the total is the model's intrinsic
    scatter and the scale systematic only.

    Parameters
    ----------
    photometric : array-like or None
        Propagated photometric uncertainty (dex).
    intrinsic : float or array-like
        The model's intrinsic scatter on real galaxies (dex).
    systematic : float or array-like
        Residual scale difference between reference systems (dex).

    Returns
    -------
    numpy.ndarray
    """
    total = np.square(np.asarray(intrinsic, dtype=float)) + np.square(systematic)
    if photometric is not None:
        phot = np.asarray(photometric, dtype=float)
        total = total + np.where(np.isnan(phot), 0.0, np.square(phot))
    return np.sqrt(total)


def scale_table():
    """The reference catalogues' scales as an `~astropy.table.Table` (for the docs).

    Returns
    -------
    `~astropy.table.Table`
        Columns ``catalogue``, ``imf``, ``mass_definition``, ``sed_code``, ``h``,
        ``offset_dex`` (``log10(M_reference / M_package)``, NaN where unknown),
        ``imf_status`` and ``definition_status`` (how each was established) and
        ``sources``.
    """
    from astropy.table import Table

    rows = []
    for scale in REFERENCE_SCALES.values():
        rows.append((scale.catalogue,
                     IMFS[scale.imf].label if scale.imf else "not found",
                     MASS_DEFINITIONS[scale.mass_definition].label if scale.mass_definition
                     else "not found",
                     scale.sed_code, np.nan if scale.h is None else scale.h,
                     scale.offset_dex, scale.status.get("imf", ""),
                     scale.status.get("mass_definition", ""), scale.sources))
    return Table(rows=rows, names=("catalogue", "imf", "mass_definition", "sed_code", "h",
                                   "offset_dex", "imf_status", "definition_status",
                                   "sources"),
                 dtype=(str, str, str, str, float, float, str, str, str))
