"""Importing Keras quietly.

TensorFlow prints C++ log lines to the process's standard error when it is imported
(e.g. that no CUDA driver was found). They would clutter every chapter and, carrying
timestamps, break nbval's output comparison. ``import_keras`` silences that start-up
noise only; Python warnings and exceptions still reach you.
"""

from __future__ import annotations

import os
import sys


def import_keras():
    """Import TensorFlow and Keras with their start-up log lines silenced; return ``keras``."""
    if "tensorflow" in sys.modules:
        import keras

        return keras
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)  # C++ logging writes to file descriptor 2 directly
        import tensorflow  # noqa: F401
        import keras
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return keras
