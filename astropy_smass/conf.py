"""Configuration: block sizes, chunk sizes, timeouts and model choice, in one place.

An `astropy.config` namespace, as in astroquery: read from the ``[conf]`` section of
``~/.astropy/config/astropy_smass.cfg`` when that file exists, and changed for a while
with ``conf.set_temp``::

    >>> from astropy_smass.conf import conf
    >>> conf.block_rows
    4608
    >>> with conf.set_temp("tap_timeout", 5.0):
    ...     conf.tap_timeout
    5.0

There are two sizes, for two jobs. ``block_rows`` is the numerics' block: the forward
pass of the network and the training-domain check work on blocks of that many galaxies,
sized so that a block's intermediates stay in the processor's cache (and the Monte Carlo
uncertainty feeds them whole blocks of draws). ``chunk_rows`` is the streaming chunk:
rows read, predicted and written at a time, sized to amortise the cost of each read and
write while bounding memory; it has nothing to do with caches. A galaxy's numbers do not
depend on either (see the Architecture page).
"""

from astropy import config as _config

from .massscale import SYSTEMATIC_DEX as _SYSTEMATIC_DEX

__all__ = ["Conf", "conf"]


class Conf(_config.ConfigNamespace):
    """Configuration of astropy-smass (`conf`)."""

    block_rows = _config.ConfigItem(
        4608,
        "Galaxies per block of the forward pass and the domain check (rounded up to a "
        "multiple of 16). Measured with numpy 2.4 and OpenBLAS on AVX-512: a block's "
        "intermediates stay in the level-2 cache, numpy broadcasts a per-row constant "
        "along rows of more than 4096 values several times faster than along shorter "
        "ones, and OpenBLAS multiplies these thin matrices about twice as fast up to "
        "some 4600 columns as beyond. Results do not depend on it.")
    monte_carlo_blocks = _config.ConfigItem(
        16,
        "Blocks of block_rows draws that the Monte Carlo uncertainty makes at a time "
        "(memory: block_rows * monte_carlo_blocks rows of magnitudes). Results do not "
        "depend on it.")
    chunk_rows = _config.ConfigItem(
        250_000,
        "Rows per chunk when predict streams FITS, Parquet and HDF5 files (the "
        "--chunk-rows default). Results do not depend on it.")
    tap_timeout = _config.ConfigItem(
        60.0, "Seconds each HTTP request to a TAP service may take.")
    tap_job_timeout = _config.ConfigItem(
        600.0, "Seconds an asynchronous TAP job may run before it is given up.")
    systematic_dex = _config.ConfigItem(
        _SYSTEMATIC_DEX,
        "Scale systematic (dex) in logmstar_err and logmstar_err_sys: the residual "
        "difference between reference stellar-mass systems after conversion to the "
        "package's scale (default astropy_smass.massscale.SYSTEMATIC_DEX; the systematic= "
        "argument of predict_table wins).")
    plugins_in_auto = _config.ConfigItem(
        False,
        "Let model='auto' choose among every plugin model, not only the bundled models "
        "and those their distributions list in the astropy_smass.auto_models group.")


#: The configuration of astropy-smass.
conf = Conf()
