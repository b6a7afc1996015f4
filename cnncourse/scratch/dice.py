"""The soft Dice loss for segmentation, binary and multi-class, and its gradient.

The Dice coefficient of two masks ``A`` and ``B`` is ``2 |A ∩ B| / (|A| + |B|)``: 1 when
they coincide, 0 when they do not touch. Replace the predicted mask by the predicted
probabilities ``p`` and it becomes differentiable (the *soft* Dice). For each sample ``n``
and class ``k``, summing over the pixels ``i``::

    I[n, k]    = sum_i p[n, i, k] t[n, i, k]                  (soft intersection)
    S[n, k]    = sum_i p[n, i, k] + sum_i t[n, i, k]          (soft sizes)
    dice[n, k] = (2 I[n, k] + smooth) / (S[n, k] + smooth)
    loss[n]    = 1 - mean_k dice[n, k]

and the loss of a batch is the mean of ``loss[n]``, as Keras reduces it
(``cnncourse.models.soft_dice_loss`` is the same loss in Keras). Because each class is
scored relative to its own size, a small structure counts as much as the background that
covers most pixels, where a per-pixel loss would be dominated by the background.
``smooth`` keeps a class that is absent from both masks at dice 1 (rather than 0/0).

Gradient of the batch mean w.r.t. one probability (the quotient rule)::

    dL/dp[n, i, k] = -(1 / (N K)) * (2 t[n, i, k] (S + smooth) - (2 I + smooth)) / (S + smooth)^2

``SoftDiceLoss(cross_entropy=w)`` adds ``w`` times the pixel-mean crossentropy (categorical,
or binary for one channel), as ``cnncourse.models.dice_loss(cross_entropy=w)`` does in Keras:
the Dice term balances the classes, the crossentropy gives every pixel a gradient from the start.
"""

from __future__ import annotations

import numpy as np

from .losses import BinaryCrossentropy, CategoricalCrossentropy, Loss
from ..checks import as_float_array, check_finite, check_float


class SoftDiceLoss(Loss):
    """Soft Dice loss ``(y_true, y_pred) -> float`` with ``.gradient(y_true, y_pred)``; see the module.

    Parameters
    ----------
    smooth : float > 0, added to the numerator and the denominator of every class's Dice
    cross_entropy : float >= 0, the weight of an added crossentropy, averaged over the pixels
        (categorical for ``K >= 2``, binary for ``K = 1``); 0, the default, is the Dice loss alone

    Shapes
    ------
    y_pred : probabilities ``(N, ..., K)``, e.g. ``(N, H, W, K)``: a softmax over ``K >= 2``
        classes (multi-class), or one channel ``K = 1`` of foreground probabilities (binary)
    y_true : for ``K >= 2``, one-hot ``(N, ..., K)`` or sparse integer labels ``(N, ...)`` /
        ``(N, ..., 1)`` in ``0 .. K-1``; for ``K = 1``, a mask ``(N, ..., 1)`` or ``(N, ...)``
        in [0, 1]
    """

    name = "soft_dice_loss"

    def __init__(self, smooth: float = 1.0, cross_entropy: float = 0.0):
        self.smooth = check_float(smooth, "smooth", low=0.0, low_inclusive=False)
        self.cross_entropy = check_float(cross_entropy, "cross_entropy", low=0.0)

    @staticmethod
    def _crossentropy(y_pred):
        return BinaryCrossentropy() if y_pred.shape[-1] == 1 else CategoricalCrossentropy()

    def _check(self, y_true, y_pred):
        y_pred = as_float_array(y_pred, "y_pred")
        if y_pred.ndim < 3 or y_pred.shape[0] == 0:
            raise ValueError(f"y_pred must have shape (batch, ..., classes), e.g. (N, H, W, K), with at least one "
                             f"sample, got shape {y_pred.shape}")
        check_finite(y_pred, "y_pred")
        classes = y_pred.shape[-1]
        y_true = as_float_array(y_true, "y_true", dtype=y_pred.dtype)
        check_finite(y_true, "y_true")
        sparse_shapes = (y_pred.shape[:-1], y_pred.shape[:-1] + (1,))
        if classes >= 2 and y_true.shape in sparse_shapes:
            labels = y_true.reshape(y_pred.shape[:-1])
            if np.any(labels != np.round(labels)) or labels.min() < 0 or labels.max() >= classes:
                raise ValueError(f"y_true: sparse labels must be integers in 0 .. {classes - 1} (y_pred has {classes} "
                                 f"classes), got values in [{labels.min()}, {labels.max()}]")
            y_true = np.eye(classes, dtype=y_pred.dtype)[labels.astype(np.intp)]
        elif classes == 1 and y_true.shape == y_pred.shape[:-1]:
            y_true = y_true[..., None]
        elif y_true.shape != y_pred.shape:
            expected = (f"one-hot {y_pred.shape} or sparse labels {y_pred.shape[:-1]}" if classes >= 2
                        else f"a mask {y_pred.shape} or {y_pred.shape[:-1]}")
            raise ValueError(f"y_true must be {expected} for y_pred of shape {y_pred.shape}, got shape {y_true.shape}")
        return y_true, y_pred

    def _terms(self, y_true, y_pred):
        """``I (N, K)`` and ``S (N, K)``, summed over every axis between the batch and the classes."""
        axes = tuple(range(1, y_pred.ndim - 1))
        return (y_true * y_pred).sum(axis=axes), y_true.sum(axis=axes) + y_pred.sum(axis=axes)

    def dice(self, y_true, y_pred) -> np.ndarray:
        """The soft Dice of every sample and class, ``(N, K)``."""
        y_true, y_pred = self._check(y_true, y_pred)
        intersection, total = self._terms(y_true, y_pred)
        return (2 * intersection + self.smooth) / (total + self.smooth)

    def _values(self, y_true, y_pred):
        intersection, total = self._terms(y_true, y_pred)
        values = 1 - ((2 * intersection + self.smooth) / (total + self.smooth)).mean(axis=-1)  # (N,)
        if self.cross_entropy:
            pixels = self._crossentropy(y_pred)._values(y_true, y_pred)  # (N, ...) or (N, ..., 1)
            values = values + self.cross_entropy * pixels.reshape(len(values), -1).mean(axis=1)
        return values

    def per_sample(self, y_true, y_pred) -> np.ndarray:
        """``loss[n]``, shape ``(N,)``."""
        y_true, y_pred = self._check(y_true, y_pred)
        return self._values(y_true, y_pred)

    def _gradient(self, y_true, y_pred):
        n, classes = y_pred.shape[0], y_pred.shape[-1]
        intersection, total = self._terms(y_true, y_pred)
        spatial = (n,) + (1,) * (y_pred.ndim - 2) + (classes,)  # broadcast (N, K) over the pixels
        denominator = (total + self.smooth).reshape(spatial)
        numerator = (2 * intersection + self.smooth).reshape(spatial)
        gradient = -(2 * y_true * denominator - numerator) / denominator ** 2 / (n * classes)
        if self.cross_entropy:
            # the mean over samples of the pixel means is the mean over all pixels (every sample has as many)
            gradient = gradient + self.cross_entropy * self._crossentropy(y_pred)._gradient(y_true, y_pred)
        return gradient

    def __repr__(self):
        return f"SoftDiceLoss(smooth={self.smooth}, cross_entropy={self.cross_entropy})"
