"""What the app validator reports, and where each rule comes from.

Sources: `zas:<file>` is `lib/zendesk_apps_support/validations/<file>` in zendesk/zendesk_apps_support, the
library behind `zat validate` and Zendesk's own upload check (ZCLI uploads and lets Zendesk run it);
`docs` is Zendesk's developer documentation; `ours` is a stricter check of this project, with its reason.
Zendesk reports some findings only as warnings; they keep that severity here.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Rule:
    code: str
    source: str
    summary: str
    severity: Severity = "error"


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.severity}: [{self.rule}] {self.message}"


_RULES = (
    Rule("missing_manifest", "zas:manifest.rb", "manifest.json at the package root"),
    Rule("nested_manifest", "zas:manifest.rb", "manifest.json must not sit in a sub-folder"),
    Rule("manifest_not_json", "zas:manifest.rb", "manifest.json parses as a JSON object"),
    Rule("duplicate_manifest_keys", "zas:manifest.rb", "no key appears twice in one JSON object"),
    Rule("unknown_manifest_key", "ours", "top-level keys are ones Zendesk reads (it ignores typos silently)"),
    Rule("missing_manifest_keys", "zas:manifest.rb", "author, defaultLocale, location, frameworkVersion"),
    Rule("invalid_author", "docs", "author is an object with a name and an email"),
    Rule("unacceptable_boolean", "zas:manifest.rb", "boolean fields hold true or false"),
    Rule("unacceptable_string", "zas:manifest.rb", "string fields hold strings"),
    Rule("invalid_url", "zas:manifest.rb", "author url and termsConditionsURL start with http(s)://"),
    Rule("unacceptable_hash", "zas:manifest.rb", "experiments is an object"),
    Rule("invalid_experiment", "zas:marketplace.rb", "only whitelisted experiments are enabled"),
    Rule("invalid_default_locale", "zas:manifest.rb", "defaultLocale looks like en or pt-br"),
    Rule("missing_translation_file", "zas:manifest.rb", "translations/<defaultLocale>.json exists"),
    Rule("invalid_version", "zas:manifest.rb", "frameworkVersion is one Zendesk serves"),
    Rule("iframe_only", "ours", "frameworkVersion 2.0: v1 apps need app.js checks this validator lacks"),
    Rule("no_template_deprecated_in_v2", "zas:manifest.rb", "noTemplate is not used by v2 apps"),
    Rule("locations_must_be_urls", "zas:manifest.rb", "v2 locations are objects keyed by product"),
    Rule("invalid_host", "zas:manifest.rb", "location products are support, chat or sell"),
    Rule("invalid_location", "zas:manifest.rb", "location names exist for their product"),
    Rule("blank_location_uri", "zas:manifest.rb", "an auto-loaded location has a url"),
    Rule(
        "invalid_location_uri",
        "zas:manifest.rb",
        "absolute https (or localhost), or assets/<file> that exists",
    ),
    Rule("invalid_location_flexible_type", "zas:manifest.rb", "flexible is a boolean"),
    Rule("location_setting_unknown", "ours", "{{setting.x}} in a location url names a declared parameter"),
    Rule("secure_setting_in_location", "ours", "secure settings never go into a browser-visible url"),
    Rule(
        "no_location_required",
        "zas:manifest.rb",
        "requirements-only and marketing-only apps have no location",
    ),
    Rule("no_framework_version_required", "zas:manifest.rb", "nor a frameworkVersion"),
    Rule("marketing_only_app_cant_be_private", "zas:manifest.rb", "a marketing-only app is public"),
    Rule("no_parameters_required", "zas:manifest.rb", "a marketing-only app has no parameters"),
    Rule("parameters_not_an_array", "zas:manifest.rb", "parameters is an array"),
    Rule("invalid_parameter", "ours", "each parameter is an object with a non-empty string name"),
    Rule("duplicate_parameters", "zas:manifest.rb", "parameter names are unique"),
    Rule("name_as_parameter_name", "zas:manifest.rb", "no parameter is called 'name'"),
    Rule(
        "invalid_type_parameter",
        "zas:manifest.rb",
        "types: text password checkbox url number multiline hidden oauth",
    ),
    Rule("invalid_hidden_parameter", "zas:manifest.rb", "a hidden parameter cannot be required"),
    Rule("secure_parameter_hidden", "ours", "a secure parameter must be visible so an admin can enter it"),
    Rule("too_many_oauth_parameters", "zas:manifest.rb", "at most one oauth parameter"),
    Rule("oauth_parameter_cannot_be_secure", "zas:manifest.rb", "an oauth parameter is not secure"),
    Rule(
        "oauth_keys_missing",
        "zas:manifest.rb",
        "oauth has client_id, client_secret, authorize_uri, access_token_uri",
    ),
    Rule("oauth_parameter_required", "zas:manifest.rb", "an oauth block needs an oauth parameter"),
    Rule("invalid_parameter_scopes", "ours", "scopes is a non-empty array of strings"),
    Rule("unacceptable_array_of_strings", "zas:manifest.rb", "domainWhitelist is an array of strings"),
    Rule("domain_whitelist_entry_not_a_host", "ours", "whitelist entries are bare host names"),
    Rule(
        "secure_parameters_need_domain_whitelist",
        "docs",
        "Zendesk only substitutes secure settings in requests to whitelisted domains",
    ),
    Rule(
        "insecure_token_parameter",
        "zas:secure_settings.rb",
        "a token/key/password parameter is secure",
        "warning",
    ),
    Rule(
        "secure_parameter_without_scopes",
        "zas:secure_settings.rb",
        "a secure parameter declares scopes",
        "warning",
    ),
    Rule(
        "default_secure_or_hidden_parameter",
        "zas:secure_settings.rb",
        "secure or hidden parameters carry no default",
        "warning",
    ),
    Rule("missing_location_and_requirements", "zas:package.rb", "an app has a location or requirements"),
    Rule("translation_invalid_locale", "zas:translations.rb", "translation file names are locales"),
    Rule("translation_not_json", "zas:translations.rb", "translation files are JSON objects"),
    Rule(
        "translation_missing_required_key",
        "zas:translations.rb",
        "en.json app.name (+ listing texts if public)",
    ),
    Rule("translation_missing_label", "zas:translations.rb", "app.parameters.<name> carries a label"),
    Rule(
        "default_locale_missing_description",
        "ours",
        "the default locale has app.name and a short description",
    ),
    Rule("parameter_without_label", "ours", "every parameter has a label in the default locale", "warning"),
    Rule("missing_required_file", "docs", "assets/logo.png, assets/logo-small.png, translations/en.json"),
    Rule("invalid_logo", "docs", "logo.png is a 320x320 PNG, logo-small.png a 128x128 PNG"),
    Rule("invalid_banner", "zas:banner.rb", "assets/banner.png is an 830x200 or 1660x400 PNG"),
    Rule(
        "unsafe_svg",
        "zas:svg.rb",
        "SVGs carry no scripts, handlers or bitmaps (Zendesk rewrites them)",
        "warning",
    ),
    Rule("symlink_in_package", "zas:marketplace.rb", "no symbolic links in the package"),
    Rule("unreadable_package", "ours", "the package directory or zip can be read"),
)

RULES: dict[str, Rule] = {rule.code: rule for rule in _RULES}


def violation(code: str, message: str) -> Violation:
    return Violation(code, message, RULES[code].severity)


def errors(violations: Iterable[Violation]) -> tuple[Violation, ...]:
    return tuple(found for found in violations if found.severity == "error")
