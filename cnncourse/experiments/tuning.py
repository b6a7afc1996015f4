"""Choosing the improved model's recipe without looking at the test split.

The validation split scores every reasonable model near AUC 0.995, so it cannot tell
candidates apart, and the recipe already uses it to keep an epoch and set the threshold.
The candidates are therefore compared on a **tuning split** carved out of the training
split. The protocol was fixed before any candidate ran:

1. ``tuning_split`` splits the training split once, stratified, into a fit part (80%) and a
   tuning part (20%), with split seed 0: the same images for every candidate and seed.
2. Each candidate in ``CANDIDATES`` trains with ``train_improved`` on the fit part, for seeds
   0, 1 and 2. It keeps its epoch and sets its threshold on the validation split, exactly
   as the final recipe will. Each trained model is scored without and with test-time
   shifts (``tta_shift`` 0 and 1), and with two threshold rules: Youden's J on validation,
   and the fixed 0.5 of the arg-max.
3. Each variant is scored on the tuning part: AUC, and balanced accuracy at the threshold
   from validation. Balanced accuracy, not accuracy, because a deployed model meets
   another class balance than its training split's, and accuracy at one balance rewards a
   threshold fitted to it.
4. ``choose`` applies the one-standard-error rule. The best mean tuning AUC sets the bar,
   and the bar is that mean minus the standard error of the mean over seeds (sd / sqrt(n)).
   The first variant in ``CANDIDATES`` order (cheaper and simpler first) whose mean reaches
   the bar wins; a variant whose training, scaled from the fit part to the whole training
   split, takes longer than ``TIME_BUDGET_SECONDS`` cannot win. The threshold rule is then
   chosen for that variant in the same way, by balanced accuracy.
5. The chosen settings become ``IMPROVED_DEFAULTS``; only then is the test split scored, once,
   over seeds 0 to 4: ``python -m cnncourse.experiments pneumonia --engine keras --seed S``.

``python -m cnncourse.experiments tuning`` runs steps 1 to 4 and writes one JSON line per
candidate, seed and test-time setting; ``summarise`` and ``choose`` read such lines back.
The test split is never loaded here: ``search`` receives only the training and validation
splits.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from ..checks import check_seed
from ..metrics import binary_report, validate_labels
from .pneumonia import ensemble_scores, evaluate_scores, train_improved

__all__ = [
    "CANDIDATES",
    "RULES",
    "TIME_BUDGET_SECONDS",
    "choose",
    "format_table",
    "read_rows",
    "recorded_test_runs",
    "recorded_tuning_rows",
    "search",
    "summarise",
    "tuning_split",
]

# (name, overrides of IMPROVED_DEFAULTS / improved_cnn), cheaper and simpler first. 12 epochs at
# batch 64 (the recipe before this search) projects to just over the time budget, so the others
# get 10 or fewer epochs, or a larger batch.
CANDIDATES = (
    ("10 epochs", {"epochs": 10}),
    ("10 epochs, no class weights", {"epochs": 10, "use_class_weights": False}),
    ("10 epochs, dropout 0.5", {"epochs": 10, "dropout": 0.5}),
    ("10 epochs, 2-cycle snapshot ensemble", {"epochs": 10, "cycles": 2}),
    ("12 epochs, batch 128", {"epochs": 12, "batch_size": 128}),
    ("8 epochs, wider first block (48, 64, 128)", {"epochs": 8, "filters": (48, 64, 128)}),
    ("12 epochs", {"epochs": 12}),
)
TTA_SHIFTS = (0, 1)  # test-time shifts scored for every trained model
RULES = ("youden", "argmax")  # threshold rules scored for every variant, the current one first
TIME_BUDGET_SECONDS = 60.0  # per seed, training on the whole training split, 2 CPU cores
TUNING_FRACTION = 0.2
SPLIT_SEED = 0


def tuning_split(labels, fraction: float = TUNING_FRACTION, seed: int = SPLIT_SEED):
    """Indices of a stratified fit / tuning split of the training split.

    labels : (N,) training labels in {0, 1}; fraction : share of the images that tune, in (0, 1).
    Returns ``(fit, tune)``: sorted int arrays that partition ``range(N)``, each with the class
    balance of ``labels`` (scikit-learn's stratified ``train_test_split``, ``random_state=seed``).
    """
    from sklearn.model_selection import train_test_split

    labels = validate_labels(labels, "labels")
    if not 0 < float(fraction) < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    fit, tune = train_test_split(np.arange(len(labels)), test_size=fraction, stratify=labels, random_state=seed)
    return np.sort(fit), np.sort(tune)


def search(train, validation, candidates=CANDIDATES, seeds=(0, 1, 2), log=None):
    """Train every candidate on the fit part and score it on the tuning part.

    Parameters
    ----------
    train, validation : ``(images, labels)`` of the training and validation splits, as
        ``load_pneumoniamnist`` returns them (uint8 images ``(N, 28, 28)``)
    candidates : sequence of ``(name, settings)``; seeds : the run seeds
    log : callable taking each row as it is made (e.g. to print it), optional

    Returns
    -------
    list of dicts, one per candidate, seed and test-time shift: ``candidate``, ``settings``,
    ``seed``, ``tta_shift``, ``tune_auc``, ``val_auc``, ``tune_balanced_accuracy`` and
    ``threshold`` (dicts by rule), ``train_seconds`` and ``projected_seconds`` (scaled by
    the whole training split's size over the fit part's).
    """
    (x_train, y_train), (x_val, y_val) = train, validation
    y_train, y_val = np.asarray(y_train), np.asarray(y_val)
    fit, tune = tuning_split(y_train)
    splits = ((x_train[fit], y_train[fit]), (x_val, y_val), (x_train[tune], y_train[tune]))
    x_tune, y_tune = splits[2]
    from ..data import to_float_images

    x_val_in, x_tune_in = to_float_images(x_val), to_float_images(x_tune)
    rows = []
    for name, settings in candidates:
        for seed in seeds:
            run = train_improved(seed=seed, data=splits, **settings)
            for shift in TTA_SHIFTS:
                val_scores = ensemble_scores(run.model, x_val_in, run.snapshots, shift)
                tune_scores = ensemble_scores(run.model, x_tune_in, run.snapshots, shift)
                by_rule = {rule: evaluate_scores(y_val, val_scores, y_tune, tune_scores, rule) for rule in RULES}
                row = {
                    "candidate": name,
                    "settings": {key: list(value) if isinstance(value, tuple) else value
                                 for key, value in settings.items()},
                    "seed": int(seed),
                    "effective_seed": run.result["effective_seed"],
                    "tta_shift": shift,
                    "tune_auc": round(binary_report(y_tune, tune_scores)["auc"], 5),
                    "val_auc": by_rule["youden"]["val_auc"],
                    "tune_balanced_accuracy": {
                        rule: round(binary_report(y_tune, tune_scores, values["threshold"])["balanced_accuracy"], 5)
                        for rule, values in by_rule.items()},
                    "threshold": {rule: values["threshold"] for rule, values in by_rule.items()},
                    "train_seconds": run.result["train_seconds"],
                    "projected_seconds": round(run.result["train_seconds"] * len(y_train) / len(fit), 1),
                    "fit_images": int(len(fit)),
                    "tune_images": int(len(tune)),
                }
                rows.append(row)
                if log is not None:
                    log(row)
    return rows


def _sd(values) -> float:
    """Sample standard deviation (ddof 1); NaN for a single value."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")


def _variant(row) -> str:
    return row["candidate"] + (f", test-time shifts {row['tta_shift']} px" if row["tta_shift"] else "")


def summarise(rows) -> list[dict]:
    """Mean, sd and standard error over seeds of each variant (candidate x test-time shift).

    rows : as ``search`` returns them, in any order. Returns one dict per variant, in
    ``CANDIDATES`` order (each candidate's test-time shifts after it):
    ``variant``, ``candidate``, ``tta_shift``, ``seeds`` (n), ``tune_auc`` and
    ``tune_auc_sd`` / ``tune_auc_se``, ``balanced_accuracy`` / ``balanced_accuracy_sd`` / ``balanced_accuracy_se``
    (dicts by rule), ``val_auc``, ``threshold_sd`` (by rule: how far the threshold moves
    between seeds) and ``projected_seconds`` (the mean).
    """
    if not rows:
        raise ValueError("rows must hold at least one search result, got none")
    groups: dict[str, list] = {}
    seen: dict[tuple, int] = {}
    for index, row in enumerate(rows):
        key = (_variant(row), row.get("seed"))
        if key in seen:
            raise ValueError(
                f"rows {seen[key] + 1} and {index + 1} are both {key[0]!r} with seed {key[1]!r}: a duplicated row "
                "would count one seed twice and shrink the standard error (was a results file appended twice?)"
            )
        seen[key] = index
        groups.setdefault(_variant(row), []).append(row)
    table = []
    for variant, group in groups.items():
        n = len(group)
        auc = np.array([row["tune_auc"] for row in group])
        rules = list(group[0]["tune_balanced_accuracy"])
        balanced = {rule: np.array([row["tune_balanced_accuracy"][rule] for row in group]) for rule in rules}
        table.append({
            "variant": variant,
            "candidate": group[0]["candidate"],
            "tta_shift": group[0]["tta_shift"],
            "seeds": n,
            "tune_auc": float(auc.mean()),
            "tune_auc_sd": _sd(auc),
            "tune_auc_se": _sd(auc) / np.sqrt(n),
            "balanced_accuracy": {rule: float(values.mean()) for rule, values in balanced.items()},
            "balanced_accuracy_sd": {rule: _sd(values) for rule, values in balanced.items()},
            "balanced_accuracy_se": {rule: _sd(values) / np.sqrt(n) for rule, values in balanced.items()},
            "val_auc": float(np.mean([row["val_auc"] for row in group])),
            "threshold_sd": {rule: _sd([row["threshold"][rule] for row in group]) for rule in rules},
            "projected_seconds": float(np.mean([row["projected_seconds"] for row in group])),
        })
    # CANDIDATES order (cheaper and simpler first), test-time shifts after the plain model; names
    # not in CANDIDATES follow in the order they first appear.
    rank = {name: index for index, (name, _) in enumerate(CANDIDATES)}
    appearance = {}
    for entry in table:
        appearance.setdefault(entry["candidate"], len(rank) + len(appearance))
    table.sort(key=lambda entry: (rank.get(entry["candidate"], appearance[entry["candidate"]]), entry["tta_shift"]))
    return table


def choose(rows, time_budget: float = TIME_BUDGET_SECONDS) -> dict:
    """The one-standard-error choice of step 4 of the protocol.

    rows : as ``search`` returns them (at least 2 seeds per variant, so that spreads exist),
        in any order: variants are ranked as ``summarise`` orders them.
    Returns a dict: ``variant`` (the summary row chosen), ``rule`` (the threshold rule),
    ``best`` (the variant with the highest mean tuning AUC within the budget) and
    ``auc_bar`` / ``balanced_accuracy_bar`` (the bars the choice had to reach).
    """
    table = summarise(rows)
    if any(entry["seeds"] < 2 for entry in table):
        raise ValueError("every variant needs at least 2 seeds for the one-standard-error rule")
    eligible = [entry for entry in table if entry["projected_seconds"] <= time_budget]
    if not eligible:
        raise ValueError(f"no variant trains within the time budget of {time_budget} s")
    best = max(eligible, key=lambda entry: entry["tune_auc"])
    auc_bar = best["tune_auc"] - best["tune_auc_se"]
    chosen = next(entry for entry in eligible if entry["tune_auc"] >= auc_bar)
    balanced = chosen["balanced_accuracy"]
    top_rule = max(balanced, key=balanced.get)
    balanced_bar = balanced[top_rule] - chosen["balanced_accuracy_se"][top_rule]
    rule = next(rule for rule in balanced if balanced[rule] >= balanced_bar)  # dict order: RULES
    return {"variant": chosen, "rule": rule, "best": best, "auc_bar": auc_bar, "balanced_accuracy_bar": balanced_bar}


def format_table(rows) -> str:
    """The summary as a text table: tuning AUC and balanced accuracy (mean ± sd), validation AUC, seconds."""
    table = summarise(rows)
    rules = list(table[0]["balanced_accuracy"])
    width = max(len(entry["variant"]) for entry in table)
    header = (f"{'variant':<{width}}  {'tuning AUC':>17}  "
              + "  ".join(f"{'bal. acc. ' + rule:>18}" for rule in rules) + f"  {'val AUC':>7}  {'s/seed':>6}")
    lines = [header]
    for entry in table:
        sds = entry["balanced_accuracy_sd"]
        lines.append(
            f"{entry['variant']:<{width}}  {entry['tune_auc']:.4f} ± {entry['tune_auc_sd']:.4f}    "
            + "  ".join(f"{entry['balanced_accuracy'][rule]:>9.4f} ± {sds[rule]:.4f}" for rule in rules)
            + f"  {entry['val_auc']:>7.4f}  {entry['projected_seconds']:>6.1f}")
    return "\n".join(lines)


ROW_KEYS = ("candidate", "seed", "tta_shift", "tune_auc", "val_auc", "tune_balanced_accuracy", "threshold",
            "projected_seconds")


def read_rows(path, keys=ROW_KEYS) -> list[dict]:
    """The JSON lines written by ``python -m cnncourse.experiments tuning --out PATH``.

    A line that is not a JSON object with ``keys`` (by default those ``summarise`` needs) raises ``ValueError``
    naming the file and line.
    """
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}, line {number}: not a JSON line ({error.msg} at column {error.colno})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}, line {number}: expected a JSON object, got {type(row).__name__}")
            missing = [key for key in keys if key not in row]
            if missing:
                raise ValueError(f"{path}, line {number}: missing key(s) {', '.join(missing)} of a tuning result")
            rows.append(row)
    return rows


RECORDED = Path(__file__).with_name("recorded")  # results the chapter quotes, committed with the code


def recorded_tuning_rows() -> list[dict]:
    """The search behind ``IMPROVED_DEFAULTS``, as run on 2 CPU cores (``recorded/tuning.jsonl``)."""
    return read_rows(RECORDED / "tuning.jsonl")


def recorded_test_runs() -> list[dict]:
    """The CLI's JSON lines for seeds 0 to 4 of the chosen recipe (``recorded/improved_test.jsonl``)."""
    return read_rows(RECORDED / "improved_test.jsonl", keys=())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnncourse.experiments tuning",
                                     description="Compare the improved model's candidates on a tuning split (no test).")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default=None, help="append one JSON line per result to this file")
    parser.add_argument("--only", nargs="+", default=None, help="candidate names to run (default: all)")
    parser.add_argument("--summarise", default=None, metavar="PATH", help="print the table and choice of a results file")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    try:
        [check_seed(seed) for seed in args.seeds]
    except ValueError as error:
        parser.error(f"--seeds: {error}")
    if args.out:
        folder = Path(args.out).resolve().parent
        if not folder.is_dir():
            parser.error(f"--out {args.out}: the folder {folder} does not exist")
        if Path(args.out).is_dir() or not os.access(folder, os.W_OK):
            parser.error(f"--out {args.out}: cannot write a file there")
    if args.summarise is None:
        from ..data import load_pneumoniamnist

        unknown = set(args.only or ()) - {name for name, _ in CANDIDATES}
        if unknown:
            parser.error(f"unknown candidates {sorted(unknown)}; known: {[name for name, _ in CANDIDATES]}")
        candidates = [(name, settings) for name, settings in CANDIDATES if args.only is None or name in args.only]
        train, validation, _ = load_pneumoniamnist(args.data_dir)
        del _  # the test split plays no part in the choice

        def log(row):
            print(json.dumps(row), flush=True)
            if args.out:
                with open(args.out, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(row) + "\n")

        rows = search(train, validation, candidates, seeds=args.seeds, log=log)
    else:
        try:
            rows = read_rows(args.summarise)
            summarise(rows)
        except (OSError, ValueError) as error:
            print(f"cannot summarise: {error}", file=sys.stderr)
            return 2
    print(format_table(rows), file=sys.stderr)
    if all(entry["seeds"] >= 2 for entry in summarise(rows)):
        choice = choose(rows)
        print(f"chosen: {choice['variant']['variant']}, threshold rule {choice['rule']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
