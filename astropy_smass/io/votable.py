"""VOTable documents with the units, UCDs, descriptions and provenance that VO tools read.

`to_votable` builds the VOTable that `~astropy_smass.io.write_table` writes, that
`~astropy_smass.vo.send_to_topcat` sends and that a FITS file carries in its primary
HDU for STILTS and TOPCAT (`votable_bytes`).

Version and units: the documents are VOTable 1.3, whose unit strings follow the CDS
standard (VOTable 1.3, section 4.4), because that is the one syntax with a logarithmic
unit that both astropy's VOTable reader and STILTS/TOPCAT read back as one:
``[solMass]`` is log10(M / 1 solMass), which plain ``astropy.table.Table.read`` turns
into ``dex(solMass)``, and ``[-]`` is a difference of logarithms (``dex``). VOTable 1.4
and 1.5 use VOUnits, whose ``log(solMass)`` astropy cannot parse (and which has no
``dex``); see docs/vo.rst for the comparison.

Provenance: the ``smass_*`` items of ``table.meta`` become ``INFO`` elements (structured
values as JSON); what a TAP service said about its result (its ``INFO`` elements:
``QUERY_STATUS``, ``citation``, ``referenceURL``...; and its description), kept by
`~astropy_smass.vo.run_tap` as ``meta['smass_service_infos']`` and
``meta['smass_service_description']``, become ``INFO`` elements and the document's
``DESCRIPTION`` again, as STILTS ``tapquery`` keeps them.
"""

import contextlib
import io
import json
import re
import warnings

import astropy.units as u

from .._utils import json_default
from .units import _plain_copy

__all__ = ["VOTABLE_VERSION", "to_votable", "votable_bytes", "provenance_items",
           "SERVICE_INFOS", "SERVICE_DESCRIPTION"]

#: The VOTable version written (units in CDS syntax, see the module docstring).
VOTABLE_VERSION = "1.3"

#: ``meta`` key of the service's own INFO elements, a list of ``{name, value[, ucd]}``.
SERVICE_INFOS = "smass_service_infos"
#: ``meta`` key of the description of the service's result document.
SERVICE_DESCRIPTION = "smass_service_description"

# Written natively as INFO elements and DESCRIPTION, not as JSON provenance items.
_NATIVE = (SERVICE_INFOS, SERVICE_DESCRIPTION)


def provenance_items(meta):
    """The provenance of a table's ``meta`` as ``(key, text)`` pairs.

    Items whose key starts with ``smass_`` are written in full; structured values
    (dicts, lists) as JSON.
    """
    items = []
    for key, value in meta.items():
        if not str(key).startswith("smass_"):
            continue
        items.append((str(key), value if isinstance(value, str) else
                      json.dumps(value, default=json_default)))
    return items


def to_votable(table):
    """A VOTable of ``table`` with units, UCDs, descriptions and provenance.

    Parameters
    ----------
    table : `~astropy.table.Table` or `~astropy.table.QTable`

    Returns
    -------
    `~astropy.io.votable.tree.VOTableFile`
        Version 1.3; units as CDS strings (`~astropy_smass.io.vo_unit_string`:
        ``[solMass]`` for ``dex(solMass)``, ``[-]`` for ``dex``), each column's
        ``info.meta['ucd']`` and ``info.description``, the table's
        ``meta['description']``, one ``INFO`` element per ``smass_*`` provenance item
        and per INFO of the TAP service the table came from.
    """
    from astropy.io.votable.tree import Info, Resource, TableElement, VOTableFile

    plain, units = _plain_copy(table)
    votable = VOTableFile(version=VOTABLE_VERSION)
    resource = Resource()
    votable.resources.append(resource)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        element = TableElement.from_table(votable, plain)
        resource.tables.append(element)
        for field, name in zip(element.fields, plain.colnames):
            if units[name]:
                # An UnrecognizedUnit is written verbatim, as chosen in vo_unit_string.
                field.unit = u.UnrecognizedUnit(units[name])
    description = table.meta.get("description")
    if isinstance(description, str):
        element.description = description
    if isinstance(table.meta.get("name"), str):
        element.name = table.meta["name"]
    service_description = table.meta.get(SERVICE_DESCRIPTION)
    if isinstance(service_description, str) and service_description.strip():
        votable.description = service_description
    for number, info in enumerate(_service_infos(table.meta), start=1):
        # Services repeat INFO IDs (DaCHS: two "citation"); IDs must be unique.
        resource.infos.append(Info(ID=f"service_info_{number}", name=info["name"],
                                   value=str(info.get("value", "")),
                                   ucd=info.get("ucd") or None,
                                   config={"version_1_2_or_later": True}))
    for key, text in provenance_items(table.meta):
        if key in _NATIVE:
            continue
        # INFO IDs must not clash with FIELD IDs (a column may be called smass_model).
        resource.infos.append(Info(ID=f"info_{key}", name=key, value=text))
    return votable


def _service_infos(meta):
    infos = meta.get(SERVICE_INFOS) or []
    if isinstance(infos, str):
        try:
            infos = json.loads(infos)
        except ValueError:
            return []
    return [i for i in infos if isinstance(i, dict) and i.get("name")]


_END_OF_FIELDS = re.compile(rb"(<TABLE\b[^>]*>.*?)(\s*</TABLE>)", re.S)


def votable_bytes(table, data=True):
    """The bytes of `to_votable`'s document.

    Parameters
    ----------
    table : `~astropy.table.Table`
    data : bool
        Include the rows. A table without rows gets an empty ``TABLEDATA`` (astropy
        writes no ``DATA`` element then, which STILTS and TOPCAT refuse). With
        ``data=False`` the document describes the columns only (no ``DATA``), as the
        primary HDU of a FITS-plus file does.

    Returns
    -------
    bytes
    """
    buffer = io.BytesIO()
    # The column types of object columns (variable-length arrays) are read from their
    # first row: keep one, and drop the DATA element after.
    source = table if data else table[:1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # W50 for the unit strings we chose on purpose
        to_votable(source).to_xml(buffer)
    text = buffer.getvalue()
    if not data:
        return re.sub(rb"\s*<DATA>.*?</DATA>", b"", text, count=1, flags=re.S)
    if data and len(table) == 0 and b"<DATA" not in text:
        text = _END_OF_FIELDS.sub(
            lambda m: m.group(1) + b"\n   <DATA>\n    <TABLEDATA/>\n   </DATA>" + m.group(2),
            text, count=1)
    return text


def read_votable_meta(votable, element):
    """The provenance and service metadata of a parsed VOTable, for ``table.meta``.

    Parameters
    ----------
    votable : `~astropy.io.votable.tree.VOTableFile`
    element : `~astropy.io.votable.tree.TableElement`
        The table read.

    Returns
    -------
    dict
        ``smass_*`` INFO items (JSON decoded), the other INFO elements as
        ``smass_service_infos`` and the document's or resource's description as
        ``smass_service_description``.
    """
    meta = {}
    infos = list(votable.infos)
    descriptions = [votable.description]
    for resource in votable.resources:
        infos.extend(resource.infos)
        descriptions.append(resource.description)
    infos.extend(element.infos)
    service = []
    for info in infos:
        if info.name and info.name.startswith("smass_"):
            meta[info.name] = _decode_provenance(info.name, info.value)
        else:
            service.append(info)
    meta.update(service_meta(service, descriptions))
    return meta


def service_meta(infos, descriptions, clean=lambda text: text):
    """A service's INFO elements and description as ``meta`` items.

    Parameters
    ----------
    infos : iterable of `~astropy.io.votable.tree.Info`
        Those without a name are left out.
    descriptions : iterable
        The first that is a non-blank string is kept, its whitespace collapsed.
    clean : callable
        Applied to each INFO value and to the description (the VO client removes
        secrets with it).

    Returns
    -------
    dict
        ``smass_service_infos`` (a list of ``{"name", "value"[, "ucd"]}``) and
        ``smass_service_description``, each only when there is one.
    """
    meta = {}
    entries = []
    for info in infos:
        if not info.name:
            continue
        entry = {"name": str(info.name), "value": clean(info.value)}
        if info.ucd:
            entry["ucd"] = str(info.ucd)
        entries.append(entry)
    if entries:
        meta[SERVICE_INFOS] = entries
    text = next((d for d in descriptions if isinstance(d, str) and d.strip()), None)
    if text is not None:
        meta[SERVICE_DESCRIPTION] = clean(" ".join(text.split()))
    return meta


def _decode_provenance(key, text):
    if not isinstance(text, str):
        return text
    if text[:1] in "[{" or text in ("null", "true", "false") or re.fullmatch(
            r"-?\d+(\.\d*)?([eE][-+]?\d+)?", text):
        with contextlib.suppress(ValueError):
            return json.loads(text)
    return text
