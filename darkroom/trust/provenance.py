"""C2PA manifests with c2pa-python: sign the finished bytes, read them back. Offline.

Every c2pa call goes through `context()`, which fixes the settings darkroom relies on:

    builder.thumbnail.enabled = false       no thumbnail of the image (c2pa embeds one by default)
    verify.remote_manifest_fetch = false    never fetch a manifest from a URL in the file
    verify.ocsp_fetch = false               no revocation look-ups
    trust.user_anchors = <studio root + configured anchors>

Manifests for generations carry `c2pa.created` with digitalSourceType
trainedAlgorithmicMedia; for edits of an existing image, `c2pa.opened` of the parent (a
`parentOf` ingredient, titled "parent image", never its file name) and `c2pa.edited`; for an
export of a finished picture in another format, `c2pa.opened` and `c2pa.transcoded`. The
source type of an edit is trainedAlgorithmicMedia when every input of the chain was
generated, compositeWithTrainedAlgorithmicMedia only when a photo or other non-generated
picture is part of it. With a time-stamp authority configured (`Settings.tsa_url`, an
organisation's RFC 3161 TSA; none by default, nothing is contacted), the signature carries
a time-stamp, so it stays valid after the signing certificate expires. darkroom adds one assertion of its own,
`org.darkroom.marking`: the watermark payload and status, the audit reference, the
recipe's hash and the LoRAs/embeddings it applied, by hash (not the recipe, not the prompt,
unless the user opts in to the prompt).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

from darkroom.version import __version__
from darkroom.errors import DarkroomError, IntegrityError
from darkroom.trust.xmp import AI_SOURCE_TYPES, COMPOSITE, TRAINED

MARKING_LABEL = "org.darkroom.marking"
MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


class ProvenanceError(DarkroomError):
    """A C2PA manifest could not be made."""


def _c2pa():
    try:
        import c2pa
    except ImportError as err:  # pragma: no cover - a dependency
        raise ProvenanceError("c2pa-python is missing: pip install c2pa-python") from err
    return c2pa


def context(anchors_pem: bytes | str = b""):
    """A c2pa Context with darkroom's offline, privacy-first settings."""
    c2pa = _c2pa()
    anchors = anchors_pem.decode() if isinstance(anchors_pem, bytes) else anchors_pem
    settings: dict = {
        "version": 1,
        "builder": {
            "thumbnail": {"enabled": False},
            "claim_generator_info": {"name": "darkroom", "version": __version__},
        },
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    }
    if anchors:
        settings["trust"] = {"user_anchors": anchors}
    return c2pa.Context.from_dict(settings)


def _signer(identity, tsa_url: str | None = None):
    c2pa = _c2pa()
    info = c2pa.C2paSignerInfo(identity.alg, identity.chain_pem, identity.key_pem,
                               tsa_url.encode() if tsa_url else None)
    return c2pa.Signer.from_info(info)


def networks_in(recipe_json: str) -> dict:
    """{"networks": [...]} for the marking assertion: each LoRA and embedding of the recipe by kind, name,
    sha256, A1111 hash and weight ({} for a recipe without any)."""
    try:
        networks = json.loads(recipe_json).get("networks") or []
    except (ValueError, AttributeError):
        return {}
    keep = ("kind", "name", "sha256", "hash", "weight")
    return {"networks": [{k: n.get(k) for k in keep} for n in networks if isinstance(n, dict)]} if networks else {}


def manifest_definition(kind: str, marking: dict, title: str = "darkroom image", source_type: str | None = None
                        ) -> dict:
    agent = {"name": "darkroom", "version": __version__}
    source_type = source_type or TRAINED
    if source_type not in (TRAINED, COMPOSITE):
        raise ValueError(f"unexpected source type {source_type!r}")
    if kind == "created":
        if source_type != TRAINED:
            raise ValueError("a created image is trainedAlgorithmicMedia")
        actions = [{"action": "c2pa.created", "digitalSourceType": TRAINED, "softwareAgent": agent}]
    elif kind in ("edited", "transcoded"):
        actions = [
            {"action": "c2pa.opened", "softwareAgent": agent, "parameters": {"ingredientIds": ["parent"]}},
            {"action": f"c2pa.{kind}", "digitalSourceType": source_type, "softwareAgent": agent},
        ]
    else:
        raise ValueError(f"kind must be 'created', 'edited' or 'transcoded', not {kind!r}")
    return {
        "claim_generator_info": [agent],
        "title": title,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": actions}},
            {"label": MARKING_LABEL, "data": marking},
        ],
    }


def sign(
    data: bytes,
    fmt: str,
    *,
    identity,
    kind: str,
    marking: dict,
    parent: bytes | None = None,
    parent_format: str | None = None,
    source_type: str | None = None,
    tsa_url: str | None = None,
) -> bytes:
    """Embed a signed manifest into `data` (the finished image bytes) and return the result."""
    c2pa = _c2pa()
    mime = MIME[fmt]
    if kind != "created" and parent is None:
        raise ProvenanceError("an edited image needs its parent image for the c2pa.opened ingredient")
    definition = manifest_definition(kind, marking, source_type=source_type)
    ctx = context(identity.anchors_pem)
    try:
        with c2pa.Builder(definition, context=ctx) as builder:
            if kind != "created":
                builder.add_ingredient(
                    {"title": "parent image", "relationship": "parentOf", "label": "parent"},
                    MIME.get(parent_format or "png", "image/png"),
                    io.BytesIO(parent),
                )
            out = io.BytesIO()
            with _signer(identity, tsa_url) as signer:
                builder.sign(signer, mime, io.BytesIO(data), out)
    except c2pa.C2paError as err:
        raise ProvenanceError(f"C2PA signing failed: {err}") from err
    return out.getvalue()


@dataclass
class C2paInfo:
    """What a file's C2PA manifest store says."""

    state: str  # "Trusted", "Valid", "Invalid" or "none"
    label: str | None = None
    signer: str | None = None
    issuer: str | None = None
    generator: str | None = None
    actions: list[dict] = field(default_factory=list)
    ingredients: list[dict] = field(default_factory=list)
    marking: dict | None = None
    failures: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def source_types(self) -> list[str]:
        return [a["digitalSourceType"] for a in self.actions if a.get("digitalSourceType")]

    @property
    def says_ai(self) -> bool:
        return any(t in AI_SOURCE_TYPES for t in self.source_types)

    @property
    def intact(self) -> bool:
        return self.state in ("Trusted", "Valid")

    @property
    def codes(self) -> set[str]:
        return {f.split(":", 1)[0] for f in self.failures}

    @property
    def expired(self) -> bool:
        """Invalid only because the signing certificate has expired (no time-stamp kept it valid):
        every hash still matches, so the content is what was signed."""
        return self.state == "Invalid" and "signingCredential.expired" in self.codes and \
            self.codes <= {"signingCredential.expired", "signingCredential.untrusted"}

    @property
    def tampered(self) -> bool:
        """Invalid for any other reason: changed after signing, or broken."""
        return self.state == "Invalid" and not self.expired


def read(data: bytes, fmt: str | None, anchors_pem: bytes | str = b"") -> C2paInfo:
    """Read and validate the manifest store in `data` (never touches the network)."""
    c2pa = _c2pa()
    ctx = context(anchors_pem)
    mime = MIME.get(fmt or "", None)
    try:
        reader = c2pa.Reader.try_create(mime, io.BytesIO(data), None, ctx) if mime else \
            c2pa.Reader.try_create(io.BytesIO(data), None, ctx)
    except c2pa.C2paError as err:
        # A manifest that cannot even be parsed is a broken one, not an absent one.
        return C2paInfo(state="Invalid", error=str(err), failures=[str(err)])
    if reader is None:
        return C2paInfo(state="none")
    with reader:
        store = json.loads(reader.json())
    label = store.get("active_manifest")
    manifest = store.get("manifests", {}).get(label, {}) if label else {}
    state = store.get("validation_state") or ("Invalid" if store.get("validation_status") else "Valid")
    info = C2paInfo(state=state, label=label)
    sig = manifest.get("signature_info") or {}
    info.signer, info.issuer = sig.get("common_name"), sig.get("issuer")
    gen = manifest.get("claim_generator_info") or []
    if gen:
        info.generator = " ".join(str(gen[0].get(k, "")) for k in ("name", "version")).strip()
    for assertion in manifest.get("assertions", []):
        if assertion.get("label", "").startswith("c2pa.actions"):
            info.actions.extend(assertion.get("data", {}).get("actions", []))
        elif assertion.get("label") == MARKING_LABEL:
            info.marking = assertion.get("data")
    for ing in manifest.get("ingredients", []):
        info.ingredients.append(
            {"title": ing.get("title"), "relationship": ing.get("relationship"), "format": ing.get("format"),
             "manifest": ing.get("active_manifest"), "state": _ingredient_state(ing)}
        )
    results = store.get("validation_results") or {}
    for failure in (results.get("activeManifest") or {}).get("failure", []):
        info.failures.append(f"{failure.get('code')}: {failure.get('explanation', '')}".strip())
    for status in store.get("validation_status") or []:
        text = f"{status.get('code')}: {status.get('explanation', '')}".strip()
        if text not in info.failures:
            info.failures.append(text)
    if info.state == "Valid" and any(f.startswith("signingCredential.untrusted") for f in info.failures):
        # signature and hashes are fine; only the signer is not one of our anchors
        info.failures = [f for f in info.failures if not f.startswith("signingCredential.untrusted")]
        info.failures.append("signingCredential.untrusted: the signer is not in the studio's trust anchors")
    return info


def _ingredient_state(ingredient: dict) -> str:
    if not ingredient.get("active_manifest"):
        return "none"
    results = (ingredient.get("validation_results") or {}).get("activeManifest") or {}
    failures = [f.get("code", "") for f in results.get("failure", [])]
    if any(code != "signingCredential.untrusted" for code in failures):
        return "Invalid"
    if any(s.get("code") == "signingCredential.trusted" for s in results.get("success", [])):
        return "Trusted"
    return "Valid"


def require_intact(info: C2paInfo) -> None:
    if not info.intact:
        raise IntegrityError("the C2PA manifest is invalid: " + "; ".join(info.failures or [info.state]))
