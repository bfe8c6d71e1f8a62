from tests.online.conftest import online_settings, sandbox, sandbox_server  # noqa: F401
