"""The courier phrase classifier (tracker/phrases.py, config/phrases.toml) against a corpus of real wordings.

tests/fixtures/phrases/<courier>.tsv holds one event text a line, `expected_status<TAB>text` ("-" for a text
that names no status); each file's header says where the wording pattern comes from. Every line is checked
and every mismatch is reported at once, with its file and line.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tracker.phrases import PhraseBook, PhraseRule, default_phrasebook, load_phrasebook, phrasebook_for
from tracker.settings import PROJECT_ROOT, ConfigError
from tracker.status import TrackingStatus

CORPUS = Path(__file__).resolve().parent / "fixtures" / "phrases"
COURIERS = ["sf", "zto", "yto", "sto", "yunda", "jt", "jd", "ems", "chinapost", "deppon", "cainiao"]
CONFIG = PROJECT_ROOT / "config" / "phrases.toml"


def _corpus(path: Path) -> list[tuple[int, TrackingStatus | None, str]]:
    lines = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        expected, sep, text = line.partition("\t")
        assert sep and text.strip(), f"{path.name}:{number}: not expected_status<TAB>text: {line!r}"
        try:
            status = None if expected == "-" else TrackingStatus(expected)
        except ValueError:
            pytest.fail(f"{path.name}:{number}: unknown status {expected!r}")
        lines.append((number, status, text))
    return lines


def _files() -> list[Path]:
    return sorted(CORPUS.glob("*.tsv"))


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.stem)
def test_corpus_file(path: Path) -> None:
    book = default_phrasebook()
    mismatches = []
    for number, expected, text in _corpus(path):
        found = book.match(text)
        got = None if found is None else found.status
        if got != expected:
            why = "no phrase" if found is None else f"read {found.phrase!r}"
            mismatches.append(f"{path.name}:{number}: expected {expected or '-'}, got {got or '-'} ({why}): {text}")
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches)


def test_corpus_covers_every_courier() -> None:
    sizes = {path.stem: len(_corpus(path)) for path in _files()}
    for courier in COURIERS:
        assert sizes.get(courier, 0) >= 30, f"{courier}.tsv has {sizes.get(courier, 0)} phrases, want 30 or more"
    assert sum(sizes.values()) >= 400
    # every status the couriers' words can carry appears somewhere in the corpus
    seen = {status for path in _files() for _, status, _ in _corpus(path)}
    wanted = {rule.status for rule in default_phrasebook().rules}
    assert wanted - seen == set()


# --- the reading rules ----------------------------------------------------------------------------


def _book(*rules: PhraseRule, boilerplate: tuple[str, ...] = ()) -> PhraseBook:
    return PhraseBook(list(rules), boilerplate)


S = TrackingStatus


def test_highest_priority_wins_and_ties_keep_the_earliest() -> None:
    book = _book(
        PhraseRule(S.returning, 80, ("退回",)),
        PhraseRule(S.delivery_failed, 64, ("派送不成功",)),
        PhraseRule(S.out_for_delivery, 40, ("派送", "派件")),
    )
    assert book.match("快件派送不成功，已退回") == book.match("已退回，快件派送不成功")
    assert book.classify("快件派送不成功，已退回") is S.returning
    assert book.match("派件员正在派送").phrase == "派件"  # same priority: the earlier phrase
    assert book.classify("快件到达") is None
    assert book.classify("") is None and book.classify(None) is None


def test_a_negation_is_read_whole_and_means_nothing() -> None:
    book = _book(PhraseRule(S.delivered, 50, ("签收",), negations=("未签收", "准备签收")))
    assert book.classify("快件未签收") is None
    assert book.classify("正在派送途中,请您准备签收") is None
    assert book.classify("快件未签收，后由本人签收") is S.delivered


def test_a_phrase_outranks_a_negation_of_the_same_words() -> None:
    book = _book(
        PhraseRule(S.delivery_failed, 64, ("派送不成功",)),
        PhraseRule(S.out_for_delivery, 40, ("派送",), negations=("派送不成功",)),
    )
    assert book.classify("快件派送不成功") is S.delivery_failed


def test_the_longest_plain_phrase_wins_at_a_place() -> None:
    book = _book(
        PhraseRule(S.out_of_area, 78, ("超出派送范围",)),
        PhraseRule(S.in_transit, 30, ("派送范围内",)),
        PhraseRule(S.out_for_delivery, 40, ("派送",)),
    )
    assert book.match("收件地址超出派送范围").phrase == "超出派送范围"


def test_patterns_read_words_near_each_other() -> None:
    book = _book(
        PhraseRule(S.delivered, 50, ("已签收",), patterns=("门卫[^，,。]{0,4}代收",)),
        PhraseRule(S.available_for_pickup, 45, ("代收", "驿站")),
    )
    assert book.classify("快件已由门卫代收") is S.delivered
    assert book.classify("快件已由门卫室的李师傅转交，驿站代收") is S.available_for_pickup
    assert book.match("快件已由门卫代收").phrase == "门卫代收"


def test_patterns_with_groups_or_alternation_read_the_same() -> None:
    """A pattern may start with a group, hold a capturing group or an alternation: slower, same reading."""
    words = PhraseRule(S.available_for_pickup, 45, ("代收", "驿站"))
    for pattern in ("(门卫|前台)[^，,。]{0,4}代收", "门卫[^，,。]{0,4}代收|前台[^，,。]{0,4}代收", "(?:门卫|前台)代收"):
        book = _book(PhraseRule(S.delivered, 50, ("已签收",), patterns=(pattern,)), words)
        assert book.classify("快件已由前台代收") is S.delivered, pattern
        assert book.classify("快件已由驿站代收") is S.available_for_pickup, pattern
        assert book.match("快件已由门卫代收").phrase == "门卫代收", pattern


def test_boilerplate_is_cut_before_the_scan() -> None:
    rules = (
        PhraseRule(S.available_for_pickup, 45, ("快递柜", "代收点")),
        PhraseRule(S.out_for_delivery, 40, ("派送",)),
    )
    text = "快递员 张三 正在为您派送，您也可联系小哥将快件放置指定代收点或快递柜"
    assert _book(*rules).classify(text) is S.available_for_pickup
    book = _book(*rules, boilerplate=("可联系[^，,。]{0,8}将快件放置[^，,。]{0,16}",))
    assert book.classify(text) is S.out_for_delivery
    assert "代收点" not in book.strip(text)


def test_english_is_read_in_any_case() -> None:
    book = _book(
        PhraseRule(S.delivered, 50, ("Delivered",), negations=("be delivered",)),
        PhraseRule(S.out_for_delivery, 40, ("out for delivery",)),
    )
    assert book.classify("DELIVERED, Addressee") is S.delivered
    assert book.classify("Item is Out For Delivery and will be delivered today") is S.out_for_delivery


def test_matches_explains_every_phrase_read() -> None:
    book = default_phrasebook()
    found = book.matches("快件派送不成功，已退回")
    assert [(m.status, m.phrase) for m in found] == [(S.delivery_failed, "派送不成功"), (S.returning, "已退回")]


def test_the_projects_book_handles_the_tricky_mixes() -> None:
    book = default_phrasebook()
    assert book.classify("快件派送不成功，已退回") is S.returning
    assert book.classify("拒收，快件正在退回") is S.refused
    assert book.classify("已签收（丰巢智能柜代收）") is S.delivered
    assert book.classify("未签收，快件派送不成功") is S.delivery_failed
    assert book.classify("无法派送") is S.delivery_failed
    assert book.classify("请当面验货，如有破损请拒收。快件正在派送") is S.out_for_delivery
    # the buyer's wish to collect it is a held parcel's reason (留仓，原因：客户要求自提: not stranded), never more:
    # a signature or a station's notice that names it stays a delivery or a parcel to collect
    assert book.classify("快件留仓，原因：客户要求自提") is S.delivery_failed
    assert book.classify("快件已留仓，留仓原因：收件人要求自取") is S.delivery_failed
    assert book.classify("快件已签收，客户要求自提，签收人：本人") is S.delivered
    assert book.classify("客户要求自提，快件已签收") is S.delivered
    assert book.classify("您的快件已到达菜鸟驿站，客户要求自提，请凭取件码取件") is S.available_for_pickup
    assert book.classify("快件已放入丰巢快递柜，客户要求自取，请及时取件") is S.available_for_pickup
    assert book.classify("【武汉洪山网点】快件留仓，原因：网点爆仓延迟派送") is S.stranded


# Of the corpus's `returned` lines, the ones naming the shop as the one who signed: a buyer's return parcel's arrival
SHOP_SIGNED = {"您的退货已由商家签收，退货签收完成", "您的快件已退回商家并签收"}
# Texts that name the shop and signing without saying the shop signed: the shop did not, will, should or failed to
# sign, or the sender signed. Each stays `returned` on a return parcel (else it would draft a 大运险 return claim).
NOT_SHOP_SIGNED = [
    "退回件未被商家签收，已退回寄件人",
    "退货件商家没有签收，退回寄件人",
    "退货件商家暂不签收",
    "退货件商家无法签收",
    "退货件商家不予签收",
    "退回件商家拒绝签收",
    "退回件商家签收失败",
    "退回件商家签收异常",
    "退件已通知商家签收",
    "退回件等候商家签收",
    "退货件商家签收后将为您退款",
    "退件已签收，非商家签收",
    "退回件已签收，签收人：寄件人。商家拒绝签收",
    "退货商家未签收，退回寄件人签收",
]


def test_on_a_return_parcel_the_shops_signature_is_its_delivery() -> None:
    """Every `returned` line of the corpus, read for a buyer's return parcel: the shop signing for it is its
    arrival (delivered); the sender (the buyer) signing, or no signer named, stays returned. Other statuses
    and outbound parcels are untouched (the caller asks only for return parcels)."""
    book = default_phrasebook()
    returned = [text for path in _files() for _, status, text in _corpus(path) if status is S.returned]
    assert SHOP_SIGNED <= set(returned)
    misread = [
        text
        for text in returned
        if book.on_return_parcel(S.returned, text) != (S.delivered if text in SHOP_SIGNED else S.returned)
    ]
    assert not misread, misread
    assert book.on_return_parcel(S.returned, "退回妥投，签收人：卖家") == S.delivered
    for text in NOT_SHOP_SIGNED:
        read = book.classify(text)
        assert read is S.returned, text  # as any parcel reads it
        assert book.on_return_parcel(read, text) == S.returned, text
    assert book.on_return_parcel(S.returning, "您的订单正在返回商家途中") == S.returning
    assert book.on_return_parcel(S.returned, None) == S.returned


def test_the_shipped_patterns_start_with_a_plain_character() -> None:
    """A pattern that starts with a group or a class makes the scan try it at every character (slower)."""
    for rule in default_phrasebook().rules:
        for pattern in rule.patterns + rule.negation_patterns:
            assert pattern[0] not in "([.\\^", f"{rule.status}: {pattern!r}"


# --- config errors: one line naming the file and the entry ----------------------------------------

GOOD = """
[[status]]
status = "delivered"
priority = 50
phrases = ["已签收"]
"""


def _load(tmp_path: Path, text: str) -> PhraseBook:
    path = tmp_path / "phrases.toml"
    path.write_text(text, encoding="utf-8")
    return load_phrasebook(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace('"delivered"', '"signed"'), r"status\[0\]: unknown status 'signed'"),
        (GOOD.replace("priority = 50\n", ""), r"status\[0\] \(delivered\): priority is missing"),
        (GOOD.replace("50", '"high"'), r"status\[0\] \(delivered\): priority must be a whole number"),
        (GOOD.replace('["已签收"]', '["已签收", " "]'), r"status\[0\] \(delivered\): phrases\[1\] is an empty phrase"),
        (GOOD.replace('["已签收"]', '["已签收", 3]'), r"phrases\[1\] must be a string"),
        (GOOD.replace('["已签收"]', '"已签收"'), r"phrases must be a list of strings"),
        (
            GOOD + 'patterns = ["签收(人"]\n',
            r"status\[0\] \(delivered\): patterns\[0\] '签收\(人': not a valid regular",
        ),
        (GOOD + 'patterns = ["(签收)?"]\n', r"patterns\[0\] '\(签收\)\?': matches an empty text"),
        (GOOD + 'patterns = ["Delivered"]\n', r"patterns\[0\] 'Delivered': write patterns in lower case"),
        (GOOD + 'patterns = ["(?P<who>门卫)代收"]\n', r"named groups are not allowed"),
        (GOOD + 'colour = "red"\n', r"status\[0\]: unknown key 'colour'"),
        (GOOD + GOOD, r"status\[1\] \(delivered\): status delivered is already listed in status\[0\]"),
        (
            GOOD + GOOD.replace("delivered", "refused").replace("已签收", "已签收"),
            r"status\[1\] \(refused\): phrase '已签收' is also a phrase of status\[0\] \(delivered\)",
        ),
        ('[boilerplate]\npatterns = ["如有(疑问"]\n' + GOOD, r"boilerplate: patterns\[0\] '如有\(疑问': not a valid"),
        ('[boilerplate]\nphrases = ["如有疑问"]\n' + GOOD, r"boilerplate: unknown key 'phrases'"),
        ("[[status]]\nstatus = 'delivered'\npriority = 50\n", r"status\[0\] \(delivered\): no phrases and no patterns"),
        ("[extra]\n" + GOOD, r"unknown key 'extra'"),
        (
            '[return_parcel]\nshop_signed = ["商家(签收"]\n' + GOOD,
            r"return_parcel: shop_signed\[0\] '商家\(签收': not a",
        ),
        (
            '[return_parcel]\nsigned = ["商家签收"]\n' + GOOD,
            r"return_parcel: unknown key 'signed' \(known: shop_signed, shop_signed_negations\)",
        ),
        ('return_parcel = "商家签收"\n' + GOOD, r"return_parcel: must be a table"),
        ("", r"no \[\[status\]\] entries"),
        ("[[status]\n", r"not valid TOML"),
    ],
)
def test_a_bad_entry_names_the_file_and_the_entry(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    error = str(caught.value)
    assert error.startswith(str(tmp_path / "phrases.toml")), error
    assert re.search(message, error), error
    assert "\n" not in error


def test_a_good_file_loads_and_reads(tmp_path: Path) -> None:
    book = _load(tmp_path, GOOD + 'negations = ["未签收"]\npatterns = ["签收人[:：]"]\n')
    assert book.classify("已签收") is S.delivered
    assert book.classify("签收人：本人") is S.delivered
    assert book.classify("未签收") is None
    assert book.on_return_parcel(S.returned, "商家已签收") == S.returned  # no [return_parcel]: as read
    book = _load(
        tmp_path, '[return_parcel]\nshop_signed = ["仓库[^，]{0,4}签收"]\nshop_signed_negations = ["未签收"]\n' + GOOD
    )
    assert book.on_return_parcel(S.returned, "退货已由仓库签收") == S.delivered
    assert book.on_return_parcel(S.returned, "退货仓库未签收") == S.returned


def test_the_projects_file_loads() -> None:
    book = load_phrasebook(CONFIG)
    assert {rule.status for rule in book.rules} >= {
        S.picked_up, S.in_transit, S.out_for_delivery, S.available_for_pickup, S.delivered, S.refused,
        S.returning, S.returned, S.damaged, S.lost, S.out_of_area, S.stranded, S.address_problem,
        S.unreachable, S.intercepted, S.cancelled, S.missorted, S.delivery_failed, S.locker_overdue,
        S.customs,
    }  # fmt: skip


def test_phrasebook_for_a_folder_without_the_file_uses_the_projects(tmp_path: Path) -> None:
    phrasebook_for.cache_clear()
    try:
        assert phrasebook_for(tmp_path).classify("已签收") is S.delivered
        (tmp_path / "phrases.toml").write_text(GOOD.replace("已签收", "妥投了"), encoding="utf-8")
        other = tmp_path / "other"
        other.mkdir()
        (other / "phrases.toml").write_text(GOOD.replace("已签收", "妥投了"), encoding="utf-8")
        assert phrasebook_for(other).classify("已签收") is None
        assert phrasebook_for(other).classify("妥投了") is S.delivered
    finally:
        phrasebook_for.cache_clear()


def test_reading_stays_quick_on_long_and_repeated_texts() -> None:
    """A guard against a pattern that backtracks badly (the real cost is a few µs a text; see the docs)."""
    book = load_phrasebook(CONFIG)  # a fresh book: nothing remembered yet
    texts = [text for path in _files() for _, _, text in _corpus(path)]
    started = time.perf_counter()
    for text in texts:
        book.match(text)
    assert time.perf_counter() - started < 0.5 * len(texts) / 400  # under 1.25 ms a text, far above the real cost
    long_text = "，".join(texts)[:5000] + "已签收"
    started = time.perf_counter()
    assert book.match(long_text) is not None
    assert time.perf_counter() - started < 0.5
    assert book.match(texts[0]) is book.match(texts[0])  # remembered
