"""Property-based fuzzing (Hypothesis) of the column readers, unit handling and predict.

Random tables (dtypes, masks, NaN and infinities, sentinel values, units, column names,
row counts) must give, every time:

* every input row back, in order, and the same result whatever the chunking (a table
  predicted in pieces, down to single rows, equals the table predicted at once);
* a NaN mass only with a non-zero flag, and no flag that removes the mass on a row
  that has one;
* the same result for a `~astropy.table.Table` and a `~astropy.table.QTable`;
* no exception but the package's documented errors (`~astropy_smass.SmassError` and
  its subclasses), and no warning but `~astropy_smass.SmassWarning`.

The budget is a Hypothesis profile (tests/conftest.py): ``ci`` by default, a fixed set
of examples that runs in well under two minutes; ``ASTROPY_SMASS_HYPOTHESIS=long`` for
thousands.
"""

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.constants import c
from astropy.table import Column, MaskedColumn, QTable, Table, vstack
from astropy.utils.masked import Masked
from helpers import TOY_BANDS, toy_population

from astropy_smass.accessor import predict_table
from astropy_smass.exceptions import SmassError, SmassWarning
from astropy_smass.flags import NO_MASS, OUT_OF_DOMAIN, SmassFlag
from astropy_smass.photometry.bands import get_band
from astropy_smass.photometry.magnitudes import (
    absolute_magnitudes,
    column_values,
    redshift_values,
)

hypothesis = pytest.importorskip("hypothesis")

# numpy.ma's default fill value (1e20) overflows float16 columns when the test slices them.
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
from hypothesis import event, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

NUMERIC_DTYPES = ["f8", "f4", "f2", ">f8", "i8", "i4", "i2", "u2", "u1"]
OTHER_DTYPES = ["U8", "O", "?", "c16", "M8[s]"]
SENTINELS = [99.0, -99.0, -999.0, 0.0, 9999.0]
NAMES = ["absmag_{}", "{}", "{}mag", "mag_{}", "SDSS_{}", "{}_sdss", "{}_petro"]
MAG_UNITS = [u.mag, u.ABmag, u.mag, u.ABmag, None]
FLUX_UNITS = [u.Jy, u.mJy, u.uJy, u.nanomaggy, u.erg / u.s / u.cm**2 / u.Hz,
              u.erg / u.s / u.cm**2 / u.AA]
BAD_UNITS = [u.km / u.s, u.Mpc, u.dex, u.STmag, u.count, u.dimensionless_unscaled]
UNIT_STRINGS = ["mag", "ABmag", "Jy", "mJy", "nanomaggy", "erg / (s cm2 Hz)", "km/s", "Mpc",
                "", "foo", "dex", "STmag"]
EXTRA_NAMES = ["id", "ra", "z", "Z", "redshift", "cz", "flag", "u_err_x", "notes", "r band"]


def _documented(exc):
    return isinstance(exc, SmassError)


def _call(function, *args, **kwargs):
    """``function(...)`` with warnings as errors, SmassWarning excepted; the result, or
    the documented error it raised."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", SmassWarning)
        try:
            return function(*args, **kwargs), None
        except Exception as exc:
            if not _documented(exc):
                raise
            return None, exc


def _flux(mags, unit, band):
    """Flux densities in ``unit`` of AB magnitudes (at 10 pc, so apparent = absolute)."""
    quantity = (mags * u.ABmag).to(u.Jy)
    return quantity.to_value(unit, u.spectral_density(get_band(band).pivot)
                             + u.zero_point_flux(3630.78 * u.Jy))


@st.composite
def cells(draw, n, floating):
    """Per-row disturbances: None, 'nan', 'inf', '-inf', 'sentinel', 'huge', 'negative',
    'masked'."""
    kinds = ["masked", "sentinel", "negative"] + (["nan", "inf", "-inf", "huge"]
                                                  if floating else [])
    return draw(st.lists(st.one_of(st.none(), st.none(), st.none(), st.sampled_from(kinds)),
                         min_size=n, max_size=n))


@st.composite
def band_column(draw, band, mags, bad_unit=False):
    """A band's column: its name, values, dtype, mask and unit, disturbed."""
    n = len(mags)
    kind = draw(st.sampled_from(["mag", "flux"] + (["bad"] if bad_unit else [])))
    if kind == "mag":
        unit = draw(st.sampled_from(MAG_UNITS))
        values = mags.copy()
    elif kind == "flux":
        unit = draw(st.sampled_from(FLUX_UNITS))
        values = _flux(mags, unit, band)
    else:
        unit = draw(st.sampled_from(BAD_UNITS))
        values = mags.copy()
    dtype = draw(st.sampled_from(NUMERIC_DTYPES))
    floating = np.dtype(dtype).kind == "f"
    events = draw(cells(n, floating))
    mask = np.zeros(n, bool)
    for k, disturbance in enumerate(events):
        if disturbance == "nan":
            values[k] = np.nan
        elif disturbance in ("inf", "-inf"):
            values[k] = float(disturbance)
        elif disturbance == "sentinel":
            values[k] = draw(st.sampled_from(SENTINELS))
        elif disturbance == "huge":
            values[k] = 1e30
        elif disturbance == "negative":
            values[k] = -abs(values[k]) - 1.0
        elif disturbance == "masked":
            mask[k] = True
    if not floating:
        info = np.iinfo(dtype)
        values = np.clip(np.round(values), info.min, info.max)
    with np.errstate(over="ignore", invalid="ignore"):
        values = values.astype(dtype)
    name = draw(st.sampled_from(NAMES)).format(band)
    return name, values, mask, unit


@st.composite
def catalogues(draw, max_rows=24):
    """A random table of toy-band photometry (see `band_column`), with extra columns,
    sometimes error columns, and a ``units=`` argument for columns without a unit."""
    n = draw(st.integers(0, max_rows))
    seed = draw(st.integers(0, 2**16))
    mags = toy_population(max(n, 1), seed=seed)[0][:n]
    # Mostly all five bands; a unit that is no magnitude or flux now and then.
    bands = [b for b in TOY_BANDS if draw(st.sampled_from([True] * 19 + [False]))]
    bad_unit = draw(st.sampled_from([False] * 9 + [True]))
    table = Table()
    used = set()
    for band in bands:
        name, values, mask, unit = draw(band_column(band, mags[:, TOY_BANDS.index(band)],
                                                    bad_unit))
        if name in used:
            continue
        used.add(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # numpy.ma's fill value cast
            if mask.any() or draw(st.booleans()):
                table[name] = MaskedColumn(values, mask=mask, unit=unit)
            else:
                table[name] = Column(values, unit=unit)
        if draw(st.integers(0, 3)) == 0:
            errors = np.abs(np.random.default_rng(seed).normal(0.05, 0.02, n))
            spoil = draw(st.sampled_from([None, "nan", "negative", "huge"]))
            if spoil and n:
                errors[0] = {"nan": np.nan, "negative": -0.1, "huge": 1e6}[spoil]
            err_unit = unit if unit in FLUX_UNITS else u.mag
            if unit in FLUX_UNITS:
                errors = errors * np.abs(np.nan_to_num(values.astype(float)))
            table[f"{name}_err"] = Column(errors, unit=err_unit)
    for extra in draw(st.lists(st.sampled_from(EXTRA_NAMES), max_size=3, unique=True)):
        if extra not in table.colnames:
            table[extra] = draw(st.sampled_from(
                [np.arange(n, dtype=float), np.full(n, "text"), np.linspace(0.01, 0.1, n)]))
    # A unit for columns without one: mostly the right one, sometimes none or nonsense.
    units = draw(st.sampled_from(["mag"] * 6 + [None, "Jy", {"r": "mag"}, "foo"]))
    return table, units


def _qtable(table):
    with warnings.catch_warnings():
        # A masked magnitude column stays a MaskedColumn in a QTable (astropy says so).
        warnings.simplefilter("ignore", UserWarning)
        return QTable(table)


def _arrays(result):
    out = {}
    for name in result.colnames:
        column = result[name]
        values = getattr(column, "value", column)
        out[name] = np.asarray(np.ma.filled(np.ma.asarray(values), np.nan)
                               if values.dtype.kind == "f" else values)
    return out


def _assert_same(first, second, context=""):
    a, b = _arrays(first), _arrays(second)
    assert list(a) == list(b), context
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=f"{name} {context}")


def _check_invariants(result, n, exclude):
    assert len(result) == n
    mass = np.asarray(result["logmstar"].value, dtype=float)
    flags = np.asarray(result["smass_flag"])
    assert not np.isinf(mass).any()
    assert (flags[np.isnan(mass)] != 0).all(), "a NaN mass without a flag"
    has_mass = np.isfinite(mass)
    assert not (flags[has_mass] & int(NO_MASS)).any()
    if exclude:
        assert not (flags[has_mass] & int(OUT_OF_DOMAIN)).any()
    assert not (flags & ~int(sum(SmassFlag))).any(), "an unknown flag bit"
    if "logmstar_err" in result.colnames:
        err = np.asarray(result["logmstar_err"].value, dtype=float)
        assert (np.isnan(err) | (err >= 0)).all()
        assert np.isnan(err[~has_mass]).all()


# -- predict -----------------------------------------------------------------------------
@given(data=st.data(), case=catalogues())
def test_predict_invariants(toy_model, data, case):
    table, units = case
    exclude = data.draw(st.booleans(), label="exclude_out_of_domain")
    uncertainty = data.draw(st.sampled_from([None, "analytic", "auto"]), label="uncertainty")
    kwargs = {"units": units, "distance": 10 * u.pc, "uncertainty": uncertainty,
              "exclude_out_of_domain": exclude, "check_units": False}
    result, error = _call(predict_table, table, toy_model, **kwargs)
    as_qtable, q_error = _call(predict_table, _qtable(table), toy_model, **kwargs)
    if error is not None:
        # The same documented error for a QTable.
        event(f"error: {type(error).__name__}: {str(error)[:60]}")
        assert type(q_error) is type(error), (error, q_error)
        return
    assert q_error is None, q_error
    mass = np.asarray(result["logmstar"].value, dtype=float)
    event(f"predicted: {'some' if np.isfinite(mass).any() else 'no'} masses")
    _check_invariants(result, len(table), exclude)
    _assert_same(result, as_qtable, "Table vs QTable")
    # Any chunking, down to single rows, gives the same rows in the same order.
    n = len(table)
    cuts = sorted(set(data.draw(st.lists(st.integers(1, max(n - 1, 1)), max_size=4),
                                label="cuts")) - {n})
    bounds = [0, *[k for k in cuts if 0 < k < n], n]
    pieces = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        piece, piece_error = _call(predict_table, table[start:stop], toy_model, **kwargs)
        if piece_error is not None:
            # Only an error that the whole table's content could not raise: a chunk
            # without error columns or all masked... never a different verdict on rows.
            pytest.fail(f"rows {start}:{stop} raised {piece_error!r}; the whole table did not")
        pieces.append(piece)
    if n:
        joined = vstack(pieces, metadata_conflicts="silent") if len(pieces) > 1 else pieces[0]
        for name in ("logmstar", "smass_flag", "logmstar_err"):
            if name in result.colnames:
                np.testing.assert_array_equal(_arrays(joined)[name], _arrays(result)[name],
                                              err_msg=f"{name}, chunks {bounds}")


@given(case=catalogues(max_rows=40))
def test_unit_check_raises_only_its_error(toy_model, case):
    """The table-level check of flux units: a documented error or a result."""
    table, units = case
    _, error = _call(predict_table, table, toy_model, units=units, distance=10 * u.pc)
    assert error is None or _documented(error)


# -- column readers ----------------------------------------------------------------------
@given(n=st.integers(0, 12), dtype=st.sampled_from(NUMERIC_DTYPES + OTHER_DTYPES),
       masked=st.booleans(), unit=st.sampled_from([None, u.mag, u.Jy, u.km / u.s]),
       quantity=st.booleans(), data=st.data())
def test_column_values(n, dtype, masked, unit, quantity, data):
    raw = np.array(data.draw(st.lists(st.integers(-5, 30), min_size=n, max_size=n)))
    values = raw.astype(dtype) if np.dtype(dtype).kind != "M" else raw.astype("M8[s]")
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
    table = QTable() if quantity and unit is not None and values.dtype.kind in "iuf" \
        else Table()
    if isinstance(table, QTable):
        column = u.Quantity(values, unit)
        table["col"] = column
        if masked:
            table["col"] = Masked(column, mask=mask)
    else:
        table["col"] = (MaskedColumn(values, mask=mask, unit=unit) if masked
                        else Column(values, unit=unit))
    result, error = _call(column_values, table, "col")
    if values.dtype.kind not in "biuf":
        assert error is not None and "not numbers" in str(error)
        return
    assert error is None, error
    got, got_mask, got_unit = result
    assert got.dtype == float and got.shape == (n,) and got_mask.shape == (n,)
    expected_mask = mask if masked else np.zeros(n, bool)
    np.testing.assert_array_equal(got_mask, expected_mask)
    np.testing.assert_array_equal(got[~got_mask], values.astype(float)[~got_mask])
    assert got_unit == unit


@given(data=st.data(), band=st.sampled_from(TOY_BANDS),
       unit=st.sampled_from(MAG_UNITS + FLUX_UNITS + BAD_UNITS),
       units=st.sampled_from([None, *UNIT_STRINGS]), n=st.integers(0, 8))
def test_unit_handling(data, band, unit, units, n):
    mags = np.array(data.draw(st.lists(st.floats(-25, -10), min_size=n, max_size=n)))
    values = _flux(mags, unit, band) if unit in FLUX_UNITS else mags
    table = Table({"col": Column(values, unit=unit)})
    result, error = _call(absolute_magnitudes, table, {band: "col"}, units=units,
                          distance=10 * u.pc)
    if error is not None:
        return
    got, errors, flags = result
    assert got.shape == (n, 1) and flags.shape == (n, 1) and errors is None
    if unit in FLUX_UNITS + MAG_UNITS[:2]:
        np.testing.assert_allclose(got[:, 0], mags, atol=1e-6)


@given(n=st.integers(1, 8), name=st.sampled_from(["z", "redshift", "zspec", "cz", "cz_kms",
                                                  "vel", "v_helio", "Vel_LG"]),
       unit=st.sampled_from([None, u.dimensionless_unscaled, u.km / u.s, u.m / u.s, u.Mpc]),
       redshift_unit=st.sampled_from([None, "km/s", "", "Mpc", "foo"]),
       values=st.lists(st.one_of(st.floats(-1e5, 1e5), st.just(np.nan)), min_size=8,
                       max_size=8),
       length=st.sampled_from([None, 1, 3]), data=st.data())
def test_redshift_values(n, name, unit, redshift_unit, values, length, data):
    values = np.array(values[:n])
    table = Table({name: Column(values, unit=unit)})
    target = name
    if length is not None:  # values instead of a column, perhaps of the wrong length
        target = np.resize(values, length) * (unit if unit is not None else 1)
    result, error = _call(redshift_values, table, target, redshift_unit)
    if error is not None:
        return
    assert result.shape == (n,)
    source = values if length is None else np.resize(np.resize(values, length), n)
    if unit is not None and unit.is_equivalent(u.km / u.s):
        expected = (source * unit / c).to_value(u.dimensionless_unscaled)
        np.testing.assert_allclose(result, expected, rtol=1e-12, equal_nan=True)
