"""`quick_exit(code)`: end the process as Python would, minus its teardown; `run_and_exit(main)`.

After a command returns, CPython unloads every module before the process ends: 1.2 s once
torch and Lightning are loaded (measured: `import hpo.search.objective`, then exit), paid after
the last line is printed. The process ends the same way without it: other threads joined,
atexit handlers run (logging, multiprocessing's children, temporary files), output flushed.
Written by hand: Python has no exit that skips only the module teardown. Used by the `hpo`
console script and `python -m hpo…`, never by `hpo.cli.main` (tests call it in-process).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Callable
from typing import NoReturn


def run_and_exit(main: Callable[[], int]) -> NoReturn:
    """`main` as the process's work, then `quick_exit` with its code. Output cut short by a
    reader that closed the pipe (`hpo study --list | head -3`) ends quietly, with the code a
    shell tool killed by SIGPIPE has (141), instead of a BrokenPipeError traceback."""
    try:
        code = main()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 141  # 128 + SIGPIPE (a name Windows' signal module lacks)
    quick_exit(code)


def quick_exit(code: int | None) -> NoReturn:
    """Exit with `code` (None: 0, as sys.exit) once threads, atexit handlers, output are done."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()  # as the interpreter's own shutdown does
    atexit._run_exitfuncs()  # (private, but what the interpreter itself calls here)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe, a closed stream: nothing to flush to
            pass
    os._exit(code or 0)
