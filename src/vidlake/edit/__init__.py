"""Cloud editing: a timeline document (JSON) validated and compiled into ONE ffmpeg filter graph.

::

    data = json.load(...)                          # {"timeline": ..., "output": ...}
    validated = validate_edit(data, resolver)      # raises EditValidationError(errors=[FieldError...])
    compiled = compile_edit(validated, "out.mp4")  # .argv, .filter_graph, .duration_s, .width ...
    render(validated, "out.mp4", preview=True, on_progress=print)   # compiles once, one ffmpeg

Templates: :func:`apply_template` / :func:`substitute` fill ``{{placeholders}}``.
See docs/editing.md for the format.
"""

from vidlake.edit.compiler import PREVIEW_ENCODING, CompiledEdit, Encoding, compile_edit
from vidlake.edit.fonts import FONT_FILES, FontNotFoundError, font_path
from vidlake.edit.render import RenderResult, render
from vidlake.edit.templates import TemplateError, apply_template, placeholders, substitute
from vidlake.edit.timeline import Clip, Edit, Output, Timeline, Track, edit_json_schema
from vidlake.edit.validate import (
    EditValidationError,
    FieldError,
    Limits,
    ResolveError,
    Resolver,
    SourceInfo,
    ValidatedEdit,
    find_errors,
    validate_edit,
)

__all__ = [
    "FONT_FILES",
    "PREVIEW_ENCODING",
    "Clip",
    "CompiledEdit",
    "Edit",
    "EditValidationError",
    "Encoding",
    "FieldError",
    "FontNotFoundError",
    "Limits",
    "Output",
    "RenderResult",
    "ResolveError",
    "Resolver",
    "SourceInfo",
    "TemplateError",
    "Timeline",
    "Track",
    "ValidatedEdit",
    "apply_template",
    "compile_edit",
    "edit_json_schema",
    "find_errors",
    "font_path",
    "placeholders",
    "render",
    "substitute",
    "validate_edit",
]
