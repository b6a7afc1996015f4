"""Command line: ``python -m cnncourse.experiments {pneumonia,medmnist,hippocampus,tuning,bench} ...``.

``pneumonia``, ``medmnist`` and ``hippocampus`` load their data once, run one recipe with
``pipeline.run`` and print one JSON line on stdout (everything else goes to stderr);
``tuning`` is ``cnncourse.experiments.tuning.main`` and ``bench`` is ``cnncourse.bench.main``,
given the arguments that follow. A bad argument or an unreadable data file gets one line on
stderr and exit code 2. See ``python -m cnncourse.experiments SUBCOMMAND -h``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time

from ..checks import check_positive_int, check_seed

EXPERIMENTS = ("pneumonia", "medmnist", "hippocampus")
FORWARDED = {"tuning": "cnncourse.experiments.tuning", "bench": "cnncourse.bench"}  # their own main(argv)

# ``medmnist --dataset NAME`` runs MEDMNIST_RECIPES[NAME], "module:function", a function (epochs) -> Recipe.
# A new data set is one entry.
MEDMNIST_RECIPES = {
    "breastmnist": "cnncourse.experiments.medmnist:breastmnist_recipe",
    "retinamnist": "cnncourse.experiments.medmnist:retinamnist_recipe",
    "adrenalmnist3d": "cnncourse.experiments.volumes:VolumeRecipe",
    "vesselmnist3d": "cnncourse.experiments.volumes:VolumeRecipe",
}


def _checked(check, name: str):
    """An argparse ``type`` from a ``cnncourse.checks`` integer check (run before TensorFlow is imported)."""

    def parse(text: str) -> int:
        try:
            return check(int(text), name)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}" if "literal" in str(error)
                                             else str(error)) from None
        except TypeError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = check.__name__.replace("check_", "")  # argparse names the type in its messages
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cnncourse.experiments",
                                     description="Run one experiment and print one JSON line of results.")
    commands = parser.add_subparsers(dest="experiment", required=True, metavar="{" + ",".join(
        EXPERIMENTS + tuple(FORWARDED)) + "}")

    def command(name, help_text):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--seed", type=_checked(check_seed, "seed"), default=0, help="random seed (default 0)")
        sub.add_argument("--epochs", type=_checked(check_positive_int, "epochs"), default=None,
                         help="training epochs (default: the recipe's own)")
        sub.add_argument("--data-dir", default=None, help="folder of the data files (default: $CNNCOURSE_DATA)")
        return sub

    pneumonia = command("pneumonia", "Train a PneumoniaMNIST classifier: test_acc, test_auc, val_auc, threshold "
                        "(the seed model: Youden's J on validation; the improved model: its recipe's rule), params.")
    pneumonia.add_argument("--engine", choices=("keras", "scratch"), default="keras",
                           help="keras: TensorFlow/Keras (default); scratch: the course's NumPy engine")
    pneumonia.add_argument("--model", choices=("improved", "seed"), default=None,
                           help="improved: the chapter's improved CNN (default for keras, keras only); "
                           "seed: the seed's CNN as written (default for scratch)")
    pneumonia.add_argument("--subset", type=_checked(check_positive_int, "subset"), default=None,
                           help="train on a random sample of N training images (a quick smoke test)")
    pneumonia.add_argument("--size", type=int, choices=(28, 64, 128, 224), default=28,
                           help="image size: 28 (default) or a MedMNIST+ size, pneumoniamnist_{64,128,224}.npz")
    pneumonia.add_argument("--distribute", choices=("none", "mirrored"), default="none",
                           help="mirrored: tf.distribute.MirroredStrategy over every GPU, or the CPU (improved model)")
    pneumonia.add_argument("--mixed-precision", action="store_true", help="float16 compute on a GPU (improved model)")
    pneumonia.add_argument("--progress", action="store_true", help="show the training progress bar (on stderr)")

    medmnist = command("medmnist", "Train a MedMNIST recipe (2-D or 3-D) and score validation and test.")
    medmnist.add_argument("--dataset", choices=tuple(MEDMNIST_RECIPES), required=True,
                          help="the MedMNIST data set whose recipe to run")
    medmnist.add_argument("--subset", type=_checked(check_positive_int, "subset"), default=None,
                          help="train on a random sample of N training images (a quick smoke test)")

    hippocampus = command("hippocampus", "Train the 2-D U-Net on the hippocampus MRI; Dice, HD95 ... per volume.")
    hippocampus.add_argument("--subset", type=_checked(check_positive_int, "subset"), default=None,
                             help="train on the first N training volumes only (a smoke test)")
    hippocampus.add_argument("--progress", action="store_true", help="show the training progress bar (on stderr)")

    for name, module in FORWARDED.items():
        commands.add_parser(name, help=f"python -m {module}, with the arguments that follow", add_help=False)
    return parser


def _pneumonia(args):
    """The data (``load_pneumoniamnist``), the recipe (``pneumonia_recipe``) and where it runs."""
    from ..data import load_pneumoniamnist
    from .distribute import describe, make_strategy, mixed_precision
    from .pneumonia import model_splits, pneumonia_recipe

    model = args.model or ("improved" if args.engine == "keras" else "seed")
    if (args.distribute != "none" or args.mixed_precision) and model != "improved":
        raise ValueError("--distribute and --mixed-precision apply to the improved Keras model only")
    recipe = pneumonia_recipe(args.engine, model, args.epochs, None, args.progress)  # checked before the data load
    splits = model_splits(load_pneumoniamnist(args.data_dir, size=args.size))
    if args.engine == "keras":
        mixed_precision(args.mixed_precision)
    strategy = make_strategy() if args.distribute == "mirrored" else None
    if strategy is not None:
        recipe = pneumonia_recipe(args.engine, model, args.epochs, strategy, args.progress)
    device = describe(strategy) if args.engine == "keras" else "CPU (NumPy)"
    return recipe, splits, args.subset, {"device": device}


def _medmnist(args):
    import importlib

    from ..data import load_medmnist

    module, function = MEDMNIST_RECIPES[args.dataset].split(":")
    make = getattr(importlib.import_module(module), function)
    recipe = make(args.dataset, args.epochs) if function == "VolumeRecipe" else make(args.epochs)
    return recipe, load_medmnist(args.dataset, args.data_dir), args.subset, {}


def _hippocampus(args):
    from ..hippocampus import load_hippocampus
    from .hippocampus import HippocampusRecipe

    recipe = HippocampusRecipe(verbose=int(args.progress), **({} if args.epochs is None else {"epochs": args.epochs}))
    splits = load_hippocampus(args.data_dir)
    if args.subset is not None:  # the first N training volumes (a smoke test)
        if args.subset > len(splits["train"]):
            raise ValueError(f"--subset must be at most the {len(splits['train'])} training volumes, got {args.subset}")
        splits = dict(splits, train=splits["train"][:args.subset])
    return recipe, splits, None, {}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in FORWARDED:
        import importlib

        return importlib.import_module(FORWARDED[argv[0]]).main(argv[1:])
    args = build_parser().parse_args(argv)
    from .pipeline import run

    start = time.perf_counter()
    prepare = {"pneumonia": _pneumonia, "medmnist": _medmnist, "hippocampus": _hippocampus}[args.experiment]
    try:
        with contextlib.redirect_stdout(sys.stderr):  # progress bars and logs; stdout holds only the JSON line
            recipe, splits, subset, extra = prepare(args)
            result = {**run(recipe, splits, args.seed, subset).result, **extra}
    except (ValueError, TypeError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    where = f" on {result['device']}" if "device" in result else ""
    print(f"finished in {time.perf_counter() - start:.1f} s{where}", file=sys.stderr)
    print(json.dumps(result, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
