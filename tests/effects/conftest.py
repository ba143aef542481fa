"""Fixtures for the effects tests: small clips with known truth, made once per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from effects_media import FPS, composite_frames, face_frames, shaken_frames, write


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("effects-media")


@pytest.fixture(scope="session")
def face_clip(media_dir: Path) -> tuple[Path, list[np.ndarray], list[tuple[int, int, int, int]]]:
    """20 frames of the astronaut moving right; frames and face boxes (pixels)."""
    frames, boxes = face_frames(20)
    return write(media_dir / "face.mp4", frames, FPS), frames, boxes


@pytest.fixture(scope="session")
def composite_clip(media_dir: Path) -> tuple[Path, list[np.ndarray], list[np.ndarray]]:
    """24 frames of the cut-out over a slide (still from frame 14); frames and truth masks."""
    frames, masks = composite_frames(24, still_from=14)
    return write(media_dir / "composite.mp4", frames, FPS), frames, masks


@pytest.fixture(scope="session")
def shaken_clip(media_dir: Path) -> tuple[Path, np.ndarray]:
    """40 frames shaken by random offsets up to 10 px; the offsets."""
    frames, offsets = shaken_frames(40)
    return write(media_dir / "shaken.mp4", frames, FPS), offsets
