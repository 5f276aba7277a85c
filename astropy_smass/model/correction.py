"""Residual-bias correction: a low-order polynomial in predicted mass.

A network trained on simulations predicts real galaxies' masses with a small,
mass-dependent offset from a reference catalogue. The correction models the residual
``reference - predicted`` as a polynomial in the predicted mass, fitted with
iterative 3-sigma clipping, and is held constant outside the fitted range rather
than extrapolated.
"""

from dataclasses import dataclass, field

import numpy as np
from astropy.stats import mad_std

from ..exceptions import InputError

__all__ = ["BiasCorrection"]


@dataclass(frozen=True)
class BiasCorrection:
    """A polynomial bias correction of log stellar mass.

    Parameters
    ----------
    coefficients : tuple of float
        Polynomial coefficients of the residual (dex), lowest order first, in the
        variable ``logmstar - pivot``.
    pivot : float
        Centre of the polynomial variable, log10(M*/Msun).
    fit_range : tuple of float
        Range of predicted log10(M*/Msun) the polynomial was fitted on.
    provenance : dict
        Where it came from: reference catalogue, sample size, date, ...
    """

    coefficients: tuple
    pivot: float
    fit_range: tuple
    provenance: dict = field(default_factory=dict)

    def clamped(self, logmstar):
        """Boolean array: where ``logmstar`` lies outside the fitted range."""
        logmstar = np.asarray(logmstar, dtype=float)
        return (logmstar < self.fit_range[0]) | (logmstar > self.fit_range[1])

    def _variable(self, logmstar):
        # A new array (0-d for a scalar): the polynomials below are evaluated in place.
        logmstar = np.asarray(logmstar, dtype=float)
        x = np.clip(logmstar, *self.fit_range, out=np.empty_like(logmstar))
        x -= self.pivot
        return x

    def offset(self, logmstar):
        """The correction (dex) to add to predicted ``logmstar``."""
        return _horner(self.coefficients, self._variable(logmstar))[()]

    def slope(self, logmstar):
        """d(offset)/d(logmstar): zero where the correction is held constant."""
        logmstar = np.asarray(logmstar, dtype=float)
        derivative = [k * c for k, c in enumerate(self.coefficients)][1:]
        slope = _horner(derivative, self._variable(logmstar))
        slope[self.clamped(logmstar)] = 0.0
        return slope[()]

    def apply(self, logmstar):
        """Corrected log mass."""
        corrected = _horner(self.coefficients, self._variable(logmstar))
        corrected += logmstar
        return corrected[()]

    @classmethod
    def fit(cls, predicted, reference, degree=1, fit_range=None, clip_sigma=3.0,
            provenance=None):
        """Fit the correction to matched predicted and reference log masses.

        Parameters
        ----------
        predicted, reference : array-like
            log10(M*/Msun) from the network (uncorrected) and from the reference
            catalogue; non-finite pairs are ignored.
        degree : int
            Polynomial degree (0 = constant offset).
        fit_range : tuple of float, optional
            Only galaxies with predicted mass in this range are used; default the
            1st-99th percentile of ``predicted``.
        clip_sigma : float
            Residuals beyond this many robust standard deviations are dropped,
            iteratively, so catastrophic outliers do not pull the fit.
        provenance : dict, optional

        Returns
        -------
        BiasCorrection
        """
        predicted = np.asarray(predicted, dtype=float)
        reference = np.asarray(reference, dtype=float)
        if predicted.shape != reference.shape:
            raise InputError("predicted and reference must have the same length")
        good = np.isfinite(predicted) & np.isfinite(reference)
        if fit_range is None:
            if not good.any():
                raise InputError("no galaxy has both a prediction and a reference mass")
            fit_range = tuple(np.percentile(predicted[good], [1, 99]))
        good &= (predicted >= fit_range[0]) & (predicted <= fit_range[1])
        if good.sum() <= 2 * (degree + 1):
            raise InputError(f"only {good.sum()} usable galaxies to fit a degree-{degree} "
                             "correction")
        pivot = float(np.median(predicted[good]))
        x, resid = predicted - pivot, reference - predicted
        for _ in range(10):
            poly = np.polynomial.Polynomial.fit(x[good], resid[good], degree).convert()
            dev = resid - poly(x)
            sigma = mad_std(dev[good])
            if not sigma > 0:  # most residuals equal: nothing stands out to clip
                break
            keep = good & (np.abs(dev) <= clip_sigma * sigma)
            if np.array_equal(keep, good):
                break
            good = keep
        coefficients = np.zeros(degree + 1)
        coefficients[: len(poly.coef)] = poly.coef
        info = {"n_used": int(good.sum()), "degree": degree, "clip_sigma": clip_sigma,
                "residual_scatter_dex": float(sigma), **(provenance or {})}
        return cls(tuple(float(c) for c in coefficients), pivot,
                   (float(fit_range[0]), float(fit_range[1])), info)

    def to_dict(self):
        return {"kind": "polynomial", "coefficients": list(self.coefficients),
                "pivot": self.pivot, "fit_range": list(self.fit_range),
                "provenance": self.provenance}

    @classmethod
    def from_dict(cls, data):
        if data.get("kind", "polynomial") != "polynomial":
            raise InputError(f"unknown correction kind {data.get('kind')!r}")
        return cls(tuple(data["coefficients"]), float(data["pivot"]), tuple(data["fit_range"]),
                   dict(data.get("provenance", {})))


def _horner(coefficients, x):
    """Polynomial (coefficients lowest order first) at ``x``; overwrites ``x``.

    The operations of `numpy.polynomial.polynomial.polyval` (``v = c_d``, then
    ``v = v * x + c_k``), without its temporaries.
    """
    coefficients = list(coefficients) or [0.0]
    if len(coefficients) == 1:
        x *= 0.0  # NaN stays NaN, as in polyval
        x += coefficients[0]
        return x
    # x is needed again above degree 1, so the products go to a new array then.
    values = np.multiply(x, coefficients[-1],
                         out=x if len(coefficients) == 2 else np.empty_like(x))
    values += coefficients[-2]
    for c in coefficients[-3::-1]:
        values *= x
        values += c
    return values
