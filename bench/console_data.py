"""A year of generated cases for the console benchmark, bulk-inserted (SQLite executemany, PostgreSQL COPY).

Rows look like the callbot's: routed categories and wards of today's city (units as routing.route picks
them), a caller pool with repeat callers, Vietnamese descriptions from templates, legacy place names on
some, statuses weighted towards closed, created_at over a year in id order, search_text as filed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, text

from config.catalog import Catalog
from routing.gazetteer import Gazetteer, LegacyWard
from routing.route import unit_for
from storage.models import Case
from storage.numbers import case_number
from storage.search import case_search_text

START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=365)
CHUNK = 20_000
RARE_WORD = "rắn"
"""One case in about 20,000 mentions it (and no other word folds to a word starting like it)."""
STATUSES = {"closed": 55, "resolved": 15, "in_progress": 9, "assigned": 8, "new": 5, "incomplete": 6, "rejected": 2}
STREETS = ("Nguyễn Huệ", "Lê Lợi", "Điện Biên Phủ", "Cách Mạng Tháng Tám", "Nguyễn Thị Minh Khai", "Võ Văn Tần",
           "Lý Thường Kiệt", "Hai Bà Trưng", "Trần Hưng Đạo", "Nguyễn Trãi", "Phan Đăng Lưu", "Lê Văn Sỹ",
           "Hoàng Văn Thụ", "Cộng Hòa", "Trường Chinh", "Quang Trung", "Phạm Văn Đồng", "Kha Vạn Cân",
           "Võ Văn Ngân", "Lê Văn Việt", "Nguyễn Văn Linh", "Huỳnh Tấn Phát", "Tô Ký", "Lũy Bán Bích", "Âu Cơ",
           "Kinh Dương Vương", "An Dương Vương", "Hùng Vương", "Nguyễn Duy Trinh", "Bình Long")
TEMPLATES: dict[str, tuple[str, ...]] = {
    "HT_DUONG": ("Mặt đường {street} đoạn trước số {n} bị sụt lún, xe máy đi qua rất nguy hiểm",
                 "Có ổ gà lớn giữa đường {street} gần hẻm {n}",
                 "Nắp hố ga trên đường {street} bị vỡ, chưa có biển cảnh báo",
                 "Vỉa hè đường {street} bị bong gạch, người đi bộ vấp ngã"),
    "HT_NGAP": ("Đường {street} ngập sâu sau cơn mưa chiều nay, nước tràn vào nhà dân",
                "Hẻm {n} đường {street} ngập nước nhiều ngày chưa rút",
                "Cống thoát nước đường {street} bị tắc, nước đen bốc mùi hôi"),
    "HT_CHIEUSANG": ("Đèn đường trên đường {street} đoạn số {n} không sáng mấy đêm nay",
                     "Cột đèn chiếu sáng ở hẻm {n} {street} bị nghiêng sắp đổ"),
    "CAYXANH": ("Cây xanh trước số {n} đường {street} bị gãy nhánh, đè lên dây điện",
                "Cây đổ chắn ngang đường {street} sau cơn giông",
                "Cây trên vỉa hè đường {street} nghiêng nguy hiểm, cần cắt tỉa"),
    "DIEN": ("Khu vực hẻm {n} đường {street} bị cúp điện từ sáng đến giờ",
             "Dây điện trước nhà số {n} {street} bị đứt, thả xuống mặt đường"),
    "CAPNUOC": ("Nhà số {n} đường {street} mất nước sinh hoạt hai ngày nay",
                "Ống nước bị vỡ trên đường {street}, nước chảy lênh láng",
                "Nước máy ở hẻm {n} {street} có màu vàng đục"),
    "MOITRUONG": ("Rác thải tập kết trên vỉa hè đường {street} lâu ngày không thu gom",
                  "Xưởng ở hẻm {n} {street} xả khói bụi gây ô nhiễm"),
    "TIENGON": ("Quán nhậu ở số {n} đường {street} hát karaoke ồn ào đến khuya",
                "Công trình trên đường {street} thi công ban đêm gây tiếng ồn"),
    "TTDT": ("Hàng quán lấn chiếm vỉa hè đường {street}, người đi bộ phải xuống lòng đường",
             "Xe ô tô đậu trên vỉa hè trước số {n} {street}"),
    "TTXD": ("Nhà số {n} đường {street} xây dựng sai phép, lấn ra hẻm",
             "Công trình ở hẻm {n} {street} không che chắn, vật liệu rơi xuống đường"),
    "GIAOTHONG": ("Đèn tín hiệu giao thông ở giao lộ {street} không hoạt động",
                  "Biển báo giao thông trên đường {street} bị che khuất"),
    "XEBUYT": ("Xe buýt tuyến số {n} không dừng đón khách tại trạm {street}",
               "Tài xế xe buýt tuyến {n} chạy ẩu trên đường {street}"),
    "ANTT": ("Có nhóm thanh niên tụ tập đánh nhau ở hẻm {n} đường {street}",
             "Xảy ra trộm cắp xe máy nhiều lần tại khu vực đường {street}"),
    "HANHCHINH": ("Hồ sơ cấp giấy phép xây dựng nộp tại phường đã quá hạn chưa có kết quả",
                  "Cán bộ tiếp dân thái độ chưa đúng mực khi tôi đến làm thủ tục"),
    "YTE_ATTP": ("Cơ sở kinh doanh thức ăn ở số {n} đường {street} mất vệ sinh",
                 "Nhiều người bị ngộ độc sau khi ăn tại quán trên đường {street}"),
    "KHAC": ("Tôi muốn góp ý về việc làm thêm sân chơi cho trẻ em ở khu phố",
             "Đề nghị lắp thêm ghế đá trong công viên gần đường {street}"),
}
RARE_TEMPLATE = "Phát hiện " + RARE_WORD + " lạ bò vào nhà dân ở hẻm {n} {street}"
CATEGORY_WEIGHTS = {"HT_NGAP": 14, "HT_DUONG": 10, "MOITRUONG": 12, "TIENGON": 9, "TTDT": 9, "CAYXANH": 7,
                    "DIEN": 6, "CAPNUOC": 6, "TTXD": 6, "GIAOTHONG": 5, "HT_CHIEUSANG": 4, "ANTT": 4, "XEBUYT": 2,
                    "HANHCHINH": 2, "YTE_ATTP": 2, "KHAC": 2}
COLUMNS = ("id", "number", "channel", "caller_number", "category", "description", "address_text", "ward",
           "ward_code", "legacy_ward", "legacy_district", "unit_code", "status", "deadline", "search_text",
           "created_at", "updated_at")


@dataclass
class _Row:
    """The attributes case_search_text reads, without an ORM object per row."""

    number: str
    caller_number: str
    description: str
    address_text: str | None
    ward: str | None
    legacy_ward: str | None
    legacy_district: str | None


def generate_rows(catalog: Catalog, gazetteer: Gazetteer, count: int, callers: list[str],
                  seed: int = 1022) -> Iterator[tuple[Any, ...]]:
    """count rows in COLUMNS order, ids 1..count, times increasing with the id (naive UTC for SQLite)."""
    rng = random.Random(seed)
    wards = list(gazetteer.wards)
    legacy: dict[str, list[LegacyWard]] = {}
    for old in gazetteer.legacy_wards:
        legacy.setdefault(old.default.code, []).append(old)
    units = {(c, w.code): unit_for(catalog, c, w) for c in catalog.categories for w in wards}
    categories, weights = list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values())
    statuses, status_weights = list(STATUSES), list(STATUSES.values())
    step = SPAN / count
    for id_ in range(1, count + 1):
        category = rng.choices(categories, weights)[0]
        ward = rng.choice(wards)
        street, n = rng.choice(STREETS), rng.randint(1, 400)
        template = RARE_TEMPLATE if rng.random() < 1 / 20_000 else rng.choice(TEMPLATES[category])
        old = rng.choice(legacy[ward.code]) if ward.code in legacy and rng.random() < 0.3 else None
        row = _Row(case_number(id_), rng.choice(callers), template.format(street=street, n=n),
                   rng.choice((f"{n} {street}", f"hẻm {n} {street}", None)), ward.full_name,
                   old.full_name if old else None, old.district.full_name if old else None)
        created = START + step * id_ + timedelta(seconds=rng.randint(0, 59))
        status = rng.choices(statuses, status_weights)[0]
        days = catalog.categories[category].deadline_days
        deadline = None if status == "incomplete" else created + timedelta(days=round(days * 7 / 5))
        yield (id_, row.number, "phone", row.caller_number, category, row.description, row.address_text, row.ward,
               ward.code, row.legacy_ward, row.legacy_district, units[category, ward.code], status, deadline,
               case_search_text(cast(Case, row), []), created, created)


def caller_pool(size: int, seed: int = 84) -> list[str]:
    """Distinct mobile numbers as Twilio gives them (+84…)."""
    rng = random.Random(seed)
    return sorted({f"+84{rng.choice('35789')}{rng.randint(0, 99_999_999):08d}" for _ in range(size)})


def insert_cases(engine: Engine, catalog: Catalog, gazetteer: Gazetteer, count: int) -> list[str]:
    """Fill the (empty) cases table; returns the caller pool used."""
    callers = caller_pool(max(100, count // 5))
    rows = generate_rows(catalog, gazetteer, count, callers)
    if engine.dialect.name == "sqlite":
        _sqlite(engine, rows)
    else:
        _postgres(engine, rows)
    return callers


def _sqlite(engine: Engine, rows: Iterator[tuple[Any, ...]]) -> None:
    insert = f"INSERT INTO cases ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    deadline, created, updated = COLUMNS.index("deadline"), COLUMNS.index("created_at"), COLUMNS.index("updated_at")
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA synchronous = OFF")  # a throw-away database: no need to survive a power cut
        cursor.execute("BEGIN")
        while chunk := [_sqlite_times(row, (deadline, created, updated)) for row in _take(rows, CHUNK)]:
            cursor.executemany(insert, chunk)
        cursor.execute("COMMIT")
        cursor.execute("ANALYZE")
    finally:
        raw.close()


def _sqlite_times(row: tuple[Any, ...], positions: tuple[int, ...]) -> tuple[Any, ...]:
    """Timestamps as UTCDateTime stores them on SQLite: naive UTC text."""
    values = list(row)
    for i in positions:
        if values[i] is not None:
            values[i] = values[i].strftime("%Y-%m-%d %H:%M:%S.%f")
    return tuple(values)


def _postgres(engine: Engine, rows: Iterator[tuple[Any, ...]]) -> None:
    # Building the GIN index once after loading is much faster than keeping it up to date row by row.
    with engine.begin() as conn:
        index = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_cases_search_text' "
                                  "AND schemaname = current_schema()")).scalar_one()
        conn.execute(text("DROP INDEX ix_cases_search_text"))
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY cases ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        conn.execute(text(index))
        conn.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE cases"))


def _take(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[tuple[Any, ...]]:
    for _, row in zip(range(size), rows):
        yield row
