import pytest
from typer.testing import CliRunner

from tracker.cli import app


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sandbox", "--fault", "gremlins=0.5"], "unknown fault kind 'gremlins'"),
        (["sandbox", "--fault", "5xx=abc"], "expected KIND=RATE"),
        (["crawl", "nosuch", "--waybill", "1"], "no spider for courier 'nosuch'"),
    ],
)
def test_bad_online_options_name_the_problem(settings, args, message) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert message in str(result.exception)
