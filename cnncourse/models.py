"""The seed's CNN in either engine, and the improved medical model.

``seed_cnn`` builds the architecture of the seed's code example:

    Conv2D(32, 3x3, relu) -> MaxPooling2D(2) -> Conv2D(64, 3x3, relu) -> MaxPooling2D(2)
    -> Conv2D(64, 3x3, relu) -> Flatten -> Dense(64, relu) -> Dense(num_classes, softmax)

in Keras (``engine="keras"``) or in the NumPy engine (``engine="scratch"``). Both use
the same weight order, so ``scratch.set_weights(keras_model.get_weights())`` moves a
trained model across unchanged.
"""

from __future__ import annotations

ENGINES = ("keras", "scratch")


def _check_args(engine, input_shape, num_classes):
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if len(tuple(input_shape)) != 3 or any(int(d) < 1 for d in input_shape):
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}")
    if int(num_classes) < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes!r}")


def seed_cnn(engine: str = "keras", input_shape=(28, 28, 1), num_classes: int = 10, seed: int | None = None):
    """The seed's CNN, built and ready for ``set_weights``.

    Parameters
    ----------
    engine : "keras" or "scratch"
    input_shape : (height, width, channels)
        Images are NHWC: a batch has shape ``(N, height, width, channels)``.
    num_classes : int
        Width of the softmax output ``(N, num_classes)``.
    seed : int, optional
        Seed of the weight initialisers, for reproducible models.

    Returns
    -------
    A ``keras.Sequential`` (uncompiled) or a ``cnncourse.scratch.Sequential``.
    """
    _check_args(engine, input_shape, num_classes)
    if engine == "keras":
        return _seed_cnn_keras(tuple(input_shape), int(num_classes), seed)
    return _seed_cnn_scratch(tuple(input_shape), int(num_classes), seed)


def _seed_cnn_keras(input_shape, num_classes, seed):
    from .backend import import_keras

    keras = import_keras()
    layers = keras.layers

    if seed is not None:
        keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="seed_cnn",
    )


def _seed_cnn_scratch(input_shape, num_classes, seed):
    import numpy as np

    from cnncourse import scratch

    # One independent stream per weighted layer, all derived from the one seed.
    conv1, conv2, conv3, dense1, dense2 = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5))
    return scratch.Sequential(
        [
            scratch.Conv2D(32, (3, 3), activation="relu", input_shape=input_shape, seed=conv1),
            scratch.MaxPooling2D((2, 2)),
            scratch.Conv2D(64, (3, 3), activation="relu", seed=conv2),
            scratch.MaxPooling2D((2, 2)),
            scratch.Conv2D(64, (3, 3), activation="relu", seed=conv3),
            scratch.Flatten(),
            scratch.Dense(64, activation="relu", seed=dense1),
            scratch.Dense(num_classes, activation="softmax", seed=dense2),
        ],
        name="seed_cnn",
    )
