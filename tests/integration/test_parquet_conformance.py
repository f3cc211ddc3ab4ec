"""Parquet conformance: files from questlog's writer, read back by pyarrow and DuckDB.

Every test builds the expected rows in Python, hands them to the
tests/tools/write_parquet driver (its input format is described at the top of
write_parquet.cpp), and checks that pyarrow.parquet and DuckDB read exactly
those values back, with the declared types and statistics. A small Thrift
compact decoder below walks the footer and the page headers too, so page
layout (dictionary page first, fallback to PLAIN, page splitting, sizes that
add up) is checked by something that is not the writer.

The driver comes from $QUESTLOG_TOOLS_DIR, else <repo>/build (what `make test`
builds).
"""

from __future__ import annotations

import math
import os
import random
import struct
import subprocess
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[2]

ARROW_TYPES = {
    "string": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "float64": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
}
PHYSICAL = {
    "string": "BYTE_ARRAY",
    "int64": "INT64",
    "float64": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "INT64",
}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@pytest.fixture(scope="module")
def driver() -> str:
    tools = Path(os.environ.get("QUESTLOG_TOOLS_DIR") or REPO / "build")
    path = tools / "write_parquet"
    if not os.access(path, os.X_OK):
        pytest.fail(f"write_parquet not found or not executable: {path} (set QUESTLOG_TOOLS_DIR)")
    return str(path)


# --------------------------------------------------------------------------- writing


def escape(s: str) -> bytes:
    out = bytearray()
    for b in s.encode("utf-8"):
        if b == 0x5C:
            out += b"\\\\"
        elif b == 0x09:
            out += b"\\t"
        elif b == 0x0A:
            out += b"\\n"
        elif b == 0x0D:
            out += b"\\r"
        elif b < 0x20 or b == 0x7F:
            out += b"\\x%02x" % b
        else:
            out.append(b)
    return bytes(out)


def encode_field(kind: str, v) -> bytes:
    if v is None:
        return b"\\N"
    if kind == "string":
        return escape(v)
    if kind in ("int64", "timestamp"):
        return str(int(v)).encode()
    if kind == "float64":
        return float(v).hex().encode()  # exact: hex digits, or inf / -inf / nan
    if kind == "boolean":
        return b"1" if v else b"0"
    raise ValueError(kind)


def write(driver: str, path: Path, columns, rows, **options) -> dict:
    """Writes `rows` (tuples, one value or None per column) with the driver."""
    lines = [" ".join(f"{k}={v}" for k, v in options.items()).encode()]
    lines.append(b"\t".join(escape(name) + b":" + kind.encode() for name, kind in columns))
    for row in rows:
        assert len(row) == len(columns)
        lines.append(b"\t".join(encode_field(kind, v) for (_, kind), v in zip(columns, row)))
    data = b"\n".join(lines) + b"\n"
    proc = subprocess.run(
        [driver, str(path)], input=data, capture_output=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    summary = dict(kv.split("=") for kv in proc.stdout.decode().split())
    summary = {k: int(v) for k, v in summary.items()}
    assert summary["rows"] == len(rows)
    assert summary["bytes"] == path.stat().st_size
    return summary


# --------------------------------------------------------------------------- comparing


def same(kind: str, got, want) -> bool:
    if want is None or got is None:
        return got is None and want is None
    if kind == "float64":
        if math.isnan(want):
            return math.isnan(got)
        return got == want and math.copysign(1, got) == math.copysign(1, want)
    return got == want and type(got) is type(want)


def assert_columns_equal(columns, got_columns, rows, reader: str):
    for i, (name, kind) in enumerate(columns):
        want = [r[i] for r in rows]
        got = got_columns[i]
        assert len(got) == len(want), f"{reader}: column {name}: {len(got)} rows, want {len(want)}"
        for j, (g, w) in enumerate(zip(got, want)):
            assert same(kind, g, w), f"{reader}: column {name} row {j}: got {g!r}, want {w!r}"


def check_pyarrow(path: Path, columns, rows):
    table = pq.read_table(path)
    want_schema = pa.schema([pa.field(name, ARROW_TYPES[kind]) for name, kind in columns])
    assert table.schema.remove_metadata() == want_schema
    assert table.num_rows == len(rows)
    got = []
    for i, (_, kind) in enumerate(columns):
        col = table.column(i)
        if kind == "timestamp":
            col = col.cast(pa.int64())
        got.append(col.to_pylist())
    assert_columns_equal(columns, got, rows, "pyarrow")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def check_duckdb(path: Path, columns, rows):
    con = duckdb.connect()
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        assert [(d[0], d[1]) for d in described] == [
            (name, DUCKDB_TYPES[kind]) for name, kind in columns
        ]
        select = ", ".join(
            f"epoch_us({quote(name)})" if kind == "timestamp" else quote(name)
            for name, kind in columns
        )
        result = con.execute(
            f"SELECT {select} FROM read_parquet(?, file_row_number=true) ORDER BY file_row_number",
            [str(path)],
        ).fetchall()
    finally:
        con.close()
    got = [[r[i] for r in result] for i in range(len(columns))]
    assert_columns_equal(columns, got, rows, "duckdb")


def expected_statistics(kind: str, values):
    """(null_count, min, max) as the writer must report them; min/max None if absent."""
    nulls = sum(v is None for v in values)
    present = [v for v in values if v is not None]
    if kind == "float64":
        present = [v for v in present if not math.isnan(v)]
    if not present:
        return nulls, None, None
    if kind == "string":
        lo = min(present, key=lambda s: s.encode())
        hi = max(present, key=lambda s: s.encode())
        if max(len(lo.encode()), len(hi.encode())) > 4096:
            return nulls, None, None  # left out rather than truncated
        return nulls, lo, hi
    lo, hi = min(present), max(present)
    if kind == "float64":
        lo = -0.0 if lo == 0 else lo
        hi = 0.0 if hi == 0 else hi
    return nulls, lo, hi


def check_statistics(path: Path, columns, rows):
    md = pq.ParquetFile(path).metadata
    start = 0
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        group_rows = rows[start : start + rg.num_rows]
        start += rg.num_rows
        for i, (name, kind) in enumerate(columns):
            cc = rg.column(i)
            stats = cc.statistics
            assert cc.is_stats_set, name
            nulls, lo, hi = expected_statistics(kind, [r[i] for r in group_rows])
            where = f"row group {g} column {name}"
            assert stats.null_count == nulls, where
            assert cc.num_values == len(group_rows), where
            if lo is None:
                assert not stats.has_min_max, where
                continue
            assert stats.has_min_max, where
            got_lo, got_hi = (
                (stats.min_raw, stats.max_raw) if kind == "timestamp" else (stats.min, stats.max)
            )
            assert same(kind, got_lo, lo), f"{where}: min {got_lo!r}, want {lo!r}"
            assert same(kind, got_hi, hi), f"{where}: max {got_hi!r}, want {hi!r}"
    assert start == len(rows)


def check_all(path: Path, columns, rows):
    check_pyarrow(path, columns, rows)
    check_duckdb(path, columns, rows)
    check_statistics(path, columns, rows)
    check_layout(path, columns)


# --------------------------------------------------------------------------- footer and pages


class Compact:
    """Thrift compact protocol decoder: structs become {field id: value}."""

    def __init__(self, buf: bytes, pos: int = 0):
        self.buf, self.pos = buf, pos

    def byte(self) -> int:
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, t: int):
        if t in (1, 2):
            return t == 1
        if t == 3:
            return self.byte()
        if t in (4, 5, 6):
            return self.zigzag()
        if t == 7:
            (d,) = struct.unpack_from("<d", self.buf, self.pos)
            self.pos += 8
            return d
        if t == 8:
            n = self.varint()
            s = self.buf[self.pos : self.pos + n]
            self.pos += n
            return bytes(s)
        if t in (9, 10):
            h = self.byte()
            size, et = h >> 4, h & 0x0F
            if size == 15:
                size = self.varint()
            if et in (1, 2):
                return [self.byte() == 1 for _ in range(size)]
            return [self.value(et) for _ in range(size)]
        if t == 12:
            return self.struct()
        raise ValueError(f"thrift type {t} at {self.pos}")

    def struct(self) -> dict:
        fields, last = {}, 0
        while True:
            b = self.byte()
            if b == 0:
                return fields
            t, delta = b & 0x0F, b >> 4
            fid = last + delta if delta else self.zigzag()
            fields[fid] = self.value(t)
            last = fid


PAGE_DATA, PAGE_DICTIONARY = 0, 2
DICTIONARY_KINDS = ("string", "int64", "timestamp")
ENC_PLAIN, ENC_RLE, ENC_RLE_DICTIONARY = 0, 3, 8


def footer(path: Path) -> dict:
    data = path.read_bytes()
    assert data[:4] == b"PAR1" and data[-4:] == b"PAR1"
    (n,) = struct.unpack_from("<I", data, len(data) - 8)
    meta = Compact(data, len(data) - 8 - n)
    fmd = meta.struct()
    assert meta.pos == len(data) - 8, "footer length does not match its thrift"
    return fmd


def pages(path: Path) -> list[list[list[dict]]]:
    """Page headers per row group, per column, checking that sizes add up."""
    data = path.read_bytes()
    fmd = footer(path)
    out = []
    for rg in fmd[4]:
        group = []
        for cc in rg[1]:
            md = cc[3]
            start = md.get(11, md[9])
            end = start + md[7]
            pos, headers, uncompressed = start, [], 0
            while pos < end:
                r = Compact(data, pos)
                h = r.struct()
                size = r.pos - pos
                headers.append(h)
                uncompressed += size + h[2]
                pos = r.pos + h[3]
            assert pos == end, "pages overrun the column chunk"
            assert uncompressed == md[6], "total_uncompressed_size"
            group.append(headers)
        out.append(group)
    return out


def check_layout(path: Path, columns):
    fmd = footer(path)
    assert fmd[1] == 1  # version
    schema = fmd[2]
    assert schema[0][5] == len(columns)  # root num_children
    assert [e[4].decode() for e in schema[1:]] == [name for name, _ in columns]
    assert all(e[3] == 1 for e in schema[1:])  # OPTIONAL
    assert fmd[7] == [{1: {}}] * len(columns)  # column_orders: TypeDefinedOrder
    assert sum(rg[3] for rg in fmd[4]) == fmd[3]
    # Row groups are contiguous from byte 4: parquet-mr (Spark) checks file_offset this way.
    offset = 4
    for rg in fmd[4]:
        assert rg[5] == offset and rg[6] == sum(cc[3][7] for cc in rg[1])
        assert rg[2] == sum(cc[3][6] for cc in rg[1])
        offset += rg[6]
    for rg, group in zip(fmd[4], pages(path)):
        assert rg[5] == rg[1][0][3].get(11, rg[1][0][3][9])  # row group file_offset
        for (name, kind), cc, headers in zip(columns, rg[1], group):
            md = cc[3]
            data_pages = [h for h in headers if h[1] == PAGE_DATA]
            dict_pages = [h for h in headers if h[1] == PAGE_DICTIONARY]
            assert sum(h[5][1] for h in data_pages) == md[5] == rg[3], name
            assert all(h[5][3] == ENC_RLE and h[5][4] == ENC_RLE for h in data_pages), name
            assert len(dict_pages) <= 1 and (not dict_pages or headers[0] is dict_pages[0]), name
            assert (11 in md) == bool(dict_pages), name
            encodings = {h[5][2] for h in data_pages}
            if kind not in DICTIONARY_KINDS:
                assert encodings <= {ENC_PLAIN} and not dict_pages, name
            elif ENC_RLE_DICTIONARY in encodings:
                assert dict_pages and dict_pages[0][7][2] == ENC_PLAIN, name
            want = {ENC_RLE} | encodings | ({ENC_PLAIN} if dict_pages else set())
            assert set(md[2]) == want, name


# --------------------------------------------------------------------------- tests

ALL_TYPES = [
    ("s", "string"),
    ("i", "int64"),
    ("f", "float64"),
    ("b", "boolean"),
    ("t", "timestamp"),
]

# Timestamps stay within DuckDB's finite range: it reads INT64_MAX and
# INT64_MIN + 1 (and below) as +/-infinity, its own sentinels.
EDGE_ROWS = [
    ("hello", 1, 3.0, True, 1_700_000_000_000_000),
    (None, None, None, None, None),
    ("", 0, 0.0, False, 0),
    ("h\u00e9llo w\u00f6rld", INT64_MAX, -0.0, True, -1),
    ("\u65e5\u672c\u8a9e \U0001f3ae", INT64_MIN, float("inf"), None, INT64_MAX - 1),
    ("tab\there\nnewline\\backslash", -5, float("-inf"), False, INT64_MIN + 2),
    ("\\N", 42, float("nan"), True, 253402300799999999),
    ("nul\x00byte", None, 5e-324, None, -62135596800000000),
    (None, 7, 1.7976931348623157e308, True, 1),
    ("z", -1, -2.5, False, 86_400_000_000),
]


def test_all_five_types_with_edge_values(driver, tmp_path):
    path = tmp_path / "edge.parquet"
    write(driver, path, ALL_TYPES, EDGE_ROWS)
    check_all(path, ALL_TYPES, EDGE_ROWS)


def test_schema_annotations(driver, tmp_path):
    path = tmp_path / "schema.parquet"
    write(driver, path, ALL_TYPES, EDGE_ROWS[:2])
    f = pq.ParquetFile(path)
    md = f.metadata
    assert md.created_by == "questlog version 0.1.0"
    assert md.num_rows == 2 and md.num_columns == 5
    for i, (_, kind) in enumerate(ALL_TYPES):
        col = f.schema.column(i)
        assert col.physical_type == PHYSICAL[kind]
        assert col.max_definition_level == 1 and col.max_repetition_level == 0
    s, t = f.schema.column(0), f.schema.column(4)
    assert s.logical_type.type == "STRING" and s.converted_type == "UTF8"
    assert t.logical_type.type == "TIMESTAMP" and t.converted_type == "TIMESTAMP_MICROS"
    assert "isAdjustedToUTC=true" in str(t.logical_type)
    assert "microseconds" in str(t.logical_type)
    assert f.schema.column(1).logical_type.type == "NONE"


def test_zero_rows(driver, tmp_path):
    path = tmp_path / "empty.parquet"
    summary = write(driver, path, ALL_TYPES, [])
    assert summary["row_groups"] == 0
    check_all(path, ALL_TYPES, [])
    assert pq.ParquetFile(path).metadata.num_row_groups == 0


def test_all_null_and_empty_string_columns(driver, tmp_path):
    columns = [(f"null_{k}", k) for _, k in ALL_TYPES] + [("empty", "string")]
    rows = [(None,) * 5 + ("",) for _ in range(1000)]
    path = tmp_path / "nulls.parquet"
    write(driver, path, columns, rows)
    check_all(path, columns, rows)
    md = pq.ParquetFile(path).metadata
    for i in range(5):
        assert not md.row_group(0).column(i).statistics.has_min_max
        assert md.row_group(0).column(i).statistics.null_count == 1000
    assert md.row_group(0).column(5).statistics.min == ""


def test_mixed_nulls_per_column(driver, tmp_path):
    rng = random.Random(7)
    columns = [(f"c{i}_{k}", k) for i, (_, k) in enumerate(ALL_TYPES * 3)]
    probabilities = [0.0, 0.01, 0.5, 0.99, 0.3] * 3
    pools = {
        "string": lambda: rng.choice(["a", "bb", "ccc", "", "\u00e9"]),
        "int64": lambda: rng.randint(-1000, 1000),
        "float64": lambda: rng.uniform(-1e6, 1e6),
        "boolean": lambda: rng.random() < 0.5,
        "timestamp": lambda: rng.randint(0, 2_000_000_000_000_000),
    }
    rows = [
        tuple(
            None if rng.random() < p else pools[k]() for (_, k), p in zip(columns, probabilities)
        )
        for _ in range(3000)
    ]
    path = tmp_path / "mixed.parquet"
    write(driver, path, columns, rows)
    check_all(path, columns, rows)


def test_non_ascii_strings_compare_bytewise_in_statistics(driver, tmp_path):
    columns = [("word", "string")]
    words = ["zebra", "\u00e9clair", "apple", "\u4e2d\u6587", "\U0001f600", "Zulu", "\u00ff"]
    rows = [(w,) for w in words]
    path = tmp_path / "utf8.parquet"
    write(driver, path, columns, rows)
    check_all(path, columns, rows)
    stats = pq.ParquetFile(path).metadata.row_group(0).column(0).statistics
    assert stats.min == "Zulu"  # 'Z' (0x5A) sorts before 'a'
    assert stats.max == "\U0001f600"  # F0 9F ... is the largest leading byte


def test_long_strings(driver, tmp_path):
    rng = random.Random(11)
    big = ["".join(rng.choice("abcdefgh\u00e9\u4e2d") for _ in range(120_000)) for _ in range(4)]
    rows = [(big[i % 4], "x" * (i % 50)) for i in range(40)] + [("m", None), ("", "y" * 5000)]
    columns = [("big", "string"), ("medium", "string")]
    for name, opts in [
        ("dict", {}),
        ("fallback", {"dictionary_page_bytes": 100_000}),
        ("tinypages", {"page_bytes": 1000, "codec": "zstd"}),
    ]:
        path = tmp_path / f"long_{name}.parquet"
        write(driver, path, columns, rows, **opts)
        check_all(path, columns, rows)
    # "big" has min "" and a >100 KB max: left out; "medium" max is 5000 bytes: left out too
    stats = pq.ParquetFile(tmp_path / "long_dict.parquet").metadata.row_group(0).column(0)
    assert not stats.statistics.has_min_max


def test_many_columns(driver, tmp_path):
    rng = random.Random(200)
    kinds = [k for _, k in ALL_TYPES]
    columns = [(f"col_{i:03d}", kinds[i % 5]) for i in range(200)]
    pools = {
        "string": lambda: f"v{rng.randint(0, 20)}",
        "int64": lambda: rng.randint(INT64_MIN, INT64_MAX),
        "float64": lambda: rng.random(),
        "boolean": lambda: rng.random() < 0.3,
        "timestamp": lambda: rng.randint(-(10**15), 10**16),
    }
    rows = [
        tuple(None if rng.random() < 0.2 else pools[k]() for _, k in columns) for _ in range(300)
    ]
    path = tmp_path / "wide.parquet"
    write(driver, path, columns, rows)
    check_all(path, columns, rows)


def test_several_row_groups_and_pages(driver, tmp_path):
    rng = random.Random(3)
    columns = [
        ("event", "string"),
        ("n", "int64"),
        ("x", "float64"),
        ("ok", "boolean"),
        ("ts", "timestamp"),
    ]
    rows = [
        (
            rng.choice(["default", "purchase_sword", "purchase_knife", None]),
            i,
            None if i % 7 == 0 else i / 3,
            i % 3 == 0,
            1_600_000_000_000_000 + i * 1000,
        )
        for i in range(60_000)
    ]
    path = tmp_path / "groups.parquet"
    summary = write(driver, path, columns, rows, row_group_bytes=200_000, page_bytes=8_000)
    md = pq.ParquetFile(path).metadata
    assert summary["row_groups"] == md.num_row_groups > 3
    layout = pages(path)
    assert all(len([h for h in col if h[1] == PAGE_DATA]) > 1 for col in layout[0])
    check_all(path, columns, rows)
    for g in range(md.num_row_groups):
        assert md.row_group(g).column(0).compression == "SNAPPY"


def test_pages_hold_at_most_20000_rows(driver, tmp_path):
    rows = [("same", i % 2 == 0) for i in range(50_001)]
    columns = [("s", "string"), ("b", "boolean")]
    path = tmp_path / "rows.parquet"
    write(driver, path, columns, rows)
    for col in pages(path)[0]:
        counts = [h[5][1] for h in col if h[1] == PAGE_DATA]
        assert counts == [20_000, 20_000, 10_001]
    check_all(path, columns, rows)


def test_dictionary_fallback_to_plain(driver, tmp_path):
    rows = [(f"distinct-value-{i:06d}", f"low-{i % 5}") for i in range(20_000)]
    columns = [("high", "string"), ("low", "string")]
    path = tmp_path / "fallback.parquet"
    write(driver, path, columns, rows, dictionary_page_bytes=16_384, page_bytes=32_768)
    high, low = pages(path)[0]
    high_data = [h[5][2] for h in high if h[1] == PAGE_DATA]
    assert high[0][1] == PAGE_DICTIONARY
    assert high[0][7][1] <= 16_384 // 4  # entries
    assert high_data[0] == ENC_RLE_DICTIONARY and high_data[-1] == ENC_PLAIN
    first_plain = high_data.index(ENC_PLAIN)
    assert all(e == ENC_PLAIN for e in high_data[first_plain:])
    assert low[0][1] == PAGE_DICTIONARY and low[0][7][1] == 5
    assert {h[5][2] for h in low if h[1] == PAGE_DATA} == {ENC_RLE_DICTIONARY}
    md = pq.ParquetFile(path).metadata.row_group(0)
    assert set(md.column(0).encodings) == {"PLAIN", "RLE", "RLE_DICTIONARY"}
    check_all(path, columns, rows)


def data_encodings(col) -> list[int]:
    return [h[5][2] for h in col if h[1] == PAGE_DATA]


def int64_dictionary(path: Path, rg: int, column: int) -> list[int]:
    """The entries of an uncompressed file's INT64 dictionary page."""
    data = path.read_bytes()
    md = footer(path)[4][rg][1][column][3]
    r = Compact(data, md[11])
    h = r.struct()
    assert h[1] == PAGE_DICTIONARY and h[2] == h[3] == 8 * h[7][1]
    return list(struct.unpack_from(f"<{h[7][1]}q", data, r.pos))


INT64_KINDS = [("i", "int64"), ("t", "timestamp")]


def test_int64_constant_columns_are_one_entry_dictionaries(driver, tmp_path):
    rows = [(-7, 1_700_000_000_123_000) for _ in range(50_000)]
    path = tmp_path / "constant.parquet"
    summary = write(driver, path, INT64_KINDS, rows, row_group_bytes=6_000, page_bytes=2_000)
    assert summary["row_groups"] > 2
    layout = pages(path)
    md = pq.ParquetFile(path).metadata
    for g, group in enumerate(layout):
        for c, col in enumerate(group):
            assert col[0][1] == PAGE_DICTIONARY and col[0][7][1] == 1
            assert len(data_encodings(col)) > 1
            assert set(data_encodings(col)) == {ENC_RLE_DICTIONARY}
            assert set(md.row_group(g).column(c).encodings) == {"PLAIN", "RLE", "RLE_DICTIONARY"}
            # one RLE run per page: the chunk is a few bytes per page
            assert md.row_group(g).column(c).total_uncompressed_size < 40 * len(col)
    check_all(path, INT64_KINDS, rows)


def test_int64_few_distinct_values_with_nulls(driver, tmp_path):
    rng = random.Random(11)
    pool = [INT64_MIN, -1, 0, 1, INT64_MAX, 1_600_000_000_000_000, 42]
    pool_t = [-1, 0, 1, INT64_MAX - 1, 1_600_000_000_000_000, 42]  # DuckDB's finite range
    rows = [
        (rng.choice(pool + [None]), rng.choice(pool_t + [None, None]) if i % 3 else None)
        for i in range(30_000)
    ]
    path = tmp_path / "few.parquet"
    write(driver, path, INT64_KINDS, rows, codec="uncompressed", page_bytes=10_000)
    for c, col in enumerate(pages(path)[0]):
        assert len(data_encodings(col)) > 2
        assert set(data_encodings(col)) == {ENC_RLE_DICTIONARY}
        seen = []  # the dictionary holds the distinct values in first-seen order
        for row in rows:
            if row[c] is not None and row[c] not in seen:
                seen.append(row[c])
        assert int64_dictionary(path, 0, c) == seen
    check_all(path, INT64_KINDS, rows)


def test_int64_dictionary_full_falls_back_to_plain_mid_chunk(driver, tmp_path):
    # Each value repeats 4 times, so the dictionary pays off until it is full.
    rows = [(i // 4 * 3, None if i % 9 == 0 else 1_650_000_000_000_000 + i // 4) for i in range(20_000)]
    path = tmp_path / "full.parquet"
    write(driver, path, INT64_KINDS, rows, dictionary_page_bytes=4096, page_bytes=5_000)
    md = pq.ParquetFile(path).metadata.row_group(0)
    for c, col in enumerate(pages(path)[0]):
        enc = data_encodings(col)
        assert col[0][1] == PAGE_DICTIONARY and col[0][7][1] == 4096 // 8
        assert enc[0] == ENC_RLE_DICTIONARY and enc[-1] == ENC_PLAIN
        first_plain = enc.index(ENC_PLAIN)
        assert all(e == ENC_PLAIN for e in enc[first_plain:])
        assert set(md.column(c).encodings) == {"PLAIN", "RLE", "RLE_DICTIONARY"}
    check_all(path, INT64_KINDS, rows)


def test_int64_distinct_values_fall_back_to_plain_at_the_first_page(driver, tmp_path):
    # A dictionary of distinct values would be larger than PLAIN: the first
    # page is written plain and the chunk has no dictionary page, in every
    # row group; a low-cardinality column beside it keeps its dictionary.
    rows = [(i * 7919 - 10**15, None if i % 5 == 0 else 1_700_000_000_000_000 + i) for i in range(40_000)]
    rows = [r + (r[0] % 3,) for r in rows]
    columns = INT64_KINDS + [("low", "int64")]
    path = tmp_path / "distinct.parquet"
    summary = write(driver, path, columns, rows, row_group_bytes=300_000, page_bytes=30_000)
    assert summary["row_groups"] > 1
    md = pq.ParquetFile(path).metadata
    for g, group in enumerate(pages(path)):
        for c, col in enumerate(group[:2]):
            assert [h[1] for h in col] == [PAGE_DATA] * len(col) and len(col) > 1
            assert set(md.row_group(g).column(c).encodings) == {"PLAIN", "RLE"}
        assert set(data_encodings(group[2])) == {ENC_RLE_DICTIONARY}
    check_all(path, columns, rows)


def test_int64_dictionary_stops_paying_off_after_some_pages(driver, tmp_path):
    # Low cardinality for a few pages, then distinct values: the dictionary
    # pages stay, the rest of the chunk is plain once the dictionary would be
    # larger than plain so far.
    rows = [(i % 4 if i < 8_000 else i * 1_000_003,) for i in range(40_000)]
    path = tmp_path / "shift.parquet"
    write(driver, path, [("i", "int64")], rows, page_bytes=10_000)
    (col,) = pages(path)[0]
    enc = data_encodings(col)
    assert col[0][1] == PAGE_DICTIONARY and col[0][7][1] < 40_000 // 2
    assert enc[0] == ENC_RLE_DICTIONARY and enc[-1] == ENC_PLAIN
    first_plain = enc.index(ENC_PLAIN)
    assert all(e == ENC_PLAIN for e in enc[first_plain:])
    check_all(path, [("i", "int64")], rows)


def test_dictionary_too_small_for_any_value_writes_plain_only(driver, tmp_path):
    rows = [("abcdef",), (None,), ("ghijkl",)]
    path = tmp_path / "nodict.parquet"
    write(driver, path, [("s", "string")], rows, dictionary_page_bytes=0)
    (col,) = pages(path)[0]
    assert [h[1] for h in col] == [PAGE_DATA]
    check_all(path, [("s", "string")], rows)
    rows = [(5,), (None,), (5,)]
    write(driver, path, [("i", "int64")], rows, dictionary_page_bytes=7)
    (col,) = pages(path)[0]
    assert [h[1] for h in col] == [PAGE_DATA] and data_encodings(col) == [ENC_PLAIN]
    check_all(path, [("i", "int64")], rows)


@pytest.mark.parametrize("codec", ["uncompressed", "snappy", "zstd"])
def test_codecs(driver, tmp_path, codec):
    rng = random.Random(5)
    rows = [
        (
            rng.choice(["alpha", "beta", None, "gamma" * 20]),
            rng.randint(0, 10),
            rng.random(),
            None,
            rng.randint(0, 10**12),
        )
        for _ in range(10_000)
    ]
    path = tmp_path / f"{codec}.parquet"
    write(driver, path, ALL_TYPES, rows, codec=codec, page_bytes=20_000)
    md = pq.ParquetFile(path).metadata
    for i in range(len(ALL_TYPES)):
        assert md.row_group(0).column(i).compression == codec.upper()
    check_all(path, ALL_TYPES, rows)


def random_string(rng: random.Random) -> str:
    alphabet = rng.choice(
        [
            "abc",
            "abcdefghijklmnopqrstuvwxyz0123456789 ",
            "\u00e9\u00e8\u00fc\u00df\u00f1",
            "\u65e5\u672c\u8a9e\u4e2d\u6587",
            "\U0001f3ae\U0001f5e1\U0001f52a",
            "\t\n\\\x00\x7f\"'",
        ]
    )
    return "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 2, 5, 16, 40, 300])))


def random_value(rng: random.Random, kind: str, pool: list | None):
    if pool is not None and kind == "string":
        return rng.choice(pool)
    if kind == "string":
        return random_string(rng)
    if kind == "int64":
        return rng.choice([rng.randint(INT64_MIN, INT64_MAX), rng.randint(-100, 100)])
    if kind == "float64":
        r = rng.random()
        if r < 0.02:
            return rng.choice([float("nan"), float("inf"), float("-inf"), -0.0, 0.0])
        return rng.choice([rng.uniform(-1e300, 1e300), rng.random(), float(rng.randint(-9, 9))])
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "timestamp":
        return rng.randint(-(2**62), 2**62)
    raise ValueError(kind)


@pytest.mark.parametrize("seed", [20240601, 1, 2])
def test_randomized_round_trip(driver, tmp_path, seed):
    rng = random.Random(seed)
    kinds = [k for _, k in ALL_TYPES]
    columns = []
    for i in range(rng.randint(5, 25)):
        columns.append((f"c{i}_{random_string(rng)[:8]}", rng.choice(kinds)))
    null_p = [rng.choice([0.0, 0.05, 0.5, 0.95, 1.0]) for _ in columns]
    pools = [
        [random_string(rng) for _ in range(rng.randint(1, 40))] if rng.random() < 0.5 else None
        for _ in columns
    ]
    rows = [
        tuple(
            None if rng.random() < p else random_value(rng, kind, pool)
            for (_, kind), p, pool in zip(columns, null_p, pools)
        )
        for _ in range(5000)
    ]
    options = {
        "codec": rng.choice(["uncompressed", "snappy", "zstd"]),
        "row_group_bytes": rng.choice([50_000, 500_000, 64 << 20]),
        "page_bytes": rng.choice([2_000, 50_000, 1 << 20]),
        "dictionary_page_bytes": rng.choice([500, 10_000, 1 << 20]),
    }
    path = tmp_path / f"random_{seed}.parquet"
    write(driver, path, columns, rows, **options)
    check_all(path, columns, rows)


def test_readers_prune_row_groups_with_our_statistics(driver, tmp_path):
    """Sorted columns over many row groups: a wrong min/max would drop rows."""
    columns = [
        ("key", "string"),
        ("n", "int64"),
        ("x", "float64"),
        ("ts", "timestamp"),
        ("flag", "boolean"),
    ]
    rows = [
        (
            f"key-{i:06d}" if i % 11 else None,
            i - 10_000,
            (i - 10_000) / 7 if i % 13 else None,
            1_600_000_000_000_000 + i * 1_000_000,
            i >= 15_000,
        )
        for i in range(20_000)
    ]
    path = tmp_path / "sorted.parquet"
    write(driver, path, columns, rows, row_group_bytes=40_000, page_bytes=4_000)
    assert pq.ParquetFile(path).metadata.num_row_groups > 5
    predicates = [
        ("key = 'key-012345'", lambda r: r[0] == "key-012345"),
        ("key >= 'key-019990'", lambda r: r[0] is not None and r[0] >= "key-019990"),
        ("n BETWEEN -5 AND 5", lambda r: -5 <= r[1] <= 5),
        ("n > 9990", lambda r: r[1] > 9990),
        ("x < -1428", lambda r: r[2] is not None and r[2] < -1428),
        ("ts = to_timestamp(1600004321)", lambda r: r[3] == 1_600_004_321_000_000),
        ("ts >= to_timestamp(1600019990)", lambda r: r[3] >= 1_600_019_990_000_000),
        ("flag", lambda r: r[4]),
        ("key IS NULL", lambda r: r[0] is None),
    ]
    con = duckdb.connect()
    try:
        for sql, keep in predicates:
            got = con.execute(
                f"SELECT n FROM read_parquet(?) WHERE {sql} ORDER BY n", [str(path)]
            ).fetchall()
            assert [g[0] for g in got] == [r[1] for r in rows if keep(r)], sql
    finally:
        con.close()
    arrow_filters = [
        ([("key", "=", "key-012345")], lambda r: r[0] == "key-012345"),
        ([("n", ">", 9990)], lambda r: r[1] > 9990),
        ([("x", "<", -1428.0)], lambda r: r[2] is not None and r[2] < -1428),
        ([("flag", "=", True)], lambda r: r[4]),
    ]
    for filters, keep in arrow_filters:
        table = pq.read_table(path, filters=filters)
        assert sorted(table.column("n").to_pylist()) == [r[1] for r in rows if keep(r)], filters
