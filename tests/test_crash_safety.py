"""Nothing lost when the process dies: atomic checkpoint writes, and resuming a killed live run."""

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.helpers import wait_until
from vae.checkpoint import list_checkpoints, load_checkpoint
from vae.lab import Lab

ROOT = Path(__file__).resolve().parent.parent


def _spawn(code: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VAE_DEVICE": "cpu"}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env)


def test_kill_during_a_tight_save_loop_leaves_only_whole_files(tmp_path):
    proc = _spawn(
        """
        import itertools, torch
        from vae.checkpoint import save_checkpoint
        from vae.config import preset
        from vae.model import ConditionalVAE
        from vae.run import RunView
        model = ConditionalVAE(preset("seed"))
        for i in itertools.count():
            with torch.no_grad():
                model.decoder[0].bias.fill_(float(i))
            save_checkpoint(f"ckpt-{i % 3}.pt", RunView(preset("seed"), model, "x", "x", step=i))
            open("progress", "w").write(str(i))
        """,
        tmp_path,
    )
    assert wait_until(
        lambda: (tmp_path / "progress").exists() and int((tmp_path / "progress").read_text() or 0) > 5, 60
    )
    time.sleep(0.37)  # somewhere in the middle of a write
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    files = list_checkpoints(tmp_path)
    assert len(files) == 3
    for path in files:
        ckpt = load_checkpoint(path)  # raises if any file was half-written
        assert ckpt.model.decoder[0].bias[0].item() == ckpt.step


def test_a_killed_live_run_resumes_from_its_last_autosave(tmp_path, mnist):
    ckpt_dir = tmp_path / "checkpoints"
    proc = _spawn(
        f"""
        import time
        from vae.config import preset
        from vae.lab import Lab
        lab = Lab({str(ckpt_dir)!r}, {str(tmp_path / "data")!r})
        lab.start(preset("tiny").replace(epochs=1000))
        time.sleep(600)
        """,
        tmp_path,
    )
    autosave = ckpt_dir / "autosave" / "live-run.pt"
    try:
        assert wait_until(lambda: autosave.exists() and load_checkpoint(autosave).epoch >= 2, 120)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    saved = load_checkpoint(autosave)
    lab = Lab(ckpt_dir, tmp_path / "data")
    offer = lab.autosave_to_offer()
    assert offer is not None and offer["epoch"] == saved.epoch
    trainer = lab.resume_autosave()
    try:
        assert wait_until(lambda: trainer.epoch > saved.epoch, 60)
        assert trainer.step > saved.step
        assert [m["epoch"] for m in trainer.view.epoch_metrics][: saved.epoch] == list(range(1, saved.epoch + 1))
    finally:
        trainer.stop()
        trainer.join(30)


@pytest.mark.browser
def test_kill_9_the_server_mid_training_then_resume_in_the_browser(app_env, browser, screenshot_dir):
    """Start a run from the Train page, SIGKILL the server mid-epoch, start it again: the page offers the
    last autosave and resumes from it, losing at most the epoch in progress."""
    from bench.harness import StreamlitServer, wait_for_app
    from tests.helpers import start_run_in_browser

    autosave = Path(app_env["VAE_CHECKPOINT_DIR"]) / "autosave" / "live-run.pt"
    server = StreamlitServer("explorer_app.py", env=app_env).start()
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        page.goto(server.url + "/Train")
        wait_for_app(page)
        start_run_in_browser(page, epochs=500, batch_size=100)
        assert wait_until(lambda: autosave.exists() and load_checkpoint(autosave).epoch >= 2, 120)
        page.close()
    finally:
        server.proc.send_signal(signal.SIGKILL)  # no clean shutdown: the process just dies
        server.proc.wait()
        server.stop()
    saved = load_checkpoint(autosave)
    with StreamlitServer("explorer_app.py", env=app_env) as again:
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        page.goto(again.url + "/Train")
        wait_for_app(page)
        button = page.get_by_role("button", name=f"Resume from autosave (epoch {saved.epoch} of 500)")
        button.click()
        page.get_by_text("Training in the background").wait_for(timeout=60_000)
        page.screenshot(path=screenshot_dir / "train_resumed_after_kill.png", full_page=True)
        text = page.locator("[data-testid='stMain']").inner_text()
        page.close()
    done = int(re.search(r"(\d+) of 500 epochs done", text).group(1))
    assert done >= saved.epoch, text  # it went on from the autosave, not from epoch 0 (however busy the machine)
