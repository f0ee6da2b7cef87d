import json
import subprocess
import sys

import pytest

from vae.config import PRESETS, Config, preset

INVALID = [
    ("z_dim", 0),
    ("z_dim", 65),
    ("z_dim", 2.5),
    ("z_dim", True),
    ("encoder_layers", (0,)),
    ("encoder_layers", (128, -1)),
    ("decoder_layers", "128"),
    ("classifier_layers", (5000,)),
    ("activation", "swish"),
    ("likelihood", "poisson"),
    ("decoder_std", 0.0),
    ("decoder_std", float("nan")),
    ("beta", -1.0),
    ("classification_weight", -0.1),
    ("learning_rate", 0.0),
    ("learning_rate", float("inf")),
    ("batch_size", 0),
    ("epochs", 0),
    ("seed", -1),
    ("dataset", "cifar10"),
    ("augment", -0.5),
    ("augment", 3.0),
    ("elastic", float("nan")),
    ("kl_start", -1.0),
    ("kl_ramp", -1),
    ("kl_ramp", 1.5),
    ("kl_ramp", 21),  # longer than the seed preset's 20 epochs: the weight would never reach beta
]


def test_seed_preset_is_the_reference():
    c = preset("seed")
    assert (c.z_dim, c.encoder_layers, c.decoder_layers, c.classifier_layers) == (10, (128,), (128,), (128,))
    assert (c.activation, c.likelihood, c.decoder_std, c.classification_weight) == ("sigmoid", "gaussian", 0.5, 10.0)
    assert (c.learning_rate, c.batch_size, c.epochs, c.seed) == (1e-3, 100, 20, 42)
    assert (c.augment, c.kl_ramp) == (0.0, 0)  # the tutorial's objective, on the images as they are
    assert c.conditional


def test_the_offline_recipe_eases_the_kl_weight_to_beta_over_the_whole_run():
    from vae.config import offline_recipe

    c = offline_recipe(preset("seed"), 60)
    assert (c.epochs, c.kl_ramp, c.kl_start, c.beta) == (60, 60, 3.0, 1.0)
    assert c.model == preset("seed").model  # the same network and objective


@pytest.mark.parametrize(("field", "value"), INVALID)
def test_every_invalid_field_is_rejected_with_its_name(field, value):
    with pytest.raises(ValueError, match=field):
        preset("seed").replace(**{field: value})


def test_message_names_the_range():
    with pytest.raises(ValueError, match=r"z_dim must be 1\.\.64, got 0"):
        Config(z_dim=0)


@pytest.mark.parametrize("name", list(PRESETS))
def test_round_trip_through_a_plain_dict(name):
    c = PRESETS[name]
    assert Config.from_dict(json.loads(json.dumps(c.to_dict()))) == c


def test_unknown_fields_and_presets_are_rejected():
    with pytest.raises(ValueError, match="unknown config field"):
        Config.from_dict({"z_dim": 3, "hidden": 4})
    with pytest.raises(ValueError, match="unknown preset"):
        preset("huge")


def test_cli_info_prints_the_preset_as_json():
    out = subprocess.run(
        [sys.executable, "-m", "vae", "info", "--preset", "seed", "--json"], capture_output=True, text=True, check=True
    ).stdout
    d = json.loads(out)
    for key in ("z_dim", "encoder_layers", "decoder_layers", "classifier_layers", "activation", "likelihood"):
        assert key in d
    for key in ("decoder_std", "beta", "classification_weight", "learning_rate", "batch_size", "epochs"):
        assert key in d
    assert d["z_dim"] == 10 and d["encoder_layers"] == [128]
