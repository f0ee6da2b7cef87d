"""The Latent space page: the map the browser draws (what Python sends it), clicks on it, t-SNE with its
disk cache, one digit up close, the decoded manifold, and models of every shape."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from tests import helpers

PAGE = "pages/3_Latent_space.py"
KINDS = {"f32": "<f4", "f16": "<f2", "i32": "<i4", "u8": "u1"}


def open_page(model: str | None = None) -> AppTest:
    at = helpers.open_page(PAGE)
    if model is not None:
        at.selectbox(key="sidebar_model").set_value(model).run()
    assert not at.exception, at.exception
    return at


def sent(at: AppTest, key: str = "lat_map") -> tuple[dict, dict[str, bytes]]:
    """The map component's spec and the parts attached to its last render, by name."""
    proto = next(c.proto for c in at.get("component_instance") if json.loads(c.proto.json_args).get("spec"))
    args = json.loads(proto.json_args)
    blob = {a.key: a.bytes for a in proto.special_args}.get("blob", b"")
    names = {digest: name for name, digest, _ in args["spec"]["parcels"]}
    parts, at_byte = {}, 0
    for digest, length in args["sent"]:
        parts[names[digest]] = blob[at_byte : at_byte + length]
        at_byte += length
    return args, parts


def everything(at: AppTest, key: str = "lat_map") -> tuple[dict, dict[str, bytes]]:
    """Every part of the map, as a fresh iframe gets them (it asks with a new token)."""
    at.session_state[key] = {"event": None, "need": f"token-{np.random.default_rng().integers(1 << 30)}"}
    at.run()
    assert not at.exception, at.exception
    return sent(at, key)


def array(args: dict, parts: dict[str, bytes], name: str) -> np.ndarray:
    kind = next(k for n, _, k in args["spec"]["parcels"] if n == name)
    return np.frombuffer(parts[name], dtype=KINDS[kind])


def save_model(folder: str, name: str, mnist, **changes) -> str:
    """An untrained model of the seed preset with `changes` (z_dim, classification_weight) beside the tiny one."""
    from vae.checkpoint import save_checkpoint
    from vae.config import preset
    from vae.model import ConditionalVAE
    from vae.run import RunView

    config = preset("seed").replace(**changes)
    torch.manual_seed(0)
    model = ConditionalVAE(config).eval()
    save_checkpoint(Path(folder) / f"{name}.pt", RunView(config, model, name, name, dataset=mnist.summary()))
    return name


@pytest.fixture
def wide_checkpoint(app_env: dict[str, str], mnist) -> str:
    """An untrained z_dim-10 model, saved with no encodings over training (as checkpoints before #21)."""
    return save_model(app_env["VAE_CHECKPOINT_DIR"], "wide", mnist)


def test_the_map_is_z_itself_with_every_test_digit_and_its_training(app_env, fresh_streamlit_caches, mnist):
    from ui import state

    at = open_page()
    args, parts = sent(at)
    spec = args["spec"]
    assert any("z itself" in c.value for c in at.caption) and spec["axes"] == ["z0", "z1"]
    index = array(args, parts, "index")
    assert sorted(index.tolist()) == list(range(len(mnist.test_y)))  # all 1,000 offline test digits
    np.testing.assert_array_equal(array(args, parts, "labels"), mnist.test_y.numpy()[index])
    shown = state.shown("tiny-test")
    with torch.no_grad():
        mu = shown.model.encode(mnist.test_x[torch.from_numpy(index.astype(np.int64))])[0].numpy()
    np.testing.assert_allclose(array(args, parts, "xy").reshape(-1, 2), mu, atol=1e-5)  # no projection
    assert spec["inverse"]["kind"] == "plane" and spec["inverse"]["axes"] == [[1.0, 0.0], [0.0, 1.0]]
    assert spec["prior"] == [0.0, 0.0]
    assert [o["key"] for o in spec["colour_options"]] == ["label", "guess", "slant", "thickness"]
    assert spec["decoder"]["in_browser"] and "decoder" in parts and "guesses" in parts
    # the tiny model's three epochs, each recorded (tests/conftest.py), on the same plane as today's
    assert spec["frames"]["epochs"] == [1, 2, 3] and spec["followed"] == 1000
    frames = array(args, parts, "frames").reshape(3, 1000, 2)
    np.testing.assert_allclose(frames, np.asarray(shown.maps, np.float32), atol=2e-3)  # float16 on the way


def test_each_part_goes_once_and_a_fresh_iframe_gets_them_all(app_env, fresh_streamlit_caches):
    at = open_page()
    args, parts = sent(at)
    assert len(parts) == len(args["spec"]["parcels"]) == 9
    assert sum(map(len, parts.values())) < 1_000_000  # the whole map for a browser: under 1 MB
    at.run()
    args, parts = sent(at)
    assert parts == {} and args["sent"] == []
    at.session_state["lat_map"] = {"event": None, "need": "token-1"}
    at.run()
    args, parts = sent(at)
    assert len(parts) == 9 and args["served"] == "token-1"
    at.run()
    assert sent(at)[1] == {}  # answered once


def test_a_click_on_a_dot_shows_that_digit_up_close(app_env, fresh_streamlit_caches, mnist):
    at = open_page()
    at.session_state["lat_map"] = {"event": {"iframe": "a", "n": 1, "kind": "pick", "index": 123}, "need": None}
    at.run()
    assert not at.exception
    assert at.number_input(key="lat_index").value == 123
    assert any(f"**Label:** {int(mnist.test_y[123])}" in m.value for m in at.markdown)
    args, _ = sent(at)
    assert args["spec"]["picked"] is not None  # ringed on the map
    at.number_input(key="lat_index").set_value(5).run()  # the same click value again is not a new click
    assert at.number_input(key="lat_index").value == 5


def test_a_click_on_empty_space_opens_that_z_in_generate(app_env, fresh_streamlit_caches):
    at = open_page()
    click = {"iframe": "a", "n": 1, "kind": "generate", "z": [1.25, -0.5], "digit": 3, "xy": [1.25, -0.5]}
    at.session_state["lat_map"] = {"event": click, "need": None}
    at.run()
    assert not at.exception
    assert any("the latent map at (1.25, -0.50)" in s.value for s in at.success)
    assert at.session_state["gen_initial"]["z"] == [1.25, -0.5] and at.session_state["gen_initial"]["digit_a"] == 3


def test_open_in_generate_hands_over_z_and_digit(app_env, fresh_streamlit_caches):
    from ui import digits, state

    at = open_page()
    at.number_input(key="lat_index").set_value(7).run()
    at.button(key="lat_to_gen").click().run()
    assert not at.exception
    assert any("test digit #7" in s.value for s in at.success)
    shown = state.shown("tiny-test")
    mu = digits.encodings(shown.key, shown.model, "mnist")["mu"][7]
    np.testing.assert_allclose(at.session_state["gen_initial"]["z"], mu, rtol=1e-6)


def test_manifold_of_a_2d_latent_space_follows_the_chosen_digit(app_env, fresh_streamlit_caches):
    at = open_page()
    manifold = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert manifold["data"][0]["type"] == "image"
    axes = manifold["layout"]["xaxis"]["title"]["text"], manifold["layout"]["yaxis"]["title"]["text"]
    assert axes == ("z0", "z1")  # the map's axes, and the sliders' names
    at.selectbox(key="lat_manifold_digit-mnist").set_value(7).run()
    assert json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["source"] != manifold["data"][0]["source"]


def test_a_run_saved_without_its_map_over_training_says_so(app_env, fresh_streamlit_caches, wide_checkpoint):
    args, parts = everything(open_page(wide_checkpoint))
    assert args["spec"]["frames"] is None and "frames" not in parts
    assert "kept no encodings over training" in args["spec"]["note"]
    assert args["spec"]["axes"][0].startswith("PC 1 (")


def test_tsne_runs_once_with_progress_and_is_read_back_from_disk(
    app_env, fresh_streamlit_caches, wide_checkpoint, monkeypatch
):
    from ui import tsne_jobs
    from vae import projection

    calls = []

    def counted(mu, *args, **kwargs):
        calls.append(len(mu))
        return projection.tsne(mu, *args, **kwargs)

    monkeypatch.setattr(tsne_jobs, "tsne", counted)
    monkeypatch.setattr(projection, "TSNE_ITERS", (50, 50))  # a second, not a few
    monkeypatch.setattr(tsne_jobs, "TSNE_ITERS", (50, 50))
    at = open_page(wide_checkpoint)
    at.radio(key="lat_method").set_value("t-SNE").run()
    assert not at.exception and calls == [1000]
    args, parts = sent(at)
    spec = args["spec"]
    assert spec["axes"] == ["t-SNE 1", "t-SNE 2"] and spec["inverse"]["kind"] == "nearest"
    assert spec["frames"] is None and "PCA" in spec["note"] and spec["prior"] is None
    assert len(array(args, parts, "z")) == 1000 * 10  # each point's z, for the way back
    kept = list((Path(app_env["VAE_CHECKPOINT_DIR"]) / "cache").glob("wide-*-tsne.npz"))
    assert len(kept) == 1
    tsne_jobs.forget()  # as after a restart: only the disk remembers
    at.radio(key="lat_method").set_value("PCA").run()
    at.radio(key="lat_method").set_value("t-SNE").run()
    assert calls == [1000]  # read back, not computed again
    kept[0].write_bytes(b"damaged")
    tsne_jobs.forget()
    at.radio(key="lat_method").set_value("PCA").run()
    at.radio(key="lat_method").set_value("t-SNE").run()
    assert not at.exception and calls == [1000, 1000]  # a damaged file is computed again


def test_a_failed_tsne_is_a_message(app_env, fresh_streamlit_caches, wide_checkpoint, monkeypatch):
    from ui import tsne_jobs

    def broken(*args, **kwargs):
        raise MemoryError("no room")

    monkeypatch.setattr(tsne_jobs, "tsne", broken)
    at = open_page(wide_checkpoint)
    at.radio(key="lat_method").set_value("t-SNE").run()
    assert not at.exception
    assert "t-SNE failed (MemoryError: no room)" in at.error[0].value


@pytest.mark.parametrize(
    ("changes", "options", "axes"),
    [
        ({"classification_weight": 0.0}, ["label", "slant", "thickness"], "PC 1 ("),  # no classifier: no guess
        ({"z_dim": 1}, ["label", "guess", "slant", "thickness"], "z0"),
        ({"z_dim": 64}, ["label", "guess", "slant", "thickness"], "PC 1 ("),
        ({"decoder_layers": (2048, 1024)}, ["label", "guess", "slant", "thickness"], "PC 1 ("),
    ],
    ids=["plain-vae", "z_dim-1", "z_dim-64", "decoder-too-large-for-browsers"],
)
def test_models_of_every_shape_get_a_map(app_env, fresh_streamlit_caches, mnist, changes, options, axes):
    name = save_model(app_env["VAE_CHECKPOINT_DIR"], "odd", mnist, **changes)
    args, parts = everything(open_page(name))
    spec = args["spec"]
    assert [o["key"] for o in spec["colour_options"]] == options
    assert spec["axes"][0].startswith(axes)
    xy = array(args, parts, "xy").reshape(-1, 2)
    assert xy.shape == (1000, 2) and np.isfinite(xy).all()
    assert len(spec["inverse"]["mean"]) == spec["decoder"]["z_dim"] == changes.get("z_dim", 10)
    if changes.get("z_dim") == 1:
        assert (xy[:, 1] == 0).all()
    if "classification_weight" in changes:
        assert not spec["decoder"]["conditional"] and "guesses" not in parts
    # 11.8 MB of weights would go to every browser after each epoch: the map stays, hovering space says why
    too_large = "decoder_layers" in changes
    assert spec["decoder"]["in_browser"] is not too_large and ("decoder" in parts) is not too_large
    assert ("too large to run in your browser" in spec["decoder"]["why_not"]) is too_large


def test_without_its_frontend_the_map_is_a_plain_scatter(app_env, fresh_streamlit_caches, monkeypatch, tmp_path):
    from ui import latent_map

    monkeypatch.setattr(latent_map, "FRONTEND_DIR", tmp_path / "missing")
    at = open_page()
    assert "could not load" in at.info[0].value
    scatter = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert sum(1 for t in scatter["data"] if t["name"] in [str(d) for d in range(10)]) == 10


def test_the_live_run_replays_its_epochs_so_far_and_its_tsne_stays_in_memory(app_env, fresh_streamlit_caches):
    from ui import state
    from vae.config import preset

    trainer = state.lab().start(preset("tiny").replace(epochs=2, z_dim=3))
    trainer.join(120)
    at = open_page()
    at.sidebar.selectbox(key="sidebar_model").select(state.LIVE_CHOICE).run()
    args, parts = everything(at)
    assert args["spec"]["frames"]["epochs"] == [1, 2] and args["spec"]["axes"][0].startswith("PC 1")
    assert array(args, parts, "frames").shape == (2 * 1000 * 2,)
    at.radio(key="lat_method").set_value("t-SNE").run()
    assert not at.exception and sent(at)[0]["spec"]["inverse"]["kind"] == "nearest"
    assert not (Path(app_env["VAE_CHECKPOINT_DIR"]) / "cache").exists()  # a live run's map is not kept on disk
