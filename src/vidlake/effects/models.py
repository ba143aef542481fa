"""The models effects use, loaded once per process and shared.

MediaPipe 0.10.21's legacy solutions ship their TFLite models inside the wheel (nothing is
downloaded): ``face_mesh`` (468 landmarks), ``face_detection`` (BlazeFace, full range) and
``selfie_segmentation`` (person mask, landscape model at 256x144). A solution object keeps tracking
state between frames and may not be used by two threads at once, so each kind lives in a per-process
pool: a pipeline borrows one instance for its whole run (:func:`borrow`) and gives it back reset;
the next run reuses it instead of loading the model again (a load costs 20-100 ms).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_LOCK = threading.Lock()
_POOLS: dict[tuple[str, tuple[tuple[str, Any], ...]], list[Any]] = {}
#: How many instances of each kind were ever created (tests check loads are shared).
CREATED: dict[str, int] = {}


def _create(kind: str, options: dict[str, Any]) -> Any:
    import mediapipe as mp  # heavy import, kept out of module import time

    CREATED[kind] = CREATED.get(kind, 0) + 1
    if kind == "face_mesh":
        return mp.solutions.face_mesh.FaceMesh(static_image_mode=False, refine_landmarks=False,
                                               min_detection_confidence=0.5, min_tracking_confidence=0.5,
                                               **options)
    if kind == "face_detection":
        return mp.solutions.face_detection.FaceDetection(model_selection=1, **options)
    if kind == "selfie_segmentation":
        return mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1, **options)
    raise ValueError(f"unknown model {kind!r}")


@contextmanager
def borrow(kind: str, **options: Any) -> Iterator[Any]:
    """Borrow a ``kind`` model (``face_mesh``, ``face_detection``, ``selfie_segmentation``) built with
    ``options`` from the process pool; it is reset and returned to the pool afterwards."""
    key = (kind, tuple(sorted(options.items())))
    with _LOCK:
        pool = _POOLS.setdefault(key, [])
        model = pool.pop() if pool else None
    if model is None:
        model = _create(kind, options)
    try:
        yield model
    finally:
        try:
            model.reset()
        except Exception:  # a broken graph is dropped, not pooled
            model.close()
        else:
            with _LOCK:
                _POOLS.setdefault(key, []).append(model)
