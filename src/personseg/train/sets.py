"""The training and validation sets of one run, built from data folders for any model: keypoints and prior
maps for models fed them, coarse mattes and guide maps for the refinement model, synthesised overlaps for the
person model, and the seeded validation split."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

from ..errors import PersonsegError
from ..methods import DEFAULT_COARSE_METHOD
from ..models.registry import spec
from .augment import AugmentConfig
from .data import (PairSet, coarse_mattes, load_pairs, pose_keypoints, split_ids, validation_split, with_guides,
                   with_priors)
from .overlaps import overlap_pairs
from .people import ANNOTATIONS, person_pairs


def training_sets(model: str, roots: list[Path], split: str | None, cache: Path, augment: AugmentConfig,
                  coarse: str = DEFAULT_COARSE_METHOD, val_fraction: float = 0.1, seed: int = 0,
                  log: Callable[[str], None] = print) -> tuple[PairSet, PairSet, AugmentConfig]:
    """(training pairs, validation pairs, the augmentation to train with) for ``model`` from the pairs of every
    folder in ``roots`` (``split``: the id list each holds, e.g. 'train'). What is computed once per image
    (keypoints, coarse mattes of method ``coarse``) is cached under ``cache``. Validation is a seeded
    ``val_fraction`` of all pairs; a model trained on overlaps gets scenes made separately from the training
    and the validation photos (none shared), with no composites and no prior dropout, which would change whom
    to cut, and from a folder with a mask per person (its ``annotations.json``, pose_mini's layout) a pair for
    each person found there (``people.person_pairs``), a seeded ``val_fraction`` of those photos held out."""
    if not 0 < val_fraction < 1:
        raise PersonsegError(f"validation fraction {val_fraction}: expected a share between 0 and 1, e.g. 0.1")
    folders = [Path(root).resolve() for root in roots]
    twice = sorted({str(f) for f in folders if folders.count(f) > 1})
    if twice:
        raise PersonsegError(f"{', '.join(twice)}: given twice as training data; each folder once")
    missing = [str(root) for root in roots if not Path(root).is_dir()]
    if missing:
        raise PersonsegError(f"{', '.join(missing)}: no such folder")
    wanted = spec(model)
    ids = {root: split_ids(root, split) for root in roots}   # a split refused before any folder's work
    # every folder's pairs read (and refused) before any keypoints or mattes are made, which take minutes
    loaded = {root: load_pairs(root, split) for root in roots
              if not (wanted.overlaps and (Path(root) / ANNOTATIONS).is_file())}
    if loaded and not any(m.any() for part in loaded.values() for m in part.masks):
        raise PersonsegError(f"every mask in {', '.join(str(r) for r in loaded)} is empty: nothing to learn (a mask "
                             "marks the person brighter than mid-grey, or in any colour, on black)")
    pairs = PairSet([], [], [])
    found: list = []   # everyone's keypoints in each pair, for models trained on overlaps
    real = PairSet([], [], [])   # the person model's pairs of real people, and each one's photo
    photos: list[str] = []
    for root in roots:
        name = f"{root.resolve().name}-{split or 'all'}"
        if wanted.overlaps and (Path(root) / ANNOTATIONS).is_file():
            part, of = person_pairs(Path(root) / ANNOTATIONS, ids[root], wanted.priors, model,
                                    cache / f"people-{name}.json", log=log)
            real = PairSet(real.ids + part.ids, real.images + part.images, real.masks + part.masks)
            photos += of
            continue
        part = loaded[root]
        if wanted.priors:
            people = pose_keypoints(part, cache / f"keypoints-{name}.json", log=log)
            if wanted.overlaps:
                found += people
            else:
                part = with_priors(part, wanted.priors, people)
        if wanted.guides:
            # "unrefined": since 2026-12-07 a refining method's mattes are taken before its refinement network, so
            # the files of earlier runs (named without it) are not read back as these
            mattes = coarse_mattes(part, coarse, cache / f"mattes-{coarse}-unrefined-{name}.npz", log=log)
            part = with_guides(part, wanted.guides, mattes)
        pairs = PairSet(pairs.ids + [f"{Path(root).absolute().name}/{i}" for i in part.ids], pairs.images + part.images,
                        pairs.masks + part.masks)
    # (the person model may learn from real people alone: no single-person pairs to make scenes of)
    val_idx, trn_idx = validation_split(len(pairs), val_fraction, seed) if len(pairs) or not photos else ([], [])

    def subset(idx: list[int]) -> PairSet:
        return PairSet([pairs.ids[i] for i in idx], [pairs.images[i] for i in idx], [pairs.masks[i] for i in idx])

    val, trn = subset(val_idx), subset(trn_idx)
    if wanted.overlaps:
        if len(pairs):
            val = overlap_pairs(val, [found[i] for i in val_idx], len(val), wanted.priors, seed)
            trn = overlap_pairs(trn, [found[i] for i in trn_idx], len(trn), wanted.priors, seed)
        if photos:   # real people's pairs, their photos held out whole
            names = sorted(set(photos))
            if len(names) < 2:
                raise PersonsegError(f"people found on {len(names)} photo of a folder with a mask per person: "
                                     "too few to hold photos out for validation")
            held = {names[i] for i in validation_split(len(names), val_fraction, seed)[0]}
            for k, photo in enumerate(photos):
                into = val if photo in held else trn
                into.ids.append(real.ids[k])
                into.images.append(real.images[k])
                into.masks.append(real.masks[k])
        augment = replace(augment, composite=0.0, prior_drop=0.0)
    return trn, val, augment
