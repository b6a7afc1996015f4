"""cnncourse: the shared package of *Convolutional Neural Networks for Medical Image Analysis*.

Importing it is cheap: NumPy only. TensorFlow is imported only by the functions that
build Keras models, and nothing downloads or trains at import time.

Modules
-------
``cnncourse.seeding``    ``set_seed(seed)``: the one way to seed Python, NumPy and Keras
``cnncourse.scratch``    the NumPy engine (layers, losses, optimizers, ``Sequential``)
``cnncourse.models``     the seed's CNN in either engine, and the improved medical model
``cnncourse.data``       PneumoniaMNIST and synthetic lesion phantoms
``cnncourse.dicom``      from a DICOM file to a model input
``cnncourse.metrics``    medical evaluation: sensitivity, specificity, thresholds, bootstrap CIs
``cnncourse.gradcam``    Grad-CAM heat maps for Keras models
``cnncourse.augment``    realistic augmentation for chest X-rays (no left-right flips)
``cnncourse.experiments`` ``python -m cnncourse.experiments pneumonia --engine keras --seed S``
``cnncourse.exercises``  automatic checkers for the chapters' exercises
``cnncourse.bench``      ``python -m cnncourse.bench``: scratch vs Keras speed
"""

__version__ = "0.1.0"

from .seeding import seed_offset, set_seed  # noqa: E402  (NumPy only: importing stays cheap)

__all__ = ["set_seed", "seed_offset", "__version__"]
