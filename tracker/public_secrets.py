"""No public secret in production (docs/operations-pushes.md).

The repository ships the local sandbox's demo accounts (tracker/sandbox/accounts.py) as the defaults of every
provider spec and of config/providers.toml, so the demo works out of the box. Anyone can read them, so a
receiver checking signatures with them accepts forged pushes, and a poller sending them is misconfigured.
`serve-push`, `poll` and `worker` therefore refuse to start while a secret they use still has its public
sandbox value (or is empty), unless they are run for the sandbox: `--sandbox`, or the demo (which does not go
through these commands). A base_url on 127.0.0.1 does not count as the sandbox on its own: a tunnel or proxy
to the real provider may listen there too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tracker.errors import TrackerError
from tracker.settings import ProvidersConfig, Settings


@dataclass(frozen=True, slots=True)
class PublicSecret:
    provider: str
    field: str
    variable: str  # the environment variable that sets it (the registry's spec.secrets)


def _sandbox_values() -> set[str]:
    from tracker.sandbox import accounts

    return {v for k, v in vars(accounts).items() if k.isupper() and isinstance(v, str) and v}


def public_secrets(providers: ProvidersConfig, names: Iterable[str], *, push: bool = False) -> list[PublicSecret]:
    """The secrets of providers `names` that still hold a public sandbox value, or are empty although the
    provider's spec has a default for them (so the provider needs them). `push`: only the ones a push
    signature is checked with (PushSpec.signed_with)."""
    from tracker.providers.registry import get

    public = _sandbox_values()
    found = []
    for name in names:
        spec = get(name)
        config = providers.of(name)
        signed = spec.push.signed_with if push and spec.push is not None else ()
        for field, variable in spec.secrets.items():
            if signed and field not in signed:
                continue
            default = spec.config.get(field)
            value = str(getattr(config, field, "") or "")
            if (value and (value in public or value == default)) or (not value and default):
                found.append(PublicSecret(name, field, variable))
    return found


def push_providers() -> list[str]:
    """The providers whose pushes `serve-push` receives (a route each)."""
    from tracker.providers.registry import specs

    return [name for name, spec in specs().items() if spec.push is not None]


def polled_providers(settings: Settings) -> list[str]:
    """The providers some courier of config/couriers.toml is polled through (not the spiders)."""
    from tracker.providers.registry import names

    used = {c.provider for c in settings.couriers.values()}
    return [name for name in names() if name in used]


def require_private_secrets(
    settings: Settings, names: Iterable[str], *, command: str, sandbox: bool, push: bool = False
) -> list[str]:
    """Raise TrackerError (one line naming the variables to set) when a secret of `names` is public, unless
    `sandbox`; returns the variables that are public (for the sandbox's warning). `push`: the signing ones only."""
    found = public_secrets(settings.providers, names, push=push)
    if found and not sandbox:
        variables = ", ".join(dict.fromkeys(s.variable for s in found))
        raise TrackerError(
            f"{command} will not run with the sandbox's public demo accounts: set {variables} "
            "(or pass --sandbox to run against the local sandbox)"
        )
    return [s.variable for s in found]
