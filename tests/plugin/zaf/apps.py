"""Copies of the repository's Zendesk app, in memory, to break one rule at a time."""

import json
import struct
import zlib
from collections.abc import Callable
from typing import Any

from plugin.zaf.package import DEFAULT_APP_ROOT, collect_app_files

Manifest = dict[str, Any]


def repo_app() -> dict[str, bytes]:
    files, problems = collect_app_files(DEFAULT_APP_ROOT)
    assert problems == ()
    return files


def with_manifest(change: Callable[[Manifest], None]) -> dict[str, bytes]:
    files = repo_app()
    manifest = json.loads(files["manifest.json"])
    change(manifest)
    return {**files, "manifest.json": json.dumps(manifest).encode()}


def with_translation(
    change: Callable[[Manifest], None], path: str = "translations/en.json"
) -> dict[str, bytes]:
    files = repo_app()
    translations = json.loads(files[path])
    change(translations)
    return {**files, path: json.dumps(translations).encode()}


def parameter(manifest: Manifest, name: str) -> dict[str, Any]:
    return next(p for p in manifest["parameters"] if p["name"] == name)


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80\x80\x80\xff" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
