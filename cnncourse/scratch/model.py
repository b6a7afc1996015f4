"""``Sequential``: a stack of layers trained by backpropagation, with Keras's workflow.

    model = Sequential([Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)), ...])
    model.compile(optimizer=Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=5, batch_size=32, validation_data=(x_val, y_val))
    test_loss, test_acc = model.evaluate(x_test, y_test)

One training step is: forward through every layer, the loss and its gradient, backward
through every layer in reverse (each fills its ``grads``), then one optimizer update.
``fit``, ``evaluate``, ``predict`` and ``forward`` check ``x`` (and ``y``) once, before the
first batch, and tell the layers so (``checked=True``); a NaN born in training stops ``fit``
with a ``FloatingPointError`` that names the step.

As in Keras, when the last layer ends in softmax (or sigmoid) and the loss is a
categorical (or binary) crossentropy on probabilities, the loss is computed from the
pre-activation logits: ``softmax(z) - one_hot(y)`` is exact and never divides by a
probability that has underflowed to zero. The loss owns that shortcut
(``Loss.for_logits``); the model only asks for it. Each layer's own ``backward`` (the
softmax Jacobian-vector product included) is still exact and tested on its own.
"""

from __future__ import annotations

import numpy as np

from .initializers import make_rng
from .layers import ActivatedLayer, Layer, MaxPooling2D
from .losses import Loss, get_loss
from .accuracy import get_metric
from .optimizers import get_optimizer
from .progress import ProgressBar
from ..checks import as_float_array, check_finite, check_positive_int


class History:
    """What ``fit`` returns: ``history`` maps ``"loss"``, ``"accuracy"``, ``"val_loss"``, ... to one value per epoch."""

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.params: dict = {}

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


class Sequential:
    """A linear stack of layers with ``compile``, ``fit``, ``evaluate``, ``predict`` and ``summary``.

    Parameters
    ----------
    layers : list of layers, optional. When the first has an ``input_shape``, the whole
        model is built at once, so ``set_weights`` works before any data is seen.
    name : str
    """

    def __init__(self, layers=None, name: str = "sequential"):
        self.name = name
        self.layers: list[Layer] = []
        self.optimizer = None
        self.loss: Loss | None = None
        self.metrics: list[tuple[str, object]] = []
        for layer in layers or []:
            self.add(layer)

    # --------------------------------------------------------------------- building
    def add(self, layer: Layer) -> None:
        """Append a layer; it is built at once when the model already knows its shapes."""
        if not isinstance(layer, Layer):
            raise TypeError(f"layer must be a cnncourse.scratch layer, got {type(layer).__name__}")
        if any(existing is layer for existing in self.layers):
            raise ValueError(
                f"{layer.name} is already in this model: a layer keeps the input of its last forward pass for "
                "backward, so one instance cannot be used twice; create a second layer"
            )
        owner = getattr(layer, "_sequential", None)
        if owner is not None and owner is not self:
            raise ValueError(
                f"{layer.name} already belongs to the model {owner.name!r}: two models cannot share a layer (each "
                "would backpropagate the other's cached input); create new layers, or copy.deepcopy the model"
            )
        if self.layers and self.layers[-1].built:
            self._build_layer(layer, self.layers[-1].output_shape)
        self.layers.append(layer)
        layer._sequential = self

    @staticmethod
    def _build_layer(layer, input_shape):
        if not layer.built:
            layer.build(input_shape)
        elif tuple(layer.input_shape) != tuple(input_shape):
            raise ValueError(f"{layer.name} was built for inputs {layer.input_shape}, but receives {tuple(input_shape)}")

    def build(self, input_shape) -> "Sequential":
        """Build every layer for per-sample inputs of shape ``input_shape`` (no batch axis)."""
        if not self.layers:
            raise ValueError("the model has no layers")
        shape = tuple(int(d) for d in input_shape)
        for layer in self.layers:
            self._build_layer(layer, shape)
            shape = layer.output_shape
        return self

    @property
    def built(self) -> bool:
        return bool(self.layers) and all(layer.built for layer in self.layers)

    @property
    def input_shape(self):
        return self.layers[0].input_shape if self.layers else None

    @property
    def output_shape(self):
        return self.layers[-1].output_shape if self.built else None

    @property
    def dtype(self):
        return self.layers[0].dtype if self.layers else np.dtype("float32")

    def astype(self, dtype) -> "Sequential":
        """Cast every layer to ``dtype`` (float64 for gradient checks); resets the optimizer's state."""
        for layer in self.layers:
            layer.astype(dtype)
        if self.optimizer is not None:
            self.optimizer.reset()
        return self

    # ----------------------------------------------------------------------- passes
    def _check_x(self, x, name="x"):
        x = as_float_array(x, name, dtype=self.dtype)
        if x.ndim < 2:
            raise ValueError(f"{name} must have a batch axis first, got shape {x.shape}")
        if len(x) == 0:
            raise ValueError(f"{name} must hold at least one sample, got an empty batch of shape {x.shape}")
        if not self.built:
            self.build(x.shape[1:])
        elif x.shape[1:] != tuple(self.input_shape):
            hint = "; add a channel axis with x[..., None]" if x.shape[1:] + (1,) == tuple(self.input_shape) else ""
            raise ValueError(
                f"{name} must have shape (batch,) + {tuple(self.input_shape)}, got {x.shape}{hint}"
            )
        check_finite(x, name)
        return x

    def _forward(self, x, training):
        """The layers in order, on an ``x`` that ``_check_x`` has checked (or a slice of one): no layer scans it again."""
        for layer in self.layers:
            try:
                x = layer.forward(x, training, checked=True)
            except ValueError as error:
                if np.isfinite(x).all():  # looked at only on this error path
                    raise
                raise FloatingPointError(
                    f"the values reaching {layer.name} hold NaN or infinity: the model overflowed on finite inputs "
                    "(lower the learning rate)"
                ) from error
        return x

    def forward(self, x, training: bool = False):
        """``x (N,) + input_shape -> y (N,) + output_shape``, keeping what ``backward`` needs."""
        y = self._forward(self._check_x(x), training)
        self._forward_shape = y.shape
        return y

    def __call__(self, x, training: bool = False):
        return self.forward(x, training)

    def backward(self, dy, need_input_gradient: bool = True):
        """Backpropagate ``dy (N,) + output_shape`` through every layer; returns ``dx`` (or None)."""
        expected = getattr(self, "_forward_shape", None)
        if expected is None:
            raise RuntimeError("call forward(x, training=...) before backward: backward uses what forward kept")
        dy = as_float_array(dy, "dy", dtype=self.dtype)
        if dy.shape != tuple(expected):
            raise ValueError(f"dy must have the shape of the last forward's output {tuple(expected)}, got {dy.shape}")
        check_finite(dy, "dy")
        return self._backpropagate(dy, need_input_gradient)

    def _backpropagate(self, dy, need_input_gradient, from_logits=False):
        """The one backpropagation loop, last layer first; each layer fills its ``grads``.

        ``from_logits``: ``dy`` is the gradient w.r.t. the last layer's logits, so that
        layer's activation is skipped. The first layer's input gradient is computed only
        when ``need_input_gradient`` (saliency maps, gradient checks).
        """
        last = len(self.layers) - 1
        index = last
        while index >= 0:
            layer, need_dx = self.layers[index], need_input_gradient or index > 0
            below = self.layers[index - 1] if index > 0 else None
            if from_logits and index == last:
                dy = layer.backward_pre_activation(dy, need_dx)
            elif (isinstance(layer, MaxPooling2D) and isinstance(below, ActivatedLayer)
                  and below.activation.name == "relu"
                  and (dz := layer.backward_through_relu(dy)) is not None):
                # ReLU, then max pooling: the ReLU's mask applied to the pooled gradient, one pass fewer
                index -= 1
                dy = below.backward_pre_activation(dz, need_input_gradient or index > 0)
            else:
                dy = layer.backward(dy, need_dx, checked=True)
            index -= 1
        return dy

    # ---------------------------------------------------------------------- weights
    def get_weights(self) -> list[np.ndarray]:
        """All weights in Keras's order: ``[conv1 kernel, conv1 bias, conv2 kernel, ...]`` (copies)."""
        if not self.built:
            raise RuntimeError("build the model (give the first layer an input_shape) before get_weights")
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights) -> None:
        """Set all weights from a list in Keras's order, e.g. ``keras_model.get_weights()``.

        Every array is checked before the first is written, so a bad list changes nothing.
        """
        if not self.built:
            raise RuntimeError("build the model (give the first layer an input_shape) before set_weights")
        if weights is None or isinstance(weights, (str, bytes, np.ndarray)) or not hasattr(weights, "__iter__"):
            raise TypeError(f"weights must be a list of arrays in Keras's order, got {type(weights).__name__}")
        weights = list(weights)
        expected = sum(len(layer.get_weights()) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f"expected {expected} weight arrays, got {len(weights)}")
        position, checked = 0, []
        for layer in self.layers:
            count = len(layer.get_weights())
            checked.append((layer, layer.check_weights(weights[position : position + count])))
            position += count
        for layer, pairs in checked:
            for name, value in pairs:
                layer.params[name][...] = value

    def trainable_pairs(self):
        """``(layer, name)`` for every trainable parameter, in Keras's order (moving statistics excluded)."""
        return [pair for layer in self.layers for pair in layer.trainable_pairs()]

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, print_fn=print) -> None:
        """Print each layer's output shape and parameter count, as ``keras.Model.summary`` does."""
        if not self.built:
            raise RuntimeError("build the model before summary (give the first layer an input_shape)")
        rows = [("Layer (type)", "Output Shape", "Param #")]
        for layer in self.layers:
            rows.append((f"{layer.name} ({type(layer).__name__})", str((None,) + tuple(layer.output_shape)),
                         f"{layer.count_params():,}"))
        widths = [max(len(row[i]) for row in rows) + 2 for i in range(3)]
        rule = "-" * sum(widths)
        lines = [f'Model: "{self.name}"', rule]
        for index, row in enumerate(rows):
            lines.append(row[0].ljust(widths[0]) + row[1].ljust(widths[1]) + row[2].rjust(widths[2]))
            if index == 0:
                lines.append("=" * sum(widths))
        trainable = sum(layer.params[name].size for layer, name in self.trainable_pairs())
        lines += [rule, f"Total params: {self.count_params():,}", f"Trainable params: {trainable:,}"]
        if trainable != self.count_params():  # printed only when some weights (moving statistics) are not trained
            lines.append(f"Non-trainable params: {self.count_params() - trainable:,}")
        print_fn("\n".join(lines))

    # --------------------------------------------------------------------- training
    def compile(self, optimizer="adam", loss="sparse_categorical_crossentropy", metrics=None) -> None:
        """Choose the optimizer (object or ``"sgd"``/``"adam"``), the loss (object or Keras name) and metrics."""
        if isinstance(metrics, str):
            raise TypeError(f"metrics must be a list of names, e.g. metrics=[{metrics!r}], got the string {metrics!r}")
        optimizer = get_optimizer(optimizer)
        owner = getattr(optimizer, "_sequential", None)
        if owner is not None and owner is not self:
            raise ValueError(
                f"this optimizer is already used by the model {owner.name!r}: an optimizer keeps a step count and "
                "per-weight state, so each model needs its own (Keras refuses this too); create a new optimizer"
            )
        optimizer._sequential = self
        self.optimizer = optimizer
        self.loss = get_loss(loss)
        self.metrics = [get_metric(name, self.loss) for name in (metrics or [])]

    def _require_compiled(self):
        if self.loss is None or self.optimizer is None:
            raise RuntimeError("call compile(optimizer, loss) before fit, evaluate or train_on_batch")

    def _logits_loss(self):
        """The loss's from-logits twin for the last layer's activation (``Loss.for_logits``), or None."""
        last = self.layers[-1]
        return self.loss.for_logits(last.activation.name) if isinstance(last, ActivatedLayer) else None

    def _loss_value(self, y, y_pred) -> float:
        logits_loss = self._logits_loss()
        if logits_loss is not None:
            return logits_loss(y, self.layers[-1].logits)
        return self.loss(y, y_pred)

    def _loss_and_gradients(self, x, y, training=True, need_input_gradient=False):
        """Forward, loss and backward on one checked batch; fills every layer's ``grads``.

        Returns ``(loss, y_pred, dx)``; ``dx`` is None unless ``need_input_gradient``.
        """
        step = self.optimizer.iterations + 1 if self.optimizer is not None else 1
        try:
            y_pred = self._forward(x, training=training)
        except FloatingPointError as error:
            raise FloatingPointError(f"step {step}: {error}; training stopped before the update") from error.__cause__
        if not np.isfinite(y_pred).all():
            raise FloatingPointError(
                f"step {step}: the model's outputs hold NaN or infinity, so the loss is not finite; training "
                "stopped before the update (lower the learning rate, or check the inputs)"
            )
        logits_loss = self._logits_loss()
        if logits_loss is not None:
            logits = self.layers[-1].logits
            loss_value, dy = logits_loss.value_and_gradient(y, logits)
        else:
            loss_value, dy = self.loss.value_and_gradient(y, y_pred)
        dx = self._backpropagate(dy, need_input_gradient, from_logits=logits_loss is not None)
        return loss_value, y_pred, dx

    def compute_gradients(self, x, y, training: bool = True, return_input_gradient: bool = False):
        """The loss on one batch and its gradients, without updating the weights.

        Parameters
        ----------
        x : array ``(N,) + input_shape``; y : targets for the compiled loss
        training : run the layers in training mode (Dropout active)
        return_input_gradient : also return ``dx``, the gradient w.r.t. ``x``

        Returns
        -------
        loss : float
        grads : list of arrays in Keras's weight order (the shapes of ``get_weights()``)
        dx : array ``(N,) + input_shape``, only with ``return_input_gradient``
        """
        self._require_compiled()
        x = self._check_x(x)
        loss_value, _, dx = self._loss_and_gradients(x, self._check_xy(x, y), training, return_input_gradient)
        grads = [layer.grads[name].copy() for layer, name in self.trainable_pairs()]
        return (loss_value, grads, dx) if return_input_gradient else (loss_value, grads)

    def compute_loss(self, x, y, training: bool = False) -> float:
        """The compiled loss on one batch ``x (N,) + input_shape``, ``y``, as ``fit`` computes it; no gradients."""
        self._require_compiled()
        x = self._check_x(x)
        return self._loss_value(self._check_xy(x, y), self._forward(x, training=training))

    def _train_step(self, x, y):
        """Forward, loss, backward, one optimizer step. ``x`` is already checked. Returns ``(loss, y_pred)``."""
        loss_value, y_pred, _ = self._loss_and_gradients(x, y)
        if not np.isfinite(loss_value):
            raise FloatingPointError(
                f"step {self.optimizer.iterations + 1}: the loss is {loss_value}; training stopped before the update "
                "(lower the learning rate, or check the inputs and labels)"
            )
        self.optimizer.apply_gradients(  # the engine's own gradients: already of the parameters' shapes and dtypes
            [(layer.grads[name], layer.params[name]) for layer, name in self.trainable_pairs()], checked=True
        )
        return loss_value, y_pred

    def train_on_batch(self, x, y):
        """One optimizer step on one batch; returns the loss, or ``[loss, *metrics]`` when compiled with metrics."""
        self._require_compiled()
        x = self._check_x(x)
        loss_value, y_pred = self._train_step(x, np.asarray(y))
        if not self.metrics:
            return loss_value
        return [loss_value] + [fn(y, y_pred) for _, fn in self.metrics]

    @staticmethod
    def _check_xy(x, y, name="y"):
        y = np.asarray(y)
        if y.ndim < 1 or len(y) != len(x):
            raise ValueError(f"{name} must hold one target per sample ({len(x)}), got shape {y.shape}")
        return y

    def _check_targets(self, x, y, name="y"):
        """``y`` checked, all of it, by the compiled loss against the model's output shape."""
        y = self._check_xy(x, y, name)
        placeholder = np.zeros((len(y),) + tuple(self.output_shape), dtype=self.dtype)
        try:
            self.loss.check(y, placeholder)
        except (TypeError, ValueError) as error:
            raise type(error)(f"{name}: {error}") from None
        return y

    def fit(self, x, y, epochs: int = 1, batch_size: int = 32, validation_data=None, shuffle: bool = True,
            verbose: int = 1, seed=None) -> History:
        """Train on ``x (N,) + input_shape`` and targets ``y (N, ...)`` in mini-batches.

        Parameters
        ----------
        epochs, batch_size : ints; the last batch of an epoch may be smaller
        validation_data : ``(x_val, y_val)`` evaluated after every epoch, or None
        shuffle : reorder the samples every epoch (with a generator seeded by ``seed``)
        verbose : 0 silent, 1 a live progress line, 2 one line per epoch
        seed : int or None, for the shuffling; None draws it from NumPy's global state, which
            ``cnncourse.set_seed`` seeds, so a seeded run is reproducible either way

        Returns
        -------
        History, whose ``.history`` has ``"loss"``, each metric, and ``"val_..."`` versions.
        """
        self._require_compiled()
        epochs = check_positive_int(epochs, "epochs")
        batch_size = check_positive_int(batch_size, "batch_size")
        # Everything is checked before the first step, so bad data never trains half an epoch.
        x = self._check_x(x)
        y = self._check_targets(x, y)
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (x_val, y_val)")
            x_val = self._check_x(validation_data[0], "x_val")
            y_val = self._check_targets(x_val, validation_data[1], "y_val")
        rng = make_rng(seed)
        history = History()
        history.params = {"epochs": epochs, "batch_size": batch_size, "samples": len(x)}
        steps = -(-len(x) // batch_size)
        for epoch in range(epochs):
            order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
            progress = ProgressBar(steps, verbose, epoch=epoch + 1, epochs=epochs)
            totals = {"loss": 0.0, **{name: 0.0 for name, _ in self.metrics}}
            seen = 0
            for step in range(steps):
                index = order[step * batch_size : (step + 1) * batch_size]
                batch_y = y[index]
                loss_value, y_pred = self._train_step(x[index], batch_y)
                # Running means weighted by batch size, as Keras reports them.
                totals["loss"] += loss_value * len(index)
                for name, fn in self.metrics:
                    totals[name] += fn(batch_y, y_pred) * len(index)
                seen += len(index)
                logs = {key: value / seen for key, value in totals.items()}
                progress.update(step + 1, logs)
            if validation_data is not None:
                values = self._evaluate(x_val, y_val, batch_size)
                logs.update({"val_" + key: value for key, value in values.items()})
            progress.finish(logs)
            for key, value in logs.items():
                history.history.setdefault(key, []).append(float(value))
            history.epoch.append(epoch)
        return history

    def _evaluate(self, x, y, batch_size):
        totals = {"loss": 0.0, **{name: 0.0 for name, _ in self.metrics}}
        for start in range(0, len(x), batch_size):
            batch_x, batch_y = x[start : start + batch_size], y[start : start + batch_size]
            y_pred = self._forward(batch_x, training=False)
            totals["loss"] += self._loss_value(batch_y, y_pred) * len(batch_x)
            for name, fn in self.metrics:
                totals[name] += fn(batch_y, y_pred) * len(batch_x)
        return {key: value / len(x) for key, value in totals.items()}

    def evaluate(self, x, y, batch_size: int = 32, verbose: int = 1, return_dict: bool = False):
        """Loss and metrics on ``(x, y)`` without training: ``loss``, or ``[loss, *metrics]`` with metrics."""
        self._require_compiled()
        x = self._check_x(x)
        y = self._check_targets(x, y)
        values = self._evaluate(x, y, check_positive_int(batch_size, "batch_size"))
        if verbose:
            print(" - ".join(f"{key}: {value:.4f}" for key, value in values.items()))
        if return_dict:
            return values
        return values["loss"] if not self.metrics else list(values.values())

    def predict(self, x, batch_size: int = 32, verbose: int = 0):
        """Outputs ``(N,) + output_shape`` for inputs ``x (N,) + input_shape``, in batches."""
        x = self._check_x(x)
        batch_size = check_positive_int(batch_size, "batch_size")
        outputs = [self._forward(x[start : start + batch_size], training=False) for start in range(0, len(x), batch_size)]
        result = np.concatenate(outputs, axis=0)
        if not np.isfinite(result).all():
            largest = max((float(np.max(np.abs(w))) for w in self.get_weights() if w.size), default=0.0)
            raise FloatingPointError(
                f"the model's outputs hold NaN or infinity (its largest weight is {largest:.3g}): the forward pass "
                f"overflows {self.dtype}; retrain with a lower learning rate"
            )
        return result

    def __repr__(self):
        return f"Sequential(name={self.name!r}, layers={[layer.name for layer in self.layers]})"
