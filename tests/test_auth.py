"""Instructor control on the Train page: with a passcode, only a browser that entered it drives the
shared run; guessing is slowed; a broken secrets file locks rather than opens. (The unlock in a real
browser: tests/test_classroom.py.)"""

from __future__ import annotations

from tests.helpers import open_page
from ui import state
from vae.run import RunState


def _page():
    at = open_page("pages/1_Train.py")
    assert not at.exception, at.exception
    return at


def test_with_an_instructor_passcode_only_the_instructor_drives_the_run(app_env, fresh_streamlit_caches, monkeypatch):
    from vae.config import preset

    monkeypatch.setenv("VAE_INSTRUCTOR_PASSCODE", "secret")
    trainer = state.lab().start(preset("tiny").replace(epochs=300))
    at = _page()
    assert any("Only the instructor" in i.value for i in at.info)
    for key in ("train_start", "train_pause", "train_stop", "train_save", "train_delete"):
        assert at.button(key=key).disabled, key
    at.sidebar.text_input(key="auth_passcode").set_value("secret")
    at.sidebar.button(key="auth_unlock").click().run()
    assert not at.button(key="train_pause").disabled
    at.button(key="train_pause").click().run()
    assert trainer.state is RunState.PAUSED
    assert not at.exception


def test_guessing_the_passcode_is_slowed_to_five_tries_a_minute(app_env, fresh_streamlit_caches, monkeypatch):
    from ui import auth

    monkeypatch.setenv("VAE_INSTRUCTOR_PASSCODE", "4711")
    monkeypatch.setattr(auth, "_wrong", {})
    monkeypatch.setattr(auth, "_address", lambda: "10.0.0.7")  # AppTest's browser has no real address
    clock = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    at = _page()

    def unlock(code: str) -> str:
        at.sidebar.text_input(key="auth_passcode").set_value(code)
        at.sidebar.button(key="auth_unlock").click().run()
        return " ".join(e.value for e in at.sidebar.error)

    assert [unlock(f"{guess:04d}") for guess in range(5)] == ["Wrong passcode."] * 5
    clock[0] += 30
    assert unlock("4711") == "Too many wrong passcodes from this computer: try again in 30 s."
    assert at.button(key="train_start").disabled  # the right code, but too soon: still locked
    clock[0] += 31  # the first wrong guesses are now more than a minute old
    assert unlock("4711") == ""
    assert not at.button(key="train_start").disabled and not at.exception


def test_an_unreadable_secrets_file_locks_the_run_and_says_why(app_env, fresh_streamlit_caches, tmp_path):
    """The teacher meant to set a passcode: a typo in secrets.toml must not leave the run open to all."""
    from streamlit import config

    broken = tmp_path / "secrets.toml"
    broken.write_text('instructor_passcode = "no closing quote\n')
    saved = config.get_option("secrets.files")
    config.set_option("secrets.files", [str(broken)])
    try:
        at = _page()
    finally:
        config.set_option("secrets.files", saved)
    assert at.button(key="train_start").disabled
    problem = " ".join(e.value for e in at.sidebar.error)
    assert "Instructor controls are locked" in problem and "secrets.toml" in problem, problem
    assert not at.exception
