"""A model's numerics on its inputs, one block of galaxies at a time.

`MagnitudePass` runs the network's `~astropy_smass.model.network.ForwardPass` and the
training domain's `~astropy_smass.model.domain.DomainPass`, both with the model's
feature matrix folded in, on the same centred blocks of inputs (magnitudes, and the
redshift for an observed-frame model): one pass over the data gives the raw mass, the
domain flags and, for analytic uncertainties, the propagated error.
"""

import numpy as np

from .._utils import one_blas_thread
from ..flags import MAX_ERROR_MAG, SmassFlag
from .network import block_size

__all__ = ["MagnitudePass"]


def _bits(mask, flag):
    """``flag`` (int32) where ``mask`` is true, else 0.

    Arithmetic on the whole array: masked assignment branches per row, several times
    slower when many rows are true.
    """
    return np.multiply(mask, np.int32(flag), dtype=np.int32)


class MagnitudePass:
    """A model's per-row numerics on its inputs (magnitudes, and the redshift for an
    observed-frame model), block by block: the network's
    `~astropy_smass.model.network.ForwardPass` and the training domain's
    `~astropy_smass.model.domain.DomainPass`, both with the model's feature matrix folded
    in, on the same centred blocks. Every galaxy's numbers are its own (fixed-shape
    blocks), and the flags those of float64 (see `~astropy_smass.model.domain.DomainPass`).
    """

    #: Precision of the centred inputs: float32 halves the cost of the domain's products
    #: and comparisons; the network, in float64 on them, then moves by far less than
    #: 1e-4 dex (tested).
    dtype = np.float32

    def __init__(self, model):
        center = model.domain_center_magnitudes()
        self.network_pass = model.network.forward_pass(model._feature_matrix, center,
                                                       self.dtype)
        self.domain_pass = model.domain.domain_pass(model._feature_matrix, center,
                                                    self.dtype)

    @property
    def center(self):
        return self.network_pass.center

    @property
    def range_plan(self):
        return self.domain_pass.range_plan

    @property
    def whitening_rows(self):
        return self.domain_pass.whitening_rows

    @property
    def max_distance(self):
        return self.domain_pass.max_distance

    def predict(self, magnitudes):
        """Raw network output for inputs (n, n_inputs), no checks."""
        with one_blas_thread:
            return self.network_pass.predict(magnitudes)

    def run(self, magnitudes, usable, errors=None, gradient=False):
        """Raw output, new flags and, with ``gradient``, the propagated error norm.

        Rows that are not usable, or have a non-finite input, get no domain flag and
        NaN or meaningless values (the caller masks them). ``usable`` is a boolean array
        (n,), or None for all rows.

        Returns
        -------
        raw : ndarray (n,)
        flags : ndarray of int32 (n,)
            NONFINITE for usable rows with a non-finite input; domain flags and
            BAD_ERROR (bad value in ``errors``) for the remaining usable rows.
        error_norm : ndarray (n,) or None
            ``|d raw / d m * sigma|`` (dex) with ``gradient``, NaN for rows with a bad
            error, 0 without ``errors``.
        """
        n = len(magnitudes)
        raw, outside = np.empty(n), np.empty(n, bool)
        distance2 = np.empty(n, self.dtype)
        error_norm = np.zeros(n) if gradient else None
        bad_error = np.zeros(n, bool) if gradient and errors is not None else None
        # NaN and infinite inputs are expected here (they are flagged, not computed).
        with np.errstate(invalid="ignore", over="ignore"), one_blas_thread:
            self._blocks(magnitudes, errors, gradient and errors is not None, raw,
                         distance2, outside, error_norm, bad_error)
        outside, far, finite = self.domain_pass.decide(magnitudes, distance2, outside)
        # Flags of the usable rows with finite inputs (all rows, most often), built in
        # one byte a row: the whole-array temporaries stay small.
        ok = finite if usable is None else finite & usable
        outside &= ok
        far &= ok
        flags = np.multiply(outside.view(np.uint8), np.uint8(SmassFlag.OUT_OF_RANGE))
        flags |= far.view(np.uint8) * np.uint8(SmassFlag.OUT_OF_DISTRIBUTION)
        if bad_error is not None:
            bad_error &= ok
            flags |= bad_error.view(np.uint8) * np.uint8(SmassFlag.BAD_ERROR)
        flags = flags.astype(np.int32)
        if not finite.all():
            flags |= _bits(~finite if usable is None else usable & ~finite, SmassFlag.NONFINITE)
        return raw, flags, error_norm

    def _blocks(self, magnitudes, errors, gradient, raw, distance2, outside, error_norm,
                bad_error):
        """The block loop of `run`: both passes on each centred block."""
        network, domain = self.network_pass, self.domain_pass
        n = len(magnitudes)
        work, size = domain.work(network.work(gradient)), block_size()
        for start in range(0, n, size):
            block = slice(start, start + size)
            rows = network.centre(magnitudes[block], work)
            domain.block(magnitudes[block], rows, work, outside[block], distance2[block])
            hidden, out = network.hidden(work)
            np.add(out[:rows], network.output_bias, out=raw[block])
            if gradient:
                network.error_norm(hidden, errors[block].T, rows, work, error_norm[block],
                                   bad_error[block], max_error=MAX_ERROR_MAG)
