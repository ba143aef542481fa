"""Speech: recognition (captions in Mandarin, English and the other Whisper languages), subtitle
formats and encodings, text tracks and transcription vocabularies.

Modules: ``model`` (the Whisper model assembled from its two wheels, hash-verified), ``engine`` (one
faster-whisper load per process), ``languages`` (codes the engine takes), ``cues`` (words → caption
cues → WebVTT), ``subtitles`` (SRT/WebVTT parsing, encodings, validation), ``tracks`` (an asset's text
tracks: uploaded and generated) and ``vocabularies`` (phrases that bias recognition).
"""
