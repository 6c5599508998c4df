"""The package-file checks: translation files, logos, banner and SVG icons (pure: paths and bytes in)."""

import json
import re
import struct
from collections.abc import Iterator, Mapping
from typing import Any

from plugin.zaf.violations import Violation, violation

TRANSLATION_PATH = re.compile(r"^translations/(.*)\.json$")
VALID_LOCALE = re.compile(r"^[a-z]{2}(-\w{2,3})?$")
PRODUCT_KEYS = ("support", "chat", "sell")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LOGOS = {"assets/logo.png": (320, 320), "assets/logo-small.png": (128, 128)}
BANNER = "assets/banner.png"
BANNER_SIZES = ((830, 200), (1660, 400))
REQUIRED_FILES = (*LOGOS, "translations/en.json")
UNSAFE_SVG = re.compile(rb"<script|<image|<foreignObject|\son[a-z]+\s*=|javascript:", re.IGNORECASE)


class DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKeyError(key)
        seen[key] = value
    return seen


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Parse like Zendesk does (a repeated key is an error); raises ValueError on anything but an object."""
    value = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, found {type(value).__name__}")
    return value


def png_size(raw: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk, or None when the bytes are not a PNG."""
    if len(raw) < 24 or not raw.startswith(PNG_SIGNATURE) or raw[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", raw[16:24])
    return width, height


def file_violations(manifest: Mapping[str, Any], files: Mapping[str, bytes]) -> Iterator[Violation]:
    for path in REQUIRED_FILES:
        if path not in files:
            yield violation("missing_required_file", f"the package needs {path}")
    yield from _images(files)
    yield from _translations(manifest, files)


def _images(files: Mapping[str, bytes]) -> Iterator[Violation]:
    for path, expected in LOGOS.items():
        if path not in files:
            continue
        size = png_size(files[path])
        if size != expected:
            found = "not a PNG" if size is None else f"{size[0]}x{size[1]}"
            yield violation(
                "invalid_logo", f"{path} must be a {expected[0]}x{expected[1]} PNG, found {found}"
            )
    if BANNER in files and png_size(files[BANNER]) not in BANNER_SIZES:
        yield violation("invalid_banner", f"{BANNER} must be an 830x200 or 1660x400 PNG")
    for path in sorted(p for p in files if p.startswith("assets/") and p.endswith(".svg")):
        if UNSAFE_SVG.search(files[path]):
            yield violation(
                "unsafe_svg", f"{path} has scripts, event handlers or bitmaps; Zendesk will rewrite it"
            )


def _translations(manifest: Mapping[str, Any], files: Mapping[str, bytes]) -> Iterator[Violation]:
    parsed: dict[str, dict[str, Any]] = {}
    for path in sorted(files):
        match = TRANSLATION_PATH.match(path)
        if not match:
            continue
        if not VALID_LOCALE.match(match.group(1)):
            yield violation(
                "translation_invalid_locale", f"{path} is not named after a locale like en or pt-br"
            )
            continue
        try:
            parsed[path] = parse_json_object(files[path])
        except (ValueError, UnicodeDecodeError) as error:
            yield violation("translation_not_json", f"{path} is not a JSON object: {error}")
            continue
        yield from _labels(path, parsed[path])
    english = parsed.get("translations/en.json")
    if english is not None:
        yield from _listing_keys(
            "translations/en.json", english, private=manifest.get("private", True) is not False
        )
    locale = manifest.get("defaultLocale")
    default = parsed.get(f"translations/{locale}.json") if isinstance(locale, str) else None
    if default is not None:
        yield from _default_locale_texts(f"translations/{locale}.json", default, manifest)


def _app_node(translations: Mapping[str, Any]) -> dict[str, Any]:
    app = translations.get("app")
    return app if isinstance(app, dict) else {}


def _labels(path: str, translations: Mapping[str, Any]) -> Iterator[Violation]:
    parameters = _app_node(translations).get("parameters")
    if not isinstance(parameters, dict):
        return
    for name, node in parameters.items():
        if not isinstance(node, dict) or "label" not in node:
            yield violation("translation_missing_label", f"{path}: app.parameters.{name} needs a label")


def _listing_keys(path: str, translations: Mapping[str, Any], *, private: bool) -> Iterator[Violation]:
    # Zendesk lists only the name of a private app; a public app's listing needs all four texts.
    mandatory = (
        ["name"]
        if private
        else ["name", "short_description", "installation_instructions", "long_description"]
    )
    app = _app_node(translations)
    products = [key for key in PRODUCT_KEYS if isinstance(app.get(key), dict)]
    for scope, node in [(f"app.{p}", app[p]) for p in products] or [("app", app)]:
        present = {"short_description" if key == "description" else key for key in node}
        missing = [key for key in mandatory if key not in present]
        if missing:
            yield violation("translation_missing_required_key", f"{path}: {scope} lacks {', '.join(missing)}")


def _default_locale_texts(
    path: str, translations: Mapping[str, Any], manifest: Mapping[str, Any]
) -> Iterator[Violation]:
    app = _app_node(translations)
    if not isinstance(app.get("name"), str) or not (
        isinstance(app.get("short_description"), str) or isinstance(app.get("description"), str)
    ):
        yield violation(
            "default_locale_missing_description",
            f"{path} needs app.name and app.short_description (or app.description) for the admin listing",
        )
    labels = app.get("parameters")
    labels = labels if isinstance(labels, dict) else {}
    parameters = manifest.get("parameters")
    for parameter in parameters if isinstance(parameters, list) else []:
        name = parameter.get("name") if isinstance(parameter, dict) else None
        if isinstance(name, str) and parameter.get("type") != "hidden" and name not in labels:
            yield violation("parameter_without_label", f"{path} has no app.parameters.{name}.label")
