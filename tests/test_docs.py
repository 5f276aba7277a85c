"""Checks of the Sphinx documentation that do not need Sphinx.

* Every page is reachable: in a toctree or marked ``:orphan:``, and every toctree entry
  exists.
* The model-card generator (``docs/_ext/modelcard.py``) writes valid reStructuredText
  for a real bundle, with the facts a card must state.
* The quickstart's command line works as written.
* With ``ASTROPY_SMASS_DOCS_HTML`` pointing at a built HTML folder (``tox -e
  build_docs`` writes ``docs/_build/html``), every page was built and the model-card
  page has a card for each bundled model.

The examples on the pages themselves run as doctests (``pytest --doctest-rst docs``).
"""

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
# Folders of generated or non-page files.
_SKIP_DIRS = {"_build", "api", "_ext", "plots", "_static", "_templates"}


def _sources():
    return [path for path in DOCS.rglob("*.rst")
            if path.relative_to(DOCS).parts[0] not in _SKIP_DIRS]


def _included():
    """Files pulled into pages with ``.. include::``: fragments, not pages."""
    included = set()
    for path in _sources():
        for target in re.findall(r"^\s*\.\. include:: *(\S+)", path.read_text(encoding="utf-8"),
                                 flags=re.M):
            included.add((path.parent / target).resolve())
    return included


def _pages():
    """Document names (relative, no suffix) of every hand-written page."""
    included = _included()
    return sorted(path.relative_to(DOCS).with_suffix("").as_posix() for path in _sources()
                  if path.resolve() not in included)


def test_included_fragments_are_excluded_from_the_build():
    # Sphinx would otherwise build each fragment as a page of its own (and warn).
    conf = (DOCS / "conf.py").read_text(encoding="utf-8")
    for path in _included():
        assert f'"{path.relative_to(DOCS).as_posix()}"' in conf, (
            f"{path.name} is included by a page: add it to exclude_patterns in docs/conf.py")


def _toctree_entries(page):
    """Documents listed in the toctrees of ``page``, resolved against the docs root."""
    text = (DOCS / f"{page}.rst").read_text(encoding="utf-8")
    entries = []
    for block in re.finditer(r"^( *)\.\. toctree::[^\n]*\n((?:\1 +[^\n]*\n|[ \t]*\n)*)",
                             text, flags=re.M):
        for line in block.group(2).splitlines():
            line = line.strip()
            if not line or line.startswith(":"):
                continue
            target = re.sub(r"^.*<(.+)>$", r"\1", line)  # "Title <doc>"
            if re.match(r"^[a-z]+://", target) or target == "self":
                continue
            base = Path(page).parent
            target = (Path("/") / target).as_posix()[1:] if target.startswith("/") else \
                (base / target).as_posix()
            entries.append(target.removesuffix(".rst"))
    return entries


def _is_orphan(page):
    head = (DOCS / f"{page}.rst").read_text(encoding="utf-8").lstrip()
    return head.startswith(":orphan:")


def test_every_page_is_in_a_toctree():
    pages = _pages()
    assert "index" in pages
    listed = {entry for page in pages for entry in _toctree_entries(page)}
    unreachable = [p for p in pages if p != "index" and p not in listed and not _is_orphan(p)]
    assert not unreachable, (f"pages in no toctree (add them to one in docs/index.rst, or "
                             f"start them with ':orphan:'): {unreachable}")


def test_every_toctree_entry_exists():
    missing = {f"{page}: {entry}" for page in _pages() for entry in _toctree_entries(page)
               if not (DOCS / f"{entry}.rst").is_file()
               and not entry.startswith(("api/", "genindex", "modindex", "search"))}
    assert not missing, f"toctree entries without a page: {sorted(missing)}"


def test_toctree_parser_sees_the_index():
    # Guards the regular expression above: the index lists the quickstart.
    assert "quickstart" in _toctree_entries("index")


# -- the model-card generator --------------------------------------------------------------
@pytest.fixture(scope="module")
def modelcard():
    spec = importlib.util.spec_from_file_location("modelcard", DOCS / "_ext" / "modelcard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parse_rst(text):
    """Parse with plain docutils, Sphinx roles stubbed; return the system messages."""
    docutils_core = pytest.importorskip("docutils.core")
    from docutils.parsers.rst import roles

    for name in ("ref", "doc"):
        roles.register_canonical_role(name, roles.GenericRole(name, __import__(
            "docutils.nodes", fromlist=["literal"]).literal))
    doctree = docutils_core.publish_doctree(
        text, settings_overrides={"report_level": 5, "halt_level": 5})
    from docutils import nodes

    return [msg.astext() for msg in doctree.findall(nodes.system_message)
            if msg["level"] >= 2]


def test_model_card_states_the_facts(modelcard, toy_model, tmp_path):
    from astropy_smass.model.correction import BiasCorrection

    predicted = [8.0 + 0.01 * k for k in range(300)]
    reference = [p + 0.1 for p in predicted]
    calibrated = toy_model.replace(
        name="card_test",
        correction=BiasCorrection.fit(predicted, reference, provenance={
            "catalogue": "ECO DR1 test split", "n_rows": 300}),
        metadata={"description": "a test card", "imf": "Chabrier (2003)",
                  "scores": {"heldout_rms_dex": 0.08,
                             "per_mass_bin": [{"logm_lo": 8, "rms_dex": 0.1},
                                              {"logm_lo": 9, "rms_dex": 0.07}]},
                  "something_new": {"nested": [1, 2, 3]}})
    path = calibrated.save(tmp_path)
    card = modelcard.model_card_rst(path)
    assert _parse_rst(card) == []
    for fact in ("card\\_test", "ECO DR1 test split", "Chabrier (2003)", "Training domain",
                 "Bias correction", "Limitations", "Something new", "rms\\_dex",
                 f"{calibrated.domain.max_distance:.3g}", calibrated.name.replace("_", "\\_")):
        assert fact in card, fact
    for feature in calibrated.features:
        assert f"``{feature}``" in card
    summary = modelcard.model_summary_rst([path])
    assert _parse_rst(summary) == []
    assert ":ref:`card_test <model-card_test>`" in summary


def test_model_card_without_metadata_says_so(modelcard, toy_model, tmp_path):
    path = toy_model.replace(name="bare", metadata={}).save(tmp_path)
    card = modelcard.model_card_rst(path)
    assert _parse_rst(card) == []
    assert "records no scores" in card
    assert "does not record its IMF" in card


def test_no_bundles_give_a_note(modelcard, tmp_path):
    assert modelcard.bundle_paths(tmp_path) == []
    assert "No model bundle" in modelcard.model_summary_rst([])


def test_priors_table(modelcard):
    population = pytest.importorskip("astropy_smass.training.population")
    text = modelcard.priors_rst()
    assert _parse_rst(text) == []
    for group in population.DEFAULT_PRIORS:
        assert modelcard._label(group) in text


# -- the quickstart's command line ---------------------------------------------------------
def _quickstart_commands():
    text = (DOCS / "quickstart.rst").read_text(encoding="utf-8")
    return [line.strip()[2:] for line in text.splitlines()
            if line.strip().startswith("$ astropy-smass")]


def test_quickstart_command_line(tmp_path):
    from astropy_smass import available_models

    commands = _quickstart_commands()
    assert commands, "the quickstart shows no astropy-smass command"
    if not available_models():
        pytest.skip("no bundled model yet")
    for command in commands:
        argv = shlex.split(command)
        result = subprocess.run([sys.executable, "-m", "astropy_smass", *argv[1:]],
                                cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    from astropy.io.votable import parse_single_table

    votables = list(tmp_path.glob("*.vot"))
    assert votables, f"no VOTable written by {commands}"
    field = parse_single_table(str(votables[0])).get_field_by_id_or_name("logmstar")
    assert field.ucd == "phys.mass"


# -- a built HTML tree ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def html_dir():
    path = os.environ.get("ASTROPY_SMASS_DOCS_HTML")
    if not path:
        pytest.skip("set ASTROPY_SMASS_DOCS_HTML to a built HTML folder to check it")
    path = Path(path)
    assert path.is_dir(), f"ASTROPY_SMASS_DOCS_HTML={path} is not a folder"
    return path


def test_every_page_was_built(html_dir):
    missing = [p for p in _pages() if not (html_dir / f"{p}.html").is_file()]
    assert not missing, f"pages not in the HTML build: {missing}"


def test_built_model_cards(html_dir):
    from astropy_smass.model.registry import _bundled_dir

    html = (html_dir / "models.html").read_text(encoding="utf-8")
    names = sorted(p.stem for p in Path(_bundled_dir()).glob("*.json"))
    for name in names:
        assert f'id="model-{name.replace("_", "-")}"' in html, f"no card for {name}"
    if names:
        assert "No model bundle was found" not in html
