"""Uploaded photos lose all metadata on arrival (DSGVO Art. 25): a real JPEG with GPS,
a camera owner's name, XMP, IPTC, an ICC profile and a comment goes in; none of it
survives in the bytes that would be stored."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image, ImageCms, PngImagePlugin
from pngfiles import png_chunks

from darkroom.errors import ImageError
from darkroom.trust.privacy import sanitize_image, sanitize_upload

OWNER = "Erika Mustermann"
ARTIST = "Max Fotograf"
SERIAL = "SN-4711-0815"
COMMENT = b"taken at Musterstrasse 12, Berlin"
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>XmpCreatorName</dc:creator>'
       b"</rdf:Description></rdf:RDF></x:xmpmeta>")
IPTC_NAME = b"IptcBylineName"


def _iptc_app13() -> bytes:
    # Photoshop 3.0 resource block with an IPTC-IIM By-line (2:80) record
    iptc = b"\x1c\x02\x50" + struct.pack(">H", len(IPTC_NAME)) + IPTC_NAME
    res = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iptc)) + iptc
    payload = b"Photoshop 3.0\x00" + res
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def _photo(orientation: int = 6) -> bytes:
    """A 40x20 JPEG, left half red, right half blue, with personal metadata everywhere."""
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "MusterCam"
    exif[0x0110] = "Model X100"
    exif[0x013B] = ARTIST
    exif[0x8298] = f"(c) {OWNER}"
    sub = exif.get_ifd(0x8769)
    sub[0xA430] = OWNER  # CameraOwnerName
    sub[0xA431] = SERIAL  # BodySerialNumber
    sub[0x927C] = b"MakerNoteSecret"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 12.345)
    gps[3] = "E"
    gps[4] = (13.0, 24.0, 56.789)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, exif=exif.tobytes(), comment=COMMENT, icc_profile=srgb, xmp=XMP)
    data = buf.getvalue()
    # splice an IPTC (APP13) segment in after SOI
    return data[:2] + _iptc_app13() + data[2:]


def _gps_rational_bytes() -> list[bytes]:
    # how the coordinates are stored: unsigned rationals, either byte order
    out = []
    for order in (">", "<"):
        out.append(struct.pack(order + "II", 12345, 1000))
        out.append(struct.pack(order + "II", 56789, 1000))
    return out


def test_fixture_really_carries_the_metadata():
    data = _photo()
    img = Image.open(io.BytesIO(data))
    exif = img.getexif()
    assert exif.get_ifd(0x8825)[2] == (52.0, 31.0, 12.345)
    assert exif.get_ifd(0x8769)[0xA430] == OWNER
    assert OWNER.encode() in data and XMP in data and IPTC_NAME in data and COMMENT in data
    assert any(b in data for b in _gps_rational_bytes())


def test_nothing_personal_survives_in_the_stored_bytes(tmp_path):
    src = tmp_path / "upload.jpg"
    src.write_bytes(_photo())
    clean = sanitize_upload(src)
    out = clean.data
    for needle in [OWNER.encode(), ARTIST.encode(), SERIAL.encode(), b"MusterCam", b"Model X100",
                   b"MakerNoteSecret", COMMENT, b"XmpCreatorName", b"adobe:ns:meta", IPTC_NAME,
                   b"Photoshop 3.0", b"8BIM", b"Exif\x00\x00", b"eXIf", b"iCCP", b"tEXt", b"iTXt", b"zTXt",
                   b"sRGB IEC61966", b"lcms"] + _gps_rational_bytes():
        assert needle not in out, needle
    # the file is a plain PNG: only IHDR, IDAT and IEND chunks
    assert out[:8] == b"\x89PNG\r\n\x1a\n"
    assert {kind for kind, _ in png_chunks(out)} == {b"IHDR", b"IDAT", b"IEND"}
    reread = Image.open(io.BytesIO(out))
    assert not reread.getexif() and not reread.info.get("icc_profile") and not getattr(reread, "text", {})
    assert {"exif:gps", "exif:owner", "exif:artist", "exif:makernote", "xmp", "iptc", "icc", "comment"} <= set(
        clean.removed)


def test_orientation_is_applied_before_the_exif_is_dropped():
    clean = sanitize_upload(_photo(orientation=6))  # 6: rotate 90° clockwise to display
    assert clean.image.size == (20, 40)
    top, bottom = clean.image.getpixel((10, 5)), clean.image.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60  # the red (left) half is now on top
    assert bottom[2] > 200 and bottom[0] < 60
    assert sanitize_upload(_photo(orientation=1)).image.size == (40, 20)


def test_png_text_chunks_are_dropped_and_alpha_kept():
    img = Image.new("RGBA", (8, 8), (10, 20, 30, 128))
    meta = PngImagePlugin.PngInfo()
    meta.add_text("Author", OWNER)
    meta.add_itxt("Description", "Wohnung von " + OWNER)
    meta.add_text("parameters", "a prompt, Steps: 20, Seed: 1")
    buf = io.BytesIO()
    img.save(buf, "PNG", pnginfo=meta)
    assert OWNER.encode() in buf.getvalue()
    clean = sanitize_upload(buf.getvalue())
    assert OWNER.encode() not in clean.data and b"Seed" not in clean.data
    assert clean.image.mode == "RGBA" and clean.image.getpixel((0, 0)) == (10, 20, 30, 128)
    assert "png:text" in clean.removed


def test_sanitize_image_returns_pixels_only():
    img = sanitize_image(_photo())
    assert isinstance(img, Image.Image) and img.mode == "RGB"
    assert not img.info and not img.getexif()


def test_not_an_image_is_a_user_error():
    with pytest.raises(ImageError, match="not an image"):
        sanitize_upload(b"this is not an image")
    with pytest.raises(ImageError, match="cannot read"):
        sanitize_upload("/nonexistent/photo.jpg")
