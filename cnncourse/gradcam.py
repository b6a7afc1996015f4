"""Grad-CAM: where in the image a Keras CNN's evidence for a class lies.

Grad-CAM (Selvaraju et al., 2017) weights the feature maps ``A_k`` of a convolution
layer by how much the class score ``y_c`` grows with them, averaged over positions,

    alpha_k = mean_{i,j} d y_c / d A_k(i, j),      L_c = ReLU( sum_k alpha_k A_k ),

and upsamples ``L_c`` to the image size. The map is coarse (the layer's resolution, e.g.
7 x 7 for a 28 x 28 input after two poolings) and shows what the *model* used, which is
not necessarily what a radiologist would call the lesion.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gradcam", "find_last_conv_layer"]


def find_last_conv_layer(model) -> str:
    """Name of the last layer of ``model`` whose output is a 4-D feature map ``(N, h, w, c)``.

    Dropout, pooling, augmentation and input layers are skipped: Grad-CAM should look at
    the last convolution (or the activation right after it), at its full resolution.
    """
    skipped = ("Dropout", "Pooling", "Random", "InputLayer", "Rescaling", "SpatialDropout")
    for layer in reversed(model.layers):
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4 and not any(word in type(layer).__name__ for word in skipped):
            return layer.name
    raise ValueError(f"model {model.name!r} has no layer with a 4-D (N, h, w, c) output for Grad-CAM")


def gradcam(model, images, class_index=None, layer_name: str | None = None) -> np.ndarray:
    """Grad-CAM heat maps for a batch of images.

    Parameters
    ----------
    model : keras.Model
        A CNN whose output is class probabilities or logits, shape ``(N, num_classes)``.
    images : array of shape (N, H, W, C) or (H, W, C)
        Inputs exactly as the model expects them (e.g. float32 in [0, 1]).
    class_index : int, array of shape (N,), or None
        The class to explain for each image; None explains each image's predicted class.
    layer_name : str, optional
        The convolutional layer to explain; default ``find_last_conv_layer(model)``.

    Returns
    -------
    float32 array of shape (N, H, W) (or (H, W) for a single image), each map scaled to
    [0, 1] by its maximum; a map whose ReLU is zero everywhere stays all zeros.
    """
    from .backend import import_keras

    keras = import_keras()
    import tensorflow as tf

    batch = np.asarray(images, dtype=np.float32)
    single = batch.ndim == 3
    if single:
        batch = batch[np.newaxis]
    if batch.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, C) or (H, W, C), got shape {np.shape(images)}")
    if batch.shape[0] == 0:
        raise ValueError("images must hold at least one image, got an empty batch")
    if not np.all(np.isfinite(batch)):
        raise ValueError("images contain NaN or infinite values")
    expected = tuple(model.input_shape[1:])
    if any(e is not None and e != a for e, a in zip(expected, batch.shape[1:])):
        raise ValueError(f"images must have shape (N, {', '.join(map(str, expected))}), got shape {batch.shape}")
    layer_name = layer_name or find_last_conv_layer(model)
    try:
        model_inputs = model.inputs
    except (AttributeError, ValueError):
        model_inputs = None
    if not model_inputs:
        raise ValueError(f"model {model.name!r} is not built: give it an Input or call it once on a batch")
    layer = model.get_layer(layer_name)
    both = keras.Model(model_inputs, [layer.output, model.outputs[0]])  # shares weights, no copy

    inputs = tf.convert_to_tensor(batch)
    with tf.GradientTape() as tape:
        features, outputs = both(inputs, training=False)  # (N, h, w, c), (N, num_classes)
        num_classes = outputs.shape[-1]
        if class_index is None:
            chosen = tf.argmax(outputs, axis=-1)
        else:
            chosen = np.broadcast_to(np.asarray(class_index, dtype=np.int64), (batch.shape[0],))
            if np.any((chosen < 0) | (chosen >= num_classes)):
                raise ValueError(f"class_index must be in [0, {num_classes}), got {np.unique(chosen).tolist()}")
            chosen = tf.constant(chosen)
        score = tf.gather(outputs, chosen, axis=1, batch_dims=1)  # y_c per image: (N,)
    gradients = tape.gradient(score, features)  # (N, h, w, c)
    if gradients is None:
        raise ValueError(f"the model's output does not depend on layer {layer_name!r}")
    weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)  # alpha_k: (N, 1, 1, c)
    cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1))  # (N, h, w)
    cam = tf.image.resize(cam[..., tf.newaxis], batch.shape[1:3], method="bilinear")[..., 0]
    cam = cam.numpy().astype(np.float32)
    peak = cam.reshape(len(cam), -1).max(axis=1).reshape(-1, 1, 1)
    cam = np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0)
    cam = np.clip(cam, 0.0, 1.0)
    return cam[0] if single else cam
