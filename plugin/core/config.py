from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")


class Settings(BaseSettings):
    """Everything configurable comes from the environment (prefix-free names, as operators expect)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(default=f"sqlite:///{DEFAULT_DATA_DIR / 'outcomedesk.db'}")
    public_base_url: str = "http://127.0.0.1:8000"
    webhook_tolerance_seconds: int = 300
    webhook_max_body_bytes: int = 256 * 1024
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    stripe_api_key: str | None = None
    stripe_api_base: str | None = None
    stripe_webhook_secret: str | None = None
    hubspot_access_token: str | None = None
    hubspot_base_url: str = "https://api.hubapi.com"
    usage_api_url: str | None = None
    context_timeout_seconds: float = 1.5
    # Let tenants' connectors reach private, loopback and link-local addresses (on-premises APIs, tests).
    connector_private_addresses: bool = False
    # Keys sealing stored credentials (plugin/core/sealing.py): comma-separated Fernet keys, newest first.
    secret_keys: str | None = None
    secret_key_file: Path = DEFAULT_DATA_DIR / "secret.key"
    # Run a worker thread inside the web process (single-process set-ups such as the demo).
    run_worker: bool = False
    # Public datasets (with their licences) ship in the repository so a clean clone can demo and test offline.
    data_dir: Path = Path(__file__).resolve().parents[2] / "data"


@lru_cache
def get_settings() -> Settings:
    return Settings()
