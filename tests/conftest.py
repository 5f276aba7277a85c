"""Shared fixtures: small networks trained inside the test session (see helpers.py)."""

import os
import sys
from pathlib import Path

import pytest
from helpers import train_toy_model

# pytest-doctestplus would collect this file as a module for doctests, under the same
# module name as docs/conftest.py.
collect_ignore = ["conftest.py"]

# The maintainer tooling (validation/) lives in the repository, not in the package: make
# it importable, after the installed astropy_smass (appended, so it does not shadow it).
_REPO = str(Path(__file__).resolve().parents[1])
if _REPO not in sys.path:
    sys.path.append(_REPO)

# Hypothesis profiles for tests/test_fuzz.py, chosen with $ASTROPY_SMASS_HYPOTHESIS:
# "ci" (the default: a fixed, reproducible budget that keeps the fuzzing under two
# minutes in `tox -e test`), "dev" (random examples, a few times more) and "long" (for
# a night: ASTROPY_SMASS_HYPOTHESIS=long pytest tests/test_fuzz.py).
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the fuzz tests skip themselves
    pass
else:
    _slow = [HealthCheck.too_slow, HealthCheck.data_too_large]
    settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True,
                              database=None, print_blob=True, suppress_health_check=_slow)
    settings.register_profile("dev", max_examples=100, deadline=None,
                              suppress_health_check=_slow)
    settings.register_profile("long", max_examples=2000, deadline=None,
                              suppress_health_check=_slow)
    settings.load_profile(os.environ.get("ASTROPY_SMASS_HYPOTHESIS", "ci"))


@pytest.fixture(scope="session")
def real_data():
    """The folder of the real catalogues (`validation.data_dir`); the test is skipped,
    with the reason, where it is absent, and fails instead with
    ``ASTROPY_SMASS_REQUIRE_DATA=1``."""
    from validation import data_dir

    try:
        return data_dir()
    except FileNotFoundError as exc:
        if os.environ.get("ASTROPY_SMASS_REQUIRE_DATA") == "1":
            pytest.fail(f"ASTROPY_SMASS_REQUIRE_DATA=1 but {exc}")
        pytest.skip(f"real catalogues not available: {exc}")


@pytest.fixture(scope="session")
def toy_model():
    pytest.importorskip("sklearn")
    return train_toy_model()


@pytest.fixture(scope="session")
def toy_gri_model():
    """A second toy model that needs only g, r and i (for per-row model choice)."""
    pytest.importorskip("sklearn")
    return train_toy_model(name="toy_gri", bands=["g", "r", "i"], seed=3)


@pytest.fixture(scope="session")
def toy_ugz_model():
    """A toy model that shares only g with ``toy_gri`` (for per-row model choice)."""
    pytest.importorskip("sklearn")
    return train_toy_model(name="toy_ugz", bands=["u", "g", "z"], seed=5)
