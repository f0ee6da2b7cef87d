"""A Fashion-MNIST model is described as clothes, not digits: the pages take their words for one
image, its label and its style from the dataset the model saw (`ui/words.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers import HOME
from ui.words import CLOTHES, DIGITS, words
from vae.data import DEBIAN_FASHION_DIR

needs_fashion = pytest.mark.skipif(
    not DEBIAN_FASHION_DIR.exists(), reason="Debian's dataset-fashion-mnist is not installed (make test installs it)"
)


def test_words_per_dataset() -> None:
    assert words("mnist") is DIGITS and words("fashion-mnist") is CLOTHES
    assert (DIGITS.called(3), CLOTHES.called(2)) == ("digit 3", "Pullover")
    assert (DIGITS.an_item, CLOTHES.an_item, CLOTHES.plural, CLOTHES.span) == (
        "a digit",
        "an image",
        "classes",
        "T-shirt/top to Ankle boot",
    )


@pytest.fixture(scope="module")
def fashion_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `tiny` digit-conditioned model, one epoch on 2,000 Fashion-MNIST images."""
    from vae.checkpoint import save_checkpoint
    from vae.config import preset
    from vae.data import Dataset, load_dataset
    from vae.trainer import Trainer

    full = load_dataset("fashion-mnist", download=False)
    part = Dataset(full.name, full.train_x[:2000], full.train_y[:2000], full.test_x, full.test_y, full.source)
    config = preset("tiny").replace(epochs=1, dataset="fashion-mnist")
    trainer = Trainer(config, part, device="cpu", command="tests: fashion_checkpoint")
    trainer.run()
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-fashion.pt", trainer.to_checkpoint())


def shown_fashion(app_env: dict[str, str], fashion_checkpoint: Path) -> AppTest:
    """The home page with the Fashion-MNIST model picked in the sidebar."""
    import shutil

    shutil.copy(fashion_checkpoint, Path(app_env["VAE_CHECKPOINT_DIR"]) / fashion_checkpoint.name)
    at = AppTest.from_file(HOME, default_timeout=120).run()
    at.sidebar.selectbox(key="sidebar_model").select("tiny-fashion").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> list[str]:
    return [e.value for kind in ("subheader", "caption", "markdown", "info") for e in getattr(at, kind)]


@needs_fashion
def test_a_fashion_model_is_never_called_digits(app_env, fresh_streamlit_caches, fashion_checkpoint) -> None:
    at = shown_fashion(app_env, fashion_checkpoint)
    assert any("Ten classes in five styles" in h.value for h in at.subheader), texts(at)
    home = " ".join(m.value for m in at.markdown)
    assert "which* class it is looking at" in home and "sets the style" in home and "digit" not in home.lower()
    assert any("one class (T-shirt/top to Ankle boot)" in t for t in texts(at)), texts(at)

    at.switch_page("pages/2_Generate.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(h.value == "The same style, every class" for h in at.subheader), texts(at)
    assert any("with the class input" in t for t in texts(at)), texts(at)
    assert not [t for t in texts(at) if "digit" in t.lower()]
    assert "Download this image (PNG)" in {b.proto.label for b in at.get("download_button")}

    at.switch_page("pages/3_Latent_space.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("different classes written alike share a region" in c.value for c in at.caption), texts(at)

    at.switch_page("pages/5_Theory.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert {s.label for s in at.selectbox} >= {"From class", "To class"}
    captions = [img.caption for el in at.get("image") for img in el.proto.imgs]
    assert "Pullover" in " ".join(captions) or "Ankle boot" in " ".join(captions), captions
    assert not [c for c in captions if c.startswith("digit ") or c.startswith("X: a ")], captions
    assert "7 · Choosing the class" in {h.value for h in at.header}
    # The argument itself tells the tutorial's story of digits; what describes the model's own pictures does not.
    assert not [c.value for c in at.caption if "digit" in c.value.lower()]


def test_a_plain_vae_is_not_promised_a_digit_input(app_env, fresh_streamlit_caches, mnist) -> None:
    from vae.checkpoint import save_checkpoint
    from vae.config import preset
    from vae.trainer import Trainer

    trainer = Trainer(preset("tiny").replace(classification_weight=0.0, epochs=1), mnist, device="cpu")
    trainer.run()
    save_checkpoint(Path(app_env["VAE_CHECKPOINT_DIR"]) / "plain.pt", trainer.to_checkpoint())
    at = AppTest.from_file(HOME, default_timeout=120).run()
    at.sidebar.selectbox(key="sidebar_model").select("plain").run()
    home = " ".join(m.value for m in at.markdown)
    assert "The model shown here is a plain VAE" in home and "you can pick the digit yourself" not in home
    assert "Drag the style sliders." in [m.value for m in at.markdown]
    at.switch_page("pages/2_Generate.py").run()
    assert any(m.value.endswith("this plain VAE has no digit input.") for m in at.markdown)
    at.switch_page("pages/4_Reconstruct.py").run()
    assert any(i.value.endswith("its reconstruction appears here.") for i in at.info)
    assert not at.exception
