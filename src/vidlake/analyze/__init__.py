"""Video analysis: one frame source (:mod:`.frames`) shared by analysers (:mod:`.base`).

Analysers: :class:`~.scenes.ShotDetector` (cuts, fades, dissolves, scenes, chapters) and the quality
checks in :mod:`.quality` (black frames, frozen frames, letterbox bars). Scoring against ground truth:
:mod:`.evaluation`. Nothing here touches the database, storage or jobs: callers pass a local path.
"""

from vidlake.analyze.base import Analyser, run_analysers
from vidlake.analyze.frames import ALLOWED_FORMATS, Frame, FrameSourceError, VideoInfo, read_frames
from vidlake.analyze.quality import BlackFrameDetector, FrozenFrameDetector, LetterboxDetector
from vidlake.analyze.scenes import ShotDetector

__all__ = [
    "ALLOWED_FORMATS",
    "Analyser",
    "BlackFrameDetector",
    "Frame",
    "FrameSourceError",
    "FrozenFrameDetector",
    "LetterboxDetector",
    "ShotDetector",
    "VideoInfo",
    "read_frames",
    "run_analysers",
]
