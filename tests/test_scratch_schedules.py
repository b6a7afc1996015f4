"""Learning-rate schedules of cnncourse.scratch: CosineDecay against Keras, step by step, inside optimizers."""

import math

import numpy as np
import pytest

from cnncourse import scratch

pytestmark = pytest.mark.usefixtures("single_threaded_blas")

COSINE_CASES = [
    dict(initial_learning_rate=0.1, decay_steps=10),
    dict(initial_learning_rate=0.05, decay_steps=7, alpha=0.1),
    dict(initial_learning_rate=0.0, decay_steps=12, warmup_target=0.02, warmup_steps=5),
    dict(initial_learning_rate=1e-3, decay_steps=3, alpha=0.5, warmup_target=0.01, warmup_steps=4),
    dict(initial_learning_rate=0.01, decay_steps=5, warmup_target=0.03, warmup_steps=0),
    dict(initial_learning_rate=0.2, decay_steps=1, alpha=1.0),
]


@pytest.mark.parametrize("options", COSINE_CASES, ids=[str(o) for o in COSINE_CASES])
def test_cosine_decay_matches_keras_step_by_step(options):
    keras = pytest.importorskip("keras")
    ours = scratch.CosineDecay(**options)
    theirs = keras.optimizers.schedules.CosineDecay(**options)
    total = options["decay_steps"] + options.get("warmup_steps", 0)
    for step in range(total + 4):  # past the end, where the rate stays at alpha * peak
        # Keras computes in float32: agreement to float32's precision
        assert ours(step) == pytest.approx(float(theirs(step)), rel=1e-6, abs=1e-9), f"step {step}"


def test_cosine_decay_formula_at_landmarks():
    schedule = scratch.CosineDecay(0.1, decay_steps=10, alpha=0.2)
    assert schedule(0) == pytest.approx(0.1, rel=1e-15)
    assert schedule(5) == pytest.approx(0.1 * (0.8 * 0.5 + 0.2), rel=1e-15)  # half-way: cos(pi / 2) = 0
    assert schedule(10) == schedule(100) == pytest.approx(0.02, rel=1e-15)
    warm = scratch.CosineDecay(0.0, decay_steps=4, warmup_target=0.08, warmup_steps=4)
    assert [warm(step) for step in range(5)] == pytest.approx([0.0, 0.02, 0.04, 0.06, 0.08], rel=1e-15)
    assert warm(6) == pytest.approx(0.08 * 0.5 * (1 + math.cos(math.pi / 2)), rel=1e-15)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_optimizers_follow_a_schedule_as_keras_does(name):
    """The optimizer reads the schedule at ``iterations`` (0 for the first step), as Keras does."""
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    options = dict(initial_learning_rate=0.05, decay_steps=4, alpha=0.1, warmup_target=0.1, warmup_steps=2)
    extra = {"SGD": dict(momentum=0.5), "Adam": dict(beta_1=0.5, beta_2=0.75), "AdamW": dict(
        beta_1=0.5, beta_2=0.75, weight_decay=0.25)}[name]  # float32-exact, so only the rates can differ
    ours = getattr(scratch, name)(learning_rate=scratch.CosineDecay(**options), **extra)
    theirs = getattr(keras.optimizers, name)(learning_rate=keras.optimizers.schedules.CosineDecay(**options), **extra)
    rng = np.random.default_rng(0)
    start = rng.normal(size=(3, 2))
    theta, variable = start.copy(), keras.Variable(start.copy(), dtype="float64")
    for step in range(8):
        assert ours.learning_rate == pytest.approx(float(theirs.learning_rate), rel=1e-6)
        assert ours.learning_rate == scratch.CosineDecay(**options)(step)
        gradient = rng.normal(size=(3, 2))
        ours.apply_gradients([(gradient, theta)])
        theirs.apply_gradients([(tf.constant(gradient), variable)])
        # Keras's schedule runs in float32: ~1e-7 relative in each rate, ~1e-8 in each step (steps ~0.1)
        np.testing.assert_allclose(theta - start, variable.numpy() - start, rtol=1e-5, atol=1e-7)
    assert ours.iterations == int(theirs.iterations.numpy()) == 8


def test_float_learning_rates_are_unchanged_and_settable():
    sgd = scratch.SGD(0.1)
    assert sgd.learning_rate == 0.1 and isinstance(sgd.learning_rate, float)
    sgd.learning_rate = 0.5
    theta = np.ones(2)
    sgd.apply_gradients([(np.ones(2), theta)])
    np.testing.assert_allclose(theta, 0.5)
    with pytest.raises(ValueError, match=r"learning_rate must be in \(0.0, inf\), got -1"):
        sgd.learning_rate = -1
    assert sgd.learning_rate == 0.5


def test_a_scheduled_model_trains_with_the_scheduled_rates():
    schedule = scratch.CosineDecay(0.5, decay_steps=3)
    model = scratch.Sequential([scratch.Dense(1, input_shape=(2,), seed=0)])
    model.compile(scratch.SGD(schedule), "mse")
    x, y = np.array([[1.0, 2.0]]), np.array([[1.0]])
    for step in range(5):
        before = model.get_weights()
        _, grads = model.compute_gradients(x, y)
        model.train_on_batch(x, y)
        for old, new, grad in zip(before, model.get_weights(), grads):
            np.testing.assert_allclose(new, old - schedule(step) * grad, rtol=1e-6, atol=1e-7)
    assert model.optimizer.learning_rate == 0.0  # alpha = 0: the decay has ended


@pytest.mark.parametrize("options, error, message", [
    (dict(initial_learning_rate=0.1, decay_steps=0), ValueError, "decay_steps must be an int >= 1, got 0"),
    (dict(initial_learning_rate=0.1, decay_steps=2.5), TypeError, "decay_steps must be an int, got float"),
    (dict(initial_learning_rate=-0.1, decay_steps=5), ValueError, r"initial_learning_rate must be in \[0.0, inf\)"),
    (dict(initial_learning_rate="0.1", decay_steps=5), TypeError, "initial_learning_rate must be a float, got str"),
    (dict(initial_learning_rate=0.1, decay_steps=5, alpha=1.5), ValueError, r"alpha must be in \[0.0, 1.0\], got 1.5"),
    (dict(initial_learning_rate=0.1, decay_steps=5, warmup_target=-1.0), ValueError, "warmup_target must be in"),
    (dict(initial_learning_rate=0.1, decay_steps=5, warmup_steps=-2), ValueError, "warmup_steps must be an int >= 0"),
])
def test_bad_cosine_decay_arguments(options, error, message):
    with pytest.raises(error, match=message):
        scratch.CosineDecay(**options)


def test_bad_steps_and_learning_rates():
    schedule = scratch.CosineDecay(0.1, 10)
    with pytest.raises(ValueError, match=r"step must be in \[0.0, inf\), got -1"):
        schedule(-1)
    with pytest.raises(TypeError, match="learning_rate must be a float, got function"):
        scratch.Adam(learning_rate=lambda step: 0.1)
