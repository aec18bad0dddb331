"""Saving a generation's images into --out, for `generate` and `job`: one name scheme, one download loop.

Every name is ``<prompt slug>-<first 8 characters of the id>-<n>.png``, made only of letters, digits and
``-`` whatever the prompt or the id held, and placed by ``OutputFolder.path_for``: nothing the server
sends can lead a file out of the folder. Each image is downloaded on its own (``api.download`` keeps
only whole PNGs); the ones that fail are reported and counted, the others are saved.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from imagegen_cli.api import download
from imagegen_cli.console import one_line
from imagegen_cli.errors import CliError
from imagegen_cli.output import OutputFolder


@dataclass(frozen=True)
class ImageToSave:
    url: str
    where: str  # where the image is kept (its S3 URI or key), for the user to fetch it later


def file_stem(prompt: str | None, some_id: object) -> str:
    """``<prompt slug>-<short id>``: the start of each file name of one generation."""
    return f"{_slug(prompt or '')}-{_short_id(some_id)}"


def save_images(
    images: Sequence[ImageToSave],
    folder: OutputFolder,
    stem: str,
    *,
    timeout: float,
    paths_on_stdout: bool,
    quiet: bool = False,
) -> list[str]:
    """Download each image to ``<stem>-<n>.png`` in ``folder``, printing each path (on stdout, or else as
    ``saved <path>`` on stderr unless ``quiet``); where the images that could not be downloaded are kept."""
    failed = []
    for index, image in enumerate(images, start=1):
        path = folder.path_for(f"{stem}-{index}.png")
        try:
            download(image.url, path, timeout=timeout)
        except CliError as error:
            message = f"imagegen: image {index} ({image.where}) could not be downloaded: {one_line(error)}"
            print(message, file=sys.stderr)
            failed.append(image.where)
            continue
        if paths_on_stdout:
            print(path)
        elif not quiet:
            print(f"saved {path}", file=sys.stderr)
    return failed


def not_downloaded(failed: Sequence[str], total: int) -> str:
    """What a PartialFailure says of the images ``save_images`` could not download (``failed``: where each is kept)."""
    return f"{len(failed)} of {total} images could not be downloaded; they are still in the bucket: {', '.join(failed)}"


def where_kept(*candidates: object) -> str:
    """The first candidate that is text (an S3 URI, a key), as one printable line; '?' when none is."""
    where = next((value for value in candidates if isinstance(value, str) and value), None)
    return one_line(where, 200) if where else "?"


def _short_id(some_id: object) -> str:
    """The first 8 letters and digits of the id: names stay short and come from a safe alphabet."""
    safe = re.sub(r"[^A-Za-z0-9-]", "", some_id if isinstance(some_id, str) else "")
    return safe.strip("-")[:8] or "image"


def _slug(prompt: str, limit: int = 40) -> str:
    """A file-name-safe stem from the prompt: 'A red fox!' -> 'a-red-fox'."""
    slug = re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")
    return slug[:limit].rstrip("-") or "image"
