"""The NumPy engine: every layer of the seed, forward and backward written by hand.

Keras's layout and names: images NHWC ``(batch, height, width, channels)``, conv kernels
``(kh, kw, c_in, c_out)``, dense kernels ``(in, out)``, weights listed as
``[kernel, bias]`` per layer, so ``get_weights()`` / ``set_weights()`` move between this
engine and Keras unchanged. NumPy only: importing it never imports TensorFlow.

Modules, one concept each:

=================  ============================================================
``conv``           ``conv2d_naive``, ``conv2d``, ``conv2d_forward`` / ``conv2d_backward``, ``im2col`` / ``col2im``
``pooling``        ``max_pool2d``, ``avg_pool2d``, naive versions, ``*_forward`` / ``*_backward`` pairs
``conv3d``         ``conv3d_naive``, ``conv3d``, ``conv3d_forward`` / ``conv3d_backward``, ``Conv3D``; volume geometry
``pooling3d``      ``max_pool3d``, ``max_pool3d_naive``, ``max_pool3d_forward`` / ``max_pool3d_backward``, ``MaxPooling3D``
``dense``          ``dense_forward`` / ``dense_backward``: ``z = x @ kernel + bias`` and its gradients
``padding``        output sizes, TensorFlow's "same" padding, window offsets, cropping (``window_geometry``)
``activations``    relu, sigmoid, tanh, softmax, linear and their derivatives
``initializers``   Glorot and He, uniform and truncated normal; zeros
``layers``         Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Dense, Dropout, Activation
``normalization``  BatchNormalization (batch statistics in training, moving ones at inference)
``residual``       Residual: y = x + block(x), Keras's ``layers.Add()([x, f(x)])`` inside a Sequential
``transpose``      ``conv2d_transpose_naive``, ``conv2d_transpose_forward`` / ``conv2d_transpose_backward``, ``Conv2DTranspose``
``upsampling``     ``upsampling2d_forward`` / ``upsampling2d_backward``, ``UpSampling2D`` (nearest neighbour)
``merge``          ``Concatenate``, the merge of a U-Net's skip connection
``dice``           ``SoftDiceLoss``: the soft Dice loss, binary and multi-class
``unet``           ``UNet``: a small U-Net, forward and backward through its skip connections
``losses``         MAE, MSE, binary / categorical / sparse categorical crossentropy
``accuracy``       accuracy metrics as Keras computes them (``compile(metrics=["accuracy"])``)
``optimizers``     SGD (momentum, Nesterov), Adam, AdamW (decoupled weight decay)
``schedules``      CosineDecay (with warm-up), usable as any optimizer's learning_rate
``model``          Sequential: compile, fit, evaluate, predict, summary
``progress``       the Keras-style progress line that ``fit`` prints
``gradcheck``      centred finite differences and relative errors
``validation``     the input checks behind every clear error message
=================  ============================================================
"""

from .activations import ACTIVATIONS, get_activation, linear, relu, sigmoid, softmax, tanh
from .conv import (
    col2im,
    conv2d,
    conv2d_backward,
    conv2d_backward_naive,
    conv2d_forward,
    conv2d_naive,
    im2col,
)
from .conv3d import (
    Conv3D,
    VolumeGeometry,
    as_triple,
    col2im3d,
    conv3d,
    conv3d_backward,
    conv3d_forward,
    conv3d_naive,
    im2col3d,
    volume_geometry,
)
from .dense import dense_backward, dense_forward
from .gradcheck import (
    check_layer_gradients,
    check_loss_gradient,
    check_model_gradients,
    numerical_gradient,
    relative_error,
)
from .initializers import (
    get_initializer,
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    truncated_normal,
    zeros,
)
from .layers import (
    ActivatedLayer,
    Activation,
    AveragePooling2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Layer,
    MaxPooling2D,
    Pooling2D,
)
from .losses import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Loss,
    MeanAbsoluteError,
    MeanSquaredError,
    SparseCategoricalCrossentropy,
    get_loss,
)
from .accuracy import binary_accuracy, categorical_accuracy, sparse_categorical_accuracy
from .model import History, Sequential
from .normalization import BatchNormalization, batch_normalization_backward, batch_normalization_forward, batch_statistics
from .optimizers import SGD, Adam, AdamW, Optimizer, get_optimizer
from .padding import WindowGeometry, output_length, output_shape, pad_amounts, window_geometry, window_offsets
from .pooling import (
    avg_pool2d,
    avg_pool2d_backward,
    avg_pool2d_forward,
    avg_pool2d_naive,
    max_pool2d,
    max_pool2d_backward,
    max_pool2d_forward,
    max_pool2d_naive,
)
from .pooling3d import MaxPooling3D, max_pool3d, max_pool3d_backward, max_pool3d_forward, max_pool3d_naive
from .progress import ProgressBar
from .residual import Residual
from .residual import Add  # the merge of a skip connection, keras.layers.Add
from .schedules import CosineDecay, LearningRateSchedule
from .dice import SoftDiceLoss
from .merge import Concatenate
from .transpose import (
    Conv2DTranspose,
    conv2d_transpose,
    conv2d_transpose_backward,
    conv2d_transpose_forward,
    conv2d_transpose_naive,
    conv2d_transpose_output_length,
)
from .upsampling import UpSampling2D, upsampling2d_backward, upsampling2d_forward
from .unet import UNet

__all__ = [
    # functional ops
    "conv2d_naive", "conv2d", "conv2d_forward", "conv2d_backward", "conv2d_backward_naive",
    "im2col", "col2im", "dense_forward", "dense_backward",
    "max_pool2d", "max_pool2d_naive", "max_pool2d_forward", "max_pool2d_backward",
    "avg_pool2d", "avg_pool2d_naive", "avg_pool2d_forward", "avg_pool2d_backward",
    "output_length", "output_shape", "pad_amounts", "window_geometry", "window_offsets", "WindowGeometry",
    "conv3d_naive", "conv3d", "conv3d_forward", "conv3d_backward", "im2col3d", "col2im3d", "volume_geometry",
    "VolumeGeometry", "as_triple", "max_pool3d", "max_pool3d_naive", "max_pool3d_forward", "max_pool3d_backward",
    # activations and initialisers
    "ACTIVATIONS", "get_activation", "linear", "relu", "sigmoid", "softmax", "tanh", "glorot_uniform", "zeros",
    "glorot_normal", "he_normal", "he_uniform", "truncated_normal", "get_initializer",
    # layers
    "Layer", "ActivatedLayer", "Pooling2D", "Conv2D", "MaxPooling2D", "AveragePooling2D", "Flatten", "Dense", "Dropout", "Activation",
    "Conv3D", "MaxPooling3D",
    "BatchNormalization", "batch_statistics", "batch_normalization_forward", "batch_normalization_backward", "Residual",
    "Add",
    # losses, metrics, optimizers, model
    "Loss", "MeanAbsoluteError", "MeanSquaredError", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "get_loss",
    "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy",
    "Optimizer", "SGD", "Adam", "AdamW", "get_optimizer", "LearningRateSchedule", "CosineDecay",
    "Sequential", "History", "ProgressBar",
    # segmentation: the U-Net's pieces
    "conv2d_transpose_naive", "conv2d_transpose", "conv2d_transpose_forward", "conv2d_transpose_backward",
    "conv2d_transpose_output_length", "Conv2DTranspose", "upsampling2d_forward", "upsampling2d_backward",
    "UpSampling2D", "Concatenate", "SoftDiceLoss", "UNet",
    # gradient checking
    "numerical_gradient", "relative_error", "check_layer_gradients", "check_loss_gradient", "check_model_gradients",
]
