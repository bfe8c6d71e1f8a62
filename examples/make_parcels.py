"""Writes examples/parcels.csv (a Taobao/Tmall seller-center order export) and examples/returns.csv (the
退款管理 returns export), both with Chinese headers in UTF-8 with BOM, as the seller center downloads them.

Deterministic (seeded), so the committed file can be regenerated: python examples/make_parcels.py [N] [OUT]
bench/import.py uses `generate_rows` for its 100,000-row file.
"""

from __future__ import annotations

import csv
import random
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

HEADERS = [
    "订单编号",
    "买家会员名",
    "买家实际支付金额",
    "买家应付邮费",
    "订单状态",
    "收货人姓名",
    "收货地址",
    "联系手机",
    "订单创建时间",
    "订单付款时间",
    "宝贝标题",
    "物流单号",
    "物流公司",
    "店铺名称",
    "发货时间",
]

COURIERS = [  # (物流公司 as the export writes it, waybill maker, share)
    ("中通快递", lambda r: f"7{r.randrange(5, 9)}{r.randrange(10**11, 10**12)}", 30),
    ("圆通速递", lambda r: f"YT{r.randrange(10**12, 10**13)}", 22),
    ("韵达快递", lambda r: f"43{r.randrange(10**9, 10**10)}0", 14),
    ("申通快递", lambda r: f"77{r.randrange(10**9, 10**10)}0", 10),
    ("顺丰速运", lambda r: f"SF{r.randrange(10**12, 10**13)}", 10),
    ("极兔速递", lambda r: f"JT{r.randrange(10**12, 10**13)}", 7),
    ("京东快递", lambda r: f"JDVA{r.randrange(10**10, 10**11)}", 4),
    ("EMS", lambda r: f"E{chr(65 + r.randrange(26))}{r.randrange(10**8, 10**9)}CN", 3),
]
REGIONS = [
    ("浙江省", "杭州市", "西湖区"), ("广东省", "深圳市", "南山区"), ("上海", "上海市", "浦东新区"),
    ("北京", "北京市", "朝阳区"), ("四川省", "成都市", "武侯区"), ("江苏省", "南京市", "鼓楼区"),
    ("湖北省", "武汉市", "洪山区"), ("西藏自治区", "拉萨市", "城关区"),
    ("新疆维吾尔自治区", "乌鲁木齐市", "天山区"),
    ("河南省", "郑州市", "金水区"), ("山东省", "青岛市", "市南区"), ("福建省", "厦门市", "思明区"),
]  # fmt: skip
GOODS = [("纯棉短袖T恤 男款", "59.00"), ("加厚羽绒服 冬季", "399.00"), ("无线蓝牙耳机", "199.00"),
         ("不锈钢保温杯 500ml", "89.90"), ("儿童积木玩具套装", "128.00"), ("空气炸锅 4.5L", "329.00"),
         ("真丝围巾", "268.50"), ("运动跑鞋", "459.00")]  # fmt: skip
SHOPS = ["悦家旗舰店", "悦家生活馆"]
SURNAMES = "王李张刘陈杨黄赵吴周"


def generate_rows(
    n: int, *, seed: int = 20261101, start: datetime | None = None, until: datetime | None = None
) -> Iterator[list[str]]:
    """`n` export rows from `start`; with `until` (the export's own time), none shipped after it."""
    rng = random.Random(seed)
    start = start or datetime(2026, 11, 1, 8, 0)
    weights = [c[2] for c in COURIERS]
    for i in range(n):
        courier, make, _ = rng.choices(COURIERS, weights)[0]
        province, city, district = rng.choice(REGIONS)
        title, price = rng.choice(GOODS)
        # to the second, as the seller center writes its times (the seconds come from the row's number, so the
        # random draws, and every other value, stay what they were before the seconds were added)
        created = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 20), seconds=i * 37 % 60)
        paid = created + timedelta(minutes=rng.randrange(1, 30), seconds=(i * 53 + 11) % 60)
        shipped = paid + timedelta(hours=rng.randrange(2, 60), seconds=(i * 29 + 7) % 60)
        if until is not None and shipped > until - timedelta(hours=1):  # an export lists what has shipped
            shipped = max(paid, until - timedelta(hours=1, seconds=(i * 29 + 7) % 60))
        yield [
            f"{3_900_000_000_000_000_000 + i * 7919}",
            f"tb_buyer_{rng.randrange(10**6):06d}",
            price,
            "0.00" if rng.random() < 0.8 else "10.00",
            "卖家已发货，等待买家确认",
            rng.choice(SURNAMES) + "**",
            f"{province} {city} {district} 某某路{rng.randrange(1, 999)}号({rng.randrange(100000, 999999)})",
            f"1{rng.randrange(30, 99)}****{rng.randrange(1000, 9999)}",
            created.strftime("%Y-%m-%d %H:%M:%S"),
            paid.strftime("%Y-%m-%d %H:%M:%S"),
            title,
            f"No:{make(rng)}",
            courier,
            rng.choice(SHOPS),
            shipped.strftime("%Y-%m-%d %H:%M:%S"),
        ]


RETURN_HEADERS = [
    "退款编号",
    "订单编号",
    "买家会员名",
    "买家实际支付金额",
    "买家退款金额",
    "退款申请时间",
    "卖家同意退货时间",
    "超时时间",
    "退货物流公司",
    "退货物流单号",
    "退款状态",
    "宝贝标题",
]


def generate_return_rows(n: int, *, seed: int = 20261111, start: datetime | None = None) -> Iterator[list[str]]:
    """Rows of the 退款管理 export: buyers sending goods back, each with its refund countdown."""
    rng = random.Random(seed)
    start = start or datetime(2026, 11, 8, 9, 0)
    weights = [c[2] for c in COURIERS]
    for i in range(n):
        courier, make, _ = rng.choices(COURIERS, weights)[0]
        title, price = rng.choice(GOODS)
        applied = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 12), seconds=i * 41 % 60)  # as above
        agreed = applied + timedelta(hours=rng.randrange(1, 30), seconds=(i * 23 + 5) % 60)
        yield [
            f"{2_100_000_000_000_000 + i * 104729}",
            f"{3_800_000_000_000_000_000 + i * 7919}",
            f"tb_buyer_{rng.randrange(10**6):06d}",
            price,
            price,
            applied.strftime("%Y-%m-%d %H:%M:%S"),
            agreed.strftime("%Y-%m-%d %H:%M:%S"),
            (agreed + timedelta(days=10)).strftime("%Y-%m-%d %H:%M:%S"),
            courier,
            make(rng),
            "买家已经退货，等待卖家确认收货",
            title,
        ]


def write_returns_csv(path: Path, n: int, *, seed: int = 20261111) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(RETURN_HEADERS)
        writer.writerows(generate_return_rows(n, seed=seed))
    return path


def write_csv(path: Path, n: int, *, encoding: str = "utf-8-sig", seed: int = 20261101) -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS)
        writer.writerows(generate_rows(n, seed=seed))
    return path


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).with_name("parcels.csv")
    write_csv(out, count)
    print(f"wrote {count} rows to {out}")
    returns = out.with_name("returns.csv")
    write_returns_csv(returns, max(10, count // 10))
    print(f"wrote {max(10, count // 10)} rows to {returns}")
