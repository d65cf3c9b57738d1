"""Run `%mlops` as a notebook cell does and see how it fails."""
from __future__ import annotations

import io
import re
from contextlib import redirect_stderr, redirect_stdout

from IPython.core.interactiveshell import InteractiveShell

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def magic_fails(sh: InteractiveShell, line: str, body: str | None = None) -> str:
    """Run `%mlops line` (or `%%mlops line` with `body`) as a cell through IPython: it must
    fail, as a cell that stops Run All, showing one line and no traceback. Returns the
    message (the text after the error's type)."""
    source = f"%%mlops {line}\n{body}" if body is not None else f"%mlops {line}"
    shown = io.StringIO()
    with redirect_stdout(shown), redirect_stderr(shown):
        result = sh.run_cell(source)
    text = ANSI.sub("", shown.getvalue())
    assert result.error_in_exec is not None, f"{source!r} did not fail: {text}"
    assert text.count("\n") == 1 and "Traceback" not in text, text
    kind, _, message = text.strip().partition(": ")
    assert kind == type(result.error_in_exec).__name__, text
    return message
