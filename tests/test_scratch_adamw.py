"""AdamW of cnncourse.scratch: Keras's decoupled weight decay step by step, and why it is not Adam + L2."""

import numpy as np
import pytest
from conftest import optimizer_steps

from cnncourse import scratch

pytestmark = pytest.mark.usefixtures("single_threaded_blas")


ADAMW_CASES = [
    dict(),
    dict(learning_rate=0.01, weight_decay=0.1),
    dict(learning_rate=0.05, weight_decay=0.5, beta_1=0.8, beta_2=0.99, epsilon=1e-5),
    dict(learning_rate=0.002, weight_decay=0.0),
    # betas and rate exact in float32: no rounding difference between the engines at all
    dict(learning_rate=2.0**-6, weight_decay=0.25, beta_1=0.875, beta_2=0.984375, epsilon=2.0**-20),
]


@pytest.mark.parametrize("options", ADAMW_CASES, ids=[str(o) for o in ADAMW_CASES])
def test_adamw_steps_match_keras(options):
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(8)
    shapes = [(3, 2), (4,), (2, 2, 1, 3)]
    start = [rng.normal(size=shape) for shape in shapes]
    gradients = [[rng.normal(size=shape) for shape in shapes] for _ in range(5)]
    theirs = keras.optimizers.AdamW(**options)
    # Keras keeps the learning rate in a float32 variable and casts the betas through float32
    # (see test_scratch_keras_parity.py); weight_decay stays a Python float, cast exactly.
    rounded = {key: float(np.float32(value)) for key, value in options.items() if key != "weight_decay"}
    ours = scratch.AdamW(**{**options, **rounded, "learning_rate": float(theirs.learning_rate.numpy())})
    betas = [options.get("beta_1", 0.9), options.get("beta_2", 0.999)]
    exact = all(float(np.float32(value)) == value for value in betas)
    params = [p.copy() for p in start]
    variables = [keras.Variable(p.copy(), dtype="float64") for p in start]
    for step, step_gradients in enumerate(gradients, start=1):
        ours.apply_gradients(zip(step_gradients, params))
        theirs.apply_gradients([(tf.constant(g), v) for g, v in zip(step_gradients, variables)])
        # Otherwise Keras's float32 beta_2 in its bias correction makes each Adam step (at most
        # ~learning_rate long) differ by ~1e-5 relative, as in Adam's parity test; the decay is exact.
        atol = 1e-15 if exact else 2e-5 * ours.learning_rate * step
        for p, v, s in zip(params, variables, start):
            np.testing.assert_allclose(p - s, v.numpy() - s, rtol=1e-10 if exact else 2e-5, atol=atol)
    assert ours.iterations == int(theirs.iterations.numpy()) == 5


def test_adamw_rule_and_defaults():
    adamw = scratch.AdamW()
    assert (adamw.learning_rate, adamw.weight_decay, adamw.beta_1, adamw.beta_2, adamw.epsilon) == (
        0.001, 0.004, 0.9, 0.999, 1e-7)
    lr, wd = 0.01, 0.2
    gradients = [[0.5, -1.0], [0.3, 0.2], [-0.1, 0.4]]
    theta, m, v = np.array([1.0, 2.0]), np.zeros(2), np.zeros(2)
    for t, g in enumerate(map(np.array, gradients), start=1):
        theta = theta - lr * wd * theta  # decoupled: first the decay, from the loss-free weights
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        theta = theta - lr * np.sqrt(1 - 0.999**t) / (1 - 0.9**t) * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(optimizer_steps(scratch.AdamW(lr, weight_decay=wd), gradients, [1.0, 2.0]), theta, rtol=1e-14)
    np.testing.assert_allclose(optimizer_steps(scratch.AdamW(lr, weight_decay=0.0), gradients, [1.0, 2.0]),
                               optimizer_steps(scratch.Adam(lr), gradients, [1.0, 2.0]), rtol=1e-15)


def test_weight_decay_is_not_an_l2_term_for_adam():
    """The lesson: for SGD, decay and L2 are one rule; for Adam, L2 is normalised away."""
    lr, wd, steps = 0.01, 0.1, 50
    start = np.array([3.0, -2.0, 0.5])

    def l2_adam(weight_decay):
        theta, adam = start.copy(), scratch.Adam(lr)
        for _ in range(steps):  # the loss is 0.5 * weight_decay * ||theta||^2 only: its gradient is wd * theta
            adam.apply_gradients([(weight_decay * theta, theta)])
        return theta

    def adamw(weight_decay):
        theta, optimizer = start.copy(), scratch.AdamW(lr, weight_decay=weight_decay)
        for _ in range(steps):
            optimizer.apply_gradients([(np.zeros(3), theta)])  # no loss gradient: only the decay acts
        return theta

    # AdamW: exactly the decay (1 - lr * wd) per step, proportional to the weight
    np.testing.assert_allclose(adamw(wd), start * (1 - lr * wd) ** steps, rtol=1e-12)
    # Adam + L2: Adam divides the L2 gradient by its own scale, so each weight moves ~lr per step,
    # whatever its size and whatever the coefficient: 10x the L2 coefficient changes (almost) nothing
    moved_l2, moved_w = np.abs(start - l2_adam(wd)), np.abs(start - adamw(wd))
    assert np.all((0.8 * lr * steps < moved_l2) & (moved_l2 <= lr * steps))  # 3.0, 2.0 and 0.5 all move ~0.5
    np.testing.assert_allclose(moved_w / moved_w[0], np.abs(start) / 3.0, rtol=1e-12)  # AdamW: in proportion
    np.testing.assert_allclose(l2_adam(10 * wd), l2_adam(wd), rtol=1e-4)
    assert np.abs(adamw(10 * wd) - adamw(wd)).min() > 0.01
    assert np.abs(l2_adam(wd) - adamw(wd)).min() > 0.05

    # With a loss gradient too, the trajectories differ; for SGD, decay and L2 coincide.
    rng = np.random.default_rng(0)
    gradients = rng.normal(size=(20, 3)) * [10.0, 1.0, 0.1]
    theta_w, theta_l2 = start.copy(), start.copy()
    optimizer_w, optimizer_l2 = scratch.AdamW(lr, weight_decay=wd), scratch.Adam(lr)
    theta_sgd = start.copy()
    sgd = scratch.SGD(lr)
    theta_manual = start.copy()
    for g in gradients:
        optimizer_w.apply_gradients([(g, theta_w)])
        optimizer_l2.apply_gradients([(g + wd * theta_l2, theta_l2)])
        sgd.apply_gradients([(g + wd * theta_sgd, theta_sgd)])
        theta_manual = theta_manual - lr * wd * theta_manual - lr * g  # SGD with decoupled decay
    assert np.abs(theta_w - theta_l2).max() > 1e-3
    np.testing.assert_allclose(theta_sgd, theta_manual, rtol=1e-12)


def test_adamw_trains_a_sequential_and_decays_the_weights():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 5))
    y = (x[:, 0] > 0).astype(int)
    norms = {}
    for wd in (0.0, 1.0):
        model = scratch.Sequential([scratch.Dense(8, activation="relu", input_shape=(5,), seed=0),
                                    scratch.Dense(2, activation="softmax", seed=1)])
        model.compile(scratch.AdamW(0.01, weight_decay=wd), "sparse_categorical_crossentropy")
        model.fit(x, y, epochs=20, batch_size=8, verbose=0, seed=0)
        norms[wd] = np.linalg.norm(model.get_weights()[0])
    assert norms[1.0] < 0.95 * norms[0.0]


@pytest.mark.parametrize("make, error, message", [
    (lambda: scratch.AdamW(weight_decay=-0.1), ValueError, r"weight_decay must be in \[0.0, inf\), got -0.1"),
    (lambda: scratch.AdamW(weight_decay="0.1"), TypeError, "weight_decay must be a float, got str"),
    (lambda: scratch.AdamW(learning_rate=0.0), ValueError, r"learning_rate must be in \(0.0, inf\), got 0.0"),
    (lambda: scratch.AdamW(beta_2=1.0), ValueError, r"beta_2 must be in \[0.0, 1.0\), got 1.0"),
])
def test_bad_adamw_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_adamw_checks_every_pair_before_decaying_any():
    a = np.ones(2)
    with pytest.raises(ValueError, match=r"gradient must have the parameter's shape \(3,\), got \(2,\)"):
        scratch.AdamW(weight_decay=0.5).apply_gradients([(np.ones(2), a), (np.ones(2), np.ones(3))])
    np.testing.assert_array_equal(a, 1)
