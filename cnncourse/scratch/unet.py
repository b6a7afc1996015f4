"""A small U-Net in NumPy: a graph with skip connections, forward and backward written out.

A ``Sequential`` is a chain: each layer's output feeds the next one only. A U-Net is not:
the output of every encoder block is used twice, by the next level down and, through the
skip connection, by the decoder block of the same size. So the forward pass keeps those
tensors (``skips``), and the backward pass adds the two gradients that reach each of them:

    forward                                   backward
    s = block(h)      (kept)                  ds = dpool + dskip      (the two paths add)
    h = pool(s)                               dpool = pool.backward(dh)
    ...                                       ...
    u = up(h)                                 du, dskip = concat.backward(dh)
    h = concat([u, s]) -> block               (dskip waits until the encoder is reached)

``cnncourse.models.unet(engine="scratch")`` builds one; ``engine="keras"`` builds the same
network with Keras's functional API, with the same layer names and the same weight order,
so ``get_weights()`` / ``set_weights()`` lists move between the two unchanged.

Shapes: ``x (N, H, W, C)`` with ``H`` and ``W`` divisible by ``2**depth``;
``y (N, H, W, num_classes)``, a softmax over the last axis.
"""

from __future__ import annotations

import numpy as np

from .initializers import make_rng
from .layers import Conv2D, MaxPooling2D
from .losses import get_loss
from .merge import Concatenate
from .model import History
from .optimizers import get_optimizer
from .transpose import Conv2DTranspose
from ..checks import as_float_array, check_finite, check_float_dtype, check_positive_int, check_shape


class UNet:
    """A 2-D U-Net of ``depth`` levels: ``x (N, H, W, C) -> y (N, H, W, num_classes)``.

    Parameters
    ----------
    input_shape : (H, W, C), ``H`` and ``W`` divisible by ``2**depth``
    num_classes : int >= 2, channels of the softmax output
    filters : int, filters of the first block, doubled at each level down
    depth : int >= 1, the number of poolings (and of transposed convolutions)
    skip_connections : bool; False drops the concatenations (the ablation)
    seeds : list of one initialiser seed per weighted layer, in weight order (ints,
        Generators or None), e.g. ``cnncourse.models.unet_layer_seeds(seed, depth)``; None:
        unseeded
    kernel_size, up_kernel_size : ints, the convolutions' and the transposed convolutions' kernels
    dtype : float dtype of weights and computations ("float32"; "float64" for checks)
    name : str

    Attributes
    ----------
    encoder : per level ``(conv1, conv2, pool)``, top level first
    bottleneck : ``(conv1, conv2)``
    decoder : per level ``(up, concat or None, conv1, conv2)``, deepest level first
    output_layer : ``Conv2D(num_classes, 1, activation="softmax")``
    layers : every layer with weights or a shape, in Keras's order (``Concatenate`` excluded)
    params, grads : dicts ``{"<layer>/<weight>": array}`` (the layers' own arrays), Keras's order
    """

    def __init__(self, input_shape=(64, 64, 1), num_classes=3, filters=16, depth=2, skip_connections=True,
                 seeds=None, kernel_size=3, up_kernel_size=2, dtype="float32", name=None):
        input_shape = check_shape(input_shape)
        if len(input_shape) != 3:
            raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}")
        depth = check_positive_int(depth, "depth")
        filters = check_positive_int(filters, "filters")
        num_classes = check_positive_int(num_classes, "num_classes")
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2 (background included), got {num_classes}")
        step = 2 ** depth
        if input_shape[0] % step or input_shape[1] % step:
            raise ValueError(f"input_shape: height and width must be divisible by 2**depth = {step}, "
                             f"got {input_shape[0]} x {input_shape[1]}")
        count = 5 * depth + 3
        seeds = [None] * count if seeds is None else list(seeds)
        if len(seeds) != count:
            raise ValueError(f"seeds must hold one seed per weighted layer, {count} for depth {depth}, got {len(seeds)}")
        self.dtype = check_float_dtype(dtype)
        self.input_shape, self.num_classes, self.filters, self.depth = input_shape, num_classes, filters, depth
        self.skip_connections = bool(skip_connections)
        self.name = name or ("unet" if self.skip_connections else "unet_no_skip")
        seeds = iter(seeds)

        def conv(width, layer_name, shape, size=kernel_size, activation="relu"):
            return Conv2D(width, size, padding="same", activation=activation, input_shape=shape, seed=next(seeds),
                          name=layer_name, dtype=self.dtype)

        shape, skip_shapes = tuple(input_shape), []
        self.encoder = []
        for level in range(1, depth + 1):
            width = filters * 2 ** (level - 1)
            conv1 = conv(width, f"enc{level}_conv1", shape)
            conv2 = conv(width, f"enc{level}_conv2", conv1.output_shape)
            pool = MaxPooling2D(2, input_shape=conv2.output_shape, name=f"enc{level}_pool", dtype=self.dtype)
            self.encoder.append((conv1, conv2, pool))
            skip_shapes.append(conv2.output_shape)
            shape = pool.output_shape
        conv1 = conv(filters * 2 ** depth, "bottleneck_conv1", shape)
        self.bottleneck = (conv1, conv(filters * 2 ** depth, "bottleneck_conv2", conv1.output_shape))
        shape = self.bottleneck[1].output_shape
        self.decoder = []
        for level in range(depth, 0, -1):
            width = filters * 2 ** (level - 1)
            up = Conv2DTranspose(width, up_kernel_size, strides=2, padding="same", input_shape=shape, seed=next(seeds),
                                 name=f"dec{level}_up", dtype=self.dtype)
            shape = up.output_shape
            concat = None
            if self.skip_connections:
                concat = Concatenate(axis=-1, name=f"dec{level}_concat")
                shape = shape[:2] + (shape[2] + skip_shapes[level - 1][2],)
            conv1 = conv(width, f"dec{level}_conv1", shape)
            conv2 = conv(width, f"dec{level}_conv2", conv1.output_shape)
            self.decoder.append((up, concat, conv1, conv2))
            shape = conv2.output_shape
        self.output_layer = conv(num_classes, "probabilities", shape, size=1, activation="softmax")
        self.layers = ([layer for block in self.encoder for layer in block] + list(self.bottleneck)
                       + [layer for block in self.decoder for layer in block if layer is not None
                          and not isinstance(layer, Concatenate)] + [self.output_layer])
        self.output_shape = self.output_layer.output_shape
        self.optimizer, self.loss = None, None

    # ---------------------------------------------------------------------- weights
    def trainable_pairs(self):
        """``(layer, name)`` of every weight, in Keras's order: ``[enc1_conv1 kernel, bias, ...]``."""
        return [pair for layer in self.layers for pair in layer.trainable_pairs()]

    @property
    def params(self) -> dict:
        return {f"{layer.name}/{name}": layer.params[name] for layer, name in self.trainable_pairs()}

    @property
    def grads(self) -> dict:
        return {f"{layer.name}/{name}": layer.grads[name] for layer, name in self.trainable_pairs()}

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weights in Keras's order, the order of ``keras_unet.get_weights()``."""
        return [layer.params[name].copy() for layer, name in self.trainable_pairs()]

    def set_weights(self, weights) -> None:
        """Set all weights from a list in Keras's order; every array is checked before the first is written."""
        if weights is None or isinstance(weights, (str, bytes, np.ndarray)) or not hasattr(weights, "__iter__"):
            raise TypeError(f"weights must be a list of arrays in Keras's order, got {type(weights).__name__}")
        weights, pairs = list(weights), self.trainable_pairs()
        if len(weights) != len(pairs):
            raise ValueError(f"expected {len(pairs)} weight arrays, got {len(weights)}")
        checked = []
        for (layer, name), value in zip(pairs, weights):
            value = as_float_array(value, f"{layer.name}/{name}")
            if value.shape != layer.params[name].shape:
                raise ValueError(f"{layer.name}/{name} must have shape {layer.params[name].shape}, got {value.shape}")
            check_finite(value, f"{layer.name}/{name}")
            checked.append((layer.params[name], value))
        for target, value in checked:
            target[...] = value

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def astype(self, dtype) -> "UNet":
        """Cast every layer to ``dtype`` (float64 for gradient checks); resets the optimizer's state."""
        self.dtype = check_float_dtype(dtype)
        for layer in self.layers:
            layer.astype(self.dtype)
        if self.optimizer is not None:
            self.optimizer.reset()
        return self

    def summary(self, print_fn=print) -> None:
        """Each layer's output shape and parameter count, and the totals."""
        lines = [f'Model: "{self.name}"']
        for layer in self.layers:
            lines.append(f"{layer.name:<20}{type(layer).__name__:<18}{str((None,) + layer.output_shape):<22}"
                         f"{layer.count_params():>9,}")
        lines.append(f"Total params: {self.count_params():,}")
        print_fn("\n".join(lines))

    # ----------------------------------------------------------------------- passes
    def _check_x(self, x, name="x"):
        x = as_float_array(x, name, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError(f"{name} must have rank 4 (batch, height, width, channels), got shape {x.shape}")
        if x.shape[1:] != self.input_shape:
            hint = "; add a channel axis with x[..., None]" if x.shape[1:] + (1,) == self.input_shape else ""
            raise ValueError(f"{name} must have shape (batch,) + {self.input_shape}, got {x.shape}{hint}")
        if len(x) == 0:
            raise ValueError(f"{name} must hold at least one image, got shape {x.shape}")
        check_finite(x, name)
        return x

    def _forward(self, x, training=False):
        # x was checked at the boundary (_check_x): the layers are told so (checked=True) and scan nothing again.
        self._skips = []
        h = x
        for conv1, conv2, pool in self.encoder:
            h = conv2.forward(conv1.forward(h, training, checked=True), training, checked=True)
            self._skips.append(h)                          # kept for the decoder of the same size
            h = pool.forward(h, training, checked=True)
        h = self.bottleneck[1].forward(self.bottleneck[0].forward(h, training, checked=True), training, checked=True)
        for (up, concat, conv1, conv2), skip in zip(self.decoder, reversed(self._skips)):
            h = up.forward(h, training, checked=True)
            if concat is not None:
                h = concat.forward([h, skip])              # (N, h, w, up filters + skip filters)
            h = conv2.forward(conv1.forward(h, training, checked=True), training, checked=True)
        y = self.output_layer.forward(h, training, checked=True)
        self._forward_shape = y.shape  # what backward's dy must match
        return y

    def forward(self, x, training: bool = False):
        """``x (N, H, W, C) -> y (N, H, W, num_classes)``, keeping what ``backward`` needs."""
        return self._forward(self._check_x(x), training)

    def __call__(self, x, training: bool = False):
        return self.forward(x, training)

    def backward(self, dy, need_input_gradient: bool = True):
        """Backpropagate ``dy (N, H, W, num_classes)``; fills every layer's ``grads``; returns ``dx`` (or None)."""
        dy = as_float_array(dy, "dy", dtype=self.dtype)
        if dy.shape != getattr(self, "_forward_shape", None):
            raise ValueError(f"dy must have the last output's shape {getattr(self, '_forward_shape', None)}, got {dy.shape}")
        return self._backpropagate(dy, need_input_gradient)

    def _backpropagate(self, dy, need_input_gradient, from_logits=False):
        """The backward pass, the top of the decoder first; every layer fills its ``grads``."""
        if from_logits:
            dh = self.output_layer.backward_pre_activation(dy)
        else:
            dh = self.output_layer.backward(dy, checked=True)
        skip_grads = []
        for up, concat, conv1, conv2 in reversed(self.decoder):  # the top decoder level first
            dh = conv1.backward(conv2.backward(dh, checked=True), checked=True)
            if concat is not None:
                dh, dskip = concat.backward(dh)
                skip_grads.append(dskip)                   # the skip path's share of the encoder's gradient
            dh = up.backward(dh, checked=True)
        dh = self.bottleneck[0].backward(self.bottleneck[1].backward(dh, checked=True), checked=True)
        for level in range(self.depth, 0, -1):             # the deepest encoder level first
            conv1, conv2, pool = self.encoder[level - 1]
            dh = pool.backward(dh, checked=True)
            if skip_grads:
                dh = dh + skip_grads[level - 1]            # the two paths from this block's output add up
            dh = conv1.backward(conv2.backward(dh, checked=True), need_input_gradient or level > 1, checked=True)
        return dh

    def predict(self, x, batch_size: int = 32):
        """Probabilities ``(N, H, W, num_classes)`` for ``x (N, H, W, C)``, in batches."""
        x = self._check_x(x)
        batch_size = check_positive_int(batch_size, "batch_size")
        return np.concatenate([self._forward(x[start:start + batch_size]) for start in range(0, len(x), batch_size)])

    # --------------------------------------------------------------------- training
    def compile(self, optimizer="adam", loss="sparse_categorical_crossentropy") -> None:
        """The optimizer (object or ``"sgd"`` / ``"adam"``) and the loss (object, e.g. ``SoftDiceLoss()``, or a Keras name)."""
        self.optimizer = get_optimizer(optimizer)
        self.loss = get_loss(loss)

    def _require_compiled(self):
        if self.loss is None or self.optimizer is None:
            raise RuntimeError("call compile(optimizer, loss) before compute_gradients, train_step or fit")

    def compute_gradients(self, x, y, training: bool = True, return_input_gradient: bool = False):
        """The batch-mean loss and its gradients, without updating the weights.

        Parameters
        ----------
        x : array ``(N, H, W, C)``; y : the targets the compiled loss takes, e.g. labels ``(N, H, W)``

        Returns
        -------
        loss : float
        grads : list of arrays in Keras's weight order
        dx : array ``(N, H, W, C)``, only with ``return_input_gradient``
        """
        self._require_compiled()
        x = self._check_x(x)
        y = self._check_y(x, y)
        y_pred = self._forward(x, training)
        # As Keras does, a crossentropy of a softmax is computed from the logits (Loss.for_logits).
        logits_loss = self.loss.for_logits(self.output_layer.activation.name)
        if logits_loss is not None:
            logits = self.output_layer.logits
            value, dy = logits_loss(y, logits), logits_loss.gradient(y, logits)
        else:
            value, dy = self.loss(y, y_pred), self.loss.gradient(y, y_pred)
        dx = self._backpropagate(np.array(dy, dtype=self.dtype), return_input_gradient,
                                 from_logits=logits_loss is not None)
        grads = [layer.grads[name].copy() for layer, name in self.trainable_pairs()]
        return (value, grads, dx) if return_input_gradient else (value, grads)

    def compute_loss(self, x, y, training: bool = False) -> float:
        """The compiled loss on one batch ``x (N, H, W, C)``, ``y``, as ``compute_gradients`` computes it."""
        self._require_compiled()
        x = self._check_x(x)
        y = self._check_y(x, y)
        y_pred = self._forward(x, training)
        logits_loss = self.loss.for_logits(self.output_layer.activation.name)
        if logits_loss is not None:
            return logits_loss(y, self.output_layer.logits)
        return self.loss(y, y_pred)

    def _check_y(self, x, y):
        y = np.asarray(y)
        if y.ndim < 1 or len(y) != len(x):
            raise ValueError(f"y must hold one target per image ({len(x)}), got shape {y.shape}")
        try:
            self.loss.check(y, np.full((len(y),) + self.output_shape, 1.0 / self.num_classes, self.dtype))
        except (TypeError, ValueError) as error:
            raise type(error)(f"y: {error}") from None
        return y

    def train_step(self, x, y, optimizer=None) -> float:
        """One step on one batch: forward, loss, backward, one update by ``optimizer`` (default: the compiled one).

        Returns the batch's loss before the update.
        """
        if optimizer is not None:
            self.optimizer = get_optimizer(optimizer)
        value, _ = self.compute_gradients(x, y)
        self.optimizer.apply_gradients([(layer.grads[name], layer.params[name])
                                        for layer, name in self.trainable_pairs()])
        return value

    def fit(self, x, y, epochs: int = 1, batch_size: int = 32, shuffle: bool = True, seed=None, verbose: int = 0):
        """Mini-batch training; returns a ``History`` whose ``.history["loss"]`` has one mean loss per epoch."""
        self._require_compiled()
        epochs, batch_size = check_positive_int(epochs, "epochs"), check_positive_int(batch_size, "batch_size")
        x = self._check_x(x)
        y = self._check_y(x, y)
        rng, history = make_rng(seed), History()
        history.params = {"epochs": epochs, "batch_size": batch_size, "samples": len(x)}
        for epoch in range(epochs):
            order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
            total = 0.0
            for start in range(0, len(x), batch_size):
                index = order[start:start + batch_size]
                total += self.train_step(x[index], y[index]) * len(index)
            history.history.setdefault("loss", []).append(total / len(x))
            history.epoch.append(epoch)
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs} - loss: {total / len(x):.4f}")
        return history

    def __repr__(self):
        return (f"UNet(name={self.name!r}, input_shape={self.input_shape}, num_classes={self.num_classes}, "
                f"filters={self.filters}, depth={self.depth}, skip_connections={self.skip_connections})")
