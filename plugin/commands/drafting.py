"""Drafting commands: `outcomedesk eval` and the knowledge-base / classifier set-up of a tenant."""

import json
from pathlib import Path
from typing import Annotated

import typer

drafting_app = typer.Typer(help="Knowledge base and intent classifier of a tenant.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Attach the drafting commands to the main CLI."""
    app.command("eval")(evaluate)
    app.add_typer(drafting_app, name="drafting")


def evaluate(
    train: Annotated[Path, typer.Option(help="JSONL of {text, intent}; intent null or 'oos' = out of scope")],
    test: Annotated[Path, typer.Option(help="JSONL in the same format, held out")],
    kb: Annotated[
        Path | None, typer.Option(help="Knowledge base (Markdown or JSONL) to load, checked for errors")
    ] = None,
    target_precision: Annotated[float, typer.Option(min=0.5, max=0.999)] = 0.95,
    at_coverage: Annotated[
        list[float] | None,
        typer.Option(
            min=0.01,
            max=1.0,
            help="Also report the precision at this share of in-scope tickets auto-resolved (repeatable)",
        ),
    ] = None,
) -> None:
    """Train on labelled tickets and report intent accuracy, calibration and auto-resolve precision as JSON."""
    from drafting.evaluation import JsonlError, load_jsonl
    from drafting.evaluation import evaluate as run_evaluation

    try:
        train_set, test_set = load_jsonl(train), load_jsonl(test)
    except (OSError, JsonlError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    if kb is not None:
        _load_passages(kb)
    report = run_evaluation(
        train_set, test_set, target_precision=target_precision, at_coverage=at_coverage or ()
    )
    typer.echo(json.dumps(report, indent=2))


def _load_passages(path: Path, audience: str = "customer") -> list:  # type: ignore[type-arg]
    from drafting.knowledge import load_jsonl_documents, load_markdown_file

    if path.suffix in {".md", ".markdown"}:
        return list(load_markdown_file(path, audience=audience))
    return list(load_jsonl_documents(path, audience=audience))


@drafting_app.command("import-kb")
def import_kb(
    tenant: Annotated[str, typer.Argument(help="Tenant slug")],
    paths: Annotated[
        list[Path], typer.Argument(help="Markdown (.md) or JSONL (.jsonl, .jsonl.gz) documents")
    ],
    agent_only: Annotated[
        bool,
        typer.Option(
            "--agent-only",
            help="Agent guidance (procedures, policies): used by the drafter, never quoted to customers. "
            'JSONL rows may also say "audience": "agent"; titles starting \'Internal:\' always are.',
        ),
    ] = False,
) -> None:
    """Add documents to a tenant's knowledge base (sections become citable passages)."""
    from drafting import training
    from plugin.accounts import service as accounts_service
    from plugin.cli import session_factory
    from plugin.core.clock import SystemClock
    from plugin.core.db import transaction

    with transaction(session_factory()) as session:
        tenant_row = accounts_service.get_tenant(session, tenant)
        added = sum(
            training.import_knowledge(
                session,
                tenant_id=tenant_row.id,
                passages=_load_passages(path, "agent" if agent_only else "customer"),
                clock=SystemClock(),
            )
            for path in paths
        )
    typer.echo(f"{added} passages added to {tenant}'s knowledge base")


@drafting_app.command("train")
def train_classifier(
    tenant: Annotated[str, typer.Argument(help="Tenant slug")],
    examples: Annotated[Path, typer.Argument(help="JSONL of {text, intent} labelled tickets")],
) -> None:
    """Train the tenant's intent classifier and set its autopilot threshold from held-out predictions."""
    from drafting import training
    from drafting.evaluation import load_jsonl
    from plugin.accounts import service as accounts_service
    from plugin.cli import session_factory
    from plugin.core.clock import SystemClock
    from plugin.core.db import transaction

    labelled = load_jsonl(examples)
    with transaction(session_factory()) as session:
        tenant_row = accounts_service.get_tenant(session, tenant)
        trained = training.train_intent_model(
            session,
            tenant_id=tenant_row.id,
            examples=[(t.text, t.intent) for t in labelled],
            clock=SystemClock(),
        )
    choice = trained.threshold
    typer.echo(
        f"model v{trained.version}: {trained.examples} examples, {trained.intents} intents; threshold "
        f"{choice.threshold:.3f} (precision {choice.precision:.3f}, lower bound {choice.precision_lower:.3f}, "
        f"coverage {choice.coverage:.3f}, {choice.status})"
    )


@drafting_app.command("recalibrate")
def recalibrate(
    tenant: Annotated[str, typer.Argument(help="Tenant slug")],
    min_outcomes: Annotated[int, typer.Option(min=1, help="Outcomes needed before they decide")] = 200,
) -> None:
    """Set the tenant's autopilot threshold from its drafts' outcomes (the worker does this daily)."""
    from dataclasses import asdict

    from drafting.recalibration import recalibrate_threshold
    from plugin.accounts import service as accounts_service
    from plugin.cli import session_factory
    from plugin.core.clock import SystemClock
    from plugin.core.db import transaction

    with transaction(session_factory()) as session:
        tenant_row = accounts_service.get_tenant(session, tenant)
        result = recalibrate_threshold(
            session, tenant_id=tenant_row.id, clock=SystemClock(), min_outcomes=min_outcomes
        )
    typer.echo(json.dumps(asdict(result), indent=2))
