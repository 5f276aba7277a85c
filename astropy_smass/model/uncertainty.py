"""Propagation of photometric errors to the stellar-mass uncertainty.

Errors are propagated from magnitudes, not features, so a colour's error is
correlated with the errors of the magnitudes it is built from. The analytic route
linearises the network with its Jacobian; the Monte Carlo route perturbs the
magnitudes with Gaussian draws and takes the standard deviation of the predictions.
The total uncertainty adds the model's intrinsic scatter in quadrature.
"""

import numpy as np
from astropy.stats import mad_std

from ..conf import conf
from ..exceptions import InputError

# flux_error_to_magnitude_error lives with the other photometric conversions (the model
# layer sits above photometry); importable from here as before.
from ..photometry.magnitudes import flux_error_to_magnitude_error  # noqa: F401

__all__ = ["analytic_uncertainty", "monte_carlo_uncertainty", "total_uncertainty",
           "intrinsic_scatter"]


def analytic_uncertainty(jacobian, magnitude_errors):
    """Linear propagation: ``sqrt(sum_b (d logM / d m_b * sigma_b)^2)``.

    Parameters
    ----------
    jacobian : ndarray, shape (n, n_bands)
        Derivative of log mass (dex) with respect to each band's magnitude (mag).
    magnitude_errors : ndarray, shape (n, n_bands)
        Independent 1-sigma magnitude errors (mag).

    Returns
    -------
    ndarray, shape (n,)
        1-sigma uncertainty (dex).
    """
    return np.sqrt(np.einsum("ij,ij->i", jacobian * magnitude_errors,
                             jacobian * magnitude_errors))


def monte_carlo_uncertainty(predict, magnitudes, magnitude_errors, n_draws=100, seed=None,
                            chunk_rows=None):
    """Standard deviation of ``predict`` over Gaussian draws of the magnitudes.

    Parameters
    ----------
    predict : callable
        Maps an (m, n_bands) magnitude array to m log masses (dex).
    magnitudes, magnitude_errors : ndarray, shape (n, n_bands)
        Magnitudes and their independent 1-sigma errors (mag).
    n_draws : int
        Draws per galaxy.
    seed : int or `numpy.random.Generator`, optional
        Seed for reproducible draws.
    chunk_rows : int, optional
        Draws (galaxies times ``n_draws``) made and predicted at a time, which bounds
        memory; default ``conf.block_rows * conf.monte_carlo_blocks`` (see
        `astropy_smass.conf`). The result does not depend on it: the draws are made
        in the same order whatever the chunks.

    Returns
    -------
    ndarray, shape (n,)
        1-sigma uncertainty (dex).
    """
    if n_draws < 2:
        raise InputError(f"n_draws must be at least 2, got {n_draws}")
    rng = np.random.default_rng(seed)
    magnitudes = np.asarray(magnitudes, dtype=float)
    magnitude_errors = np.asarray(magnitude_errors, dtype=float)
    out = np.empty(len(magnitudes))
    if chunk_rows is None:
        chunk_rows = conf.block_rows * conf.monte_carlo_blocks
    step = max(1, chunk_rows // n_draws)
    for start in range(0, len(magnitudes), step):
        block = slice(start, start + step)
        mags, errs = magnitudes[block], magnitude_errors[block]
        draws = mags[:, None, :] + errs[:, None, :] * rng.standard_normal(
            (len(mags), n_draws, mags.shape[1]))
        predictions = predict(draws.reshape(-1, mags.shape[1])).reshape(len(mags), n_draws)
        out[block] = predictions.std(axis=1, ddof=1)
    return out


def total_uncertainty(propagated, intrinsic):
    """Propagated and intrinsic uncertainties (dex) added in quadrature."""
    # sqrt(a^2 + b^2), not np.hypot: hypot guards against an overflow that uncertainties
    # in dex never reach, at ten times the cost on a large catalogue.
    total = np.square(np.asarray(propagated, dtype=float))
    total += np.square(intrinsic)
    return np.sqrt(total, out=total)


def intrinsic_scatter(residuals, propagated=None, reference_error=None, details=False):
    """Scatter (dex) of residuals beyond what the known errors explain.

    ``sigma_int^2 = sigma_robust(residuals)^2 - median(propagated^2 + reference_error^2)``,
    floored at 0, where ``sigma_robust`` is `~astropy.stats.mad_std` (1.4826 times the
    median absolute deviation from the median), so catastrophic outliers do not inflate
    it.

    Parameters
    ----------
    residuals : array-like
        Reference minus predicted log mass (dex); non-finite values are ignored.
    propagated : array-like, optional
        Photometric uncertainty of each prediction (dex); unknown (NaN) counts as 0.
    reference_error : array-like, optional
        1-sigma error of each reference mass (dex); unknown (NaN) counts as 0.
    details : bool
        Also return a dict of the parts: ``robust_scatter_dex``,
        ``median_known_error_dex`` and ``n_residuals``.

    Returns
    -------
    float or (float, dict)
    """
    residuals = np.asarray(residuals, dtype=float)
    good = np.isfinite(residuals)
    known = np.zeros(len(residuals))
    for part in (propagated, reference_error):
        if part is not None:
            part = np.broadcast_to(np.asarray(part, dtype=float), residuals.shape)
            known = known + np.where(np.isfinite(part), part, 0.0) ** 2
    if not good.any():
        scatter, robust, median_known = np.nan, np.nan, np.nan
    else:
        r = residuals[good]
        robust = float(mad_std(r))
        median_known = float(np.median(known[good]))
        scatter = float(np.sqrt(max(robust ** 2 - median_known, 0.0)))
    if not details:
        return scatter
    return scatter, {"robust_scatter_dex": robust,
                     "median_known_error_dex": float(np.sqrt(median_known)),
                     "n_residuals": int(good.sum())}
