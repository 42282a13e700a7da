"""Segmentation scores: per-image foreground IoU, 2-class mIoU over a set, boundary F-score."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

#: Boundary match tolerance as a share of the image diagonal.
BOUNDARY_TOLERANCE = 0.01


def _bool(mask: np.ndarray) -> np.ndarray:
    return np.asarray(mask) > (127 if np.asarray(mask).dtype == np.uint8 else 0.5)


def foreground_iou(pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None = None) -> float:
    """IoU of the foregrounds outside ``ignore`` (pixels nobody is scored on); 1 when both are empty."""
    p, g = _bool(pred), _bool(gt)
    if ignore is not None:
        p, g = p & ~ignore, g & ~ignore
    union = np.logical_or(p, g).sum()
    return 1.0 if union == 0 else float(np.logical_and(p, g).sum() / union)


def boundary(mask: np.ndarray) -> np.ndarray:
    """Pixels of the foreground that touch the background (4-neighbourhood); the image edge is not a boundary."""
    m = _bool(mask).astype(np.uint8)
    eroded = cv2.erode(m, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)
    return (m - eroded).astype(bool)


def boundary_f(pred: np.ndarray, gt: np.ndarray, tolerance: float = BOUNDARY_TOLERANCE,
               ignore: np.ndarray | None = None) -> float:
    """F-score of boundary pixels matched within ``tolerance`` x image diagonal; those in ``ignore`` are not
    scored (they still match the other's)."""
    bp, bg = boundary(pred), boundary(gt)
    scored_p, scored_g = (bp, bg) if ignore is None else (bp & ~ignore, bg & ~ignore)
    if not scored_p.any() and not scored_g.any():
        return 1.0
    if not scored_p.any() or not scored_g.any():
        return 0.0
    tol = tolerance * float(np.hypot(*pred.shape[:2]))
    dist_to_gt = cv2.distanceTransform((~bg).astype(np.uint8), cv2.DIST_L2, 5)
    dist_to_pred = cv2.distanceTransform((~bp).astype(np.uint8), cv2.DIST_L2, 5)
    precision = float((dist_to_gt[scored_p] <= tol).mean())
    recall = float((dist_to_pred[scored_g] <= tol).mean())
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


@dataclass
class Scores:
    """Accumulates scores over a set of images."""

    ious: list[float] = field(default_factory=list)
    boundary_fs: list[float] = field(default_factory=list)
    confusion: np.ndarray = field(default_factory=lambda: np.zeros((2, 2), np.int64))
    #: the share of pixels marked on each image whose truth holds nobody (there IoU is 1 or 0, mIoU at most 0.5)
    marked_on_nobody: list[float] = field(default_factory=list)

    def add(self, pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None = None) -> float:
        """Score one image, outside ``ignore`` (pixels nobody is scored on, e.g. VOC's void band); returns its
        foreground IoU."""
        if pred.shape[:2] != gt.shape[:2]:
            raise ValueError(f"prediction {pred.shape[:2]} and ground truth {gt.shape[:2]} differ in size")
        p, g = _bool(pred), _bool(gt)
        gs, ps = (g.ravel(), p.ravel()) if ignore is None else (g[~ignore], p[~ignore])
        self.confusion += np.bincount(gs * 2 + ps, minlength=4).reshape(2, 2)
        iou = foreground_iou(p, g, ignore)
        self.ious.append(iou)
        self.boundary_fs.append(boundary_f(p, g, ignore=ignore))
        if not g.any():
            self.marked_on_nobody.append(float(ps.mean()) if ps.size else 0.0)
        return iou

    @property
    def mean_iou(self) -> float:
        return float(np.mean(self.ious)) if self.ious else float("nan")

    @property
    def miou_2class(self) -> float:
        c = self.confusion
        ious = [c[k, k] / max(c[k, :].sum() + c[:, k].sum() - c[k, k], 1) for k in (0, 1)]
        return float(np.mean(ious))

    @property
    def mean_boundary_f(self) -> float:
        return float(np.mean(self.boundary_fs)) if self.boundary_fs else float("nan")

    def summary(self) -> dict[str, float]:
        """The scores; where some truths hold nobody (no_people), how many of those images got any person pixel
        and the mean share of their pixels marked."""
        out = {
            "images": len(self.ious),
            "mean_iou": round(self.mean_iou, 4),
            "miou_2class": round(self.miou_2class, 4),
            "boundary_f": round(self.mean_boundary_f, 4),
        }
        if self.marked_on_nobody:
            shares = np.array(self.marked_on_nobody)
            out |= {"images_of_nobody": len(shares), "of_nobody_marked": int((shares > 0).sum()),
                    "of_nobody_share_marked": round(float(shares.mean()), 4)}
        return out


@dataclass
class Flicker:
    """Share of pixels whose predicted label changes between consecutive frames while the truth's does not."""

    changed: int = 0
    stable: int = 0
    _prev: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def add(self, pred: np.ndarray, gt: np.ndarray) -> None:
        """Take the next frame's prediction and truth."""
        p, g = _bool(pred), _bool(gt)
        if self._prev is not None and self._prev[0].shape == p.shape:
            still = self._prev[1] == g
            self.changed += int(((self._prev[0] != p) & still).sum())
            self.stable += int(still.sum())
        self._prev = (p, g)

    @property
    def value(self) -> float:
        return self.changed / self.stable if self.stable else float("nan")


#: An unmatched predicted person with at least this share of their pixels in an ignored region is not spurious.
IGNORED_SHARE = 0.5


@dataclass
class InstanceMatch:
    """People matched one to one between prediction and truth (by IoU, at least ``threshold``)."""

    ious: list[float] = field(default_factory=list)   # IoU of each matched pair
    missed: int = 0
    spurious: int = 0
    sizes: list[float] = field(default_factory=list)   # each true person's share of the image
    hits: list[bool] = field(default_factory=list)     # whether each true person was found

    def add(self, preds: list[np.ndarray], gts: list[np.ndarray], threshold: float = 0.5,
            ignore: np.ndarray | None = None) -> None:
        """``ignore``: a mask of pixels nobody is scored on (COCO's crowd regions): an unmatched prediction lying
        mostly (IGNORED_SHARE) inside it is not counted as spurious."""
        from scipy.optimize import linear_sum_assignment

        iou = np.array([[foreground_iou(p, g) for p in preds] for g in gts]).reshape(len(gts), len(preds))
        rows, cols = linear_sum_assignment(-iou) if iou.size else ((), ())
        pairs = [(r, c) for r, c in zip(rows, cols) if iou[r, c] >= threshold]
        taken = {c for _, c in pairs}
        left = [p for k, p in enumerate(preds) if k not in taken]
        if ignore is not None:
            left = [p for p in left if (p > 0).sum() == 0 or (ignore[p > 0] > 0).mean() < IGNORED_SHARE]
        self.sizes += [float((g > 0).mean()) for g in gts]
        found = {r for r, _ in pairs}
        self.hits += [k in found for k in range(len(gts))]
        self.ious += [float(iou[r, c]) for r, c in pairs]
        self.missed += len(gts) - len(pairs)
        self.spurious += len(left)

    def summary(self) -> dict[str, float]:
        found = len(self.ious)
        return {"people": found + self.missed, "found": found, "missed": self.missed, "spurious": self.spurious,
                "matched_iou": round(float(np.mean(self.ious)), 4) if self.ious else 0.0,
                # every true person counts, a missed one as 0: one number for found and how well
                "mean_iou_all": round(float(np.sum(self.ious) / max(found + self.missed, 1)), 4),
                "recall_by_size": self.recall_by_size()}

    def recall_by_size(self) -> dict[str, str]:
        """Found / all true people, by their share of the image: under 1%, 1-5%, 5% or more."""
        sizes, hits = np.array(self.sizes), np.array(self.hits, bool)
        bins = {"<1%": sizes < 0.01, "1-5%": (sizes >= 0.01) & (sizes < 0.05), ">=5%": sizes >= 0.05}
        return {name: f"{int(hits[inside].sum())}/{int(inside.sum())}" for name, inside in bins.items()}
