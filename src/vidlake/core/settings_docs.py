"""The settings table of ``docs/configuration.md``, generated from the ``Settings`` model so the two
never drift (``python -m vidlake.core.settings_docs > docs/configuration.md``; a test compares)."""

from __future__ import annotations

import typing

from vidlake.core.settings import Settings

HEADER = """# Configuration

Every setting is an environment variable `VIDLAKE_<NAME>` or a key `<name>` in `vidlake.toml` (in the
working directory, or the file named by `VIDLAKE_CONFIG`). Environment variables win over the file.
Settings are checked at start: a bad value stops the command with a message naming the setting.

This page is generated from `src/vidlake/core/settings.py` by `python -m vidlake.core.settings_docs`.

| variable | type | default | meaning |
|---|---|---|---|
"""

FOOTER = """
`VIDLAKE_JOB_MODULES` is a comma-separated list. Example `vidlake.toml`:

```toml
http_host = "0.0.0.0"
database_url = "postgresql+psycopg://vidlake:secret@db/vidlake"
storage_url = "s3://media/vidlake?endpoint=http://minio:9000&region=us-east-1"
executor = "celery"
broker_url = "redis://redis:6379/0"
```

S3 credentials come from the standard AWS variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`) or
the storage URL's `access_key`/`secret_key` query parameters; `create_bucket=true` creates the bucket
on start.
"""


def _type_name(annotation: object) -> str:
    if typing.get_origin(annotation) is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if typing.get_origin(annotation) is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    return getattr(annotation, "__name__", str(annotation))


def render() -> str:
    """The whole ``docs/configuration.md``."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = f"`{default}`" if default not in ("", [], None) else "(empty)"
        rows.append(f"| `VIDLAKE_{name.upper()}` | {_type_name(field.annotation)} | {shown} | {field.description} |")
    return HEADER + "\n".join(rows) + "\n" + FOOTER


if __name__ == "__main__":
    print(render(), end="")
