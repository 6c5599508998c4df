"""The ASGI entry point for uvicorn: `uvicorn plugin.asgi:app`."""

from plugin.app import create_app

app = create_app()
