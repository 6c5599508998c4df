"""The import rules of STYLE.md, checked on the source tree's syntax (no imports executed)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOMAINS = ("drafting", "billing", "metrics")
PURE_MODULES = (
    "metrics/stats.py",
    "metrics/assignment.py",
    "metrics/business_hours.py",
    "metrics/events.py",
    "billing/money.py",
    "billing/pricing.py",
    "drafting/policy.py",
    "drafting/calibration.py",
    "drafting/grounding.py",
    "drafting/guardrails.py",
)
FORBIDDEN_IN_PURE = ("sqlalchemy", "fastapi", "starlette", "langchain_core", "langchain", "plugin")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("domain", DOMAINS)
def test_domains_import_only_the_shell_core(domain):
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in python_files(domain)
        for name in imported_modules(path)
        if top(name) == "plugin" and not name.startswith("plugin.core")
    ]
    assert offenders == []


@pytest.mark.parametrize("domain", ["billing", "metrics"])
def test_billing_and_metrics_never_import_drafting(domain):
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in python_files(domain)
        for name in imported_modules(path)
        if top(name) == "drafting"
    ]
    assert offenders == []


def test_only_the_shell_imports_fastapi():
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for domain in DOMAINS
        for path in python_files(domain)
        for name in imported_modules(path)
        if top(name) in {"fastapi", "starlette", "uvicorn"}
    ]
    assert offenders == []


def test_shell_core_imports_no_domain():
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in python_files("plugin/core")
        for name in imported_modules(path)
        if top(name) in DOMAINS or (top(name) == "plugin" and not name.startswith("plugin.core"))
    ]
    assert offenders == []


def test_pure_modules_import_no_database_web_or_llm_library():
    present = [ROOT / module for module in PURE_MODULES if (ROOT / module).exists()]
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in present
        for name in imported_modules(path)
        if top(name) in FORBIDDEN_IN_PURE
    ]
    assert present, "the pure modules listed here should exist"
    assert offenders == []


# Each domain talks to a vendor through one adapter module: drafting reads Stripe for context, billing
# writes invoices to it; only the LLM drafter speaks OpenAI.
SDK_ADAPTERS = {
    "stripe": {"drafting/context/stripe_source.py", "billing/stripe_gateway.py"},
    "openai": {"drafting/llm/drafter.py"},
}


@pytest.mark.parametrize("sdk", sorted(SDK_ADAPTERS))
def test_vendor_sdks_are_imported_only_in_their_adapter_modules(sdk):
    users = {
        str(path.relative_to(ROOT))
        for package in (*DOMAINS, "plugin")
        for path in python_files(package)
        if any(top(name) == sdk for name in imported_modules(path))
    }
    assert users == SDK_ADAPTERS[sdk]
