"""``beautify``: portrait retouching from face-mesh landmarks.

For each face (landmarks from the shared perception, One-Euro smoothed so nothing flickers), work
happens in the face's box only, at full resolution:

* skin mask: the face-oval hull minus grown hulls of eyes, brows and lips, intersected with a
  skin-colour range (YCrCb) so hair and glasses stay out, feathered by about 2 % of the face width;
* ``smooth``: a self-guided filter (edge-preserving; He et al., box filters only) blended into the
  skin by ``smooth``: pores and noise go, the nose and jaw contours stay;
* ``brighten`` lifts skin luma by up to 20 %, ``whiten`` takes up to 40 % of its saturation away;
* ``slim`` moves the jaw/cheek contour towards the face's midline by ``slim`` x 10 % of its
  distance (a smooth displacement field from the contour points), ``eyes`` magnifies each eye
  region by up to 25 % at its centre; both are one ``cv2.remap`` of the face box.
"""

from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import Field

from vidlake.effects import landmarks as lm
from vidlake.effects.base import Frame, FrameEffect, Params, Stage
from vidlake.effects.perception import Scene
from vidlake.effects.registry import effect

#: Largest share of the contour-to-midline distance ``slim: 1`` removes.
SLIM_MAX = 0.10
#: Largest eye magnification at ``eyes: 1`` (scale at the eye centre minus 1).
EYES_MAX = 0.25
F32 = npt.NDArray[np.float32]


class BeautifyParams(Params):
    """Every parameter is 0..1, 0 meaning off: ``smooth`` (default 0.5), ``brighten`` (0.2),
    ``whiten`` (0.1), ``slim`` (0), ``eyes`` (0)."""

    smooth: float = Field(0.5, ge=0, le=1, description="skin smoothing; default 0.5")
    brighten: float = Field(0.2, ge=0, le=1, description="skin brightening; default 0.2")
    whiten: float = Field(0.1, ge=0, le=1, description="skin whitening (less saturation); default 0.1")
    slim: float = Field(0.0, ge=0, le=1, description="jaw/cheek slimming; 1 = contour 10 % inward")
    eyes: float = Field(0.0, ge=0, le=1, description="eye enlargement; 1 = 25 % larger at the centre")


def skin_mask(roi: Frame, pts: F32, face_w: float) -> F32:
    """Feathered skin weight (float32 0..1) of a face box ``roi``; ``pts`` in ``roi`` pixels."""
    shape = (roi.shape[0], roi.shape[1])
    mask = lm.region_mask(shape, pts, lm.FACE_OVAL)
    for region, grow in ((lm.LEFT_EYE, 0.6), (lm.RIGHT_EYE, 0.6), (lm.LEFT_BROW, 0.35), (lm.RIGHT_BROW, 0.35),
                         (lm.LIPS, 0.2)):
        mask &= ~lm.region_mask(shape, pts, region, grow)
    ycc = cv2.cvtColor(roi, cv2.COLOR_RGB2YCrCb)
    colour = cv2.inRange(ycc, np.array([40, 133, 77], np.uint8), np.array([255, 180, 130], np.uint8))
    mask &= np.asarray(colour, np.uint8)
    sigma = max(1.0, 0.02 * face_w)
    return np.asarray(cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), sigma), np.float32)


def guided_smooth(img: F32, radius: int, eps: float) -> F32:
    """Self-guided filter per channel (``img`` float32 0..1), computed at half resolution."""
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(2, w // 2), max(2, h // 2)), interpolation=cv2.INTER_AREA)
    r = max(1, radius // 2)
    k = (2 * r + 1, 2 * r + 1)
    mean = cv2.blur(small, k)
    var = cv2.blur(small * small, k) - mean * mean
    a = var / (var + eps)
    b = mean - a * mean
    a_up = cv2.resize(cv2.blur(a, k), (w, h), interpolation=cv2.INTER_LINEAR)
    b_up = cv2.resize(cv2.blur(b, k), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.asarray(a_up * img + b_up, np.float32)


def warp_field(shape: tuple[int, int], pts: F32, face_w: float, slim: float, eyes: float) -> tuple[F32, F32] | None:
    """Inverse maps (``map_x``, ``map_y`` for ``cv2.remap``) of the slim and eye warps, or None."""
    if slim <= 0 and eyes <= 0:
        return None
    h, w = shape
    step = 4  # the field is smooth: compute it on a coarse grid
    gy, gx = np.mgrid[0:h:step, 0:w:step].astype(np.float32)
    dx, dy = np.zeros_like(gx), np.zeros_like(gy)
    if slim > 0:
        mid = (pts[lm.NOSE_TIP] + pts[lm.CHIN]) / 2
        axis = pts[lm.CHIN] - pts[lm.BETWEEN_EYES]
        axis = axis / (np.linalg.norm(axis) + 1e-6)
        sigma2 = (0.12 * face_w) ** 2
        wsum, sx, sy = np.zeros_like(gx), np.zeros_like(gx), np.zeros_like(gx)
        for i in lm.JAW:
            p = pts[i]
            rel = p - mid
            inward = -(rel - axis * float(rel @ axis)) * SLIM_MAX * slim  # towards the midline
            wgt = np.exp(-((gx - p[0]) ** 2 + (gy - p[1]) ** 2) / (2 * sigma2))
            wsum += wgt
            sx += wgt * inward[0]
            sy += wgt * inward[1]
        norm = np.maximum(wsum, 1.0)
        dx -= sx / norm  # inverse map: sample from where the content comes from
        dy -= sy / norm
    if eyes > 0:
        for region, corner_a, corner_b in ((lm.LEFT_EYE, 263, 362), (lm.RIGHT_EYE, 33, 133)):
            centre = pts[list(region)].mean(axis=0)
            radius = 1.2 * float(np.linalg.norm(pts[corner_a] - pts[corner_b]))
            rx, ry = gx - centre[0], gy - centre[1]
            r2 = (rx * rx + ry * ry) / (radius * radius)
            shrink = np.where(r2 < 1.0, EYES_MAX * eyes * (1.0 - r2) ** 2, 0.0).astype(np.float32)
            dx -= rx * shrink / (1.0 + EYES_MAX * eyes)
            dy -= ry * shrink / (1.0 + EYES_MAX * eyes)
    full_dx = cv2.resize(dx, (w, h), interpolation=cv2.INTER_LINEAR)
    full_dy = cv2.resize(dy, (w, h), interpolation=cv2.INTER_LINEAR)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.asarray(xx + full_dx, np.float32), np.asarray(yy + full_dy, np.float32)


@effect("beautify", BeautifyParams)
class Beautify(FrameEffect):
    """Skin smoothing, brightening, whitening, slimming and eye enlargement (module docstring)."""

    stage: ClassVar[Stage] = Stage.PORTRAIT
    needs: ClassVar[frozenset[str]] = frozenset({"mesh"})
    params: BeautifyParams

    def apply(self, frame: Frame, scene: Scene) -> Frame:
        """Retouch every face in place, each within its box."""
        h, w = frame.shape[:2]
        for pts_full in scene.mesh:
            face_w = lm.face_width(pts_full)
            if face_w < 16:
                continue
            x0, y0 = np.floor(pts_full.min(axis=0) - 0.15 * face_w).astype(int)
            x1, y1 = np.ceil(pts_full.max(axis=0) + 0.15 * face_w).astype(int)
            x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
            if x1 - x0 < 8 or y1 - y0 < 8:
                continue
            roi = frame[y0:y1, x0:x1]
            pts = (pts_full - np.array([x0, y0], np.float32)).astype(np.float32)
            roi[:] = self.retouch(roi, pts, face_w)
        return frame

    def retouch(self, roi: Frame, pts: F32, face_w: float) -> Frame:
        """One face box retouched (``pts``: landmarks in box pixels)."""
        p = self.params
        out = roi
        if p.smooth > 0 or p.brighten > 0 or p.whiten > 0:
            mask = skin_mask(roi, pts, face_w)[:, :, None]
            img = roi.astype(np.float32) / 255.0
            res = img
            if p.smooth > 0:
                radius = max(2, round(0.035 * face_w))
                eps = (0.02 + 0.1 * p.smooth) ** 2
                smooth = guided_smooth(img, radius, eps)
                res = img + mask * min(1.0, 1.4 * p.smooth) * (smooth - img)
            if p.whiten > 0:
                grey = res.mean(axis=2, keepdims=True)
                res = res + mask * (0.4 * p.whiten) * (grey - res)
            if p.brighten > 0:
                res = res * (1.0 + mask * 0.2 * p.brighten)
            out = np.clip(res * 255.0 + 0.5, 0, 255).astype(np.uint8)
        maps = warp_field((roi.shape[0], roi.shape[1]), pts, face_w, p.slim, p.eyes)
        if maps is not None:
            out = np.asarray(cv2.remap(out, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
        return out
