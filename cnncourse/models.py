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
HEADS = ("flatten", "gap")


def _check_args(engine, input_shape, num_classes):
    from .scratch.validation import check_positive_int, check_shape

    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if len(check_shape(input_shape)) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}")
    if check_positive_int(num_classes, "num_classes") < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes!r}")


def seed_cnn(engine: str = "keras", input_shape=(28, 28, 1), num_classes: int = 10, seed: int | None = None,
             head: str = "flatten"):
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
    head : "flatten" or "gap"
        ``"flatten"`` (the seed's) flattens the last feature maps ``(N, h, w, 64)`` to
        ``(N, h * w * 64)``; ``"gap"`` averages each map instead
        (``GlobalAveragePooling2D``, ``(N, 64)``), so the dense head no longer grows with
        the image. ``"gap"`` is built in Keras only.

    Returns
    -------
    A ``keras.Sequential`` (uncompiled) or a ``cnncourse.scratch.Sequential``, named
    ``"seed_cnn"`` (``"seed_cnn_gap"`` with ``head="gap"``).
    """
    _check_args(engine, input_shape, num_classes)
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    if head == "gap" and engine != "keras":
        raise ValueError("head='gap' is built with engine='keras' only: the NumPy engine has no global average pooling")
    if engine == "keras":
        return _seed_cnn_keras(tuple(input_shape), int(num_classes), seed, head)
    return _seed_cnn_scratch(tuple(input_shape), int(num_classes), seed)


def _seed_cnn_keras(input_shape, num_classes, seed, head="flatten"):
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
            layers.Flatten() if head == "flatten" else layers.GlobalAveragePooling2D(),
            layers.Dense(64, activation="relu"),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="seed_cnn" if head == "flatten" else "seed_cnn_gap",
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


# ----------------------------------------------------------------------------------
# The improved medical model (end-to-end chapter)
# ----------------------------------------------------------------------------------


def improved_cnn(
    input_shape=(28, 28, 1),
    num_classes: int = 2,
    seed: int | None = None,
    filters=(32, 64, 128),
    dropout: float = 0.3,
    augment: bool = True,
    translation: float = 0.1,
    rotation: float = 0.0,
    zoom: float = 0.0,
    interpolation: str = "nearest",
    batchnorm_momentum: float = 0.9,
    synchronized_batchnorm: bool = False,
):
    """The end-to-end chapter's improved CNN for chest X-rays (Keras, functional API).

    Built from ideas the course teaches: convolutions, pooling and dropout, and batch
    normalisation, weight decay (AdamW) and a cosine learning-rate schedule, which the chapter
    "Training deeper CNNs" derives and the NumPy engine implements
    (``cnncourse.scratch.BatchNormalization``, ``AdamW``, ``CosineDecay``)::

        augmentation (training only: whole-pixel shifts by default; no flips)
        -> [Conv2D(f, 3x3, same, no bias) -> BatchNormalization -> ReLU -> MaxPooling2D(2)]
           for f in filters, without the last pooling
        -> GlobalAveragePooling2D -> Dropout(dropout) -> Dense(num_classes, softmax)

    For a 28 x 28 input and the default filters the feature maps are 28 x 28 x 32,
    14 x 14 x 64 and 7 x 7 x 128; the last (named ``"last_conv_relu"``) is the layer
    Grad-CAM explains. Global average pooling replaces the seed's Flatten + Dense(64),
    so the head has only ``128 * num_classes + num_classes`` weights.

    Parameters
    ----------
    input_shape : (height, width, channels); inputs are float32 ``(N, H, W, C)`` in [0, 1]
    num_classes : int >= 2, width of the softmax output ``(N, num_classes)``
    seed : int, optional, seeds the weight initialisers and the augmentation
    filters : tuple of ints, filters of each convolution block
    dropout : float in [0, 1), dropout rate before the output layer
    augment : bool, include ``cnncourse.augment.chest_xray_augmentation``
    translation, rotation, zoom, interpolation : augmentation settings (see
        ``cnncourse.augment.chest_xray_augmentation``); rotation and zoom are off by
        default because interpolating a 28 x 28 image blurs it
    batchnorm_momentum : float in (0, 1), momentum of the moving mean and variance. 0.9
        rather than Keras's 0.99: with about 75 steps per epoch the moving statistics must
        settle within an epoch, or validation scores lag behind training.
    synchronized_batchnorm : bool, under a ``tf.distribute`` strategy compute the batch
        statistics over the global batch rather than each replica's share of it

    Returns
    -------
    An uncompiled ``keras.Model`` named ``"improved_cnn"``.
    """
    _check_args("keras", input_shape, num_classes)
    filters = tuple(int(f) for f in filters)
    if not filters or any(f < 1 for f in filters):
        raise ValueError(f"filters must be a non-empty sequence of positive ints, got {filters!r}")
    if not 0 <= float(dropout) < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    if not 0 < float(batchnorm_momentum) < 1:
        raise ValueError(f"batchnorm_momentum must be in (0, 1), got {batchnorm_momentum!r}")
    from .augment import chest_xray_augmentation
    from .backend import import_keras

    keras = import_keras()
    layers = keras.layers
    if seed is not None:
        keras.utils.set_random_seed(seed)

    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    if augment:
        x = chest_xray_augmentation(translation, rotation, zoom, interpolation, seed=seed)(x)
    for block, width in enumerate(filters, start=1):
        last = block == len(filters)
        x = layers.Conv2D(width, (3, 3), padding="same", use_bias=False, name=f"block{block}_conv")(x)
        x = layers.BatchNormalization(momentum=batchnorm_momentum, synchronized=bool(synchronized_batchnorm),
                                      name=f"block{block}_bn")(x)
        x = layers.ReLU(name="last_conv_relu" if last else f"block{block}_relu")(x)
        if not last:
            x = layers.MaxPooling2D((2, 2), name=f"block{block}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="global_average")(x)
    x = layers.Dropout(dropout, seed=seed, name="dropout")(x)
    # float32 output even under a mixed-precision policy: a float16 softmax loses small probabilities.
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="improved_cnn")
