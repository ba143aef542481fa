"""Face-mesh landmark indices (MediaPipe's 468-point topology) and regions built from them.

The index sets are MediaPipe's ``FACEMESH_*`` connection sets flattened (so this module needs no
MediaPipe import). "Left"/"right" are the subject's: ``LEFT_EYE`` is on the image's right.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

FACE_OVAL = (10, 21, 54, 58, 67, 93, 103, 109, 127, 132, 136, 148, 149, 150, 152, 162, 172, 176, 234, 251,
             284, 288, 297, 323, 332, 338, 356, 361, 365, 377, 378, 379, 389, 397, 400, 454)
LEFT_EYE = (249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466)
RIGHT_EYE = (7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246)
LEFT_BROW = (276, 282, 283, 285, 293, 295, 296, 300, 334, 336)
RIGHT_BROW = (46, 52, 53, 55, 63, 65, 66, 70, 105, 107)
LIPS = (0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146, 178, 181, 185, 191, 267,
        269, 270, 291, 308, 310, 311, 312, 314, 317, 318, 321, 324, 375, 402, 405, 409, 415)
#: Jaw and cheek contour from ear to chin to ear (subject's right to left), moved by ``slim``.
JAW = (234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361, 323, 454)
#: Anchor points for stickers: forehead (upper forehead centre), nose tip, between the eyes.
FOREHEAD, NOSE_TIP, BETWEEN_EYES, CHIN = 151, 1, 168, 152
#: Outer corners of the eyes (for the face's roll angle and width).
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263
#: Cheek extremes (face width).
RIGHT_CHEEK, LEFT_CHEEK = 234, 454

Points = npt.NDArray[np.float32]
Mask = npt.NDArray[np.uint8]


def hull(points: Points, indices: tuple[int, ...]) -> npt.NDArray[np.int32]:
    """The convex hull (int pixel polygon) of ``points[indices]``."""
    pts = np.round(points[list(indices)]).astype(np.int32)
    return np.asarray(cv2.convexHull(pts), np.int32)


def region_mask(shape: tuple[int, int], points: Points, indices: tuple[int, ...], grow: float = 0.0) -> Mask:
    """A 0/255 mask of the hull of ``points[indices]``; ``grow`` scales it about its centre (0.2 = +20 %)."""
    pts = points[list(indices)]
    if grow:
        centre = pts.mean(axis=0)
        pts = centre + (pts - centre) * (1.0 + grow)
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, hull(pts, tuple(range(len(pts)))), (255,))
    return mask


def face_width(points: Points) -> float:
    """Distance between the cheek extremes (pixels)."""
    return float(np.linalg.norm(points[LEFT_CHEEK] - points[RIGHT_CHEEK]))


def roll(points: Points) -> float:
    """The face's roll in degrees (the eye line's angle to the horizontal, image coordinates)."""
    d = points[LEFT_EYE_OUTER] - points[RIGHT_EYE_OUTER]
    return float(np.degrees(np.arctan2(d[1], d[0])))
