import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugin.zaf.manifest_rules import KNOWN_KEYS, validate_app
from plugin.zaf.violations import RULES
from tests.plugin.zaf.apps import parameter, png, repo_app, with_manifest, with_translation


def rules_of(files: dict[str, bytes]) -> set[str]:
    return {found.rule for found in validate_app(files)}


def without(*paths: str) -> dict[str, bytes]:
    return {path: data for path, data in repo_app().items() if path not in paths}


def with_file(path: str, data: bytes) -> dict[str, bytes]:
    return {**repo_app(), path: data}


def set_key(key, value):
    return with_manifest(lambda manifest: manifest.__setitem__(key, value))


def drop_key(key):
    return with_manifest(lambda manifest: manifest.pop(key))


def set_location(name, options):
    return with_manifest(lambda manifest: manifest["location"]["support"].__setitem__(name, options))


def set_parameter(name, **fields):
    return with_manifest(lambda manifest: parameter(manifest, name).update(fields))


def add_parameter(**fields):
    return with_manifest(lambda manifest: manifest["parameters"].append(fields))


def nested_manifest():
    files = repo_app()
    return {
        **{k: v for k, v in files.items() if k != "manifest.json"},
        "app/manifest.json": files["manifest.json"],
    }


def duplicate_key():
    raw = (
        repo_app()["manifest.json"].decode().replace('"private": true,', '"private": true, "private": false,')
    )
    return with_file("manifest.json", raw.encode())


def two_oauth_parameters():
    def change(manifest):
        manifest["oauth"] = {
            k: "x" for k in ("client_id", "client_secret", "authorize_uri", "access_token_uri")
        }
        manifest["parameters"] += [{"name": "one", "type": "oauth"}, {"name": "two", "type": "oauth"}]

    return with_manifest(change)


def public_listing_without_long_description():
    files = with_translation(lambda t: t["app"].pop("long_description"))
    manifest = json.loads(files["manifest.json"])
    manifest["private"] = False
    return {**files, "manifest.json": json.dumps(manifest).encode()}


BROKEN = [
    ("no_manifest", lambda: without("manifest.json"), "missing_manifest"),
    ("manifest_in_a_sub_folder", nested_manifest, "nested_manifest"),
    ("manifest_not_json", lambda: with_file("manifest.json", b"{not json"), "manifest_not_json"),
    ("manifest_is_a_list", lambda: with_file("manifest.json", b"[]"), "manifest_not_json"),
    ("repeated_manifest_key", duplicate_key, "duplicate_manifest_keys"),
    ("misspelt_top_level_key", lambda: set_key("signedURLs", True), "unknown_manifest_key"),
    ("no_author", lambda: drop_key("author"), "missing_manifest_keys"),
    ("author_without_email", lambda: set_key("author", {"name": "x"}), "invalid_author"),
    (
        "author_url_not_http",
        lambda: set_key("author", {"name": "x", "email": "e", "url": "ftp://x"}),
        "invalid_url",
    ),
    ("no_default_locale", lambda: drop_key("defaultLocale"), "missing_manifest_keys"),
    ("no_framework_version", lambda: drop_key("frameworkVersion"), "missing_manifest_keys"),
    ("no_location", lambda: drop_key("location"), "missing_manifest_keys"),
    ("framework_version_not_served", lambda: set_key("frameworkVersion", "3.0"), "invalid_version"),
    ("framework_version_one", lambda: set_key("frameworkVersion", "1.0"), "iframe_only"),
    ("framework_version_a_number", lambda: set_key("frameworkVersion", 2.0), "unacceptable_string"),
    ("no_template_in_v2", lambda: set_key("noTemplate", True), "no_template_deprecated_in_v2"),
    ("signed_urls_a_string", lambda: set_key("signedUrls", "yes"), "unacceptable_boolean"),
    ("experiments_a_list", lambda: set_key("experiments", []), "unacceptable_hash"),
    ("unknown_experiment", lambda: set_key("experiments", {"turbo": True}), "invalid_experiment"),
    ("default_locale_file_missing", lambda: set_key("defaultLocale", "fr"), "missing_translation_file"),
    ("default_locale_malformed", lambda: set_key("defaultLocale", "english"), "invalid_default_locale"),
    ("no_english_translation", lambda: without("translations/en.json"), "missing_translation_file"),
    ("requirements_only_with_location", lambda: set_key("requirementsOnly", True), "no_location_required"),
    (
        "requirements_only_with_framework",
        lambda: set_key("requirementsOnly", True),
        "no_framework_version_required",
    ),
    (
        "requirements_only_without_file",
        lambda: set_key("requirementsOnly", True),
        "missing_location_and_requirements",
    ),
    ("marketing_only_private", lambda: set_key("marketingOnly", True), "marketing_only_app_cant_be_private"),
    ("marketing_only_with_parameters", lambda: set_key("marketingOnly", True), "no_parameters_required"),
    ("parameters_an_object", lambda: set_key("parameters", {}), "parameters_not_an_array"),
    ("parameter_without_name", lambda: add_parameter(type="text"), "invalid_parameter"),
    ("parameter_type_string", lambda: set_parameter("backend_url", type="string"), "invalid_type_parameter"),
    ("parameter_type_a_list", lambda: set_parameter("backend_url", type=["url"]), "invalid_type_parameter"),
    ("parameter_names_repeat", lambda: add_parameter(name="backend_url", type="url"), "duplicate_parameters"),
    ("parameter_called_name", lambda: add_parameter(name="name"), "name_as_parameter_name"),
    (
        "parameter_required_a_string",
        lambda: set_parameter("backend_url", required="yes"),
        "unacceptable_boolean",
    ),
    (
        "hidden_parameter_required",
        lambda: add_parameter(name="h", type="hidden", required=True),
        "invalid_hidden_parameter",
    ),
    (
        "secure_parameter_hidden",
        lambda: set_parameter("api_token", type="hidden", required=False),
        "secure_parameter_hidden",
    ),
    ("two_oauth_parameters", two_oauth_parameters, "too_many_oauth_parameters"),
    (
        "oauth_parameter_secure",
        lambda: add_parameter(name="o", type="oauth", secure=True),
        "oauth_parameter_cannot_be_secure",
    ),
    ("oauth_block_incomplete", lambda: set_key("oauth", {"client_id": "x"}), "oauth_keys_missing"),
    (
        "oauth_block_without_parameter",
        lambda: set_key("oauth", {"client_id": "x"}),
        "oauth_parameter_required",
    ),
    ("scopes_a_string", lambda: set_parameter("api_token", scopes="header"), "invalid_parameter_scopes"),
    (
        "secure_parameter_without_whitelist",
        lambda: drop_key("domainWhitelist"),
        "secure_parameters_need_domain_whitelist",
    ),
    (
        "secure_parameter_empty_whitelist",
        lambda: set_key("domainWhitelist", []),
        "secure_parameters_need_domain_whitelist",
    ),
    (
        "whitelist_a_string",
        lambda: set_key("domainWhitelist", "example.com"),
        "unacceptable_array_of_strings",
    ),
    (
        "whitelist_entry_a_url",
        lambda: set_key("domainWhitelist", ["https://example.com/"]),
        "domain_whitelist_entry_not_a_host",
    ),
    (
        "location_to_missing_asset",
        lambda: set_location("nav_bar", "assets/missing.html"),
        "invalid_location_uri",
    ),
    ("location_outside_assets", lambda: set_location("nav_bar", "manifest.json"), "invalid_location_uri"),
    (
        "location_plain_http",
        lambda: set_location("nav_bar", "http://example.com/app"),
        "invalid_location_uri",
    ),
    ("location_without_url", lambda: set_location("nav_bar", {"flexible": True}), "blank_location_uri"),
    (
        "location_flexible_a_string",
        lambda: set_location("nav_bar", {"url": "assets/iframe.html", "flexible": "y"}),
        "invalid_location_flexible_type",
    ),
    ("location_misspelt", lambda: set_location("ticket_sidebarr", "assets/iframe.html"), "invalid_location"),
    (
        "location_product_unknown",
        lambda: set_key("location", {"supprt": {"nav_bar": "assets/iframe.html"}}),
        "invalid_host",
    ),
    ("location_legacy_list", lambda: set_key("location", ["ticket_sidebar"]), "locations_must_be_urls"),
    (
        "location_setting_undeclared",
        lambda: set_location("nav_bar", "{{setting.server}}/x"),
        "location_setting_unknown",
    ),
    (
        "location_with_secure_setting",
        lambda: set_location("nav_bar", "https://x.io/?t={{setting.api_token}}"),
        "secure_setting_in_location",
    ),
    ("logo_wrong_size", lambda: with_file("assets/logo.png", png(256, 256)), "invalid_logo"),
    ("small_logo_wrong_size", lambda: with_file("assets/logo-small.png", png(320, 320)), "invalid_logo"),
    ("logo_not_png", lambda: with_file("assets/logo.png", b"GIF89a"), "invalid_logo"),
    ("small_logo_missing", lambda: without("assets/logo-small.png"), "missing_required_file"),
    ("banner_wrong_size", lambda: with_file("assets/banner.png", png(800, 200)), "invalid_banner"),
    (
        "translation_without_app_name",
        lambda: with_translation(lambda t: t["app"].pop("name")),
        "translation_missing_required_key",
    ),
    (
        "public_app_listing_incomplete",
        public_listing_without_long_description,
        "translation_missing_required_key",
    ),
    (
        "translation_without_description",
        lambda: with_translation(lambda t: [t["app"].pop(k) for k in ("description", "short_description")]),
        "default_locale_missing_description",
    ),
    (
        "translation_parameter_without_label",
        lambda: with_translation(lambda t: t["app"]["parameters"]["api_token"].pop("label")),
        "translation_missing_label",
    ),
    (
        "translation_not_named_by_locale",
        lambda: with_file("translations/english.json", b"{}"),
        "translation_invalid_locale",
    ),
    ("translation_not_json", lambda: with_file("translations/fr.json", b"{oops"), "translation_not_json"),
]

WARNED = [
    (
        "secret_looking_parameter_not_secure",
        lambda: add_parameter(name="stripe_key", type="text"),
        "insecure_token_parameter",
    ),
    (
        "secure_parameter_without_scopes",
        lambda: with_manifest(lambda m: parameter(m, "api_token").pop("scopes")),
        "secure_parameter_without_scopes",
    ),
    (
        "secure_parameter_with_default",
        lambda: set_parameter("api_token", default="od_x"),
        "default_secure_or_hidden_parameter",
    ),
    (
        "svg_with_script",
        lambda: with_file("assets/icon_top_bar.svg", b"<svg><script>alert(1)</script></svg>"),
        "unsafe_svg",
    ),
    ("parameter_without_label", lambda: add_parameter(name="region", type="text"), "parameter_without_label"),
]


def test_the_repository_app_passes_every_rule_without_warnings():
    assert validate_app(repo_app()) == ()


@pytest.mark.parametrize(("build", "rule"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_a_broken_copy_fails_its_rule(build, rule):
    found = [v for v in validate_app(build()) if v.rule == rule]
    assert found, f"expected {rule}, got {rules_of(build())}"
    assert all(v.severity == "error" for v in found)


@pytest.mark.parametrize(("build", "rule"), [case[1:] for case in WARNED], ids=[case[0] for case in WARNED])
def test_a_doubtful_copy_is_warned_about_but_not_refused(build, rule):
    found = validate_app(build())
    assert rule in {v.rule for v in found}
    assert all(v.severity == "warning" for v in found)


def test_every_rule_is_exercised_by_a_broken_copy():
    exercised = {case[2] for case in BROKEN + WARNED} | {"symlink_in_package", "unreadable_package"}
    assert set(RULES) - exercised == set()


def test_a_location_may_point_at_an_existing_asset_or_a_localhost_server():
    files = with_manifest(
        lambda m: m["location"]["support"].update(
            {"nav_bar": "assets/iframe.html?x=1", "top_bar": {"url": "http://localhost:4567/app"}}
        )
    )
    assert validate_app(files) == ()


def test_legacy_product_names_are_accepted():
    files = with_manifest(lambda m: m.__setitem__("location", {"zendesk": m["location"]["support"]}))
    assert validate_app(files) == ()


def test_a_private_app_needs_only_its_name_in_english():
    files = with_translation(
        lambda t: [t["app"].pop(k) for k in ("long_description", "installation_instructions")]
    )
    assert validate_app(files) == ()


def test_every_violation_message_names_what_to_fix():
    found = validate_app(set_parameter("backend_url", type="string"))
    assert [str(v) for v in found] == [
        "error: [invalid_type_parameter] parameter 'backend_url' has the type 'string'; allowed: "
        "checkbox, hidden, multiline, number, oauth, password, text, url"
    ]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    key=st.sampled_from(sorted(KNOWN_KEYS)), value=json_values, field=st.text(max_size=10), other=json_values
)
def test_any_json_in_any_manifest_field_is_reported_never_raised(key, value, field, other):
    def change(manifest):
        parameter(manifest, "api_token")[field] = other
        manifest[key] = value

    assert isinstance(validate_app(with_manifest(change)), tuple)


@settings(max_examples=200, deadline=None)
@given(name=st.text(max_size=15), options=json_values)
def test_any_json_as_a_location_is_reported_never_raised(name, options):
    assert isinstance(validate_app(set_location(name, options)), tuple)


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(["app", "name", "parameters"]), value=json_values)
def test_any_json_in_the_translations_is_reported_never_raised(key, value):
    def change(translations):
        if key == "app":
            translations["app"] = value
        else:
            translations["app"][key] = value

    assert isinstance(validate_app(with_translation(change)), tuple)
