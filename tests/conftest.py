"""Shared fixtures: small networks trained inside the test session (see helpers.py)."""

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
