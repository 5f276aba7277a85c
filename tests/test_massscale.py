"""The package's mass scale, the conversion constants and the reference catalogues' scales."""

import math

import numpy as np
import pytest

from astropy_smass import massscale
from astropy_smass.massscale import (
    IMFS,
    MASS_DEFINITIONS,
    REFERENCE_SCALES,
    resolve_scale,
    scale_offset,
    scale_table,
    to_package_scale,
    total_uncertainty,
)
from astropy_smass.training.population import KROUPA_TO_CHABRIER_DEX


def test_package_scale_is_chabrier_living_plus_remnants():
    scale = resolve_scale()
    assert scale.is_package_scale and scale.offset_dex == 0.0
    assert scale.describe() == ("Chabrier (2003) IMF; current stellar mass: living stars + "
                                "stellar remnants")


def test_imf_constants_are_the_cited_factors():
    # Madau & Dickinson (2014): Chabrier = 0.61, Kroupa = 0.66 x Salpeter; Bell & de Jong
    # (2001): diet Salpeter = 0.70 x Salpeter.
    assert IMFS["salpeter"].offset_dex == pytest.approx(-math.log10(0.61))
    assert IMFS["kroupa"].offset_dex == pytest.approx(math.log10(0.66 / 0.61))
    assert IMFS["diet-salpeter"].offset_dex == pytest.approx(math.log10(0.70 / 0.61))
    # The training population converts Kroupa to Chabrier with the same table.
    assert IMFS["kroupa"].offset_dex == pytest.approx(-KROUPA_TO_CHABRIER_DEX)
    # Offsets compose: Salpeter to Kroupa is the difference of the two.
    assert scale_offset("salpeter") - scale_offset("kroupa") == pytest.approx(
        math.log10(1 / 0.66))


def test_mass_definitions():
    living = MASS_DEFINITIONS["living"]
    assert living.offset_dex < 0 and living.range_dex[0] < living.offset_dex < living.range_dex[1]
    assert living.scatter_dex == pytest.approx((living.range_dex[1] - living.range_dex[0]) / 2,
                                               abs=1e-3)
    assert MASS_DEFINITIONS["formed"].offset_dex > 0
    assert resolve_scale(mass_definition="Living").definition is living
    assert resolve_scale(mass_definition="current").definition.key == "living+remnants"
    with pytest.raises(ValueError, match="unknown mass_definition"):
        resolve_scale(mass_definition="formed")  # a reference definition only
    assert scale_offset("chabrier", "formed", allow_reference=True) == pytest.approx(0.213)
    with pytest.raises(ValueError, match="unknown imf"):
        scale_offset("top-heavy")


def test_reference_catalogues_to_package_scale():
    logm = np.array([9.0, 10.0, 11.0])
    np.testing.assert_allclose(to_package_scale(logm, "dustpedia"),
                               logm + math.log10(0.61))  # Salpeter -> Chabrier
    np.testing.assert_allclose(to_package_scale(logm, "des"), logm - math.log10(0.66 / 0.61))
    np.testing.assert_array_equal(to_package_scale(logm, "eco"), logm)
    for key, scale in REFERENCE_SCALES.items():
        assert scale.imf in IMFS and scale.mass_definition in MASS_DEFINITIONS, key
        assert {"imf", "mass_definition"} <= set(scale.status), key
    unknown = massscale.ReferenceScale("X", None, None, "", None, "")
    assert math.isnan(unknown.offset_dex)
    with pytest.raises(ValueError, match="not known"):
        to_package_scale(logm, unknown)


def test_total_uncertainty_quadrature_and_unknown_photometry():
    phot = np.array([0.03, np.nan, 0.0])
    total = total_uncertainty(phot, 0.07, 0.05)
    np.testing.assert_allclose(total, [math.sqrt(0.03**2 + 0.07**2 + 0.05**2),
                                       math.hypot(0.07, 0.05), math.hypot(0.07, 0.05)])
    np.testing.assert_allclose(total_uncertainty(None, np.array([0.1, 0.2]), 0.0), [0.1, 0.2])


def test_scale_table():
    table = scale_table()
    assert list(table["catalogue"]) == [s.catalogue for s in REFERENCE_SCALES.values()]
    assert table["offset_dex"][list(table["catalogue"]).index("DustPedia")] == pytest.approx(
        -math.log10(0.61))
    assert all(table["imf_status"]) and all(table["definition_status"])


def test_systematic_is_a_configuration_item():
    from astropy_smass.conf import conf
    from astropy_smass.pipeline import _systematic_dex

    assert conf.systematic_dex == massscale.SYSTEMATIC_DEX
    package = resolve_scale()
    assert _systematic_dex(None, package) == massscale.SYSTEMATIC_DEX
    with conf.set_temp("systematic_dex", 0.07):
        assert _systematic_dex(None, package) == pytest.approx(0.07)
        assert _systematic_dex(0.0, package) == 0.0  # the argument wins
    living = resolve_scale(mass_definition="living")
    assert _systematic_dex(0.0, living) == pytest.approx(living.conversion_scatter_dex)
    from astropy_smass.exceptions import InputError

    for bad in (-0.1, float("nan"), "lots", [0.1, 0.2]):
        with pytest.raises(InputError, match="systematic must be"):
            _systematic_dex(bad, package)
