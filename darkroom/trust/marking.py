"""finish_image: the one way an image leaves the studio, marked as AI-generated.

In this order:

1. the invisible watermark goes into the pixels (48 bits, dwtDctSvd), and is read back
   from the encoded output to prove it is there (bits matched are reported);
2. the file is encoded from those pixels alone (input metadata such as EXIF/GPS is dropped)
   with the IPTC XMP packet (DigitalSourceType, AI system) as the first text chunk (Adobe's
   XMP Toolkit reads no further than the first non-XMP iTXt), then the PNG text chunks
   `parameters` (A1111 infotext) and `darkroom` (recipe JSON); JPEG and WebP carry the
   infotext in EXIF UserComment (type UNDEFINED, `UNICODE\0` + UTF-16, as A1111 writes it)
   and the recipe inside the XMP packet;
3. last, the signed C2PA manifest. Nothing is written after signing: any later byte
   would invalidate it.

Images smaller than 256x256 pixels (e.g. the 64x64 mini model's output) cannot carry the
watermark. They are still exported, with C2PA and XMP, and the omission is explicit: the
report's `watermark_status` is "not_applied", `warnings` says why, and the signed manifest's
`org.darkroom.marking` assertion and the audit export event record it too. Pass
`require_watermark=True` to refuse such images instead.
"""

from __future__ import annotations

import hashlib
import io
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, PngImagePlugin

from darkroom.version import __version__
from darkroom.errors import ImageError, InvalidParameter
from darkroom.settings import Settings
from darkroom.trust import provenance, watermark, xmp

FORMATS = ("png", "jpeg", "webp")
EXIF_IFD, USER_COMMENT = 0x8769, 0x9286


@dataclass
class MarkingReport:
    format: str
    width: int
    height: int
    sha256: str = ""  # of the finished file
    kind: str = "created"
    audit_ref: str = ""
    watermark: str | None = None  # 48-bit payload, hex, when embedded
    watermark_status: str = "embedded"  # "embedded" or "not_applied"
    watermark_matched: int = 0  # bits of 48 read back from the finished file
    manifest: str | None = None  # the C2PA manifest label
    c2pa_state: str = ""  # as read back right after signing: "Trusted" for the studio's key
    export_entry: str | None = None  # ref of the audit "export" event, when an AuditLog was given
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class MarkedImage:
    data: bytes
    report: MarkingReport


def finish_image(image: bytes | Image.Image, **options) -> bytes:
    """The finished, marked, signed file; the arguments are `mark_image`'s."""
    return mark_image(image, **options).data


def mark_image(
    image: bytes | Image.Image,
    *,
    parameters_text: str,
    recipe_json: str,
    audit_ref: str,
    parent: Path | bytes | None = None,
    kind: Literal["created", "edited", "transcoded"] = "created",
    captured_input: bool = False,
    format: Literal["png", "jpeg", "webp"] = "png",
    quality: int = 95,
    model: str | None = None,
    share_prompt: str | None = None,
    require_watermark: bool = False,
    watermark_present: str | None = None,
    extra_text: dict[str, str] | None = None,
    settings: Settings | None = None,
    identity=None,
    audit=None,
) -> MarkedImage:
    """Mark and sign one image; return the bytes and a report.

    image           PNG/JPEG/... bytes or a PIL image; only its pixels are used
    parameters_text A1111 infotext, embedded as is
    recipe_json     the recipe (canonical JSON), embedded as is; its SHA-256 goes into the manifest
    audit_ref       the audit entry this image belongs to (e.g. `AuditEntry.ref`)
    parent          for kind="edited"/"transcoded": the parent image file (or its bytes), a parentOf
                    ingredient; "transcoded": the same picture in another format (`darkroom export`)
    captured_input  a photo or other non-generated picture is part of it: IPTC
                    compositeWithTrainedAlgorithmicMedia; otherwise (every input was generated)
                    trainedAlgorithmicMedia
    watermark_present  the hex payload the pixels already carry (an export of a finished picture):
                    not embedded again, only read back
    format          "png" (default), "jpeg" or "webp"
    model           model name/hash for IPTC AISystemUsed ("darkroom (<model>)")
    share_prompt    the prompt, only if the user opted in to publishing it (XMP + manifest)
    extra_text      more PNG text chunks (e.g. lineage, a ComfyUI `prompt` graph), written after the XMP packet
    identity        a keys.StudioIdentity (default: the studio's, created on first use)
    audit           an AuditLog: if given, an "export" event is appended after signing
    """
    t_start = time.perf_counter()
    if format not in FORMATS:
        raise InvalidParameter(f"export format must be one of {', '.join(FORMATS)}, not {format!r}")
    if kind not in ("created", "edited", "transcoded"):
        raise InvalidParameter(f"kind must be 'created', 'edited' or 'transcoded', not {kind!r}")
    if kind == "created" and captured_input:
        raise InvalidParameter("a created image has no input; captured_input is for edits")
    if not audit_ref:
        raise InvalidParameter("finish_image needs the audit reference of the image's history (audit_ref)")
    if not 1 <= int(quality) <= 100:
        raise InvalidParameter("quality must be between 1 and 100")
    parent_bytes, parent_format = _load_parent(parent, kind)
    settings = settings or Settings()
    if identity is None:
        from darkroom.trust.keys import load_identity

        identity = load_identity(settings)

    pil = _open(image)
    rgb = np.asarray(pil.convert("RGB"))
    alpha = pil.getchannel("A") if pil.mode in ("RGBA", "LA") and format != "jpeg" else None
    height, width = rgb.shape[:2]
    report = MarkingReport(format=format, width=width, height=height, kind=kind, audit_ref=audit_ref)

    # 1. watermark, into the pixels
    t0 = time.perf_counter()
    payload = None
    if watermark_present:
        payload = int(watermark_present, 16)
        report.watermark = watermark.payload_hex(payload)
    elif watermark.can_watermark(width, height):
        payload = watermark.new_payload(seed=recipe_json.encode("utf-8"))
        rgb = watermark.embed(rgb, payload)
        report.watermark = watermark.payload_hex(payload)
    else:
        reason = watermark.too_small_reason(width, height)
        if require_watermark:
            raise ImageError(f"cannot watermark: {reason}; upscale (hires fix) before exporting")
        report.watermark_status = "not_applied"
        report.warnings.append(f"invisible watermark not applied: {reason}. The image is still marked by "
                               "C2PA and IPTC XMP, and the omission is recorded in the manifest and audit log.")
    report.seconds["watermark"] = time.perf_counter() - t0

    # 2. encode with PNG info / EXIF and XMP
    t0 = time.perf_counter()
    source_type = xmp.COMPOSITE if captured_input else xmp.TRAINED
    packet = xmp.build_packet(
        source_type=source_type,
        ai_system=f"darkroom ({model})" if model else "darkroom",
        ai_system_version=__version__,
        audit_ref=audit_ref,
        watermark=report.watermark,
        prompt=share_prompt,
        recipe=recipe_json if format != "png" else None,
    )
    out_image = Image.fromarray(rgb, "RGB")
    if alpha is not None:
        out_image.putalpha(alpha)
    encoded = _encode(out_image, format, quality, parameters_text, recipe_json, packet, extra_text or {})
    report.seconds["encode"] = time.perf_counter() - t0

    if payload is not None:
        t0 = time.perf_counter()
        decoded = np.asarray(Image.open(io.BytesIO(encoded)).convert("RGB"))
        report.watermark_matched = watermark.matched_bits(watermark.decode(decoded), payload)
        if report.watermark_matched < watermark.THRESHOLD:
            report.warnings.append(
                f"the watermark reads back weakly ({report.watermark_matched}/48 bits, threshold "
                f"{watermark.THRESHOLD}): very flat images or low JPEG quality make it unreliable"
            )
        report.seconds["watermark_check"] = time.perf_counter() - t0

    # 3. C2PA, last
    t0 = time.perf_counter()
    marking = {
        "version": 1,
        "audit_ref": audit_ref,
        "recipe_sha256": hashlib.sha256(recipe_json.encode("utf-8")).hexdigest(),
        **provenance.networks_in(recipe_json),
        "watermark": {
            "method": watermark.METHOD,
            "bits": watermark.PAYLOAD_BITS,
            "status": report.watermark_status,
            "payload": report.watermark,
            **({"reason": watermark.too_small_reason(width, height)} if payload is None else
               {"matched_at_export": report.watermark_matched}),
        },
    }
    if share_prompt:
        marking["prompt"] = share_prompt
    signed = provenance.sign(
        encoded, format, identity=identity, kind=kind, marking=marking,
        parent=parent_bytes, parent_format=parent_format, source_type=source_type,
        tsa_url=settings.tsa_url or None,
    )
    report.seconds["c2pa_sign"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    readback = provenance.read(signed, format, identity.anchors_pem)
    provenance.require_intact(readback)
    report.manifest, report.c2pa_state = readback.label, readback.state
    report.seconds["c2pa_check"] = time.perf_counter() - t0
    report.sha256 = hashlib.sha256(signed).hexdigest()

    if audit is not None:
        event = {
            "sha256": report.sha256,
            "format": format,
            "kind": kind,
            "audit_ref": audit_ref,
            "manifest": report.manifest,
            "recipe_sha256": marking["recipe_sha256"],
            "watermark": report.watermark,
            "watermark_status": report.watermark_status,
            "watermark_matched": report.watermark_matched,
            "width": width,
            "height": height,
        }
        if payload is None:
            event["watermark_reason"] = marking["watermark"]["reason"]
        if parent_bytes is not None:
            event["parent_sha256"] = hashlib.sha256(parent_bytes).hexdigest()
        report.export_entry = audit.append("export", event).ref
    report.seconds["total"] = time.perf_counter() - t_start
    return MarkedImage(signed, report)


def _open(image) -> Image.Image:
    if isinstance(image, Image.Image):
        image.load()
        return image
    if isinstance(image, (bytes, bytearray, memoryview)):
        try:
            pil = Image.open(io.BytesIO(bytes(image)))
            pil.load()
            return pil
        except Exception as err:  # PIL raises many kinds
            raise ImageError(f"cannot read the image to finish: {err}") from err
    raise InvalidParameter("finish_image takes image bytes or a PIL image")


def _load_parent(parent, kind: str) -> tuple[bytes | None, str | None]:
    if kind == "created":
        if parent is not None:
            raise InvalidParameter("a parent image is only for kind='edited' (img2img, inpaint, hires of a file)")
        return None, None
    if parent is None:
        raise InvalidParameter(f"kind={kind!r} needs the parent image (path or bytes)")
    data = parent if isinstance(parent, (bytes, bytearray)) else Path(parent).read_bytes()
    return bytes(data), sniff_format(data) or "png"


def exif_block(text: str, width: int, height: int) -> bytes:
    """An EXIF block ("Exif\\0\\0" + big-endian TIFF) with the infotext as UserComment, written the way
    A1111 writes it (piexif's UserComment.dump(encoding="unicode")): type UNDEFINED, the 8-byte character
    code `UNICODE\\0`, then UTF-16 in the TIFF's byte order, so piexif, exiftool and exiv2 agree. It also
    holds the tags Exif 2.32 requires of a JPEG (resolution, YCbCr positioning, Exif and FlashPix versions,
    components, sRGB colour space, pixel size), so that validators such as `exiftool -validate` pass."""
    comment = b"UNICODE\0" + text.encode("utf-16-be", errors="surrogatepass")
    ifd0 = [(0x011A, 5, 1, struct.pack(">II", 72, 1)), (0x011B, 5, 1, struct.pack(">II", 72, 1)),
            (0x0128, 3, 1, struct.pack(">H", 2)), (0x0213, 3, 1, struct.pack(">H", 1))]
    exif = [(0x9000, 7, 4, b"0232"), (0x9101, 7, 4, b"\x01\x02\x03\x00"), (USER_COMMENT, 7, len(comment), comment),
            (0xA000, 7, 4, b"0100"), (0xA001, 3, 1, struct.pack(">H", 1)),
            (0xA002, 4, 1, struct.pack(">I", width)), (0xA003, 4, 1, struct.pack(">I", height))]
    exif_at = 8 + _ifd_size(ifd0, extra=1)
    first = _ifd(ifd0 + [(EXIF_IFD, 4, 1, struct.pack(">I", exif_at))], 8)
    return b"Exif\x00\x00" + b"MM\x00\x2a" + struct.pack(">I", 8) + first + _ifd(exif, exif_at)


def _ifd_size(entries: list, extra: int = 0) -> int:
    return 2 + 12 * (len(entries) + extra) + 4 + sum(-(-len(value) // 2) * 2 for *_, value in entries if len(value) > 4)


def _ifd(entries: list, at: int) -> bytes:
    """One big-endian TIFF IFD at offset `at`, its values over four bytes placed right after it."""
    entries = sorted(entries)
    table, data = [struct.pack(">H", len(entries))], b""
    data_at = at + 2 + 12 * len(entries) + 4
    for tag, kind, count, value in entries:
        if len(value) > 4:
            table.append(struct.pack(">HHII", tag, kind, count, data_at + len(data)))
            data += value + b"\0" * (len(value) % 2)  # values start on a word boundary
        else:
            table.append(struct.pack(">HHI", tag, kind, count) + value.ljust(4, b"\0"))
    return b"".join(table) + struct.pack(">I", 0) + data


def read_infotext(image: Image.Image) -> str | None:
    """A picture's A1111 infotext, as A1111 finds it: the PNG `parameters` text, else the EXIF UserComment
    (UNICODE: UTF-16 in the EXIF's own byte order, as exiftool writes it, big-endian from piexif; ASCII or
    an undefined code: 8-bit text)."""
    text = image.info.get("parameters")
    if isinstance(text, str):
        return text
    exif = image.getexif()
    raw = exif.get_ifd(EXIF_IFD).get(USER_COMMENT)
    if not isinstance(raw, bytes):
        return raw if isinstance(raw, str) else None
    code, body = raw[:8], raw[8:]
    if code == b"UNICODE\0":
        bom = body[:2] in (b"\xff\xfe", b"\xfe\xff")
        encoding = "utf-16" if bom else "utf-16-le" if exif.endian == "<" else "utf-16-be"
        return body.decode(encoding, errors="replace").rstrip("\0")
    if code in (b"ASCII\0\0\0", b"\0" * 8):
        return body.decode("utf-8", errors="replace").rstrip("\0")
    return None


def sniff_format(data: bytes) -> str | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _encode(image: Image.Image, fmt: str, quality: int, parameters: str, recipe: str, packet: bytes,
            extra_text: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    if fmt == "png":
        info = PngImagePlugin.PngInfo()
        # XMP first: Adobe's XMP Toolkit (exempi) stops at the first iTXt chunk that is not XMP,
        # so a packet after our other chunks is invisible to every platform that reads it that way.
        info.add_itxt(xmp.PNG_KEYWORD, packet.decode("utf-8"))
        info.add_text("parameters", parameters)
        info.add_itxt("darkroom", recipe)
        for key, value in extra_text.items():
            info.add_itxt(key, value)
        image.save(buffer, format="PNG", pnginfo=info)
    else:
        exif = exif_block(parameters, *image.size)
        if fmt == "jpeg":
            image.convert("RGB").save(buffer, format="JPEG", quality=quality, exif=exif, xmp=packet,
                                      subsampling=0 if quality >= 90 else 2)
        else:
            # Adobe's XMP Toolkit (exempi) reads a WebP's EXIF chunk only with the "Exif\0\0" header inside
            # it (and then the XMP as well); Pillow strips one header, so the chunk keeps the second.
            # piexif (A1111), exiftool and Pillow read the chunk either way.
            image.save(buffer, format="WEBP", quality=quality, exif=b"Exif\x00\x00" + exif, xmp=packet)
    return buffer.getvalue()
