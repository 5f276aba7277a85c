"""Sphinx extension: model cards generated from the bundled model files.

The ``models`` page must describe exactly the bundles that ship with the package, so it
is written at build time from their JSON (and ``.npz``) files rather than by hand::

    .. smass-model-summary::

    .. smass-model-cards::

The first directive gives a one-line-per-model table, the second a card per model:
inputs, network, training population and priors, scores, training domain, stellar-mass
definition and IMF, bias correction and its provenance, limitations, and any other
metadata the bundle carries. Metadata keys the card does not know are shown as they
are, so a new key in a bundle never disappears from the documentation.

The bundles are read from ``astropy_smass/data/models`` of the imported package, or
from the folder given by the ``modelcard_directory`` configuration value or the
``ASTROPY_SMASS_MODELCARD_DIR`` environment variable (to preview cards of bundles
still in development). With no bundle, both directives render a short note instead.

``.. smass-priors::`` tabulates the priors of the simulated training population
(`astropy_smass.training.population.DEFAULT_PRIORS`), so the documentation always
shows the priors the code uses.

`model_card_rst`, `model_summary_rst` and `priors_rst` return the reStructuredText and need only
docutils-free Python, so the tests can check them without Sphinx.
"""

import json
import os
from pathlib import Path

__all__ = ["bundle_paths", "model_card_rst", "model_summary_rst", "priors_rst", "setup"]

_DESCRIPTION_KEYS = ("description", "summary")
_MASS_KEYS = ("mass_definition", "stellar_mass_definition", "target_definition")
_IMF_KEYS = ("imf",)
_TRAINING_KEYS = ("training", "training_population", "population", "training_data")
_PRIOR_KEYS = ("priors",)
_SCORE_KEYS = ("scores", "metrics", "validation")
_LIMITATION_KEYS = ("limitations", "caveats")
_REFERENCE_KEYS = ("references", "citation", "citations")
# Longer lists (a learning curve, say) are summarised rather than tabulated.
_MAX_ROWS = 40


# -- small reStructuredText helpers ---------------------------------------------------
def _escape(text):
    """Text safe inside reStructuredText paragraphs and table cells."""
    text = str(text).replace("\\", "\\\\")
    for char in "*`|_":
        text = text.replace(char, "\\" + char)
    return " ".join(text.split()) if "\n" in text else text


def _format(value):
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)) and all(_is_scalar(v) for v in value):
        return ", ".join(_format(v) for v in value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)
    return str(value)


def _is_scalar(value):
    return value is None or isinstance(value, (str, int, float, bool))


def _is_flat(value):
    """A scalar or a list of scalars: fits in one table cell."""
    return _is_scalar(value) or (isinstance(value, (list, tuple))
                                 and all(_is_scalar(v) for v in value)
                                 and len(value) <= 12)


def _list_table(header, rows, indent=""):
    """A ``list-table`` directive; every cell is escaped."""
    if not rows:
        return []
    lines = [f"{indent}.. list-table::", f"{indent}   :header-rows: 1", ""]
    for row in [header, *rows]:
        cells = [_escape(_format(c)) if c not in ("", None) else "\u2014" for c in row]
        lines.append(f"{indent}   * - {cells[0]}")
        lines.extend(f"{indent}     - {cell}" for cell in cells[1:])
    lines.append("")
    return lines


def _title(text, char):
    text = _escape(text)
    return [text, char * max(len(text), 4), ""]


def _rubric(text):
    return [f".. rubric:: {_escape(text)}", ""]


def _label(key):
    return str(key).replace("_", " ").strip().capitalize()


def _render(value, heading=None):
    """Any JSON value as reStructuredText: tables for tabular data, rubrics for nesting."""
    lines = _rubric(heading) if heading else []
    if _is_scalar(value):
        return lines + [_escape(_format(value)), ""]
    if isinstance(value, (list, tuple)):
        if len(value) > _MAX_ROWS:
            return lines + [f"({len(value)} values, kept in the bundle's JSON file)", ""]
        if all(_is_scalar(v) for v in value):
            return lines + [_escape(_format(value)), ""]
        if all(isinstance(v, dict) for v in value):
            keys = []
            for item in value:
                keys.extend(k for k in item if k not in keys)
            if all(_is_flat(item.get(k)) for item in value for k in keys):
                return lines + _list_table(keys, [[item.get(k) for k in keys]
                                                  for item in value])
        body = []
        for k, item in enumerate(value):
            body += _render(item, f"{heading or 'item'} {k + 1}")
        return lines + body
    # A dict: column-oriented tables ({"bin": [...], "rms": [...]}) first.
    columns = list(value.values())
    if (len(value) > 1 and all(isinstance(c, list) and c and all(_is_scalar(x) for x in c)
                               for c in columns)
            and len({len(c) for c in columns}) == 1 and 1 < len(columns[0]) <= _MAX_ROWS):
        return lines + _list_table(list(value), list(zip(*columns)))
    flat = {k: v for k, v in value.items() if _is_flat(v)}
    nested = {k: v for k, v in value.items() if k not in flat}
    if flat:
        lines += _list_table(["Item", "Value"], [[_label(k), v] for k, v in flat.items()])
    for key, item in nested.items():
        lines += _render(item, _label(key))
    return lines


def _pop(metadata, keys):
    """Remove and return the first of ``keys`` present in ``metadata`` (or None)."""
    for key in keys:
        if key in metadata:
            return metadata.pop(key)
    return None


def _text_or_render(value, heading=None):
    if isinstance(value, str):
        return ([f".. rubric:: {_escape(heading)}", ""] if heading else []) + [
            _escape(value), ""]
    return _render(value, heading)


# -- the bundles ----------------------------------------------------------------------
def bundle_paths(directory=None):
    """JSON files of the model bundles to document, sorted by name.

    Parameters
    ----------
    directory : path-like, optional
        Folder of bundles; default ``ASTROPY_SMASS_MODELCARD_DIR`` or the package's
        ``astropy_smass/data/models``.
    """
    if directory is None:
        directory = os.environ.get("ASTROPY_SMASS_MODELCARD_DIR")
    if directory is None:
        from astropy_smass.model.registry import _bundled_dir

        directory = _bundled_dir()
    directory = Path(directory)
    return sorted(directory.glob("*.json")) if directory.is_dir() else []


def _load(path):
    from astropy_smass.model.bundle import StellarMassModel

    spec = json.loads(Path(path).read_text())
    return spec, StellarMassModel.load(path)


def _heldout_rms(metadata):
    scores = metadata.get("scores")
    if isinstance(scores, dict):
        for key in ("heldout_rms_dex", "rms_dex", "test_rms_dex"):
            if _is_scalar(scores.get(key)) and scores.get(key) is not None:
                return scores[key]
    return None


def model_summary_rst(paths):
    """A table of all bundles: name, bands, inputs, size, accuracy, correction."""
    if not paths:
        return _no_models_note()
    rows = []
    for path in paths:
        spec, model = _load(path)
        correction = spec.get("correction") or {}
        catalogue = (correction.get("provenance") or {}).get("catalogue") if correction else None
        rows.append([f"{model.name}", " ".join(model.bands), len(model.features),
                     f"{model.network.n_hidden} {model.network.activation}",
                     _heldout_rms(model.metadata), model.intrinsic_scatter,
                     catalogue or ("none" if not correction else "not recorded")])
    header = ["Model", "Bands", "Features", "Hidden units", "Held-out rms, simulated (dex)",
              "Intrinsic scatter (dex)", "Bias correction from"]
    lines = _list_table(header, rows)
    # Link each name to its card.
    text = "\n".join(lines)
    for path in paths:
        name = Path(path).stem
        text = text.replace(f"* - {_escape(name)}\n", f"* - :ref:`{name} <model-{name}>`\n", 1)
    return text + "\n"


def _no_models_note():
    return ("\n.. note::\n\n   No model bundle was found when this documentation was built, so "
            "there is no model card to show. Bundles live in ``astropy_smass/data/models``; "
            "see :doc:`retraining` to make one.\n\n")


_STAT_COLUMNS = [("lo", "log M from"), ("hi", "to"), ("n", "N"), ("rms_dex", "rms (dex)"),
                 ("median_offset_dex", "median offset (dex)"),
                 ("half_width_16_84_dex", "16-84% half-width (dex)")]


def _per_bin_table(per_bin):
    keys = [k for k, _ in _STAT_COLUMNS if any(k in row for row in per_bin)]
    keys += [k for row in per_bin for k in row if k not in keys and _is_flat(row[k])]
    keys = list(dict.fromkeys(keys))
    labels = dict(_STAT_COLUMNS)
    return _list_table([labels.get(k, _label(k)) for k in keys],
                       [[row.get(k) for k in keys] for row in per_bin])


def _report_rst(report):
    """The parts of a training report (``astropy_smass.training.fit``) worth reading."""
    report = dict(report)
    out = []
    shown = {"name", "bands", "features", "hidden", "activation", "sizes", "train_time_s"}
    for key, title in (("heldout", "Held-out simulated galaxies, per true-mass bin"),
                       ("heldout_noiseless", "The same without photometric noise")):
        scores = report.pop(key, None)
        if isinstance(scores, dict) and isinstance(scores.get("per_bin"), list):
            out += _rubric(title) + _per_bin_table(scores["per_bin"])
            rest = {k: v for k, v in scores.items() if k not in ("per_bin",)}
            if isinstance(rest.get("overall"), dict):
                overall = rest.pop("overall")
                out += _list_table(["Overall" + (
                    f" ({_format(rest['mass_range'])})" if "mass_range" in rest else ""),
                    "Value"], [[_label(k), v] for k, v in overall.items()])
                rest.pop("mass_range", None)
            if rest:
                out += _render(rest)
        elif scores is not None:
            out += _render(scores, title)
    curve = report.pop("learning_curve", None)
    if isinstance(curve, dict):
        summary = {k: v for k, v in curve.items() if _is_flat(v) and not isinstance(v, list)}
        if isinstance(curve.get("epoch"), list):
            summary = {"epochs run": len(curve["epoch"]), **summary}
        out += _rubric("Learning curve") + _list_table(
            ["Item", "Value"], [[_label(k), v] for k, v in summary.items()])
    saliency = report.pop("saliency", None)
    if isinstance(saliency, dict) and isinstance(saliency.get("ranking"), list):
        out += _rubric("Feature importance (saliency)")
        if saliency.get("definition"):
            out += [_escape(saliency["definition"]) + ".", ""]
        out += _list_table(["Feature", "Importance (dex)"],
                           list(zip(saliency["ranking"], saliency.get("importance_dex", []))))
    elif saliency is not None:
        out += _render(saliency, "Saliency")
    rest = {k: v for k, v in report.items() if k not in shown}
    if rest:
        out += _render(rest, "Other items of the training report")
    return out


def model_card_rst(path, heading_char="-", subheading_char="^"):
    """The model card of one bundle as reStructuredText.

    Parameters
    ----------
    path : path-like
        The bundle's JSON file.
    heading_char, subheading_char : str
        Underline characters of the card's title and of its sections.
    """
    from astropy_smass.photometry.bands import ALL_BANDS

    spec, model = _load(path)
    metadata = json.loads(json.dumps(model.metadata))  # a copy we can pop from
    name = model.name
    out = [f".. _model-{name}:", ""] + _title(f"{name}", heading_char)

    description = _pop(metadata, _DESCRIPTION_KEYS)
    if description:
        out += _text_or_render(description)
    out += [f"``{name}`` needs **{len(model.bands)} bands** ({_escape(' '.join(model.bands))}), "
            f"from which it builds **{len(model.features)} features**; a one-hidden-layer "
            f"network of {model.network.n_hidden} {model.network.activation} units turns them "
            f"into log10(M*/Msun). Load it with ``astropy_smass.load_model({name!r})`` or use "
            f"it through ``table.smass.predict(model={name!r})``.", ""]

    # Inputs
    out += _title("Inputs", subheading_char)
    rows = []
    for band in model.bands:
        b = ALL_BANDS[band]
        rows.append([band, b.survey, b.filter_id, f"{b.pivot.value:.0f}", b.native_system])
    out += _list_table(["Band", "Survey", "Filter curve", "Pivot (Angstrom)",
                        "Native system"], rows)
    if model.observed_frame:
        low, high = model.redshift_range
        out += [f"An **observed-frame** model for {low:g} <= z <= {high:g} (see "
                ":doc:`redshift`): its inputs are the apparent AB magnitudes minus the "
                "distance modulus, their colours and the redshift, in network order: "
                + ", ".join(f"``{f}``" for f in model.features) + ".", ""]
    else:
        out += ["Features (absolute AB magnitudes and colours, in network order): "
                + ", ".join(f"``{f}``" for f in model.features) + ".", ""]

    # Training population and priors
    out += _title("Training population and priors", subheading_char)
    training = _pop(metadata, _TRAINING_KEYS)
    priors = _pop(metadata, _PRIOR_KEYS)
    if isinstance(training, dict) and priors is None:
        priors = training.pop("priors", None)
        population = training.get("population")
        if priors is None and isinstance(population, dict):
            priors = population.pop("priors", None)
    if training is None and priors is None:
        out += ["The bundle records no training provenance. See :doc:`method` for how the "
                "bundled models are trained.", ""]
    if training is not None:
        out += _text_or_render(training)
    if priors is not None:
        out += ["The priors of the simulated population (see "
                "`astropy_smass.training.population` for their sources):", ""]
        if isinstance(priors, dict) and all(isinstance(v, dict) for v in priors.values()):
            out += priors_rst(priors).splitlines() + [""]
        else:
            out += _render(priors)

    # Scores
    out += _title("Scores", subheading_char)
    scores = _pop(metadata, _SCORE_KEYS)
    report = metadata.pop("report", None)
    if scores is None and report is None:
        out += ["The bundle records no scores.", ""]
    if scores is not None:
        out += _text_or_render(scores)
    if isinstance(report, dict):
        out += _report_rst(report)
    elif report is not None:
        out += _render(report, "Training report")

    # Domain
    out += _title("Training domain", subheading_char)
    domain = model.domain
    out += ["A galaxy is flagged ``OUT_OF_RANGE`` when a feature lies outside the range "
            "below, and ``OUT_OF_DISTRIBUTION`` when the Mahalanobis distance of its feature "
            f"vector from the training centre exceeds **{domain.max_distance:.3g}**; by "
            "default neither gets a mass (see :doc:`method`).", ""]
    out += _list_table(["Feature", "Min (mag)", "Max (mag)", "Training mean (mag)"],
                       [[f, lo, hi, c] for f, lo, hi, c in zip(
                           model.features, domain.feature_min, domain.feature_max,
                           domain.center)])

    # Mass definition and IMF
    out += _title("Stellar mass definition and IMF", subheading_char)
    mass = _pop(metadata, _MASS_KEYS)
    imf = _pop(metadata, _IMF_KEYS)
    target = spec.get("target", "log10(M*/Msun)")
    out += [f"Target: ``{target}``.", ""]
    if imf is not None:
        out += _text_or_render(imf, "IMF")
    if mass is not None:
        out += _text_or_render(mass, "Mass definition")
    if imf is None and mass is None:
        out += ["The bundle does not record its IMF or mass definition; see :doc:`method`.",
                ""]

    # Bias correction
    out += _title("Bias correction", subheading_char)
    correction = spec.get("correction")
    if not correction:
        out += ["None: predictions are the network's output as trained on simulated "
                "galaxies.", ""]
    else:
        coefficients = correction.get("coefficients", [])
        pivot = correction.get("pivot")
        terms = " ".join(
            (f"{c:.4g}" if k == 0 else f"{'+' if c >= 0 else '-'} {abs(c):.4g}")
            + ("" if k == 0 else f" x{'' if k == 1 else f'^{k}'}")
            for k, c in enumerate(coefficients))
        lo, hi = correction.get("fit_range", [None, None])
        out += [f"Added to the network's prediction: ``delta = {terms}`` dex, "
                f"with ``x = logmstar - {_format(pivot)}``, fitted for predicted masses "
                f"{_format(lo)} to {_format(hi)} and held constant outside (flag "
                "``CORRECTION_CLAMPED``).", ""]
        provenance = correction.get("provenance")
        if provenance:
            out += _render(provenance, "Provenance")
    out += [f"Intrinsic scatter added in quadrature to the propagated uncertainty: "
            f"**{model.intrinsic_scatter:.3g} dex**.", ""]

    # Limitations
    out += _title("Limitations", subheading_char)
    limitations = _pop(metadata, _LIMITATION_KEYS)
    general = [
        "Trained only on simulated galaxies; real-galaxy masses differ from the simulation's "
        "by a mass-dependent offset that the bias correction removes only for galaxies like "
        "those of its reference catalogue.",
        "Inputs are rest-frame absolute magnitudes; apparent photometry is converted with a "
        "distance modulus and no K-correction, which is adequate at z < 0.1.",
        "Outside the training domain the network extrapolates; such galaxies are flagged and "
        "by default get no mass.",
    ]
    if isinstance(limitations, str):
        general.insert(0, limitations)
        limitations = None
    elif isinstance(limitations, list) and all(isinstance(x, str) for x in limitations):
        general = list(limitations) + general
        limitations = None
    out += [f"* {_escape(item)}" for item in general] + [""]
    if limitations is not None:
        out += _render(limitations)

    references = _pop(metadata, _REFERENCE_KEYS)
    if references is not None:
        out += _title("References", subheading_char) + _text_or_render(references)

    if metadata:
        out += _title("Other metadata", subheading_char) + _render(metadata)

    out += _title("Files", subheading_char)
    out += [f"``{Path(path).name}`` and ``{spec.get('weights_file', name + '.npz')}``, "
            f"bundle format version {spec.get('format_version')}; SHA-256 of the arrays "
            f"``{spec.get('weights_sha256', '')}``.", ""]
    return "\n".join(out) + "\n"


def priors_rst(priors=None):
    """A table of the simulated population's priors: group, source, parameters.

    Parameters
    ----------
    priors : dict, optional
        Default `astropy_smass.training.population.DEFAULT_PRIORS`.
    """
    if priors is None:
        from astropy_smass.training.population import DEFAULT_PRIORS as priors
    rows = []
    for group, values in priors.items():
        values = dict(values) if isinstance(values, dict) else {"value": values}
        source = values.pop("source", None)
        note = values.pop("note", None)
        params = []
        for key, value in values.items():
            if isinstance(value, (list, tuple)) and len(value) > 4:
                params.append(f"{key}: table of {len(value)} rows")
            else:
                params.append(f"{key} = {_format(value)}")
        rows.append([_label(group), source, "; ".join(params) + (f" ({note})" if note else "")])
    return "\n".join(_list_table(["Prior", "Source", "Parameters"], rows)) + "\n"


# -- Sphinx -----------------------------------------------------------------------------
def setup(app):
    from docutils import nodes
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective
    from sphinx.util.nodes import nested_parse_with_titles

    class _BundleDirective(SphinxDirective):
        has_content = False

        def _paths(self):
            paths = bundle_paths(self.config.modelcard_directory)
            for path in paths:
                self.env.note_dependency(str(path))
                self.env.note_dependency(str(path.with_suffix(".npz")))
            return paths

        def _parse(self, text):
            container = nodes.section()
            container.document = self.state.document
            nested_parse_with_titles(self.state, StringList(text.splitlines(),
                                                            source="<modelcard>"), container)
            return container.children

    class ModelSummary(_BundleDirective):
        def run(self):
            try:
                return self._parse(model_summary_rst(self._paths()))
            except Exception as exc:  # a broken bundle must fail the build loudly
                raise self.error(f"cannot summarise the model bundles: {exc}") from exc

    class ModelCards(_BundleDirective):
        def run(self):
            paths = self._paths()
            if not paths:
                return self._parse(_no_models_note())
            result = []
            for path in paths:
                try:
                    text = model_card_rst(path)
                except Exception as exc:
                    raise self.error(f"cannot write the model card of {path}: {exc}") from exc
                result.extend(self._parse(text))
            return result

    class Priors(_BundleDirective):
        def run(self):
            return self._parse(priors_rst())

    app.add_config_value("modelcard_directory", None, "env")
    app.add_directive("smass-priors", Priors)
    app.add_directive("smass-model-summary", ModelSummary)
    app.add_directive("smass-model-cards", ModelCards)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
