import pytest
import torch
from torch.nn import functional as F

from vae.augment import Warps, _base_grid, _upsampler, augment


def digits(n: int = 8) -> torch.Tensor:
    """(n, 784) images in [0, 1]: a filled 8x6 block at a different place in each."""
    x = torch.zeros(n, 28, 28)
    for i in range(n):
        x[i, 8 + i % 4 : 16 + i % 4, 10 + i % 3 : 16 + i % 3] = 1.0
    return x.reshape(n, 784)


def centre_of_mass(x: torch.Tensor) -> torch.Tensor:
    """(B, 784) -> (B, 2): the (column, row) of each image's centre of mass, in pixels."""
    img = x.reshape(-1, 28, 28)
    idx = torch.arange(28, dtype=x.dtype)
    mass = img.sum(dim=(1, 2))
    return torch.stack([(img.sum(1) * idx).sum(1) / mass, (img.sum(2) * idx).sum(1) / mass], 1)


def test_the_sampling_grid_and_the_upsampling_match_pytorch_s_reference_functions():
    theta = torch.randn(5, 2, 3, dtype=torch.float64)
    reference = F.affine_grid(theta, [5, 1, 28, 28], align_corners=False)  # (5, 28, 28, 2)
    ours = (_base_grid() @ theta.transpose(1, 2)).reshape(5, 28, 28, 2)
    assert torch.allclose(ours, reference, atol=1e-12)
    coarse = torch.randn(3, 2, 4, 4, dtype=torch.float64)
    up = _upsampler(4)
    reference = F.interpolate(coarse, size=(28, 28), mode="bicubic", align_corners=True)
    assert torch.allclose(up @ coarse @ up.T, reference, atol=1e-12)


def test_no_warp_at_all_returns_the_image():
    x = digits()
    g = torch.Generator().manual_seed(0)
    assert torch.equal(augment(x, g, strength=0.0), x)
    none = Warps(degrees=0, scale=0, shift=0, elastic=0)
    assert torch.allclose(augment(x, g, none), x, atol=1e-6)  # the grid hits every pixel centre


def test_warps_are_seeded_stay_in_range_and_differ_per_image():
    x = digits().repeat(4, 1)  # (32, 784): every image four times
    for warps in (Warps(), Warps(elastic=1.5)):
        a = augment(x, torch.Generator().manual_seed(1), warps)
        b = augment(x, torch.Generator().manual_seed(1), warps)
        c = augment(x, torch.Generator().manual_seed(2), warps)
        assert a.shape == x.shape and a.dtype == x.dtype
        assert torch.equal(a, b)
        assert not torch.allclose(a, c)
        assert a.min() >= 0 and a.max() <= 1
        assert not torch.allclose(a[:8], a[8:16])  # the same image, warped differently


def test_a_shift_moves_each_image_by_at_most_the_shift():
    x = digits().repeat(8, 1)  # (64, 784)
    shifted = augment(x, torch.Generator().manual_seed(0), Warps(degrees=0, scale=0, shift=2.0))
    moved = centre_of_mass(shifted) - centre_of_mass(x)  # (64, 2) pixels
    assert moved.abs().max() <= 2.0 + 1e-4
    assert moved.abs().mean() > 0.5  # uniform in [-2, 2]: 1 px on average
    half = augment(x, torch.Generator().manual_seed(0), Warps(degrees=0, scale=0, shift=2.0), strength=0.5)
    assert torch.allclose(centre_of_mass(half) - centre_of_mass(x), moved / 2, atol=1e-3)


def test_elastic_distortion_moves_pixels_by_about_the_asked_amount():
    # The elastic field alone on the identity grid: how far each pixel reads from, on average.
    g = torch.Generator().manual_seed(0)
    up = _upsampler(4).float()
    field = up @ torch.randn((2000, 2, 4, 4), generator=g) @ up.T  # in units of `elastic`
    assert 0.7 < field.std().item() < 0.9  # the docstring's "about 0.8 x"
    x = digits()
    bent = augment(x, torch.Generator().manual_seed(0), Warps(degrees=0, scale=0, shift=0, elastic=1.5))
    assert not torch.allclose(bent, x, atol=1e-3)
    assert (bent.sum(1) > 0.5 * x.sum(1)).all()  # bent (the area stretches or shrinks), not erased


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: augment(torch.zeros(2, 28, 28), torch.Generator()), "shape"),
        (lambda: augment(torch.zeros(2, 784), torch.Generator(), strength=-1), "strength"),
        (lambda: augment(torch.zeros(2, 784), torch.Generator(), strength=float("nan")), "strength"),
        (lambda: Warps(scale=1.0), "scale"),
        (lambda: Warps(degrees=-5), "degrees"),
        (lambda: Warps(elastic_cells=1), "elastic_cells"),
    ],
)
def test_bad_arguments_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_an_empty_batch_is_fine():
    assert augment(torch.zeros(0, 784), torch.Generator()).shape == (0, 784)
