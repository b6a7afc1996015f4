"""The layer API that containers use: a layer is built after its constructor, its output shape is
kept by ``forward``, and ``Sequential``, ``Residual`` and ``UNet`` call only ``forward`` / ``backward``."""

import re
from pathlib import Path

import numpy as np
import pytest

from cnncourse import scratch
from cnncourse.scratch.gradcheck import check_layer_gradients

pytestmark = pytest.mark.usefixtures("single_threaded_blas")

SCRATCH = Path(scratch.__file__).parent


class Scale(scratch.Layer):
    """A new layer written as a student would: ``y = x * scale`` per feature; no call to remember."""

    weight_names = ("scale",)

    def __init__(self, factor=1.0, input_shape=None, name=None, dtype="float32"):
        super().__init__(input_shape, name, dtype)
        self.factor = float(factor)  # set after the base constructor: the build must still see it

    def _build(self, input_shape):
        self.params["scale"] = np.full(input_shape[-1], self.factor, self.dtype)

    def _forward(self, x, training=False):
        self._x = x
        return x * self.params["scale"]

    def _backward(self, dy, need_dx=True):
        self.grads["scale"] = (dy * self._x).reshape(-1, dy.shape[-1]).sum(axis=0)
        return dy * self.params["scale"] if need_dx else None


def test_a_layer_given_an_input_shape_is_built_when_its_constructor_returns():
    layer = Scale(3.0, input_shape=(4,))
    assert layer.built and layer.input_shape == (4,) and layer.output_shape == (4,)
    np.testing.assert_array_equal(layer.get_weights()[0], np.full(4, 3.0))  # the subclass's attribute was set in time
    assert not Scale(3.0).built  # without input_shape: on the first forward
    for layer in (scratch.Conv2D(2, 3, input_shape=(5, 5, 1)), scratch.MaxPooling2D(input_shape=(4, 4, 2)),
                  scratch.Dense(3, input_shape=(4,)), scratch.BatchNormalization(input_shape=(4,)),
                  scratch.Residual([scratch.Dense(4)], input_shape=(4,))):
        assert layer.built and layer.output_shape is not None


def test_forward_keeps_the_output_shape_that_backward_checks():
    layer = Scale(2.0)
    with pytest.raises(RuntimeError, match="call forward before backward"):
        layer.backward(np.ones((2, 3)))
    y = layer.forward(np.ones((2, 3)))
    assert y.shape == (2, 3)
    with pytest.raises(ValueError, match=r"dy must have the last output's shape \(2, 3\), got \(3, 3\)"):
        layer.backward(np.ones((3, 3)))
    np.testing.assert_array_equal(layer.backward(np.ones((2, 3))), np.full((2, 3), 2.0))
    errors = check_layer_gradients(Scale(0.5), np.random.default_rng(0).normal(size=(3, 4)))
    assert max(errors.values()) < 1e-7


def test_a_new_layer_trains_inside_a_sequential_and_a_residual():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 4)), rng.integers(0, 2, 16)
    model = scratch.Sequential([Scale(1.0, input_shape=(4,)), scratch.Residual([Scale(0.5), scratch.Dense(4)]),
                                scratch.Dense(2, activation="softmax")])
    model.compile(optimizer=scratch.SGD(0.1), loss="sparse_categorical_crossentropy")
    before = model.get_weights()[0].copy()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, seed=0)
    assert not np.array_equal(model.get_weights()[0], before)  # the new layer's weight was trained


def test_containers_go_through_the_public_forward_and_backward(monkeypatch):
    calls = []
    for method in ("forward", "backward"):
        original = getattr(scratch.Layer, method)

        def spy(self, *args, _original=original, _method=method, **kwargs):
            calls.append((_method, self.name))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(scratch.Layer, method, spy)
    inner = scratch.Dense(3, name="inner")
    model = scratch.Sequential([scratch.Dense(3, input_shape=(3,), name="first"), scratch.Residual([inner], name="res"),
                                scratch.Dense(2, activation="softmax", name="last")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.train_on_batch(np.ones((2, 3)), np.array([0, 1]))
    assert ("forward", "first") in calls and ("forward", "inner") in calls and ("forward", "res") in calls
    assert ("backward", "first") in calls and ("backward", "inner") in calls and ("backward", "res") in calls
    unet = scratch.UNet(input_shape=(8, 8, 1), num_classes=2, filters=2, depth=1)
    calls.clear()
    unet.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    unet.compute_gradients(np.ones((1, 8, 8, 1)), np.zeros((1, 8, 8), int))
    assert {method for method, _ in calls} == {"forward", "backward"} and len(calls) > 10


PRIVATE_CALL = re.compile(r"(\w+(?:\[[^\]]*\])?(?:\(\))?)\.(_forward|_backward|_check)\(")


def _foreign_private_calls(line):
    """``x._forward(``, ``x._backward(``, ``x._check(`` in ``line`` on anything but ``self`` or ``super()``."""
    return [match.group(0) for match in PRIVATE_CALL.finditer(line) if match.group(1) not in ("self", "super()")]


def test_no_module_calls_another_objects_private_passes():
    problems = [f"{path.name}:{number}: {line.strip()}"
                for path in sorted(SCRATCH.glob("*.py"))
                for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if _foreign_private_calls(line)]
    assert not problems, "\n".join(problems)
    assert _foreign_private_calls("h = layer._forward(h, training)") == ["layer._forward("]
    assert _foreign_private_calls("dh = self.block[index]._backward(dh)") == ["block[index]._backward("]
    assert _foreign_private_calls("self.loss._check(y, p)") == ["loss._check("]
    assert _foreign_private_calls("y = self._forward(x); z = super()._check(a, b)") == []


def test_no_layer_calls_finish_init_or_sets_its_output_shape_by_hand():
    text = "\n".join(path.read_text(encoding="utf-8") for path in SCRATCH.glob("*.py"))
    assert "_finish_init" not in text
    assert len(re.findall(r"_last_output_shape = ", text)) == 1  # Layer.forward's, once


@pytest.mark.parametrize("strides, padding", [(1, "valid"), (2, "same")])
def test_conv2d_layers_shortcut_without_dx_equals_the_taught_pair(strides, padding):
    # Conv2D's private path for need_input_gradient=False gives conv2d_backward's dkernel and dbias, exactly.
    rng = np.random.default_rng(3)
    layer = scratch.Conv2D(4, (3, 2), strides=strides, padding=padding, activation="relu", dtype="float64")
    x = rng.normal(size=(2, 7, 6, 3))
    y = layer.forward(x, training=True)
    dy = rng.normal(size=y.shape)
    dx = layer.backward(dy)
    full = {name: value.copy() for name, value in layer.grads.items()}
    assert layer.backward(dy, need_input_gradient=False) is None
    _, cache = scratch.conv2d_forward(x, layer.params["kernel"], layer.params["bias"], strides, padding)
    expected_dx, expected_dkernel, expected_dbias = scratch.conv2d_backward(dy * (y > 0), cache)
    np.testing.assert_array_equal(dx, expected_dx)
    for grads in (full, layer.grads):
        np.testing.assert_array_equal(grads["kernel"], expected_dkernel)
        np.testing.assert_array_equal(grads["bias"], expected_dbias)
