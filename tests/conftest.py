"""Shared pytest fixtures."""

import contextlib

import numpy as np
import pytest


def random_conv_cases(count, seed, max_size=11, max_kernel=5, max_channels=4, max_batch=3):
    """``[(x_shape, kernel_shape, strides, padding), ...]`` for convolution tests, drawn from ``seed``.

    Odd sizes (3 to ``max_size``), rectangular kernels (1 to ``max_kernel``), strides 1-3,
    "valid" and "same" in turn (a "valid" kernel always fits), 1 to ``max_channels``
    channels and filters, 1 to ``max_batch`` images. Import it with
    ``from conftest import random_conv_cases``.
    """
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        height, width = int(rng.integers(3, max_size + 1)), int(rng.integers(3, max_size + 1))
        kernel = (int(rng.integers(1, max_kernel + 1)), int(rng.integers(1, max_kernel + 1)))
        strides = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        padding = ("valid", "same")[len(cases) % 2]
        if padding == "valid" and (kernel[0] > height or kernel[1] > width):
            continue
        channels, filters = int(rng.integers(1, max_channels + 1)), int(rng.integers(1, max_channels + 1))
        batch = int(rng.integers(1, max_batch + 1))
        cases.append(((batch, height, width, channels), kernel + (channels, filters), strides, padding))
    return cases


@pytest.fixture(scope="module")
def single_threaded_blas():
    """Limit NumPy's BLAS to one thread while a module runs.

    The NumPy engine's matrix products are small; on a busy 2-core machine a multi-threaded
    OpenBLAS spends most of its time waiting for cores and makes them several times slower.
    Use with ``pytestmark = pytest.mark.usefixtures("single_threaded_blas")``.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # threadpoolctl comes with scikit-learn; without it, run as is
        limit = contextlib.nullcontext()
    else:
        limit = threadpool_limits(limits=1, user_api="blas")
    with limit:
        yield


def tiny_images(n=48, channels=1, classes=2, seed=0, size=28):
    """``(x, y)``: ``n`` float32 images ``(n, size, size, channels)`` in [0, 1.3) whose class (``y = i % classes``)
    is written in their brightness, so a few epochs of any model learn it; for tests that train.
    Import it with ``from conftest import tiny_images``.
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = rng.uniform(0, 0.3, size=(n, size, size, channels)).astype(np.float32) + (y / classes)[:, None, None, None]
    return x.astype(np.float32), y


def keras_values_and_gradients(layer, inputs, projection, **call_options):
    """Keras's side of a parity test, by ``tf.GradientTape``.

    ``layer`` (a Keras layer or model) is called on ``inputs`` (an array, or a list of arrays for a
    merge layer) with ``call_options`` (e.g. ``training=True``); the objective is
    ``sum(output * projection)``. Returns ``(output, gradients)``: the output as an array and the
    gradients with respect to each input, then to each of ``layer.trainable_weights``, in order.
    Import it with ``from conftest import keras_values_and_gradients``.
    """
    import tensorflow as tf

    several = isinstance(inputs, (list, tuple))
    variables = [tf.Variable(x) for x in (inputs if several else [inputs])]
    with tf.GradientTape() as tape:
        y = layer(variables if several else variables[0], **call_options)
        objective = tf.reduce_sum(y * projection)
    gradients = tape.gradient(objective, variables + list(layer.trainable_weights))
    return y.numpy(), [g.numpy() for g in gradients]


def optimizer_steps(optimizer, gradients, start):
    """The parameter (float64, from ``start``) after ``optimizer`` applied each of ``gradients`` in turn."""
    theta = np.array(start, dtype=np.float64)
    for gradient in gradients:
        optimizer.apply_gradients([(np.array(gradient), theta)])
    return theta


# (x_shape, pool_size, strides, padding): 2-D pooling cases for the parity and backward tests
POOL_CASES = [
    ((2, 7, 9, 3), (2, 2), None, "valid"),
    ((2, 7, 9, 3), (2, 2), None, "same"),
    ((1, 8, 8, 2), (3, 3), (2, 2), "valid"),
    ((1, 8, 7, 2), (3, 2), (1, 2), "same"),
    ((3, 5, 6, 1), (2, 3), (3, 1), "same"),
    ((2, 6, 6, 4), 3, 1, "valid"),
]


def assert_sgd_steps_match_keras(ours, theirs, x, y, learning_rate, steps, rtol=1e-9, atol=1e-11):
    """Train ``ours`` (a scratch model) and ``theirs`` (a Keras model with the same weights) for ``steps`` SGD
    steps of sparse categorical cross-entropy on the batch ``(x, y)``, Keras's by ``tf.GradientTape``; then
    assert that every weight (moving statistics included) and the predictions agree."""
    import keras
    import tensorflow as tf

    from cnncourse import scratch

    keras_sgd = keras.optimizers.SGD(learning_rate=learning_rate)
    ours.compile(scratch.SGD(learning_rate=learning_rate), "sparse_categorical_crossentropy")
    keras_loss = keras.losses.SparseCategoricalCrossentropy(dtype="float64")
    for _ in range(steps):
        ours.train_on_batch(x, y)
        with tf.GradientTape() as tape:
            loss = keras_loss(y, theirs(x, training=True))
        keras_sgd.apply_gradients(zip(tape.gradient(loss, theirs.trainable_weights), theirs.trainable_weights))
    for mine, keras_weight in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, keras_weight, rtol=rtol, atol=atol)
    np.testing.assert_allclose(ours.predict(x), theirs(x, training=False).numpy(), rtol=rtol, atol=atol)
