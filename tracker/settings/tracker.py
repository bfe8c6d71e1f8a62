"""config/tracker.toml (database, time zone, currency, [import]) and `Settings`, the whole configuration an
entrypoint builds from every file (tracker.settings.loader)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    PositiveInt,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tracker.settings.alerts import AlertsConfig
from tracker.settings.base import _Strict
from tracker.settings.board import BoardConfig
from tracker.settings.couriers import CourierConfig, DetectionConfig
from tracker.settings.next_actions import ActionText
from tracker.settings.paths import ENV_PREFIX, working_root
from tracker.settings.providers import ProvidersConfig
from tracker.settings.rules import RulesConfig

if TYPE_CHECKING:
    from tracker.phrases import PhraseBook


class ImportConfig(_Strict):
    batch_size: PositiveInt = 20_000
    # a big file's rows are stored by a second process while the next ones are read (tracker/import_writer.py)
    second_process: bool = True
    progress_min_rows: PositiveInt = 5000
    # bounds of one row of an imported file (tracker.tablefile.ReadLimits; docs/importing.md)
    max_field_chars: PositiveInt = 4096
    max_row_chars: PositiveInt = 131_072
    max_columns: PositiveInt = 512
    max_row_lines: PositiveInt = 20
    max_xlsx_unzipped_mb: PositiveInt = 512
    max_xlsx_ratio: PositiveInt = 100

    @property
    def limits(self):  # type: ignore[no-untyped-def]  # -> tracker.tablefile.ReadLimits
        from tracker.tablefile import ReadLimits

        return ReadLimits(
            max_field_chars=self.max_field_chars,
            max_row_chars=self.max_row_chars,
            max_columns=self.max_columns,
            max_row_lines=self.max_row_lines,
            max_xlsx_unzipped_bytes=self.max_xlsx_unzipped_mb * 1024 * 1024,
            max_xlsx_ratio=self.max_xlsx_ratio,
        )


class Settings(BaseSettings):
    """Everything an entrypoint needs; top-level scalars may be overridden by TRACKER_<NAME>."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    config_dir: Path
    project_root: Path = Field(default_factory=working_root)
    database_url: str
    timezone: str = "Asia/Shanghai"
    currency: str = Field(default="CNY", pattern="^[A-Z]{3}$")
    import_: ImportConfig = Field(default=ImportConfig(), alias="import")
    couriers: dict[str, CourierConfig]
    detection: DetectionConfig = DetectionConfig()
    headers: dict[str, list[str]] = {}
    return_waybill_headers: list[str] = []
    not_shipped_statuses: list[str] = []  # import.toml [orders] not_shipped: 订单状态 words of an order not shipped
    # import.toml [orders] awaiting_shipment: of those, a paid order the warehouse owes a parcel (kept for 延迟发货);
    # closed: an order that will never ship (the order kept awaiting its parcel is closed)
    awaiting_shipment_statuses: list[str] = []
    closed_order_statuses: list[str] = []
    shipped_order_statuses: list[str] = []  # [orders] shipped: a row without 发货时间 shipped by the import
    rules: RulesConfig
    alerts: AlertsConfig = AlertsConfig()
    providers: ProvidersConfig
    next_actions: dict[str, ActionText] = {}
    board: BoardConfig = BoardConfig()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the TOML files (passed in as init kwargs).
        return (env_settings, init_settings)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"an IANA time zone such as Asia/Shanghai, got {value!r}") from None
        return value

    @field_validator("couriers")
    @classmethod
    def _slugs(cls, value: dict[str, CourierConfig]) -> dict[str, CourierConfig]:
        for slug in value:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", slug):
                raise ValueError(f"courier slugs are snake_case, got {slug!r}")
        return value

    @model_validator(mode="after")
    def _normalise_database_url(self) -> Settings:
        object.__setattr__(self, "database_url", normalise_database_url(self.database_url, self.project_root))
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def phrasebook(self) -> PhraseBook:
        """The courier phrases of config/phrases.toml (tracker.phrases), read once per config folder."""
        from tracker.phrases import phrasebook_for

        return phrasebook_for(self.config_dir)

    @property
    def tmall(self):  # type: ignore[no-untyped-def]  # -> tracker.tmall.TmallRules
        """config/claims/tmall.toml, the Tmall platform's numbers (tracker.tmall), read once per file."""
        from tracker.tmall import tmall_rules

        return tmall_rules(self.config_dir)


def normalise_database_url(url: str, root: Path) -> str:
    """Use psycopg 3 for PostgreSQL URLs; make a relative SQLite path relative to the project root."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        path = url[len("sqlite:///") :]
        if path and not path.startswith(":memory:"):
            return f"sqlite:///{root / path}"
    return url
