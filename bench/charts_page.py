"""A reference of bench/board.py --browser: the overview's four charts alone on a page (by kind, by courier,
ageing, per day), read and built by the board's own code, nothing else shown: what the charts cost by
themselves, against which the overview's ratio can be read. Served with the board's `streamlit run` options."""

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `streamlit run` puts bench/ on the path

from dashboard import charts  # noqa: E402
from dashboard.context import board  # noqa: E402

b = board()
st.title("四张图")
words = charts.Words(lang=b.lang, courier=b.courier)
stale = b.settings.rules.stale
shown = (
    charts.by_kind(b.read("open_by", column="kind"), words),
    charts.by_courier(b.read("open_by_courier_kind"), words),
    charts.ageing(b.read("ageing", now=b.now), words, warn_hours=stale.warn_hours, escalate_hours=stale.escalate_hours),
    charts.per_day(b.read("exceptions_per_day", now=b.now, tz=b.settings.timezone), words),
)
for chart in shown:
    _ = st.altair_chart(chart, width="stretch")
