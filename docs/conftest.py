"""pytest settings for the documentation's doctests (``pytest --doctest-rst docs``).

Only the ``.rst`` pages are tested here. The Sphinx configuration, its extensions and
the plot scripts are not test modules: importing them needs Sphinx (not installed by
``tox -e test``), and the plot scripts draw figures at import; the documentation build
runs them instead.

Pages whose examples need the bundled models or the demo catalogue are skipped, with
the reason shown by ``-rs``, only while those are not in the package (during
development of the models); once they ship, a broken example fails the tests.
"""

import os

import pytest

collect_ignore = ["conf.py", "conftest.py"]
collect_ignore_glob = ["_ext/*", "plots/*", "_build/*", "api/*", "*.py"]

# Pages with examples that predict masses (bundled models, demo data).
_NEEDS_MODELS = {"quickstart.rst", "models.rst"}


def _missing_prerequisites():
    from astropy_smass import available_models

    missing = []
    if not available_models():
        missing.append("no bundled model in astropy_smass/data/models")
    try:
        from astropy_smass.datasets import load_demo  # noqa: F401
    except ImportError:
        missing.append("astropy_smass.datasets.load_demo does not exist yet")
    return missing


def pytest_collection_modifyitems(config, items):
    needing = [item for item in items
               if os.path.basename(str(item.fspath)) in _NEEDS_MODELS
               and os.path.dirname(str(item.fspath)) == os.path.dirname(__file__)]
    if not needing:
        return
    missing = _missing_prerequisites()
    if missing:
        skip = pytest.mark.skip(reason="the examples need the bundled models and demo data: "
                                       + "; ".join(missing))
        for item in needing:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _docs_in_tmp_path(request, tmp_path, monkeypatch):
    """Run each page's examples in a fresh folder, so files they write go nowhere."""
    if str(request.node.fspath).endswith(".rst"):
        monkeypatch.chdir(tmp_path)
