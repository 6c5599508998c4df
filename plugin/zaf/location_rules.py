"""Where an app appears and what each location url may point at (pure: manifest values and file paths in)."""

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from plugin.zaf.violations import Violation, violation

# zas Location::LOCATIONS_AVAILABLE, keyed by product; legacy product names map onto the current ones.
LOCATIONS = {
    "support": frozenset(
        [
            "top_bar",
            "nav_bar",
            "ticket_sidebar",
            "new_ticket_sidebar",
            "user_sidebar",
            "organization_sidebar",
            "background",
            "modal",
            "ticket_editor",
            "system_top_bar",
            "ticket_module",
        ]
    ),
    "chat": frozenset({"chat_sidebar", "background", "nav_bar", "system_top_bar"}),
}
PRODUCT_ALIASES = {
    "support": "support",
    "zendesk": "support",
    "chat": "chat",
    "zopim": "chat",
    "sell": "sell",
}
SETTING_PLACEHOLDER = re.compile(r"\{\{\s*setting\.([A-Za-z0-9_]+)\s*\}\}")


def location_violations(
    locations: object, files: Mapping[str, bytes], parameters: Mapping[str, Mapping[str, Any]]
) -> Iterator[Violation]:
    """Location shape, products and names, and where each url may point (zas validations/manifest.rb)."""
    if locations is None:
        return
    if not isinstance(locations, dict):
        yield violation("locations_must_be_urls", "location must be an object: {product: {location: url}}")
        return
    for host, named in locations.items():
        product = PRODUCT_ALIASES.get(host)
        if product is None:
            yield violation("invalid_host", f"location product {host!r} is not support, chat or sell")
            continue
        if not isinstance(named, dict):
            yield violation("locations_must_be_urls", f"location.{host} must map location names to urls")
            continue
        known = LOCATIONS.get(product)
        for name, options in named.items():
            if known is not None and name not in known:
                yield violation("invalid_location", f"{name!r} is not a {product} location")
            yield from _location(f"{host}.{name}", options, files, parameters)


def _location(
    label: str, options: object, files: Mapping[str, bytes], parameters: Mapping[str, Mapping[str, Any]]
) -> Iterator[Violation]:
    settings = options if isinstance(options, dict) else {"url": options}
    url = settings.get("url")
    if "flexible" in settings and not isinstance(settings["flexible"], bool):
        yield violation("invalid_location_flexible_type", f"location {label}: flexible must be true or false")
    if not isinstance(url, str) or not url:
        if settings.get("autoLoad", True) is not False:
            yield violation("blank_location_uri", f"location {label} loads automatically but has no url")
        return
    placeholders = SETTING_PLACEHOLDER.findall(url)
    if placeholders:
        # Zendesk skips checking urls built from settings; check what it cannot see instead.
        for setting in placeholders:
            if setting not in parameters:
                yield violation(
                    "location_setting_unknown",
                    f"location {label} uses {{{{setting.{setting}}}}}, not a parameter",
                )
            elif parameters[setting].get("secure") is True:
                yield violation(
                    "secure_setting_in_location",
                    f"location {label} puts secure setting {setting!r} in its url",
                )
        return
    parts = urlsplit(url)
    if parts.scheme:
        valid = parts.scheme == "https" or parts.hostname == "localhost"
    else:
        valid = parts.path.startswith("assets/") and parts.path in files
    if not valid:
        yield violation(
            "invalid_location_uri",
            f"location {label} url {url!r} must be https (or localhost) or an existing assets/ file",
        )
