#!/usr/bin/env python
"""The latency probe of bench/follow_live.sh: from a 200 to the row readable in a Delta table.

    follow_live_probe.py URL TABLE SECONDS [--interval 0.02] [--wait 30] [--column X-Tag]

A child process sends GET URL (a route the followed job selects) every --interval seconds
for SECONDS, each with a unique tag in the --column header on one keep-alive connection,
and notes the time of each 200. Meanwhile this process polls the Delta table at TABLE
with the deltalake package (delta-rs): it tracks new versions, reads only the files they
added (that column, with pyarrow), and notes when each tag is first read. A probe's
latency is the time it was first read minus the time of its 200. After the last probe
it waits up to --wait seconds for the rest.

Prints one line: `probes P found F p50 S p99 S max S` then, for the diagnosis,
`p50_first_quarter S p50_last_quarter S` (of the first and the last quarter of the probes:
a writer falling behind shows as a growing p50),
`versions V files_per_version X rows_per_version R gap_p50 S gap_max S commit_p50 S
commit_p99 S read_p50 S read_max S`, where gap is the time between versions as the
poller saw them, commit is from the 200 to the commit file's mtime (when the writer
made the version), and read is one poll that found a version (update_incremental and
reading its new files). Exits 1 if any probe is missing or was not answered 200; the
line is printed either way.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import sys
import time
import urllib.parse

import pyarrow.parquet as pq
from deltalake import DeltaTable


def send(url: str, header: str, prefix: str, seconds: float, interval: float, out) -> None:
    """The child: one tagged GET every interval (on a schedule, not after the answer);
    sends back [(tag, monotonic time of its 200 or None)]."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    path = u.path or "/"
    sent = []
    t0 = time.monotonic()
    n = 0
    while True:
        due = t0 + n * interval
        if due - t0 >= seconds:
            break
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        tag = f"{prefix}-{n}"
        try:
            conn.request("GET", path, headers={header: tag, "Host": "user1.comcast.com"})
            resp = conn.getresponse()
            resp.read()
            sent.append((tag, time.monotonic() if resp.status == 200 else None))
        except (OSError, http.client.HTTPException):
            sent.append((tag, None))
            conn.close()
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        n += 1
    conn.close()
    out.send(sent)
    out.close()


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(q * (len(v) - 1)))))]


def versions_made(log_dir: str, first: int, last: int, wall_minus_mono: float) -> dict[str, float]:
    """For the diagnosis only: file name -> when the version that added it was written (its
    commit file's mtime, on the monotonic clock), for versions first..last. Several versions
    can land within one poll; each file gets its own."""
    made = {}
    for n in range(first, last + 1):
        name = os.path.join(log_dir, f"{n:020d}.json")
        try:
            at = os.stat(name).st_mtime - wall_minus_mono
            with open(name, encoding="utf-8") as f:
                for line in f:
                    action = json.loads(line)
                    if "add" in action:
                        path = urllib.parse.unquote(action["add"]["path"]).rsplit("/", 1)[-1]
                        made[path] = at
        except (OSError, ValueError):
            continue  # a checkpointed-away or unreadable commit: no figure for its files
    return made


def open_table(path: str, deadline: float) -> DeltaTable:
    while True:
        try:
            return DeltaTable(path)
        except Exception:  # not created yet: the writer has not committed its first batch
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("table")
    ap.add_argument("seconds", type=float)
    ap.add_argument("--interval", type=float, default=0.02)
    ap.add_argument("--wait", type=float, default=30.0)
    ap.add_argument("--column", default="X-Tag")
    a = ap.parse_args()

    prefix = f"probe{os.getpid()}"
    dt = open_table(a.table, time.monotonic() + 60)
    seen_files = set(dt.file_uris())
    for u in sorted(seen_files)[-1:]:  # the first read of a file costs more: not in a probe's time
        pq.read_table(u, columns=[a.column] if a.column in pq.read_schema(u).names else [])
    version = dt.version()
    wall_minus_mono = time.time() - time.monotonic()
    log_dir = os.path.join(a.table, "_delta_log")

    ctx = mp.get_context("fork")
    ours, theirs = ctx.Pipe(duplex=False)
    child = ctx.Process(target=send, args=(a.url, a.column, prefix, a.seconds, a.interval, theirs))
    child.start()
    theirs.close()

    found: dict[str, float] = {}      # tag -> time first read
    commit_at: dict[str, float] = {}  # tag -> mtime of the version that added it
    sent = None
    versions = files = rows = 0
    version_seen: list[float] = []
    reads: list[float] = []
    give_up = None
    while True:
        if sent is None and ours.poll():
            sent = ours.recv()
            give_up = time.monotonic() + a.wait
        if sent is not None and (all(t in found for t, _ in sent) or time.monotonic() > give_up):
            break
        t_poll = time.monotonic()
        dt.update_incremental()
        v = dt.version()
        if v == version:
            time.sleep(0.01)
            continue
        uris = dt.file_uris()
        new = [u for u in uris if u not in seen_files]
        seen_files.update(new)
        made = versions_made(log_dir, version + 1, v, wall_minus_mono)
        tags = []
        for u in new:
            t = pq.read_table(u, columns=[a.column]) if a.column in pq.read_schema(u).names else None
            if t is not None:
                rows += t.num_rows
                at = made.get(urllib.parse.unquote(u).rsplit("/", 1)[-1], float("nan"))
                tags.extend((x, at) for x in t.column(0).to_pylist() if x and x.startswith(prefix))
        now = time.monotonic()
        for tag, at in tags:
            found.setdefault(tag, now)
            commit_at.setdefault(tag, at)
        versions += v - version
        files += len(new)
        version_seen.append(now)
        reads.append(now - t_poll)
        version = v
    child.join()

    answered = {t: at for t, at in sent if at is not None}
    lat = [found[t] - at for t, at in answered.items() if t in found]
    # Falling behind shows as a p50 that grows from the first quarter of the probes to the last.
    quarter = max(1, len(sent) // 4)
    first = [found[t] - at for t, at in sent[:quarter] if at is not None and t in found]
    last = [found[t] - at for t, at in sent[-quarter:] if at is not None and t in found]
    to_commit = [commit_at[t] - at for t, at in answered.items() if t in commit_at]
    gaps = [b - a_ for a_, b in zip(version_seen, version_seen[1:])]
    not_200 = len(sent) - len(answered)
    missing = sum(1 for t in answered if t not in found)
    f = "{:.3f}".format
    print(f"probes {len(sent)} found {len(lat)} p50 {f(quantile(lat, 0.5))} p99 {f(quantile(lat, 0.99))} "
          f"max {f(max(lat) if lat else float('nan'))} "
          f"p50_first_quarter {f(quantile(first, 0.5))} p50_last_quarter {f(quantile(last, 0.5))} "
          f"versions {versions} files_per_version {files / max(versions, 1):.2f} "
          f"rows_per_version {rows / max(versions, 1):.0f} "
          f"gap_p50 {f(quantile(gaps, 0.5))} gap_max {f(max(gaps) if gaps else float('nan'))} "
          f"commit_p50 {f(quantile(to_commit, 0.5))} commit_p99 {f(quantile(to_commit, 0.99))} "
          f"read_p50 {f(quantile(reads, 0.5))} read_max {f(max(reads) if reads else float('nan'))}")
    if not_200 or missing:
        print(f"follow_live_probe: {not_200} probe(s) not answered 200, {missing} of {len(answered)} "
              f"answered not in {a.table} within {a.wait:.0f} s of the last", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
