"""A one-hidden-layer feed-forward network in numpy: forward pass and input Jacobian."""

import numpy as np

from ..exceptions import ModelFormatError

__all__ = ["OneHiddenLayerNetwork", "ACTIVATIONS"]


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

# Rows per block: keeps the (rows x hidden) intermediate in cache.
_CHUNK = 16384


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
        # Standardisation folded into the first layer: one matmul on raw inputs.
        self._w1 = w1 / scale[:, None]
        self._b1 = b1 - (mean / scale) @ w1
        self._act, self._act_grad = ACTIVATIONS[activation]

    @property
    def n_features(self):
        return self.weights_hidden.shape[0]

    @property
    def n_hidden(self):
        return self.weights_hidden.shape[1]

    def _hidden(self, x):
        hidden = x @ self._w1
        hidden += self._b1
        return self._act(hidden)

    def predict(self, x):
        """Network output for inputs ``x`` of shape (n, n_features)."""
        x = np.asarray(x, dtype=float)
        out = np.empty(len(x))
        for start in range(0, len(x), _CHUNK):
            block = slice(start, start + _CHUNK)
            out[block] = self._hidden(x[block]) @ self.weights_output
        out += self.bias_output
        return out

    def predict_and_jacobian(self, x):
        """Output and its gradient with respect to the (unstandardised) inputs.

        Returns
        -------
        y : ndarray, shape (n,)
        jacobian : ndarray, shape (n, n_features)
            ``d y / d x`` for each row.
        """
        x = np.asarray(x, dtype=float)
        out = np.empty(len(x))
        jac = np.empty(x.shape)
        weighted = self._w1 * self.weights_output  # (n_features, n_hidden)
        for start in range(0, len(x), _CHUNK):
            block = slice(start, start + _CHUNK)
            hidden = self._hidden(x[block])
            out[block] = hidden @ self.weights_output
            jac[block] = self._act_grad(hidden) @ weighted.T
        out += self.bias_output
        return out, jac

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
