import pytest
import torch

from vae.judge import accuracy, module_device, predict
from vae.knn_judge import KNNJudge


def _flat(values: list[float]) -> torch.Tensor:
    """Images that are one grey level each: (len(values), 784), a line in pixel space."""
    return torch.tensor(values).unsqueeze(1).repeat(1, 784)


def test_it_recognises_real_digits(mnist):
    judge = KNNJudge.fit(mnist.train_x, mnist.train_y)
    assert accuracy(judge, mnist.test_x, mnist.test_y) >= 0.92  # measured: 0.944
    assert module_device(judge).type == "cpu" and not list(judge.parameters())
    fractions = judge(mnist.test_x[:50]).softmax(dim=1)  # (50, 10)
    assert torch.allclose(fractions.sum(dim=1), torch.ones(50))
    # Each row is a vote: counts of neighbours over how many were counted (1 to 10).
    for row in fractions:
        assert any(((row * n - (row * n).round()).abs() < 1e-4).all() for n in range(1, 11))


def test_a_tie_goes_to_the_nearer_neighbours():
    # Training images at grey levels 0.1, 0.2, 0.3, 0.4 with classes 0, 1, 1, 0; a query at 0.1.
    judge = KNNJudge.fit(_flat([0.1, 0.2, 0.3, 0.4]), torch.tensor([0, 1, 1, 0]), dims=1, k=4)
    query = _flat([0.1])
    # All 4: two votes each. Drop the farthest (class 0): class 1 leads, 2 of the 3 counted.
    assert predict(judge, query).tolist() == [1]
    assert judge(query).softmax(dim=1)[0, :2].tolist() == pytest.approx([1 / 3, 2 / 3])
    two = KNNJudge.fit(_flat([0.1, 0.2, 0.3, 0.4]), torch.tensor([0, 1, 1, 0]), dims=1, k=2)
    assert predict(two, query).tolist() == [0]  # 1-1: the nearest alone decides
    assert two(query).softmax(dim=1)[0, 0].item() == pytest.approx(1.0)


def test_clear_errors():
    x, y = _flat([0.1, 0.2]), torch.tensor([0, 1])
    with pytest.raises(ValueError, match="k must be 1..2"):
        KNNJudge.fit(x, y, dims=1, k=3)
    with pytest.raises(ValueError, match="dims must be"):
        KNNJudge.fit(x, y, dims=0)
    with pytest.raises(ValueError, match="expected images"):
        KNNJudge.fit(torch.rand(2, 28, 28), y)
