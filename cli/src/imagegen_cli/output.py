"""The folder images are saved in: checked before anything is paid for, and never left by a file name.

A generation costs money, so ``OutputFolder.prepare`` runs before the request: it creates ``--out`` and
proves it can be written, and a folder that is a file, sits under a file, or refuses writes fails
there, with nothing spent. Names that reach the file system may come from the server (the request id,
later object keys): ``path_for`` reduces any of them to one plain file name inside the folder.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from imagegen_cli.errors import ConfigError

MAX_NAME_LENGTH = 120  # well under every file system's 255 bytes
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class OutputFolder:
    path: Path

    @classmethod
    def prepare(cls, path: Path) -> OutputFolder:
        """The folder, created if needed and proven writable; ConfigError (exit 2) naming --out if not."""
        where = f"--out {str(path)[:200]!r}"
        try:
            if path.exists() and not path.is_dir():
                raise ConfigError(f"{where} exists and is not a folder: choose another --out")
            path.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=path, prefix=".imagegen-write-check-"):
                pass
        except ValueError as exc:  # e.g. a NUL character, which no file name may hold
            raise ConfigError(f"{where} is not a usable folder name ({exc})") from None
        except OSError as exc:
            raise ConfigError(f"{where} cannot be written: {exc.strerror or exc}") from None
        return cls(path)

    def path_for(self, name: str) -> Path:
        """``name`` as one safe file name in this folder, whatever it held (``../``, ``/``, NUL, ``\\``)."""
        return self.path / safe_file_name(name)


def safe_file_name(name: str, fallback: str = "image") -> str:
    """Letters, digits, ``.``, ``_`` and ``-`` only, no leading dot, at most MAX_NAME_LENGTH characters."""
    safe = _UNSAFE.sub("-", name).lstrip(".-")[:MAX_NAME_LENGTH].rstrip(".-")
    return safe or fallback
