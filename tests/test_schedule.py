import math

import pytest

from vae.schedule import kl_weight, learning_rate


def test_constant_keeps_the_base_rate():
    assert [learning_rate(s, 100, 1e-3) for s in (0, 50, 99, 150)] == [1e-3] * 4


@pytest.mark.parametrize("schedule", ["cosine", "linear"])
def test_decays_run_from_the_base_rate_to_the_final_fraction(schedule):
    total = 101
    rates = [learning_rate(s, total, 1e-3, schedule, final_fraction=0.1) for s in range(total)]
    assert rates[0] == pytest.approx(1e-3)
    assert rates[-1] == pytest.approx(1e-4)
    assert rates[50] == pytest.approx(0.55e-3)  # halfway, both decays are at the middle of the range
    assert all(a >= b for a, b in zip(rates, rates[1:], strict=False))
    assert learning_rate(500, total, 1e-3, schedule, final_fraction=0.1) == pytest.approx(1e-4)  # past the end


def test_cosine_follows_half_a_cosine():
    total = 1001
    for step in (0, 100, 333, 700, 1000):
        expected = 1e-3 * 0.5 * (1 + math.cos(math.pi * step / (total - 1)))
        assert learning_rate(step, total, 1e-3, "cosine") == pytest.approx(expected)


def test_warmup_ramps_up_then_the_decay_starts_at_the_base_rate():
    rates = [learning_rate(s, 110, 1e-3, "linear", warmup_steps=10) for s in range(110)]
    assert rates[0] == pytest.approx(1e-4)
    assert rates[9] == pytest.approx(1e-3)
    assert rates[10] == pytest.approx(1e-3)
    assert rates[-1] == pytest.approx(0.0)


def test_kl_weight_ramps_then_holds():
    assert [kl_weight(s, 10) for s in (0, 5, 10, 20)] == [0.0, 0.5, 1.0, 1.0]
    assert [kl_weight(s, 4, start=3.0) for s in (0, 2, 4, 9)] == [3.0, 2.0, 1.0, 1.0]  # a ramp down works too
    assert kl_weight(0, 0) == 1.0  # no ramp: the plain ELBO from the first step


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: learning_rate(0, 0, 1e-3), "total_steps"),
        (lambda: learning_rate(-1, 10, 1e-3), "step"),
        (lambda: learning_rate(0, 10, 1e-3, "step"), "schedule must be one of"),
        (lambda: learning_rate(0, 10, 1e-3, "cosine", final_fraction=2), "final_fraction"),
        (lambda: learning_rate(0, 10, 1e-3, warmup_steps=10), "warmup_steps"),
        (lambda: kl_weight(0, -1), "ramp_steps"),
        (lambda: kl_weight(-1, 5), "step"),
        (lambda: kl_weight(0, 5, start=float("inf")), "start"),
    ],
)
def test_bad_arguments_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()
