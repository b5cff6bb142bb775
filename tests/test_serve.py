"""`darkroom serve` on a real uvicorn at 127.0.0.1 (ephemeral port): native API, A1111 API, security, auth."""

from __future__ import annotations

import base64
import io
import json
import struct
import threading
import time
import zlib

import httpx
import numpy as np
import pytest
from PIL import Image
from serving import start, stop

from darkroom import Studio
from darkroom.serve.server import check_bind
from darkroom.serve.users import Users

pytestmark = [pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]

RECIPE = {"model": {"name": "tiny"}, "steps": [
    {"op": "generate", "prompt": "a lighthouse at dusk", "seed": 3, "steps": 3, "width": 16, "height": 16}]}


@pytest.fixture
def server(tiny_model):
    running = start(Studio())
    yield running
    stop(running)


def sse_events(client, path: str, headers=None) -> list[dict]:
    events = []
    with client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------------------- native API
def test_a_job_over_http_streams_its_events_and_its_pictures_can_be_fetched(server):
    client = server.client
    answer = client.post("/api/v1/jobs", json={"recipe": RECIPE, "previews": True, "project": "shore"})
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    events = sse_events(client, f"/api/v1/jobs/{job_id}/events")
    kinds = [e["kind"] for e in events]
    assert kinds[:2] == ["queued", "started"] and kinds[-1] == "done" and kinds.count("picture") == 1
    step = next(e for e in events if e["kind"] == "step")
    assert step["total"] == 3 and step["preview"].startswith("data:image/png;base64,")
    job = client.get(f"/api/v1/jobs/{job_id}").json()
    assert job["state"] == "done" and job["project"] == "shore" and len(job["pictures"]) == 1
    sha = job["pictures"][0]["sha256"]
    data = client.get(f"/api/v1/pictures/{sha}/file").content
    assert data == server.studio.library.get_bytes(sha)
    meta = client.get(f"/api/v1/pictures/{sha}").json()
    assert meta["provenance"]["ok"] and meta["lineage"] == [sha] and "Seed: 3" in meta["infotext"]
    verified = client.post("/api/v1/verify", content=data).json()
    assert verified["ok"] and verified["marked_ai"]
    assert [p["sha256"] for p in client.get("/api/v1/pictures", params={"project": "shore"}).json()] == [sha]
    assert client.post(f"/api/v1/pictures/{sha}/keep").status_code == 200


def test_a_client_that_goes_away_does_not_lose_its_job(server):
    job_id = server.client.post("/api/v1/jobs", json={"recipe": RECIPE}).json()["id"]
    with server.client.stream("GET", f"/api/v1/jobs/{job_id}/events") as response:
        next(response.iter_lines())  # read one line, then hang up
    deadline = time.time() + 60
    while server.client.get(f"/api/v1/jobs/{job_id}").json()["state"] != "done" and time.time() < deadline:
        time.sleep(0.1)
    assert len(server.client.get(f"/api/v1/jobs/{job_id}").json()["pictures"]) == 1


def test_cancel_over_http(server):
    slow = json.loads(json.dumps(RECIPE))
    slow["steps"][0].update(steps=60, batch_size=2)
    job_id = server.client.post("/api/v1/jobs", json={"recipe": slow}).json()["id"]
    with server.client.stream("GET", f"/api/v1/jobs/{job_id}/events") as response:
        for line in response.iter_lines():
            if line.startswith("event: step"):
                assert server.client.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 200
                break
    server.studio.job(job_id).wait(60)
    job = server.client.get(f"/api/v1/jobs/{job_id}").json()
    assert job["state"] == "cancelled" and job["pictures"] == []


@pytest.mark.parametrize("body, status, words", [
    ({"recipe": {"model": {"name": "tiny"}, "steps": []}}, 422, "steps"),
    ({"recipe": {**RECIPE, "steps": [{**RECIPE["steps"][0], "cfg": 99}]}}, 422, "cfg"),
    ({"recipe": {**RECIPE, "steps": [{**RECIPE["steps"][0], "prompt": "a naked child"}]}}, 403, "blocked"),
    ({"recipe": {**RECIPE, "model": {"name": "no-such-model"}}}, 404, "no-such-model"),
    ({"recipe": RECIPE, "project": "../etc"}, 400, "project name"),
    ({"recipe": {"model": {"name": "tiny"}, "steps": [{"op": "img2img", "image": "/etc/hostname", "prompt": "x"}]}},
     422, "only by sha256"),  # a request never names a file on the server
    ({"recipe": {**RECIPE, "model": {"name": "/etc"}}}, 404, "by a path"),
])
def test_user_errors_are_json_with_a_4xx_status(server, body, status, words):
    answer = server.client.post("/api/v1/jobs", json=body)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["detail"]


def test_the_schema_the_web_studio_builds_its_forms_from(server):
    schema = server.client.get("/api/v1/schema/recipe").json()
    assert "generate" in json.dumps(schema) and "description_de" in json.dumps(schema)
    openapi = server.client.get("/api/v1/openapi.json").json()
    assert "/api/v1/jobs" in openapi["paths"] and "/sdapi/v1/txt2img" in openapi["paths"]
    assert "Euler a" in server.client.get("/api/v1/samplers").json()
    assert server.client.post("/api/v1/policy/check", json={"prompt": "a red fox"}).json()["action"] == "allow"
    assert server.client.post("/api/v1/prompt/analyze", json={"prompt": "a (red:1.2) fox"}).json()["token_count"] > 0
    long = "a red fox, " * 1000  # 11,000 characters: refused before the tokenizer or the policy sees it
    for path in ("policy/check", "prompt/analyze"):
        assert server.client.post(f"/api/v1/{path}", json={"prompt": long}).status_code == 422
    refused = server.client.post("/sdapi/v1/txt2img", json={"prompt": long, "steps": 1})
    assert refused.status_code == 422 and "at most 10000" in refused.json()["detail"]


def test_uploads_are_bounded_and_must_be_pictures(server):
    assert server.client.post("/api/v1/inputs", content=b"not a picture").status_code == 422
    assert server.client.post("/api/v1/inputs", content=b"").status_code == 422
    big = b"\0" * (server.studio.settings and (32 * 2**20 + 1))
    assert server.client.post("/api/v1/inputs", content=big).status_code == 422
    ok = server.client.post("/api/v1/inputs", content=png(Image.new("RGB", (16, 16), (9, 99, 199))))
    assert ok.status_code == 201 and ok.json()["ref"].startswith("sha256:")


def test_error_messages_come_in_german_when_asked_and_in_english_by_default(server):
    client = server.client
    too_many = {"recipe": {**RECIPE, "steps": [{**RECIPE["steps"][0], "steps": 999}]}}
    english = client.post("/api/v1/jobs", json=too_many).json()
    assert english["error"] == "InvalidRequest" and "less than or equal to 150" in english["detail"]
    german = client.post("/api/v1/jobs", json=too_many, headers={"accept-language": "de-DE,de;q=0.9,en;q=0.5"})
    assert "Eingabe muss kleiner oder gleich 150 sein" in german.json()["detail"]
    assert client.get("/api/v1/pictures/ab12?lang=de").json()["detail"] == "Kein Bild sha256:ab12 von Ihnen."
    blocked = {"recipe": {**RECIPE, "steps": [{**RECIPE["steps"][0], "prompt": "a naked child"}]}}
    assert client.post("/api/v1/jobs?lang=de", json=blocked).json()["detail"].startswith("Blockiert durch Richtlinie")
    unknown = client.post("/api/v1/jobs", json={"recipe": {**RECIPE, "model": {"name": "nope"}}}, headers={
        "accept-language": "de"}).json()["detail"]
    assert unknown.startswith("Unbekanntes Modell 'nope'. Bekannte Modelle: ")
    assert client.get("/api/v1/models", headers={"host": "evil.example", "accept-language": "de"}).json()[
        "detail"].startswith("Dieser Server antwortet nicht")
    # a message without a German pattern: the German summary of its kind, the English detail after it
    from darkroom.serve.messages import translate

    assert translate("ImageError", "the mask is empty", 422, "de") == (
        "Bild nicht verwendbar. Einzelheiten (englisch): the mask is empty")
    assert translate("ImageError", "the mask is empty", 422, "en") == "the mask is empty"


def library_state(studio) -> tuple[list[str], list[str]]:
    """The library's rows and its files on disk."""
    files = sorted(p.name for p in (studio.library.root / "objects").rglob("*.png"))
    return sorted(r.sha256 for r in studio.library.records()), files


def test_a_job_carries_its_masks_and_a_refused_one_leaves_none_behind(server):
    client, studio = server.client, server.studio
    ref = client.post("/api/v1/inputs", content=png(Image.new("RGB", (16, 16), (9, 99, 199)))).json()["ref"]
    mask = Image.new("L", (16, 16), 0)
    mask.paste(255, (4, 4, 12, 12))
    inputs = {"mask-1.png": base64.b64encode(png(mask)).decode()}
    step = {"op": "inpaint", "image": ref, "prompt": "a naked child", "steps": 2,
            "zone": {"kind": "mask", "image": "mask-1.png"}}
    recipe = {"model": {"name": "tiny"}, "steps": [step]}
    before = library_state(studio)
    refused = client.post("/api/v1/jobs?lang=de", json={"recipe": recipe, "inputs": inputs})
    assert refused.status_code == 403 and refused.json()["detail"].startswith("Blockiert durch Richtlinie")
    assert library_state(studio) == before  # the policy refused: the mask was never kept
    small = {"mask-1.png": base64.b64encode(png(mask.resize((8, 8)))).decode()}
    step["prompt"] = "a yellow star"
    wrong = client.post("/api/v1/jobs", json={"recipe": recipe, "inputs": small})
    assert wrong.status_code == 422 and "the mask is 8x8 but the image is 16x16" in wrong.json()["detail"]
    assert library_state(studio) == before
    unnamed = client.post("/api/v1/jobs", json={"recipe": recipe, "inputs": {"other.png": inputs["mask-1.png"]}})
    assert unnamed.status_code == 422 and "given: other.png" in unnamed.json()["detail"]
    assert client.post("/api/v1/jobs", json={"recipe": recipe, "inputs": {"../m.png": "AA=="}}).status_code == 422
    a1111 = client.post("/sdapi/v1/img2img", json={"init_images": [inputs["mask-1.png"]], "mask": inputs["mask-1.png"],
                                                   "prompt": "a naked child", "width": 16, "height": 16, "steps": 2})
    assert a1111.status_code == 403 and library_state(studio) == before  # A1111's img2img: the same
    # admitted: the mask is stored, metadata stripped, and the recorded recipe names it by sha256
    job = client.post("/api/v1/jobs", json={"recipe": recipe, "inputs": inputs})
    assert job.status_code == 202, job.text
    studio.job(job.json()["id"]).wait(60)
    made = client.get(f"/api/v1/jobs/{job.json()['id']}").json()["pictures"][0]
    mask_ref = made["recipe"]["steps"][0]["zone"]["image"]
    assert mask_ref.startswith("sha256:") and studio.library.get(mask_ref).kind == "input"
    assert set(library_state(studio)[0]) - set(before[0]) == {mask_ref[7:], made["sha256"]}


def test_reports_come_in_german_when_asked(server):
    import sqlite3

    client, studio = server.client, server.studio
    upload = png(Image.new("RGB", (16, 16), (200, 30, 30)))
    sha = client.post("/api/v1/inputs", content=upload, params={"project": "p"}).json()["ref"][7:]
    plan = client.post("/api/v1/erase?lang=de", json={"image": f"sha256:{sha}", "dry_run": True}).json()["plan"]
    assert plan == f"Bild sha256:{sha[:12]} und 0 daraus entwickelte(s)"
    done = client.post("/api/v1/erase?lang=de", json={"project": "p"}).json()
    assert done["plan"] == "Projekt 'p': 1 Datei(en)" and done["files"] == 1
    assert done["summary"].startswith("1 Datei(en) gelöscht, ") and "Protokolleinträgen vernichtet" in done["summary"]
    assert client.get("/api/v1/audit/verify?lang=de").json()["summary"].startswith("Prüfprotokoll intakt: ")
    warnings = client.post("/api/v1/prompt/analyze?lang=de", json={"prompt": "a (red fox"}).json()["warnings"]
    assert warnings == ["Bei Zeichen 3: '(' wird nie geschlossen: alles danach bekommt das Gewicht x1.1."]
    with sqlite3.connect(studio.audit.path) as db:  # someone with file access edits an entry
        db.execute("DROP TRIGGER audit_entries_no_update")
        db.execute("UPDATE audit_entries SET subject = 'forged' WHERE idx = 0")
    broken = client.get("/api/v1/audit/verify?lang=de").json()
    assert not broken["ok"] and broken["first_bad"] == 0
    assert broken["problems"][0]["message"] == "Eintrag #0 verändert: sein Inhalt passt nicht mehr zu seinem Hash"
    english = client.get("/api/v1/audit/verify").json()
    assert english["problems"][0]["message"] == "entry #0 altered: its content no longer matches its hash"


def test_the_studio_endpoints_of_the_web_ui(server):
    from test_develop_masks import synthetic_face

    client, studio = server.client, server.studio
    assert client.get("/api/v1/whoami").json() == {"name": "local", "admin": True, "signed_in": False,
                                                    "projects": []}
    job = client.post("/api/v1/jobs", json={"recipe": RECIPE, "project": "shore"}).json()["id"]
    studio.job(job).wait(60)
    sha = client.get(f"/api/v1/jobs/{job}").json()["pictures"][0]["sha256"]
    assert client.get("/api/v1/projects").json() == [{"name": "shore", "pictures": 1}]
    assert [p["sha256"] for p in client.get("/api/v1/pictures", params={"prompt": "LIGHTHOUSE dusk"}).json()] == [sha]
    assert client.get("/api/v1/pictures", params={"prompt": "lighthouse noon"}).json() == []
    assert client.get("/api/v1/pictures", params={"until": time.time() - 3600}).json() == []
    # keep, un-keep
    client.post(f"/api/v1/pictures/{sha}/keep")
    assert [p["kept"] for p in client.get("/api/v1/pictures", params={"kept": True}).json()] == [True]
    assert client.delete(f"/api/v1/pictures/{sha}/keep").json()["kept"] is False
    assert client.get("/api/v1/pictures", params={"kept": True}).json() == [] and sha not in studio.library.kept()
    # the picture's audit events: the run that made it
    kinds = [e["kind"] for e in client.get(f"/api/v1/pictures/{sha}/audit").json()]
    assert kinds[:3] == ["policy", "model", "step"] and "export" in kinds
    # export as WebP: a new file, marked and signed anew
    webp = client.get(f"/api/v1/pictures/{sha}/export", params={"format": "webp", "quality": 80})
    assert webp.status_code == 200 and webp.headers["content-type"] == "image/webp"
    assert webp.content[8:12] == b"WEBP" and client.post("/api/v1/verify", content=webp.content).json()["marked_ai"]
    assert client.get(f"/api/v1/pictures/{sha}/export", params={"format": "gif"}).status_code == 422
    # replay: identical
    replay = client.post(f"/api/v1/pictures/{sha}/replay").json()
    assert replay["identical"] is True and replay["max_abs"] == 0 and replay["psnr"] is None and replay["why"] is None
    # detection on an uploaded photo; the photo needs a lawful basis before a job may use it
    ref = client.post("/api/v1/inputs", content=png(synthetic_face()), params={"project": "shore"}).json()["ref"]
    faces = client.post(f"/api/v1/pictures/{ref[7:]}/detect", params={"detector": "face"}).json()
    assert len(faces) == 1 and faces[0]["mask"].startswith("data:image/png;base64,")
    x, y, w, h = faces[0]["box"]
    assert 30 < x + w / 2 < 130 and 30 < y + h / 2 < 130
    assert client.post(f"/api/v1/pictures/{ref[7:]}/detect", params={"detector": "hands?"}).status_code == 400
    guarded = client.post("/api/v1/inputs", content=png(synthetic_face(cx=76)), params={"guard": True})
    assert guarded.status_code == 403 and guarded.json()["error"] == "ConsentRequired"  # nothing stored
    assert len([r for r in studio.library.records() if r.kind == "input"]) == 1
    assert client.post("/api/v1/inputs", content=png(synthetic_face(cx=76)),
                       params={"guard": True, "consent": "consent"}).status_code == 201
    edit = {"model": {"name": "tiny"}, "steps": [{"op": "img2img", "image": ref, "prompt": "x", "steps": 2,
                                                  "width": 32, "height": 32}]}
    refused = client.post("/api/v1/jobs", json={"recipe": edit, "project": "shore"})
    assert refused.status_code == 403 and refused.json()["error"] == "ConsentRequired"
    accepted = client.post("/api/v1/jobs", json={"recipe": edit, "project": "shore", "consent": "consent"})
    assert accepted.status_code == 202
    studio.job(accepted.json()["id"]).wait(60)


# ---------------------------------------------------------------------------- web security
def test_host_origin_and_headers(server):
    client = server.client
    assert client.get("/api/v1/models", headers={"host": "evil.example"}).status_code == 400  # DNS rebinding
    attack = client.post("/api/v1/jobs", json={"recipe": RECIPE}, headers={"origin": "http://evil.example"})
    assert attack.status_code == 403 and server.studio.job_records.list() == []
    same = client.post("/api/v1/policy/check", json={"prompt": "a fox"},
                       headers={"origin": f"http://127.0.0.1:{server.port}"})
    assert same.status_code == 200 and "access-control-allow-origin" not in same.headers  # no CORS by default
    headers = client.get("/api/v1/models").headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_a_server_beyond_loopback_needs_users(tiny_model):
    from darkroom.errors import InvalidParameter
    from darkroom.settings import Settings

    users = Users(Settings())
    with pytest.raises(InvalidParameter, match="darkroom users add"):
        check_bind("0.0.0.0", users)
    users.add("alice")
    check_bind("0.0.0.0", users)


# ---------------------------------------------------------------------------- users and ownership
def test_users_see_and_cancel_only_their_own_jobs(tiny_model):
    from darkroom.settings import Settings

    users = Users(Settings())
    alice, bob, root = users.add("alice"), users.add("bob"), users.add("root", admin=True)
    running = start(Studio())
    try:
        client = running.client
        anonymous = client.get("/api/v1/jobs")
        assert anonymous.status_code == 401 and "Bearer" in anonymous.headers["www-authenticate"]
        assert client.get("/api/v1/jobs", headers={"authorization": "Bearer wrong"}).status_code == 401
        as_alice = {"authorization": f"Bearer {alice}"}
        as_bob = {"authorization": f"Bearer {bob}"}
        job_id = client.post("/api/v1/jobs", json={"recipe": RECIPE}, headers=as_alice).json()["id"]
        sse_events(client, f"/api/v1/jobs/{job_id}/events", headers=as_alice)
        assert client.get(f"/api/v1/jobs/{job_id}", headers=as_bob).status_code == 404
        assert client.post(f"/api/v1/jobs/{job_id}/cancel", headers=as_bob).status_code == 404
        assert client.get("/api/v1/jobs", headers=as_bob).json() == []
        sha = client.get(f"/api/v1/jobs/{job_id}", headers=as_alice).json()["pictures"][0]["sha256"]
        assert client.get(f"/api/v1/pictures/{sha}/file", headers=as_bob).status_code == 404
        assert client.post("/api/v1/jobs", json={"recipe": RECIPE, "project": "alice"},
                           headers=as_bob).status_code == 403  # alice's project
        assert client.get("/api/v1/audit", headers=as_bob).status_code == 403
        as_root = {"authorization": f"Bearer {root}"}
        assert [j["id"] for j in client.get("/api/v1/jobs", headers=as_root).json()] == [job_id]
        assert client.get("/api/v1/audit", headers=as_root).status_code == 200
        policy = client.get("/api/v1/audit?kind=policy&since=2000-01-01&until=2999-12-31", headers=as_root).json()
        assert policy and {e["kind"] for e in policy} == {"policy"}
        assert client.get("/api/v1/audit?since=2999-01-01", headers=as_root).json() == []
        assert "policy" in client.get("/api/v1/audit/kinds", headers=as_root).json()
        assert client.get("/api/v1/audit?kind=x%27%3B--", headers=as_root).status_code == 422
        assert client.get("/api/v1/audit?since=yesterday", headers=as_root).status_code == 422
        assert client.get("/api/v1/audit/checkpoints", headers=as_bob).status_code == 403
        assert isinstance(client.get("/api/v1/audit/checkpoints", headers=as_root).json(), list)
        basic = httpx.BasicAuth("alice", alice)
        assert client.get("/sdapi/v1/sd-models", auth=basic).status_code == 200
        assert client.get("/sdapi/v1/sd-models", auth=httpx.BasicAuth("bob", alice)).status_code == 401
        events = [e for e in server_audit(running.studio) if e.payload.get("job") == job_id]
        assert events and running.studio.job_records.get(job_id).owner == "alice"
    finally:
        stop(running)


def server_audit(studio):
    return studio.audit.entries()


# ---------------------------------------------------------------------------- A1111 and its real client
def test_webuiapi_drives_the_server_unchanged(server):
    import webuiapi

    api = webuiapi.WebUIApi(host="127.0.0.1", port=server.port, sampler="Euler a", steps=3)
    assert "tiny [" + server.studio.registry.resolve("tiny").sha256[:10] + "]" in api.util_get_model_names()
    api.util_set_model("tiny")
    assert api.get_options()["sd_model_checkpoint"].startswith("tiny [")
    result = api.txt2img(prompt="a red fox", negative_prompt="blurry", seed=11, width=16, height=16, batch_size=2)
    assert len(result.images) == 2 and result.images[0].size == (16, 16)
    assert result.info["all_seeds"] == [11, 12] and "Seed: 11" in result.info["infotexts"][0]
    hires = api.txt2img(prompt="a red fox", seed=11, width=16, height=16, enable_hr=True, hr_scale=2,
                        hr_upscaler=webuiapi.HiResUpscaler.Latent, hr_second_pass_steps=2, denoising_strength=0.5)
    assert hires.images[0].size == (32, 32)
    picture = Image.fromarray((np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8))
    varied = api.img2img(images=[picture], prompt="a blue fox", seed=5, width=32, height=32, denoising_strength=0.6)
    assert varied.images[0].size == (32, 32)
    mask = Image.new("L", (32, 32), 0)
    mask.paste(255, (8, 8, 24, 24))
    painted = api.img2img(images=[picture], mask_image=mask, prompt="a yellow star", seed=5, width=32, height=32,
                          inpaint_full_res=False, mask_blur=0, denoising_strength=0.9)
    out = np.asarray(painted.images[0].convert("RGB"))
    assert np.array_equal(out[:4], np.asarray(picture)[:4])  # outside the mask: the input's pixels
    assert not np.array_equal(out[12:20, 12:20], np.asarray(picture)[12:20, 12:20])
    info = api.png_info(painted.images[0]) if hasattr(api, "png_info") else None
    assert info is None or "yellow star" in str(info.info)


def test_progress_and_interrupt_with_webuiapi(server):
    import webuiapi

    api = webuiapi.WebUIApi(host="127.0.0.1", port=server.port)
    done = {}
    thread = threading.Thread(target=lambda: done.setdefault("result", api.txt2img(
        prompt="a long night", seed=1, steps=150, width=16, height=16, batch_size=4)))
    thread.start()
    deadline, seen = time.time() + 60, None
    while time.time() < deadline:
        progress = api.get_progress()
        if progress["progress"] > 0 and progress["current_image"]:  # previews start once someone watches
            seen = progress
            break
        time.sleep(0.05)
    assert seen is not None and seen["state"]["job_count"] == 1 and seen["current_image"]
    assert seen["state"]["sampling_steps"] == 150
    api.interrupt()
    thread.join(60)
    assert not thread.is_alive() and len(done["result"].images) < 4  # what was finished before, as A1111 does
    assert api.get_progress()["state"]["job_count"] == 0


@pytest.mark.parametrize("extra, words", [
    ({"restore_faces": True}, "restore_faces"),
    ({"alwayson_scripts": {"ControlNet": {"args": [{"enabled": True}]}}}, "ControlNet"),
    ({"script_name": "x/y/z plot"}, "script_name"),
    ({"sampler_name": "Euler", "scheduler": "exponential"}, "scheduler"),
    ({"override_settings": {"sd_vae": "other.safetensors"}}, "sd_vae"),
    ({"refiner_checkpoint": "sdxl_refiner", "refiner_switch_at": 0.8}, "refiner_checkpoint"),
    ({"s_noise": 1.5}, "s_noise"),
    ({"s_min_uncond": 0.2}, "s_min_uncond"),
    ({"disable_extra_networks": True}, "disable_extra_networks"),
    ({"infotext": "a fox\nSteps: 20"}, "infotext"),
    ({"tiling": 1}, "tiling"),
    ({"alwayson_scripts": {"x" * 500: {}}}, "..."),
])
def test_a1111_fields_darkroom_cannot_honour_are_refused(server, extra, words):
    body = {"prompt": "a fox", "steps": 2, "width": 16, "height": 16, **extra}
    answer = server.client.post("/sdapi/v1/txt2img", json=body)
    assert answer.status_code == 422 and words in answer.text
    assert server.studio.job_records.list() == []


def test_a1111_png_info_reads_the_infotext(server):
    answer = server.client.post("/sdapi/v1/txt2img", json={"prompt": "a quiet harbour", "seed": 4, "steps": 2,
                                                           "width": 16, "height": 16}).json()
    info = server.client.post("/sdapi/v1/png-info", json={"image": answer["images"][0]}).json()
    assert info["info"].startswith("a quiet harbour") and "Seed: 4" in info["info"]
    assert info["parameters"]["Seed"] == "4" and info["parameters"]["Size-1"] == "16"  # as A1111 parses it
    assert base64.b64decode(answer["images"][0])[:8] == b"\x89PNG\r\n\x1a\n"
    # a JPEG whose UserComment is UTF-16 in a little-endian EXIF, as exiftool writes it
    exif = Image.Exif()
    exif.endian = "<"
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + "a café\nSteps: 3, Seed: 9, Size: 8x8".encode("utf-16-le")
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg, format="JPEG", exif=exif.tobytes())
    read = server.client.post("/sdapi/v1/png-info", json={"image": base64.b64encode(jpeg.getvalue()).decode()})
    assert read.json()["info"].startswith("a café\nSteps: 3") and read.json()["parameters"]["Seed"] == "9"
    # a 20000x20000 PNG of a few bytes is refused from its header, never decoded
    header = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0))
    bomb = header + _chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + _chunk(b"IEND", b"")
    for path, body in (("png-info", {"image": base64.b64encode(bomb).decode()}),
                       ("img2img", {"init_images": [base64.b64encode(bomb).decode()], "prompt": "x"})):
        refused = server.client.post(f"/sdapi/v1/{path}", json=body)
        assert refused.status_code == 422 and "megapixels" in refused.json()["detail"], refused.text


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_sigterm_cancels_the_running_job_cleanly_and_keeps_the_queued_one_recorded(tiny_model, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    run = subprocess.Popen([sys.executable, "-m", "darkroom", "serve", "--port", "0", "--no-preload"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ, text=True)
    try:
        url = run.stdout.readline().strip().rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:"), url
        client = httpx.Client(base_url=url, timeout=60)
        slow = json.loads(json.dumps(RECIPE))
        slow["steps"][0].update(steps=80, batch_size=3)
        first = client.post("/api/v1/jobs", json={"recipe": slow}).json()["id"]
        second = client.post("/api/v1/jobs", json={"recipe": RECIPE}).json()["id"]
        deadline = time.time() + 120
        while client.get(f"/api/v1/jobs/{first}").json()["state"] != "running" and time.time() < deadline:
            time.sleep(0.05)
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=60)
    finally:
        run.kill()
    assert run.returncode == 0, err
    assert "1 queued job(s) were not started" in err
    with Studio() as studio:
        assert studio.job_records.get(first).state == "cancelled"
        assert [r.id for r in studio.interrupted] == [second]
        assert studio.library.records() == []


def test_a_lesson_prompt_is_checked_before_the_lesson_starts(server):
    client = server.client
    bad = client.post("/api/v1/learn/seeds/runs", json={"prompt": "a\u0000fox", "model": "tiny"})
    assert bad.status_code == 422 and "U+0000" in bad.text
    refused = client.post("/api/v1/learn/seeds/runs", json={"prompt": "a naked child", "model": "tiny"})
    assert refused.status_code == 403 and "minors" in refused.text
    assert [e for e in server.studio.audit.entries() if e.kind == "policy"][-1].payload["action"] == "block"
    assert server.studio.job_records.list() == []
