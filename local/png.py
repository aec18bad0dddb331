"""The stand-in's images: real RGB PNGs, deterministic, and visibly not made by an AI model.

Everything is done with whole-buffer operations (``bytes`` slicing and ``translate``, Python's big
integers as 3-megabyte SIMD registers) rather than per-pixel loops, so a "noisy" 1024x1024 image that
weighs about what a real Titan PNG weighs (~1.5 MB) renders in a few tens of milliseconds.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"
NOTICE = "imagegen Bedrock stand-in - not an AI model"
DETAILS = ("noisy", "flat")
TITLE = "STAND-IN"
SUBTITLE = "NOT AN AI MODEL"
# Noise amplitude of "noisy" images, tuned so that 1024x1024 weighs ~1.5 MB like a real Titan PNG.
NOISE_LEVELS = 6
BOX_COLOUR = (0, 0, 0)
INK_COLOUR = (255, 255, 255)

# A 5x7 bitmap font with the glyphs the banner needs.
_FONT: dict[str, tuple[str, ...]] = {
    "S": (" ### ", "#   #", "#    ", " ### ", "    #", "#   #", " ### "),
    "T": ("#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  "),
    "A": (" ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"),
    "N": ("#   #", "##  #", "# # #", "#  ##", "#   #", "#   #", "#   #"),
    "D": ("#### ", "#   #", "#   #", "#   #", "#   #", "#   #", "#### "),
    "-": ("     ", "     ", "     ", "#####", "     ", "     ", "     "),
    "I": (" ### ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "),
    "O": (" ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "),
    "M": ("#   #", "## ##", "# # #", "# # #", "#   #", "#   #", "#   #"),
    "E": ("#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####"),
    "L": ("#    ", "#    ", "#    ", "#    ", "#    ", "#    ", "#####"),
    " ": ("     ", "     ", "     ", "     ", "     ", "     ", "     "),
}
_GLYPH_ROWS = 7
_GLYPH_COLS = 6  # five columns and one of spacing


@dataclass(frozen=True)
class BannerLayout:
    """Where the banner goes: a box, and the top-left corner and scale of each line of text."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)
    lines: tuple[tuple[str, int, int, int], ...]  # text, x, y, scale


@dataclass(frozen=True)
class PngImage:
    """A PNG as read back by :func:`read_png`: header fields, text chunks and unfiltered pixels."""

    width: int
    height: int
    bit_depth: int
    colour_type: int
    text: dict[str, str]
    scanlines: bytes  # the decompressed IDAT stream: one filter byte + 3 * width bytes per row

    def pixels(self) -> bytes:
        """The RGB bytes, row after row, with every PNG filter undone (slow: for small images)."""
        return _unfilter(self.scanlines, self.width * 3, self.height)


@functools.lru_cache(maxsize=16)
def render_image(model_id: str, prompt: str, seed: int, width: int, height: int, index: int, detail: str) -> bytes:
    """The PNG for these inputs: the same inputs give the same bytes, any other input another image."""
    if detail not in DETAILS:
        raise ValueError(f"image detail must be one of {', '.join(DETAILS)}, not {detail!r}")
    if width < 1 or height < 1:
        raise ValueError(f"image size must be positive, not {width}x{height}")
    key = hashlib.sha256(f"{model_id}\0{prompt}\0{seed}\0{width}\0{height}\0{index}".encode()).digest()
    palette = hashlib.sha256(prompt.encode()).digest()
    noisy = detail == "noisy"
    headroom = NOISE_LEVELS - 1 if noisy else 0
    pixels = _pattern(width, height, palette, key, headroom)
    _draw_banner(pixels, width, height, headroom)
    image = int.from_bytes(pixels, "little")
    if noisy:
        noise = random.Random(key).randbytes(len(pixels)).translate(_NOISE_TABLE)
        image += int.from_bytes(noise, "little")  # no byte overflows: the pattern left headroom
    scanlines = _up_filtered(image, width * 3, height)
    return encode_png(width, height, scanlines, fast=noisy)


def encode_png(width: int, height: int, scanlines: bytes, *, fast: bool = False) -> bytes:
    """An 8-bit RGB PNG from already filtered scanlines. ``fast`` trades size for speed on noisy data."""
    if fast:
        compressor = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_HUFFMAN_ONLY)
        data = compressor.compress(scanlines) + compressor.flush()
    else:
        data = zlib.compress(scanlines, 6)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        (
            SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"tEXt", b"Comment\0" + NOTICE.encode("latin-1")),
            _chunk(b"IDAT", data),
            _chunk(b"IEND", b""),
        )
    )


def read_png(data: bytes) -> PngImage:
    """Parse a PNG strictly: signature, chunk order and CRCs, header, and the size of the pixel data."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG: bad signature")
    chunks = list(_chunks(data))
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise ValueError("a PNG starts with IHDR and ends with IEND")
    width, height, bit_depth, colour_type, _, _, _ = struct.unpack(">IIBBBBB", chunks[0][1])
    if (bit_depth, colour_type) != (8, 2):
        raise ValueError(f"expected 8-bit RGB, got bit depth {bit_depth} colour type {colour_type}")
    text = dict(body.decode("latin-1").split("\0", 1) for kind, body in chunks if kind == b"tEXt")
    scanlines = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    if len(scanlines) != height * (1 + 3 * width):
        raise ValueError(f"pixel data is {len(scanlines)} bytes, expected {height * (1 + 3 * width)}")
    return PngImage(width, height, bit_depth, colour_type, text, scanlines)


def banner_layout(width: int, height: int) -> BannerLayout | None:
    """The banner's place on an image of this size; None when the image is too small to hold it."""
    title_cols = len(TITLE) * _GLYPH_COLS - 1
    subtitle_cols = len(SUBTITLE) * _GLYPH_COLS - 1
    title_scale = min(width * 7 // (10 * title_cols), height // (4 * _GLYPH_ROWS))
    if title_scale < 1:
        return None
    subtitle_scale = min(max(title_scale // 2, 1), width * 9 // (10 * subtitle_cols))
    pad = max(title_scale, 2)
    title_w, title_h = title_cols * title_scale, _GLYPH_ROWS * title_scale
    subtitle_w = subtitle_cols * subtitle_scale if subtitle_scale else 0
    subtitle_h = _GLYPH_ROWS * subtitle_scale + pad if subtitle_scale else 0
    box_w = max(title_w, subtitle_w) + 2 * pad
    box_h = title_h + subtitle_h + 2 * pad
    if box_w > width or box_h > height:
        return None
    x0, y0 = (width - box_w) // 2, (height - box_h) // 2
    lines = [(TITLE, (width - title_w) // 2, y0 + pad, title_scale)]
    if subtitle_scale:
        lines.append((SUBTITLE, (width - subtitle_w) // 2, y0 + pad + title_h + pad, subtitle_scale))
    return BannerLayout((x0, y0, x0 + box_w, y0 + box_h), tuple(lines))


_NOISE_TABLE = bytes(value % NOISE_LEVELS for value in range(256))


def _pattern(width: int, height: int, palette: bytes, key: bytes, headroom: int) -> bytearray:
    """Diagonal stripes between two colours of the prompt, with a vertical swell of light."""
    start, end = palette[0:3], palette[3:6]
    period = 96 + key[0] % 160
    phase = int.from_bytes(key[1:3], "big") % period
    slant = key[3] % 7 - 3  # pixels the stripes move per row; 0 gives vertical stripes
    row = bytearray()
    for x in range(width + period):  # one period more, so that rows can start anywhere in a period
        t = abs((x + phase) % period / period * 2 - 1)
        row += bytes(round(a + (b - a) * t) for a, b in zip(start, end, strict=True))
    stride = width * 3
    bands = 64
    scale = (255 - headroom) / 255
    tables = [
        bytes(round(value * scale * (0.7 + 0.3 * math.sin(math.pi * band / (bands - 1)))) for value in range(256))
        for band in range(bands)
    ]
    pixels = bytearray()
    for y in range(height):
        offset = (y * slant % period) * 3
        pixels += row[offset : offset + stride].translate(tables[y * bands // height])
    return pixels


def _draw_banner(pixels: bytearray, width: int, height: int, headroom: int) -> None:
    layout = banner_layout(width, height)
    if layout is None:
        return
    stride = width * 3
    box = bytes(BOX_COLOUR)
    ink = bytes(max(channel - headroom, 0) for channel in INK_COLOUR)
    x0, y0, x1, y1 = layout.box
    for y in range(y0, y1):
        pixels[y * stride + x0 * 3 : y * stride + x1 * 3] = box * (x1 - x0)
    for text, x, top, scale in layout.lines:
        for glyph_row in range(_GLYPH_ROWS):
            line = b"".join(
                (ink if bit == "#" else box) * scale for char in text for bit in _FONT[char][glyph_row] + " "
            )[: (len(text) * _GLYPH_COLS - 1) * scale * 3]
            for y in range(top + glyph_row * scale, top + (glyph_row + 1) * scale):
                pixels[y * stride + x * 3 : y * stride + x * 3 + len(line)] = line


def _up_filtered(image: int, stride: int, height: int) -> bytes:
    """Scanlines with PNG filter 2 ("Up"): each byte minus the byte above, mod 256, for all bytes at once.

    The image is one little-endian big integer; shifting it by a row gives the row above. The bytewise
    subtraction without borrows between bytes is the classic SWAR trick on 0x80/0x7F masks.
    """
    size = stride * height
    every = (1 << (8 * size)) - 1
    ones = every // 0xFF
    high, low = ones * 0x80, ones * 0x7F
    above = (image << (8 * stride)) & every
    residual = ((image | high) - (above & low)) ^ ((image ^ above ^ every) & high)
    data = residual.to_bytes(size, "little")
    return b"".join(b"\x02" + data[offset : offset + stride] for offset in range(0, size, stride))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks = []
    offset = len(SIGNATURE)
    while offset < len(data):
        if offset + 12 > len(data):
            raise ValueError("truncated chunk")
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        if len(body) != length or zlib.crc32(kind + body) != crc:
            raise ValueError(f"bad CRC or length in chunk {kind!r}")
        chunks.append((kind, body))
        offset += 12 + length
    return chunks


def _unfilter(scanlines: bytes, stride: int, height: int) -> bytes:
    out = bytearray()
    previous = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = scanlines[start], scanlines[start + 1 : start + 1 + stride]
        row = bytearray(stride)
        for i in range(stride):
            left = row[i - 3] if i >= 3 else 0
            up = previous[i]
            up_left = previous[i - 3] if i >= 3 else 0
            row[i] = (line[i] + _predict(kind, left, up, up_left)) & 0xFF
        out += row
        previous = bytes(row)
    return bytes(out)


def _predict(kind: int, left: int, up: int, up_left: int) -> int:
    if kind == 0:
        return 0
    if kind == 1:
        return left
    if kind == 2:
        return up
    if kind == 3:
        return (left + up) // 2
    if kind == 4:
        guess = left + up - up_left
        distances = (abs(guess - left), abs(guess - up), abs(guess - up_left))
        return (left, up, up_left)[distances.index(min(distances))]
    raise ValueError(f"unknown PNG filter type {kind}")
