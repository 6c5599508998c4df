import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plugin.commands.zaf import app as zaf_cli
from plugin.zaf.manifest_rules import validate_app
from plugin.zaf.package import (
    DEFAULT_APP_ROOT,
    AppPackageInvalid,
    build_package,
    check_app,
    read_package,
)
from tests.plugin.zaf.apps import repo_app

EXPECTED_FILES = {
    "manifest.json",
    "translations/en.json",
    "assets/iframe.html",
    "assets/icon_nav_bar.svg",
    "assets/logo.png",
    "assets/logo-small.png",
}


@pytest.fixture
def app_copy(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    root.mkdir()
    shutil.copy(DEFAULT_APP_ROOT / "manifest.json", root / "manifest.json")
    for folder in ("translations", "assets"):
        shutil.copytree(DEFAULT_APP_ROOT / folder, root / folder)
    return root


def test_the_package_holds_exactly_the_app_files_and_revalidates(tmp_path):
    built = build_package(DEFAULT_APP_ROOT, tmp_path / "dist" / "outcomedesk-app.zip")
    inside = read_package(built.path)
    assert set(inside) == EXPECTED_FILES == set(built.files)
    assert inside == repo_app()
    assert validate_app(inside) == ()
    assert built.warnings == ()


def test_two_builds_of_the_same_app_are_byte_identical(tmp_path):
    first = build_package(DEFAULT_APP_ROOT, tmp_path / "one.zip")
    second = build_package(DEFAULT_APP_ROOT, tmp_path / "two.zip")
    assert first.path.read_bytes() == second.path.read_bytes()


def test_a_backend_url_becomes_the_domain_whitelist_and_nothing_else_changes(tmp_path):
    built = build_package(DEFAULT_APP_ROOT, tmp_path / "app.zip", backend_url="https://od.acme.io/")
    packaged = json.loads(read_package(built.path)["manifest.json"])
    source = json.loads((DEFAULT_APP_ROOT / "manifest.json").read_bytes())
    assert packaged["domainWhitelist"] == ["od.acme.io"]
    assert {k: v for k, v in packaged.items() if k != "domainWhitelist"} == {
        k: v for k, v in source.items() if k != "domainWhitelist"
    }


def test_a_plain_http_backend_url_is_refused(tmp_path):
    with pytest.raises(AppPackageInvalid, match="must be https"):
        build_package(DEFAULT_APP_ROOT, tmp_path / "app.zip", backend_url="http://od.acme.io")
    assert not (tmp_path / "app.zip").exists()


def test_an_invalid_app_writes_no_package_and_says_why(app_copy, tmp_path):
    (app_copy / "assets" / "logo.png").unlink()
    with pytest.raises(AppPackageInvalid) as refused:
        build_package(app_copy, tmp_path / "app.zip")
    assert [v.rule for v in refused.value.violations] == ["missing_required_file"]
    assert "assets/logo.png" in refused.value.detail
    assert not (tmp_path / "app.zip").exists()


def test_hidden_files_stay_out_of_the_package(app_copy, tmp_path):
    (app_copy / "assets" / ".DS_Store").write_bytes(b"junk")
    built = build_package(app_copy, tmp_path / "app.zip")
    assert set(read_package(built.path)) == EXPECTED_FILES


def test_a_symbolic_link_in_the_app_is_refused(app_copy):
    (app_copy / "assets" / "linked.png").symlink_to(app_copy / "assets" / "logo.png")
    assert "symlink_in_package" in {v.rule for v in check_app(app_copy)}


def test_a_file_that_is_not_a_zip_is_reported_not_raised_raw(tmp_path):
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"not a zip")
    with pytest.raises(AppPackageInvalid, match="not a readable zip"):
        read_package(broken)


def test_cli_validate_passes_the_repository_app():
    result = CliRunner().invoke(zaf_cli, ["validate"])
    assert result.exit_code == 0, result.output
    assert "valid (0 warning(s))" in result.output


def test_cli_validate_fails_a_broken_app_with_the_rule(app_copy):
    manifest = json.loads((app_copy / "manifest.json").read_text())
    manifest["parameters"][0]["type"] = "string"
    (app_copy / "manifest.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(zaf_cli, ["validate", "--source", str(app_copy)])
    assert result.exit_code == 1
    assert "[invalid_type_parameter]" in result.output


def test_cli_package_writes_the_zip(tmp_path):
    out = tmp_path / "dist" / "outcomedesk-app.zip"
    result = CliRunner().invoke(
        zaf_cli, ["package", "--out", str(out), "--backend-url", "https://od.acme.io"]
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {out} (6 files)" in result.output
    assert validate_app(read_package(out)) == ()


def test_cli_package_refuses_a_broken_app(app_copy, tmp_path):
    (app_copy / "translations" / "en.json").unlink()
    out = tmp_path / "app.zip"
    result = CliRunner().invoke(zaf_cli, ["package", "--source", str(app_copy), "--out", str(out)])
    assert result.exit_code == 1
    assert "no package written" in result.output
    assert not out.exists()
