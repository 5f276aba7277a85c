"""A one-hidden-layer feed-forward network in numpy, and its one forward pass.

`OneHiddenLayerNetwork` holds the parameters, ``y = act((x - mean) / scale @ W1 + b1)
@ w2 + b2``. Everything that evaluates it, prediction, the propagated uncertainty,
saliency and the scores of training, goes through `ForwardPass`: the network with its
standardisation folded into the first layer (`OneHiddenLayerNetwork.folded_weights`,
`~OneHiddenLayerNetwork.folded_bias`) and, optionally, a linear map of the inputs folded
in as well. A model's features are linear in its magnitudes (see
`~astropy_smass.model.features.feature_matrix`), so a model runs the network directly on
magnitudes: ``ForwardPass(network, feature_matrix, centre)``. Only the precision of the
centred inputs differs between uses: float32 on the prediction path, float64 for
`OneHiddenLayerNetwork.predict` and ``predict_and_jacobian`` (training, saliency). A
plain float64 version of the same formula lives in the tests, as the reference this
pass is checked against.
"""

import numpy as np

from ..conf import conf
from ..exceptions import ModelFormatError

__all__ = ["OneHiddenLayerNetwork", "ForwardPass", "ACTIVATIONS", "block_size"]


def _relu(x):
    return np.maximum(x, 0.0, out=x)


def _relu_grad(h):
    return (h > 0.0).astype(h.dtype)


def _logistic(x):
    x *= -1.0
    np.exp(x, out=x)
    x += 1.0
    return np.reciprocal(x, out=x)


def _tanh_grad(a):
    return 1.0 - a * a


def _logistic_grad(a):
    return a * (1.0 - a)


# name -> (activation applied in place, derivative as a function of the activation's output)
ACTIVATIONS = {
    "relu": (_relu, _relu_grad),
    "tanh": (lambda x: np.tanh(x, out=x), _tanh_grad),
    "logistic": (_logistic, _logistic_grad),
    "identity": (lambda x: x, np.ones_like),
}


def block_size():
    """Columns (galaxies) per block of the forward pass: ``conf.block_rows`` rounded up to
    a multiple of 16 (no BLAS kernel's edge case for a partial tile, and whole 8-byte
    words of booleans)."""
    return max(16, -(-int(conf.block_rows) // 16) * 16)


class OneHiddenLayerNetwork:
    """A network ``y = act((x - mean) / scale @ W1 + b1) @ w2 + b2``.

    Parameters
    ----------
    weights_hidden : array-like, shape (n_features, n_hidden)
    bias_hidden : array-like, shape (n_hidden,)
    weights_output : array-like, shape (n_hidden,)
    bias_output : float
    activation : {'relu', 'tanh', 'logistic', 'identity'}
    input_mean, input_scale : array-like, shape (n_features,)
        Standardisation of the inputs, folded into the first layer at construction.

    Attributes
    ----------
    folded_weights : ndarray, shape (n_features, n_hidden)
        ``W1 / scale`` (row by row): the first layer on raw inputs.
    folded_bias : ndarray, shape (n_hidden,)
        ``b1 - (mean / scale) @ W1``, so that ``x @ folded_weights + folded_bias`` is the
        hidden layer's input for raw ``x``.
    """

    def __init__(self, weights_hidden, bias_hidden, weights_output, bias_output,
                 activation="relu", input_mean=None, input_scale=None):
        w1 = np.asarray(weights_hidden, dtype=float)
        b1 = np.asarray(bias_hidden, dtype=float)
        w2 = np.asarray(weights_output, dtype=float).reshape(-1)
        if w1.ndim != 2 or b1.shape != (w1.shape[1],) or w2.shape != (w1.shape[1],):
            raise ModelFormatError(f"inconsistent weight shapes: hidden {w1.shape}, bias "
                                   f"{b1.shape}, output {w2.shape}")
        if activation not in ACTIVATIONS:
            raise ModelFormatError(f"unknown activation {activation!r}; use one of "
                                   f"{', '.join(ACTIVATIONS)}")
        n_features = w1.shape[0]
        mean = np.zeros(n_features) if input_mean is None else np.asarray(input_mean, float)
        scale = np.ones(n_features) if input_scale is None else np.asarray(input_scale, float)
        self.weights_hidden, self.bias_hidden = w1, b1
        self.weights_output, self.bias_output = w2, float(bias_output)
        self.activation = activation
        self.input_mean, self.input_scale = mean, scale
        self.folded_weights = w1 / scale[:, None]
        self.folded_bias = b1 - (mean / scale) @ w1
        self._act, self._act_grad = ACTIVATIONS[activation]
        self._passes = {}

    @property
    def n_features(self):
        return self.weights_hidden.shape[0]

    @property
    def n_hidden(self):
        return self.weights_hidden.shape[1]

    def forward_pass(self, input_map=None, center=None, dtype=np.float64):
        """The network as a `ForwardPass` (see there).

        Parameters
        ----------
        input_map : ndarray, shape (n_features, n_inputs), optional
            The network's features as a linear map of the pass's inputs, ``x = u @
            input_map.T`` (a model's `~astropy_smass.model.features.feature_matrix`);
            default the identity (the inputs are the features).
        center : ndarray, shape (n_inputs,), optional
            Inputs subtracted before the first layer (default: those whose features are
            the training mean); the choice changes nothing but the rounding.
        dtype : numpy dtype
            Precision of the blocks.
        """
        return ForwardPass(self, input_map, center, dtype)

    def _pass(self, dtype):
        key = np.dtype(dtype)
        if key not in self._passes:
            self._passes[key] = self.forward_pass(dtype=dtype)
        return self._passes[key]

    def predict(self, x, dtype=np.float64):
        """Network output for inputs ``x`` of shape (n, n_features), in ``dtype`` blocks."""
        return self._pass(dtype).predict(np.asarray(x, dtype=float))

    def predict_and_jacobian(self, x):
        """Output and its gradient with respect to the (unstandardised) inputs.

        Returns
        -------
        y : ndarray, shape (n,)
        jacobian : ndarray, shape (n, n_features)
            ``d y / d x`` for each row.
        """
        return self._pass(np.float64).predict_and_jacobian(np.asarray(x, dtype=float))

    def jacobian(self, x):
        """Gradient of the output with respect to the inputs, shape (n, n_features)."""
        return self.predict_and_jacobian(x)[1]

    def arrays(self):
        """The parameters as a dict of arrays (the model bundle's ``.npz`` content)."""
        return {"weights_hidden": self.weights_hidden, "bias_hidden": self.bias_hidden,
                "weights_output": self.weights_output,
                "bias_output": np.array(self.bias_output),
                "input_mean": self.input_mean, "input_scale": self.input_scale}

    @classmethod
    def from_arrays(cls, arrays, activation):
        """Inverse of `arrays`."""
        return cls(arrays["weights_hidden"], arrays["bias_hidden"], arrays["weights_output"],
                   float(arrays["bias_output"]), activation, arrays["input_mean"],
                   arrays["input_scale"])


def centred_block(n_inputs, dtype):
    """The work array of one block of centred inputs: ``n_inputs`` rows and a last row
    of ones (for affine maps), `block_size` columns."""
    # Zero padding: a short last block leaves no NaN or denormal garbage behind it.
    centred = np.zeros((n_inputs + 1, block_size()), dtype)
    centred[-1] = 1.0
    return centred


def centre_block(inputs, center, work):
    """Inputs (rows, n_inputs) minus ``center``, into the columns of ``work["centred"]``;
    returns the number of rows."""
    rows = len(inputs)
    np.subtract(inputs.T, center[:, None], out=work["centred"][:-1, :rows],
                casting="same_kind")
    return rows


class ForwardPass:
    """The network's forward pass on blocks of galaxies: the one implementation.

    With ``M = input_map.T @ folded_weights`` (n_inputs, n_hidden) and the inputs
    centred, ``v = u - center``, the output is ``act(v @ M + b) @ w2 + b2`` with ``b =
    folded_bias + center @ M``: a block of rows costs one small matrix product, the
    activation and one weighted sum, every intermediate in cache. For relu,
    ``relu(h + b) = max(h, -b) + b``: one pass over the block instead of two, and the sum
    over units of ``w2 * b`` joins the output bias.

    Blocks are stored transposed (one row per input or hidden unit, one column per
    galaxy), so the weighted sums run along contiguous rows in numpy's own loops (no
    BLAS) and every per-unit constant is broadcast along a row. Every matrix product
    has the same shape, `block_size` columns, whatever the number of rows: the last
    block is padded. BLAS picks its kernels by shape, and a kernel treats every column
    of a full tile alike, so each galaxy's result depends on that galaxy alone, not on
    the table or chunk it came in: a table predicted in chunks (streaming, Dask) gives
    the same numbers as in one go.

    ``dtype`` is the precision of the centred inputs, a block a model's domain pass
    shares (in float32 its comparisons cost half). The products, the hidden layer and
    the output are float64 whatever ``dtype``: OpenBLAS's float32 kernels round a
    column differently by its position in the block (seen with one thread and with
    two), which would make a galaxy's mass depend on the chunk it came in by up to
    3e-7 dex; its float64 kernels do not (tested).
    A model combines this pass with the training domain's
    (`~astropy_smass.model.domain.DomainPass`) on the same centred block.
    """

    def __init__(self, network, input_map=None, center=None, dtype=np.float64):
        folded = network.folded_weights  # (n_features, n_hidden)
        if input_map is None:
            input_map = np.eye(network.n_features)
        input_map = np.asarray(input_map, dtype=float)
        hidden_matrix = input_map.T @ folded  # (n_inputs, n_hidden)
        if center is None:
            # inputs whose features are the training mean: centred values stay small
            center = np.linalg.lstsq(input_map, network.input_mean, rcond=None)[0]
        self.center = np.asarray(center, dtype=float)
        self.n_inputs = hidden_matrix.shape[0]
        self.dtype = np.dtype(dtype)
        bias = network.folded_bias + self.center @ hidden_matrix
        self.relu = network.activation == "relu"
        if self.relu:
            hidden_bias = -bias
            self.output_bias = np.float64(network.weights_output @ bias + network.bias_output)
        else:
            hidden_bias = bias
            self.output_bias = np.float64(network.bias_output)
        self.hidden_rows = np.ascontiguousarray(hidden_matrix.T, dtype=float)
        self.hidden_bias = hidden_bias.astype(float)
        self.output_weights = network.weights_output.astype(float)
        # d output / d inputs = jacobian_matrix @ act'(hidden), per galaxy (column)
        self.jacobian_matrix = hidden_matrix * network.weights_output
        self._act, self._act_grad = network._act, network._act_grad
        self._tiles = {}

    # -- the block's steps (shared with a model's fused pass) ---------------------------
    def work(self, gradient=False):
        """Work arrays of one call, blocks of `block_size` columns.

        ``centred`` holds the centred inputs and a last row of ones (for the affine maps
        of a `~astropy_smass.model.domain.DomainPass` on the same block).
        """
        size, n_hidden = block_size(), len(self.hidden_bias)
        work = {"centred": centred_block(self.n_inputs, self.dtype),
                "hidden": np.empty((n_hidden, size)),
                "output": np.empty(size)}
        if gradient:
            work["active"] = np.empty((n_hidden, size), bool)
            work["slope"] = np.empty((n_hidden, size))
            work["jacobian"] = np.empty((self.n_inputs, size))
        return work

    def centre(self, inputs, work):
        """Inputs (rows, n_inputs) minus the centre, into the block's columns; the rows."""
        return centre_block(inputs, self.center, work)

    def _bias_tile(self, size):
        # Same shape as the hidden block: numpy's binary loops are several times faster
        # on equal contiguous operands than on a broadcast column. Read-only, so calls
        # in several threads can share it.
        tile = self._tiles.get(size)
        if tile is None:
            tile = np.repeat(self.hidden_bias[:, None], size, axis=1)
            tile.flags.writeable = False
            self._tiles[size] = tile
        return tile

    def hidden(self, work):
        """Hidden activations (n_hidden, block) and the output (block,) before its bias.

        For relu the hidden rows hold ``max(h, -b)``, the activation less its bias.
        """
        hidden = np.matmul(self.hidden_rows, work["centred"][:-1], out=work["hidden"])
        if self.relu:
            np.maximum(hidden, self._bias_tile(hidden.shape[1]), out=hidden)
        else:
            hidden += self._bias_tile(hidden.shape[1])
            self._act(hidden)
        # numpy's loop, not BLAS: the sum over units runs the same way for every galaxy.
        out = np.einsum("ij,i->j", hidden, self.output_weights, out=work["output"])
        return hidden, out

    def gradient(self, hidden, work):
        """``d output / d inputs`` of the block (n_inputs, block), in float64."""
        if self.relu:
            active = np.greater(hidden, self._bias_tile(hidden.shape[1]), out=work["active"])
            np.copyto(work["slope"], active.view(np.uint8))  # faster than a bool cast
        else:
            np.copyto(work["slope"], self._act_grad(hidden))
        return np.matmul(self.jacobian_matrix, work["slope"], out=work["jacobian"])

    def error_norm(self, hidden, errors, rows, work, norm, bad, max_error=np.inf):
        """``|d output / d u * sigma|`` of a block into ``norm``; rows with a bad error
        (negative, above ``max_error``, or not finite) into ``bad`` and NaN in ``norm``.
        ``errors`` is (n_inputs, rows)."""
        jacobian = self.gradient(hidden, work)[:, :rows]
        jacobian *= errors
        np.einsum("ij,ij->j", jacobian, jacobian, out=norm)
        np.sqrt(norm, out=norm)
        # A NaN or infinite error makes the norm non-finite; a negative or a huge one not.
        np.less(np.minimum.reduce(errors, axis=0), 0, out=bad)
        bad |= np.maximum.reduce(errors, axis=0) > max_error
        bad |= ~np.isfinite(norm)
        norm[bad] = np.nan

    # -- whole arrays ---------------------------------------------------------------------
    def predict(self, inputs):
        """Output (n,) for inputs (n, n_inputs), no checks."""
        n = len(inputs)
        out = np.empty(n)
        work, size = self.work(), block_size()
        for start in range(0, n, size):
            rows = self.centre(inputs[start:start + size], work)
            np.add(self.hidden(work)[1][:rows], self.output_bias, out=out[start:start + rows])
        return out

    def predict_and_jacobian(self, inputs):
        """Output (n,) and its gradient (n, n_inputs) with respect to the inputs."""
        n = len(inputs)
        out, jac = np.empty(n), np.empty((n, self.n_inputs))
        work, size = self.work(gradient=True), block_size()
        for start in range(0, n, size):
            rows = self.centre(inputs[start:start + size], work)
            hidden, raw = self.hidden(work)
            np.add(raw[:rows], self.output_bias, out=out[start:start + rows])
            jac[start:start + rows] = self.gradient(hidden, work)[:, :rows].T
        return out, jac
