"""bench/server_trace: a real Streamlit server started with its environment logs its steps, and a
change is lined up with the server's steps that answered it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from bench import server_trace


def test_a_change_is_lined_up_with_the_servers_steps(tmp_path):
    log = tmp_path / "server.log"
    log.write_text(
        textwrap.dedent(
            """\
            990.0 received rerun_script
            995.0 run start
            1000.0 sent delta
            1006.0 received rerun_script
            1007.0 run start
            1010.0 sent new_session
            1030.0 run end
            1031.0 sent script_finished
            1200.0 sent delta
            """
        )
    )
    changes = [
        {"commitEpochMs": 1000.0, "server": 100.0},  # the message at 1200 comes after the page showed it
        {"commitEpochMs": 5000.0, "server": None},  # a change that timed out: skipped
    ]
    assert server_trace.split(log, changes) == {"received": [6.0], "run ended": [30.0], "last sent": [31.0]}


def test_the_environment_makes_streamlit_log_its_steps(tmp_path):
    """Python reads `sitecustomize` from PYTHONPATH; importing Streamlit's bootstrap wraps its methods."""
    log = tmp_path / "server.log"
    code = (
        "import streamlit.web.bootstrap\n"
        "from streamlit.runtime.scriptrunner import script_runner\n"
        "print(script_runner.ScriptRunner._run_script.__name__)"
    )
    env = {**server_trace.environment(log), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "wrapped"
    assert log.exists()
