"""The training domain: where the network's predictions can be trusted.

Two checks, following the published method's exclusion of galaxies outside the
training feature ranges and adding a multivariate one: each feature must lie within
the range spanned by the training set, and the whole feature vector must lie within
the Mahalanobis distance that contains a fixed fraction (default 99.9 per cent) of
the training set. The second catches combinations never seen in training (a blue
UV colour with a red optical one, say) whose individual features look normal.
"""

import numpy as np

from ..flags import SmassFlag

__all__ = ["TrainingDomain"]


class TrainingDomain:
    """Per-feature ranges and a Mahalanobis-distance limit.

    Parameters
    ----------
    feature_min, feature_max : array-like, shape (n_features,)
        Range of each feature in the training set.
    center : array-like, shape (n_features,)
        Mean feature vector of the training set.
    whitening : array-like, shape (n_features, rank)
        Matrix ``W`` such that ``|(x - center) @ W|`` is the Mahalanobis distance.
        Colours are differences of magnitudes, so the feature covariance is singular;
        ``W`` spans only its non-degenerate directions.
    max_distance : float
        Largest Mahalanobis distance accepted.
    """

    def __init__(self, feature_min, feature_max, center, whitening, max_distance):
        self.feature_min = np.asarray(feature_min, dtype=float)
        self.feature_max = np.asarray(feature_max, dtype=float)
        self.center = np.asarray(center, dtype=float)
        self.whitening = np.asarray(whitening, dtype=float)
        self.max_distance = float(max_distance)

    @classmethod
    def from_training(cls, features, quantile=0.999):
        """Build the domain from the training feature array (n_samples, n_features)."""
        features = np.asarray(features, dtype=float)
        center = features.mean(axis=0)
        # atleast_2d: np.cov of a single feature is a scalar.
        covariance = np.atleast_2d(np.cov(features, rowvar=False))
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        keep = eigenvalues > 1e-10 * eigenvalues.max()
        whitening = eigenvectors[:, keep] / np.sqrt(eigenvalues[keep])
        domain = cls(features.min(axis=0), features.max(axis=0), center, whitening, np.inf)
        domain.max_distance = float(np.quantile(domain.distance(features), quantile))
        return domain

    def distance(self, features):
        """Mahalanobis distance of each row from the training set's centre."""
        return np.linalg.norm((np.asarray(features, dtype=float) - self.center)
                              @ self.whitening, axis=1)

    def check(self, features):
        """Flags (`SmassFlag.OUT_OF_RANGE`, `SmassFlag.OUT_OF_DISTRIBUTION`) per row.

        Rows with non-finite features get no domain flag: they are flagged elsewhere.
        """
        features = np.asarray(features, dtype=float)
        flags = np.zeros(len(features), dtype=np.int32)
        with np.errstate(invalid="ignore"):
            outside = ((features < self.feature_min) | (features > self.feature_max)).any(axis=1)
            far = self.distance(features) > self.max_distance
        flags[outside] |= SmassFlag.OUT_OF_RANGE
        flags[far] |= SmassFlag.OUT_OF_DISTRIBUTION
        return flags

    def arrays(self):
        return {"domain_min": self.feature_min, "domain_max": self.feature_max,
                "domain_center": self.center, "domain_whitening": self.whitening,
                "domain_max_distance": np.array(self.max_distance)}

    @classmethod
    def from_arrays(cls, arrays):
        return cls(arrays["domain_min"], arrays["domain_max"], arrays["domain_center"],
                   arrays["domain_whitening"], float(arrays["domain_max_distance"]))
