"""Privacy on arrival: uploaded images lose every piece of metadata before anything stores them.

`sanitize_upload(src)` decodes an uploaded image, applies its EXIF orientation (so the
picture still stands the right way up), converts an embedded colour profile to sRGB, and
then builds a *new* image from the pixels alone. Nothing of the original file is copied:
EXIF (GPS position, camera owner, serial numbers, maker notes, timestamps), XMP, IPTC /
Photoshop blocks, ICC profiles (whose text fields can name a device or a person), JPEG
comments and PNG text chunks are all gone, because the new file is written from pixels
with no metadata argument. The result is PNG (lossless, so no second compression loss).

    clean = sanitize_upload(path_or_bytes)
    clean.image      # PIL.Image, orientation applied, mode RGB / RGBA / L
    clean.data       # PNG bytes, ready to store
    clean.removed    # what was found and dropped, e.g. ["exif:gps", "exif:owner", "xmp"]
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps

from darkroom.errors import ImageError
from darkroom.userfiles import MAX_FILE_BYTES, MAX_PIXELS, FileRefused, open_image, read_file

__all__ = ["MAX_PIXELS", "SanitizedUpload", "sanitize_image", "sanitize_upload"]

# EXIF tags that identify a person, a place or a device
_EXIF_PERSONAL = {
    0x8825: "exif:gps",
    0x013B: "exif:artist",
    0x8298: "exif:copyright",
    0xA430: "exif:owner",
    0xA431: "exif:serial",
    0xA435: "exif:lens-serial",
    0x927C: "exif:makernote",
    0x9286: "exif:user-comment",
    0x010E: "exif:description",
    0x010F: "exif:make",
    0x0110: "exif:model",
    0x0132: "exif:datetime",
    0x9003: "exif:datetime",
    0x9C9B: "exif:xp-title",
    0x9C9C: "exif:xp-comment",
    0x9C9D: "exif:xp-author",
}


@dataclass(frozen=True)
class SanitizedUpload:
    image: Image.Image
    data: bytes  # PNG
    removed: tuple[str, ...] = field(default_factory=tuple)
    source_format: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    format = "PNG"


def _open(src: str | Path | bytes | BinaryIO) -> Image.Image:
    """Decode an upload: files through `darkroom.userfiles` (regular files, size limit), pixels
    counted before decoding (bombs), damage reported as one ImageError."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
    elif isinstance(src, (str, Path)):
        try:
            data = read_file(src, "image")
        except FileRefused as err:
            raise ImageError(f"cannot read {src}: it {err.reason}") from None
    else:
        data = src.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise ImageError(f"the upload is larger than the limit of {MAX_FILE_BYTES // 1_000_000} MB")
    return open_image(data, "upload", max_pixels=MAX_PIXELS)


def _found_metadata(img: Image.Image) -> list[str]:
    found: list[str] = []
    try:
        exif = img.getexif()
    except Exception:  # noqa: BLE001 - broken EXIF is dropped all the same
        exif = None
        found.append("exif:unreadable")
    if exif:
        found.append("exif")
        ifds = [exif]
        for sub in (0x8769, 0x8825):
            try:
                ifds.append(exif.get_ifd(sub))
            except Exception:  # noqa: BLE001
                pass
        for ifd in ifds:
            for tag in ifd:
                name = _EXIF_PERSONAL.get(tag)
                if name and name not in found:
                    found.append(name)
        if 0x8825 in exif and "exif:gps" not in found:
            found.append("exif:gps")
    info = img.info
    for key, name in (("xmp", "xmp"), ("XML:com.adobe.xmp", "xmp"), ("photoshop", "iptc"),
                      ("icc_profile", "icc"), ("comment", "comment"), ("exif", "exif")):
        if info.get(key) and name not in found:
            found.append(name)
    if getattr(img, "applist", None):
        for marker, payload in img.applist:
            if marker == "APP13" and "iptc" not in found:
                found.append("iptc")
            if marker == "APP1" and b"http://ns.adobe.com/xap" in payload[:64] and "xmp" not in found:
                found.append("xmp")
    if img.format == "PNG":
        text = getattr(img, "text", None) or {}
        if any(k not in ("xmp", "XML:com.adobe.xmp") for k in text):
            found.append("png:text")
    return found


def _to_srgb(img: Image.Image) -> Image.Image:
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return img
    try:
        from PIL import ImageCms

        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.createProfile("sRGB")
        out_mode = "RGBA" if img.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(img, src, dst, outputMode=out_mode)
    except Exception:  # noqa: BLE001 - an unusable profile is simply dropped
        return img


def sanitize_image(src: str | Path | bytes | BinaryIO) -> Image.Image:
    """The upload's pixels only: orientation applied, sRGB, no metadata of any kind."""
    return sanitize_upload(src).image


def sanitize_upload(src: str | Path | bytes | BinaryIO) -> SanitizedUpload:
    img = _open(src)
    source_format = img.format or ""
    removed = _found_metadata(img)
    if getattr(img, "n_frames", 1) > 1:
        img.seek(0)  # animations: the first frame
    img = ImageOps.exif_transpose(img)  # orientation first, while EXIF is still there
    img = _to_srgb(img)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
    elif img.mode in ("L", "1"):
        img = img.convert("L")
    elif img.mode != "RGB":
        img = img.convert("RGB")
    # A new image from raw pixels: no info dict, no EXIF, no profile, nothing carried over.
    clean = Image.frombytes(img.mode, img.size, img.tobytes())
    buf = io.BytesIO()
    clean.save(buf, format="PNG", optimize=False)
    data = buf.getvalue()
    return SanitizedUpload(image=clean, data=data, removed=tuple(removed), source_format=source_format)
