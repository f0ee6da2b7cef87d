"""The Train page: AppTest for the form, the controls and saving; a real Chromium for what only a browser shows
(the live refresh every second, and two browsers watching one run)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from bench.harness import wait_for_app
from tests.helpers import start_run_in_browser, write_mnist_stand_in
from ui import state
from vae import memory
from vae.checkpoint import load_checkpoint, save_checkpoint
from vae.config import Config
from vae.run import RunState

HOME = str(Path(__file__).resolve().parent.parent / "explorer_app.py")


def _page() -> AppTest:
    """The Train page entered through the home page, as a browser does (the sidebar's page links
    resolve against the entry point)."""
    at = AppTest.from_file(HOME, default_timeout=120).run()
    at.switch_page("pages/1_Train.py").run()
    assert not at.exception, at.exception
    return at


def _texts(at: AppTest) -> str:
    return "\n".join(m.value for m in [*at.markdown, *at.caption, *at.info, *at.warning, *at.error, *at.success])


def _start(at: AppTest, preset: str = "tiny", **fields) -> None:
    at.selectbox(key="train_preset").select(preset).run()
    for name, value in fields.items():
        widget = at.text_input(key=f"train_{name}") if name.endswith("layers") else at.number_input(key=f"train_{name}")
        widget.set_value(value)
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception


@pytest.fixture
def page(app_env, fresh_streamlit_caches) -> AppTest:
    return _page()


def test_renders_the_saved_models_history_and_a_seed_form(page):
    at = page
    assert at.title[0].value.endswith("Train")
    assert at.number_input(key="train_z_dim").value == 10  # the `seed` preset is the default
    assert at.text_input(key="train_encoder_layers").value == "128"
    # No run: the sidebar's checkpoint is shown, with its curves and its 3-epoch sample grid.
    assert any("How “tiny-test” learned" in s.value for s in at.subheader)
    assert len(at.get("plotly_chart")) == 3  # the overview, and (in the expander) per-step and per-epoch curves
    grids = [h for h in at.get("html") if 'class="sample-grid"' in h.proto.body]
    assert len(grids) == 1 and 'src="data:image/png;base64,' in grids[0].proto.body


def test_choosing_a_preset_fills_the_form(page):
    at = page
    at.selectbox(key="train_preset").select("classic").run()
    assert at.number_input(key="train_z_dim").value == 20
    assert at.text_input(key="train_encoder_layers").value == "400"
    assert at.text_input(key="train_classifier_layers").value == ""
    assert at.selectbox(key="train_likelihood").value == "bernoulli"
    assert at.number_input(key="train_classification_weight").value == 0.0


def test_offline_the_seed_preset_runs_the_offline_recipe_and_says_why_in_one_sentence(page):
    """Offline, `mnist` is the 4,000-digit subset: the default run is the seed model trained by
    `offline_recipe` (the tutorial's 20 epochs drew blobs: the digit picker picked nothing)."""
    at = page  # app_env: no MNIST on disk
    assert at.selectbox(key="train_preset").value == "seed"
    assert at.number_input(key="train_epochs").value == 150
    assert at.number_input(key="train_kl_start").value == 3.0 and at.number_input(key="train_kl_ramp").value == 150
    assert at.number_input(key="train_beta").value == 1.0 and at.number_input(key="train_augment").value == 0.0
    why = [m.value for m in at.markdown if "training digits, not the tutorial's" in m.value]
    assert len(why) == 1 and "150 epochs show the model 600,000 digits" in why[0], why
    assert "the KL weight starts at 3 and eases to β = 1" in why[0], why
    box = at.selectbox(key="train_preset")
    assert box.format_func("seed").endswith("(on this server: 150 epochs, KL weight 3 → β)")
    assert "on this server" not in box.format_func("tiny")
    at.selectbox(key="train_preset").select("tiny").run()
    assert at.number_input(key="train_epochs").value == 2 and not [
        m for m in at.markdown if "training digits, not the tutorial's" in m.value
    ]


def test_changing_the_epochs_alone_keeps_the_kl_ramp_inside_the_run(page):
    """The offline seed preset eases the KL weight over the whole run: a student who changes only the
    epochs must not get a Start that fails because the ramp is now longer than the run."""
    at = page
    assert at.number_input(key="train_kl_ramp").value == at.number_input(key="train_epochs").value == 150
    at.number_input(key="train_epochs").set_value(60).run()
    assert at.number_input(key="train_kl_ramp").value == 60  # still the whole run
    at.number_input(key="train_kl_ramp").set_value(50).run()
    at.number_input(key="train_epochs").set_value(100).run()
    assert at.number_input(key="train_kl_ramp").value == 50  # a ramp of its own is left alone...
    at.number_input(key="train_epochs").set_value(40).run()
    assert at.number_input(key="train_kl_ramp").value == 40  # ...unless the run became shorter than it
    at.number_input(key="train_kl_ramp").set_value(0).run()
    at.number_input(key="train_epochs").set_value(30).run()
    assert at.number_input(key="train_kl_ramp").value == 0


def test_the_preset_box_names_what_the_fields_hold_and_a_second_pick_refills_them(app_env, fresh_streamlit_caches):
    """After a `tiny` run, a fresh browser showed "seed" in the preset box over tiny's fields, and picking
    seed did nothing (the same value): a run started "as seed" trained the tiny model."""
    at = _page()
    _start(at, "tiny", epochs=1)
    state.lab().trainer.join(60)
    fresh = _page()  # another browser: its fields come from the live run
    assert fresh.number_input(key="train_z_dim").value == 2
    assert fresh.selectbox(key="train_preset").value == "custom"  # tiny with 1 epoch: no preset, not "seed"
    fresh.selectbox(key="train_preset").select("seed").run()
    assert (
        fresh.number_input(key="train_z_dim").value == 10
        and fresh.text_input(key="train_encoder_layers").value == "128"
    )
    fresh.number_input(key="train_z_dim").set_value(4).run()
    fresh.selectbox(key="train_preset").select("seed").run()  # picked again: fills again
    assert fresh.number_input(key="train_z_dim").value == 10


def test_with_full_mnist_on_disk_there_is_no_offline_hint(app_env, fresh_streamlit_caches):
    write_mnist_stand_in(Path(app_env["VAE_DATA_DIR"]))
    at = _page()
    assert at.selectbox(key="train_dataset").value == "mnist"
    assert at.number_input(key="train_epochs").value == 20  # the tutorial's own: full MNIST is here
    assert at.number_input(key="train_kl_ramp").value == 0
    assert not [m for m in at.markdown if "training digits, not the tutorial's" in m.value]


@pytest.mark.parametrize(
    ("layers", "message"),
    [("64, x", "Encoder hidden layers: write whole numbers"), ("0, 64", "Encoder hidden layers (encoder_layers)")],
)
def test_an_invalid_field_gives_a_readable_error_and_starts_nothing(page, layers, message):
    at = page
    _start(at, encoder_layers=layers)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert state.lab().trainer is None


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("learning_rate", 20.0, "Learning rate (Adam) (learning_rate) must be in (0, 10], got 20"),
        ("z_dim", 100, "(z_dim) must be 1..64, got 100"),
        ("epochs", 0, "(epochs) must be 1..1000, got 0"),
    ],
)
def test_a_number_out_of_range_is_refused_with_its_range(page, name, value, message):
    """The fields have no min/max of their own (a browser refuses such a form's Start in silence):
    the config's check answers."""
    _start(page, **{name: value})
    assert any(message in e.value for e in page.error), [e.value for e in page.error]
    assert state.lab().trainer is None


def test_a_run_with_a_very_high_learning_rate_is_warned_about(page):
    _start(page, learning_rate=0.5, epochs=1)
    assert state.lab().trainer.join(60)
    page.run()
    assert any("learning rate, 0.5, is far above Adam's usual 0.001" in w.value for w in page.warning)
    page.checkbox(key=f"train_discard_{state.lab().trainer.run_id}").check()
    _start(page, learning_rate=0.001, epochs=1)
    assert state.lab().trainer.join(60) and state.lab().trainer.config.learning_rate == 0.001
    page.run()
    assert not any("far above" in w.value for w in page.warning)


def test_a_device_this_machine_lacks_gives_a_readable_error(page, monkeypatch):
    monkeypatch.setenv("VAE_DEVICE", "gpu")  # the server's setting, read when a run starts
    at = page
    _start(at)
    assert any("Could not start training: VAE_DEVICE='gpu' is not a device" in e.value for e in at.error)
    assert state.lab().trainer is None


def test_a_model_too_large_for_this_machine_is_refused_and_the_live_run_keeps_going(page):
    at = page
    _start(at, epochs=1000)
    trainer = state.lab().trainer
    largest = ", ".join(["4096"] * 8)  # the most the form allows, for each of the three networks
    big = Config(encoder_layers=(4096,) * 8, decoder_layers=(4096,) * 8, classifier_layers=(4096,) * 8, batch_size=4000)
    if memory.training_bytes(big, 4000) <= memory.FIT_FRACTION * memory.available_bytes(torch.device("cpu")):
        pytest.skip("this machine has room for it")
    for name in ("encoder_layers", "decoder_layers", "classifier_layers"):
        at.text_input(key=f"train_{name}").set_value(largest)
    at.number_input(key="train_batch_size").set_value(4000)
    at.checkbox(key=f"train_replace_{trainer.run_id}").check()  # in the form: sent with its submit button
    at.button(key="train_start").click().run()
    assert any("Could not start training: this model is too large to train here" in e.value for e in at.error)
    assert state.lab().trainer is trainer and trainer.state is RunState.RUNNING  # the class's run goes on
    trainer.stop()
    assert trainer.join(30)


def test_start_pause_resume_stop_and_confirm_before_replacing(page):
    at = page
    _start(at, epochs=200)
    trainer = state.lab().trainer
    assert trainer is not None and trainer.config.z_dim == 2 and trainer.config.epochs == 200
    assert at.session_state["model_choice"] == state.LIVE_CHOICE  # the sidebar follows the new run
    assert "Training" in _texts(at)
    assert re.match(r"\d+ of 200 epochs done · step \d+ of 40 in epoch \d+ ", at.progress[0].proto.text)

    at.button(key="train_pause").click().run()
    assert trainer.state is RunState.PAUSED and "Paused" in _texts(at)
    step = trainer.step
    time.sleep(0.3)
    assert trainer.step == step  # really paused
    at.button(key="train_resume").click().run()
    assert trainer.state is RunState.RUNNING

    # A second Start while the run is live asks first and keeps the run.
    at.button(key="train_start").click().run()
    assert any("To replace it" in w.value for w in at.warning)
    assert state.lab().trainer is trainer

    at.button(key="train_stop").click().run()
    assert trainer.join(30)
    at.run()
    assert trainer.state is RunState.STOPPED and "Stopped" in _texts(at)
    assert not at.exception


def test_a_start_asks_before_it_discards_an_ended_run_that_was_not_saved(page):
    at = page
    _start(at, epochs=1)
    first = state.lab().trainer
    assert first.join(60)
    at.run()
    at.button(key="train_start").click().run()  # the finished run is not saved: asked, and kept
    assert any("is not saved, and a new run replaces it" in w.value for w in at.warning)
    assert state.lab().trainer is first
    at.text_input(key="train_save_name").set_value("kept")
    at.button(key="train_save").click().run()
    assert not at.error, [e.value for e in at.error]
    assert not any(c.key == f"train_discard_{first.run_id}" for c in at.checkbox)  # saved: nothing to confirm
    at.button(key="train_start").click().run()
    second = state.lab().trainer
    assert second is not first and second.join(60)
    at.run()
    at.checkbox(key=f"train_discard_{second.run_id}").check()  # ticked: it goes
    at.button(key="train_start").click().run()
    assert state.lab().trainer not in (first, second) and not at.exception


def test_save_refuses_a_bad_name_and_an_existing_one_then_writes_the_file(page, app_env):
    at = page
    _start(at, epochs=1)
    assert state.lab().trainer.join(120)
    at.run()
    assert "Finished" in _texts(at)
    at.text_input(key="train_save_name").set_value("../x")
    at.button(key="train_save").click().run()
    assert any("Invalid checkpoint name" in e.value for e in at.error)
    at.text_input(key="train_save_name").set_value("tiny-test")
    at.button(key="train_save").click().run()
    assert any("exists already" in e.value for e in at.error)
    at.text_input(key="train_save_name").set_value("live run")  # the picker could not tell it from the run
    at.button(key="train_save").click().run()
    assert any("is the sidebar's name for the run itself" in e.value for e in at.error)
    assert not (Path(app_env["VAE_CHECKPOINT_DIR"]) / "live run.pt").exists()
    at.text_input(key="train_save_name").set_value("my first vae")
    at.button(key="train_save").click().run()
    saved = Path(app_env["VAE_CHECKPOINT_DIR"]) / "my first vae.pt"
    assert saved.is_file() and load_checkpoint(saved).epoch == 1
    assert any("Saved as “my first vae”" in s.value for s in at.success)
    assert not at.exception


def test_deleting_a_checkpoint_asks_first_then_removes_the_file_everywhere(page, app_env):
    folder = Path(app_env["VAE_CHECKPOINT_DIR"])
    (folder / "old run.pt").write_bytes((folder / "tiny-test.pt").read_bytes())
    at = page.run()
    assert at.selectbox(key="train_delete_name").options == ["old run", "tiny-test"]  # newest first
    at.selectbox(key="train_delete_name").set_value("old run")
    at.button(key="train_delete").click().run()
    assert any("Tick “Yes, delete it for good”" in w.value for w in at.warning)
    assert (folder / "old run.pt").is_file()

    at.selectbox(key="train_delete_name").set_value("old run")
    at.checkbox(key="train_delete_sure").check()
    at.button(key="train_delete").click().run()
    assert any("Deleted “old run”" in m.value for m in at.success)
    assert not (folder / "old run.pt").exists() and (folder / "tiny-test.pt").is_file()
    assert at.selectbox(key="train_delete_name").options == ["tiny-test"]
    assert "old run" not in at.sidebar.selectbox(key="sidebar_model").options
    assert not at.checkbox(key="train_delete_sure").value  # the next deletion asks again
    assert not at.exception


def test_an_autosave_that_fails_is_a_warning_and_the_run_finishes(page, app_env):
    (Path(app_env["VAE_CHECKPOINT_DIR"]) / "autosave").write_text("a file where the autosave folder goes")
    _start(page, epochs=2)
    trainer = state.lab().trainer
    assert trainer.join(60) and trainer.state is RunState.FINISHED
    page.run()
    warning = next(w.value for w in page.warning if "could not be autosaved" in w.value)
    assert warning.startswith("Epoch 2 could not be autosaved: Could not write") and "Training goes on" in warning
    assert "Finished" in _texts(page) and not page.error and not page.exception


def test_clearing_streamlits_caches_keeps_the_live_run(page):
    """ "Clear caches" in Streamlit's menu (key C) empties st.cache_resource for every user: the run
    must not vanish from every page while its thread trains on, out of reach."""
    import streamlit as st

    _start(page, epochs=300)
    trainer = state.lab().trainer
    st.cache_data.clear()
    st.cache_resource.clear()  # what the menu's request does (AppSession._handle_clear_cache_request)
    page.run()
    assert state.lab().trainer is trainer and trainer.alive
    assert "Training" in _texts(page) and not page.exception


def test_a_failed_run_shows_its_error(app_env, fresh_streamlit_caches, mnist):
    from vae.config import preset
    from vae.trainer import Trainer

    trainer = Trainer(preset("tiny"), mnist, device="cpu")
    trainer.error = "The loss became nan at epoch 1, step 7: lower the learning rate."
    trainer._set_state(RunState.FAILED)  # as the training thread ends a failed run
    state.lab().trainer = trainer
    at = _page()  # the sidebar opens on the live run
    assert at.session_state["model_choice"] == state.LIVE_CHOICE
    assert any(e.value == trainer.error for e in at.error)
    at.sidebar.selectbox[0].select("tiny-test").run()  # still said beside a saved model's history
    assert any("The last run failed: The loss became nan" in e.value for e in at.error)
    assert not at.exception


def test_offers_to_resume_an_interrupted_run(app_env, fresh_streamlit_caches, tiny_checkpoint):
    ckpt = load_checkpoint(tiny_checkpoint)  # 3 epochs done
    save_checkpoint(state.lab().autosave_path, ckpt.but(config=ckpt.config.replace(epochs=500)))
    at = _page()
    button = at.button(key="train_autosave")
    assert button.label == "Resume from autosave (epoch 3 of 500)"
    button.click().run()
    trainer = state.lab().trainer
    assert trainer is not None and trainer.epoch >= 3 and trainer.config.epochs == 500
    assert not at.exception


def test_an_unreadable_autosave_is_reported_not_ignored(app_env, fresh_streamlit_caches):
    state.lab().autosave_path.parent.mkdir(parents=True)
    state.lab().autosave_path.write_bytes(b"half a checkpoint")
    at = _page()
    assert any("its autosave cannot be resumed: live-run.pt is not a readable" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key == "train_autosave"] and not at.exception


# --- real browser ------------------------------------------------------------------------------


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 2400})
    page.goto(url + "/Train")
    wait_for_app(page)
    return page


def _main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def _observe(page) -> tuple[int, int, int]:
    """(the film's newest epoch, test points in the loss chart, per-step points), as the browser shows them."""
    film = page.frame_locator("iframe[title*='film']").locator("#epoch")
    text = film.inner_text(timeout=2000) if film.count() else ""
    epoch = int(text.split()[-1]) if text.split() and text.split()[-1].isdigit() else 0
    traces = page.evaluate(
        "() => Array.from(document.querySelectorAll('.js-plotly-plot'), p => p._fullData ?? []).flat()"
        ".map(t => [t.name, t.xaxis, t.x.length])"
    )
    tests = next((n for name, axis, n in traces if name == "test images" and axis == "x"), 0)  # the overview
    steps = next((n for name, _, n in traces if name == "each step"), 0)
    return epoch, tests, steps


@pytest.mark.browser
def test_browser_trains_tiny_to_the_end_and_the_curves_and_film_grow(app_server, browser, screenshot_dir):
    page = _open(browser, app_server.url)
    start_run_in_browser(page, epochs=3, batch_size=2)  # 2,000 steps per epoch: seconds each, even on a fast machine
    page.get_by_text("Training in the background").wait_for(timeout=120_000)
    seen = []
    deadline = time.monotonic() + 240
    epoch_csv = page.get_by_role("button", name="Epoch metrics (CSV)")
    enabled_while_training = False
    while "Finished" not in _main_text(page) and time.monotonic() < deadline:
        seen.append(_observe(page))
        if seen[-1][1] >= 1 and "Finished" not in _main_text(page):  # an epoch is done, the run is not
            enabled_while_training |= epoch_csv.is_enabled()
        time.sleep(0.25)
    time.sleep(1.5)  # the last redraw
    final = _observe(page)
    sidebar = page.locator("[data-testid='stSidebar']").inner_text()
    page.screenshot(path=screenshot_dir / "train_finished.png", full_page=True)
    page.close()
    assert final[:2] == (3, 3), (final, seen)
    assert "finished · epoch 3/3" in sidebar, sidebar  # the sidebar still shows the run started here
    frames = [r for r, _, _ in seen if r > 0]
    assert frames == sorted(frames) and {1, 2} & set(frames), seen  # the film grew epoch by epoch, live
    steps = [s for _, _, s in seen if s > 0]
    assert len(set(steps)) >= 3, seen  # the per-step curve moved while training
    assert enabled_while_training  # the epoch downloads opened after the first epoch, not only at the end


@pytest.mark.browser
def test_two_browsers_watch_one_run_started_and_paused_in_one(app_server, browser, screenshot_dir):
    a = _open(browser, app_server.url)
    b = _open(browser, app_server.url)  # a student waiting on the Train page: its own session, no run yet
    start_run_in_browser(a, epochs=300, batch_size=100)
    a.get_by_role("button", name="Pause").wait_for(timeout=120_000)
    # Waits that scale with a busy machine: the second browser must see the run start and pause by itself
    # (it looks for a run every few seconds, then redraws about once a second), however long the machine
    # takes; how fast is bench/'s business.
    b.get_by_text("Training in the background").wait_for(timeout=60_000)
    a.get_by_role("button", name="Pause").click()
    b.get_by_text("Paused. Press Resume").wait_for(timeout=60_000)
    b.screenshot(path=screenshot_dir / "train_paused_in_other_browser.png", full_page=True)
    b.get_by_role("button", name="Resume").click()
    a.get_by_text("Training in the background").wait_for(timeout=60_000)
    a.get_by_role("button", name="⏹️ Stop").click()  # not Streamlit's own Stop (a run in progress)
    a.get_by_text("Stopped before the last epoch").wait_for(timeout=60_000)
    # b's picker still names the saved model it opened on (there was no run to default to): once the run
    # is over, its Train page shows that model, and says where the stopped run is.
    b.get_by_text("The last run has stopped: pick").wait_for(timeout=60_000)
    for page in (a, b):
        page.close()
