"""Courier detection from waybill numbers: every courier's real formats, normalization, ranked candidates
for ambiguous numbers, the confidence model's data, and the Kuaidi100 autonumber reply parser."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracker.cli import app
from tracker.couriers.detect import CourierIndex, UnknownCourier, describe, normalize_waybill
from tracker.providers.kuaidi100.autonumber import parse_autonumber
from tracker.settings import PROJECT_ROOT, ConfigError, DetectionConfig, load_settings

CONFIG = PROJECT_ROOT / "config"


@pytest.fixture(scope="module")
def index() -> CourierIndex:
    settings = load_settings(CONFIG)
    return CourierIndex(settings.couriers, settings.detection)


# Numbers in each courier's real format (digits changed): what a Taobao/Tmall export carries.
REAL_FORMATS = [
    ("SF1385628716739", "sf"),  # SF + 13 digits
    ("SF138562871673", "sf"),  # SF + 12 digits (older)
    ("73610555582883", "zto"),  # 14-digit electronic waybill
    ("78423156790012", "zto"),
    ("YT8962646785389", "yto"),  # YT + 13 digits
    ("YT7512345678901", "yto"),
    ("773277027280336", "sto"),  # 15-digit 773
    ("772014563298710", "sto"),  # 15-digit 772
    ("777105823641093", "sto"),  # 15-digit 777
    ("463431409940372", "yunda"),  # 15-digit 46
    ("312658794102356", "yunda"),  # 15-digit 31
    ("JT5261988016578", "jt"),  # JT + 13 digits
    ("JDX024407261700", "jd"),  # JDX + 12 digits
    ("JDVA11408814483", "jd"),  # JDV + letter + 11 digits
    ("JD0123456789012", "jd"),
    ("EA123456789CN", "ems"),  # international EMS
    ("1012345678901", "ems"),  # 13-digit 10/11 domestic EMS
    ("1198765432109", "ems"),
    ("9812345678901", "chinapost"),  # 13-digit domestic parcel
    ("9976543210987", "chinapost"),
    ("KA123456789CN", "chinapost"),  # surface mail (平邮)
    ("PA987654321CN", "chinapost"),
    ("DPK202252612836", "deppon"),  # DPK + 12 digits
    ("LP00123456789012", "cainiao"),  # LP + 14 digits
    ("621123456789012", "cainiao"),  # 15-digit 621
]


@pytest.mark.parametrize(("number", "slug"), REAL_FORMATS)
def test_real_format_numbers_are_detected(index: CourierIndex, number: str, slug: str) -> None:
    found = index.detect(number)
    assert found.slug == slug
    assert index.candidates(number)[0].slug == slug
    assert found.confidence >= 0.6


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("sf1385628716739", "SF1385628716739"),
        (" SF 1385 6287 16739 ", "SF1385628716739"),
        ("'773277027280336", "773277027280336"),
        ('="773277027280336"', "773277027280336"),
        ("No:yt8962646785389", "YT8962646785389"),
        ("no：jt5261988016578", "JT5261988016578"),
        ("jdva11408814483\t", "JDVA11408814483"),
        ("dpk\u3000202252612836", "DPK202252612836"),
    ],
)
def test_lower_case_spaces_and_export_guards_are_normalized(index: CourierIndex, raw: str, number: str) -> None:
    assert normalize_waybill(raw) == number
    assert index.detect(raw).slug == index.detect(number).slug


def test_a_15_digit_sto_number_is_no_longer_unmatched(index: CourierIndex) -> None:
    candidates = index.candidates("773039762404825")
    assert [c.slug for c in candidates] == ["sto"]
    assert candidates[0].pattern == r"^77\d{13}$"


def test_an_ambiguous_number_is_a_ranked_choice_not_an_error_of_one_kind(index: CourierIndex) -> None:
    candidates = index.candidates("668123456789")  # an old 12-digit number ZTO and STO both used
    assert [(c.slug, c.percent) for c in candidates] == [("zto", "50%"), ("sto", "40%")]
    with pytest.raises(UnknownCourier) as caught:
        index.detect("668123456789")
    assert str(caught.value) == "waybill '668123456789' could be 中通快递 (50%) or 申通快递 (40%)"
    assert [c.slug for c in caught.value.candidates] == ["zto", "sto"]


def test_a_14_digit_77_number_is_not_guessed(index: CourierIndex) -> None:
    assert [(c.slug, c.percent) for c in index.candidates("77316523125896")] == [("sto", "57%"), ("zto", "43%")]
    with pytest.raises(UnknownCourier, match=r"could be 申通快递 \(57%\) or 中通快递 \(43%\)"):
        index.detect("77316523125896")


def test_shared_13_digit_prefixes_rank_the_likelier_courier_first(index: CourierIndex) -> None:
    ems = index.candidates("1012345678901")  # EMS 10 vs an old Yunda 10 number
    assert [c.slug for c in ems] == ["ems", "yunda"]
    assert ems[0].confidence == pytest.approx(0.8 / 1.1) and ems[1].confidence == pytest.approx(0.3 / 1.1)
    assert index.detect("1012345678901").slug == "ems"  # 73% vs 27%: clearly ahead
    post = index.candidates("1207119765021")  # China Post 12 vs an old Yunda 12 number: 50% vs 30%
    assert [c.slug for c in post] == ["chinapost", "yunda"]
    with pytest.raises(UnknownCourier, match=r"could be 邮政快递包裹 \(50%\) or 韵达快递 \(30%\)"):
        index.detect("1207119765021")


def test_a_weak_single_match_is_named_but_not_taken(index: CourierIndex) -> None:
    with pytest.raises(UnknownCourier) as caught:
        index.detect("12345678")  # Deppon's older 8-10 digit numbers: many other things look like that
    assert str(caught.value) == "waybill '12345678' could be 德邦快递 (35%)"


def test_a_number_nobody_claims_says_so(index: CourierIndex) -> None:
    assert index.candidates("XX12") == []
    with pytest.raises(UnknownCourier, match="matches no courier's number pattern"):
        index.detect("XX12")


def test_margin_and_min_confidence_are_data() -> None:
    settings = load_settings(CONFIG)
    lenient = CourierIndex(settings.couriers, DetectionConfig(margin=0.05, min_confidence=0.3))
    assert lenient.detect("668123456789").slug == "zto"
    assert lenient.detect("12345678").slug == "deppon"
    strict = CourierIndex(settings.couriers, DetectionConfig(margin=0.6))
    with pytest.raises(UnknownCourier, match="邮政EMS|EMS \\(73%\\) or 韵达快递 \\(27%\\)"):
        strict.detect("1012345678901")


def test_autonumber_suggestions_rank_by_kuaidi100_order(index: CourierIndex) -> None:
    # the n-th suggestion scores 0.9 / n; a company we do not configure still holds its place
    ranked = index.from_autonumber(["shentong", "kuaidi-unknown-to-us", "zhongtong", "shentong"])
    assert [(c.slug, c.percent) for c in ranked] == [("sto", "75%"), ("zto", "25%")]
    assert ranked[0].pattern == "Kuaidi100 autonumber suggestion 1"
    assert index.decide("668123456789", ranked).slug == "sto"


def test_describe_lists_names_not_slugs(index: CourierIndex) -> None:
    text = describe(index.candidates("668123456789"))
    assert "中通快递" in text and "zto" not in text


@pytest.mark.parametrize(
    ("body", "codes", "error"),
    [
        # the current shape (Kuaidi100's SDK reads comCode, lengthPre, name, noPre, noCount)
        (
            '[{"lengthPre":15,"comCode":"shentong","name":"申通快递","noPre":"7730","noCount":"88"},'
            '{"lengthPre":15,"comCode":"yunda","name":"韵达快递"}]',
            ("shentong", "yunda"),
            None,
        ),
        # the older shape: id and startTime, nothing but comCode worth reading
        ('[{"comCode":"zhongtong","id":"","noCount":2317,"noPre":"7361","startTime":""}]', ("zhongtong",), None),
        ("[]", (), None),
        ('[{"comCode":""},{"id":"3"},"shunfeng",{"comCode":"shunfeng"},{"comCode":"shunfeng"}]', ("shunfeng",), None),
        (
            '{"result":false,"returnCode":"600","message":"您不是合法的用户（即授权Key出错）"}',
            (),
            "refused: 600 您不是合法的用户（即授权Key出错）",
        ),
        ("<html>502 Bad Gateway</html>", (), "the reply is not JSON"),
        ('"shentong"', (), "the reply is neither a list nor an error object"),
    ],
)
def test_autonumber_reply_parser(body: str, codes: tuple[str, ...], error: str | None) -> None:
    reply = parse_autonumber(body)
    assert reply.codes == codes
    assert reply.error == error


def test_cli_prints_ranked_candidates_offline(settings) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, ["couriers", "detect", "sf 1385 6287 16739", "--offline"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "SF1385628716739: candidates from patterns, best first"
    assert lines[1].split("\t") == ["  顺丰速运", "sf", "95%", r"^SF\d{12,13}$"]
    assert lines[-1] == "courier: 顺丰速运 (sf), 95%"


def test_cli_ambiguous_number_offline_names_the_candidates(settings) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, ["couriers", "detect", "668123456789", "--offline"])
    assert result.exit_code != 0
    assert [line.split("\t")[:3] for line in result.output.splitlines()[1:3]] == [
        ["  中通快递", "zto", "50%"],
        ["  申通快递", "sto", "40%"],
    ]
    assert "could be 中通快递 (50%) or 申通快递 (40%): fill in the courier" in str(result.exception)
    assert "Kuaidi100" not in result.output


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("margin = 0.2", "margin = 1.5", "couriers.toml: detection.margin: Input should be less than 1"),
        (
            "import_autonumber = false",
            "import_autonumber = false\nguess = true",
            "couriers.toml: detection.guess: unknown key",
        ),
        (
            'weight = 0.9, note = "14-digit',
            'weight = 0, note = "14-digit',
            "couriers.toml: zto.patterns.0.weight: Input should be greater than 0",
        ),
        (
            "{ regex = '^7[3-68]\\d{12}$'",
            "{ regex = '^7[3-68](\\d{12}$'",
            "couriers.toml: zto.patterns: a regular expression",
        ),
    ],
)
def test_bad_detection_data_names_file_and_key(tmp_path: Path, old: str, new: str, expected: str) -> None:
    target = tmp_path / "config"
    shutil.copytree(CONFIG, target)
    path = target / "couriers.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(target)
    assert expected in str(caught.value), str(caught.value)


def test_a_courier_s_own_patterns_need_not_combine(settings) -> None:  # type: ignore[no-untyped-def]
    """A site's patterns with inline flags or a named group each compile alone; the contradiction check tries them
    one by one (joined into one pattern they would not compile: every import failed)."""
    from tracker.couriers.detect import CourierIndex

    sf = settings.couriers["sf"]
    first = sf.patterns[0]
    patterns = [first.model_copy(update={"regex": rx}) for rx in (r"(?i)^sf(?P<n>\d{12})$", r"^SF(?P<n>\d{13})$")]
    index = CourierIndex({**settings.couriers, "sf": sf.model_copy(update={"patterns": patterns})}, settings.detection)
    assert index.contradicts("sf", "SF138562871673") is None
    assert index.contradicts("zto", "SF138562871673").slug == "sf"  # type: ignore[union-attr]
    assert index.contradicts("zto", "78123456789012") is None  # ZTO's own format
