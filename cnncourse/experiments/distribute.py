"""Training past one device with TensorFlow's own tools: ``tf.distribute`` and ``tf.data``.

``MirroredStrategy`` keeps one copy of the model per device (a *replica*), splits every
global batch between them, and sums the gradients across replicas before each update, so
N devices train like one device with an N times larger batch. The same code runs

* on one CPU or GPU (one replica);
* on several GPUs of one machine (``MirroredStrategy()`` finds them);
* on several CPU "logical devices" (``logical_cpus(2)``), which is how the tests check on a
  laptop that two replicas give the result of one;
* on several machines with ``tf.distribute.MultiWorkerMirroredStrategy``: every worker runs
  the same script with a ``TF_CONFIG`` environment variable that lists the workers and
  names its own index (see TensorFlow's "Multi-worker training with Keras" guide).

Nothing here needs a GPU; ``mixed_precision`` is refused where there is none.
"""

from __future__ import annotations

__all__ = ["logical_cpus", "make_strategy", "describe", "input_pipeline", "mixed_precision"]


def logical_cpus(count: int) -> list:
    """Split the CPU into ``count`` logical devices; call before TensorFlow uses any device.

    Returns the logical CPU devices. Raises ``RuntimeError`` when TensorFlow has already
    initialised its devices (configure it first thing in the process).
    """
    from ..backend import import_keras

    import_keras()
    import tensorflow as tf

    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive int, got {count!r}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError as error:
        raise RuntimeError(f"logical_cpus({count}) must run before TensorFlow initialises its devices: {error}") from None
    return tf.config.list_logical_devices("CPU")


def make_strategy(devices=None):
    """A ``tf.distribute.MirroredStrategy`` over ``devices`` (default: every GPU, else the CPU)."""
    from ..backend import import_keras

    import_keras()
    import tensorflow as tf

    if devices is None:
        gpus = tf.config.list_logical_devices("GPU")
        devices = [device.name for device in gpus] or [tf.config.list_logical_devices("CPU")[0].name]
    return tf.distribute.MirroredStrategy(devices=list(devices))


def describe(strategy=None) -> str:
    """A short name of where a strategy trains, e.g. ``"2 x CPU"``; None: where plain Keras trains (``"1 x GPU"``)."""
    if strategy is None:
        import tensorflow as tf

        return "1 x GPU" if tf.config.list_logical_devices("GPU") else "1 x CPU"
    devices = list(getattr(strategy.extended, "worker_devices", ()))
    kinds = sorted({device.split("device:")[-1].split(":")[0] for device in devices}) or ["CPU"]
    return f"{strategy.num_replicas_in_sync} x {'+'.join(kinds)}"


def input_pipeline(x, y, batch_size: int, seed: int, sample_weight=None, shuffle: bool = True):
    """A ``tf.data.Dataset`` of ``(x, y[, sample_weight])`` batches: shuffled every epoch, batched, prefetched.

    Parameters
    ----------
    x : float32 array (N, H, W, C); y : int array (N,)
    batch_size : int, the *global* batch: under a strategy, ``per-replica batch x replicas``
    seed : int, seeds the shuffle (reshuffled every epoch, reproducibly)
    sample_weight : float array (N,), optional, e.g. class weights per sample
    """
    import tensorflow as tf

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must hold the same, positive number of samples, got {len(x)} and {len(y)}")
    arrays = (x, y) if sample_weight is None else (x, y, sample_weight)
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    if shuffle:
        dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def mixed_precision(enable: bool) -> str:
    """Set Keras's global dtype policy: ``"mixed_float16"`` on a GPU, else ``"float32"``; returns it.

    Mixed precision computes in float16 and keeps the weights in float32; it speeds up GPUs
    with tensor cores and slows CPUs down, so asking for it without a GPU is an error.
    """
    from ..backend import import_keras

    keras = import_keras()
    import tensorflow as tf

    if enable and not tf.config.list_physical_devices("GPU"):
        raise ValueError("mixed precision needs a GPU, and TensorFlow sees none here")
    policy = "mixed_float16" if enable else "float32"
    keras.mixed_precision.set_global_policy(policy)
    return policy
