"""The web studio (darkroom/web) in a real browser: Debian's Chromium driven by Playwright, against
`darkroom serve` on 127.0.0.1 with the built-in darkroom-mini model. Screenshots (English and
German) land in out/screenshots/."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect
from serving import start, stop

pytestmark = [pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "out" / "screenshots"
VIEWPORT = {"width": 1366, "height": 768}
TIMEOUT = 90_000  # ms: darkroom-mini on a busy CPU


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"the browser tests need Chromium at {CHROMIUM}: run `make setup` "
                    "(or `apt-get install -y chromium`)", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need Playwright: pip install -e '.[test]' (make setup)", pytrace=False)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def studio_server(tmp_path_factory):
    from transformers import CLIPTokenizer  # noqa: F401  (a first import in two server threads at once races)

    from darkroom import Studio

    running = start(Studio(home=tmp_path_factory.mktemp("web-home")))
    yield running
    stop(running)


@pytest.fixture
def page(browser, studio_server):
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.set_default_timeout(TIMEOUT)
    page.goto(studio_server.url)
    page.wait_for_selector("body[data-ready=true]")
    yield page
    context.close()
    assert not errors, errors


UNNAMED = """() => [...document.querySelectorAll('button, input, select, textarea, a[href], [role=button], '
        + '[role=tab], [role=img], canvas, svg g[tabindex]')]
    .filter(el => el.getClientRects().length && !el.closest('[hidden], [aria-hidden=true]') && el.type !== 'hidden')
    .filter(el => {
        const field = ['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName);
        const text = el.getAttribute('aria-label') || el.getAttribute('title') || (!field && el.textContent.trim());
        const byId = el.getAttribute('aria-labelledby')?.split(' ')
            .some(id => document.getElementById(id)?.textContent.trim());
        const label = el.labels && [...el.labels].some(l => l.textContent.trim());
        return !(text || byId || label);
    }).map(el => el.outerHTML.slice(0, 120))"""


def assert_all_named(page):
    """Every visible control has an accessible name (a label, aria-label(ledby), its text or a title)."""
    assert page.evaluate(UNNAMED) == []


def generate(page, prompt="a red circle, blue sky", *, batch=2, steps=6, seed=7):
    page.fill("#gen-prompt", prompt)
    page.fill("#gen-steps", str(steps))
    page.fill("#gen-batch_size", str(batch))
    page.fill("#gen-seed", str(seed))
    page.locator("#gen-prompt").press("Control+Enter")


WATCH_LIVE_FRAMES = """() => {
    window.liveFrames = 0;
    new MutationObserver(records => {
        for (const r of records)
            if (r.target.matches?.('#frames .frame img') && r.target.src.startsWith('data:image/png')) window.liveFrames++;
    }).observe(document.getElementById('frames'), {subtree: true, attributes: true, attributeFilter: ['src']});
}"""


def wait_for_sheet(page, count):
    page.wait_for_selector(f"#frames .frame[data-sha] >> nth={count - 1}")
    page.wait_for_selector("#progress-status:has-text('Done')")


def test_a_batch_fills_the_contact_sheet_with_live_previews_and_one_is_kept(page, studio_server):
    # the form comes from the schema: every generate field, sampler choices from the API
    for name in ("prompt", "negative_prompt", "seed", "steps", "cfg", "sampler", "width", "height", "batch_size"):
        assert page.locator(f"#gen-{name}").count() == 1, name
    assert page.locator("#gen-steps").get_attribute("max") == "150"
    assert page.locator("#gen-sampler option").count() > 10
    assert page.locator("#model").input_value() == "darkroom-mini"
    # highlighting and the token counter
    page.fill("#gen-prompt", "a (red:1.2) circle BREAK blue sky")
    page.wait_for_selector(".field-prompt .token-count:has-text('/150 tokens')")
    assert page.locator(".field-prompt .hl-break").inner_text() == "BREAK"
    assert page.locator(".field-prompt .hl-weight").count() == 1
    assert page.locator(".field-prompt .chunk").count() == 2

    page.evaluate(WATCH_LIVE_FRAMES)
    generate(page, "a (red:1.2) circle BREAK blue sky", batch=3, steps=8)
    page.wait_for_selector("#preview-xt[src^='data:image/png']")
    page.wait_for_selector("#preview-x0[src^='data:image/png']")
    # the job in the queue: running, or already done when the previews came late (a race under load)
    page.wait_for_selector("#queue li[data-state=running], #queue li[data-state=done]")
    wait_for_sheet(page, 3)
    assert page.evaluate("window.liveFrames") > 0  # a frame showed the live x0 before its picture came
    assert page.locator("#frames .frame").count() == 3
    sha = page.locator("#frames .frame >> nth=1").get_attribute("data-sha")
    keep = page.locator("#frames .frame >> nth=1 >> button.keep")
    keep.click()
    page.wait_for_selector("#frames .frame.kept")
    assert sha in studio_server.studio.library.kept()
    keep.click()  # un-keep, then keep again
    page.wait_for_selector("#frames .frame.kept", state="detached")
    assert sha not in studio_server.studio.library.kept()
    keep.click()
    page.wait_for_selector("#frames .frame.kept")
    assert sha in studio_server.studio.library.kept()
    generate_box = page.locator("#generate").bounding_box()  # 1366x768: in view without scrolling
    assert generate_box["y"] + generate_box["height"] <= VIEWPORT["height"]
    # the loupe: pixel-exact, 8x
    page.click("#frames .frame >> nth=0 >> button:has-text('Loupe')")
    img = page.locator("#loupe-body img").first
    assert img.evaluate("i => getComputedStyle(i).imageRendering") == "pixelated"
    assert img.evaluate("i => i.getBoundingClientRect().width") == 64 * 8
    page.select_option("#loupe-compare", index=1)
    page.wait_for_selector("#loupe-body figure >> nth=1")
    page.screenshot(path=SHOTS / "loupe-en.png")
    page.select_option("#loupe-mode", "slider")
    page.wait_for_selector("#loupe-body .before-after img.over")
    page.fill("#loupe-slider", "30")
    assert "30%" in page.locator("#loupe-body img.over").evaluate("i => i.style.clipPath")
    page.screenshot(path=SHOTS / "loupe-slider-en.png")
    page.click("#loupe-close")
    page.click("#frames .frame >> nth=0 >> .frame-image")
    page.wait_for_selector("#cards .card[data-op=generate] img")
    page.click("#seed-reuse")
    assert page.locator("#gen-seed").input_value() == "7"
    page.screenshot(path=SHOTS / "workspace-en.png")


COVERAGE = """zone => { const c = document.querySelector(`.mask-canvas[data-zone="${zone}"]`);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n / (d.length / 4); }"""


def drag(page, box, start, end, steps=6):
    page.mouse.move(box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1])
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1], steps=steps)
    page.mouse.up()


def test_paint_two_zones_inpaint_them_the_strip_shows_the_cards_and_replay_is_identical(page, studio_server):
    generate(page, "a red circle, blue sky", batch=1, steps=6, seed=11)
    wait_for_sheet(page, 1)
    page.click("#frames .frame-image")
    page.wait_for_selector("#cards .card[data-op=generate] img")
    first_card = page.locator("#cards .card >> nth=0").bounding_box()
    strip = page.locator("#cards").bounding_box()
    assert first_card["x"] >= strip["x"]  # the first card is not clipped
    page.click("#add-inpaint")
    box = page.locator(".mask-canvas.active").bounding_box()
    coverage = lambda zone=0: page.evaluate(COVERAGE, zone)  # noqa: E731
    page.click(".mask-tools button[data-tool=box]")
    drag(page, box, (0.5, 0.25), (0.9, 0.75))
    assert 0.15 < coverage() < 0.25
    page.click(".mask-tools button:has-text('Invert')")
    assert 0.75 < coverage() < 0.85
    page.click(".mask-tools button:has-text('Invert')")
    page.click(".mask-tools button[data-tool=brush]")
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] - 20)
    page.mouse.down()
    page.mouse.move(box["x"] + 60, box["y"] + box["height"] - 30, steps=5)
    page.mouse.up()
    assert coverage() > 0.2
    page.fill("#draft-inpaint-prompt", "a yellow star")
    page.fill("#draft-inpaint-denoise", "0.9")
    page.fill("#draft-inpaint-steps", "6")
    # a second zone with its own prompt and denoise
    page.click(".add-zone")
    page.click(".mask-tools button[data-tool=ellipse]")
    drag(page, page.locator(".mask-canvas.active").bounding_box(), (0.05, 0.05), (0.35, 0.3))
    assert coverage(1) > 0.03 and abs(coverage(0) - 0.2) < 0.1
    page.fill("#draft-inpaint-zone2-prompt", "a green leaf")
    page.fill("#draft-inpaint-zone2-denoise", "0.6")
    # the blur is previewed, the only-masked region is drawn per zone
    page.fill("#draft-inpaint-mask_blur", "6")
    assert "blur" in page.locator(".mask-canvas >> nth=0").evaluate("c => c.style.filter")
    page.fill("#draft-inpaint-padding", "4")
    page.select_option("#draft-inpaint-inpaint_area", "masked")
    assert page.locator(".mask-region").count() == 2
    x1, y1, x2, y2 = map(int, page.locator(".mask-region[data-zone='0']").get_attribute("data-box").split(","))
    assert 0 <= x1 < 32 and x2 == 64 and y1 < 16 and y2 >= 48 and x2 - x1 == y2 - y1  # zone+blur+padding, square
    assert_all_named(page)
    page.screenshot(path=SHOTS / "mask-en.png")
    page.click(".card.draft button.develop")
    page.wait_for_selector("#cards .card[data-op=inpaint]:not(.draft) >> nth=1")
    page.wait_for_selector("#cards .card[data-op=inpaint] >> nth=1 >> img")
    assert [page.locator("#cards .card").nth(i).get_attribute("data-op") for i in range(3)] == [
        "generate", "inpaint", "inpaint"]
    page.click("#show-recipe")
    recipe = page.locator("#recipe-json").inner_text()
    assert recipe.count('"op": "inpaint"') == 2 and '"kind": "mask"' in recipe and '"prompt": "a yellow star"' in recipe
    assert '"prompt": "a green leaf"' in recipe and '"denoise": 0.6' in recipe and '"inpaint_area": "masked"' in recipe
    assert page.locator("#recipe-download").get_attribute("href").startswith("blob:")
    page.click("#recipe-close")
    # the masks that were uploaded are the painted ones, the picture's size
    inpainted = studio_server.studio.library.records()[-1]
    assert inpainted.op == "inpaint" and (inpainted.width, inpainted.height) == (64, 64)
    page.click("#replay")
    page.wait_for_selector("#replay-result.ok:has-text('identical')")
    page.screenshot(path=SHOTS / "replay-en.png")
    page.click("#add-hires")
    page.fill("#draft-hires-steps", "3")
    page.fill("#draft-hires-denoise", "0.3")
    page.click(".card.draft button.develop")
    page.wait_for_selector("#cards .card[data-op=hires]:not(.draft) img")
    assert page.locator("#cards .card").count() == 4
    assert page.locator("#cards .card >> nth=0").bounding_box()["x"] >= page.locator("#cards").bounding_box()["x"]
    page.screenshot(path=SHOTS / "strip-en.png")


def test_a_long_job_is_cancelled_with_escape(page, studio_server):
    generate(page, "a slow lighthouse", batch=4, steps=150)
    page.wait_for_selector("#preview-x0[src^='data:image']")
    page.keyboard.press("Escape")
    page.wait_for_selector("#progress-status:has-text('Cancelled')")
    assert page.locator("#cancel").is_disabled()
    page.wait_for_selector("#queue li[data-state=cancelled]")
    assert page.locator("#frames .frame[data-sha]").count() == 0


def test_german_labels_and_step_help_from_the_schema(page, studio_server):
    assert page.locator("#generate").inner_text() == "Generate"
    page.select_option("#lang", "de")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator("#generate").inner_text() == "Erzeugen"
    assert page.locator("#tab-library").inner_text() == "Bibliothek"
    assert page.locator("label[for=gen-steps]").inner_text() == "Schritte"
    assert page.locator("#gen-steps-help").inner_text() == "Entrauschungsschritte."  # description_de
    generate(page, "ein roter Kreis", batch=1, steps=999)  # the server's message, in German
    page.wait_for_selector("#form-error:has-text('Eingabe muss kleiner oder gleich 150 sein')")
    generate(page, "ein roter Kreis", batch=2, steps=4)
    page.wait_for_selector("#frames .frame[data-sha] >> nth=1")
    page.wait_for_selector("#progress-status:has-text('Fertig')")
    page.click("#frames .frame-image >> nth=0")
    page.wait_for_selector("#cards .card h3:has-text('Rohnegativ')")
    page.screenshot(path=SHOTS / "workspace-de.png")
    page.click("#tab-library")
    page.wait_for_selector("#library-grid .frame-image")
    page.click("#library-grid .frame-image >> nth=0")
    page.wait_for_selector("#details-infotext:has-text('Seed:')")
    page.screenshot(path=SHOTS / "library-de.png")
    page.select_option("#lang", "en")  # the choice is remembered; leave English for the next test
    assert page.locator("#tab-library").inner_text() == "Library"


def drop_file(page, target: str, data: bytes, name: str, kind: str = "image/png") -> None:
    page.evaluate("""async ([target, text, name, kind]) => {
        const transfer = new DataTransfer();
        const bytes = Uint8Array.from(atob(text), c => c.charCodeAt(0));
        transfer.items.add(new File([bytes], name, { type: kind }));
        document.getElementById(target).dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true }));
    }""", [target, base64.b64encode(data).decode(), name, kind])


def test_the_library_shows_lineage_audit_and_filters_and_a_download_is_verified(page, studio_server, tmp_path):
    studio = studio_server.studio
    finals = [r for r in studio.library.records() if r.kind == "image" and len(studio.library.lineage(r.sha256)) > 1]
    if not finals:  # this test alone: develop a two-step picture through the API
        recipe = {"model": {"name": "darkroom-mini"}, "steps": [{"op": "generate", "prompt": "a red circle", "steps": 4,
                  "seed": 2}, {"op": "hires", "steps": 2, "denoise": 0.3}]}
        studio.run(recipe)
        finals = [r for r in studio.library.records() if len(studio.library.lineage(r.sha256)) > 1]
    record = finals[-1]
    chain = studio.library.lineage(record.sha256)
    prompt = json.loads(record.recipe)["steps"][0]["prompt"]
    page.click("#tab-library")
    page.wait_for_selector("#library-grid .frame-image")
    page.wait_for_selector("#lib-projects button")
    assert page.locator("#lib-projects button").first.inner_text().startswith("default (")
    for field, value in (("#lib-prompt", "no such prompt anywhere"), ("#lib-until", "2000-01-01")):
        page.fill(field, value)
        page.click("#library-filter button[type=submit]")
        page.wait_for_selector("#library-grid li:has-text('No pictures')")
        page.fill(field, "")
    page.fill("#lib-prompt", prompt.split(",")[0])
    page.click("#library-filter button[type=submit]")
    page.wait_for_selector(f"#library-grid li[data-sha='{record.sha256}']")
    page.click(f"#library-grid li[data-sha='{record.sha256}'] .frame-image")
    page.wait_for_selector("#details-infotext:has-text('Seed:')")
    # the lineage graph: one node per picture from raw to this one, arrows between
    page.wait_for_selector("#details-lineage svg g.node.current")
    assert page.locator("#details-lineage svg g.node").count() == len(chain)
    assert page.locator("#details-lineage svg line.edge").count() == len(chain) - 1
    assert [page.locator("#details-lineage g.node").nth(i).get_attribute("data-sha") for i in range(len(chain))] == [
        r.sha256 for r in chain]
    assert "darkroom_recipe" in page.locator("#details-recipe").inner_text()
    assert page.locator("#details-provenance").inner_text().startswith("✔")
    kinds = page.locator("#details-audit tbody tr").evaluate_all("rows => rows.map(r => r.dataset.kind)")
    assert {"policy", "model", "step", "export"} <= set(kinds)
    # keep and un-keep from the details; the kept filter follows
    page.click("#details-keep")
    page.wait_for_selector("#details-keep[aria-pressed=true]")
    assert record.sha256 in studio.library.kept()
    page.check("#lib-kept")
    page.click("#library-filter button[type=submit]")
    page.wait_for_selector(f"#library-grid li.kept[data-sha='{record.sha256}']")
    page.click("#details-keep")
    page.wait_for_selector("#details-keep[aria-pressed=false]")
    assert record.sha256 not in studio.library.kept()
    assert_all_named(page)
    page.uncheck("#lib-kept")
    page.fill("#lib-prompt", "")
    page.click("#library-filter button[type=submit]")
    page.wait_for_selector(f"#library-grid li.frame >> nth={min(len(studio.library.records()), 200) - 1}")
    page.screenshot(path=SHOTS / "library-en.png")
    # download, then verify the downloaded file
    with page.expect_download() as download:
        page.click("#details-download")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.read_bytes() == studio.library.get_bytes(record.sha256)
    page.select_option("#details-format", "jpeg")
    with page.expect_download() as exported:
        page.click("#details-export")
    jpeg = tmp_path / exported.value.suggested_filename
    exported.value.save_as(jpeg)
    assert jpeg.suffix == ".jpg" and jpeg.read_bytes()[:3] == b"\xff\xd8\xff"
    report = studio.verify_bytes(jpeg.read_bytes())
    assert report.ok and report.marked_ai
    page.click("#tab-verify")
    drop_file(page, "verify-drop", saved.read_bytes(), saved.name)
    page.wait_for_selector(f"#verify-result dd:has-text('{saved.name}')")
    assert page.locator("#verify-result").get_attribute("class") == "ok"
    assert page.locator("#verify-result dd >> nth=4").inner_text().startswith("Trusted")  # C2PA state · signer
    assert "trainedAlgorithmicMedia" in page.locator("#verify-result dd >> nth=5").inner_text()  # XMP
    page.screenshot(path=SHOTS / "verify-en.png")


def test_an_uploaded_face_photo_asks_for_consent_and_its_faces_are_offered_as_zones(page, studio_server):
    from test_develop_masks import synthetic_face

    studio = studio_server.studio
    inputs = lambda: [r for r in studio.library.records() if r.kind == "input"]  # noqa: E731
    before = len(inputs())
    buffer = io.BytesIO()
    synthetic_face().save(buffer, format="PNG", pnginfo=_gps_text())
    # a photo with a face: the consent dialog comes before anything is stored
    drop_file(page, "upload-drop", buffer.getvalue(), "portrait.png")
    page.wait_for_selector("#consent[open]")
    assert "face was found in portrait.png" in page.locator("#consent-detail").inner_text()
    page.click("#consent-cancel")
    page.wait_for_selector("#upload-status:has-text('not stored')")
    assert len(inputs()) == before
    drop_file(page, "upload-drop", buffer.getvalue(), "portrait.png")
    page.wait_for_selector("#consent[open]")
    page.select_option("#consent-basis", "contract")
    page.check("#consent-label")
    assert_all_named(page)
    page.screenshot(path=SHOTS / "consent-en.png")
    page.click("#consent-ok")
    page.wait_for_selector("#cards .card.source img")
    assert "metadata" in page.locator("#upload-drop").inner_text()
    uploaded = inputs()[-1]
    assert b"GPS" not in studio.library.get_bytes(uploaded.sha256)  # stripped on upload
    # inpaint: the detected face is offered as an overlay and becomes the zone
    page.click("#add-inpaint")
    page.click(".find-faces")
    page.wait_for_selector(".face-zone")
    page.click(".face-zone >> nth=0")
    assert page.locator(".face-zone").first.get_attribute("aria-pressed") == "true"
    assert 0.05 < page.evaluate(COVERAGE, 0) < 0.5
    assert_all_named(page)
    page.screenshot(path=SHOTS / "faces-en.png")
    page.click(".card.draft button:has-text('Remove')")
    # img2img from it: the basis confirmed at upload goes with the job, the audit log records it
    page.click("#add-img2img")
    page.fill("#draft-img2img-prompt", "a watercolour portrait")
    page.fill("#draft-img2img-steps", "2")
    page.fill("#draft-img2img-denoise", "0.5")
    page.click(".card.draft button.develop")
    page.wait_for_selector("#cards .card[data-op=img2img]:not(.draft) img")
    assert page.locator("#cards .card.source").count() == 1  # the strip starts from the uploaded photo
    made = studio.library.records()[-1]
    assert made.op == "img2img" and json.loads(made.recipe)["steps"][0]["image"] == f"sha256:{uploaded.sha256}"
    consent = [e for e in studio.audit.entries(kind="consent")][-1].payload
    assert consent["basis"] == "contract" and consent["label"] is True
    picture = Image.open(io.BytesIO(studio.library.get_bytes(made.sha256))).convert("RGB")
    assert picture.getpixel((0, picture.height - 2)) == (0, 0, 0)  # the visible label's band
    page.screenshot(path=SHOTS / "upload-strip-en.png")


def _gps_text():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "GPS 52.5200 N 13.4050 E")
    return info


def test_a_server_beyond_loopback_asks_for_a_token_and_shows_who_is_signed_in(browser, tmp_path):
    from darkroom import Studio
    from darkroom.serve.users import Users

    studio = Studio(home=tmp_path / "users-home")
    token = Users(studio.settings).add("alice")
    running = start(studio, host="0.0.0.0")  # as if bound beyond loopback: every request needs a token
    try:
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        page.goto(running.url)
        page.wait_for_selector("#signin[open]")
        page.fill("#signin-token", "not-the-token")
        page.click("#signin-submit")
        page.wait_for_selector("#signin-error:has-text('not valid')")
        page.screenshot(path=SHOTS / "signin-en.png")
        page.fill("#signin-token", token)
        page.click("#signin-submit")
        page.wait_for_selector("body[data-ready=true]")
        assert page.locator("#model option").count() >= 1
        assert page.evaluate("sessionStorage.getItem('darkroom.token')") == token
        assert page.evaluate("document.cookie") == ""
        page.wait_for_selector("#whoami:has-text('Signed in as alice')")
        page.screenshot(path=SHOTS / "signed-in-en.png")
        page.click("#signout")
        page.wait_for_selector("#signin[open]")
        context.close()
    finally:
        stop(running)


def test_privacy_erases_a_project_after_confirmation_and_the_audit_log_shows_it(page, studio_server):
    studio = studio_server.studio
    # this one goes to its own project, through the API as the UI's form has no project field yet
    recipe = {"model": {"name": "darkroom-mini"}, "steps": [{"op": "generate", "prompt": "a picture to forget",
                                                             "steps": 3, "seed": 1}]}
    job = page.evaluate("""async recipe => (await (await fetch('/api/v1/jobs', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify({recipe, project: 'forget-me'})})).json()).id""",
                        recipe)
    studio.job(job).wait(120)
    assert studio.library.records("forget-me")
    page.click("#tab-privacy")
    page.fill("#erase-target", "forget-me")
    page.click("#erase-form button[type=submit]")
    page.wait_for_selector("#confirm[open]")
    assert "forget-me" in page.locator("#confirm-text").inner_text()
    page.screenshot(path=SHOTS / "privacy-en.png")
    page.click("#confirm-yes")
    page.wait_for_selector("#erase-result:has-text('Erased')")
    assert not studio.library.records("forget-me")
    page.click("#tab-audit")
    page.click("#audit-refresh")
    page.wait_for_selector("#audit-status.ok")
    page.wait_for_selector("#audit-table tbody tr")
    erased = len(studio.audit.entries(kind="erase"))
    studio.audit.checkpoint()
    page.select_option("#audit-kind", "erase")
    page.fill("#audit-since", "2000-01-01")
    page.click("#audit-refresh")
    expect(page.locator("#audit-table tbody td:nth-child(3)")).to_have_text(["erase"] * erased)
    expect(page.locator("#audit-checkpoints tbody tr")).to_have_count(len(studio.audit.checkpoints()))
    assert studio.audit.checkpoints()
    page.screenshot(path=SHOTS / "audit-en.png")


def test_a_german_verify_report_of_a_marked_and_a_stripped_file_is_german(page, studio_server):
    from darkroom.trust.keys import load_identity
    from darkroom.trust.marking import mark_image
    from test_trust_verify import picture

    studio = studio_server.studio
    history = studio.audit.append("step", {"op": "generate", "prompt": "ein Hafen im Nebel", "recipe_sha256": "x"})
    marked = mark_image(picture(256, 256), parameters_text="ein Hafen im Nebel\nSteps: 4, Seed: 7",
                        recipe_json='{"darkroom_recipe":1,"steps":[{"op":"generate","seed":7}]}',
                        audit_ref=history.ref, settings=studio.settings, identity=load_identity(studio.settings),
                        audit=studio.audit).data
    buffer = io.BytesIO()
    Image.open(io.BytesIO(marked)).convert("RGB").save(buffer, "PNG")  # the pixels only: the metadata is gone
    files = {"marked": marked, "stripped": buffer.getvalue()}
    verdicts = {name: studio.verify_bytes(data).verdict for name, data in files.items()}  # what the CLI prints
    assert verdicts["marked"].startswith("marked as AI-generated and intact") and "watermark found" in verdicts["stripped"]
    shown = {}
    page.click("#tab-verify")
    for lang in ("de", "en"):
        page.select_option("#lang", lang)
        for name, data in files.items():
            drop_file(page, "verify-drop", data, f"{lang}-{name}.png")
            page.wait_for_selector(f"#verify-result dd:text-is('{lang}-{name}.png')")
            shown[lang, name] = page.locator("#verify-result dd >> nth=2").inner_text()  # the verdict
        if lang == "de":
            page.screenshot(path=SHOTS / "verify-stripped-de.png")
    for name, verdict in verdicts.items():
        assert verdict.lower() in shown["en", name].lower()  # English: the CLI's sentence
        assert verdict.lower() not in shown["de", name].lower()
        english = [w for w in ("marked", "intact", "signed by", "watermark", "missing", "key") if w in shown["de", name]]
        assert not english, (shown["de", name], english)
    assert shown["de", "marked"].startswith("Als KI-generiert gekennzeichnet und unverändert (C2PA vertrauenswürdig")
    assert shown["de", "stripped"].startswith("darkroom-Wasserzeichen gefunden, aber das C2PA-Manifest fehlt")


def catalog(name: str) -> dict[str, str]:
    """The keys and strings of a UI catalog (darkroom/web/js/strings-XX.js)."""
    import re

    text = (Path(__file__).resolve().parents[1] / "darkroom" / "web" / "js" / f"strings-{name}.js").read_text()
    return dict(re.findall(r'"([^"]+)":\s*"((?:[^"\\]|\\.)*)"', text))


def test_both_catalogs_name_every_field_and_choice_of_the_recipe_schema():
    from darkroom.develop.recipe import Recipe

    en, de = catalog("en"), catalog("de")
    assert en.keys() == de.keys(), en.keys() ^ de.keys()
    schema = Recipe.model_json_schema()
    mapping = schema["properties"]["steps"]["items"]["discriminator"]["mapping"]
    for ref in mapping.values():
        for name, prop in schema["$defs"][ref.rsplit("/", 1)[-1]]["properties"].items():
            if name in ("op", "image", "zone"):
                continue
            assert f"field.{name}" in de, f"strings-de.js has no label for the step field {name!r}"
            choices = prop.get("enum") or next((p["enum"] for p in prop.get("anyOf", []) if "enum" in p), [])
            if name not in ("sampler", "upscaler"):  # A1111's own names
                assert all(f"enum.{name}.{value}" in de for value in choices), (name, choices)
