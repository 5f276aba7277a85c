"""Propagation of photometric errors to the stellar-mass uncertainty.

Errors are propagated from magnitudes, not features, so a colour's error is
correlated with the errors of the magnitudes it is built from. The analytic route
linearises the network with its Jacobian; the Monte Carlo route perturbs the
magnitudes with Gaussian draws and takes the standard deviation of the predictions.
The total uncertainty adds the model's intrinsic scatter in quadrature.
"""

import numpy as np

__all__ = ["analytic_uncertainty", "monte_carlo_uncertainty", "total_uncertainty",
           "flux_error_to_magnitude_error"]

_MAG_PER_LN = 2.5 / np.log(10.0)


def flux_error_to_magnitude_error(flux, flux_error):
    """1-sigma magnitude error (mag) of a flux with a 1-sigma error, to first order."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _MAG_PER_LN * np.abs(np.asarray(flux_error, float) / np.asarray(flux, float))


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
                            chunk_rows=65536):
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
    chunk_rows : int
        Galaxies per block, bounding memory to ``chunk_rows * n_draws`` rows.

    Returns
    -------
    ndarray, shape (n,)
        1-sigma uncertainty (dex).
    """
    if n_draws < 2:
        raise ValueError(f"n_draws must be at least 2, got {n_draws}")
    rng = np.random.default_rng(seed)
    magnitudes = np.asarray(magnitudes, dtype=float)
    magnitude_errors = np.asarray(magnitude_errors, dtype=float)
    out = np.empty(len(magnitudes))
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
    return np.hypot(propagated, intrinsic)
