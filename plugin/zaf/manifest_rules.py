"""The checks Zendesk's app validator applies to manifest.json, as pure functions over the package's files.

`validate_app(files)` takes every file of the package (relative path -> bytes) and returns what is wrong,
the package-level file checks (translations, logos) included. Rule codes and sources: `violations.py`.
"""

import re
from collections.abc import Iterator, Mapping
from typing import Any

from plugin.zaf.file_rules import VALID_LOCALE, DuplicateKeyError, file_violations, parse_json_object
from plugin.zaf.location_rules import location_violations
from plugin.zaf.violations import Violation, violation

AppFiles = Mapping[str, bytes]

MANIFEST = "manifest.json"
# zas Manifest::RUBY_TO_JSON: the only top-level keys Zendesk reads.
KNOWN_KEYS = frozenset(
    [
        "requirementsOnly",
        "marketingOnly",
        "version",
        "author",
        "name",
        "experiments",
        "frameworkVersion",
        "singleInstall",
        "signedUrls",
        "noTemplate",
        "defaultLocale",
        "location",
        "private",
        "oauth",
        "parameters",
        "domainWhitelist",
        "remoteInstallationURL",
        "termsConditionsURL",
        "gaID",
    ]
)
BOOLEAN_KEYS = ("requirementsOnly", "marketingOnly", "singleInstall", "signedUrls", "private")
STRING_KEYS = (
    "defaultLocale",
    "version",
    "frameworkVersion",
    "remoteInstallationURL",
    "termsConditionsURL",
    "gaID",
)
PARAMETER_TYPES = frozenset(["text", "password", "checkbox", "url", "number", "multiline", "hidden", "oauth"])
SERVED_FRAMEWORK_VERSIONS = ("1.0", "2.0")
WHITELISTED_EXPERIMENTS = frozenset({"hashParams", "newCssCompiler"})
OAUTH_REQUIRED_FIELDS = ("client_id", "client_secret", "authorize_uri", "access_token_uri")
SECURABLE_NAME = re.compile("token|key|pwd|password", re.IGNORECASE)
HOST_NAME = re.compile(
    r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\Z"
)


def validate_app(files: AppFiles) -> tuple[Violation, ...]:
    """Everything Zendesk would refuse (errors) or flag (warnings) in this package."""
    if MANIFEST not in files:
        nested = sorted(path for path in files if path.count("/") == 1 and path.endswith("/" + MANIFEST))
        if nested:
            return (
                violation(
                    "nested_manifest", f"manifest.json is at {nested[0]}; zip the app folder's contents"
                ),
            )
        return (violation("missing_manifest", "the package has no manifest.json at its root"),)
    try:
        manifest = parse_json_object(files[MANIFEST])
    except DuplicateKeyError as error:
        return (violation("duplicate_manifest_keys", f"manifest.json repeats the key {error.args[0]!r}"),)
    except ValueError as error:
        return (violation("manifest_not_json", f"manifest.json is not a JSON object: {error}"),)
    return (*_manifest_violations(manifest, files), *file_violations(manifest, files))


def _manifest_violations(manifest: dict[str, Any], files: AppFiles) -> Iterator[Violation]:
    for key in sorted(set(manifest) - KNOWN_KEYS):
        yield violation(
            "unknown_manifest_key", f"manifest.json has the key {key!r}, which Zendesk does not read"
        )
    yield from _type_checks(manifest)
    yield from _required_keys(manifest)
    yield from _default_locale(manifest, files)
    yield from _parameters(manifest)
    yield from _domain_whitelist(manifest)
    special = manifest.get("requirementsOnly") is True or manifest.get("marketingOnly") is True
    if special:
        if "location" in manifest:
            yield violation(
                "no_location_required", "requirements-only and marketing-only apps take no location"
            )
        if "frameworkVersion" in manifest:
            yield violation("no_framework_version_required", "this kind of app takes no frameworkVersion")
        if manifest.get("requirementsOnly") is True and "requirements.json" not in files:
            yield violation(
                "missing_location_and_requirements", "a requirements-only app needs requirements.json"
            )
    else:
        yield from _framework_version(manifest)
        parameters = {p["name"]: p for p in _parameter_list(manifest)}
        yield from location_violations(manifest.get("location"), files, parameters)


def _type_checks(manifest: dict[str, Any]) -> Iterator[Violation]:
    for key in BOOLEAN_KEYS:
        if key in manifest and not isinstance(manifest[key], bool):
            yield violation("unacceptable_boolean", f"{key} must be true or false, not {manifest[key]!r}")
    for key in STRING_KEYS:
        if key in manifest and not isinstance(manifest[key], str):
            yield violation("unacceptable_string", f"{key} must be a string, not {manifest[key]!r}")
    author = manifest.get("author")
    if author is not None:
        if not isinstance(author, dict) or not all(isinstance(author.get(f), str) for f in ("name", "email")):
            yield violation("invalid_author", "author must be an object with string name and email")
        elif author.get("url") is not None:
            yield from _http_url(author["url"], "author url")
    if manifest.get("termsConditionsURL") is not None:
        yield from _http_url(manifest["termsConditionsURL"], "termsConditionsURL")
    experiments = manifest.get("experiments", {})
    if not isinstance(experiments, dict):
        yield violation("unacceptable_hash", "experiments must be an object")
    else:
        for name in sorted(k for k, on in experiments.items() if on and k not in WHITELISTED_EXPERIMENTS):
            yield violation("invalid_experiment", f"the experiment {name!r} is not allowed")
    if manifest.get("marketingOnly") is True:
        if manifest.get("private", True) is not False:
            yield violation(
                "marketing_only_app_cant_be_private", "a marketing-only app must set private: false"
            )
        if manifest.get("parameters"):
            yield violation("no_parameters_required", "a marketing-only app takes no parameters")


def _http_url(value: object, label: str) -> Iterator[Violation]:
    if not isinstance(value, str) or not re.match(r"^https?://", value):
        yield violation("invalid_url", f"{label} must start with http:// or https://, not {value!r}")


def _required_keys(manifest: dict[str, Any]) -> Iterator[Violation]:
    required = ["author", "defaultLocale"]
    if manifest.get("requirementsOnly") is not True and manifest.get("marketingOnly") is not True:
        required += ["location", "frameworkVersion"]
    missing = [key for key in required if manifest.get(key) is None]
    if missing:
        yield violation("missing_manifest_keys", f"manifest.json lacks {', '.join(missing)}")


def _default_locale(manifest: dict[str, Any], files: AppFiles) -> Iterator[Violation]:
    locale = manifest.get("defaultLocale")
    if not isinstance(locale, str):
        return
    if not VALID_LOCALE.match(locale):
        yield violation(
            "invalid_default_locale", f"defaultLocale {locale!r} is not a locale like 'en' or 'pt-br'"
        )
    elif f"translations/{locale}.json" not in files:
        yield violation(
            "missing_translation_file",
            f"defaultLocale is {locale!r} but translations/{locale}.json is missing",
        )


def _framework_version(manifest: dict[str, Any]) -> Iterator[Violation]:
    version = manifest.get("frameworkVersion")
    if not isinstance(version, str):
        return
    if version not in SERVED_FRAMEWORK_VERSIONS:
        served = ", ".join(SERVED_FRAMEWORK_VERSIONS)
        yield violation("invalid_version", f"frameworkVersion {version!r} is not served; use one of {served}")
    elif version != "2.0":
        yield violation(
            "iframe_only", "this package is an iframe (ZAF v2) app; set frameworkVersion to '2.0'"
        )
    no_template = manifest.get("noTemplate")
    if no_template is True or (isinstance(no_template, list) and no_template):
        yield violation("no_template_deprecated_in_v2", "noTemplate does not apply to v2 apps; remove it")


def _parameter_list(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    parameters = manifest.get("parameters")
    if not isinstance(parameters, list):
        return []
    return [p for p in parameters if isinstance(p, dict) and isinstance(p.get("name"), str) and p["name"]]


def _parameters(manifest: dict[str, Any]) -> Iterator[Violation]:
    raw = manifest.get("parameters")
    if raw is None:
        return
    if not isinstance(raw, list):
        yield violation("parameters_not_an_array", "parameters must be an array")
        return
    parameters = _parameter_list(manifest)
    if len(parameters) != len(raw):
        yield violation("invalid_parameter", "every parameter must be an object with a non-empty string name")
    names = [p["name"] for p in parameters]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        yield violation("duplicate_parameters", f"parameter names repeat: {', '.join(duplicates)}")
    if "name" in names:
        yield violation("name_as_parameter_name", "a parameter cannot be called 'name'")
    for parameter in parameters:
        yield from _parameter(parameter)
    if sum(1 for p in parameters if p.get("type") == "oauth") > 1:
        yield violation("too_many_oauth_parameters", "only one parameter may have the type 'oauth'")
    yield from _oauth(manifest, parameters)


def _parameter(parameter: dict[str, Any]) -> Iterator[Violation]:
    name = parameter["name"]
    kind = parameter.get("type", "text")
    secure = parameter.get("secure", False)
    for flag in ("required", "secure"):
        if flag in parameter and not isinstance(parameter[flag], bool):
            yield violation("unacceptable_boolean", f"parameters.{name}.{flag} must be true or false")
    if not isinstance(kind, str) or kind not in PARAMETER_TYPES:
        allowed = ", ".join(sorted(PARAMETER_TYPES))
        yield violation(
            "invalid_type_parameter", f"parameter {name!r} has the type {kind!r}; allowed: {allowed}"
        )
    if kind == "hidden" and parameter.get("required") is True:
        yield violation("invalid_hidden_parameter", f"hidden parameter {name!r} cannot be required")
    if kind == "hidden" and secure is True:
        yield violation(
            "secure_parameter_hidden", f"secure parameter {name!r} cannot be hidden: no admin could set it"
        )
    if kind == "oauth" and secure is True:
        yield violation("oauth_parameter_cannot_be_secure", f"oauth parameter {name!r} cannot be secure")
    scopes = parameter.get("scopes")
    if scopes is not None and not (
        isinstance(scopes, list) and scopes and all(isinstance(s, str) and s for s in scopes)
    ):
        yield violation(
            "invalid_parameter_scopes", f"parameters.{name}.scopes must be a non-empty array of strings"
        )
    if SECURABLE_NAME.search(name) and kind in ("text", "password") and secure is not True:
        yield violation("insecure_token_parameter", f"parameter {name!r} looks like a secret; mark it secure")
    if secure is True and not scopes:
        yield violation("secure_parameter_without_scopes", f"secure parameter {name!r} declares no scopes")
    if "default" in parameter and (secure is True or kind == "hidden"):
        yield violation(
            "default_secure_or_hidden_parameter", f"parameter {name!r} is secure or hidden yet has a default"
        )


def _oauth(manifest: dict[str, Any], parameters: list[dict[str, Any]]) -> Iterator[Violation]:
    oauth = manifest.get("oauth")
    if not oauth:
        return
    missing = [key for key in OAUTH_REQUIRED_FIELDS if not isinstance(oauth, dict) or not oauth.get(key)]
    if missing:
        yield violation("oauth_keys_missing", f"oauth lacks {', '.join(missing)}")
    if not any(p.get("type") == "oauth" for p in parameters):
        yield violation("oauth_parameter_required", "an oauth block needs a parameter of type 'oauth'")


def _domain_whitelist(manifest: dict[str, Any]) -> Iterator[Violation]:
    whitelist = manifest.get("domainWhitelist")
    if whitelist is not None and not (
        isinstance(whitelist, list) and all(isinstance(d, str) for d in whitelist)
    ):
        yield violation("unacceptable_array_of_strings", "domainWhitelist must be an array of strings")
        return
    for domain in whitelist or []:
        if not HOST_NAME.match(domain):
            yield violation(
                "domain_whitelist_entry_not_a_host",
                f"domainWhitelist entry {domain!r} must be a bare host name",
            )
    secure = sorted(p["name"] for p in _parameter_list(manifest) if p.get("secure") is True)
    if secure and not whitelist:
        yield violation(
            "secure_parameters_need_domain_whitelist",
            f"secure parameters ({', '.join(secure)}) are only sent to hosts listed in domainWhitelist; list one",
        )
