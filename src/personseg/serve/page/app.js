// personseg's web page: open photos, see every stage, move, add or remove people's keypoints; the masks are
// recomputed from the keypoints by POST /v1/segment (output=stages, people=...). Plain JS, no network but the app's.
"use strict";

const $ = (id) => document.getElementById(id);
const STAGES = [   // [answer image, caption]; "keypoints" is drawn here from the answer's people
  ["cutout", "Cut-out"], ["keypoints", "Keypoints and skeleton"], ["people", "People"],
  ["ssm", "Spatial Saliency Map (seed 000)"], ["trimap", "Trimap of the mask (seed 003)"],
  ["boundary", "Boundary mask of the mask (seed 003)"], ["leftover", "Leftover mask of the mask (seed 003)"],
  ["alpha", "Alpha matte"], ["mask", "Mask"],
];
const BACKDROPS = [["people", "photo and people"], ["photo", "photo"], ["cutout", "cut-out"], ["mask", "mask"],
                   ["alpha", "alpha"], ["ssm", "saliency map"]];
const HIT = 9;          // screen pixels within which a keypoint is grabbed
const SURE = 0.3;       // keypoint score under which a joint is missing (personseg's MIN_SCORE)
const HISTORY = 50;     // undo steps kept per photo

const page = {
  photos: [],           // {file, name, answer, answered, people, ids, dropped, edited, given, history, selected, adding,
                        //  seq, error, abort, inflight, full: a promise of the photo decoded at full size while shown}
  coco: null,           // a COCO file opened to correct: {name, data, byName: its images by file name (no folder)}
  index: -1,
  backdrop: "people",
  drag: null,           // {photo, person, joint, before, moved}
  pan: null,            // {x, y, fx, fy}: where a pan of the zoomed editor started
  view: {zoom: 1, fx: 0, fy: 0},   // the editor's zoom, and the photo's offset in it as shares of its size
  full: null,           // the shown photo decoded at full size (fullSize), or null: its preview is drawn
  images: {},           // the decoded pictures of the answer shown (``shown``), by name
  shown: null,          // the answer whose pictures ``images`` holds
  requests: 0,          // answers received (the browser test waits on it)
  changes: 0,           // edits and undos made, and their count at the last COCO file downloaded with all of them
  saved: 0,
};

// ---------- talking to the service ----------

function headers() {
  const key = $("apikey").value || sessionStorage.getItem("personseg-key");
  return key ? {"X-API-Key": key} : {};
}

async function call(photo, output, people, signal) {
  const form = new FormData();
  form.append("image", photo.file, photo.name);
  if (people) form.append("people", JSON.stringify(people));
  if (people && photo.dropped.length) form.append("dropped", JSON.stringify(photo.dropped));
  // people are sent after an edit: the untouched keep the masks the search gave them (edit=true)
  const query = new URLSearchParams({output, instances: "true", ...(people ? {edit: "true"} : {})});
  if ($("method").value) query.set("method", $("method").value);
  let res;
  try { res = await fetch("/v1/segment?" + query, {method: "POST", body: form, headers: headers(), signal}); }
  catch (e) {
    if (e.name === "AbortError") throw e;
    throw Object.assign(new Error("the server did not answer (is personseg serve still running?)"), {wait: 5});
  }
  if (!res.ok) {
    let why = res.statusText;
    try { why = (await res.json()).error || why; } catch (e) { /* not JSON */ }
    if (res.status === 401) $("keyform").hidden = false;
    if (res.status === 204) throw new Error("cancelled");
    const error = new Error(`${res.status}: ${why}`);
    if (res.status === 503) error.wait = Number(res.headers.get("Retry-After")) || 2;   // busy: ask again later
    if (res.status === 401) error.wait = Infinity;   // asked again once a key is given
    // not an image the server reads, or one over its size limits: asking again cannot help
    if (res.status === 415 || res.status === 413) error.unreadable = true;
    throw error;
  }
  return output === "stages" || output === "json" ? res.json() : res.blob();
}

let busyCount = 0;
function busy(on) {
  busyCount += on ? 1 : -1;
  $("busy").hidden = busyCount === 0;
  document.body.classList.toggle("working", busyCount > 0);
}

function say(text, error = false) {
  $("status").textContent = text;
  $("status").title = text;   // shown on one line, cut where long
  $("status").classList.toggle("error", error);
}

// Segment ``photo`` (people: null to search, else the keypoints to use); a newer request cancels this one.
async function segment(photo, people) {
  const seq = ++photo.seq;
  if (photo.abort) photo.abort.abort();
  const abort = photo.abort = new AbortController();
  photo.inflight = true;
  busy(true);
  try {
    const answer = await call(photo, "stages", people, abort.signal);
    if (seq !== photo.seq) return;
    photo.answer = answer;
    photo.answered = seq;
    const dragging = page.drag && page.drag.photo === photo;   // the drag's own request follows
    if (!dragging) photo.people = answer.people.map((p) => p.keypoints.map((k) => k.slice()));
    photo.ids = answer.people.map((p, k) => (photo.ids[k] === undefined ? null : photo.ids[k]));
    photo.error = null;
    if (photo.selected >= photo.people.length) photo.selected = -1;
    page.requests += 1;
    if (photo === current()) summarise(photo);
  } catch (e) {
    if (seq !== photo.seq) return;
    photo.error = e.message;
    photo.wait = e.wait || 0;
    photo.unreadable = Boolean(e.unreadable);
    if (photo === current()) say(failure(photo), true);
  } finally {
    if (seq === photo.seq) photo.inflight = false;
    busy(false);
  }
  listPhotos();
  pump();
  if (photo === current()) await show();
}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
// ``photo``'s answer in words: people (with a pose) and regions found without one, counted apart; people given
// who got no mask (too few joints on the photo, or nothing marked around them) named.
function counted(photo) {
  const people = photo.answer.people;
  const regions = people.filter((p) => unposed(p.keypoints)).length;
  return plural(people.length - regions, "person", "people") +
         (regions ? `, ${plural(regions, "region", "regions")} without a pose` : "");
}

function summarise(photo) {
  const a = photo.answer;
  const t = Object.values(a.timings).reduce((x, y) => x + y, 0);
  const empty = a.people.map((p, k) => (p.area ? 0 : k + 1)).filter((k) => k);
  say(`${counted(photo)} · ${a.method} · ${Math.round(t)} ms` +
      (empty.length ? ` · no mask for person ${empty.join(", ")} (too few joints, or nothing marked around ` +
                      `them): move or add joints` : ""), empty.length > 0);
}

// What went wrong with ``photo``'s last request, and what to do.
function failure(photo) {
  if (photo.unreadable) return `${photo.name}: ${photo.error}; left out`;
  const lost = photo.answer ? "its last edit is not applied (the masks are from before it)" : "not segmented";
  const again = !photo.answer && photo.wait && photo.wait !== Infinity ? `asked again in ${photo.wait} s, or press R`
                : "open it again (or press R) to retry";
  return `${photo.name}: ${photo.error}; ${lost}: ${again}`;
}

// Every photo not yet segmented, one at a time in the background (the current one goes first, by ``go``), so
// that the COCO file holds every photo opened. A busy or unreachable server pauses it (``wait`` seconds, after
// which the photos it could not do are asked again); one that refused a photo leaves that photo failed.
let pumping = false, paused = null;
function pump() {
  if (pumping || paused || page.photos.some((p) => p.inflight)) return;
  const waiting = page.photos.filter((p) => !p.answer && p.error && p.wait);
  if (waiting.length) {
    const wait = Math.min(...waiting.map((p) => p.wait));
    if (wait === Infinity) return;   // the API key: asked again once it is given (``resume``)
    paused = setTimeout(() => { paused = null; resume(); }, wait * 1000);
    return;
  }
  const next = page.photos.find((p) => !p.answer && !p.error && !p.inflight);
  if (!next) return;
  pumping = true;
  retry(next).finally(() => { pumping = false; pump(); });
}

function resume() {   // the photos a busy or unreachable server, or a missing key, kept from an answer: again
  for (const p of page.photos) if (!p.answer && p.wait) { p.error = null; p.wait = 0; }
  listPhotos();
  pump();
}

// ---------- photos ----------

function current() { return page.photos[page.index] || null; }

const isImage = (f) => f.type.startsWith("image/") || /\.(jpe?g|jfif|png|webp|avif|heic|heif|gif|bmp|tiff?)$/i.test(f.name);
const isCoco = (f) => /\.json$/i.test(f.name) || f.type === "application/json";
const sameFile = (f, g) => f.name === g.name && f.size === g.size && f.lastModified === g.lastModified;

function addFiles(files) {
  const given = [...files];
  const cocos = given.filter(isCoco);
  if (cocos.length) {   // the file first, then the photos opened with it take their people from it
    const rest = given.filter((f) => !isCoco(f));
    openCoco(cocos[cocos.length - 1]).then(() => { if (rest.length) addFiles(rest); });
    return;
  }
  const images = given.filter(isImage);
  const fresh = images.filter((f, i) => !page.photos.some((p) => sameFile(p.file, f)) &&
                                        images.findIndex((g) => sameFile(f, g)) === i);
  const skipped = given.filter((f) => !isImage(f) && !isCoco(f)).map((f) => f.name);
  const notes = [];
  if (skipped.length) notes.push(`skipped ${skipped.length} not an image: ${skipped.slice(0, 3).join(", ")}` +
                                 (skipped.length > 3 ? ", …" : ""));
  const open = images.filter((f) => !fresh.includes(f)).map((f) => f.name);
  if (open.length) notes.push(`already open: ${open.slice(0, 3).join(", ")}${open.length > 3 ? ", …" : ""}`);
  if (!fresh.length) { say(notes.join(" · ") || "no image among the files given", true); return; }
  const first = page.photos.length;
  for (const file of fresh) {
    page.photos.push({file, name: file.name, answer: null, answered: 0, people: [], ids: [], dropped: [],
                      edited: false, given: false, history: [],
                      selected: -1, adding: null, seq: 0, error: null, abort: null, inflight: false});
    fromCoco(page.photos[page.photos.length - 1]);
  }
  go(first);
  if (notes.length) say(notes.join(" · "), true);
}

// A COCO file (``personseg annotate``'s, or one downloaded here) opened to correct: each photo of it opened here
// starts from its people (sent as after an edit: those the search finds as they are keep its masks), and the COCO
// download (J) is this file with the people of the photos edited here in place of its own, its ids kept.
async function openCoco(file) {
  let data;
  try { data = JSON.parse(await file.text()); } catch (e) { say(`${file.name}: not JSON (${e.message})`, true); return; }
  if (!data || !Array.isArray(data.images) || !Array.isArray(data.annotations)) {
    say(`${file.name}: not a COCO file (it has no images and annotations lists)`, true);
    return;
  }
  const categories = Array.isArray(data.categories) ? data.categories : [];
  const persons = categories.some((c) => c.name === "person") ?   // null: every annotation is a person
    new Set(categories.filter((c) => c.name === "person").map((c) => c.id)) : null;
  const byName = new Map(), twice = new Set();   // its images by file name (no folder): the first of each
  for (const im of data.images) {
    const base = String(im.file_name || "").split("/").pop();
    if (!base) continue;
    if (byName.has(base)) twice.add(base); else byName.set(base, im);
  }
  page.coco = {name: file.name, data, byName, persons};
  let taken = 0;
  const kept = [];
  for (const photo of page.photos) {
    if (photo.unreadable) continue;
    if (photo.edited) {   // kept as edited; ids of an earlier file are none of this one's
      photo.ids = photo.ids.map(() => null);
      for (const step of photo.history) step.ids = step.ids.map(() => null);
      if (byName.has(photo.name)) kept.push(photo.name);
      continue;
    }
    if (!fromCoco(photo)) continue;
    taken += photo.given ? 1 : 0;   // the others: an earlier file's people dropped, searched afresh
    photo.seq += 1;   // asked again with the file's people (or afresh, where an earlier file gave them)
    if (photo.abort) photo.abort.abort();
    Object.assign(photo, {answer: null, error: null, inflight: false, history: [], selected: -1});
  }
  const notes = [`${file.name}: ${data.images.length} photos, ${data.annotations.length} annotations; open its ` +
                 `photos to correct them${taken ? ` (${taken} open already)` : ""}`];
  if (kept.length) notes.push(`${kept.length} edited here before keep their edits: their people will replace ` +
                              `the file's, as new ids: ${kept.slice(0, 3).join(", ")}${kept.length > 3 ? ", …" : ""}`);
  if (twice.size) notes.push(`${twice.size} file names appear twice in it (other folders): only the first image ` +
                             `of each is corrected here`);
  say(notes.join(" · "), kept.length > 0 || twice.size > 0);
  if (taken) go(page.index);
}

// The file's annotations of ``image`` the page loads: people (of the person category) with 17 keypoints, no crowds,
// those of none only as stand-ins (``standIn``). Only these are replaced by the page's people on download: the
// others stay as they are.
function loaded(image) {
  const {data, persons} = page.coco;
  return data.annotations.filter((a) => a.image_id === image.id && (!persons || persons.has(a.category_id)) &&
                                        !a.iscrowd && Array.isArray(a.keypoints) && a.keypoints.length === 51 &&
                                        (a.keypoints.some((v, i) => i % 3 === 2 && v > 0) || standIn(a)));
}

// A person of no keypoints that stands for a region the search found without a pose: as ``personseg annotate`` and
// this page write them (an RLE mask and a score). Elsewhere (a person labelled by hand without keypoints) it is
// not loaded, and stays as it is.
const standIn = (a) => typeof a.score === "number" && a.segmentation && !Array.isArray(a.segmentation) &&
                       typeof a.segmentation.counts === "string";

// ``photo``'s people from the COCO file opened, where it holds people on the photo (by file name, without
// folders; elsewhere the photo is searched afresh). True where the photo's people changed.
function fromCoco(photo) {
  const image = page.coco && page.coco.byName.get(photo.name);
  const people = image ? loaded(image) : [];
  if (!people.length) {
    if (!photo.given) return false;
    Object.assign(photo, {people: [], ids: [], given: false, dropped: []});   // an earlier file's: searched afresh
    return true;
  }
  photo.people = people.map((a) => [...Array(17).keys()].map((j) => a.keypoints.slice(3 * j, 3 * j + 3)));
  photo.ids = people.map((a) => a.id);
  photo.given = true;
  photo.dropped = [];
  return true;
}

function go(index) {
  if (!page.photos.length) return;
  const next = Math.max(0, Math.min(page.photos.length - 1, index));
  if (next !== page.index) {   // each photo opens whole; the one left gives its full-size bitmap back
    page.view = {zoom: 1, fx: 0, fy: 0};
    const left = current();
    if (left && left.full) { left.full.then((b) => b && b.close()); left.full = null; }
    page.full = null;
  }
  page.index = next;
  const photo = current();
  listPhotos();
  if (photo.unreadable) say(failure(photo), true);
  else if (!photo.inflight && (!photo.answer || photo.error)) retry(photo);
  else if (photo.answer) summarise(photo);   // its own, not the photo left's
  else say("working…");
  show();
  pump();
}

function retry(photo) {   // the photo as it is now: its edits, or a search where it has none
  return photo && !photo.unreadable ? segment(photo, sent(photo)) : Promise.resolve();
}

function listPhotos() {
  const nav = $("photos");
  nav.replaceChildren(...page.photos.map((p, i) => {
    const b = document.createElement("button");
    b.className = i === page.index ? "current" : "";
    b.title = p.name;
    const n = document.createElement("span");
    n.className = "n";
    n.textContent = p.unreadable ? "not an image" : p.error ? (p.answer ? "edit not applied" : "failed") :
                    p.answer ? counted(p) : "…";
    if (p.error) n.classList.add("failed");
    b.append(p.name, document.createElement("br"), n);
    b.onclick = () => go(i);
    return b;
  }));
  $("counter").textContent = page.photos.length ? `${page.index + 1} / ${page.photos.length}` : "no photo";
}

// ---------- drawing ----------

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("an answer image did not decode"));
    img.src = url;
  });
}

async function show() {
  const photo = current();
  const ready = !!(photo && photo.answer);
  $("drop").hidden = !!photo;
  $("editor").hidden = !ready;
  for (const id of ["dl-cutout", "dl-mask"]) $(id).disabled = !ready;
  $("dl-coco").disabled = !page.photos.some((p) => p.answer);
  $("remove").disabled = !(photo && photo.selected >= 0);
  $("undo").disabled = !(photo && photo.history.length);
  $("add").classList.toggle("on", !!(photo && photo.adding));
  hint();
  if (!ready) { $("stages").replaceChildren(); return; }
  const answer = photo.answer;
  let images = page.shown === answer ? page.images : null;
  if (!images) {   // the pictures of the answer shown only: every answer kept (photos, undo) holds them encoded
    const names = Object.keys(answer.images);
    const decoded = await Promise.all(names.map((n) => loadImage(answer.images[n])));
    images = Object.fromEntries(names.map((n, i) => [n, decoded[i]]));
  }
  if (photo !== current() || answer !== photo.answer) return;
  if (!photo.full) {   // the shown photo's only (a bitmap is w x h x 4 bytes); drawn once decoded
    photo.full = fullSize(photo, answer);
    photo.full.then((full) => { if (photo === current() && photo.full && full) { page.full = full; draw(); } });
  }
  page.images = images;
  page.shown = answer;
  draw();
  stages();
}

// The photo itself as the browser decodes it, for a sharp editor when zoomed (the answer's pictures are
// previews); null where the browser cannot decode it or sees another size (an orientation it did not apply).
async function fullSize(photo, answer) {
  try {
    const bitmap = await createImageBitmap(photo.file, {imageOrientation: "from-image"});
    return bitmap.width === answer.width && bitmap.height === answer.height ? bitmap : null;
  } catch (e) {
    return null;
  }
}

function fit() {   // the editor's size (the photo scaled into the free area), and the zoomed scale and offset
  const area = $("stage-area").getBoundingClientRect();
  const a = current().answer;
  const base = Math.min((area.width - 16) / a.width, (area.height - 16) / a.height);
  const w = Math.max(1, Math.round(a.width * base)), h = Math.max(1, Math.round(a.height * base));
  const {zoom, fx, fy} = page.view;   // kept in shares: a resized editor shows the same part of the photo
  return {w, h, s: base * zoom, ox: fx * w, oy: fy * h};
}

const ZOOM_MAX = 16;

function zoomCentre(factor) {
  if (!current() || !current().answer) return;
  const {w, h} = fit();
  zoomAt(factor, w / 2, h / 2);
}

const ZOOM_KEYS = {"+": () => zoomCentre(1.25), "=": () => zoomCentre(1.25), "-": () => zoomCentre(0.8),
                   "0": () => { page.view = {zoom: 1, fx: 0, fy: 0}; draw(); }};

// Zoom the editor by ``factor`` about the point (cx, cy) of the canvas, the photo kept covering it.
function zoomAt(factor, cx, cy) {
  const photo = current();
  if (!photo || !photo.answer) return;
  const before = fit();
  const zoom = Math.max(1, Math.min(ZOOM_MAX, page.view.zoom * factor));
  const k = zoom / page.view.zoom;
  page.view = {zoom, fx: (cx - (cx - before.ox) * k) / before.w, fy: (cy - (cy - before.oy) * k) / before.h};
  clampView();
  draw();
}

function clampView() {   // no empty edge inside the editor: the zoomed photo covers it
  const v = page.view;
  v.fx = Math.min(0, Math.max(1 - v.zoom, v.fx));
  v.fy = Math.min(0, Math.max(1 - v.zoom, v.fy));
}

function draw() {
  const photo = current();
  if (!photo || !photo.answer) return;
  const canvas = $("editor");
  const {w, h, s, ox, oy} = fit();
  const dpr = window.devicePixelRatio || 1;   // drawn at the screen's own pixels, sized in CSS pixels
  canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
  canvas.style.width = `${w}px`; canvas.style.height = `${h}px`;
  const ctx = canvas.getContext("2d");
  ctx.scale(dpr, dpr);
  const im = page.images;
  const [W, H] = [photo.answer.width * s, photo.answer.height * s];   // the photo zoomed, drawn from (ox, oy)
  if (page.backdrop === "cutout") { drawChecker(ctx, w, h); ctx.drawImage(im.cutout, ox, oy, W, H); }
  else if (page.backdrop === "people" || !im[page.backdrop]) {
    ctx.drawImage(page.full || im.photo, ox, oy, W, H);
    if (im.people) { ctx.globalAlpha = 0.45; ctx.drawImage(im.people, ox, oy, W, H); ctx.globalAlpha = 1; }
  } else ctx.drawImage(page.backdrop === "photo" && page.full || im[page.backdrop], ox, oy, W, H);
  drawPeople(ctx, s, photo, ox, oy);
}

function drawChecker(ctx, w, h) {
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, h); ctx.fillStyle = "#ccc";
  for (let y = 0; y < h; y += 8) for (let x = (y / 8) % 2 ? 8 : 0; x < w; x += 16) ctx.fillRect(x, y, 8, 8);
}

function colour(photo, k) {
  const people = photo.answer.people;
  return people[k] ? people[k].colour : "#ffffff";
}

function drawPeople(ctx, s, photo, ox = 0, oy = 0) {   // keypoint (x, y) at (ox + x s, oy + y s)
  const skeleton = photo.answer.skeleton;
  const everyone = photo.people.map((kp, k) => [kp, colour(photo, k), k === photo.selected]);
  if (photo.adding) everyone.push([photo.adding.kp, "#ffffff", true]);
  for (const [kp, c, selected] of everyone) {
    ctx.lineWidth = selected ? 4 : 2.5;
    ctx.strokeStyle = c;
    for (const [a, b] of skeleton) {
      if (kp[a][2] >= SURE && kp[b][2] >= SURE) {
        ctx.beginPath(); ctx.moveTo(ox + kp[a][0] * s, oy + kp[a][1] * s);
        ctx.lineTo(ox + kp[b][0] * s, oy + kp[b][1] * s); ctx.stroke();
      }
    }
    for (const [x, y, v] of kp) {
      if (v < SURE) continue;
      ctx.beginPath(); ctx.arc(ox + x * s, oy + y * s, selected ? 6 : 4.5, 0, 2 * Math.PI);
      ctx.fillStyle = c; ctx.fill(); ctx.lineWidth = 1.5; ctx.strokeStyle = "#000"; ctx.stroke();
    }
  }
  if (photo.answered !== photo.seq) return;   // boxes of an answer to the people as they are now
  photo.people.forEach((kp, k) => {   // a region found without a pose: its box, dashed (thicker selected)
    const region = photo.answer.people[k];
    if (!region || !unposed(kp) || !region.bbox) return;
    const [bx, by, bw, bh] = region.bbox;
    ctx.setLineDash([6, 4]); ctx.lineWidth = k === photo.selected ? 3 : 1.5; ctx.strokeStyle = colour(photo, k);
    ctx.strokeRect(ox + bx * s, oy + by * s, bw * s, bh * s);
    ctx.setLineDash([]);
  });
}

function stages() {
  const photo = current();
  const figures = STAGES.filter(([name]) => name === "keypoints" || page.images[name]).map(([name, caption]) => {
    const fig = document.createElement("figure");
    fig.id = `stage-${name}`;
    fig.className = name === page.backdrop ? "current" : "";
    let pic;
    if (name === "keypoints") {
      pic = document.createElement("canvas");
      const a = photo.answer, s = Math.min(1, 360 / a.width);
      pic.width = Math.round(a.width * s); pic.height = Math.round(a.height * s);
      const ctx = pic.getContext("2d");
      ctx.drawImage(page.images.photo, 0, 0, pic.width, pic.height);
      drawPeople(ctx, s, photo);
    } else {
      pic = document.createElement("img");
      pic.src = photo.answer.images[name];
      pic.alt = caption;
      if (name === "cutout") pic.className = "checker";
    }
    const cap = document.createElement("figcaption");
    cap.textContent = caption;
    fig.append(pic, cap);
    if (BACKDROPS.some(([b]) => b === name)) {   // a stage the editor can show becomes its backdrop, by the
      fig.tabIndex = 0;                           // keyboard too
      fig.setAttribute("role", "button");
      fig.setAttribute("aria-label", `show ${caption} in the editor`);
      fig.onclick = () => {
        page.backdrop = name;
        $("backdrop").value = name;
        draw();
        stages();
        $(`stage-${name}`).focus();
      };
      fig.onkeydown = (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); fig.onclick(); } };
    }
    return fig;
  });
  $("stages").replaceChildren(...figures);
}

function hint() {
  const photo = current();
  const h = $("hint");
  h.classList.toggle("adding", !!(photo && photo.adding));
  if (photo && photo.adding) {
    const name = photo.answer.keypoint_names[photo.adding.next].replace("_", " ");
    h.textContent = `New person: click their ${name} (S skip this joint · Enter done · Esc cancel)`;
  } else {
    h.textContent = "Drag a keypoint to move it · click a person's joint (or a region's box) to select them · " +
                    "A add a person · " +
                    "Delete remove · Ctrl+Z or U undo · wheel or + − zoom, drag to pan, 0 whole photo · ← → photos · " +
                    "O open · C, M, J download cut-out, mask, COCO · R retry";
  }
}

// ---------- editing ----------

// How the photo is now: its people, and the answer that goes with them (null while one is on its way).
function snapshot(photo) {
  return {people: photo.people.map((kp) => kp.map((k) => k.slice())), ids: photo.ids.slice(),
          dropped: photo.dropped.slice(), edited: photo.edited,
          answer: photo.answered === photo.seq ? photo.answer : null};
}

// What a request sends: after an edit, or for a photo whose people came from a COCO file, everyone in the page's
// order (edit=true; a region found without a pose as its keypoints of zeros, kept in place, and those removed by
// their number among them, ``dropped``; one with too few joints on the photo comes back with an empty mask), else
// nobody (the search).
function sent(photo) { return photo.edited || photo.given ? photo.people : null; }

function change(photo, before) {   // keypoints changed: remember how it was, then recompute the masks
  photo.history.push(before);
  if (photo.history.length > HISTORY) photo.history.shift();
  photo.edited = true;
  page.changes += 1;
  retry(photo);
  show();
}

function undo() {
  const photo = current();
  if (!photo || !photo.history.length) return;
  const {people, ids, dropped, edited, answer} = photo.history.pop();
  Object.assign(photo, {people, ids, dropped, edited, selected: -1});
  page.changes += 1;
  if (answer) {
    photo.seq += 1;   // any answer on its way is for a state undone
    if (photo.abort) photo.abort.abort();
    photo.answer = answer; photo.answered = photo.seq;
    photo.inflight = false; photo.error = null;
    listPhotos();
    pump();
  } else retry(photo);
  say("undone");
  show();
}

function toImage(ev) {
  const r = $("editor").getBoundingClientRect(), {s, ox, oy} = fit();
  return [(ev.clientX - r.left - ox) / s, (ev.clientY - r.top - oy) / s];
}

function nearest(photo, x, y) {
  const {s} = fit();
  let best = null, bestD = HIT / s;
  photo.people.forEach((kp, person) => kp.forEach(([kx, ky, v], joint) => {
    const d = Math.hypot(kx - x, ky - y);
    if (v >= SURE && d < bestD) { best = {person, joint}; bestD = d; }
  }));
  return best;
}

const unposed = (kp) => kp.every((k) => k[2] === 0);   // a region the search found without a pose

// The person whose box holds (x, y) among those with no joint to grab (a region found without a pose), the
// smallest box first; -1 for none.
function regionAt(photo, x, y) {
  let best = -1, bestArea = Infinity;
  if (photo.answered !== photo.seq) return best;   // the people shown are ahead of the answer's boxes
  photo.answer.people.forEach((p, k) => {
    const [bx, by, bw, bh] = p.bbox;
    if (!photo.people[k] || photo.people[k].some((j) => j[2] >= SURE)) return;
    if (x >= bx && x <= bx + bw && y >= by && y <= by + bh && bw * bh < bestArea) { best = k; bestArea = bw * bh; }
  });
  return best;
}

// The search's number (from 0) of the region found without a pose that ``photo.people[k]`` stands for: the
// people of no keypoints stand for those not dropped, in order.
function regionNumber(photo, k) {
  let left = photo.people.slice(0, k).filter(unposed).length, n = 0;
  for (;; n += 1) if (!photo.dropped.includes(n) && left-- === 0) return n;
}

function startAdding() {
  const photo = current();
  if (!photo || !photo.answer) return;
  photo.adding = {kp: photo.answer.keypoint_names.map(() => [0, 0, 0]), next: 0};
  photo.selected = -1;
  show();
}

function addJoint(photo, point) {
  if (point) photo.adding.kp[photo.adding.next] = [point[0], point[1], 2];
  photo.adding.next += 1;
  if (photo.adding.next >= photo.adding.kp.length) finishAdding(); else { draw(); hint(); }
}

function finishAdding() {
  const photo = current();
  const kp = photo.adding.kp;
  if (kp.filter((k) => k[2] >= SURE).length < 2) {   // kept in hand: more joints, or Esc
    if (photo.adding.next >= kp.length) photo.adding.next = 0;   // past the last joint: from the first again
    say("a person needs at least two joints: click another (Esc cancels)", true);
    show();
    return;
  }
  photo.adding = null;
  const before = snapshot(photo);
  photo.people.push(kp);
  photo.ids.push(null);
  photo.selected = photo.people.length - 1;
  change(photo, before);
}

function removeSelected() {
  const photo = current();
  if (!photo || photo.selected < 0) return;
  const before = snapshot(photo);
  if (unposed(photo.people[photo.selected])) photo.dropped.push(regionNumber(photo, photo.selected));
  photo.people.splice(photo.selected, 1);
  photo.ids.splice(photo.selected, 1);
  photo.selected = -1;
  change(photo, before);
}

// ---------- downloads ----------

function save(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

const stem = (name) => name.replace(/\.[^.]+$/, "");

async function download(output) {
  const photo = current();
  if (!photo || !photo.answer) return;
  busy(true);
  try { save(await call(photo, output, sent(photo)), `${stem(photo.name)}.${output}.png`); }
  catch (e) { say(`${output}: ${e.message}`, true); }
  finally { busy(false); }
}

function downloadCoco() {   // everyone in every photo done, as one COCO file (the file opened, its ids kept)
  const behind = page.photos.filter((p) => p.answer && (p.error || p.answered !== p.seq));
  if (behind.length) {
    say(`COCO file not made: the last edits of ${behind.map((p) => p.name).slice(0, 3).join(", ")}` +
        `${behind.length > 3 ? ", …" : ""} are not applied yet (wait, or open them to retry)`, true);
    return;
  }
  const left = page.photos.filter((p) => !p.answer).length;
  const done = page.photos.filter((p) => p.answer);
  const file = page.coco;
  const coco = file ? JSON.parse(JSON.stringify(file.data)) : {info: {description: "people segmented with personseg"}};
  coco.images = coco.images || [];
  coco.annotations = coco.annotations || [];
  coco.categories = coco.categories || [];
  const largest = (items) => items.reduce((m, x) => Math.max(m, Number(x.id) || 0), 0);   // no spread: 262k ids
  let category = coco.categories.find((c) => c.name === "person");
  if (!category) {
    category = {id: largest(coco.categories) + 1, name: "person", supercategory: "person"};
    coco.categories.push(category);
  }
  if (done.length && !(category.keypoints && category.keypoints.length)) {
    category.keypoints = done[0].answer.keypoint_names;
    category.skeleton = done[0].answer.skeleton.map(([p, q]) => [p + 1, q + 1]);
  }
  let nextImage = largest(coco.images), nextPerson = largest(coco.annotations);
  const before = new Map(coco.annotations.map((a) => [a.id, a]));
  const mapped = new Set();   // the file's images a photo done here stands for
  let changed = 0, added = 0, people = 0;
  const twice = [];
  for (const photo of done) {
    const a = photo.answer;
    let image = file ? file.byName.get(photo.name) : null;
    if (image && mapped.has(image.id)) { twice.push(photo.name); continue; }   // another photo of that name
    if (image) mapped.add(image.id);
    if (image && !photo.edited) continue;   // not edited here: as the file has it
    let gone = new Set();   // the file's people the page loaded for this photo: they go, the other annotations stay
    if (image) {
      gone = new Set(loaded(image).map((x) => x.id));
      coco.annotations = coco.annotations.filter((x) => !gone.has(x.id));
      changed += 1;
    } else {
      image = {id: ++nextImage, file_name: photo.name, width: a.width, height: a.height};
      coco.images.push(image);
      added += 1;
    }
    a.people.forEach((p, k) => {
      const id = photo.ids[k];   // one of those, each given once (not an earlier file's id, nor one undone twice)
      const old = gone.has(id) ? before.get(id) : undefined;
      gone.delete(id);
      if (old && !p.area) { coco.annotations.push(old); return; }   // a stand-in the search had no region for
      const kp = p.keypoints.flatMap(([x, y, v]) => v >= SURE && x >= 0 && y >= 0 && x < a.width && y < a.height ?
                                                    [x, y, 2] : [0, 0, 0]);
      coco.annotations.push({...(old || {category_id: category.id}), id: old ? old.id : ++nextPerson,
                             image_id: image.id, iscrowd: 0, segmentation: p.mask, area: p.area, bbox: p.bbox,
                             keypoints: kp, num_keypoints: kp.filter((v, i) => i % 3 === 2 && v > 0).length,
                             score: p.score});
      people += 1;
    });
  }
  const name = file ? file.name : "people.coco.json";
  save(new Blob([JSON.stringify(coco)], {type: "application/json"}), name);
  // every edit is in the file (no edited photo left out, as one waiting for its answer): leaving need not ask
  if (!twice.length && !page.photos.some((p) => p.edited && !p.answer)) page.saved = page.changes;
  const notes = [file ? `${name}: the people of ${plural(changed, "photo", "photos")} edited here in place of ` +
                        `the file's, ${plural(added, "photo", "photos")} added ` +
                        `(${plural(people, "person", "people")}; the file's ids kept); the rest as the file has them` :
                        `${name}: ${plural(added, "photo", "photos")}, ${plural(people, "person", "people")}`];
  if (twice.length) notes.push(`left out, another photo of the name already there: ${twice.slice(0, 3).join(", ")}`);
  if (left) notes.push(`${left} not segmented yet (or failed) left out`);
  say(notes.join("; "), left > 0 || twice.length > 0);
}

// ---------- events ----------

$("files").onchange = (ev) => { addFiles(ev.target.files); ev.target.value = ""; };
$("open").onkeydown = (ev) => {   // the label stands for the hidden file input: Enter or Space opens it
  if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); ev.stopPropagation(); $("files").click(); }
};
$("prev").onclick = () => go(page.index - 1);
$("next").onclick = () => go(page.index + 1);
$("add").onclick = () => (current() && current().adding ? finishAdding() : startAdding());
$("remove").onclick = removeSelected;
$("undo").onclick = undo;
$("dl-cutout").onclick = () => download("cutout");
$("dl-mask").onclick = () => download("mask");
$("dl-coco").onclick = downloadCoco;
$("keyform").onsubmit = (ev) => {
  ev.preventDefault();
  sessionStorage.setItem("personseg-key", $("apikey").value);
  init();
  resume();   // the photos refused for want of the key are tried again
  if (current()) go(page.index);
};
$("backdrop").replaceChildren(...BACKDROPS.map(([v, t]) => new Option(t, v)));
$("backdrop").onchange = () => { page.backdrop = $("backdrop").value; draw(); stages(); };
$("method").onchange = () => {   // every photo again with the new method, keeping the people edited
  $("method").blur();   // so that the arrow keys go on turning photos
  for (const p of page.photos.filter((q) => !q.unreadable)) {
    p.seq += 1;
    if (p.abort) p.abort.abort();
    p.answer = null; p.error = null; p.inflight = false; p.adding = null;
    p.dropped = [];   // numbers of the last method's regions; another method finds its own
    for (const step of p.history) { step.answer = null; step.dropped = []; }   // undo asks again, with this method
  }
  go(page.index);
};
window.addEventListener("beforeunload", (ev) => {   // edits live in this page only
  if (page.photos.some((p) => p.edited) && page.changes !== page.saved) { ev.preventDefault(); ev.returnValue = ""; }
});
window.addEventListener("resize", () => { if (current() && current().answer) { clampView(); draw(); } });

for (const type of ["dragenter", "dragover"]) {
  window.addEventListener(type, (ev) => { ev.preventDefault(); document.body.classList.add("dragging"); });
}
window.addEventListener("dragleave", (ev) => { if (!ev.relatedTarget) document.body.classList.remove("dragging"); });
window.addEventListener("drop", (ev) => {
  ev.preventDefault();
  document.body.classList.remove("dragging");
  addFiles(ev.dataTransfer.files);
});

const editor = $("editor");
editor.addEventListener("mousedown", (ev) => {
  const photo = current();
  if (!photo || !photo.answer) return;
  const [x, y] = toImage(ev);
  if (photo.adding) { addJoint(photo, [x, y]); return; }
  const hit = nearest(photo, x, y);
  photo.selected = hit ? hit.person : regionAt(photo, x, y);
  if (hit) page.drag = {...hit, photo, before: snapshot(photo), moved: false};
  else if (page.view.zoom > 1) page.pan = {x: ev.clientX, y: ev.clientY, fx: page.view.fx, fy: page.view.fy};
  show();
});
editor.addEventListener("wheel", (ev) => {   // zoom about the pointer: a wheel notch (100 px) 1.25x
  if (!ev.deltaY) return;
  ev.preventDefault();
  const r = editor.getBoundingClientRect();
  const px = ev.deltaY * (ev.deltaMode === 1 ? 33 : ev.deltaMode === 2 ? 300 : 1);   // lines, pages
  zoomAt(1.25 ** (-Math.max(-300, Math.min(300, px)) / 100), ev.clientX - r.left, ev.clientY - r.top);
}, {passive: false});
editor.addEventListener("mousemove", (ev) => {
  const photo = current();
  if (!photo || !photo.answer) return;
  const [x, y] = toImage(ev);
  if (page.pan) {
    const {w, h} = fit();
    Object.assign(page.view, {fx: page.pan.fx + (ev.clientX - page.pan.x) / w,
                              fy: page.pan.fy + (ev.clientY - page.pan.y) / h});
    clampView();
    draw();
    return;
  }
  if (!page.drag) { editor.classList.toggle("grab", !!nearest(photo, x, y)); return; }
  if (page.drag.photo !== photo) return;
  const a = photo.answer;
  const kp = photo.people[page.drag.person][page.drag.joint];
  kp[0] = Math.max(0, Math.min(a.width - 1, x));
  kp[1] = Math.max(0, Math.min(a.height - 1, y));
  page.drag.moved = true;
  draw();
});
window.addEventListener("mouseup", () => {
  const drag = page.drag;
  page.drag = null;
  page.pan = null;
  if (drag && drag.moved) change(drag.photo, drag.before);
});

window.addEventListener("keydown", (ev) => {
  if (ev.target.tagName === "INPUT" || ev.target.tagName === "SELECT") return;
  const photo = current();
  const key = ev.key.toLowerCase();
  if ((ev.ctrlKey || ev.metaKey) && key === "z") { ev.preventDefault(); undo(); return; }
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (photo && photo.adding) {
    const adding = {escape: () => { photo.adding = null; show(); }, enter: finishAdding,
                    s: () => addJoint(photo, null), ...ZOOM_KEYS};
    if (adding[key]) { ev.preventDefault(); adding[key](); }   // Enter must not also press a focused button
    return;
  }
  if (ev.target.tagName === "BUTTON" && (key === "enter" || key === " ")) return;
  const actions = {
    arrowleft: () => go(page.index - 1), arrowright: () => go(page.index + 1), a: startAdding,
    delete: removeSelected, backspace: removeSelected, o: () => $("files").click(),
    c: () => download("cutout"), m: () => download("mask"), j: downloadCoco, u: undo, r: () => retry(photo),
    escape: () => { if (photo) { photo.selected = -1; show(); } },
    ...ZOOM_KEYS,
  };
  if (actions[key]) { ev.preventDefault(); actions[key](); }
});

async function init() {
  try {
    const res = await fetch("/v1/methods", {headers: headers()});
    if (res.status === 401) { $("keyform").hidden = false; say("this server asks for an API key", true); return; }
    const info = await res.json();
    $("method").replaceChildren(...info.methods.map((m) => {
      const o = new Option(m.name, m.name);
      o.title = m.summary;
      return o;
    }));
    $("method").value = info.default;
    say("ready: open or drop photos");
  } catch (e) {
    say(`the server did not answer: ${e.message}`, true);
  }
}

// for tests and the curious: where a keypoint is on the screen, and how many answers came back
window.personsegPage = {
  get requests() { return page.requests; },
  settled() { return page.photos.every((p) => !p.inflight && (p.answer || p.error)); },
  toScreen(x, y) {   // a point of the photo (its pixels) on the screen
    const r = editor.getBoundingClientRect(), {s, ox, oy} = fit();
    return {x: r.left + ox + x * s, y: r.top + oy + y * s};
  },
  keypointOnScreen(person, joint) { return this.toScreen(...current().people[person][joint]); },
  size() { return current() && current().answer ? [current().answer.width, current().answer.height] : null; },
  people() { return current() ? current().people : []; },
  boxes() { return current() && current().answer ? current().answer.people.map((p) => p.bbox) : []; },
};

init();
