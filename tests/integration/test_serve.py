"""The HTTP service in process (FastAPI's test client): every endpoint, every output and every error code."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pycocotools import mask as mask_rle

from personseg.serve import ServeSettings, create_app
from personseg.serve.answers import PICTURES, SERVICE_OUTPUTS
from personseg.serve.work import Busy, WorkPool

PHOTO = "pose_mini/images/coco_000000196141.jpg"   # a batter and a catcher, with bystanders
LOCAL = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def photo(data_dir) -> bytes:
    return (data_dir / PHOTO).read_bytes()


@pytest.fixture(scope="module")
def client():
    with TestClient(base_url=LOCAL, app=create_app(ServeSettings(method="fast")), raise_server_exceptions=False) as c:
        yield c


def post(client, data: bytes, people=None, **query):
    return client.post("/v1/segment", params=query, files={"image": ("photo.jpg", data)},
                       data=None if people is None else {"people": json.dumps(people)})


def test_health_methods_docs_and_page(client):
    assert client.get("/v1/health").json()["status"] == "ok"
    info = client.get("/v1/methods").json()
    assert info["default"] == "fast" and "accurate" in [m["name"] for m in info["methods"]]
    assert info["outputs"] == list(SERVICE_OUTPUTS) and info["limits"]["upload_bytes"] == 20 * 2 ** 20
    docs = client.get("/docs")
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert docs.status_code == 200 and assets and all(client.get(a).status_code == 200 for a in assets)   # offline
    schema = client.get("/openapi.json").json()
    answers = schema["paths"]["/v1/segment"]["post"]["responses"]
    assert {"400", "401", "413", "415", "422", "503"} <= set(answers)   # each error in the shape it has
    assert answers["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorAnswer"}
    assert "securitySchemes" not in schema.get("components", {})   # no key asked
    operation = schema["paths"]["/v1/segment"]["post"]   # the photo as the body, and the headers, documented
    assert {"image/*", "application/octet-stream"} <= operation["requestBody"]["content"].keys()
    assert "X-People" in answers["200"]["headers"]
    page = client.get("/")
    assert page.status_code == 200 and "/page/app.js" in page.text
    assert "personsegPage" in client.get("/page/app.js").text
    assert client.get("/nowhere").json() == {"error": "Not Found"}
    assert client.head("/v1/health").status_code == 200   # monitors probe so


def test_the_docs_try_it_out_sends_every_default_and_is_answered(client, photo):
    # /docs fills each query field with its schema default and sends them all: background=white and blur=0.02
    # were refused (422) with every output
    operation = client.get("/openapi.json").json()["paths"]["/v1/segment"]["post"]
    defaults = {p["name"]: p["schema"]["default"] for p in operation["parameters"] if "default" in p["schema"]}
    for output in ("mask", "replace", "blur", "json"):
        r = client.post("/v1/segment", params=defaults | {"output": output}, files={"image": ("a.jpg", photo)})
        assert r.status_code == 200, (output, r.text)


@pytest.mark.parametrize("output", PICTURES)
def test_every_picture_output_is_a_png_of_the_photo(client, photo, output):
    r = post(client, photo, output=output, **({"background": "#00ff00"} if output == "replace" else {}))
    assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text
    im = Image.open(io.BytesIO(r.content))
    assert im.size == Image.open(io.BytesIO(photo)).size
    assert im.mode == {"cutout": "RGBA", "mask": "L", "alpha": "L"}.get(output, "RGB")
    if output == "mask":
        assert set(np.unique(np.asarray(im))) == {0, 255}
    if output == "replace":   # the background is the colour asked for
        assert (np.asarray(im)[0, 0] == (0, 255, 0)).all()


def test_blur_strength_is_taken_with_the_blur_output(client, photo):
    soft, strong = (np.asarray(Image.open(io.BytesIO(post(client, photo, output="blur", blur=b).content)))
                    for b in ("0.01", "0.2"))
    assert soft.shape == strong.shape and np.abs(soft.astype(int) - strong.astype(int)).mean() > 1


def test_answers_count_the_regions_nobody_placed_stands_on(client, data_dir):
    # FudanPed00071: BlazePose places one of the two walkers; X-People said 1 of a mask holding both
    two = (data_dir / "pennfudan/images/FudanPed00071.jpg").read_bytes()
    r = post(client, two, output="mask", method="accurate")
    assert r.headers["X-People"] == "1" and r.headers["X-Regions-Without-Keypoints"] == "1"
    # with instances those without a pose, as an edit's dropped numbers them (it said 1 beside three posed people)
    r = post(client, two, output="json", instances="true")
    unposed = sum(not any(v for _, _, v in p["keypoints"]) for p in r.json()["people"])
    assert r.headers["X-Regions-Without-Keypoints"] == str(r.json()["regions_without_keypoints"]) == str(unposed)


def test_json_gives_everyone_with_box_keypoints_score_and_a_mask_that_decodes(client, photo):
    r = post(client, photo, output="json", instances="true")
    answer = r.json()
    assert r.status_code == 200 and answer["people"] and set(answer["timings"]) >= {"coarse", "finish"}
    assert r.headers["X-People"] == str(len(answer["people"]))   # as on every answer (it was on pictures only)
    union = np.zeros((answer["height"], answer["width"]), bool)
    for person in answer["people"]:
        mask = mask_rle.decode({**person["mask"], "counts": person["mask"]["counts"].encode()})
        assert mask.shape == union.shape and mask.sum() == person["area"] > 0
        assert np.shape(person["keypoints"]) == (17, 3) and 0 < person["score"] <= 1
        union |= mask > 0
    assert (union == mask_rle.decode({**answer["mask"], "counts": answer["mask"]["counts"].encode()})).all()


def test_given_keypoints_drive_the_masks(client, photo, data_dir, pose_mini):
    """Exactly the people given come back, in their order, each mask that person's (IoU with their true mask at
    least 0.6); a moved keypoint moves the mask (seed 002)."""
    from personseg.image import load_mask
    from personseg.metrics import foreground_iou

    entry = next(e for e in pose_mini["images"] if e["image"].endswith(PHOTO.rsplit("/", 1)[1]))
    chosen = [i for i in entry["instances"] if np.count_nonzero(np.reshape(i["keypoints"], (17, 3))[:, 2]) >= 8]
    given = [np.reshape(i["keypoints"], (17, 3)).tolist() for i in chosen]
    answer = post(client, photo, people=given, output="json", instances="true").json()
    assert len(answer["people"]) == len(given) >= 2
    for person, kp, inst in zip(answer["people"], given, chosen):
        assert np.allclose(np.array(person["keypoints"])[:, :2], np.array(kp)[:, :2], atol=0.01)
        mask = mask_rle.decode({**person["mask"], "counts": person["mask"]["counts"].encode()})
        assert foreground_iou(mask * 255, load_mask(data_dir / "pose_mini" / inst["instance_mask"])) > 0.6
    assert post(client, photo, people=[], output="json").json()["people"] == []
    stretched = json.loads(json.dumps(given))
    stretched[0][9][:2] = [stretched[0][9][0] + 80, stretched[0][9][1] + 60]   # the left wrist dragged away
    a = post(client, photo, people=given, output="mask", method="accurate").content   # fed the keypoints' SSM
    b = post(client, photo, people=stretched, output="mask", method="accurate").content
    assert a != b


def test_an_edit_keeps_the_masks_of_the_people_it_did_not_touch(client, photo):
    """edit=true (the web page after an edit): the search's people sent back as they were give the search's own
    masks; with one of them moved, the others keep theirs but for what the moved one now covers."""
    def masks(answer: dict) -> list[np.ndarray]:
        return [mask_rle.decode(p["mask"]) > 0 for p in answer["people"]]

    found = post(client, photo, output="json", instances="true").json()
    people = [p["keypoints"] for p in found["people"]]   # a region found without a pose: keypoints of zeros
    first = next(k for k, kp in enumerate(people) if any(v for _, _, v in kp))
    assert sum(any(v for _, _, v in kp) for kp in people) >= 2
    back = post(client, photo, people, output="json", instances="true", edit="true").json()
    assert [p["area"] for p in back["people"]] == [p["area"] for p in found["people"]]
    w, h = found["width"], found["height"]   # as `annotate` writes them: v = 2 on the sure ones inside, 0s elsewhere
    coco = [[[x, y, 2] if v >= 0.3 and 0 <= x < w and 0 <= y < h else [0, 0, 0] for x, y, v in kp] for kp in people]
    back = post(client, photo, coco, output="json", instances="true", edit="true").json()
    assert [p["area"] for p in back["people"]] == [p["area"] for p in found["people"]]   # the search's masks
    moved = [[[x + 25, y, v] for x, y, v in kp] if k == first else kp for k, kp in enumerate(people)]
    after = post(client, photo, moved, output="json", instances="true", edit="true").json()
    assert [p["keypoints"] for p in after["people"]] == moved   # in the order sent: colours stay put
    was, now = masks(found), masks(after)
    for k in range(len(people)):
        if k != first:   # only what the moved person took
            assert not (now[k] & ~was[k]).any() and not (was[k] & ~now[k] & ~now[first]).any()
    gone = post(client, photo, people[:first] + people[first + 1:], output="alpha", instances="true", edit="true")
    alpha = np.asarray(Image.open(io.BytesIO(gone.content)))
    assert alpha[was[first]].max() == 0 and gone.headers["X-People"] == str(len(people) - 1)
    twice = post(client, photo, [people[first]] * 2, output="json", instances="true", edit="true")
    assert twice.status_code == 422 and "given twice" in twice.json()["error"]


def test_an_edit_drops_a_region_found_without_a_pose(client, data_dir):
    """dropped (the web page's removal of a region no pose stands on): the region goes, soft edge and all; without
    it a region no person of no keypoints stands for comes back after the people sent."""
    photo = (data_dir / "pennfudan/images/PennPed00020.jpg").read_bytes()   # two men no pose stands on, a woman

    def edit(people, output, dropped=None):
        fields = {"people": json.dumps(people), **({} if dropped is None else {"dropped": dropped})}
        return client.post("/v1/segment", params={"instances": "true", "edit": "true", "method": "accurate",
                                                  "output": output}, files={"image": ("p.jpg", photo)}, data=fields)

    found = post(client, photo, output="json", instances="true", method="accurate").json()["people"]
    posed = [p["keypoints"] for p in found if any(v for _, _, v in p["keypoints"])]
    region = next(mask_rle.decode(p["mask"]) > 0 for p in found if not any(v for _, _, v in p["keypoints"]))
    assert len(posed) == 1 and len(found) == 2
    assert len(edit(posed, "json").json()["people"]) == 2   # the region not stood for: back after her
    gone = edit(posed, "alpha", "[0]")
    alpha = np.asarray(Image.open(io.BytesIO(gone.content)))
    assert gone.headers["X-People"] == "1" and alpha[region].max() == 0
    for dropped, why in (("[3]", "dropped region 3: the search found 1 region without a pose"),
                         ('["a"]', "dropped: give a JSON list of region numbers"), ("[0", "dropped: not JSON")):
        r = edit(posed, "json", dropped)
        assert r.status_code == 422 and why in r.json()["error"], r.text
    nobody = [[0, 0, 0]] * 17   # stands for the region: one too many (it gave a person of an empty mask)
    for people, dropped, why in ((posed + [nobody, nobody], None, "person 3 has no keypoints, so stands for a region "
                                  "the search found without a pose: it found 1, fewer than"),
                                 (posed + [nobody], "[0]", "it found 1 (1 of them dropped), fewer than")):
        r = edit(people, "json", dropped)
        assert r.status_code == 422 and why in r.json()["error"], r.text
    assert len(edit(posed + [nobody], "json").json()["people"]) == 2
    for field in ("people", "dropped"):   # an integer of 5000 digits: Python's JSON refuses it (it answered 500)
        r = client.post("/v1/segment", params={"output": "json", "instances": "true", "edit": "true"},
                        files={"image": ("p.jpg", photo)}, data={"people": "[]", field: "[" + "9" * 5000 + "]"})
        assert r.status_code == 422 and f"{field}: not JSON" in r.json()["error"], r.text
    r = client.post("/v1/segment", params={"output": "json"}, files={"image": ("p.jpg", photo)},
                    data={"dropped": "[0]"})
    assert r.status_code == 422 and "dropped is for edit=true" in r.json()["error"]


def test_stages_hold_every_stage_picture(client, photo):
    r = post(client, photo, output="stages", instances="true")
    answer = r.json()
    assert r.headers["X-People"] == str(len(answer["people"]))
    assert set(answer["images"]) == {"photo", "cutout", "mask", "alpha", "ssm", "trimap", "boundary", "leftover",
                                     "people"}
    assert all(url.startswith("data:image/") for url in answer["images"].values())
    assert all(p["colour"].startswith("#") for p in answer["people"])


def test_subject_require_person_and_person_check_choose_whom_the_mask_shows(client, photo, data_dir):
    """On the batter photo, main keeps fewer pixels than all; on photos of nobody, the person check (accurate)
    empties the doughnuts that person_check=false marks, and require_person answers an empty mask and no people where the
    unchecked request marks something."""
    def marked(r) -> float:
        assert r.status_code == 200, r.text
        return float((np.asarray(Image.open(io.BytesIO(r.content))) > 127).mean())

    assert 0 < marked(post(client, photo, subject="main")) < marked(post(client, photo))
    assert client.get("/v1/methods").json()["subjects"] == ["all", "main"]
    doughnuts = (data_dir / "no_people/images/000000024577.jpg").read_bytes()
    assert marked(post(client, doughnuts, method="accurate")) == 0
    assert marked(post(client, doughnuts, method="accurate", person_check="false")) > 0.5
    nobody = (data_dir / "no_people/images").glob("*.jpg")
    for path in sorted(nobody):
        plain = post(client, path.read_bytes(), person_check="false")
        if marked(plain) > 0.01:
            required = post(client, path.read_bytes(), require_person="true", person_check="false")
            if marked(required) == 0:
                assert required.headers["X-People"] == "0"
                return
    pytest.fail("require_person emptied no photo of no_people that the plain request marked")


@pytest.mark.parametrize("query, files, people, status, words", [
    ({}, {"image": ("a.jpg", b"")}, None, 422, "empty"),
    ({}, {"image": ("a.txt", b"hello, not a photo")}, None, 415, "not an image"),
    ({"output": "gif"}, None, None, 422, "output"),
    ({"method": "magic"}, None, None, 422, "method"),
    ({"blur": "9", "output": "blur"}, None, None, 422, "less than or equal to 0.5"),
    ({"blur": "-1", "output": "blur"}, None, None, 422, "greater than 0"),
    ({"blur": "0.05"}, None, None, 422, "blur is used only with output=blur, not output=mask"),
    ({"background": "red", "output": "cutout"}, None, None, 422, "used only with output=replace"),
    ({"instances": "maybe"}, None, None, 422, "instances"),
    ({"background": "no-such-colour", "output": "replace"}, None, None, 422, "is not a colour"),
    ({}, {}, None, 400, "multipart/form-data"),   # no body at all
    ({}, {"photo": ("a.jpg", b"x")}, None, 422, "image"),
    ({}, None, "[[1, 2, 3]]", 422, "people"),
    ({}, None, "{not json", 422, "people"),
    ({}, None, '{"a": 1}', 422, "people"),
    ({}, None, "[[[0, 0, NaN]]]", 422, "people"),
    ({}, None, json.dumps([[[10, 10, 2]] * 17] * 65), 422, "at most 64"),
    pytest.param({}, None, "[" * 5000 + "]" * 5000, 422, "nested too deep", id="deep"),   # RecursionError: 500
    ({"output": ["json", "mask"]}, None, None, 422, "output given more than once"),   # the last counted
    ({"people": "[]"}, None, None, 422, "fields of the multipart/form-data body"),
    ({"subject": "everyone"}, None, None, 422, "subject"),
    ({"matting": "none", "outptu": "alpha"}, None, None, 422, "unknown parameters matting, outptu; this endpoint takes"),
    ({"subject": "main", "instances": "true"}, None, None, 422, "choose one"),
    ({"require_person": "true"}, None, json.dumps([[[10, 10, 2]] * 17]), 422, "exactly those"),
    ({"person_check": "false"}, None, json.dumps([[[10, 10, 2]] * 17]), 422, "exactly those"),
    ({"edit": "true", "instances": "true"}, None, None, 422, "edit=true takes"),
    ({"edit": "true"}, None, json.dumps([[[10, 10, 2]] * 17]), 422, "edit=true takes"),
])
def test_bad_requests_answer_json_errors(client, photo, query, files, people, status, words):
    r = client.post("/v1/segment", params=query, files={"image": ("a.jpg", photo)} if files is None else files,
                    data=None if people is None else {"people": people})
    assert r.status_code == status and words in r.json()["error"], r.text


def test_the_photo_may_be_the_body_itself_and_any_other_body_is_a_bad_request(client, photo):
    form = post(client, photo, output="json")
    for kind in ("image/jpeg", "application/octet-stream", ""):   # "": a File of no known type, sent by fetch
        raw = client.post("/v1/segment", params={"output": "json"}, content=photo,
                          headers={"content-type": kind} if kind else {})
        assert raw.status_code == 200 and raw.json()["people"] == form.json()["people"]
        assert raw.headers["x-people"] == form.headers["x-people"]
    empty = client.post("/v1/segment", content=b"", headers={"content-type": "image/jpeg"})
    assert empty.status_code == 422 and "empty" in empty.json()["error"]
    for kwargs in ({"json": {"image": "x"}}, {"content": b"x", "headers": {"content-type": "text/plain"}},
                   # curl --data-binary without a type: the photo's bytes were read as form fields and sent back
                   {"content": photo, "headers": {"content-type": "application/x-www-form-urlencoded"}}):
        r = client.post("/v1/segment", **kwargs)
        assert r.status_code == 400 and "multipart/form-data" in r.json()["error"] and "--data-binary" in r.json()["error"]
        assert len(r.content) < 1000
    r = client.post("/v1/segment", data={"people": "[]"}, files={"other": ("a.jpg", photo)})
    assert r.status_code == 422 and "unknown form field other; the fields are image" in r.json()["error"]
    r = client.post("/v1/segment", files={"people": (None, "[]")})
    assert r.status_code == 422 and "'image' is missing" in r.json()["error"]
    r = client.post("/v1/segment", files={"image": ("p.jpg", photo), "people": ("poses.json", b"[]")})
    assert r.status_code == 422 and "-F \"people=<people.json\" (curl's <)" in r.json()["error"], r.text


def test_a_truncated_photo_is_refused(client, photo):
    r = post(client, photo[: len(photo) // 3])
    assert r.status_code == 415 and "readable" in r.json()["error"]


def test_limits_on_upload_pixels_and_time(photo):
    with TestClient(base_url=LOCAL, app=create_app(ServeSettings(method="fast", max_upload=len(photo) - 1))) as c:
        assert post(c, photo).status_code == 413
        chunked = c.post("/v1/segment", content=(photo[k:k + 4096] for k in range(0, len(photo), 4096)),
                         headers={"content-type": "multipart/form-data; boundary=x"})
        assert chunked.status_code == 413 and "limit" in chunked.json()["error"]   # no Content-Length to trust
        assert c.get("/v1/health").status_code == 200
    with TestClient(base_url=LOCAL, app=create_app(ServeSettings(method="fast", max_pixels=10_000))) as c:
        r = post(c, photo)
        assert r.status_code == 413 and "over the limit" in r.json()["error"]
    with TestClient(base_url=LOCAL, app=create_app(ServeSettings(method="fast", timeout=0.001))) as c:
        r = post(c, photo)
        # the photo itself takes longer than the limit: trying again would too (it said Retry-After: 1)
        assert r.status_code == 503 and "takes longer here" in r.json()["error"] and "retry-after" not in r.headers


def test_full_queue_answers_503_and_internal_errors_500(photo, monkeypatch):
    with TestClient(base_url=LOCAL, app=create_app(ServeSettings(method="fast")), raise_server_exceptions=False) as c:
        def busy(self, job):
            raise Busy
        monkeypatch.setattr(WorkPool, "submit", busy)
        r = post(c, photo)
        assert r.status_code == 503 and r.headers["retry-after"] == "1" and "busy" in r.json()["error"]
        monkeypatch.undo()
        monkeypatch.setattr("personseg.serve.app.load_image", lambda *a: 1 / 0)
        r = post(c, photo)
        assert r.status_code == 500 and "internal error" in r.json()["error"]
        monkeypatch.undo()
        assert post(c, photo).status_code == 200   # and the server goes on


def test_api_key_is_required_when_set(photo):
    with TestClient(base_url=LOCAL, app=create_app(ServeSettings(method="fast", api_key="s3cret"))) as c:
        assert c.get("/v1/health").status_code == 200   # health stays open for load balancers
        assert c.get("/v1/methods").status_code == 401
        assert post(c, photo).status_code == 401
        assert c.get("/v1/methods", headers={"X-API-Key": "wrong"}).status_code == 401
        assert c.get("/v1/methods", headers={"X-API-Key": "s3cret"}).status_code == 200
        assert c.get("/v1/methods", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        schema = c.get("/openapi.json").json()   # /docs offers the key and sends it
        assert schema["components"]["securitySchemes"]["key"] == {"type": "apiKey", "in": "header",
                                                                   "name": "X-API-Key"}
        assert schema["paths"]["/v1/segment"]["post"]["security"] == [{"key": []}, {"bearer": []}]
        assert "security" not in schema["paths"]["/v1/health"]["get"]


def test_fields_sent_as_a_user_might_by_mistake(client, photo):
    """Text where the photo should be, two photos, a colour whose # a URL took as its fragment, a photo past
    Pillow's own size limit: each answered in words (422 / 413), not FastAPI's or Pillow's internals; a colour as
    six hex digits alone is taken."""
    r = client.post("/v1/segment", files=[("image", (None, "hello"))])   # curl -F image=hello
    assert r.status_code == 422 and "must be a file upload" in r.json()["error"]
    r = client.post("/v1/segment", files=[("image", ("a.jpg", photo)), ("image", ("b.jpg", photo))])
    assert r.status_code == 422 and "2 'image' fields" in r.json()["error"]
    r = client.post("/v1/segment", files={"image": ("a.jpg", photo)}, data={"peopel": "[]"})   # segmented as if
    assert r.status_code == 422 and "unknown form field peopel" in r.json()["error"]   # none were given
    r = client.post("/v1/segment", files={"image": ("a.jpg", photo)}, data={"people": " " * (2 << 20)})
    assert r.status_code == 413 and "is over 1 MB (the photo goes as a file" in r.json()["error"]   # Starlette's 400
    r = post(client, photo, output="replace", background="")
    assert r.status_code == 422 and "%23" in r.json()["error"]
    assert post(client, photo, output="replace", background="ff0000").status_code == 200
    import io

    from PIL import Image

    big = io.BytesIO()
    Image.new("1", (20000, 20000)).save(big, format="PNG")
    r = post(client, big.getvalue())
    assert r.status_code == 413 and "is over the limit of" in r.json()["error"] and "resize it first" in r.json()["error"]


def test_a_stopped_server_ends_as_every_command_does():
    """SIGTERM lets the server finish and exit 143, as the other commands (uvicorn.run swallowed the signal it
    raises again once stopped: the command exited 0)."""
    import signal

    from personseg.serve.launch import serving

    with serving("--method", "fast") as (_, proc):
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 143


def test_a_site_allowed_calls_from_the_browser_and_reads_every_answer(photo):
    settings = ServeSettings(method="fast", api_key="s3cret", origins=("http://localhost:3000",))
    with TestClient(base_url=LOCAL, app=create_app(settings)) as c:
        site = {"Origin": "http://localhost:3000"}
        pre = c.options("/v1/segment", headers=site | {"Access-Control-Request-Method": "POST",
                                                        "Access-Control-Request-Headers": "x-api-key"})
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert "x-api-key" in pre.headers["access-control-allow-headers"].lower()
        public = c.options("/v1/segment", headers=site | {"Access-Control-Request-Method": "POST",   # Chrome's
                                                           "Access-Control-Request-Private-Network": "true"})
        assert public.status_code == 200 and public.headers["access-control-allow-private-network"] == "true"
        r = c.post("/v1/segment", params={"output": "json"}, files={"image": ("photo.jpg", photo)},
                   headers=site | {"X-API-Key": "s3cret"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert "x-people" in r.headers["access-control-expose-headers"].lower()
        refused = c.post("/v1/segment", files={"image": ("photo.jpg", photo)}, headers=site)
        assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == site["Origin"]
        other = c.post("/v1/segment", files={"image": ("photo.jpg", photo)},
                       headers={"Origin": "http://evil.example", "X-API-Key": "s3cret"})
        assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
    with TestClient(base_url=LOCAL, app=create_app(ServeSettings(method="fast"))) as c:   # none allowed: no CORS
        pre = c.options("/v1/segment", headers={"Origin": "http://localhost:3000",
                                                "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in pre.headers
        # refused preflights say why in JSON (plain text "Disallowed CORS origin"; 405 Method Not Allowed)
        assert pre.status_code == 403 and "--allow-origin http://localhost:3000" in pre.json()["error"]
    with TestClient(base_url=LOCAL, app=create_app(ServeSettings(method="fast", origins=("http://a.example",)))) as c:
        pre = c.options("/v1/segment", headers={"Origin": "http://b.example", "Access-Control-Request-Method": "POST"})
        assert pre.status_code == 400 and "not among --allow-origin http://a.example" in pre.json()["error"]
        pre = c.options("/v1/segment", headers={"Origin": "http://a.example", "Access-Control-Request-Method": "PUT"})
        assert pre.status_code == 400 and "takes GET, POST with the headers X-API-Key" in pre.json()["error"]


def test_the_service_loads_the_cut_outs_kernels_before_the_first_request():
    """A process's first cut-out waited 1 to 2 s (a minute after installing) for pymatting, whose kernels numba
    compiles into its cache, or loads from there, as it is imported: the first user asking for a cut-out paid it.
    The pool loads them as it starts (seen in a fresh process)."""
    import subprocess
    import sys

    probe = ("import sys; from personseg.serve.work import WorkPool; pool = WorkPool('fast', 1, 1); pool.start(); "
             "pool.close(); print('pymatting' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.split()[-1] == "True", done.stderr[-500:]
