"""Building the zip Zendesk takes as an app upload: manifest.json, translations/ and assets/, validated first."""

import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from plugin.core.errors import InvalidPayload
from plugin.zaf.file_rules import parse_json_object
from plugin.zaf.manifest_rules import MANIFEST, validate_app
from plugin.zaf.violations import Violation, errors, violation

DEFAULT_APP_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PACKAGE_PATH = Path("dist/outcomedesk-app.zip")
PACKAGE_FOLDERS = ("translations", "assets")
# A fixed timestamp and mode make two builds of the same files byte-identical.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o100644 << 16


class AppPackageInvalid(InvalidPayload):
    def __init__(self, violations: tuple[Violation, ...]) -> None:
        super().__init__("; ".join(found.message for found in violations))
        self.violations = violations


@dataclass(frozen=True)
class BuiltPackage:
    path: Path
    files: tuple[str, ...]
    warnings: tuple[Violation, ...]


def collect_app_files(root: Path) -> tuple[dict[str, bytes], tuple[Violation, ...]]:
    """The files that go into the upload (hidden files left out), and what stops them from being read."""
    files: dict[str, bytes] = {}
    problems: list[Violation] = []
    candidates = [root / MANIFEST] + [
        path for folder in PACKAGE_FOLDERS for path in sorted((root / folder).rglob("*"))
    ]
    for path in candidates:
        relative = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in relative.split("/")):
            continue
        if path.is_symlink():
            problems.append(violation("symlink_in_package", f"{relative} is a symbolic link; copy the file"))
        elif path.is_file():
            try:
                files[relative] = path.read_bytes()
            except OSError as error:
                problems.append(
                    violation("unreadable_package", f"{relative} cannot be read: {error.strerror}")
                )
    return files, tuple(problems)


def check_app(root: Path) -> tuple[Violation, ...]:
    """Everything wrong with the app folder at `root`, errors and warnings."""
    files, problems = collect_app_files(root)
    return (*problems, *validate_app(files))


def with_backend_host(files: dict[str, bytes], backend_url: str) -> dict[str, bytes]:
    """The files with domainWhitelist set to the backend's host, so Zendesk sends secure settings only there."""
    parts = urlsplit(backend_url)
    local = parts.hostname in ("localhost", "127.0.0.1")
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
        raise AppPackageInvalid(
            (
                violation(
                    "domain_whitelist_entry_not_a_host", f"backend url {backend_url!r} must be https://<host>"
                ),
            )
        )
    try:
        manifest = parse_json_object(files[MANIFEST])
    except (KeyError, ValueError):
        return files
    manifest["domainWhitelist"] = [parts.hostname]
    return {**files, MANIFEST: (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()}


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = ZIP_FILE_MODE
            archive.writestr(info, files[name])
    return buffer.getvalue()


def read_package(path: Path) -> dict[str, bytes]:
    """The files inside an upload zip, keyed by their path in the archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            return {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    except (OSError, zipfile.BadZipFile) as error:
        raise AppPackageInvalid(
            (violation("unreadable_package", f"{path} is not a readable zip: {error}"),)
        ) from error


def build_package(root: Path, out: Path, *, backend_url: str | None = None) -> BuiltPackage:
    """Validate the app at `root`, write its upload zip to `out`, and validate the zip as written."""
    files, problems = collect_app_files(root)
    if backend_url is not None:
        files = with_backend_host(files, backend_url)
    found = (*problems, *validate_app(files))
    if errors(found):
        raise AppPackageInvalid(errors(found))
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_bytes(zip_bytes(files))
    os.replace(partial, out)
    rechecked = errors(validate_app(read_package(out)))
    if rechecked:
        raise AppPackageInvalid(rechecked)
    return BuiltPackage(path=out, files=tuple(sorted(files)), warnings=found)
