"""Reading an adapter's configuration section.

Each adapter gets the plain mapping of its ``[adapters.<name>]`` TOML table. Secrets are
never required in that file: :meth:`Settings.secret` reads ``config[key]`` if given (tests),
else the environment variable named by ``config[key + "_env"]``, else a documented default
environment variable. Everything is read once, in the adapter's constructor.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from router.contracts import is_region


class AdapterConfigError(ValueError):
    """A required setting or secret is missing or has the wrong type."""


class Settings:
    def __init__(self, adapter: str, config: Mapping[str, Any]) -> None:
        self.adapter = adapter
        self._config = config

    def text(self, key: str, default: str) -> str:
        value = self._config.get(key, default)
        if not isinstance(value, str):
            raise AdapterConfigError(f"adapters.{self.adapter}.{key} must be a string")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self._config.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise AdapterConfigError(f"adapters.{self.adapter}.{key} must be a string")
        return value

    def required_text(self, key: str) -> str:
        value = self.optional_text(key)
        if value is None:
            raise AdapterConfigError(f"adapters.{self.adapter}.{key} is required")
        return value

    def number(self, key: str, default: float) -> float:
        value = self._config.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AdapterConfigError(f"adapters.{self.adapter}.{key} must be a number")
        return float(value)

    def integer(self, key: str, default: int) -> int:
        value = self._config.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise AdapterConfigError(f"adapters.{self.adapter}.{key} must be an integer")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self._config.get(key, default)
        if not isinstance(value, bool):
            raise AdapterConfigError(f"adapters.{self.adapter}.{key} must be true or false")
        return value

    def table(self, key: str, default: Mapping[str, str]) -> dict[str, str]:
        value = self._config.get(key, default)
        if not isinstance(value, Mapping):
            raise AdapterConfigError(f"adapters.{self.adapter}.{key} must be a table")
        return {str(k): str(v) for k, v in value.items()}

    def default_region(self) -> str | None:
        """``default_region``: the region (ISO 3166 alpha-2) this adapter's national-format numbers are read
        in; None leaves it to the router's ``[identity] default_region``."""
        value = self.optional_text("default_region")
        if value is None:
            return None
        if not is_region(value):
            raise AdapterConfigError(
                f"adapters.{self.adapter}.default_region: {value!r} is not a known region"
            )
        return value.upper()

    def optional_secret(self, key: str, env_default: str) -> str | None:
        direct = self._config.get(key)
        if isinstance(direct, str) and direct:
            return direct
        env_name = self._config.get(f"{key}_env", env_default)
        if not isinstance(env_name, str):
            raise AdapterConfigError(f"adapters.{self.adapter}.{key}_env must be a string")
        return os.environ.get(env_name) or None

    def secret(self, key: str, env_default: str) -> str:
        value = self.optional_secret(key, env_default)
        if value is None:
            env_name = self._config.get(f"{key}_env", env_default)
            raise AdapterConfigError(
                f"adapters.{self.adapter}: secret {key!r} missing: set the {env_name} environment variable"
            )
        return value
