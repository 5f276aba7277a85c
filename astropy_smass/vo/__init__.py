"""Virtual Observatory workflow: TAP query or cross-match -> stellar masses -> TOPCAT/STILTS.

`annotate_tap` runs an ADQL query on a TAP service (with `pyvo`), recognises the
photometric bands of the result (by UCD, name and description:
`astropy_smass.photometry.ucd`) and adds the predicted stellar masses to it; with
``match=`` it cross-matches the user's own table against a TAP table by position
(`crossmatch_tap`). `annotate_tap_job` picks up an asynchronous job again (also one
left by an earlier run), `list_tables` and `list_columns` show what a service offers,
and `send_to_topcat` hands a table to TOPCAT (or any SAMP client that loads tables).
The tables are written by `~astropy_smass.io.write_table` (VOTable:
`~astropy_smass.io.to_votable`), with units, UCDs, descriptions, the prediction's
provenance and the service's own INFO elements.

Every network request has a time limit and every failure raises a `VOError` (a
`~astropy_smass.exceptions.SmassError`) with a one-line message, the pyvo, requests or
SAMP exception kept as its ``__cause__``. An answer that is an HTML page, or a job in a
phase that UWS does not know, is an error at once. Passwords and tokens, given in the
URL (``https://user:password@host/tap``, ``?token=...``), through ``session=`` or (on
the command line) from ``.netrc`` or the environment, are used for the requests to the
service's host only and never appear in messages, ``meta`` or output files: see
`redact`.

The code is in one module per job: ``session`` (credentials, `redact`, the HTTP
session), ``tap`` (queries, asynchronous jobs, uploads, `list_tables` and
`list_columns`), ``crossmatch`` (`crossmatch_tap`), ``annotate`` (`annotate_tap`,
`annotate_tap_job`) and ``samp`` (`check_samp_hub`, `send_to_topcat`); import the
names from ``astropy_smass.vo``.
"""

from ..exceptions import VOError, VOTimeoutError
from ..io.votable import to_votable
from ..photometry.ucd import redshift_column
from .annotate import annotate_tap, annotate_tap_job
from .crossmatch import crossmatch_tap
from .samp import check_samp_hub, send_to_topcat
from .session import DEFAULT_TIMEOUT, redact, session_from_environment
from .tap import DEFAULT_JOB_TIMEOUT, fetch_tap_job, list_columns, list_tables, run_tap

__all__ = ["VOError", "VOTimeoutError", "annotate_tap", "annotate_tap_job", "run_tap",
           "fetch_tap_job", "crossmatch_tap", "list_tables", "list_columns",
           "send_to_topcat", "check_samp_hub", "session_from_environment", "redact",
           "to_votable", "redshift_column", "DEFAULT_TIMEOUT", "DEFAULT_JOB_TIMEOUT"]
