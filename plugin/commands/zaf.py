"""`outcomedesk plugin ...`: validate the Zendesk app and build its upload zip."""

from pathlib import Path
from typing import Annotated

import typer

from plugin.zaf.package import (
    DEFAULT_APP_ROOT,
    DEFAULT_PACKAGE_PATH,
    AppPackageInvalid,
    build_package,
    check_app,
)
from plugin.zaf.violations import Violation, errors

app = typer.Typer(help="The Zendesk app: validate it and build the upload zip.", no_args_is_help=True)

SourceOption = Annotated[
    Path, typer.Option(help="Folder holding manifest.json, translations/ and assets/", file_okay=False)
]


def _report(violations: tuple[Violation, ...]) -> None:
    for found in violations:
        typer.echo(str(found), err=True)


@app.command()
def validate(source: SourceOption = DEFAULT_APP_ROOT) -> None:
    """Check the app against the rules Zendesk's validator applies; exit 1 on any error."""
    found = check_app(source)
    _report(found)
    if errors(found):
        typer.echo(f"{len(errors(found))} error(s): Zendesk would refuse this app", err=True)
        raise typer.Exit(1)
    typer.echo(f"{source / 'manifest.json'}: valid ({len(found)} warning(s))")


@app.command()
def package(
    out: Annotated[
        Path, typer.Option(help="Where to write the upload zip", dir_okay=False)
    ] = DEFAULT_PACKAGE_PATH,
    source: SourceOption = DEFAULT_APP_ROOT,
    backend_url: Annotated[
        str | None,
        typer.Option(help="The outcomedesk server's https URL; its host becomes the app's domainWhitelist"),
    ] = None,
) -> None:
    """Validate the app, then write the zip to upload in Zendesk (Admin Center > Apps > Upload private app)."""
    try:
        built = build_package(source, out, backend_url=backend_url)
    except AppPackageInvalid as error:
        _report(error.violations)
        typer.echo("no package written: fix the errors above", err=True)
        raise typer.Exit(1) from error
    _report(built.warnings)
    typer.echo(f"wrote {built.path} ({len(built.files)} files)")
