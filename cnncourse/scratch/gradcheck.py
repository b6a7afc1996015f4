"""Gradient checking: compare a hand-written backward pass with centred finite differences.

For a scalar function ``f`` and an array ``x`` (float64), the centred difference

    df/dx[i] ~ (f(x + h e_i) - f(x - h e_i)) / (2 h)

has error ``O(h^2)``, against ``O(h)`` for a one-sided difference. Two gradients are
compared with the relative error

    ||analytic - numeric|| / max(||analytic|| + ||numeric||, tiny)

which is scale-free: below about 1e-7 for smooth functions in float64, larger (1e-5 or
so) where a ReLU or a max has a kink close to the evaluation point.

To check a layer's ``backward``, project its output on a fixed random array ``r``:
``L = sum(forward(x) * r)`` has ``dL/dy = r``, so ``backward(r)`` must equal the
numerical gradient of ``L`` w.r.t. the input and w.r.t. every parameter.
"""

from __future__ import annotations

import numpy as np

from .initializers import make_rng


def relative_error(analytic, numeric, tiny: float = 1e-12) -> float:
    """``||a - n|| / max(||a|| + ||n||, tiny)``, a float in [0, 1]."""
    analytic, numeric = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(f"analytic and numeric gradients differ in shape: {analytic.shape} vs {numeric.shape}")
    return float(np.linalg.norm(analytic - numeric) / max(np.linalg.norm(analytic) + np.linalg.norm(numeric), tiny))


def numerical_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Centred-difference gradient of the scalar ``f()`` w.r.t. the array ``x``, perturbed in place.

    Parameters
    ----------
    f : callable with no arguments returning a float; it must read ``x`` (for instance a
        layer's parameter array, or a closure over the input)
    x : float64 array of any shape; restored after each perturbation
    h : step size

    Returns
    -------
    grad : float64 array, the shape of ``x``
    """
    if x.dtype != np.float64:
        raise TypeError(f"x must be float64 for a meaningful gradient check, got {x.dtype}")
    grad = np.zeros_like(x)
    flat, flat_grad = x.reshape(-1), grad.reshape(-1)  # views: writing to flat changes x
    for i in range(flat.size):
        flat_grad[i] = _centred_difference(f, flat, i, h)
    return grad


def _centred_difference(f, flat, i, h):
    """``(f(x + h e_i) - f(x - h e_i)) / 2h``, with ``flat[i]`` perturbed in place and restored."""
    original = flat[i]
    flat[i] = original + h
    plus = f()
    flat[i] = original - h
    minus = f()
    flat[i] = original
    return (plus - minus) / (2 * h)


def check_layer_gradients(layer, x, training: bool = False, seed=0, h: float = 1e-6) -> dict[str, float]:
    """Relative errors of ``layer.backward`` for the input and every parameter.

    Parameters
    ----------
    layer : a ``cnncourse.scratch`` layer; it is cast to float64
    x : array ``(N, ...)``, the layer's input
    training : passed to ``forward`` (Dropout must reuse one mask: its generator is not
        re-run here because the check uses ``training=False`` by default)

    Returns
    -------
    ``{"x": error, "kernel": error, "bias": error, ...}``
    """
    layer.astype(np.float64)
    x = np.array(x, dtype=np.float64)
    projection = make_rng(seed).normal(size=layer.forward(x, training).shape)

    def loss():
        return float(np.sum(layer.forward(x, training) * projection))

    loss()
    dx = layer.backward(projection)
    analytic = {"x": dx, **{name: grad.copy() for name, grad in layer.grads.items()}}
    errors = {"x": relative_error(analytic["x"], numerical_gradient(loss, x, h))}
    for name, value in layer.params.items():
        errors[name] = relative_error(analytic[name], numerical_gradient(loss, value, h))
    return errors


def check_loss_gradient(loss, y_true, y_pred, h: float = 1e-6) -> float:
    """Relative error of ``loss.gradient(y_true, y_pred)`` against centred differences (float64)."""
    y_pred = np.array(y_pred, dtype=np.float64)
    numeric = numerical_gradient(lambda: loss(y_true, y_pred), y_pred, h)
    return relative_error(loss.gradient(y_true, y_pred), numeric)


def check_model_gradients(model, x, y, h: float = 1e-6, max_entries: int | None = 40, seed=0) -> dict[str, float]:
    """Relative errors of a whole ``Sequential``'s backpropagation, loss included, in float64.

    The model must be compiled (its loss is used). For speed, at most ``max_entries``
    randomly chosen entries of each parameter (and of the input) are checked.

    Returns
    -------
    ``{"x": error, "conv2d.kernel": error, ...}``
    """
    model.astype(np.float64)
    x = np.array(x, dtype=np.float64)
    y = np.asarray(y)
    rng = make_rng(seed)

    def loss():
        return model.compute_loss(x, y, training=False)

    # Analytic gradients through the same path that training uses.
    # (in inference mode, so that Dropout is the identity and the loss is deterministic)
    _, grads, dx = model.compute_gradients(x, y, training=False, return_input_gradient=True)
    analytic = {"x": dx}
    arrays = {"x": x}
    for (layer, name), grad in zip(model.trainable_pairs(), grads):
        analytic[f"{layer.name}.{name}"] = grad
        arrays[f"{layer.name}.{name}"] = layer.params[name]

    errors = {}
    for key, array in arrays.items():
        flat = array.reshape(-1)
        count = flat.size if max_entries is None else min(max_entries, flat.size)
        chosen = rng.choice(flat.size, size=count, replace=False)
        numeric = np.array([_centred_difference(loss, flat, i, h) for i in chosen])
        errors[key] = relative_error(analytic[key].reshape(-1)[chosen], numeric)
    return errors
