"""Load scripts from ``bench/`` (the corpus generators) as modules in tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def load_bench(relative: str, name: str) -> ModuleType:
    """``bench/{relative}`` imported as module ``name`` (once per process)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / relative)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def speech_corpus() -> ModuleType:
    """``bench/corpus/speech.py``: espeak-ng speech with known text, CER and WER."""
    return load_bench("corpus/speech.py", "vidlake_bench_speech")
