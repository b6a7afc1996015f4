"""Realistic data augmentation for chest X-rays (Keras preprocessing layers).

Augmentation shows the network plausible variants of each training image so that it
learns what does not change the diagnosis. For a frontal chest X-ray that means small
shifts (the patient is not centred exactly), small rotations (the patient is not
perfectly straight) and a little zoom (distance to the detector, child size). It does
**not** mean a left-right flip: the heart lies on the left, and a flipped film shows an
anatomy (dextrocardia) that is rare and would be a finding in itself. Nor vertical
flips, large rotations or colour changes that no scanner produces.

The layers are active only when the model runs with ``training=True`` (inside ``fit``);
at prediction time they pass the image through unchanged.
"""

from __future__ import annotations

__all__ = ["chest_xray_augmentation"]


def chest_xray_augmentation(
    translation: float = 0.08,
    rotation: float = 0.04,
    zoom: float = 0.1,
    seed: int | None = None,
    name: str = "augmentation",
):
    """A ``keras.Sequential`` of RandomTranslation, RandomRotation and RandomZoom.

    Parameters
    ----------
    translation : float in [0, 0.5)
        Largest shift as a fraction of the height and width (0.08 of 28 px is about 2 px).
    rotation : float in [0, 0.25)
        Largest rotation as a fraction of a full turn (0.04 turn = 14.4 degrees).
    zoom : float in [0, 0.5)
        Largest zoom in or out, as a fraction of the size.
    seed : int, optional
        Seed of the random transformations.

    Returns
    -------
    keras.Sequential mapping images ``(N, H, W, C)`` to images of the same shape. Areas
    moved in from outside the image are filled with zeros (black, like the film border).
    """
    for argument, value, upper in (("translation", translation, 0.5), ("rotation", rotation, 0.25), ("zoom", zoom, 0.5)):
        if not 0 <= float(value) < upper:
            raise ValueError(f"{argument} must be in [0, {upper}), got {value!r}")
    from .backend import import_keras

    keras = import_keras()
    layers = keras.layers
    steps = []
    if translation > 0:
        steps.append(layers.RandomTranslation(translation, translation, fill_mode="constant", seed=seed))
    if rotation > 0:
        steps.append(layers.RandomRotation(rotation, fill_mode="constant", seed=seed))
    if zoom > 0:
        steps.append(layers.RandomZoom(zoom, fill_mode="constant", seed=seed))
    return keras.Sequential(steps, name=name)
