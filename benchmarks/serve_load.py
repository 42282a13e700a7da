"""`personseg serve` under load: a real server in its own process, driven over loopback by 8 and then 32
concurrent clients (threads of this process), with malformed uploads mixed in; latency, throughput, errors and
the server's memory before and after. Photos: EG1800, CCP, coco_people and pennfudan test images, in turn."""

from __future__ import annotations

import argparse
import http.client
import itertools
import random
import threading
import time
import uuid
from pathlib import Path

import numpy as np

from report import machine, write_results

from personseg.data import data_root
from personseg.serve.launch import serving

PHOTO_SETS = ("eg1800", "ccp", "coco_people", "pennfudan")


def photos(per_set: int) -> list[bytes]:
    """The first ``per_set`` test photos of each set, as files."""
    out = []
    for name in PHOTO_SETS:
        root = data_root() / name
        ids = (root / "test.txt").read_text().split()[:per_set]
        for ident in ids:
            path = next((root / "images").glob(f"{ident}.*"))
            out.append(path.read_bytes())
    return out


def multipart(data: bytes, field: str = "image", filename: str = "photo.jpg") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def malformed(photo: bytes) -> list[tuple[str, bytes, dict[str, str]]]:
    """(kind, body, headers) of each malformed request: what a careless or hostile client sends."""
    kinds = []
    for kind, data in (("truncated photo", photo[: len(photo) // 3]), ("text, not an image", b"hello " * 200),
                       ("empty file", b""), ("random bytes", random.Random(0).randbytes(5000))):
        body, ctype = multipart(data)
        kinds.append((kind, body, {"Content-Type": ctype}))
    body, ctype = multipart(photo)
    kinds.append(("large header (64 KB)", body, {"Content-Type": ctype, "X-Padding": "x" * 2 ** 16}))
    kinds.append(("huge header (1 MB)", body, {"Content-Type": ctype, "X-Padding": "x" * 2 ** 20}))
    kinds.append(("broken multipart", b"--nothing-like-the-boundary\r\n\r\n", {"Content-Type": ctype}))
    body, ctype = multipart(photo, field="picture")
    kinds.append(("no image field", body, {"Content-Type": ctype}))
    big, ctype = multipart(b"\xff" * (21 * 2 ** 20))
    kinds.append(("21 MB upload", big, {"Content-Type": ctype}))
    return kinds


def request(port: int, body: bytes, headers: dict[str, str], path: str = "/v1/segment") -> tuple[str, float]:
    """(status, seconds) of one POST: the status code, "+json" added when it is an error answered as
    {"error": ...}; "connection closed by the server" when it refused to read the request."""
    t = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        answer = response.read()
        status = str(response.status)
        if response.status != 200 and response.getheader("content-type") == "application/json":
            status += " json" if b'"error"' in answer else ""
        return status, time.perf_counter() - t
    except (OSError, http.client.HTTPException):
        return "connection closed by the server", time.perf_counter() - t
    finally:
        conn.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def drive(port: int, clients: int, good: list[tuple[bytes, str]], count: int,
          bad: list[tuple[str, bytes, dict[str, str]]]) -> dict:
    """``count`` good requests and ``bad`` mixed in, sent by ``clients`` threads as fast as answers come."""
    work = [("good", body, {"Content-Type": ctype}) for body, ctype in itertools.islice(itertools.cycle(good), count)]
    work += bad
    random.Random(clients).shuffle(work)
    lock, done = threading.Lock(), []
    queue = iter(work)

    def client() -> None:
        while True:
            with lock:
                item = next(queue, None)
            if item is None:
                return
            kind, body, headers = item
            status, seconds = request(port, body, headers)
            with lock:
                done.append((kind, status, seconds))

    t = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t
    ok = [s for kind, status, s in done if kind == "good" and status == "200"]
    statuses: dict[str, dict[str, int]] = {}
    for kind, status, _ in done:
        if kind != "good":
            statuses.setdefault(kind, {}).setdefault(status, 0)
            statuses[kind][status] += 1
    return {"clients": clients, "requests": count, "ok": len(ok),
            "errors": sum(1 for kind, status, _ in done if kind == "good" and status != "200"),
            "p50_s": round(float(np.percentile(ok, 50)), 3), "p95_s": round(float(np.percentile(ok, 95)), 3),
            "requests_per_s": round(len(ok) / wall, 2), "wall_s": round(wall, 1), "malformed": statuses}


def run(requests: int, levels: list[int], malformed_count: int, method: str = "", per_set: int = 10) -> dict:
    """Drive a fresh server: ``requests`` good requests at each concurrency of ``levels``, ``malformed_count``
    malformed ones spread over them."""
    good = [multipart(p) for p in photos(per_set)]
    kinds = malformed(photos(1)[0])
    bad_all = [kinds[k % len(kinds)] for k in range(malformed_count)]
    options = ("--method", method) if method else ()
    with serving(*options) as (url, proc):
        port = int(url.rsplit(":", 1)[1])
        for body, ctype in good[:4]:   # warm: every kind of photo once
            request(port, body, {"Content-Type": ctype})
        rss = [rss_mb(proc.pid)]
        runs = []
        for k, clients in enumerate(levels):
            runs.append(drive(port, clients, good, requests, bad_all[k::len(levels)]))
            rss.append(rss_mb(proc.pid))
            print(runs[-1], f"RSS {rss[-1]:.0f} MB", flush=True)
        status, _ = request(port, good[0][0], {"Content-Type": good[0][1]})
        alive = status == "200" and proc.poll() is None
    merged: dict[str, dict[str, int]] = {}
    for r in runs:
        for kind, counts in r["malformed"].items():
            for code, n in counts.items():
                merged.setdefault(kind, {}).setdefault(code, 0)
                merged[kind][code] += n
    return {"machine": machine(), "method": method or "server default", "photos": len(good), "runs": runs,
            "rss_mb": [round(v, 1) for v in rss], "answers_after": alive, "malformed": merged,
            "malformed_count": malformed_count}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=500, help="good requests per concurrency level")
    ap.add_argument("--clients", default="8,32,8,32",
                    help="concurrency levels, in turn (a second round shows whether memory settles)")
    ap.add_argument("--malformed", type=int, default=200, help="malformed requests, spread over the levels")
    ap.add_argument("--method", default="", help="the server's method (default: its default)")
    ap.add_argument("--per-set", type=int, default=10, help="test photos of each set")
    args = ap.parse_args()
    results = run(args.requests, [int(c) for c in args.clients.split(",")], args.malformed, args.method, args.per_set)
    runs, rss = results["runs"], results["rss_mb"]
    lines = [f"## `personseg serve` under load, {machine()}", "",
             f"Made by `python benchmarks/serve_load.py`: a server (`personseg serve`, {results['method']}, one "
             f"worker) in its own process; clients are threads of another process on loopback, each sending the "
             f"next request as soon as its answer came. {results['photos']} test photos (EG1800, CCP, "
             f"coco_people, pennfudan) in turn, output=mask; {args.malformed} malformed requests mixed in. RSS: "
             "the server's resident memory after warming up, then after each level.", "",
             "| clients | requests | errors | p50 s | p95 s | requests/s | server RSS after, MB |",
             "|---|---|---|---|---|---|---|"]
    for r, after in zip(runs, rss[1:]):
        lines.append(f"| {r['clients']} | {r['requests']} | {r['errors']} | {r['p50_s']} | {r['p95_s']} | "
                     f"{r['requests_per_s']} | {after:.0f} |")
    lines += ["", f"Server RSS after warming up: {rss[0]:.0f} MB. Answers a photo after all of it: "
              f"{'yes' if results['answers_after'] else 'NO'}.", "",
              "Malformed requests (status, 'json' where the answer was `{\"error\": ...}`, x count):", ""]
    lines += [f"- {kind}: " + ", ".join(f"{code} x{n}" for code, n in sorted(c.items()))
              for kind, c in results["malformed"].items()]
    write_results("serve_load", results, lines[0], "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
