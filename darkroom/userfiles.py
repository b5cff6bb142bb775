"""Every file a user names is opened here, and every picture from outside is decoded here.

`read_file(path, what)` reads regular files only: a device (`/dev/zero`), a named pipe, a
socket or a folder is refused with a message that says which, before a byte is read; so is
a file over the size limit (checked on the open file, and again while reading, so a file
that grows or lies about its size, as /proc files do, cannot exhaust memory). The file is
opened non-blocking, so a FIFO swapped in after the check cannot hang the process.

`open_image(data, what)` decodes a picture with its pixel count checked *before* the
pixels are decoded (decompression bombs), and turns truncated or non-picture data into one
clear `ImageError`.

    data = read_file(path, "input picture")
    image = open_image(data, f"input picture {path}")
"""

from __future__ import annotations

import errno
import io
import os
import stat
import warnings
from pathlib import Path

from darkroom.errors import ImageError

MAX_FILE_BYTES = 256 * 1024 * 1024  # pictures and checkpoint headers aside, nothing a user hands in is larger
MAX_RECIPE_BYTES = 8 * 1024 * 1024  # a recipe JSON file
MAX_PIXELS = 64_000_000  # larger pictures are refused before decoding (no SD model needs them)
_CHUNK = 1024 * 1024


class FileRefused(ImageError):
    """A path that is not a regular file, cannot be opened, or is too large; `reason` is the
    message without the file's name ("is a device, ...")."""

    def __init__(self, what: str, path, reason: str):
        super().__init__(f"{what} {path} {reason}")
        self.path, self.reason = path, reason


class TooManyPixels(ImageError):
    """A picture whose header promises more pixels than the limit (a decompression bomb)."""


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a file; darkroom reads only regular files"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a file; darkroom reads only regular files"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file; darkroom reads only regular files"
    return "not a regular file"


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size < 10**9 else f"{size / 10**9:.1f} GB"


def check_file(path: str | Path, what: str = "file") -> Path:
    """`path` if it names a regular file (following symlinks); else a FileRefused that says what it is."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileRefused(what, path, "does not exist") from None
    except NotADirectoryError:
        raise FileRefused(what, path, "does not exist (a part of the path is not a folder)") from None
    except OSError as err:
        raise FileRefused(what, path, f"cannot be opened: {err.strerror or err}") from None
    kind = _kind(info.st_mode)
    if kind is not None:
        raise FileRefused(what, path, f"is {kind}")
    return path


def read_file(path: str | Path, what: str = "file", *, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them (else FileRefused)."""
    path = check_file(path, what)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:
        raise FileRefused(what, path, "cannot be read: permission denied") from None
    except OSError as err:
        if err.errno == errno.ENXIO:  # a socket, or a FIFO without a writer
            raise FileRefused(what, path, "is not a regular file") from None
        raise FileRefused(what, path, f"cannot be opened: {err.strerror or err}") from None
    try:
        info = os.fstat(fd)
        kind = _kind(info.st_mode)
        if kind is not None:  # it changed between the check and the open
            raise FileRefused(what, path, f"is {kind}")
        if info.st_size > limit:
            raise FileRefused(what, path, f"is {_megabytes(info.st_size)}; the limit is {_megabytes(limit)}")
        parts, size = [], 0
        while True:
            try:
                chunk = os.read(fd, _CHUNK)
            except BlockingIOError:  # cannot happen for a regular file; never wait for one
                raise FileRefused(what, path, "is not a regular file") from None
            except OSError as err:
                raise FileRefused(what, path, f"cannot be read: {err.strerror or err}") from None
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise FileRefused(what, path, f"is larger than the limit of {_megabytes(limit)}")
            parts.append(chunk)
        return b"".join(parts)
    finally:
        os.close(fd)


def image_size(data: bytes, what: str = "picture", *, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """Width and height from the header, nothing decoded; ImageError if it is not a picture or
    (TooManyPixels) has more than `max_pixels`."""
    image = _open_header(data, what, max_pixels)
    try:
        return image.size
    finally:
        image.close()


def _open_header(data: bytes, what: str, max_pixels: int = MAX_PIXELS):
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as err:
        raise TooManyPixels(f"the {what} is too large to decode ({err}); the limit is "
                            f"{max_pixels // 1_000_000} megapixels") from None
    except UnidentifiedImageError:
        raise ImageError(f"the {what} is not an image darkroom can read; use PNG, JPEG or WebP") from None
    except Exception as err:  # noqa: BLE001 - PIL raises many types for broken headers
        raise ImageError(f"the {what} is damaged or not a picture ({type(err).__name__}: {err})"[:300]) from None
    width, height = image.size
    if width <= 0 or height <= 0 or width * height > max_pixels:
        image.close()
        raise TooManyPixels(f"the {what} is {width}x{height} pixels; the limit is "
                            f"{max_pixels // 1_000_000} megapixels. Downscale it first.")
    return image


def open_image(data: bytes, what: str = "picture", *, max_pixels: int = MAX_PIXELS):
    """A decoded PIL image of `data`: pixels counted from the header before decoding, damage reported."""
    from PIL import Image

    image = _open_header(data, what, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except MemoryError:
        raise TooManyPixels(f"the {what} is too large to decode in memory") from None
    except Exception as err:  # noqa: BLE001 - truncated data, bad chunks, oversized text chunks
        raise ImageError(f"the {what} is damaged or truncated ({type(err).__name__}: {str(err)[:200]}); "
                         "export it again") from None
    return image


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT_BYTES = 16 * 1024 * 1024  # a decompressed zTXt/iTXt chunk (a recipe is a few kB)


def png_text(data: bytes, keyword: str, what: str = "PNG") -> str | None:
    """The text of the first tEXt/zTXt/iTXt chunk named `keyword`, read chunk by chunk without
    decoding a pixel (a bomb's pixels are never touched; compressed text is bounded too).
    None if there is none; ImageError for data that is not a PNG or is cut short."""
    import struct
    import zlib

    if not data.startswith(PNG_SIGNATURE):
        raise ImageError(f"{what} is not a PNG file")
    wanted = keyword.encode("latin-1")
    pos = len(PNG_SIGNATURE)
    while True:
        if pos + 8 > len(data):
            raise ImageError(f"{what} is truncated (it ends inside a chunk header, before IEND)")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) < length or pos + 12 + length > len(data):
            raise ImageError(f"{what} is truncated (its {kind.decode('latin-1', 'replace')} chunk is cut short)")
        pos += 12 + length
        if kind == b"IEND":
            return None
        if kind not in (b"tEXt", b"zTXt", b"iTXt"):
            continue
        name, sep, rest = body.partition(b"\0")
        if not sep or name != wanted:
            continue
        try:
            if kind == b"tEXt":
                return rest.decode("latin-1")
            if kind == b"zTXt":
                return _inflate(rest[1:], zlib).decode("latin-1")
            flag, method, rest = rest[0], rest[1], rest[2:]
            _lang, _, rest = rest.partition(b"\0")
            _translated, _, text = rest.partition(b"\0")
            return (_inflate(text, zlib) if flag else text).decode("utf-8")
        except (IndexError, UnicodeDecodeError, zlib.error) as err:
            raise ImageError(f"{what}: its {keyword!r} text chunk is damaged ({type(err).__name__})") from None


def _inflate(data: bytes, zlib) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, MAX_TEXT_BYTES)
    if inflater.unconsumed_tail:
        raise ImageError(f"a compressed PNG text chunk inflates beyond {MAX_TEXT_BYTES // 1_000_000} MB; "
                         "the file is not a darkroom picture")
    return out
