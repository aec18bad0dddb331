"""What the CLI prints, made safe for any terminal: text from elsewhere and streams that cannot encode it.

Server answers, S3 keys and file names can hold control characters (a terminal would obey an escape
sequence) and characters the terminal's encoding lacks (``PYTHONIOENCODING=ascii``, ``LC_ALL=C``, a
file name that is not UTF-8). ``printable`` and ``one_line`` neutralise the first; ``tolerate_unencodable_output``
makes stdout and stderr write the second as escapes (or as the original bytes of a file name) instead
of failing half-way through a command.
"""

from __future__ import annotations

import codecs
import io
import re
import sys

# C0 and C1 control characters, DEL, and the bidirectional overrides that can make text read backwards.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile(r"\s+")
_ERROR_HANDLER = "imagegen-escape"


def printable(text: object) -> str:
    """``text`` with every control character except tab and newline shown as an escape (``\\x1b``)."""
    return _CONTROL.sub(lambda match: repr(match.group(0))[1:-1], str(text))


def one_line(text: object, limit: int = 300) -> str:
    """``text`` as one printable line (whitespace runs become one space) of at most ``limit`` characters."""
    line = _SPACES.sub(" ", printable(text)).strip()
    return line if len(line) <= limit else line[: limit - 3].rstrip() + "..."


def tolerate_unencodable_output() -> None:
    """stdout and stderr write what their encoding lacks as escapes, never raising UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors in ("strict", "surrogateescape"):
            try:
                stream.reconfigure(errors=_ERROR_HANDLER)
            except (ValueError, OSError):  # a closed or detached stream: nothing to print to anyway
                continue


def _escape(error: UnicodeError) -> tuple[str | bytes, int]:
    """A file name's undecodable bytes go out as they came in (surrogateescape); any other character
    the encoding lacks is written as a backslash escape."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    try:
        return codecs.lookup_error("surrogateescape")(error)
    except UnicodeError:
        return codecs.lookup_error("backslashreplace")(error)


codecs.register_error(_ERROR_HANDLER, _escape)
