"""Command line: ``python -m cnncourse.experiments pneumonia --engine keras --seed 0``,
``python -m cnncourse.experiments medmnist --dataset breastmnist --seed 0``.

Prints one JSON line with the run's results; see ``python -m cnncourse.experiments -h``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time

EXPERIMENTS = ("pneumonia", "medmnist", "hippocampus")

# ``medmnist --dataset NAME`` runs MEDMNIST_RUNS[NAME], "module:function", a function
# (seed, data_dir=None, epochs=None, subset=None) -> JSON-ready dict. A new data set is one entry.
MEDMNIST_RUNS = {
    "breastmnist": "cnncourse.experiments.medmnist:run_breastmnist",
    "retinamnist": "cnncourse.experiments.medmnist:run_retinamnist",
    "adrenalmnist3d": "cnncourse.experiments.volumes:run_adrenalmnist3d",
    "vesselmnist3d": "cnncourse.experiments.volumes:run_vesselmnist3d",
}


def _non_negative_int(text: str) -> int:
    """argparse type of --seed: checked here, before TensorFlow is imported."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a positive integer, got 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cnncourse.experiments",
        description=(
            "Train a PneumoniaMNIST classifier and print one JSON line: test_acc, test_auc, "
            "val_auc, threshold (the seed model: Youden's J on validation; the improved model: its recipe's "
            "rule, the arg-max 0.5), train_seconds, params."
        ),
    )
    parser.add_argument("experiment", choices=EXPERIMENTS, help="which experiment to run")
    parser.add_argument("--dataset", choices=tuple(MEDMNIST_RUNS), default=None,
                        help="medmnist only: the MedMNIST data set whose recipe to run (required there)")
    parser.add_argument(
        "--engine", choices=("keras", "scratch"), default="keras",
        help="keras: TensorFlow/Keras (default); scratch: the course's NumPy engine",
    )
    parser.add_argument(
        "--model", choices=("improved", "seed"), default=None,
        help="improved: the chapter's improved CNN (default for keras, keras only); "
        "seed: the seed's CNN as written (default for scratch)",
    )
    parser.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default 0)")
    parser.add_argument("--epochs", type=_positive_int, default=None, help="training epochs (default: the model's own)")
    parser.add_argument(
        "--subset", type=_positive_int, default=None,
        help="train on a random sample of N training images (a quick smoke test)",
    )
    parser.add_argument("--data-dir", default=None, help="folder with pneumoniamnist.npz (default: $CNNCOURSE_DATA)")
    parser.add_argument("--size", type=int, choices=(28, 64, 128, 224), default=28,
                        help="image size: 28 (default) or a MedMNIST+ size, pneumoniamnist_{64,128,224}.npz")
    parser.add_argument("--distribute", choices=("none", "mirrored"), default="none",
                        help="mirrored: tf.distribute.MirroredStrategy over every GPU, or the CPU (improved model)")
    parser.add_argument("--mixed-precision", action="store_true", help="float16 compute on a GPU (improved model)")
    parser.add_argument("--progress", action="store_true", help="show the training progress bar (on stderr)")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.experiment == "medmnist") != (args.dataset is not None):
        parser.error("--dataset is required by medmnist and used by medmnist only")
    start = time.perf_counter()
    if args.experiment == "medmnist":
        return _run_medmnist(args, start)
    if args.experiment == "hippocampus":
        return _run_hippocampus(args, start)
    from . import run_experiment

    try:
        with contextlib.redirect_stdout(sys.stderr):  # progress bars and logs; stdout holds only the JSON line
            result = run_experiment(
                engine=args.engine, model=args.model, seed=args.seed, epochs=args.epochs,
                subset=args.subset, data_dir=args.data_dir, size=args.size, distribute=args.distribute,
                mixed_precision=args.mixed_precision, progress=args.progress,
            )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"finished in {time.perf_counter() - start:.1f} s on {result.get('device', '?')}", file=sys.stderr)
    print(json.dumps(result, sort_keys=False))
    return 0


def _run_medmnist(args, start) -> int:
    import importlib

    module, function = MEDMNIST_RUNS[args.dataset].split(":")
    run = getattr(importlib.import_module(module), function)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            result = run(seed=args.seed, data_dir=args.data_dir, epochs=args.epochs, subset=args.subset)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"finished in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    print(json.dumps(result, sort_keys=False))
    return 0


def _run_hippocampus(args, start) -> int:
    """The segmentation run: a 2-D U-Net on the MSD hippocampus MRI (cnncourse.experiments.hippocampus)."""
    from .hippocampus import run_hippocampus

    overrides = {} if args.epochs is None else {"epochs": args.epochs}
    try:
        with contextlib.redirect_stdout(sys.stderr):
            result = run_hippocampus(seed=args.seed, data_dir=args.data_dir, subset=args.subset,
                                     verbose=int(args.progress), **overrides)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"finished in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    print(json.dumps(result, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
