"""Validate everything, then write: bad input to the NumPy engine changes nothing and says what is wrong."""

import numpy as np
import pytest

from cnncourse.models import seed_cnn
from cnncourse.scratch import SGD, Adam, Dense, SparseCategoricalCrossentropy

pytestmark = pytest.mark.usefixtures("single_threaded_blas")


def _model():
    model = seed_cnn("scratch", num_classes=2, seed=0)
    model.compile(optimizer=Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_sequential_set_weights_is_atomic():
    model = _model()
    before = model.get_weights()
    new = [w + 1 for w in before]
    new[-1] = np.zeros(3)  # the last bias has the wrong shape
    with pytest.raises(ValueError, match=r"must have shape \(2,\), got \(3,\)"):
        model.set_weights(new)
    assert _same(model.get_weights(), before), "no array may be written when any is bad"
    new[-1] = np.array([np.nan, 0.0])
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.set_weights(new)
    assert _same(model.get_weights(), before)
    with pytest.raises(TypeError, match="weights must be a list of arrays.*got NoneType"):
        model.set_weights(None)


def test_dense_set_weights_is_atomic():
    layer = Dense(3)
    layer.forward(np.ones((1, 4), np.float32))
    kernel, bias = layer.get_weights()
    with pytest.raises(ValueError, match=r"weight 'bias' must have shape \(3,\), got \(4,\)"):
        layer.set_weights([kernel + 1, np.zeros(4)])
    assert np.array_equal(layer.get_weights()[0], kernel)


def test_apply_gradients_is_atomic():
    optimizer = SGD(0.1)
    first, second = np.ones(2), np.ones(3)
    with pytest.raises(ValueError, match=r"shape \(3,\), got \(2,\) \(pair 1\)"):
        optimizer.apply_gradients([(np.ones(2), first), (np.ones(2), second)])
    assert np.array_equal(first, np.ones(2)) and optimizer.iterations == 0
    with pytest.raises(ValueError, match="gradient 1 contains NaN"):
        optimizer.apply_gradients([(np.ones(2), first), (np.array([1, np.nan, 1]), second)])
    assert np.array_equal(first, np.ones(2))
    with pytest.raises(TypeError, match="gradient 0 must hold real numbers, got dtype complex128"):
        optimizer.apply_gradients([(np.ones(2) * 1j, first)])
    with pytest.raises(TypeError, match="parameter 0 must be a float array.*int64"):
        optimizer.apply_gradients([(np.ones(2), np.ones(2, np.int64))])
    frozen = np.ones(2)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="parameter 0 is read-only"):
        optimizer.apply_gradients([(np.ones(2), frozen)])


def test_fit_checks_every_label_before_the_first_step():
    model = _model()
    before = model.get_weights()
    x = np.random.default_rng(0).random((40, 28, 28, 1), dtype=np.float32)
    y = np.zeros(40, np.int64)
    y[-1] = 5  # only the last batch is bad
    with pytest.raises(ValueError, match=r"y: y_true labels must be in \[0, 1\].*\[5\]"):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert _same(model.get_weights(), before) and model.optimizer.iterations == 0
    with pytest.raises(ValueError, match="y_val: y_true labels must be in"):
        model.fit(x, np.zeros(40, np.int64), validation_data=(x[:4], np.array([0, 1, 2, 0])), verbose=0)
    assert _same(model.get_weights(), before)


@pytest.mark.parametrize("call", ["fit", "evaluate", "predict"])
def test_empty_batches_are_clear_errors(call):
    model = _model()
    empty_x, empty_y = np.zeros((0, 28, 28, 1), np.float32), np.zeros(0, np.int64)
    with pytest.raises(ValueError, match=r"x must hold at least one sample, got an empty batch of shape \(0, 28, 28, 1\)"):
        if call == "predict":
            model.predict(empty_x)
        else:
            getattr(model, call)(empty_x, empty_y, verbose=0)


def test_empty_validation_data_fails_before_training():
    model = _model()
    before = model.get_weights()
    x = np.zeros((8, 28, 28, 1), np.float32)
    with pytest.raises(ValueError, match="x_val must hold at least one sample"):
        model.fit(x, np.zeros(8, np.int64), validation_data=(x[:0], np.zeros(0, np.int64)), verbose=0)
    assert _same(model.get_weights(), before)


def test_sparse_crossentropy_of_an_empty_batch_is_an_error():
    with pytest.raises(ValueError, match="at least one sample"):
        SparseCategoricalCrossentropy()(np.zeros(0, np.int64), np.zeros((0, 2)))


# Silent numbers: refused, not truncated or zeroed.

def test_non_integer_shapes_and_counts_are_refused():
    from cnncourse.scratch import Conv2D

    with pytest.raises(ValueError, match=r"input_shape must be a tuple of positive ints, got \(4.7, 4, 1\)"):
        Conv2D(2, 3, input_shape=(4.7, 4, 1))
    with pytest.raises(TypeError, match="num_classes must be a positive int, got float 2.7"):
        seed_cnn("scratch", num_classes=2.7)
    with pytest.raises(ValueError, match=r"input_shape must be a tuple of positive ints, got \(28.0, 28, 1\)"):
        seed_cnn("scratch", input_shape=(28.0, 28, 1))


def test_integer_dtype_is_refused():
    from cnncourse.scratch import Conv2D

    with pytest.raises(TypeError, match="dtype must be a float dtype.*got int32"):
        Conv2D(2, 3, dtype="int32")


def test_compile_with_a_metrics_string_says_so():
    model = seed_cnn("scratch", num_classes=2, seed=0)
    with pytest.raises(TypeError, match=r"metrics must be a list of names, e.g. metrics=\['accuracy'\]"):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics="accuracy")


@pytest.mark.parametrize("flag, value, message", [("--seed", "-1", "--seed: seed must be an int in [0, 2**32), got -1"),
                                                  ("--epochs", "0", "--epochs: epochs must be a positive int")])
def test_cli_names_the_bad_flag_before_importing_tensorflow(flag, value, message):
    import subprocess
    import sys

    completed = subprocess.run([sys.executable, "-c", (
        "import sys\nfrom cnncourse.experiments.__main__ import main\n"
        f"try:\n    main(['pneumonia', '{flag}', '{value}'])\nexcept SystemExit as e:\n"
        "    print('tensorflow' in sys.modules, e.code)\n")], capture_output=True, text=True, timeout=60)
    assert message in completed.stderr
    assert completed.stdout.split() == ["False", "2"]


@pytest.mark.parametrize("name", ["sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy", "exact_accuracy"])
def test_metrics_with_mismatched_lengths_say_so(name):
    from cnncourse.scratch import accuracy as metrics

    with pytest.raises(ValueError, match="y_true must"):
        getattr(metrics, name)(np.zeros(3), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="at least one sample"):
        getattr(metrics, name)(np.zeros(0), np.zeros((0, 2)))


@pytest.mark.parametrize("name", ["conv2d", "conv2d_naive"])
def test_zero_channels_are_refused(name):
    from cnncourse import scratch

    with pytest.raises(ValueError, match=r"x must have a positive height, width and channel count, got shape \(1, 5, 5, 0\)"):
        getattr(scratch, name)(np.zeros((1, 5, 5, 0)), np.zeros((3, 3, 0, 2)))


def test_conv_backward_naive_checks_dy():
    from cnncourse.scratch.conv import conv2d_backward_naive

    with pytest.raises(ValueError, match=r"dy must have the forward output's shape \(1, 3, 3, 2\), got \(1, 2, 2, 2\)"):
        conv2d_backward_naive(np.zeros((1, 2, 2, 2)), np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 1, 2)))
