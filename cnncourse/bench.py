"""Benchmarks of the NumPy engine against its naive loops and against Keras.

    python -m cnncourse.bench                     # everything below except the parity training
    python -m cnncourse.bench --quick             # a smaller, faster run
    python -m cnncourse.bench --epochs-only       # only section 4 (both Keras settings)
    python -m cnncourse.bench --parity-training   # 5 epochs in each engine, same start, same data order
    python -m cnncourse.bench --profile           # where one scratch epoch spends its time

It prints, with medians over repeated runs:

0. the machine's float32 matrix-multiply peak (GFLOP/s), measured on large square products;
1. naive vs vectorised convolution on the seed CNN's three conv layer shapes;
2. the scratch engine per layer (forward and backward, as the containers call the layers),
   with the GFLOP/s of its matrix products, to show where time goes, and what the checks of
   a direct call would add to each layer's forward pass; then one batch through every
   layer with the input validated once at the boundary (what ``fit`` does) against every
   layer checking its own input and output gradient (what ``fit`` did before issue 23);
3. scratch vs Keras forward + backward per batch of 32 for ``seed_cnn``;
4. one training epoch on PneumoniaMNIST in each engine (batch 32, Adam, warm-up
   excluded), paired and interleaved in one process, every pair printed, the median of
   at least 5 pairs, the ratio scratch / Keras, and the GFLOP/s each engine achieves.
   Twice, each in a fresh process, since TensorFlow reads the setting at import: Keras with
   TensorFlow's default settings (``TF_ENABLE_ONEDNN_OPTS`` unset: oneDNN on, as users run
   it), then with oneDNN off (``TF_ENABLE_ONEDNN_OPTS=0``, the setting the tests use).

Targets (issues 3, 14 and 23): vectorised conv >= 100x faster than the naive loops; one
scratch epoch of seed_cnn no slower than Keras at TensorFlow's defaults (ratio <= 1.0).

Timings are wall-clock. Both engines use the BLAS and thread settings the user has
(``--blas-threads N`` limits NumPy's BLAS to ``N`` threads, e.g. 1 on a machine that
other jobs share); Keras uses TensorFlow's own thread pools. Sections 0 to 3 run Keras with
the environment's ``TF_ENABLE_ONEDNN_OPTS`` (printed; ``make bench`` unsets it). This is
speed measured and printed, never asserted in a test.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import subprocess
import sys

import numpy as np

from cnncourse import scratch
from cnncourse.backend import import_keras
from cnncourse.models import seed_cnn, seed_cnn_twins
from cnncourse.timing import blas_threads, median_seconds

SEED_CONV_SHAPES = [  # (name, per-image input shape (H, W, C_in), filters) of seed_cnn's conv layers
    ("conv1 28x28x1 -> 26x26x32", (28, 28, 1), 32),
    ("conv2 13x13x32 -> 11x11x64", (13, 13, 32), 64),
    ("conv3 5x5x64 -> 3x3x64", (5, 5, 64), 64),
]


def _blas_limit(threads):
    """``timing.blas_threads(threads)``, or the BLAS as it is when ``threads`` is None."""
    if threads is None:
        return contextlib.nullcontext()
    return blas_threads(threads)


def _blas_description() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl is not installed)"
    pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return ", ".join(f"{pool.get('internal_api')} {pool.get('version')} with {pool.get('num_threads')} thread(s)"
                     for pool in pools) or "none found"


def _load_pneumonia(limit=None):
    """Float images and labels of the training, validation and test splits (the first ``limit`` training images)."""
    from cnncourse.data import load_pneumoniamnist, to_float_images

    (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_pneumoniamnist()
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
    return (to_float_images(x_train), y_train), (to_float_images(x_val), y_val), (to_float_images(x_test), y_test)


def _onednn_setting() -> str:
    """How this process's TensorFlow was (or will be) set up for oneDNN, from ``TF_ENABLE_ONEDNN_OPTS``."""
    value = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    if value is None:
        return "TensorFlow's default settings (TF_ENABLE_ONEDNN_OPTS unset: oneDNN on)"
    return f"TF_ENABLE_ONEDNN_OPTS={value} (oneDNN {'off' if value.strip() in ('0', 'false', 'False') else 'on'})"


def _header():
    print("cnncourse.bench")
    print(f"  python {platform.python_version()}, numpy {np.__version__}, cpu cores {os.cpu_count()}, "
          f"load average {', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(f"  NumPy's BLAS: {_blas_description()}")
    print(f"  Keras in this process: {_onednn_setting()}")


# ---------------------------------------------------------------------------- arithmetic


def layer_flops(layer, batch: int) -> tuple[int, int]:
    """``(forward, backward)`` multiply-add FLOPs (2 per multiply-add) of a layer's matrix products.

    Conv2D: ``2 N H_out W_out kh kw C_in C_out`` forward; backward twice that (``dkernel``
    and ``dx``). Dense: ``2 N n m`` and twice that. Other layers do no matrix products: 0.
    A first layer skips ``dx``; ``bench_epochs`` counts that.
    """
    if isinstance(layer, scratch.Conv2D):
        out_h, out_w, filters = layer.output_shape
        kh, kw, c_in, _ = layer.params["kernel"].shape
        forward = 2 * batch * out_h * out_w * kh * kw * c_in * filters
    elif isinstance(layer, scratch.Dense):
        forward = 2 * batch * layer.params["kernel"].size
    else:
        return 0, 0
    return forward, 2 * forward


def training_flops(model, samples: int) -> int:
    """Matrix-product FLOPs of one training epoch over ``samples`` images (the first layer's ``dx`` skipped)."""
    total = 0
    for index, layer in enumerate(model.layers):
        forward, backward = layer_flops(layer, samples)
        total += forward + (backward if index > 0 else backward // 2)
    return total


def matmul_peak(size: int = 1024, repeats: int = 5) -> float:
    """The machine's float32 matrix-multiply speed, GFLOP/s, on ``(size, size) @ (size, size)``."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in range(2))
    out = np.empty((size, size), np.float32)
    seconds = median_seconds(lambda: np.matmul(a, b, out=out), repeats, warmup=1)
    return 2 * size**3 / seconds / 1e9


# ------------------------------------------------------------------------------ sections


def bench_peak() -> float:
    peak = matmul_peak()
    print(f"\n0. float32 matmul peak (1024 x 1024 @ 1024 x 1024, NumPy's BLAS): {peak:.1f} GFLOP/s")
    return peak


def bench_conv(batch: int, repeats: int, naive_repeats: int) -> None:
    """Naive loops vs im2col on the seed CNN's conv layers (forward only)."""
    print(f"\n1. conv2d_naive vs conv2d (forward, float32, batch {batch}, median of {naive_repeats} / {repeats} runs)")
    print(f"   {'layer':30s} {'naive (s)':>10s} {'vectorised (ms)':>16s} {'speed-up':>9s}")
    rng = np.random.default_rng(0)
    naive_total = fast_total = 0.0
    for name, shape, filters in SEED_CONV_SHAPES:
        x = rng.standard_normal((batch,) + shape, dtype=np.float32)
        kernel = rng.standard_normal((3, 3, shape[2], filters), dtype=np.float32)
        bias = np.zeros(filters, np.float32)
        np.testing.assert_allclose(scratch.conv2d(x[:2], kernel, bias), scratch.conv2d_naive(x[:2], kernel, bias),
                                   rtol=1e-4, atol=1e-4)
        naive = median_seconds(lambda: scratch.conv2d_naive(x, kernel, bias), naive_repeats, warmup=0)
        fast = median_seconds(lambda: scratch.conv2d(x, kernel, bias), repeats)
        naive_total, fast_total = naive_total + naive, fast_total + fast
        print(f"   {name:30s} {naive:10.3f} {fast * 1e3:16.2f} {naive / fast:8.0f}x")
    print(f"   {'all three':30s} {naive_total:10.3f} {fast_total * 1e3:16.2f} {naive_total / fast_total:8.0f}x"
          f"   (target >= 100x)")


def bench_layers(batch: int, repeats: int, peak: float) -> None:
    """The scratch seed_cnn's forward and backward time per layer, and the cost of checking every layer's input.

    Each layer runs as ``Sequential`` calls it (``forward(x, training=True, checked=True)``);
    "checks" is what a direct call (``checked=False``: dtype, rank, every number finite) adds
    to the forward pass.
    """
    print(f"\n2. scratch seed_cnn per layer (batch {batch}, median of {repeats} runs, ms; GFLOP/s of the "
          f"matrix products, forward + backward, against the peak {peak:.0f})")
    model = seed_cnn("scratch", num_classes=2, seed=0)
    x = np.random.default_rng(0).uniform(size=(batch, 28, 28, 1)).astype(np.float32)
    inputs, h = [], x
    for layer in model.layers:
        inputs.append(h)
        h = layer.forward(h, training=True)
    total_forward = total_backward = total_checks = 0.0
    print(f"   {'layer':32s} {'forward':>8s} {'backward':>9s} {'GFLOP/s':>8s} {'checks':>7s}")
    for index, (layer, layer_input) in enumerate(zip(model.layers, inputs)):
        out = layer.forward(layer_input, training=True)
        dy = np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
        need_dx = index > 0
        forward = median_seconds(lambda: layer.forward(layer_input, training=True, checked=True), repeats)
        checked = median_seconds(lambda: layer.forward(layer_input, training=True), repeats)

        def forward_backward():
            layer.forward(layer_input, training=True, checked=True)
            layer.backward(dy, need_input_gradient=need_dx, checked=True)

        backward_time = max(median_seconds(forward_backward, repeats) - forward, 0.0)
        checks = max(checked - forward, 0.0)
        total_forward, total_backward = total_forward + forward, total_backward + backward_time
        total_checks += checks
        flops_forward, flops_backward = layer_flops(layer, batch)
        flops = flops_forward + (flops_backward if need_dx else flops_backward // 2)
        rate = f"{flops / (forward + backward_time) / 1e9:8.1f}" if flops else f"{'':8s}"
        print(f"   {layer.name + ' (' + type(layer).__name__ + ')':32s} {forward * 1e3:8.2f} {backward_time * 1e3:9.2f} "
              f"{rate} {checks * 1e3:7.2f}")
    print(f"   {'total':32s} {total_forward * 1e3:8.2f} {total_backward * 1e3:9.2f} {'':8s} {total_checks * 1e3:7.2f}"
          "   (the first conv2d's backward skips its input gradient, as in training)")
    bench_validation(model, x, repeats)


def bench_validation(model, x, repeats: int) -> tuple[float, float]:
    """One batch forward and backward through every layer: checked once at the boundary vs checked by every layer.

    The second is what ``Sequential.fit`` did on every batch before issue 23 (each layer's
    public ``forward`` checked dtype, rank and finiteness of its input, each ``backward`` its
    ``dy``); the arithmetic (the layers' fast paths) is the same in both.
    """
    dy = np.random.default_rng(2).standard_normal((len(x),) + tuple(model.output_shape)).astype(np.float32)

    def step(checked):
        h = x
        for layer in model.layers:
            h = layer.forward(h, training=True, checked=checked)
        g = dy
        for index in range(len(model.layers) - 1, -1, -1):
            g = model.layers[index].backward(g, index > 0, checked=checked)

    once, every = [], []
    step(True), step(False)
    for _ in range(repeats):  # interleaved, so that other processes' load hits both alike
        once.append(median_seconds(lambda: step(True), 1, warmup=0))
        every.append(median_seconds(lambda: step(False), 1, warmup=0))
    once, every = statistics.median(once), statistics.median(every)
    print(f"   one batch of {len(x)}, forward + backward through every layer (median of {repeats}): validated once "
          f"at the boundary {once * 1e3:.2f} ms, every layer checking its x and dy (as before issue 23) "
          f"{every * 1e3:.2f} ms;\n   per-batch overhead of the layers' checks {max(every - once, 0.0) * 1e3:.2f} ms "
          "-> 0 (fit checks x and y once, before the first batch; the taught pairs' own checks, which the fast "
          "paths also skip, are not in this figure)")
    return once, every


def bench_step(batch: int, repeats: int) -> tuple[float, float]:
    """Forward + backward (loss and all gradients, no update) per batch, each engine."""
    keras = import_keras()
    import tensorflow as tf

    keras_model, scratch_model = seed_cnn_twins(num_classes=2, seed=0)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(batch, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 2, batch)

    @tf.function
    def keras_gradients(images, labels):
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, keras_model(images, training=True))
        return tape.gradient(loss, keras_model.trainable_weights)

    x_tf, y_tf = tf.constant(x), tf.constant(y)
    keras_time = lambda: [g.numpy() for g in keras_gradients(x_tf, y_tf)]  # noqa: E731
    scratch_time = lambda: scratch_model.compute_gradients(x, y)  # noqa: E731
    # Interleave the two engines so that load from other processes hits both alike.
    keras_times, scratch_times = [], []
    keras_time(), scratch_time()
    for _ in range(repeats):
        keras_times.append(median_seconds(keras_time, 1, warmup=0))
        scratch_times.append(median_seconds(scratch_time, 1, warmup=0))
    k, s = statistics.median(keras_times), statistics.median(scratch_times)
    print(f"\n3. forward + backward per batch of {batch}, seed_cnn (median of {repeats} interleaved runs; "
          f"Keras with {_onednn_setting()})")
    print(f"   Keras (tf.function + GradientTape) {k * 1e3:7.2f} ms")
    print(f"   scratch (compute_gradients)        {s * 1e3:7.2f} ms    ratio scratch/Keras {s / k:.2f}")
    return k, s


def bench_epochs(epochs: int, batch_size: int, peak: float, limit=None) -> tuple[float, float]:
    """Wall-clock seconds per training epoch on PneumoniaMNIST, each engine, paired and interleaved."""
    (x, y), _, _ = _load_pneumonia(limit)
    keras_model, scratch_model = seed_cnn_twins(num_classes=2, seed=0)
    print(f"\n4. one training epoch on PneumoniaMNIST ({len(x)} images, batch {batch_size}, Adam, "
          f"{epochs} paired epochs per engine after one warm-up epoch each, interleaved)")
    print(f"   Keras with {_onednn_setting()}")

    def keras_epoch():
        keras_model.fit(x, y, epochs=1, batch_size=batch_size, shuffle=True, verbose=0)

    def scratch_epoch():
        scratch_model.fit(x, y, epochs=1, batch_size=batch_size, shuffle=True, verbose=0)

    first_keras = median_seconds(keras_epoch, 1, warmup=0)  # includes tracing the graph
    first_scratch = median_seconds(scratch_epoch, 1, warmup=0)
    keras_times, scratch_times = [], []
    for _ in range(epochs):
        keras_times.append(median_seconds(keras_epoch, 1, warmup=0))
        scratch_times.append(median_seconds(scratch_epoch, 1, warmup=0))
    k, s = statistics.median(keras_times), statistics.median(scratch_times)
    ratios = [st / kt for kt, st in zip(keras_times, scratch_times)]
    flops = training_flops(scratch_model, len(x))
    print(f"   first epoch:  Keras {first_keras:6.2f} s (includes graph tracing), scratch {first_scratch:6.2f} s")
    for pair, (kt, st, ratio) in enumerate(zip(keras_times, scratch_times, ratios), start=1):
        print(f"   pair {pair}:       Keras {kt:6.2f} s, scratch {st:6.2f} s, ratio {ratio:.2f}")
    print(f"   median epoch: Keras {k:6.2f} s, scratch {s:6.2f} s, ratio scratch/Keras {s / k:.2f}; "
          f"median of the pair ratios {statistics.median(ratios):.2f}   (target <= 1.0)")
    print(f"   matrix products: {flops / 1e9:.1f} GFLOP per epoch; scratch {flops / s / 1e9:.1f} GFLOP/s, "
          f"Keras {flops / k / 1e9:.1f} GFLOP/s, against the matmul peak {peak:.1f} GFLOP/s "
          f"({100 * flops / s / 1e9 / peak:.0f}% and {100 * flops / k / 1e9 / peak:.0f}%)")
    return k, s


def parity_training(epochs: int = 5, batch_size: int = 32, seed: int = 0) -> tuple[float, float]:
    """Train seed_cnn in both engines from the same weights on the same batches; print test accuracies.

    The training is ``cnncourse.experiments.engines.train_both_engines`` (the same initial
    weights, the same per-epoch data orders, drawn from ``seed``); this prints its curves and
    scores both models on the test split. Returns ``(keras_accuracy, scratch_accuracy)``.
    """
    from cnncourse.experiments.engines import train_both_engines

    (x, y), (x_val, y_val), (x_test, y_test) = _load_pneumonia()
    print(f"\nParity training: seed_cnn, {epochs} epochs, Adam, sparse categorical crossentropy, batch {batch_size}, "
          f"same initial weights and the same data order in both engines (train_both_engines)")
    runs = train_both_engines(x, y, x_val, y_val, epochs=epochs, batch_size=batch_size, seed=seed)
    k, s = runs["keras"].history, runs["scratch"].history
    for epoch in range(epochs):
        print(f"   epoch {epoch + 1}: Keras loss {k['loss'][epoch]:.4f} acc {k['accuracy'][epoch]:.4f} | "
              f"scratch loss {s['loss'][epoch]:.4f} acc {s['accuracy'][epoch]:.4f}")
    keras_pred = runs["keras"].probabilities(x_test).argmax(axis=1)
    scratch_pred = runs["scratch"].probabilities(x_test).argmax(axis=1)
    keras_acc, scratch_acc = float(np.mean(keras_pred == y_test)), float(np.mean(scratch_pred == y_test))
    print(f"   test accuracy: Keras {keras_acc:.4f}, scratch {scratch_acc:.4f}, "
          f"difference {100 * abs(keras_acc - scratch_acc):.2f} points (target < 2)")
    print(f"   the two models agree on {100 * np.mean(keras_pred == scratch_pred):.1f}% of the {len(y_test)} test images; "
          f"training time Keras {runs['keras'].seconds:.1f} s, scratch {runs['scratch'].seconds:.1f} s")
    return keras_acc, scratch_acc


def profile_scratch_epoch(batch_size: int = 32, top: int = 15) -> None:
    """cProfile one scratch training epoch (after a warm-up epoch) and print the most expensive functions."""
    import cProfile
    import pstats

    (x, y), _, _ = _load_pneumonia()
    model = seed_cnn("scratch", num_classes=2, seed=0)
    model.compile(optimizer=scratch.Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0, seed=0)
    profiler = cProfile.Profile()
    profiler.enable()
    model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0, seed=1)
    profiler.disable()
    print(f"\nProfile of one scratch epoch (batch {batch_size}, after a warm-up epoch), top {top} by own time:")
    pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats("tottime").print_stats(top)


def bench_epochs_both_settings(epochs: int, batch_size: int, peak: float, limit=None, blas_threads: int = 0) -> int:
    """Section 4 twice, each in a fresh process: Keras at TensorFlow's defaults, then with oneDNN off.

    TensorFlow reads ``TF_ENABLE_ONEDNN_OPTS`` once, at import, so one process cannot time both.
    Returns the first non-zero exit status of the two runs (0 when both ran).
    """
    status = 0
    for label, value in (("TensorFlow's defaults, as users run it", None), ("oneDNN off, labelled", "0")):
        env = dict(os.environ)
        env.pop("TF_ENABLE_ONEDNN_OPTS", None)
        if value is not None:
            env["TF_ENABLE_ONEDNN_OPTS"] = value
        command = [sys.executable, "-m", "cnncourse.bench", "--epochs-here", "--epochs", str(epochs),
                   "--batch-size", str(batch_size), "--peak", repr(peak), "--blas-threads", str(blas_threads)]
        if limit:
            command += ["--limit", str(limit)]
        print(f"\n[section 4 in a fresh process: Keras with {label}]", flush=True)
        status = status or subprocess.run(command, env=env, check=False).returncode
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnncourse.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller batches, a subset for the epoch timing")
    parser.add_argument("--parity-training", action="store_true", help="only the 5-epoch parity training")
    parser.add_argument("--epochs-only", action="store_true", help="only section 4, the epoch timing (both Keras settings)")
    parser.add_argument("--profile", action="store_true", help="also cProfile one scratch epoch")
    parser.add_argument("--epochs", type=int, default=None, help="timed epoch pairs per Keras setting (default 5, "
                                                                 "quick 2; at least 5 for the target's median)")
    parser.add_argument("--blas-threads", type=int, default=0,
                        help="BLAS threads for the NumPy engine (default 0: as the library and the user have them)")
    # Section 4's child processes (bench_epochs_both_settings): time the epochs here, with this environment's Keras.
    parser.add_argument("--epochs-here", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=32, help=argparse.SUPPRESS)
    parser.add_argument("--peak", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be a positive int, got {args.epochs}")
    if args.blas_threads < 0:
        parser.error(f"--blas-threads must be 0 (the library default) or a positive int, got {args.blas_threads}")
    epochs, limit = args.epochs or (2 if args.quick else 5), 1024 if args.quick else None
    with _blas_limit(args.blas_threads or None):
        if args.epochs_here:
            peak = args.peak if args.peak is not None else matmul_peak()
            bench_epochs(epochs=epochs, batch_size=args.batch_size, peak=peak, limit=args.limit)
            return 0
        _header()
        if args.parity_training:
            parity_training()
            return 0
        peak = bench_peak()
        if not args.epochs_only:
            if args.quick:
                bench_conv(batch=4, repeats=5, naive_repeats=1)
                bench_layers(batch=32, repeats=5, peak=peak)
                bench_step(batch=32, repeats=10)
            else:
                bench_conv(batch=32, repeats=20, naive_repeats=3)
                bench_layers(batch=32, repeats=30, peak=peak)
                bench_step(batch=32, repeats=50)
        status = bench_epochs_both_settings(epochs, 32, peak, limit, args.blas_threads)
        if args.profile:
            profile_scratch_epoch()
    return status


if __name__ == "__main__":
    sys.exit(main())
