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
    from .checks import check_positive_int, check_shape

    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if len(check_shape(input_shape)) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}")
    if check_positive_int(num_classes, "num_classes") < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes!r}")


def initializer_seeds(seed, count: int) -> list:
    """``count`` initialiser seeds derived from ``seed``, one per weighted layer, in weight order.

    ``None`` gives ``None`` for each (unseeded initialisers, drawn from Keras's global state).
    Builders pass them to their layers' initialisers (e.g. ``GlorotUniform(seed=...)``), so a
    seeded builder gives the same weights every time and reseeds nothing global.
    """
    import numpy as np

    if seed is None:
        return [None] * count
    return [int(s) for s in np.random.SeedSequence(int(seed)).generate_state(count)]


def seed_cnn_layers(num_classes: int = 10, head: str = "flatten", pool_strides=None) -> list[tuple[str, dict]]:
    """The seed's CNN as one layer specification: ``(layer class name, constructor arguments)`` in order.

    Both engines build it (``seed_cnn``): Keras's ``keras.layers`` and ``cnncourse.scratch`` share
    these class names and arguments. ``pool_strides`` is the pooling layers' stride (None: the
    pool size, Keras's default and the seed's).
    """
    return [
        ("Conv2D", {"filters": 32, "kernel_size": (3, 3), "activation": "relu"}),
        ("MaxPooling2D", {"pool_size": (2, 2), "strides": pool_strides}),
        ("Conv2D", {"filters": 64, "kernel_size": (3, 3), "activation": "relu"}),
        ("MaxPooling2D", {"pool_size": (2, 2), "strides": pool_strides}),
        ("Conv2D", {"filters": 64, "kernel_size": (3, 3), "activation": "relu"}),
        ("Flatten", {}) if head == "flatten" else ("GlobalAveragePooling2D", {}),
        ("Dense", {"units": 64, "activation": "relu"}),
        ("Dense", {"units": num_classes, "activation": "softmax"}),
    ]


WEIGHTED = ("Conv2D", "Dense")


def seed_cnn(engine: str = "keras", input_shape=(28, 28, 1), num_classes: int = 10, seed: int | None = None,
             head: str = "flatten", pool_strides=None):
    """The seed's CNN, built and ready for ``set_weights``.

    Parameters
    ----------
    engine : "keras" or "scratch"
    input_shape : (height, width, channels)
        Images are NHWC: a batch has shape ``(N, height, width, channels)``.
    num_classes : int
        Width of the softmax output ``(N, num_classes)``.
    seed : int, optional
        Seed of the weight initialisers, for reproducible models (one derived seed per
        layer); nothing global is reseeded.
    head : "flatten" or "gap"
        ``"flatten"`` (the seed's) flattens the last feature maps ``(N, h, w, 64)`` to
        ``(N, h * w * 64)``; ``"gap"`` averages each map instead
        (``GlobalAveragePooling2D``, ``(N, 64)``), so the dense head no longer grows with
        the image. ``"gap"`` is built in Keras only.
    pool_strides : int, optional, the pooling stride (None: the pool size, 2)

    Returns
    -------
    A ``keras.Sequential`` (uncompiled) or a ``cnncourse.scratch.Sequential``, named
    ``"seed_cnn"`` (``"seed_cnn_gap"`` with ``head="gap"``), of the layers of ``seed_cnn_layers``.
    """
    import numpy as np

    from .checks import check_positive_int

    _check_args(engine, input_shape, num_classes)
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    if head == "gap" and engine != "keras":
        raise ValueError("head='gap' is built with engine='keras' only: the NumPy engine has no global average pooling")
    if pool_strides is not None:
        pool_strides = check_positive_int(pool_strides, "pool_strides")
    spec = seed_cnn_layers(int(num_classes), head, pool_strides)
    name = "seed_cnn" if head == "flatten" else "seed_cnn_gap"
    if engine == "keras":
        from .backend import import_keras

        keras = import_keras()
        # Keras: one GlorotUniform initialiser per weighted layer, seeded from initializer_seeds.
        initializers = iter([keras.initializers.GlorotUniform(seed=s) for s in initializer_seeds(seed, 5)])
        layers = [getattr(keras.layers, kind)(**arguments, **({"kernel_initializer": next(initializers)}
                                                                if kind in WEIGHTED else {}))
                  for kind, arguments in spec]
        return keras.Sequential([keras.Input(shape=tuple(input_shape)), *layers], name=name)
    from . import scratch

    # The NumPy engine: one independent stream per weighted layer, all derived from the one seed.
    streams = iter([np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)])
    layers = [getattr(scratch, kind)(**arguments, **({"seed": next(streams)} if kind in WEIGHTED else {}),
                                     **({"input_shape": tuple(input_shape)} if index == 0 else {}))
              for index, (kind, arguments) in enumerate(spec)]
    return scratch.Sequential(layers, name=name)


def seed_cnn_twins(input_shape=(28, 28, 1), num_classes: int = 2, seed: int | None = 0):
    """The seed's CNN in Keras and in the NumPy engine, starting from the same weights, both compiled.

    The Keras model draws its initial weights (``seed_cnn(seed=seed)``); the NumPy engine's copy
    takes them with ``set_weights``. Both are compiled with Adam at Keras's defaults, sparse
    categorical cross-entropy and accuracy. Returns ``(keras_model, scratch_model)``.
    """
    from . import scratch
    from .backend import import_keras

    keras = import_keras()
    keras_model = seed_cnn("keras", input_shape=input_shape, num_classes=num_classes, seed=seed)
    scratch_model = seed_cnn("scratch", input_shape=input_shape, num_classes=num_classes, seed=seed)
    scratch_model.set_weights(keras_model.get_weights())  # the same start
    keras_model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    scratch_model.compile(optimizer=scratch.Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return keras_model, scratch_model


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
    seed : int, optional, seeds the weight initialisers (one derived seed per layer), the augmentation and
        dropout; nothing global is reseeded
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
    seeds = initializer_seeds(seed, len(filters) + 1)  # one per conv layer and the output layer

    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    if augment:
        x = chest_xray_augmentation(translation, rotation, zoom, interpolation, seed=seed)(x)
    for block, width in enumerate(filters, start=1):
        last = block == len(filters)
        x = layers.Conv2D(width, (3, 3), padding="same", use_bias=False, name=f"block{block}_conv",
                          kernel_initializer=keras.initializers.GlorotUniform(seed=seeds[block - 1]))(x)
        x = layers.BatchNormalization(momentum=batchnorm_momentum, synchronized=bool(synchronized_batchnorm),
                                      name=f"block{block}_bn")(x)
        x = layers.ReLU(name="last_conv_relu" if last else f"block{block}_relu")(x)
        if not last:
            x = layers.MaxPooling2D((2, 2), name=f"block{block}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="global_average")(x)
    x = layers.Dropout(dropout, seed=seed, name="dropout")(x)
    # float32 output even under a mixed-precision policy: a float16 softmax loses small probabilities.
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=seeds[-1]))(x)
    return keras.Model(inputs, outputs, name="improved_cnn")


# ----------------------------------------------------------------------------------
# The U-Net (segmentation chapter)
# ----------------------------------------------------------------------------------


def _check_unet_args(engine, input_shape, num_classes, filters, depth, kernel_size, up_kernel_size):
    from .checks import check_positive_int

    _check_args(engine, input_shape, num_classes)
    filters = check_positive_int(filters, "filters")
    depth = check_positive_int(depth, "depth")
    kernel_size = check_positive_int(kernel_size, "kernel_size")
    up_kernel_size = check_positive_int(up_kernel_size, "up_kernel_size")
    height, width, _ = (int(d) for d in input_shape)
    step = 2 ** depth
    if height % step or width % step:
        raise ValueError(
            f"input_shape: height and width must be divisible by 2**depth = {step} (depth={depth} poolings "
            f"of 2), got {height} x {width}; crop or pad the images, or use a smaller depth"
        )
    return tuple(int(d) for d in input_shape), int(num_classes), filters, depth, kernel_size, up_kernel_size


def unet_layer_seeds(seed, depth):
    """One initialiser seed per weighted layer of ``unet(depth=depth)``, in weight order, derived from ``seed``.

    ``None`` gives ``None`` for each (unseeded initialisers). Both engines use these, so a
    seeded Keras and a seeded NumPy U-Net draw from independent streams per layer.
    """
    import numpy as np

    count = 2 * depth + 2 + 3 * depth + 1  # encoder convs, bottleneck convs, (up, conv, conv) per level, output
    if seed is None:
        return [None] * count
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(int(seed)).spawn(count)]


def unet(engine: str = "keras", input_shape=(64, 64, 1), num_classes: int = 3, filters: int = 16, depth: int = 2,
         skip_connections: bool = True, seed: int | None = None, kernel_size: int = 3, up_kernel_size: int = 2,
         dtype: str = "float32", batch_norm: bool = False, batch_norm_momentum: float = 0.99):
    """A small 2-D U-Net (Ronneberger et al., 2015) in either engine, built and ready for ``set_weights``.

    For ``depth=2`` and ``filters=16`` (``f``)::

        x (N, H, W, C)
        -> block(f)   = Conv2D(f, 3x3, same, relu) -> Conv2D(f, 3x3, same, relu)     skip 1 (N, H, W, f)
        -> MaxPooling2D(2) -> block(2f)                                                skip 2 (N, H/2, W/2, 2f)
        -> MaxPooling2D(2) -> block(4f)                                                bottleneck (N, H/4, W/4, 4f)
        -> Conv2DTranspose(2f, 2x2, strides 2, same) -> Concatenate([up, skip 2]) -> block(2f)
        -> Conv2DTranspose(f, 2x2, strides 2, same)  -> Concatenate([up, skip 1]) -> block(f)
        -> Conv2D(num_classes, 1x1, softmax)                                          y (N, H, W, num_classes)

    ``skip_connections=False`` builds the same network without the two concatenations
    (each decoder block then sees only the upsampled maps): the skip-connection ablation.

    Parameters
    ----------
    engine : "keras" (functional API) or "scratch" (``cnncourse.scratch.unet.UNet``)
    input_shape : (height, width, channels); height and width divisible by ``2**depth``.
        Channels may be more than one, e.g. neighbouring slices of a volume.
    num_classes : int >= 2, classes of the per-pixel softmax (background included)
    filters : int, filters of the first block; each level down doubles them
    depth : int >= 1, number of poolings (and of transposed convolutions)
    skip_connections : bool, concatenate each encoder block's output into the decoder
    seed : int, optional, seeds every weight initialiser (one derived seed per layer,
        ``unet_layer_seeds``); nothing global is reseeded
    kernel_size : int, the square kernel of every 3x3 convolution
    up_kernel_size : int, the square kernel of the transposed convolutions (stride 2)
    dtype : "float32" (the default, as Keras) or "float64" (for parity and gradient checks)
    batch_norm : bool, Keras engine only: every 3x3 convolution becomes Conv2D (no bias) ->
        BatchNormalization -> ReLU, which trains faster from few steps (the segmentation
        chapter's short runs); the weight list then differs from the scratch engine's
    batch_norm_momentum : float in (0, 1), the moving averages' momentum (Keras's 0.99 by default;
        a run of a few hundred steps needs less, e.g. 0.9, or inference sees unsettled statistics)

    Returns
    -------
    An uncompiled ``keras.Model`` or a built ``cnncourse.scratch.unet.UNet``, named
    ``"unet"`` (``"unet_no_skip"`` without skip connections). Both list their weights in
    the same order: ``[kernel, bias]`` per convolution, encoder blocks first, then the
    bottleneck, then per decoder level the transposed convolution and its two convolutions,
    then the output convolution.
    """
    input_shape, num_classes, filters, depth, kernel_size, up_kernel_size = _check_unet_args(
        engine, input_shape, num_classes, filters, depth, kernel_size, up_kernel_size)
    if not isinstance(skip_connections, (bool, int)):
        raise TypeError(f"skip_connections must be a bool, got {type(skip_connections).__name__}")
    seeds = unet_layer_seeds(seed, depth)
    if batch_norm and engine == "scratch":
        raise ValueError("batch_norm=True is available in the Keras engine only; the scratch U-Net has no batch norm")
    if engine == "scratch":
        from .scratch.unet import UNet

        return UNet(input_shape, num_classes, filters, depth, bool(skip_connections), seeds, kernel_size,
                    up_kernel_size, dtype=dtype)
    return _unet_keras(input_shape, num_classes, filters, depth, bool(skip_connections), seeds, kernel_size,
                       up_kernel_size, dtype, bool(batch_norm), float(batch_norm_momentum))


def _unet_keras(input_shape, num_classes, filters, depth, skip_connections, seeds, kernel_size, up_kernel_size,
                dtype="float32", batch_norm=False, batch_norm_momentum=0.99):
    from .backend import import_keras

    keras = import_keras()
    layers = keras.layers
    seeds = iter(seeds)

    def conv(width, name, size=kernel_size, activation="relu"):
        return layers.Conv2D(width, size, padding="same", activation=activation, name=name, dtype=dtype,
                             kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)))

    def block(x, width, name):
        if not batch_norm:
            x = conv(width, f"{name}_conv1")(x)
            return conv(width, f"{name}_conv2")(x)
        for number in (1, 2):
            x = layers.Conv2D(width, kernel_size, padding="same", use_bias=False, name=f"{name}_conv{number}",
                              dtype=dtype, kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)))(x)
            x = layers.BatchNormalization(momentum=batch_norm_momentum, name=f"{name}_bn{number}", dtype=dtype)(x)
            x = layers.Activation("relu", name=f"{name}_relu{number}", dtype=dtype)(x)
        return x

    inputs = keras.Input(shape=input_shape, name="image", dtype=dtype)
    x, skips = inputs, []
    for level in range(1, depth + 1):
        x = block(x, filters * 2 ** (level - 1), f"enc{level}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"enc{level}_pool", dtype=dtype)(x)
    x = block(x, filters * 2 ** depth, "bottleneck")
    for level in range(depth, 0, -1):
        width = filters * 2 ** (level - 1)
        x = layers.Conv2DTranspose(width, up_kernel_size, strides=2, padding="same", name=f"dec{level}_up", dtype=dtype,
                                   kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)))(x)
        if skip_connections:
            x = layers.Concatenate(axis=-1, name=f"dec{level}_concat", dtype=dtype)([x, skips[level - 1]])
        x = block(x, width, f"dec{level}")
    outputs = conv(num_classes, "probabilities", size=1, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="unet" if skip_connections else "unet_no_skip")


def soft_dice_loss(y_true, y_pred, smooth: float = 1.0):
    """The soft Dice loss, per sample, for ``model.compile(loss=soft_dice_loss)`` (Keras, TensorFlow tensors).

    For each sample ``n`` and class ``k``, over the pixels ``i`` (all axes but the first and last)::

        dice[n, k] = (2 sum_i p[n, i, k] t[n, i, k] + smooth) / (sum_i p[n, i, k] + sum_i t[n, i, k] + smooth)
        loss[n]    = 1 - mean_k dice[n, k]

    and Keras averages ``loss[n]`` over the batch. ``smooth`` keeps an empty class (absent
    from both the reference and the prediction) at dice 1 and the gradient finite.

    Parameters
    ----------
    y_true : the reference, in one of three forms
        - one-hot ``(N, H, W, K)``, the shape of ``y_pred``, when ``K >= 2``;
        - sparse integer labels ``(N, H, W)`` or ``(N, H, W, 1)``, values in ``0 .. K-1``, when ``K >= 2``;
        - a binary mask ``(N, H, W, 1)`` (or ``(N, H, W)``) in {0, 1}, when ``K == 1`` (binary Dice of
          the foreground probability, e.g. a sigmoid output).
    y_pred : probabilities ``(N, H, W, K)`` (softmax over ``K`` classes, or one sigmoid channel)
    smooth : float > 0

    Returns
    -------
    loss : tensor ``(N,)``, one value per sample
    """
    from .backend import import_keras

    keras = import_keras()
    ops = keras.ops
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    classes = y_pred.shape[-1]
    if classes is None or len(y_pred.shape) < 3:
        raise ValueError(f"y_pred must have shape (batch, ..., classes) with a known class axis, got {y_pred.shape}")
    if classes >= 2 and (len(y_true.shape) == len(y_pred.shape) - 1 or y_true.shape[-1] == 1):
        labels = ops.cast(ops.reshape(y_true, ops.shape(y_pred)[:-1]), "int32")
        y_true = ops.one_hot(labels, classes, dtype=y_pred.dtype)
    else:
        y_true = ops.reshape(ops.cast(y_true, y_pred.dtype), ops.shape(y_pred))
    axes = tuple(range(1, len(y_pred.shape) - 1))
    intersection = ops.sum(y_true * y_pred, axis=axes)                  # (N, K)
    total = ops.sum(y_true, axis=axes) + ops.sum(y_pred, axis=axes)     # (N, K)
    dice = (2.0 * intersection + smooth) / (total + smooth)
    return 1.0 - ops.mean(dice, axis=-1)


def dice_loss(smooth: float = 1.0, cross_entropy: float = 0.0):
    """A Keras loss ``soft_dice_loss + cross_entropy * crossentropy``, for ``model.compile(loss=...)``.

    ``cross_entropy=0`` (the default) is the soft Dice loss alone. The crossentropy is
    categorical (sparse or one-hot, as ``y_true`` comes; binary for one sigmoid channel),
    averaged over the pixels of each sample, so both terms are per sample ``(N,)`` and
    Keras averages them over the batch. ``y_true`` and ``y_pred`` as in ``soft_dice_loss``.
    """
    from .checks import check_float

    smooth = check_float(smooth, "smooth", low=0.0, low_inclusive=False)
    weight = check_float(cross_entropy, "cross_entropy", low=0.0)

    def loss(y_true, y_pred):
        from .backend import import_keras

        keras = import_keras()
        ops = keras.ops
        value = soft_dice_loss(y_true, y_pred, smooth)
        if weight == 0:
            return value
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.convert_to_tensor(y_true)
        classes = y_pred.shape[-1]
        if classes == 1:
            y_true = ops.reshape(ops.cast(y_true, y_pred.dtype), ops.shape(y_pred))
            pixel = keras.losses.binary_crossentropy(y_true, y_pred)                    # (N, H, W)
        elif len(y_true.shape) == len(y_pred.shape) - 1 or y_true.shape[-1] == 1:
            labels = ops.reshape(y_true, ops.shape(y_pred)[:-1])
            pixel = keras.losses.sparse_categorical_crossentropy(labels, y_pred)        # (N, H, W)
        else:
            pixel = keras.losses.categorical_crossentropy(ops.cast(y_true, y_pred.dtype), y_pred)
        axes = tuple(range(1, len(pixel.shape)))
        return value + weight * ops.mean(pixel, axis=axes)

    loss.__name__ = "dice_loss" if weight == 0 else "dice_crossentropy_loss"
    return loss


# ----------------------------------------------------------------------------------
# MedMNIST 2-D classifiers (chapters "Diagnosis with little data" and "Grades")
# ----------------------------------------------------------------------------------

OUTPUTS = ("softmax", "ordinal")


def medmnist_cnn(
    input_shape=(28, 28, 1),
    num_classes: int = 2,
    seed: int | None = None,
    filters=(32, 64, 128),
    convs_per_block: int = 1,
    dropout: float = 0.3,
    flips: str | None = "horizontal",
    translation: float = 0.1,
    rotation: float = 0.0,
    output: str = "softmax",
):
    """A small batch-normalised CNN for MedMNIST's 2-D images, grey or colour (Keras, functional API).

    ::

        augmentation (training only: flips, whole-pixel shifts, small rotations)
        -> [ [Conv2D(f, 3x3, same, no bias) -> BatchNormalization -> ReLU] x convs_per_block
             -> MaxPooling2D(2) ] for f in filters, without the last pooling
        -> GlobalAveragePooling2D (named "features") -> Dropout(dropout)
        -> Dense(num_classes, softmax)          output="softmax"
           Dense(num_classes - 1, sigmoid)      output="ordinal": P(grade > k), k = 0 .. K-2

    The first convolution's kernel has shape ``(3, 3, channels, filters[0])``: a colour
    image (channels = 3) only changes that one kernel.

    Parameters
    ----------
    input_shape : (height, width, channels); inputs float32 ``(N, H, W, C)`` in [0, 1]
    num_classes : int >= 2, the number of classes K (grades for an ordinal output)
    seed : int, optional, seeds the initialisers (one derived seed per layer), the augmentation and dropout;
        nothing global is reseeded
    filters : tuple of ints, filters of each block
    convs_per_block : int >= 1, convolutions per block
    dropout : float in [0, 1), dropout rate before the output layer
    flips : None, "horizontal", "vertical" or "horizontal_and_vertical": random flips
    translation : float in [0, 0.5), largest random shift as a fraction of the size (nearest fill)
    rotation : float in [0, 0.25), largest random rotation as a fraction of a turn (0 = none)
    output : "softmax" (outputs ``(N, K)``) or "ordinal" (outputs ``(N, K - 1)``)

    Returns
    -------
    An uncompiled ``keras.Model`` named ``"medmnist_cnn"``.
    """
    _check_args("keras", input_shape, num_classes)
    filters = tuple(int(f) for f in filters)
    if not filters or any(f < 1 for f in filters):
        raise ValueError(f"filters must be a non-empty sequence of positive ints, got {filters!r}")
    from .checks import check_positive_int

    check_positive_int(convs_per_block, "convs_per_block")
    if not 0 <= float(dropout) < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    if flips not in (None, "horizontal", "vertical", "horizontal_and_vertical"):
        raise ValueError(f"flips must be None, 'horizontal', 'vertical' or 'horizontal_and_vertical', got {flips!r}")
    if not 0 <= float(translation) < 0.5:
        raise ValueError(f"translation must be in [0, 0.5), got {translation!r}")
    if not 0 <= float(rotation) < 0.25:
        raise ValueError(f"rotation must be in [0, 0.25), got {rotation!r}")
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    from .backend import import_keras

    keras = import_keras()
    layers = keras.layers
    seeds = iter(initializer_seeds(seed, len(filters) * int(convs_per_block) + 1))  # the convs, then the output layer
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    if flips:
        x = layers.RandomFlip(flips, seed=seed, name="random_flip")(x)
    if translation > 0:
        x = layers.RandomTranslation(translation, translation, fill_mode="nearest", interpolation="nearest",
                                     seed=seed, name="random_shift")(x)
    if rotation > 0:
        x = layers.RandomRotation(rotation, fill_mode="nearest", seed=seed, name="random_rotation")(x)
    for block, width in enumerate(filters, start=1):
        for conv in range(1, int(convs_per_block) + 1):
            x = layers.Conv2D(width, (3, 3), padding="same", use_bias=False, name=f"block{block}_conv{conv}",
                              kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)))(x)
            x = layers.BatchNormalization(momentum=0.9, name=f"block{block}_bn{conv}")(x)
            x = layers.ReLU(name=f"block{block}_relu{conv}")(x)
        if block < len(filters):
            x = layers.MaxPooling2D((2, 2), name=f"block{block}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="features")(x)
    x = layers.Dropout(dropout, seed=seed, name="dropout")(x)
    head_initializer = keras.initializers.GlorotUniform(seed=next(seeds))
    if output == "softmax":
        outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities",
                               kernel_initializer=head_initializer)(x)
    else:
        outputs = layers.Dense(num_classes - 1, activation="sigmoid", dtype="float32", name="exceedance",
                               kernel_initializer=head_initializer)(x)
    return keras.Model(inputs, outputs, name="medmnist_cnn")


# ----------------------------------------------------------------------------------
# Volumes (chapter "Volumes: CNNs in 3-D"): one small CNN for a volume, a slice or three slices
# ----------------------------------------------------------------------------------

VOLUME_VIEWS = ("3d", "slice", "orthogonal")


def volume_cnn(view: str = "3d", size: int = 28, filters=(8, 16, 32), downsample: int = 1, num_classes: int = 2,
               seed: int | None = None):
    """A small CNN for 3-D MedMNIST, on the whole volume or on 2-D slices of it (Keras, functional API).

    The same blocks in 3-D or in 2-D, so that the three inputs are compared with one design::

        [AveragePooling(downsample)]                       (only if downsample > 1)
        -> [Conv(f, 3, same, no bias) -> BatchNormalization -> ReLU -> MaxPooling(2)] for f in filters,
           without the last pooling
        -> GlobalAveragePooling -> Dense(num_classes, softmax)

    Parameters
    ----------
    view : ``"3d"``: input ``(size, size, size, 1)``, Conv3D; ``"slice"``: ``(size, size, 1)``, Conv2D;
        ``"orthogonal"``: ``(size, size, 3)``, three orthogonal slices as channels, Conv2D
        (``cnncourse.experiments.volumes.volume_views`` makes each)
    size : int, side of the volume
    filters : tuple of positive ints, filters of each block
    downsample : int >= 1, average-pool the input by this factor first (a cheaper network)
    num_classes : int >= 2
    seed : int, optional; each layer's initialiser gets its own seed derived from it (nothing global is seeded)

    Returns
    -------
    An uncompiled ``keras.Model`` named ``"volume_cnn_<view>"``.
    """
    from .backend import import_keras
    from .checks import check_positive_int

    if view not in VOLUME_VIEWS:
        raise ValueError(f"view must be one of {VOLUME_VIEWS}, got {view!r}")
    size, downsample = check_positive_int(size, "size"), check_positive_int(downsample, "downsample")
    if check_positive_int(num_classes, "num_classes") < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes!r}")
    filters = tuple(filters)
    if not filters or any(isinstance(f, bool) or not isinstance(f, int) or f < 1 for f in filters):
        raise ValueError(f"filters must be a non-empty sequence of positive ints, got {filters!r}")
    if size // downsample < 2 ** (len(filters) - 1):
        raise ValueError(f"size {size} / downsample {downsample} is too small for {len(filters)} blocks")
    keras = import_keras()
    layers = keras.layers
    three_d = view == "3d"
    conv = layers.Conv3D if three_d else layers.Conv2D
    max_pool = layers.MaxPooling3D if three_d else layers.MaxPooling2D
    shape = (size, size, size, 1) if three_d else (size, size, 1 if view == "slice" else 3)
    seeds = initializer_seeds(seed, len(filters) + 1)

    inputs = keras.Input(shape=shape, name="volume" if three_d else "slices")
    x = inputs
    if downsample > 1:
        x = (layers.AveragePooling3D if three_d else layers.AveragePooling2D)(downsample, name="downsample")(x)
    for block, width in enumerate(filters, start=1):
        x = conv(width, 3, padding="same", use_bias=False, name=f"block{block}_conv",
                 kernel_initializer=keras.initializers.HeNormal(seed=seeds[block - 1]))(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"block{block}_bn")(x)
        x = layers.ReLU(name=f"block{block}_relu")(x)
        if block < len(filters):
            x = max_pool(2, name=f"block{block}_pool")(x)
    x = (layers.GlobalAveragePooling3D if three_d else layers.GlobalAveragePooling2D)(name="global_average")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities",
                           kernel_initializer=keras.initializers.GlorotUniform(seed=seeds[-1]))(x)
    return keras.Model(inputs, outputs, name=f"volume_cnn_{view}")


def predict_in_batches(model, x, batch_size: int = 512) -> np.ndarray:
    """A Keras model's outputs in inference mode, ``model(x[i:i + batch_size], training=False)`` batch by batch.

    x : array ``(N, ...)``, the model's input; returns a NumPy array ``(N, ...)`` of the model's outputs.
    Called eagerly: ``model.predict`` traces a graph per model and per batch shape, so a page that
    scores many models gets TensorFlow's retracing warnings for no benefit at these sizes.
    """
    import numpy as np

    from .checks import check_positive_int

    batch_size = check_positive_int(batch_size, "batch_size")
    if len(x) == 0:
        raise ValueError("x must hold at least one input, got an empty batch")
    return np.concatenate([np.asarray(model(x[start:start + batch_size], training=False))
                           for start in range(0, len(x), batch_size)])

