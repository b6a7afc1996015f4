"""What a Keras model costs: parameters, multiply-adds and activation memory, layer by layer.

Counted from the layers' own shapes, never quoted:

* **parameters**: ``layer.count_params()`` (trainable and not, e.g. batch norm's moving statistics);
* **multiply-adds** (MACs) of one forward pass per example: a convolution in any number of
  dimensions does ``prod(kernel_size) * c_in`` multiply-adds per output value, so
  ``prod(output_shape) * prod(kernel_size) * c_in``; a dense layer ``units_in * units_out``;
  every other layer (pooling, batch norm, activations) is counted as 0 — they are cheap by
  comparison, and leaving them out keeps the count the usual one;
* **activations**: the values each layer outputs per example (``prod(output_shape)``). Training
  keeps them for the backward pass, so their sum times the batch size times 4 bytes (float32)
  is a lower bound on the memory one training step needs, besides the weights.

NumPy only here; the model is passed in, so this module never imports TensorFlow.
"""

from __future__ import annotations

import math

from .checks import check_positive_int

__all__ = ["conv_macs", "layer_costs", "model_cost"]

BYTES_PER_FLOAT32 = 4


def conv_macs(output_shape, kernel_size, in_channels: int) -> int:
    """Multiply-adds of one convolution (1-, 2- or 3-D) for one example.

    Parameters
    ----------
    output_shape : tuple of ints ``(*spatial, filters)``, the layer's output without the batch axis
    kernel_size : tuple of ints, one per spatial axis
    in_channels : int, channels of the input

    Returns
    -------
    int, ``prod(output_shape) * prod(kernel_size) * in_channels``
    """
    output_shape, kernel_size = tuple(output_shape), tuple(kernel_size)
    for name, values in (("output_shape", output_shape), ("kernel_size", kernel_size)):
        if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
            raise ValueError(f"{name} must be a non-empty tuple of positive ints, got {values!r}")
    if len(kernel_size) != len(output_shape) - 1:
        raise ValueError(f"kernel_size must have one entry per spatial axis of output_shape {output_shape} "
                         f"({len(output_shape) - 1}), got {kernel_size!r}")
    if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 1:
        raise ValueError(f"in_channels must be a positive int, got {in_channels!r}")
    return math.prod(output_shape) * math.prod(kernel_size) * in_channels


def _shape(tensor_or_shape) -> tuple:
    shape = getattr(tensor_or_shape, "shape", tensor_or_shape)
    return tuple(int(d) for d in tuple(shape)[1:])


def _layer_macs(layer, input_shape, output_shape) -> int:
    kind = type(layer).__name__
    if kind in ("Conv1D", "Conv2D", "Conv3D"):
        return conv_macs(output_shape, tuple(layer.kernel_size), input_shape[-1] // int(getattr(layer, "groups", 1)))
    if kind == "Dense":
        return math.prod(input_shape) * output_shape[-1]  # each input value meets every unit once
    return 0


def layer_costs(model) -> list[dict]:
    """One row per layer of a built Keras model (its ``InputLayer`` left out).

    Parameters
    ----------
    model : a built ``keras.Model`` or ``keras.Sequential`` whose layers each have one input and one output

    Returns
    -------
    list of dicts with ``name``, ``type``, ``output_shape`` (tuple, without the batch axis),
    ``params`` (int), ``macs`` (int, per example) and ``activations`` (int, output values per example)
    """
    layers = getattr(model, "layers", None)
    if layers is None or not hasattr(model, "count_params"):
        raise TypeError(f"model must be a built Keras model, got {type(model).__name__}")
    rows = []
    for layer in layers:
        if type(layer).__name__ == "InputLayer":
            continue
        try:
            input_shape, output_shape = _shape(layer.input), _shape(layer.output)
        except (AttributeError, ValueError) as error:
            raise ValueError(f"layer {layer.name!r} must have one input and one output of known shape ({error})") from None
        rows.append({
            "name": layer.name, "type": type(layer).__name__, "output_shape": output_shape,
            "params": int(layer.count_params()), "macs": int(_layer_macs(layer, input_shape, output_shape)),
            "activations": int(math.prod(output_shape)),
        })
    return rows


def model_cost(model, batch_size: int = 1) -> dict:
    """Totals of ``layer_costs`` for a batch.

    Parameters
    ----------
    model : a built Keras model (see ``layer_costs``)
    batch_size : int >= 1, examples in the batch

    Returns
    -------
    dict with ``params`` (int, ``model.count_params()``), ``macs`` (int, multiply-adds of one forward pass
    over the batch), ``activations`` (int, values the layers output for the batch) and
    ``activation_bytes`` (int, those values in float32)
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    rows = layer_costs(model)
    activations = batch_size * sum(row["activations"] for row in rows)
    return {
        "params": int(model.count_params()),
        "macs": batch_size * sum(row["macs"] for row in rows),
        "activations": activations,
        "activation_bytes": BYTES_PER_FLOAT32 * activations,
    }
