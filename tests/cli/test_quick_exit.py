"""`quick_exit`: the process ends as Python would end it — threads joined, atexit handlers run,
buffered output written, the exit code kept — without unloading its modules."""

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import atexit, sys, threading, time
from hpo.cli.quick_exit import quick_exit

class Teardown:
    def __del__(self):
        print("module teardown ran")

kept = Teardown()  # a module global: collected only by the interpreter's teardown
atexit.register(lambda: print("atexit ran"))

def late():
    time.sleep(0.3)
    open(sys.argv[1], "w").write("written")

threading.Thread(target=late).start()
sys.stdout.write("x" * 100_000)  # still in the pipe's buffer
quick_exit(3)
"""


def test_ends_like_python_without_its_teardown(tmp_path: Path) -> None:
    late = tmp_path / "late.txt"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(late)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3, result.stderr
    assert result.stdout == "x" * 100_000 + "atexit ran\n"  # no "module teardown ran"
    assert late.read_text() == "written"  # the thread was joined first


def test_the_hpo_command_exits_through_it() -> None:
    script = Path(sys.executable).parent / "hpo"
    assert "console" in script.read_text()  # the installed entry point
    result = subprocess.run(
        [sys.executable, "-m", "hpo", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout.startswith("hpo ")


def test_output_cut_short_by_a_closed_pipe_ends_quietly() -> None:
    """`hpo study --list | head -1`: the reader is gone before the list is written."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hpo", "study", "--list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.close()  # (before the command has imported enough to print)
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 141, stderr  # 128 + SIGPIPE, as a shell tool's
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
