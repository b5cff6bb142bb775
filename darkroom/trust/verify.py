"""verify_file: what a file says about where it came from, and whether that still holds.

Checks, each reported separately:

- C2PA: Trusted (signed, chain leads to the studio root or a configured anchor), Valid
  (signature and hashes fine, signer not trusted here), Invalid (changed after signing,
  or broken), or none; with actions, ingredients and darkroom's marking assertion;
- IPTC XMP DigitalSourceType and AI system;
- the invisible watermark: bits matched against the payload the manifest (or XMP) names,
  or, if the metadata is gone, against every payload in the studio's audit log, with the
  threshold raised for the number of candidates (false positives <= 1e-6);
- the embedded recipe (and whether it hashes to what the manifest signed);
- the audit entry the file links to (by file hash, manifest, watermark or reference).

`ok` (exit 0 in the CLI) only when the file is marked as AI-generated and intact: a
C2PA manifest that validates (Trusted or Valid) and declares a trained-algorithm source.
A watermark without intact metadata identifies a darkroom image but is not "intact".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from darkroom.errors import ImageError
from darkroom.settings import Settings
from darkroom.trust import provenance, watermark, xmp
from darkroom.trust.marking import read_infotext, sniff_format


@dataclass
class AuditLink:
    entry: object  # AuditEntry
    found_by: str  # "file hash", "manifest", "watermark", "audit reference"
    entry_hash_ok: bool


@dataclass
class Note:
    """A remark of the report: a code and its parameters (what a UI translates), and the English text."""

    code: str  # damaged, claims_untrusted, watermark_malformed, too_small, no_audit_log
    text: str
    params: dict = field(default_factory=dict)


# the verdict in English, by its code (see VerifyReport.verdict_code)
VERDICTS = {
    "intact": "marked as AI-generated and intact (C2PA {state}, signed by {signer})",
    "expired": ("signature EXPIRED, content unchanged: the signing certificate has expired and the signature "
                "carries no time-stamp, so C2PA no longer accepts it; every hash still matches what was signed, "
                "so the file was not changed. Re-sign it with a current certificate (`darkroom export`) and "
                "configure a time-stamp authority to keep signatures valid"),
    "invalid": "NOT intact: the C2PA manifest does not match the file (changed after signing, or broken)",
    "not_ai": "signed, but the manifest does not declare AI-generated content",
    "stripped": ("darkroom watermark found, but the C2PA manifest is missing: the metadata was removed "
                 "(re-encoded, screenshotted or stripped); not intact"),
    "xmp_only": "XMP says AI-generated, but there is no C2PA manifest to prove the file is unchanged",
    "unmarked": "no AI-generation marking found (no C2PA manifest, no darkroom watermark)",
}
SIGNERS = {"studio": "the studio's key", "untrusted": "an untrusted key"}


@dataclass
class VerifyReport:
    path: str
    format: str | None
    width: int = 0
    height: int = 0
    sha256: str = ""
    c2pa: provenance.C2paInfo | None = None
    xmp: xmp.XmpInfo | None = None
    parameters: str | None = None
    recipe: str | None = None
    recipe_signed: bool | None = None  # the recipe hashes to the manifest's recipe_sha256
    watermark: watermark.Detection | None = None
    watermark_source: str | None = None  # where the expected payload came from
    watermark_declared: dict | None = None  # what the manifest says about the watermark
    audit: AuditLink | None = None
    findings: list[Note] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """The notes in English, as `darkroom verify` prints them."""
        return [note.text for note in self.findings]

    def note(self, code: str, text: str, **params) -> None:
        self.findings.append(Note(code, text, params))

    @property
    def marked_ai(self) -> bool:
        return bool(self.c2pa and self.c2pa.intact and self.c2pa.says_ai)

    @property
    def ok(self) -> bool:
        return self.marked_ai

    @property
    def expired(self) -> bool:
        """The manifest fails only because its certificate expired: unchanged, but no longer valid."""
        return bool(self.c2pa and self.c2pa.expired)

    @property
    def verdict_code(self) -> tuple[str, dict]:
        """What the verdict says, as a code (a key of VERDICTS) and its parameters."""
        c2pa = self.c2pa
        if self.ok:
            return "intact", {"state": c2pa.state, "signer": "studio" if c2pa.state == "Trusted" else "untrusted"}
        if c2pa and c2pa.expired:
            return "expired", {}
        if c2pa and c2pa.state == "Invalid":
            return "invalid", {}
        if c2pa and c2pa.intact:
            return "not_ai", {"state": c2pa.state}
        if self.watermark and self.watermark.detected:
            return "stripped", {}
        if self.xmp and self.xmp.says_ai:
            return "xmp_only", {}
        return "unmarked", {}

    @property
    def verdict(self) -> str:
        code, params = self.verdict_code
        if code == "intact":
            params = {**params, "signer": SIGNERS[params["signer"]]}
        return VERDICTS[code].format(**params)


def verify_file(path: str | Path, settings: Settings | None = None, *, use_audit: bool = True) -> VerifyReport:
    from darkroom.userfiles import FileRefused, read_file

    path = Path(path)
    try:
        data = read_file(path, "file")  # regular files only, size limit
    except FileRefused as err:
        raise ImageError(f"cannot verify {path}: it {err.reason}") from None
    return verify_bytes(data, settings, name=str(path), use_audit=use_audit)


def verify_bytes(data: bytes, settings: Settings | None = None, *, name: str = "upload",
                 use_audit: bool = True) -> VerifyReport:
    from darkroom.trust.keys import trust_anchors_pem

    settings = settings or Settings()
    fmt = sniff_format(data)
    report = VerifyReport(path=name, format=fmt, sha256=hashlib.sha256(data).hexdigest())
    from darkroom.userfiles import TooManyPixels, open_image

    pil, broken = None, None
    try:
        pil = open_image(data, name)  # pixels counted before decoding: a bomb is refused, not decoded
    except TooManyPixels:
        raise
    except ImageError as err:
        if fmt is None:
            raise ImageError(str(err)) from None  # it names the file: "the upload is not an image ..."
        broken = err
    if pil is not None:
        report.format = fmt or (pil.format or "").lower() or None
        report.width, report.height = pil.size

    # C2PA
    report.c2pa = provenance.read(data, fmt, trust_anchors_pem(settings))
    if broken is not None:
        report.note("damaged", f"the image data is damaged and cannot be decoded ({broken}); "
                    "XMP, recipe and watermark were not read", error=str(broken))
        return report
    marking = report.c2pa.marking if report.c2pa.intact else None
    if report.c2pa.expired and report.c2pa.marking:
        marking = report.c2pa.marking  # the hashes match: its claims are the signed ones
    elif report.c2pa.state == "Invalid" and report.c2pa.marking:
        report.note("claims_untrusted", "the manifest's own claims (watermark payload, audit reference) are "
                    "shown but cannot be trusted: the manifest does not validate")
        marking = report.c2pa.marking

    # XMP, infotext, recipe
    report.xmp = xmp.parse_packet(pil.info.get("xmp") or pil.info.get(xmp.PNG_KEYWORD))
    report.parameters, report.recipe = _embedded_text(pil, report.xmp)
    if report.c2pa.intact and marking and report.recipe is not None and marking.get("recipe_sha256"):
        report.recipe_signed = hashlib.sha256(report.recipe.encode("utf-8")).hexdigest() == marking["recipe_sha256"]

    # watermark
    audit_log = _open_audit(settings) if use_audit else None
    rgb = np.asarray(pil.convert("RGB"))
    readable = watermark.can_watermark(report.width, report.height)
    declared = (marking or {}).get("watermark") if marking else None
    report.watermark_declared = declared
    expected, source = None, None
    if declared and declared.get("payload"):
        expected, source = declared["payload"], "C2PA manifest"
    elif report.xmp and report.xmp.watermark and report.xmp.watermark != "none":
        expected, source = report.xmp.watermark, "XMP (unsigned)"
    log_payloads = _audit_payloads(audit_log) if audit_log is not None and readable else []
    # Two looks at most (the declared payload, then the audit log): each gets half the
    # false-positive budget, so a false detection stays below watermark.TARGET_FP overall.
    budget = watermark.TARGET_FP / (2 if expected and log_payloads else 1)
    detection = None
    if expected:
        try:
            detection = watermark.detect(rgb, [int(expected, 16)], target=budget)
        except ValueError:
            report.note("watermark_malformed", f"the declared watermark payload {expected!r} is malformed",
                        payload=str(expected))
    if (detection is None or not detection.detected) and log_payloads:
        from_log = watermark.detect(rgb, log_payloads, target=budget)
        if detection is None or from_log.detected:
            detection, source = from_log, f"audit log ({len(log_payloads)} exported images)"
    if detection is None:
        detection = watermark.detect(rgb, [])
    report.watermark, report.watermark_source = detection, source
    if not readable and (declared or {}).get("status") != "not_applied":
        report.note("too_small", watermark.too_small_reason(report.width, report.height).replace(
            "the dwtDctSvd watermark needs", "a watermark needs") + "; nothing to read",
            width=report.width, height=report.height, min_pixels=watermark.MIN_PIXELS)

    # audit link
    if audit_log is not None:
        report.audit = _find_audit_link(audit_log, report, marking)
    elif use_audit:
        report.note("no_audit_log", "no audit log on this machine (library database not found)")
    return report


def _embedded_text(pil: Image.Image, info: xmp.XmpInfo | None) -> tuple[str | None, str | None]:
    recipe = pil.info.get("darkroom")
    if recipe is None and info is not None:
        recipe = info.recipe
    return read_infotext(pil), recipe


def _open_audit(settings: Settings):
    if not settings.database_file.exists():
        return None
    from darkroom.trust.audit import AuditLog

    return AuditLog(settings, checkpoint_every=0)


def _audit_payloads(log) -> list[int]:
    payloads = []
    for entry in log.entries(kind="export"):
        value = entry.payload.get("watermark")
        if isinstance(value, str):
            try:
                payloads.append(int(value, 16))
            except ValueError:
                continue
    return payloads


def _find_audit_link(log, report: VerifyReport, marking: dict | None) -> AuditLink | None:
    found, how = log.find("export", sha256=report.sha256), "file hash"
    if not found and report.c2pa and report.c2pa.label:
        found, how = log.find("export", manifest=report.c2pa.label), "C2PA manifest"
    if not found and report.watermark and report.watermark.detected:
        found, how = log.find("export", watermark=watermark.payload_hex(report.watermark.payload)), "watermark"
    if not found and marking and marking.get("audit_ref"):
        entry = log.resolve(marking["audit_ref"])
        found, how = ([entry] if entry else []), "audit reference"
    if not found:
        return None
    entry = found[-1]
    return AuditLink(entry, how, log.entry_intact(entry.index))


def format_report(report: VerifyReport) -> str:
    """The human-readable report `darkroom verify` prints."""
    lines = [f"{report.path}: {report.format or 'unknown format'} {report.width}x{report.height}, "
             f"sha256 {report.sha256[:16]}…"]
    c = report.c2pa
    if c is None or c.state == "none":
        lines.append("C2PA        none (no manifest in this file)")
    else:
        signer = f"signed by {c.signer or '?'} ({c.issuer or '?'})" if c.signer else ""
        lines.append(f"C2PA        {c.state} {signer}".rstrip())
        if c.generator:
            lines.append(f"  generator {c.generator}")
        for action in c.actions:
            source = action.get("digitalSourceType", "").rsplit("/", 1)[-1]
            lines.append(f"  action    {action.get('action')}" + (f" ({source})" if source else ""))
        for ing in c.ingredients:
            lines.append(f"  ingredient {ing['relationship']}: {ing['title']} ({ing['format']}), "
                         f"its manifest: {ing['state']}")
        for failure in c.failures:
            lines.append(f"  problem   {failure}")
    x = report.xmp
    if x is None:
        lines.append("XMP         none")
    else:
        lines.append(f"XMP         DigitalSourceType {(x.source_type or 'not set').rsplit('/', 1)[-1]}"
                     + (f"; AI system {x.ai_system} {x.ai_system_version or ''}".rstrip() if x.ai_system else ""))
    w = report.watermark
    declared = report.watermark_declared or {}
    if declared.get("status") == "not_applied":
        lines.append(f"watermark   not applied at export: {declared.get('reason', 'no reason given')}")
    elif w is None:
        lines.append("watermark   not read (the image data could not be decoded)")
    elif not w.readable:
        lines.append("watermark   cannot be read (image smaller than 256x256)")
    elif w.payload is None:
        lines.append(f"watermark   no darkroom payload to compare with; darkroom tag bits {w.tag_matched}/16 "
                     "(a hint only: 16 bits cannot prove anything)")
    else:
        verdict = "FOUND" if w.detected else "not found"
        best = "best " if w.candidates > 1 else ""
        lines.append(f"watermark   {verdict}: {best}{w.matched}/48 bits match {watermark.payload_hex(w.payload)} "
                     f"(threshold {w.threshold}, expected payload from {report.watermark_source}; "
                     f"chance of this on an unmarked image {w.false_positive:.1e})"
                     + (f"; read after undoing a brightness/contrast change (chroma gain {w.gain:.2f})"
                        if w.stage == "gain search" else "")
                     + ("; read after re-finding the block grid of a cropped image"
                        if w.stage == "crop resync" else ""))
    if report.recipe is not None:
        signed = {True: ", matches the signed hash", False: ", does NOT match the signed hash",
                  None: ""}[report.recipe_signed]
        lines.append(f"recipe      embedded ({len(report.recipe)} characters{signed})")
    elif report.parameters is not None:
        lines.append("recipe      none; A1111 parameters present")
    else:
        lines.append("recipe      none")
    if report.audit is not None:
        e = report.audit.entry
        state = "entry hash ok" if report.audit.entry_hash_ok else "ENTRY HASH MISMATCH"
        lines.append(f"audit       {e.ref} ({e.kind}, {e.time}), found by {report.audit.found_by}; {state}")
    for note in report.notes:
        lines.append(f"note        {note}")
    lines.append(f"verdict     {report.verdict}")
    return "\n".join(lines)
