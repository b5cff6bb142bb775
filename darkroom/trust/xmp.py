"""The IPTC XMP packet that says "made by a trained algorithm".

Written properties:

    Iptc4xmpExt:DigitalSourceType    .../trainedAlgorithmicMedia (new images) or
                                     .../compositeWithTrainedAlgorithmicMedia (edits)
    Iptc4xmpExt:AISystemUsed         "darkroom" (+ the model, when given)      IPTC 2025.1
    Iptc4xmpExt:AISystemVersionUsed  darkroom's version                         IPTC 2025.1
    Iptc4xmpExt:AIPromptInformation  only when the user opts in to sharing the prompt
    xmp:CreatorTool                  "darkroom <version>"
    darkroom:AuditRef                the audit entry the image belongs to
    darkroom:Watermark               the 48-bit watermark payload (hex), or "none"
    darkroom:Recipe                  the recipe JSON, in JPEG/WebP only (PNG: `darkroom` chunk)

XMP is not signed by itself; the C2PA manifest signed afterwards covers the bytes it sits in.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

IPTC_SOURCE_TYPES = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED = IPTC_SOURCE_TYPES + "trainedAlgorithmicMedia"
COMPOSITE = IPTC_SOURCE_TYPES + "compositeWithTrainedAlgorithmicMedia"
AI_SOURCE_TYPES = frozenset(
    {TRAINED, COMPOSITE, IPTC_SOURCE_TYPES + "algorithmicMedia", IPTC_SOURCE_TYPES + "compositeSynthetic"}
)

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "darkroom": "https://darkroom.invalid/ns/xmp/1.0/",  # .invalid: a name, never fetched
}
PNG_KEYWORD = "XML:com.adobe.xmp"
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    """Drop characters XML 1.0 cannot carry (control characters, lone surrogates)."""
    return _NOT_XML.sub("", text)


def build_packet(
    *,
    source_type: str,
    ai_system: str,
    ai_system_version: str,
    audit_ref: str | None = None,
    watermark: str | None = None,
    prompt: str | None = None,
    recipe: str | None = None,
) -> bytes:
    """The packet; `recipe` is embedded only for JPEG/WebP (PNG has its own chunk)."""
    attrs = {
        "Iptc4xmpExt:DigitalSourceType": source_type,
        "Iptc4xmpExt:AISystemUsed": ai_system,
        "Iptc4xmpExt:AISystemVersionUsed": ai_system_version,
        "xmp:CreatorTool": f"darkroom {ai_system_version}",
    }
    if audit_ref:
        attrs["darkroom:AuditRef"] = audit_ref
    attrs["darkroom:Watermark"] = watermark or "none"
    ns = "".join(f"\n    xmlns:{p}={quoteattr(u)}" for p, u in NS.items() if p not in ("x", "rdf"))
    body = "".join(f"\n    {k}={quoteattr(_clean(v))}" for k, v in attrs.items())
    inner = ""
    if prompt:
        inner += f"\n   <Iptc4xmpExt:AIPromptInformation>{escape(_clean(prompt))}</Iptc4xmpExt:AIPromptInformation>"
    if recipe:
        inner += f"\n   <darkroom:Recipe>{escape(_clean(recipe))}</darkroom:Recipe>"
    if inner:
        inner += "\n  "
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        f'<x:xmpmeta xmlns:x="{NS["x"]}">\n'
        f' <rdf:RDF xmlns:rdf="{NS["rdf"]}">\n'
        f'  <rdf:Description rdf:about=""{ns}{body}>{inner}</rdf:Description>\n'
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")


@dataclass(frozen=True)
class XmpInfo:
    source_type: str | None
    ai_system: str | None
    ai_system_version: str | None
    audit_ref: str | None
    watermark: str | None
    recipe: str | None = None

    @property
    def says_ai(self) -> bool:
        return self.source_type in AI_SOURCE_TYPES


def parse_packet(data: bytes | str | None) -> XmpInfo | None:
    """Read the properties above from any XMP packet (attribute or element form)."""
    if not data:
        return None
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    start, end = data.find("<x:xmpmeta"), data.rfind("</x:xmpmeta>")
    if start < 0 or end < 0:
        start, end = data.find("<rdf:RDF"), data.rfind("</rdf:RDF>")
        if start < 0 or end < 0:
            return None
        end += len("</rdf:RDF>")
    else:
        end += len("</x:xmpmeta>")
    try:
        root = ET.fromstring(data[start:end])
    except ET.ParseError:
        return None

    def find(prefix: str, name: str) -> str | None:
        tag = f"{{{NS[prefix]}}}{name}"
        for desc in root.iter(f"{{{NS['rdf']}}}Description"):
            if tag in desc.attrib:
                return desc.attrib[tag]
            for child in desc.iter(tag):
                resource = child.attrib.get(f"{{{NS['rdf']}}}resource")
                text = resource or "".join(child.itertext()).strip()
                if text:
                    return text
        return None

    return XmpInfo(
        source_type=find("Iptc4xmpExt", "DigitalSourceType"),
        ai_system=find("Iptc4xmpExt", "AISystemUsed"),
        ai_system_version=find("Iptc4xmpExt", "AISystemVersionUsed"),
        audit_ref=find("darkroom", "AuditRef"),
        watermark=find("darkroom", "Watermark"),
        recipe=find("darkroom", "Recipe"),
    )
