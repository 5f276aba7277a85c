"""Sphinx configuration of the astropy-smass documentation.

Build with ``tox -e build_docs`` or ``sphinx-build -W --keep-going -b html docs docs/_build/html``.

Offline builds and intersphinx
------------------------------
The documentation must build with warnings as errors on machines without network
access (CI runs offline), but Sphinx warns when an intersphinx inventory cannot be
fetched. No installed package ships the astropy, numpy or pyvo inventories, so:

* by default (offline) ``intersphinx_mapping`` holds only inventories found on disk:
  sphinx-astropy's local Python inventory, plus any ``<name>.inv`` file in the folder
  named by ``ASTROPY_SMASS_INTERSPHINX_DIR`` (for example ``astropy.inv``,
  ``numpy.inv``, ``pyvo.inv`` saved once from the projects' sites). References to
  objects of other projects then render as plain code, without a link and without a
  warning (``nitpicky`` is off);
* with ``ASTROPY_SMASS_DOCS_ONLINE=1`` (and on Read the Docs) the usual online
  inventories of Python, numpy, scipy, matplotlib, astropy and pyvo are used.
"""

import os
import sys
from pathlib import Path

from sphinx_astropy.conf.v2 import *  # noqa: F403
from sphinx_astropy.conf.v2 import extensions, intersphinx_mapping

import astropy_smass

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
# validation/ (maintainer tooling, documented in the API pages) lives in the repository,
# not in the installed package; appended so that it does not shadow the installed package.
sys.path.append(str(HERE.parent))

# -- Project ------------------------------------------------------------------------
project = "astropy-smass"
author = "The astropy-smass developers"
copyright = f"2025-2026, {author}"
release = astropy_smass.__version__
version = release.split("+")[0]

# -- Extensions ---------------------------------------------------------------------
extensions = [*extensions, "modelcard"]
# sphinx-astropy turns on inheritance diagrams, which need Graphviz; the API pages ask
# for none (``:no-inheritance-diagram:``), so the build does not depend on it.

# Files pulled into pages by ``.. include::`` are not pages themselves: list them here.
exclude_patterns = ["_build", "**.ipynb_checkpoints", "plots", "hats_timings.inc",
                    "files_timings.inc"]
nitpicky = False
numpydoc_show_class_members = False
automodapi_toctreedirnm = "api"
automodsumm_inherited_members = False

# -- Intersphinx (see the module docstring) -----------------------------------------
_ONLINE = (os.environ.get("ASTROPY_SMASS_DOCS_ONLINE", "") not in ("", "0")
           or os.environ.get("READTHEDOCS") == "True")
if _ONLINE:
    intersphinx_mapping = {
        **intersphinx_mapping,
        "astropy": ("https://docs.astropy.org/en/stable/", None),
        "pyvo": ("https://pyvo.readthedocs.io/en/latest/", None),
    }
else:
    intersphinx_mapping = {key: value for key, value in intersphinx_mapping.items()
                           if isinstance(value[1], str) and Path(value[1]).is_file()}
    _inventory_dir = os.environ.get("ASTROPY_SMASS_INTERSPHINX_DIR")
    _sites = {"python": "https://docs.python.org/3/",
              "numpy": "https://numpy.org/doc/stable/",
              "scipy": "https://docs.scipy.org/doc/scipy/",
              "matplotlib": "https://matplotlib.org/stable/",
              "astropy": "https://docs.astropy.org/en/stable/",
              "pyvo": "https://pyvo.readthedocs.io/en/latest/"}
    if _inventory_dir:
        for _name, _site in _sites.items():
            _file = Path(_inventory_dir) / f"{_name}.inv"
            if _file.is_file():
                intersphinx_mapping[_name] = (_site, str(_file))

# -- Plots: made from the package during the build, never committed ----------------
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_rcparams = {"figure.figsize": (6.4, 4.2), "savefig.bbox": "tight"}
plot_pre_code = "import numpy as np\nimport matplotlib.pyplot as plt\n"
plot_working_directory = str(HERE)

# -- HTML ---------------------------------------------------------------------------
html_title = f"{project} v{version}"
html_theme_options = {
    **html_theme_options,  # noqa: F405
    "navigation_depth": 2,
    "show_nav_level": 1,
    "header_links_before_dropdown": 4,
}
# The pages are few and flat: the left sidebar would be empty except in the API reference.
html_sidebars = {"*": [], "api": ["sidebar-nav-bs"], "api/**": ["sidebar-nav-bs"]}
html_static_path = []
html_last_updated_fmt = None  # reproducible pages
