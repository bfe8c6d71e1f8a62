"""The baseline of bench/board.py --browser: the least a Streamlit page costs here (a title and a small table,
nothing read), served with the board's own `streamlit run` options."""

import streamlit as st

st.title("基准页")
_ = st.dataframe({"快递": ["顺丰速运", "中通快递", "圆通速递"], "件数": [1, 2, 3]})
