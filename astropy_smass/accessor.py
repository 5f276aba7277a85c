"""The ``.smass`` accessor on astropy tables.

Importing `astropy_smass` registers ``smass`` on `~astropy.table.Table` (and so on
`~astropy.table.QTable` and every other subclass)::

    >>> import astropy_smass
    >>> from astropy.table import QTable
    >>> hasattr(QTable, "smass")
    True

The accessor is a thin layer over `astropy_smass.pipeline`: ``table.smass.predict(...)``
is ``predict_table(table, ...)``.
"""

import inspect
import warnings

import astropy.units as u
import numpy as np
from astropy.table import Column, QTable, Table
from astropy.utils.exceptions import AstropyDeprecationWarning
from astropy.utils.masked import Masked

from . import pipeline
from .exceptions import SmassWarning
from .photometry.ucd import recognise_columns
from .pipeline import output_columns, predict_table, saliency_table

__all__ = ["SmassAccessor", "register"]

#: The attribute name the accessor is registered under.
NAME = "smass"


class SmassAccessor:
    """Stellar masses for the rows of an astropy table: ``table.smass``.

    Parameters
    ----------
    table : `~astropy.table.Table`
    """

    def __init__(self, table):
        self._table = table

    def bands(self, columns=None, survey=None):
        """The ``{band: column}`` mapping recognised in the table (see ``survey`` in
        `predict`)."""
        return recognise_columns(self._table, columns=columns, survey=survey).columns

    def predict(self, model="auto", **kwargs):
        # Signature and documentation are predict_table's (set below): one list of
        # keywords, written once.
        return predict_table(self._table, model, **kwargs)

    def stellar_mass(self, model="auto", **kwargs):
        """Stellar masses as a `~astropy.units.Quantity` in Msun, masked where none.

        Takes the arguments of `predict`.
        """
        logm = self.predict(model, **kwargs)["logmstar"].value
        return Masked(np.where(np.isfinite(logm), 10 ** logm, np.nan) * u.Msun,
                      mask=~np.isfinite(logm))

    def annotate(self, model="auto", *, prefix="", overwrite=False, **kwargs):
        """Add the prediction's columns to the table itself, with units, descriptions, UCDs.

        Parameters
        ----------
        model : see `predict`
        prefix : str
            Prepended to the new column names.
        overwrite : bool
            Replace columns of the same names; otherwise that is an error.
        **kwargs
            Passed to `predict`.

        Returns
        -------
        `~astropy.table.Table`
            The same table, annotated (for chaining).
        """
        result = self.predict(model, **kwargs)
        _, names = output_columns(self._table.colnames, result.colnames, prefix=prefix,
                                  overwrite=overwrite, remedy="pass overwrite=True or a prefix")
        for name, new_name in names.items():
            col = result[name]
            if isinstance(self._table, QTable) or not isinstance(col, u.Quantity):
                new = col
            else:
                new = Column(col.value, unit=col.unit)
            self._table[new_name] = new
            self._table[new_name].info.description = col.info.description
            self._table[new_name].info.meta = dict(col.info.meta or {})
        self._table.meta.update(result.meta)
        return self._table

    def saliency(self, model, **kwargs):
        """Per-galaxy feature importance for one model, as a `~astropy.table.QTable`.

        One column a feature: ``|d logM / d x_f| * sigma_f`` in dex (see
        `~astropy_smass.model.bundle.StellarMassModel.saliency_magnitudes`).
        """
        return saliency_table(self._table, model, **kwargs)


def _predict_signature():
    # predict_table(table, model="auto", *, ...) as a method: (self, model="auto", *, ...)
    parameters = list(inspect.signature(predict_table).parameters.values())
    self = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    public = [p for p in parameters[1:] if not p.name.startswith("_")]
    return inspect.Signature([self] + public)


SmassAccessor.predict.__signature__ = _predict_signature()
SmassAccessor.predict.__doc__ = predict_table.__doc__.replace(
    "for every row of a table", "for every row of the table", 1)


class _AccessorDescriptor:
    """Class attribute that hands each table instance its own accessor.

    A data descriptor (it defines ``__set__``): ``table.smass = x`` raises instead of
    silently hiding the accessor behind an instance attribute.
    """

    def __get__(self, instance, owner):
        if instance is None:
            return SmassAccessor
        return SmassAccessor(instance)

    def __set__(self, instance, value):
        raise AttributeError(f"'{NAME}' is astropy-smass's accessor and cannot be assigned; "
                             f"use table['{NAME}'] for a column of that name")

    def __delete__(self, instance):
        raise AttributeError(f"'{NAME}' is astropy-smass's accessor and cannot be deleted")


def __getattr__(name):
    # The table-level functions this module held before astropy_smass.pipeline existed.
    if not name.startswith("__") and hasattr(pipeline, name):
        warnings.warn(f"astropy_smass.accessor.{name} has moved to astropy_smass.pipeline."
                      f"{name}; import it from there (the old name will be removed in a "
                      "future version)", AstropyDeprecationWarning, stacklevel=2)
        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register():
    """Install the ``smass`` accessor on `~astropy.table.Table` (and subclasses).

    Warns (`~astropy_smass.SmassWarning`) if ``Table`` already has a ``smass`` attribute
    that is not this package's accessor, which is then replaced.
    """
    existing = Table.__dict__.get(NAME, getattr(Table, NAME, None))
    if existing is not None and not isinstance(existing, _AccessorDescriptor) \
            and existing is not SmassAccessor:
        warnings.warn(f"astropy Table already has an attribute '{NAME}' ({existing!r}); "
                      "astropy-smass replaces it with its accessor", SmassWarning)
    Table.smass = _AccessorDescriptor()
