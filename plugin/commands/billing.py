import typer

app = typer.Typer(help="Billing commands.", no_args_is_help=True)
