"""Write a PneumoniaMNIST file with the official 4,708 training images, built from a 4,707-image copy.

The official file has one more training image than the copy CI uses (``../shared/data``): a
duplicate of a normal image. The robustness run (``make test-robust``) re-runs every notebook
on a file like the official one, built here by inserting such a duplicate, so that no
checked output or claim depends on which file a reader has::

    python scripts/make_official_like_data.py OUT_DIR [--source DIR]

A source that already has 4,708 training images is copied unchanged.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from cnncourse.data import FILENAME, load_pneumoniamnist

OFFICIAL_TRAIN_SIZE = 4708
COPY_TRAIN_SIZE = 4707


def build(source_dir, out_dir) -> Path:
    """Write ``out_dir/pneumoniamnist.npz`` with 4,708 training images; return its path."""
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_pneumoniamnist(source_dir)
    if len(y_train) == COPY_TRAIN_SIZE:
        normal = np.flatnonzero(y_train == 0)
        # Duplicate a normal image from the middle and insert it beside itself: every index
        # after it shifts by one, as a positional subset of the official file would.
        index = int(normal[len(normal) // 2])
        x_train = np.insert(x_train, index, x_train[index], axis=0)
        y_train = np.insert(y_train, index, 0)
    elif len(y_train) != OFFICIAL_TRAIN_SIZE:
        raise SystemExit(f"expected {COPY_TRAIN_SIZE} or {OFFICIAL_TRAIN_SIZE} training images, got {len(y_train)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_images": x_train, "train_labels": y_train.reshape(-1, 1).astype(np.uint8),
        "val_images": x_val, "val_labels": y_val.reshape(-1, 1).astype(np.uint8),
        "test_images": x_test, "test_labels": y_test.reshape(-1, 1).astype(np.uint8),
    }
    handle, temporary = tempfile.mkstemp(dir=out_dir, suffix=".npz")
    os.close(handle)
    np.savez_compressed(temporary, **arrays)
    target = out_dir / FILENAME
    os.replace(temporary, target)  # complete or absent, never half-written
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="folder to write pneumoniamnist.npz into")
    parser.add_argument("--source", default=None, help="folder of the 4,707-image copy (default: $CNNCOURSE_DATA)")
    args = parser.parse_args(argv)
    target = build(args.source, args.out_dir)
    (x_train, y_train), _, _ = load_pneumoniamnist(target.parent)
    print(f"{target}: {len(y_train)} training images ({int((y_train == 0).sum())} normal, {int((y_train == 1).sum())} pneumonia)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
