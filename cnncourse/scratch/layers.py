"""Layers of the NumPy engine, with Keras's names, arguments, layouts and weight order.

Every layer has

- ``forward(x, training=False) -> y``, which keeps what the backward pass needs;
- ``backward(dy) -> dx``, which fills ``grads`` (same keys and shapes as ``params``)
  and returns the gradient w.r.t. the input. It never changes ``params``: updating
  them is the optimizer's job;
- ``params`` / ``grads`` dicts, ``get_weights()`` / ``set_weights()`` in Keras's order
  (``[kernel, bias]``), and ``count_params()``.

A layer built without ``input_shape`` creates its weights on its first ``forward``,
from the shape of that batch, and computes what depends only on the input's shape (a
window's padding and output size) once, there. Shapes given to ``input_shape``, and the shapes in
``output_shape``, leave out the batch axis, as in Keras.

Images are NHWC: ``(batch, height, width, channels)``.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np

from . import fast
from .activations import get_activation
from .conv import conv2d_backward, conv2d_forward
from .dense import dense_backward, dense_forward
from .initializers import get_initializer, make_rng, zeros
from .padding import window_geometry
from .pooling import avg_pool2d_backward, avg_pool2d_forward, max_pool2d_backward, max_pool2d_forward
from ..checks import (
    as_float_array,
    as_pair,
    channel_mismatch,
    check_finite,
    check_float_dtype,
    check_padding,
    check_positive_int,
    check_rank,
    check_rate,
    check_shape,
)

_name_counters: dict[str, itertools.count] = defaultdict(itertools.count)


def _auto_name(prefix: str) -> str:
    """Keras-style unique names: ``conv2d``, ``conv2d_1``, ``conv2d_2``, ..."""
    index = next(_name_counters[prefix])
    return prefix if index == 0 else f"{prefix}_{index}"


class _BuiltAfterInit(type):
    """Builds a layer given an ``input_shape`` as soon as its constructor, a subclass's included, has run."""

    def __call__(cls, *args, **kwargs):
        layer = super().__call__(*args, **kwargs)
        if layer._pending_input_shape is not None and not layer.built:
            layer.build(layer._pending_input_shape)
        return layer


class Layer(metaclass=_BuiltAfterInit):
    """Base class. Subclasses implement ``_build``, ``_output_shape``, ``_forward``, ``_backward``.

    The public ``forward`` / ``backward`` check their arguments and call the private pair;
    containers (``Sequential``, ``Residual``, ``UNet``) call the public ones too. Validation
    happens once, at the boundary: a container that has checked its input (``fit``,
    ``predict``, ``forward``) passes ``checked=True``, and its layers skip the scan of every
    number that a user's direct call gets.
    """

    weight_names: tuple[str, ...] = ()
    non_trainable_names: tuple[str, ...] = ()  # weights the optimizer never updates
    expected_rank: int | None = None  # rank of x, batch axis included
    layout = ""

    def __init__(self, input_shape=None, name: str | None = None, dtype="float32"):
        self.name = name or _auto_name(_snake(type(self).__name__))
        self.dtype = check_float_dtype(dtype, f"{self.name}: dtype")
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.built = False
        self.input_shape: tuple | None = None
        self.output_shape: tuple | None = None
        self._pending_input_shape = input_shape  # built once the whole constructor has run (_BuiltAfterInit)

    # ------------------------------------------------------------------ building
    def build(self, input_shape):
        """Create the weights for inputs of per-sample shape ``input_shape`` (no batch axis)."""
        input_shape = check_shape(input_shape, f"{self.name}: input_shape")
        if self.expected_rank is not None and len(input_shape) + 1 != self.expected_rank:
            raise ValueError(
                f"{self.name}: input_shape must have {self.expected_rank - 1} dimensions "
                f"{self.layout} without the batch axis, got {input_shape}"
            )
        self.output_shape = tuple(self._output_shape(input_shape))
        self._build(input_shape)
        self.input_shape = input_shape
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        self.built = True
        return self

    def _build(self, input_shape):
        pass

    def _output_shape(self, input_shape):
        return input_shape

    def compute_output_shape(self, input_shape):
        """Per-sample output shape for a per-sample input shape (no batch axes)."""
        return tuple(self._output_shape(tuple(int(d) for d in input_shape)))

    # ------------------------------------------------------------------- passes
    def _check_input(self, x):
        x = as_float_array(x, "x", dtype=self.dtype)
        if self.expected_rank is not None:
            check_rank(x, f"{self.name}: x", self.expected_rank, self.layout)
        check_finite(x, f"{self.name}: x")
        if not self.built:
            self.build(x.shape[1:])
        else:
            self._check_compatible(x.shape[1:])
        return x

    def _check_compatible(self, shape):
        """Raise ``ValueError`` when a batch of per-sample shape ``shape`` does not fit the weights."""

    def forward(self, x, training: bool = False, *, checked: bool = False):
        """Compute ``y`` from ``x`` and keep what ``backward`` needs. See the class for shapes.

        ``checked=True``: ``x`` comes from a container that validated its own input (an array
        of the layer's dtype, finite, of the shape the layer was built for), so it is not scanned again.
        """
        if not checked:
            x = self._check_input(x)
        elif not self.built:
            self.build(x.shape[1:])
        y = self._forward(x, training)
        self._last_output_shape = y.shape  # what backward's dy must match
        return y

    def backward(self, dy, need_input_gradient: bool = True, *, checked: bool = False):
        """Gradient w.r.t. the input of the last ``forward``; fills ``self.grads``.

        ``dy`` has the last output's shape; ``need_input_gradient=False`` skips ``dx`` (and returns None).
        ``checked=True``: ``dy`` comes from a container's backward pass, already an array of that shape.
        """
        if not checked:
            dy = self._check_output_gradient(dy)
        return self._backward(dy, need_input_gradient)

    def _check_output_gradient(self, dy):
        """``dy`` as a float array of the layer's dtype and of the last output's shape."""
        if not hasattr(self, "_last_output_shape"):
            raise RuntimeError(f"{self.name}: call forward before backward")
        dy = as_float_array(dy, "dy", dtype=self.dtype)
        if dy.shape != self._last_output_shape:
            raise ValueError(f"{self.name}: dy must have the last output's shape {self._last_output_shape}, got {dy.shape}")
        return dy

    def __call__(self, x, training: bool = False):
        return self.forward(x, training=training)

    # ------------------------------------------------------------------ weights
    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights in Keras's order (``[kernel, bias]`` for Conv2D and Dense)."""
        return [self.params[name].copy() for name in self.weight_names if name in self.params]

    def set_weights(self, weights) -> None:
        """Copy ``weights`` (Keras's order and shapes) into the layer, in place.

        Every array is checked before the first is written, so a bad list changes nothing.
        """
        checked = self.check_weights(weights)
        for name, value in checked:
            self.params[name][...] = value  # in place, so optimizer state stays attached

    def check_weights(self, weights) -> list[tuple[str, np.ndarray]]:
        """Validate ``weights`` for ``set_weights`` without changing anything; returns ``[(name, array), ...]``."""
        names = [name for name in self.weight_names if name in self.params]
        if not self.built and self.weight_names:
            raise RuntimeError(f"{self.name}: build the layer (or run forward once) before set_weights")
        if weights is None or isinstance(weights, (str, bytes, np.ndarray)) or not hasattr(weights, "__iter__"):
            raise TypeError(f"{self.name}: weights must be a list of {len(names)} arrays {names}, got {type(weights).__name__}")
        weights = list(weights)
        if len(weights) != len(names):
            raise ValueError(f"{self.name}: expected {len(names)} weight arrays {names}, got {len(weights)}")
        checked = []
        for name, value in zip(names, weights):
            value = as_float_array(value, f"{self.name}.{name}")
            if value.shape != self.params[name].shape:
                raise ValueError(
                    f"{self.name}: weight {name!r} must have shape {self.params[name].shape}, got {value.shape}"
                )
            check_finite(value, f"{self.name}.{name}")
            target = self.params[name].dtype
            with np.errstate(over="ignore", invalid="ignore"):
                cast = value.astype(target)
            if not np.isfinite(cast).all():
                raise ValueError(
                    f"{self.name}: weight {name!r} holds values up to {float(np.max(np.abs(value))):.3g}, beyond "
                    f"{target}'s largest {float(np.finfo(target).max):.3g}; they would be stored as infinity"
                )
            checked.append((name, cast))
        return checked

    def count_params(self) -> int:
        return int(sum(value.size for value in self.params.values()))

    def trainable_pairs(self) -> list[tuple["Layer", str]]:
        """``(layer, name)`` for every weight the optimizer updates, in Keras's order.

        Weights named in ``non_trainable_names`` (BatchNormalization's moving statistics)
        are left out: ``set_weights`` moves them, but no optimizer ever steps them.
        """
        return [(self, name) for name in self.weight_names
                if name in self.params and name not in self.non_trainable_names]

    def astype(self, dtype):
        """Cast weights and computations to ``dtype`` (e.g. float64 for gradient checks); returns self."""
        self.dtype = np.dtype(dtype)
        self.params = {key: value.astype(self.dtype) for key, value in self.params.items()}
        self.grads = {key: value.astype(self.dtype) for key, value in self.grads.items()}
        return self

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r}, input_shape={self.input_shape}, output_shape={self.output_shape})"


def _snake(name: str) -> str:
    out = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    return out.replace("conv2_d", "conv2d").replace("pooling2_d", "pooling2d")


class ActivatedLayer(Layer):
    """A layer ``y = g(z)``: a pre-activation ``z`` (Conv2D's and Dense's affine map, or
    Activation's input itself) followed by an activation ``g`` (``activations``).

    Subclasses compute ``z`` in ``_forward`` and pass it to ``_activate``, and implement
    ``backward_pre_activation(dz, need_dx)``. ``logits`` is the last ``z``: the losses'
    from-logits shortcut (``Loss.for_logits``) reads it.
    """

    logits = None

    def _activate(self, z):
        self.logits = z  # the pre-activation ("logits" when g is softmax or sigmoid)
        self._y = self.activation.forward(z)
        return self._y

    def activation_backward(self, dy):
        """Step 1 of the backward pass: ``dz = dy * g'(z)``, through the activation, from the output ``y``.

        ``dy`` and ``dz`` have the layer's output shape.
        """
        return self.activation.backward(dy, self._y)

    def _backward(self, dy, need_dx: bool = True):
        return self.backward_pre_activation(self.activation_backward(dy), need_dx)

    def backward_pre_activation(self, dz, need_dx: bool = True):
        """The backward pass from ``dz = dL/dz`` (the activation already undone); fills ``grads``, returns ``dx``."""
        raise NotImplementedError


class Conv2D(ActivatedLayer):
    """2-D convolution layer, ``keras.layers.Conv2D``'s twin.

    ``x (N, H, W, C_in) -> y (N, H_out, W_out, filters)``, ``y = activation(conv2d(x, kernel) + bias)``.

    Weights: ``kernel (kh, kw, C_in, filters)``, ``kernel_initializer`` (Glorot uniform); ``bias (filters,)``, zeros.
    The arithmetic is ``conv2d_forward`` / ``conv2d_backward``, run by the fast path
    ``fast.conv2d_forward`` / ``fast.conv2d_backward`` (the same numbers, tested): the window
    geometry computed once at build, a strided im2col, and ReLU applied in place (so with
    ``activation="relu"``, ``logits`` is None: the pre-activation is not kept).
    """

    weight_names = ("kernel", "bias")
    expected_rank = 4
    layout = "(batch, height, width, channels)"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", input_shape=None, seed=None, name=None, dtype="float32"):
        super().__init__(input_shape, name, dtype)
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = as_pair(kernel_size, "kernel_size")
        self.strides = as_pair(strides, "strides")
        self.padding = check_padding(padding)
        self.activation = get_activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = get_initializer(kernel_initializer)
        self._rng = make_rng(seed)
        self._cache = None
        self._geometry = None

    def _window_geometry(self, input_shape):
        """The kernel's ``WindowGeometry`` over inputs of per-sample shape ``input_shape``."""
        return window_geometry((None,) + tuple(input_shape), self.kernel_size, self.strides, self.padding, "kernel_size")

    def _output_shape(self, input_shape):
        return self._window_geometry(input_shape).out_hw + (self.filters,)

    def _build(self, input_shape):
        self._geometry = self._window_geometry(input_shape)  # once: the padding and output size of every batch
        shape = self.kernel_size + (input_shape[2], self.filters)
        self.params["kernel"] = self.kernel_initializer(shape, self._rng, self.dtype)
        if self.use_bias:
            self.params["bias"] = zeros((self.filters,), self.dtype)

    def _check_compatible(self, shape):
        channels = self.params["kernel"].shape[2]
        if shape[2] != channels:
            raise ValueError(f"{self.name}: " + channel_mismatch(self.params["kernel"].shape, channels, shape[2]))

    def _forward(self, x, training=False):
        kernel, bias = self.params["kernel"], self.params.get("bias")
        if x.dtype != kernel.dtype or x.shape[1:3] != self._geometry.input_hw:
            # Another dtype or image size than the layer was built for: the taught pair, which checks everything.
            z, self._cache = conv2d_forward(x, kernel, bias, self.strides, self.padding)
            return self._activate(z)
        relu = self.activation.name == "relu"
        z, self._cache = fast.conv2d_forward(x, kernel, bias, self._geometry, relu=relu)
        if not relu:
            return self._activate(z)
        self.logits, self._y = None, z  # z is already max(z, 0): ReLU was applied in place
        return z

    def backward_pre_activation(self, dz, need_dx=True):
        # conv2d_backward's arithmetic without its checks; a first layer (need_dx False) also skips dx's col2im.
        dx, dkernel, dbias = fast.conv2d_backward(dz, self._cache, need_dx)
        self.grads["kernel"] = dkernel
        if self.use_bias:
            self.grads["bias"] = dbias
        return dx


class Dense(ActivatedLayer):
    """Fully connected layer, the seed's ``z = W x + b``, ``y = g(z)`` (section 3.3).

    Row-vector convention, as in Keras: ``x (N, in) -> y (N, units)``, ``y = g(x @ kernel + bias)``.

    Weights: ``kernel (in, units)``, ``kernel_initializer`` (Glorot uniform); ``bias (units,)``, zeros.
    The arithmetic is ``dense_forward`` / ``dense_backward``.
    """

    weight_names = ("kernel", "bias")
    expected_rank = 2
    layout = "(batch, features); put a Flatten layer before Dense for images"

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform", input_shape=None,
                 seed=None, name=None, dtype="float32"):
        super().__init__(input_shape, name, dtype)
        self.units = check_positive_int(units, "units")
        self.activation = get_activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = get_initializer(kernel_initializer)
        self._rng = make_rng(seed)

    def _output_shape(self, input_shape):
        return (self.units,)

    def _build(self, input_shape):
        self.params["kernel"] = self.kernel_initializer((input_shape[0], self.units), self._rng, self.dtype)
        if self.use_bias:
            self.params["bias"] = zeros((self.units,), self.dtype)

    def _check_compatible(self, shape):
        features = self.params["kernel"].shape[0]
        if shape[0] != features:
            raise ValueError(
                f"{self.name}: x must have {features} features, shape (batch, {features}), got (batch, {shape[0]})"
            )

    def _forward(self, x, training=False):
        z, self._cache = dense_forward(x, self.params["kernel"], self.params.get("bias"))
        return self._activate(z)

    def backward_pre_activation(self, dz, need_dx=True):
        """Steps 2 to 4: ``dkernel = x.T @ dz``, ``dbias = sum_n dz``, ``dx = dz @ kernel.T``."""
        dx, dkernel, dbias = dense_backward(dz, self._cache)
        self.grads["kernel"] = dkernel
        if self.use_bias:
            self.grads["bias"] = dbias
        return dx if need_dx else None


class Pooling2D(Layer):
    """Base of the pooling layers: Keras's ``pool_size``, ``strides`` (None: the pool size) and ``padding``."""

    expected_rank = 4
    layout = "(batch, height, width, channels)"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", input_shape=None, name=None, dtype="float32"):
        super().__init__(input_shape, name, dtype)
        self.pool_size = as_pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else as_pair(strides, "strides")
        self.padding = check_padding(padding)
        self._geometry = None

    def _window_geometry(self, input_shape):
        """The pool's ``WindowGeometry`` over inputs of per-sample shape ``input_shape``."""
        return window_geometry((None,) + tuple(input_shape), self.pool_size, self.strides, self.padding, "pool_size")

    def _output_shape(self, input_shape):
        return self._window_geometry(input_shape).out_hw + (input_shape[2],)

    def _build(self, input_shape):
        self._geometry = self._window_geometry(input_shape)  # once: the padding and output size of every batch


class MaxPooling2D(Pooling2D):
    """Max pooling, ``keras.layers.MaxPooling2D``'s twin: ``x (N, H, W, C) -> y (N, H_out, W_out, C)``.

    ``strides=None`` means the pool size (2x2 windows that do not overlap).
    The arithmetic is ``max_pool2d_forward`` / ``max_pool2d_backward``; when the windows tile the
    image (pool size = strides, no padding) the fast path ``fast.max_pool2d_forward`` /
    ``fast.max_pool2d_backward`` compute the same numbers from a reshape (tested equal, ties included).
    """

    def _forward(self, x, training=False):
        self._tiled = x.shape[1:3] == self._geometry.input_hw and fast.tiles(self._geometry)
        if self._tiled:
            y, self._cache = fast.max_pool2d_forward(x, self._geometry)
        else:
            y, self._cache = max_pool2d_forward(x, self.pool_size, self.strides, self.padding)
        return y

    def _backward(self, dy, need_dx=True):
        if self._tiled:
            return fast.max_pool2d_backward(dy, self._cache)
        return max_pool2d_backward(dy, self._cache)

    def backward_through_relu(self, dy):
        """``relu_backward(self.backward(dy), x)`` for a last ``x`` that was a ReLU's output, or None.

        What a container runs for a ReLU layer followed by this one (the seed CNN's Conv2D and
        MaxPooling2D): the gradient w.r.t. the ReLU's input ``z``, to pass to that layer's
        ``backward_pre_activation``. None when the windows do not tile (then: the two backward passes).
        """
        if not hasattr(self, "_tiled"):
            raise RuntimeError(f"{self.name}: call forward before backward_through_relu")
        if not self._tiled:
            return None
        return fast.max_pool2d_backward(dy, self._cache, relu_below=True)


class AveragePooling2D(Pooling2D):
    """Average pooling, ``keras.layers.AveragePooling2D``'s twin: ``x (N, H, W, C) -> y (N, H_out, W_out, C)``.

    The arithmetic is ``avg_pool2d_forward`` / ``avg_pool2d_backward``.
    """

    def _forward(self, x, training=False):
        y, self._cache = avg_pool2d_forward(x, self.pool_size, self.strides, self.padding)
        return y

    def _backward(self, dy, need_dx=True):
        return avg_pool2d_backward(dy, self._cache)


class Flatten(Layer):
    """``x (N, d1, d2, ...) -> y (N, d1 * d2 * ...)`` in C order, which is Keras's order for NHWC."""

    def __init__(self, input_shape=None, name=None, dtype="float32"):
        super().__init__(input_shape, name, dtype)

    def _output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def _check_input(self, x):
        x = as_float_array(x, "x", dtype=self.dtype)
        if x.ndim < 2:
            raise ValueError(f"{self.name}: x must have a batch axis and at least one more, got shape {x.shape}")
        return super()._check_input(x)

    def _forward(self, x, training=False):
        self._x_shape = x.shape
        y = x.reshape(x.shape[0], -1)
        return y

    def _backward(self, dy, need_dx=True):
        return dy.reshape(self._x_shape)


class Dropout(Layer):
    """Inverted dropout, as in Keras: in training, zero each value with probability ``rate``
    and scale the survivors by ``1 / (1 - rate)``; at inference, the identity.

    ``x (N, ...) -> y (N, ...)``. ``seed`` makes the masks reproducible.
    """

    def __init__(self, rate, seed=None, input_shape=None, name=None, dtype="float32"):
        super().__init__(input_shape, name, dtype)
        self.rate = check_rate(rate)
        self._rng = make_rng(seed)

    def _forward(self, x, training=False):
        if not training or self.rate == 0.0:
            self._scale = None
            return x
        keep = self._rng.random(x.shape) >= self.rate
        self._scale = keep.astype(x.dtype) / (1.0 - self.rate)  # (N, ...): 0 or 1/(1-rate)
        return x * self._scale

    def _backward(self, dy, need_dx=True):
        return dy if self._scale is None else dy * self._scale


class Activation(ActivatedLayer):
    """An activation on its own: ``Activation("relu")``; ``x (N, ...) -> y (N, ...)``.

    Names: ``"relu"``, ``"sigmoid"``, ``"tanh"``, ``"softmax"`` (over the last axis), ``"linear"``.
    """

    def __init__(self, activation, input_shape=None, name=None, dtype="float32"):
        super().__init__(input_shape, name, dtype)
        self.activation = get_activation(activation)

    def _forward(self, x, training=False):
        return self._activate(x)

    def backward_pre_activation(self, dz, need_dx=True):
        return dz
