"""Realistic data augmentation for chest X-rays (Keras preprocessing layers).

Augmentation shows the network plausible variants of each training image so that it
learns what does not change the diagnosis. For a frontal chest X-ray that means small
shifts (the patient is not centred exactly), small rotations (the patient is not
perfectly straight) and a little zoom (distance to the detector, child size). It does
**not** mean a left-right flip: the heart lies on the left, and a flipped film shows an
anatomy (dextrocardia) that is rare and would be a finding in itself. Nor vertical
flips, large rotations or colour changes that no scanner produces.

On 28 x 28 thumbnails one more thing matters: rotation and zoom move pixels by fractions
of a pixel, so they must interpolate, and bilinear interpolation blurs. The network then
trains on softer images than it is tested on. Whole-pixel shifts with nearest-neighbour
interpolation copy pixels unchanged, which is why ``chest_xray_augmentation`` shifts by
default and rotates or zooms only when asked.

The layers are active only when the model runs with ``training=True`` (inside ``fit``);
at prediction time they pass the image through unchanged.
"""

from __future__ import annotations

__all__ = ["chest_xray_augmentation", "shifted_views"]


def chest_xray_augmentation(
    translation: float = 0.1,
    rotation: float = 0.0,
    zoom: float = 0.0,
    interpolation: str = "nearest",
    seed: int | None = None,
    name: str = "augmentation",
):
    """A ``keras.Sequential`` of RandomTranslation, RandomRotation and RandomZoom (no flips).

    Parameters
    ----------
    translation : float in [0, 0.5)
        Largest shift as a fraction of the height and width (0.1 of 28 px is about 3 px).
    rotation : float in [0, 0.25)
        Largest rotation as a fraction of a full turn (0.03 turn = 10.8 degrees); 0 = none.
    zoom : float in [0, 0.5)
        Largest zoom in or out, as a fraction of the size; 0 = none.
    interpolation : "nearest" or "bilinear"
        How pixel values are resampled. "nearest" keeps shifted images sharp (each shift
        is then a whole number of pixels); "bilinear" is smoother for rotations and zoom
        but blurs.
    seed : int, optional
        Seed of the random transformations.

    Returns
    -------
    keras.Sequential mapping images ``(N, H, W, C)`` to images of the same shape. Areas
    moved in from outside the image copy the nearest edge pixel.
    """
    for argument, value, upper in (("translation", translation, 0.5), ("rotation", rotation, 0.25), ("zoom", zoom, 0.5)):
        if not 0 <= float(value) < upper:
            raise ValueError(f"{argument} must be in [0, {upper}), got {value!r}")
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
    from .backend import import_keras

    keras = import_keras()
    layers = keras.layers
    options = {"fill_mode": "nearest", "interpolation": interpolation, "seed": seed}
    steps = []
    if translation > 0:
        steps.append(layers.RandomTranslation(translation, translation, **options))
    if rotation > 0:
        steps.append(layers.RandomRotation(rotation, **options))
    if zoom > 0:
        steps.append(layers.RandomZoom(zoom, **options))
    if not steps:
        raise ValueError("at least one of translation, rotation and zoom must be positive")
    return keras.Sequential(steps, name=name)


def shifted_views(images, shift: int = 1):
    """The images and their four whole-pixel shifts, for test-time augmentation.

    Parameters
    ----------
    images : array ``(N, H, W, C)``
    shift : int, 1 <= shift < min(H, W), pixels to move up, down, left and right

    Returns
    -------
    list of 5 arrays ``(N, H, W, C)``: the images, then shifted down, up, right and left by
    ``shift`` pixels. Pixels moved in from outside copy the nearest edge pixel, as
    ``chest_xray_augmentation``'s ``fill_mode="nearest"`` does, so every view is an image
    the model saw during training.
    """
    import numpy as np

    from .checks import check_int

    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, C), got {images.shape}")
    s = check_int(shift, "shift", 1, min(images.shape[1:3]) - 1)
    padded = np.pad(images, ((0, 0), (s, s), (s, s), (0, 0)), mode="edge")
    height, width = images.shape[1:3]

    def window(top, left):  # the (height, width) window of the padded images at (top, left)
        return padded[:, top:top + height, left:left + width]

    return [images, window(0, s), window(2 * s, s), window(s, 0), window(s, 2 * s)]
