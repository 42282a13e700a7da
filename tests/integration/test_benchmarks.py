"""The benchmarks run end to end on a couple of images, so a change to the library cannot leave them broken
(their figures are made by running them in full: benchmarks/RESULTS.md)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from personseg.methods import METHODS

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench(data_dir):
    sys.path.insert(0, str(BENCHMARKS))
    yield importlib.import_module
    sys.path.remove(str(BENCHMARKS))


def test_eg1800_scores_every_method_and_the_peer(bench):
    results = bench("eg1800").run(2)
    assert results["images"] == 2
    rows = results["rows"]
    assert all(any(name.startswith(method) for name in rows) for method in METHODS)
    assert "MediaPipe selfie segmentation (peer)" in rows
    assert all(0.0 <= r["mean_iou"] <= 1.0 for r in rows.values())


def test_latency_times_every_call_and_the_peer(bench):
    ms = bench("latency").run(2, 1)["median_ms"]
    assert len(ms) == 9 and all(v > 0 for v in ms.values())


def test_edits_time_the_search_and_an_edit_at_each_size(bench):
    rows = bench("edits").run([320], 1)["rows"]
    assert [r["size"] for r in rows] == ["320x291"] and rows[0]["people"] >= 1 and rows[0]["edit_s"] > 0


def test_panoramas_score_each_way_side_by_side_and_alone(bench):
    results = bench("panoramas").run(1, (2, 5))
    sets = results["sets"]
    people = results["people"]
    assert list(people) == [f"pennfudan x{k}" for k in (2, 5)]
    for entry in people.values():   # the same people counted on the panorama and on its photos alone
        rows = entry["rows"].values()
        assert all(r["panorama"]["people"] == r["alone"]["people"] > 0 for r in rows)
        assert entry["panoramas"] == 1 and len(entry["rows"]) == 2
    assert list(sets) == [f"{name} x{k}" for name in ("pennfudan", "coco_single") for k in (2, 5)]
    assert all(entry["panoramas"] == 1 and len(entry["rows"]) == 3 for entry in sets.values())
    assert all(0.0 <= r["mean_iou"] <= 1.0 and 0.0 <= r["alone_mean_iou"] <= 1.0
               for entry in sets.values() for r in entry["rows"].values())


def test_foreground_scores_each_estimate(bench):
    rows = bench("foreground").run(2, "train")["rows"]
    assert len(rows) == 3 and all(r["error"] >= 0 for r in rows.values())


def test_outline_scores_every_setting_on_each_held_out_group(bench):
    results = bench("outline").run(1)
    assert len(results) == 3 and all(r["images"] == 1 and "shipped rule" in r["scores"] for r in results.values())


def test_people_composites_match_people_in_made_up_scenes(bench):
    results = bench("people_composites").run(2, "test")
    assert results["images"] == 2 and len(results["rows"]) == 3


def test_people_counts_found_missed_and_spurious_people_on_each_set(bench):
    results = bench("people").run(["fast"], limit=1)
    assert set(results["sets"]) == {"pennfudan test", "coco_people test", "pose_mini"}
    for row in results["sets"].values():
        r = row["fast"]
        assert r["images"] == 1 and r["found"] + r["missed"] == r["people"] > 0


def test_bystanders_scores_each_clip_with_and_without_them(bench):
    rows = bench("bystanders").run(["tennis"], ["fast"], ["all", "main"], limit=3)
    assert len(rows) == 6 and all(r["frames"] == 3 and 0.0 <= r["iou"] <= 1.0 for r in rows.values())
    assert [r["bystander_marked"] is None for r in rows.values()] == [True, True, False, False, False, False]


def test_given_people_scores_given_and_found_people(bench):
    rows = bench("given_people").run(["fast"], limit=1)
    assert set(rows) == {"pose_mini|fast", "coco_people|fast"}
    assert all(r["decoded"] == r["given"]["people"] == r["alone"]["people"] > 0 for r in rows.values())


def test_serve_load_drives_a_real_server(bench):
    results = bench("serve_load").run(6, [2], 9, method="fast", per_set=1)
    assert results["runs"][0]["errors"] == 0 and results["answers_after"]
    assert results["malformed"]["21 MB upload"] == {"413 json": 1}
    assert results["malformed"]["truncated photo"] == {"415 json": 1}


def test_quantise_times_float32_and_int8(bench):
    row = bench("quantise").run(2, 3, ["sinet"])["median_ms"]["sinet"]
    assert set(row) == {"float32", "int8 QDQ", "int8 QOperator"} and all(v > 0 for v in row.values())


def test_large_photo_writes_every_output_of_a_24_megapixel_photo(bench):
    row = bench("large_photo").run(1, ["fast"])["rows"]["fast"]
    assert row["seconds"] > 0 and row["peak_rss_mb"] > 0


def test_scenes_scores_every_set_with_and_without_mediapipes_masks_and_the_person_check(bench):
    results = bench("scenes").run(2)
    assert set(results["sets"]) == {"eg1800", "ccp", "pennfudan", "coco_people", "coco_single"}
    for row in results["sets"].values():
        assert len(row) == 5 and all(r["images"] == 2 and 0.0 <= r["mean_iou"] <= 1.0 for r in row.values())
    assert all(r["photos"] == 2 and 0.0 <= r["mean_share"] <= 1.0 for r in results["no_people"].values())


def test_scenes_scores_black_and_white_photos_on_request(bench):
    results = bench("scenes").run(1, grey=True)
    assert results["grey"] and len(results["sets"]) == 5 and len(results["no_people"]) == 5


def test_people_video_counts_marked_frames_on_clips_of_nobody(bench):
    rows = bench("people_video").nobody(["fast"], limit=2, frames=3)
    assert set(rows) == {"fast", "fast, --no-person-check"}
    assert all(r["clips"] == 2 and r["frames"] == 6 and 0 <= r["frames_marked"] <= 6 for r in rows.values())


def test_people_video_counts_empty_frames_of_clips_cut_from_the_three(bench):
    rows = bench("people_video").starts(["fast"], frames=3, limit=1)
    assert set(rows) == {"fast, parkour", "fast, tennis", "fast, hike"}
    assert all(r["clips"] == 1 and r["frames"] == 3 and 0 <= r["empty_frames"] <= 3 and 0 <= r["mean_iou"] <= 1
               for r in rows.values())


def test_people_video_pans_over_portraits_and_full_bodies(bench):
    rows = bench("people_video").pans(["fast"], limit=1, frames=2)
    assert set(rows) == {"fast, eg1800", "fast, ccp"}
    assert all(r["clips"] == 1 and r["frames"] == 2 and r["empty_frames"] <= 2 and 0 <= r["mean_iou"] <= 1
               for r in rows.values())
