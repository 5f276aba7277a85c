"""The training domain: where the network's predictions can be trusted.

Two checks, following the published method's exclusion of galaxies outside the
training feature ranges and adding a multivariate one: each feature must lie within
the range spanned by the training set, and the whole feature vector must lie within
the Mahalanobis distance that contains a fixed fraction (default 99.9 per cent) of
the training set. The second catches combinations never seen in training (a blue
UV colour with a red optical one, say) whose individual features look normal.

`TrainingDomain` holds the bounds; `DomainPass` is the one implementation of the
checks, on blocks of galaxies and, for a model, directly on its inputs (magnitudes):
`TrainingDomain.check` runs it on features, a model's prediction on the same centred
blocks as the network's `~astropy_smass.model.network.ForwardPass`.
"""

import numpy as np

from ..exceptions import ModelFormatError
from ..flags import SmassFlag
from .network import block_size, centre_block, centred_block

__all__ = ["TrainingDomain", "DomainPass", "range_plan"]


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
        The checks are `DomainPass`'s, in float64 (the squared distance is compared with
        the squared limit).
        """
        features = np.asarray(features, dtype=float)
        return self.domain_pass().check(features)

    def domain_pass(self, input_map=None, center=None, dtype=np.float64):
        """The checks as a `DomainPass` on inputs ``u`` whose features are ``u @
        input_map.T`` (default: the features themselves), centred on ``center``
        (default: the training centre)."""
        return DomainPass(self, input_map, center, dtype)

    def arrays(self):
        return {"domain_min": self.feature_min, "domain_max": self.feature_max,
                "domain_center": self.center, "domain_whitening": self.whitening,
                "domain_max_distance": np.array(self.max_distance)}

    @classmethod
    def from_arrays(cls, arrays):
        return cls(arrays["domain_min"], arrays["domain_max"], arrays["domain_center"],
                   arrays["domain_whitening"], float(arrays["domain_max_distance"]))


def range_plan(feature_matrix, lower, upper):
    """Bounds of the range check, on the quantities the pass computes exactly.

    Every feature is plus or minus one magnitude, or the difference of two (see
    `~astropy_smass.model.features.feature_matrix`). A magnitude is compared with its bounds
    as it is; a colour as the one rounded difference that ``build_features`` makes too
    (``x_b - x_a`` is exactly ``-(x_a - x_b)``). Bounds of features on the same quantity
    are intersected, which flags the same rows.

    Returns
    -------
    dict
        ``mag_lower``, ``mag_upper`` (n_bands, 1); ``adjacent_lower``,
        ``adjacent_upper`` (n_bands - 1, 1) for ``x_a - x_(a+1)``, absent when no
        feature is such a colour; ``first``, ``second`` (index arrays) and
        ``pair_lower``, ``pair_upper`` (n_pairs, 1) for the other colours ``x_a - x_b``.
        A bound without a feature is infinite.
    """
    n_bands = feature_matrix.shape[1]
    bounds = {}  # (a, b) -> [lower, upper] of x_a - x_b; (a, None) for x_a

    def narrow(key, low, high):
        old = bounds.setdefault(key, [-np.inf, np.inf])
        # A NaN bound flags nothing (its comparisons are false): leave it out.
        if not np.isnan(low):
            old[0] = max(old[0], low)
        if not np.isnan(high):
            old[1] = min(old[1], high)

    for row, low, high in zip(feature_matrix, lower, upper):
        plus, minus = np.flatnonzero(row == 1.0), np.flatnonzero(row == -1.0)
        if len(plus) + len(minus) != np.count_nonzero(row) or len(plus) > 1 or len(minus) > 1:
            raise ModelFormatError(f"feature coefficients {row} are not a magnitude or a colour")
        if len(plus) and len(minus):
            a, b = int(plus[0]), int(minus[0])
            if a < b:
                narrow((a, b), low, high)
            else:  # the same colour the other way round
                narrow((b, a), -high, -low)
        elif len(plus):
            narrow((int(plus[0]), None), low, high)
        elif len(minus):
            narrow((int(minus[0]), None), -high, -low)
    plan = {"mag_lower": np.full((n_bands, 1), -np.inf),
            "mag_upper": np.full((n_bands, 1), np.inf)}
    adjacent = {key: value for key, value in bounds.items()
                if key[1] is not None and key[1] == key[0] + 1}
    if adjacent:
        plan["adjacent_lower"] = np.full((n_bands - 1, 1), -np.inf)
        plan["adjacent_upper"] = np.full((n_bands - 1, 1), np.inf)
    pairs = []
    for (a, b), (low, high) in bounds.items():
        if b is None:
            plan["mag_lower"][a], plan["mag_upper"][a] = low, high
        elif (a, b) in adjacent:
            plan["adjacent_lower"][a], plan["adjacent_upper"][a] = low, high
        else:
            pairs.append((a, b, low, high))
    plan["first"] = np.array([p[0] for p in pairs], dtype=int)
    plan["second"] = np.array([p[1] for p in pairs], dtype=int)
    plan["pair_lower"] = np.array([[p[2]] for p in pairs]).reshape(-1, 1)
    plan["pair_upper"] = np.array([[p[3]] for p in pairs]).reshape(-1, 1)
    return plan


def _range_screen(plan, center, dtype):
    """Bounds of centred magnitudes and colours in ``dtype`` that decide the range check
    where it cannot be wrong; None if the plan allows no such screen.

    A centred magnitude ``v = x - c`` rounded to ``dtype`` is within ``u |v|`` of its
    exact value (``u`` the unit roundoff), the difference of two within
    ``u (|v_a| + |v_b| + |v_a - v_b|)``. Each bound moves inwards by four times the
    largest such error on it, so a galaxy inside every moved bound passes the exact
    check; every other galaxy gets the exact check. This needs a magnitude bound on
    every band (which bounds each ``|v|`` of a galaxy inside) and colours of adjacent
    bands only.
    """
    if len(plan["first"]):
        return None
    lower = plan["mag_lower"][:, 0] - center
    upper = plan["mag_upper"][:, 0] - center
    reach = np.maximum(np.abs(lower), np.abs(upper))
    if not np.all(np.isfinite(reach)):
        return None
    u = np.finfo(dtype).eps / 2
    margin = 4 * u * reach
    screen = {"mag_lower": (lower + margin)[:, None].astype(dtype),
              "mag_upper": (upper - margin)[:, None].astype(dtype)}
    if "adjacent_lower" in plan:
        offset = center[:-1] - center[1:]
        lower = plan["adjacent_lower"][:, 0] - offset
        upper = plan["adjacent_upper"][:, 0] - offset
        colour_reach = np.maximum(np.where(np.isfinite(lower), np.abs(lower), 0.0),
                                  np.where(np.isfinite(upper), np.abs(upper), 0.0))
        margin = 4 * u * (reach[:-1] + reach[1:] + colour_reach)
        screen["adjacent_lower"] = (lower + margin)[:, None].astype(dtype)
        screen["adjacent_upper"] = (upper - margin)[:, None].astype(dtype)
    return screen


class DomainPass:
    """The training-domain checks on blocks of galaxies: the one implementation.

    Features are linear in the inputs (``x = u @ input_map.T``), so the whitened offsets
    from the training centre are an affine map of the centred inputs: one small matrix
    product a block (on the centred block of a `~astropy_smass.model.network.ForwardPass`
    when a model runs both). The range check compares each input that is a feature, and
    each difference of two inputs that is a feature (a colour) as the one rounded
    difference `~astropy_smass.model.features.build_features` makes too, with the
    training bounds (`range_plan`), so it agrees bit for bit with the check on features.

    ``dtype`` is the precision of the block. In float32 (a model's prediction) the flags
    stay exactly those of float64: the range check and the squared distance in float32
    decide only where a bound of their rounding error says they cannot be wrong
    (`screen_tolerance`, and `range_screen`, the bounds moved inwards by that error);
    float64 decides the other galaxies (`decide`), typically a fraction of a per cent.
    """

    def __init__(self, domain, input_map=None, center=None, dtype=np.float64):
        n_features = len(domain.feature_min)
        input_map = np.eye(n_features) if input_map is None else np.asarray(input_map, float)
        if input_map.shape[0] != n_features:
            raise ModelFormatError(f"the domain has {n_features} features, the input map "
                                   f"{input_map.shape[0]}")
        to_features = input_map.T  # (n_inputs, n_features)
        self.n_inputs = to_features.shape[0]
        self.range_plan = range_plan(input_map, domain.feature_min, domain.feature_max)
        if center is None:
            center = np.linalg.lstsq(input_map, domain.center, rcond=None)[0]
        self.center = np.asarray(center, dtype=float)
        # Whitening of centred inputs, with the whitened offset of the centre (which
        # need not map exactly onto domain.center) as a last column: the centred block
        # carries a row of ones, so the product adds it.
        whitened_offset = (self.center @ to_features - domain.center) @ domain.whitening
        self.whitening_rows = np.column_stack([(to_features @ domain.whitening).T,
                                               whitened_offset])
        self.max_distance = domain.max_distance
        self.dtype = np.dtype(dtype)
        self.whitening_work = self.whitening_rows.astype(self.dtype)
        self.range_screen = self.screen_tolerance = None
        if self.dtype != np.float64:
            self.range_screen = _range_screen(self.range_plan, self.center, self.dtype)
            self.screen_tolerance = self._screen_tolerance()

    def _screen_tolerance(self):
        """Largest difference between the squared Mahalanobis distance computed in
        ``dtype`` and in float64, for galaxies inside the training feature ranges.

        Both come from the same centred inputs ``v`` (with a 1 appended) and the
        whitening ``W``. Rounding the inputs to ``dtype`` and a dot product of ``K``
        terms move each whitened coordinate by at most ``g(K + 2) * a_j``, with
        ``a_j = sum_k |W_jk| |v_k|`` and ``g(k) = k u / (1 - k u)``; so the squared
        distance, a sum of ``r`` squares, moves by at most
        ``(2 g(K + 2) + g(K + 2)**2 + g(r) (1 + g(K + 2))**2) * sum_j a_j**2``, and
        ``sum_j a_j**2 <= || |W| ||_2**2 (|v|**2 + 1)``. Inside the ranges each ``|v_k|``
        is at most the distance from the centre to the input's farther bound. The same
        bound with float64's ``u`` covers the float64 sum. None (no screen) if an input
        has no bound of its own.
        """
        plan = self.range_plan
        reach = np.maximum(np.abs(plan["mag_lower"][:, 0] - self.center),
                           np.abs(plan["mag_upper"][:, 0] - self.center))
        if not np.all(np.isfinite(reach)):
            return None
        r, k = self.whitening_rows.shape
        size = np.linalg.norm(np.abs(self.whitening_rows), 2) ** 2 * (np.sum(reach ** 2) + 1)
        total = 0.0
        for dtype in (self.dtype, np.float64):
            u = np.finfo(dtype).eps / 2
            g_k, g_r = (k + 2) * u / (1 - (k + 2) * u), r * u / (1 - r * u)
            total += (2 * g_k + g_k ** 2 + g_r * (1 + g_k) ** 2) * size
        return 1.01 * total  # headroom for the rounding of this estimate itself

    # -- the block's steps ------------------------------------------------------------
    def work(self, work=None, dtype=None):
        """Add this pass's work arrays to ``work`` (made, with its ``centred`` block of
        inputs and a row of ones, if None)."""
        dtype = np.dtype(dtype or self.dtype)
        if work is None:
            work = {"centred": centred_block(self.n_inputs, dtype)}
        size = work["centred"].shape[1]
        n_colours = len(self.range_plan.get("adjacent_lower", ()))
        work.update({
            "whitened": np.empty((len(self.whitening_rows), size), dtype),
            "distance2": np.empty(size, dtype),
            "checks": np.empty((2 * (self.n_inputs + n_colours), size), bool),
            "colours": np.empty((n_colours, size), dtype),
            "unsure": np.empty(size, bool),
        })
        return work

    def centre(self, inputs, work):
        """Inputs (rows, n_inputs) minus the centre, into the block's columns; the rows."""
        return centre_block(inputs, self.center, work)

    def distance2(self, work, whitening=None):
        """Squared Mahalanobis distance of the centred block."""
        whitening = self.whitening_work if whitening is None else whitening
        whitened = np.matmul(whitening, work["centred"], out=work["whitened"])
        return np.einsum("ij,ij->j", whitened, whitened, out=work["distance2"])

    def block(self, inputs, rows, work, outside, distance2):
        """Both checks of one centred block into ``outside`` and ``distance2`` (its rows).
        With a range screen, ``outside`` is where the screen is unsure (see `decide`)."""
        if self.range_screen is None:
            self.exact_outside(inputs.T, out=outside)
        else:
            outside[:] = self.screen_range(work)[:rows]
        distance2[:] = self.distance2(work)[:rows]

    def screen_range(self, work):
        """Where the range screen is unsure, for the centred block (see `_range_screen`)."""
        screen, n_bands = self.range_screen, self.n_inputs
        centred, checks = work["centred"][:-1], work["checks"]
        np.less(centred, screen["mag_lower"], out=checks[:n_bands])
        np.greater(centred, screen["mag_upper"], out=checks[n_bands:2 * n_bands])
        if "adjacent_lower" in screen:
            m = n_bands - 1
            colours = np.subtract(centred[:-1], centred[1:], out=work["colours"])
            np.less(colours, screen["adjacent_lower"], out=checks[2 * n_bands:2 * n_bands + m])
            np.greater(colours, screen["adjacent_upper"], out=checks[2 * n_bands + m:])
        # Any of the rows, eight galaxies at a time (blocks are whole multiples of 8).
        unsure = work["unsure"]
        np.bitwise_or.reduce(checks.view(np.uint64), axis=0,
                             out=unsure.view(np.uint64))
        return unsure

    def exact_outside(self, magnitudes, out=None):
        """The range check of inputs (n_inputs, rows): features outside the bounds.

        Each input is compared as it is, each colour as the one rounded difference that
        `~astropy_smass.model.features.build_features` makes too.
        """
        plan = self.range_plan
        checks = [np.less(magnitudes, plan["mag_lower"]),
                  np.greater(magnitudes, plan["mag_upper"])]
        if "adjacent_lower" in plan:
            colours = magnitudes[:-1] - magnitudes[1:]
            checks += [np.less(colours, plan["adjacent_lower"]),
                       np.greater(colours, plan["adjacent_upper"])]
        if len(plan["first"]):
            pairs = magnitudes[plan["first"]] - magnitudes[plan["second"]]
            checks += [np.less(pairs, plan["pair_lower"]),
                       np.greater(pairs, plan["pair_upper"])]
        return np.logical_or.reduce(np.concatenate(checks), axis=0, out=out)

    def exact_distance2(self, inputs):
        """Squared Mahalanobis distance (n,) in float64, in the same fixed-shape blocks."""
        n = len(inputs)
        distance2 = np.empty(n)
        work, size = self.work(dtype=np.float64), block_size()
        for start in range(0, n, size):
            rows = self.centre(inputs[start:start + size], work)
            distance2[start:start + rows] = self.distance2(work, self.whitening_rows)[:rows]
        return distance2

    def decide(self, inputs, distance2, outside):
        """The final range and distance checks from a block loop's results.

        Parameters
        ----------
        inputs : ndarray (n, n_inputs)
        distance2 : ndarray (n,)
            Squared distances in ``dtype``.
        outside : ndarray of bool (n,)
            The range check, or where the range screen was unsure; changed in place.

        Returns
        -------
        outside, far, finite : ndarray of bool (n,)
            Outside the feature ranges, beyond the distance limit, and whether the row's
            inputs are all finite (non-finite rows get meaningless checks).
        """
        n = len(inputs)
        limit = self.max_distance ** 2
        with np.errstate(invalid="ignore", over="ignore"):
            # (In float32, the comparisons round the limit to float32: a far smaller
            # move than the screen's tolerance, which is some thirty float32 roundings
            # of the limit or more.)
            far = distance2 > limit
            finite = np.isfinite(distance2)
            if self.dtype != np.float64:
                # float64 decides the range check where the screen was unsure, and the
                # distance outside the ranges (where the error bound does not hold) or
                # near the limit. (A NaN inside the ranges comes from a NaN input, and is
                # NaN in float64 too.)
                if self.screen_tolerance is None:
                    check = np.ones(n, bool)
                else:
                    tolerance = self.screen_tolerance
                    check = np.greater_equal(distance2, limit - tolerance)
                    check &= distance2 <= limit + tolerance
                    check |= outside
                if check.any():
                    check = np.flatnonzero(check)
                    rows = inputs[check]
                    if self.range_screen is not None:
                        outside[check] = self.exact_outside(rows.T)
                    exact = self.exact_distance2(rows)
                    far[check] = exact > limit
                    finite[check] = np.isfinite(exact)
            # A NaN or infinite input makes the distance non-finite (so would an
            # overflow, hence the exact look at those rows).
            if not finite.all():
                suspect = np.flatnonzero(~finite)
                finite[suspect] = np.isfinite(inputs[suspect]).all(axis=1)
        return outside, far, finite

    def check(self, inputs):
        """Domain flags (int32) of inputs (n, n_inputs); none for non-finite rows."""
        inputs = np.asarray(inputs, dtype=float)
        n = len(inputs)
        outside, distance2 = np.empty(n, bool), np.empty(n, self.dtype)
        work, size = self.work(), block_size()
        with np.errstate(invalid="ignore", over="ignore"):
            for start in range(0, n, size):
                block = slice(start, start + size)
                rows = self.centre(inputs[block], work)
                self.block(inputs[block], rows, work, outside[block], distance2[block])
        outside, far, finite = self.decide(inputs, distance2, outside)
        flags = np.multiply(outside & finite, np.int32(SmassFlag.OUT_OF_RANGE),
                            dtype=np.int32)
        flags |= np.multiply(far & finite, np.int32(SmassFlag.OUT_OF_DISTRIBUTION),
                             dtype=np.int32)
        return flags
