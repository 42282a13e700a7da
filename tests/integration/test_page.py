"""The web page in a real browser (headless Chromium driven by Playwright) against a real server: open photos,
wait for the cut-out, drag a keypoint and see the mask change, add a person, undo, download the cut-out and the
COCO file, remove a person, go to the next photo.

Screenshots go to PERSONSEG_SCREENSHOTS (e.g. docs/images for the README), else to the test's folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from pycocotools.coco import COCO

from personseg.serve.launch import serving

PHOTOS = ("pose_mini/images/coco_000000196141.jpg", "pennfudan/images/FudanPed00001.jpg")
CHROMIUM = os.environ.get("PERSONSEG_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def wait(page, expression: str, seconds: float = 30) -> None:
    """Until ``expression`` is true in the page. Polled with page.evaluate: Playwright's wait_for_function
    evaluates its predicate with eval, which the page's content security policy forbids (as it should)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {seconds} s: {expression}")
        time.sleep(0.1)


def drag(page, person: int, joint: int, dx: float, dy: float, steps: int) -> None:
    """Drag ``person``'s keypoint ``joint`` by (dx, dy) screen pixels, as a hand does, in ``steps`` moves."""
    at = page.evaluate(f"window.personsegPage.keypointOnScreen({person}, {joint})")
    page.mouse.move(at["x"], at["y"])
    page.mouse.down()
    page.mouse.move(at["x"] + dx, at["y"] + dy, steps=steps)
    page.mouse.up()


def opened(browser, url: str):
    """A new page on the service at ``url``, ready (its methods listed), and the list its script errors go to."""
    page = browser.new_page(viewport={"width": 1300, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    wait(page, "document.getElementById('method').options.length > 0")
    return page, errors


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).is_file():
        if os.environ.get("CI"):
            pytest.fail(f"no Chromium at {CHROMIUM}: scripts/setup.sh installs Debian's chromium")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set PERSONSEG_CHROMIUM)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking"])
        yield b
        b.close()


def test_page_segments_and_follows_a_dragged_keypoint(browser, data_dir, tmp_path):
    shots = Path(os.environ.get("PERSONSEG_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with serving() as (url, _):
        page = browser.new_page(viewport={"width": 1500, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        blocked: list[bool] = []   # requests this test makes fail
        page.on("requestfailed", lambda r: errors.append(f"{r.url} failed: {r.failure}")
                if r.failure != "net::ERR_ABORTED" and not blocked else None)   # ABORTED: a newer edit's
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(url)
        wait(page, "document.getElementById('method').options.length > 0")
        page.set_input_files("#files", [str(data_dir / p) for p in PHOTOS])
        api = "window.personsegPage"
        wait(page, f"{api}.requests >= 2 && {api}.settled()", 180)   # every photo opened, in the background too
        page.wait_for_selector("#stage-cutout img")
        page.set_input_files("#files", [str(data_dir / PHOTOS[0])])   # opened already: said, not added twice
        assert f"already open: {Path(PHOTOS[0]).name}" in page.inner_text("#status")
        assert page.locator("#photos button").count() == 2
        page.evaluate("document.getElementById('files').addEventListener('click', (e) => { "
                      "window.openedByKeys = true; e.preventDefault(); })")
        page.focus("#open")   # the label of the hidden file input, reached by the keyboard, opens it
        page.keyboard.press("Enter")
        assert page.evaluate("window.openedByKeys === true")
        for stage in ("keypoints", "people", "ssm", "trimap", "boundary", "leftover", "alpha", "mask"):
            assert page.locator(f"#stage-{stage}").count() == 1, stage
        people = page.evaluate(f"{api}.people()")
        assert len(people) >= 2   # a batter and a catcher at least
        before = page.get_attribute("#stage-mask img", "src")
        unload = "(() => { const e = new Event('beforeunload', {cancelable: true}); dispatchEvent(e); " \
                 "return e.defaultPrevented; })()"
        assert not page.evaluate(unload)   # nothing edited: the page may go without asking

        # drag the first person's sure wrist (or elbow) 90 px right and 60 px down
        joint = next(j for j in (9, 10, 7, 8) if people[0][j][2] >= 0.3)
        drag(page, 0, joint, 90, 60, steps=10)
        wait(page, f"{api}.requests >= 3", 60)
        wait(page, f"document.querySelector('#stage-mask img').src !== {before!r}", 30)
        moved = page.evaluate(f"{api}.people()")
        assert len(moved) == len(people) and moved[0][joint][0] > people[0][joint][0] + 20
        page.screenshot(path=str(shots / "serve-page.jpg"), quality=80)
        assert page.evaluate(unload)   # edited: leaving the page asks first

        # an edit whose request fails is said, keeps the COCO file from being made, and is applied by R
        blocked.append(True)
        page.route("**/v1/segment*", lambda route: route.abort())
        drag(page, 0, joint, -30, 0, steps=5)
        wait(page, f"{api}.settled()", 30)
        assert "not applied" in page.inner_text("#status") and "edit not applied" in page.inner_text("#photos")
        page.keyboard.press("j")
        assert "COCO file not made" in page.inner_text("#status")
        page.unroute("**/v1/segment*")
        blocked.clear()
        page.keyboard.press("r")
        wait(page, f"{api}.requests >= 4 && {api}.settled()", 60)
        assert "not applied" not in page.inner_text("#photos")

        # add a person by two clicks and Enter; Ctrl+Z takes them away again
        w, h = page.evaluate(f"{api}.size()")
        page.keyboard.press("a")
        for k, (x, y) in enumerate(((0.17 * w, 0.45 * h), (0.17 * w, 0.62 * h))):   # the umpire's head and hips
            p = page.evaluate(f"{api}.toScreen({x}, {y})")
            page.mouse.click(p["x"], p["y"])
            if k == 0:   # Enter after one joint: said, and the person stays in hand
                page.keyboard.press("Enter")
                assert "needs at least two joints" in page.inner_text("#status")
                assert "adding" in page.get_attribute("#hint", "class")
        page.keyboard.press("Enter")
        wait(page, f"{api}.requests >= 5", 60)
        assert len(page.evaluate(f"{api}.people()")) == len(people) + 1
        page.keyboard.press("Control+z")
        assert len(page.evaluate(f"{api}.people()")) == len(people)

        # the wheel zooms about the pointer: the joint under it stays there, twice as far from the others; 0 undoes it
        at = page.evaluate(f"{api}.keypointOnScreen(0, {joint})")
        other = next(j for j in range(17) if j != joint and people[0][j][2] >= 0.3)
        span = abs(page.evaluate(f"{api}.keypointOnScreen(0, {other})")["x"] - at["x"])
        page.mouse.move(at["x"], at["y"])
        page.mouse.wheel(0, -100)
        page.mouse.wheel(0, -100)
        page.mouse.wheel(0, -100)   # 1.25 ** 3: about twice as large
        zoomed = page.evaluate(f"{api}.keypointOnScreen(0, {joint})")
        assert abs(zoomed["x"] - at["x"]) < 3 and abs(zoomed["y"] - at["y"]) < 3
        wider = abs(page.evaluate(f"{api}.keypointOnScreen(0, {other})")["x"] - zoomed["x"])
        assert abs(wider - 1.953 * span) < 3 or span < 1
        def share() -> tuple[float, float]:   # where the joint is in the editor, as shares of its size
            box, at = page.locator("#editor").bounding_box(), page.evaluate(f"{api}.keypointOnScreen(0, {joint})")
            return (at["x"] - box["x"]) / box["width"], (at["y"] - box["y"]) / box["height"]

        seen = share()
        page.set_viewport_size({"width": 1100, "height": 700})   # a smaller window shows the same part
        page.wait_for_timeout(200)
        assert all(abs(a - b) < 0.01 for a, b in zip(share(), seen)), (share(), seen)
        page.set_viewport_size({"width": 1500, "height": 900})
        page.wait_for_timeout(200)
        page.keyboard.press("0")
        assert abs(abs(page.evaluate(f"{api}.keypointOnScreen(0, {other})")["x"]
                       - page.evaluate(f"{api}.keypointOnScreen(0, {joint})")["x"]) - span) < 1

        # downloads: the cut-out at full size with transparency, and a COCO file pycocotools reads
        with page.expect_download() as got:
            page.click("#dl-cutout")
        cutout = Image.open(got.value.path())
        assert cutout.mode == "RGBA" and cutout.size == Image.open(data_dir / PHOTOS[0]).size
        with page.expect_download() as got:
            page.click("#dl-coco")
        coco = COCO(got.value.path())
        assert len(coco.imgs) == 2 and len(coco.getAnnIds(imgIds=[1])) == len(people)
        assert all(coco.annToMask(a).sum() > 0 for a in coco.anns.values())
        assert not page.evaluate(unload)   # every edit is in the file downloaded: leaving need not ask

        # select the second person by their joint and remove them with Delete
        joint = next(j for j in range(17) if people[1][j][2] >= 0.3)
        at = page.evaluate(f"{api}.keypointOnScreen(1, {joint})")
        page.mouse.click(at["x"], at["y"])
        page.keyboard.press("Delete")
        wait(page, f"{api}.requests >= 6", 60)
        assert len(page.evaluate(f"{api}.people()")) == len(people) - 1
        assert page.evaluate(unload)   # an edit since: it asks again

        page.keyboard.press("ArrowRight")   # segmented in the background already
        assert page.inner_text("#counter") == "2 / 2"
        assert re.match(r"\d+ (person|people)", page.inner_text("#status"))   # its own, not the photo left's
        page.wait_for_selector("#stage-cutout img")
        page.screenshot(path=str(shots / "serve-page-next.jpg"), quality=80)

        # an undo while the edit's request is on its way leaves nothing waiting for it
        people = page.evaluate(f"{api}.people()")
        joint = next(j for j in range(17) if people[0][j][2] >= 0.3)
        drag(page, 0, joint, 40, 0, steps=3)
        page.keyboard.press("Control+z")
        wait(page, f"{api}.settled()", 30)

        # a busy server (503, Retry-After) pauses the background work, which then goes on by itself
        busy: list[int] = []

        def once_busy(route) -> None:
            if not busy:
                busy.append(1)
                route.fulfill(status=503, headers={"Retry-After": "1"}, content_type="application/json",
                              body='{"error": "busy"}')
            else:
                route.continue_()

        page.route("**/v1/segment*", once_busy)
        page.set_input_files("#files", [str(data_dir / "pennfudan/images/FudanPed00002.jpg")])
        wait(page, f"{api}.settled() && document.querySelectorAll('#photos .failed').length === 0", 60)
        assert busy and page.locator("#photos button").count() == 3

        # a file named as a photo that the server cannot read (415) is left out: not sent again when opened,
        # retried (R) or when the method changes (it was, every time)
        page.unroute("**/v1/segment*")
        bad = tmp_path / "notes.jpg"
        bad.write_text("not a photo")
        sent: list[int] = []   # the answers refusing it
        page.on("response", lambda r: sent.append(1) if "/v1/segment" in r.url and r.status == 415 else None)
        page.set_input_files("#files", [str(bad)])
        wait(page, f"{api}.settled()", 30)
        assert "not an image" in page.inner_text("#photos") and "left out" in page.inner_text("#status")
        page.keyboard.press("r")
        page.select_option("#method", "fast")
        wait(page, f"{api}.settled() && {api}.requests >= 10", 60)
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowRight")
        wait(page, f"{api}.settled()", 30)
        assert sent == [1] and "left out" in page.inner_text("#status")
        assert not errors, errors


def test_a_region_found_without_a_pose_is_selected_by_its_box_and_removed_for_good(browser, data_dir):
    """Two walkers no pose stands on (one region, no joint to click): a click in its box selects it, Delete removes
    it, and later edits keep it removed (the page sends it as dropped); Ctrl+Z brings it back."""
    with serving() as (url, _):
        page, errors = opened(browser, url)
        page.select_option("#method", "accurate")
        page.set_input_files("#files", [str(data_dir / "pennfudan/images/PennPed00020.jpg")])
        api = "window.personsegPage"
        wait(page, f"{api}.requests >= 1 && {api}.settled()", 120)
        people = page.evaluate(f"{api}.people()")
        region = next(k for k, kp in enumerate(people) if not any(v for _, _, v in kp))
        x, y, w, h = page.evaluate(f"{api}.boxes()")[region]
        at = page.evaluate(f"{api}.toScreen({x + w / 2}, {y + h / 2})")
        page.mouse.click(at["x"], at["y"])
        assert page.is_enabled("#remove")
        page.keyboard.press("Delete")
        wait(page, f"{api}.requests >= 2 && {api}.settled()", 60)
        assert len(page.evaluate(f"{api}.people()")) == len(people) - 1
        page.keyboard.press("r")   # asked again (as any later edit): still removed
        wait(page, f"{api}.requests >= 3 && {api}.settled()", 60)
        assert len(page.evaluate(f"{api}.people()")) == len(people) - 1
        page.keyboard.press("Control+z")
        wait(page, f"{api}.settled()", 60)
        assert len(page.evaluate(f"{api}.people()")) == len(people)
        assert not errors, errors


def test_a_coco_file_opened_with_its_photos_is_corrected_in_place_with_its_ids(browser, data_dir, tmp_path):
    """`personseg annotate`'s file opened with one of its photos: the page starts from the file's people (the
    untouched keep the masks the file has), and J gives the file back with that photo's people corrected, every
    id kept and the photos not opened as they were."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("pennfudan/images/PennPed00020.jpg", "pennfudan/images/FudanPed00001.jpg"):
        shutil.copy(data_dir / name, photos)
    out = tmp_path / "people.json"
    subprocess.run([sys.executable, "-m", "personseg", "annotate", str(photos), "-o", str(out), "--quiet"],
                   check=True, capture_output=True)
    original = json.loads(out.read_text())
    for a in original["annotations"]:   # ids an annotator's tool gave: not 1, 2, 3...
        a["id"] += 500
    for im in original["images"]:
        im["id"] += 70
        for a in original["annotations"]:
            if a["image_id"] == im["id"] - 70:
                a["image_id"] = im["id"]
    image = next(im for im in original["images"] if im["file_name"] == "PennPed00020.jpg")
    theirs = [a for a in original["annotations"] if a["image_id"] == image["id"]]
    crowd = {**theirs[0], "id": 9000, "iscrowd": 1, "keypoints": [0] * 51, "attributes": {"by": "hand"}}
    original["annotations"].append(crowd)   # what the page does not load stays as it is
    out.write_text(json.dumps(original))
    with serving() as (url, _):
        page, errors = opened(browser, url)
        page.set_input_files("#files", [str(out), str(photos / "PennPed00020.jpg")])
        api = "window.personsegPage"
        wait(page, f"{api}.requests >= 1 && {api}.settled()", 120)
        people = page.evaluate(f"{api}.people()")
        assert len(people) == len(theirs)
        woman = next(k for k, kp in enumerate(people) if any(v for _, _, v in kp))   # drag one of her joints
        joint = next(j for j in range(17) if people[woman][j][2] >= 0.3)
        drag(page, woman, joint, 15, 10, steps=5)
        wait(page, f"{api}.requests >= 2 && {api}.settled()", 60)
        with page.expect_download() as got:
            page.keyboard.press("j")
        assert got.value.suggested_filename == "people.json"
        back = json.loads(Path(got.value.path()).read_text())
        assert not errors, errors
    assert back["images"] == original["images"] and back["categories"] == original["categories"]
    others = [a for a in original["annotations"] if a["image_id"] != image["id"]]
    assert [a for a in back["annotations"] if a["image_id"] != image["id"]] == others   # not opened: as they were
    mine = {a["id"]: a for a in back["annotations"] if a["image_id"] == image["id"]}
    assert mine.pop(9000) == crowd
    assert set(mine) == {a["id"] for a in theirs}   # the same people, the same ids
    for a in theirs:
        moved = a["keypoints"] != mine[a["id"]]["keypoints"]
        assert moved == (a["num_keypoints"] > 0 and a is theirs[woman])
        if not moved and a["num_keypoints"] == 0:   # the region no pose stands on keeps the file's mask
            assert mine[a["id"]]["segmentation"] == a["segmentation"]


def test_leaving_asks_while_an_edited_photo_is_left_out_of_the_coco_download(browser, data_dir):
    with serving() as (url, _):
        page, errors = opened(browser, url)
        api = "window.personsegPage"
        page.set_input_files("#files", [str(data_dir / PHOTOS[0])])
        wait(page, f"{api}.requests >= 1 && {api}.settled()", 120)
        people = page.evaluate(f"{api}.people()")
        joint = next(j for j in range(17) if people[0][j][2] >= 0.3)
        drag(page, 0, joint, 40, 30, steps=5)
        wait(page, f"{api}.requests >= 2 && {api}.settled()", 60)
        page.route("**/v1/segment*", lambda route: route.abort())   # the server out of reach, then
        methods = page.evaluate("[...document.getElementById('method').options].map((o) => o.value)")
        page.select_option("#method", next(m for m in methods if m != page.input_value("#method")))
        wait(page, f"{api}.settled()", 30)   # the edited photo waits for an answer with the other method
        with page.expect_download():
            page.keyboard.press("j")
        assert "1 not segmented yet (or failed) left out" in page.inner_text("#status")
        unload = "(() => { const e = new Event('beforeunload', {cancelable: true}); dispatchEvent(e); " \
                 "return e.defaultPrevented; })()"
        assert page.evaluate(unload)   # its edit is in no file: leaving still asks
        assert not errors
