#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus (fuzz/corpus/<target>/) from the seed's
requests, small logs and the repository's job and routes files. Run it again
after a change to the log format or the example files: python3 fuzz/make_seeds.py"""
import json
import pathlib
import shutil
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def record(offset: int, ts: int, payload: bytes) -> bytes:
    """One record as docs/formats.md describes it."""
    rest = struct.pack("<I", len(payload)) + struct.pack("<q", offset) + struct.pack("<q", ts) + payload
    return struct.pack("<I", crc32c(rest)) + rest


def write(target: str, name: str, data: bytes) -> None:
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def main() -> None:
    # Only what this script writes: crash inputs kept as regression seeds stay.
    for target in ("http_request", "segment", "json_row", "job", "routes"):
        for f in (CORPUS / target).glob("seed-*"):
            f.unlink()

    # The seed's load: Apache Bench (HTTP/1.0) and curl against the three routes.
    ab = "GET {} HTTP/1.0\r\nHost: {}\r\nUser-Agent: ApacheBench/2.3\r\nAccept: */*\r\n\r\n"
    for i, (path, host) in enumerate([("/", "user1.comcast.com"), ("/purchase_a_sword", "user1.comcast.com"),
                                      ("/", "user2.att.com"), ("/purchase_a_sword", "user2.att.com")]):
        write("http_request", f"seed-ab-{i}", ab.format(path, host).encode())
    curl = "GET {} HTTP/1.1\r\nHost: localhost:5000\r\nUser-Agent: curl/7.47.0\r\nAccept: */*\r\n\r\n"
    write("http_request", "seed-curl-knife", curl.format("/purchase_a_knife").encode())
    write("http_request", "seed-sword-query",
          curl.format("/purchase_a_sword/long%20sword?color=red&quantity=2&price=9.5").encode())
    write("http_request", "seed-guild", curl.format("/join_guild/Ni?officer=true&level=3").encode())
    write("http_request", "seed-quest-all-query",
          curl.format("/quest/dragon/2?xp=10&Xp=3&note=%C3%A9&event_type=x").encode())
    body = json.dumps({"gold": 10, "items": ["sword", {"name": "knife"}], "Host": "x"}).encode()
    write("http_request", "seed-inventory-json",
          b"POST /inventory/arthur HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
          b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    write("http_request", "seed-inventory-chunked",
          b"PUT /inventory/arthur HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
          b"5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n")
    # A client's own timestamp: header, any-query parameter and body member, each renamed.
    ts_body = b'{"TimeStamp":1,"timestamp__2":2}'
    write("http_request", "seed-client-timestamp",
          (curl.format("/quest/dragon/2?timestamp=1&TIMESTAMP=2").replace("Accept", "Timestamp: 3\r\nAccept")
           ).encode() +
          b"POST /inventory/arthur HTTP/1.1\r\nHost: h\r\nTimestamp: 4\r\nContent-Length: " +
          str(len(ts_body)).encode() + b"\r\n\r\n" + ts_body)
    write("http_request", "seed-pipelined",
          (curl.format("/") + curl.format("/purchase_a_knife?x=1") +
           "GET /purchase_a_sword/x HTTP/1.1\r\nHost: h\r\nuser_agent: a\r\nUSER-AGENT: b\r\n"
           "Connection: close\r\n\r\n").encode())

    # Small logs: whole, torn at the tail, damaged in the middle, two segments.
    events = [json.dumps({"Host": "user1.comcast.com", "event_type": "purchase_sword",
                          "Accept": "*/*", "User-Agent": "ApacheBench/2.3"}).encode(),
              b'{"event_type":"default"}', b""]
    whole = b"".join(record(i, 1700000000000 + i, e) for i, e in enumerate(events))
    write("segment", "seed-whole", whole)
    write("segment", "seed-torn-tail", whole + record(3, 1700000000003, b'{"a":1}')[:30])
    bad = bytearray(whole)
    bad[30] ^= 0xFF
    write("segment", "seed-damaged", bytes(bad))
    write("segment", "seed-two-segments",
          whole + b"\xffSEG\x03" + record(3, 1700000000003, b'{"event_type":"default"}'))
    write("segment", "seed-gap", whole + b"\xffSEG\x05" + record(5, 5, b"{}"))

    # Records as extract reads them, one per line.
    write("json_row", "seed-events", b"\n".join(events[:2]) + b"\n" + "\n".join([
        '{"event_type":"purchase_sword","quantity":2,"price":9.5,"officer":true,"note":null}',
        '{"event_type":"x","quantity":"two","price":10,"nested":{"a":[1,2,{"b":null}]}}',
        '{"description":"a","Description":"b","DESCRIPTION":"c","timestamp":5}',
        '{"big":18446744073709551615,"neg":-9223372036854775808,"e":1e308,"s":"\\u00e9\\ud83d\\ude00"}',
        '[1,2]', '{"":1}', '{"a":1,"a":2}', 'not json', '{"k\\u0000":"\\u0000"}',
    ]).encode())

    for f in sorted((ROOT / "jobs").glob("*.toml")):
        write("job", "seed-" + f.name, f.read_bytes())
    for f in sorted((ROOT / "config").glob("*.toml")):
        write("routes", "seed-" + f.name, f.read_bytes())


if __name__ == "__main__":
    main()
