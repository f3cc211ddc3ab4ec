"""`questlog tail`, used the way kcat -C is: from the beginning, the end, an
offset or N back from the end; exiting at the end (-e) or following."""

import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import get, run_questlog, tail_lines


def send(server, n: int, start: int = 0, path: str = "/") -> None:
    for i in range(start, start + n):
        r = get(server.addr, path, extra=f"X-Request-Id: {i}\r\n".encode())
        assert r.status == 200


def ids(lines) -> list[str]:
    return [json.loads(x)["X-Request-Id"] for x in lines]


def segments(data: Path, topic: str = "events") -> list[Path]:
    return sorted((data / topic / "0").glob("*.log"))


def one_error_line(r: subprocess.CompletedProcess) -> str:
    assert r.returncode != 0
    err = r.stderr.decode()
    assert err.startswith("questlog: ") and err.endswith("\n") and err.count("\n") == 1, err
    return err


class Follower:
    """A `questlog tail` without -e whose stdout lines arrive on a queue."""

    def __init__(self, procs, bin_path, data, *args):
        self.proc = subprocess.Popen(
            [bin_path, "tail", "--data", str(data), *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        procs.append(self.proc)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip(b"\n"))

    def take(self, n: int, timeout: float = 2.0) -> list[bytes]:
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"got {len(out)} of {n} lines within {timeout}s: {out}")
            try:
                out.append(self.lines.get(timeout=left))
            except queue.Empty:
                pass
        return out

    def nothing_more(self, wait: float = 0.3) -> bool:
        try:
            extra = self.lines.get(timeout=wait)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected line {extra!r}")

    def wait_reading(self, timeout: float = 10.0) -> None:
        """Waits until tail has a segment of the log open: it has found where to
        start (-o end included) and waits there for more."""
        fds = f"/proc/{self.proc.pid}/fd"

        def reading():
            for fd in os.listdir(fds):
                try:
                    if os.readlink(os.path.join(fds, fd)).endswith(".log"):
                        return True
                except FileNotFoundError:
                    pass
            return False

        deadline = time.monotonic() + timeout
        while not reading():
            assert self.proc.poll() is None, self.proc.stderr.read()
            assert time.monotonic() < deadline, "tail did not open the log"
            time.sleep(0.01)

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def kill(self):
        self.proc.kill()
        self.proc.wait(timeout=5)


@pytest.fixture
def five(server, bin_path):
    send(server, 5)
    return server


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("beginning", ["0", "1", "2", "3", "4"]),
        ("end", []),
        ("0", ["0", "1", "2", "3", "4"]),
        ("3", ["3", "4"]),
        ("4", ["4"]),
        ("5", []),
        ("-2", ["3", "4"]),
        ("-1", ["4"]),
        ("-5", ["0", "1", "2", "3", "4"]),
        ("-50", ["0", "1", "2", "3", "4"]),
    ],
)
def test_tail_offsets_like_kcat(five, bin_path, spec, expected):
    assert ids(tail_lines(bin_path, five.data, "-o", spec)) == expected


def test_tail_default_starts_at_beginning(five, bin_path):
    assert ids(tail_lines(bin_path, five.data)) == ["0", "1", "2", "3", "4"]


def test_tail_prints_events_byte_for_byte_one_per_line(five, bin_path):
    r = run_questlog(bin_path, "tail", "--data", str(five.data), "-e", "-o", "-1")
    assert r.returncode == 0 and r.stderr == b""
    host = b"t.example"
    assert r.stdout == (b'{"event_type":"default","Host":"' + host +
                        b'","Connection":"close","X-Request-Id":"4"}\n')


@pytest.mark.parametrize("spec", ["banana", "3x", "", "--", "1.5", "end+1"])
def test_tail_bad_offset_is_one_error_line(five, bin_path, spec):
    r = run_questlog(bin_path, "tail", "--data", str(five.data), "-e", "-o", spec)
    one_error_line(r)
    assert r.stdout == b""


def test_tail_on_empty_dir_with_e_is_an_error(bin_path, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    one_error_line(run_questlog(bin_path, "tail", "--data", str(empty), "-e"))
    one_error_line(run_questlog(bin_path, "tail", "--data", str(tmp_path / "missing"), "-e"))


def test_tail_bad_topic_is_an_error(five, bin_path):
    one_error_line(run_questlog(bin_path, "tail", "--data", str(five.data), "-t", "a/b", "-e"))
    one_error_line(run_questlog(bin_path, "tail", "--data", str(five.data), "-t", "other", "-e"))


def test_tail_reads_the_topic_serve_wrote(start_server, bin_path, data_dir):
    server = start_server("--threads", "1", "--topic", "game.events")
    send(server, 2)
    assert ids(tail_lines(bin_path, data_dir, "-t", "game.events")) == ["0", "1"]
    assert ids(tail_lines(bin_path, data_dir, "--topic", "game.events", "-o", "-1")) == ["1"]


def test_tail_e_on_a_log_with_no_events_exits_at_once(server, bin_path):
    # serve has created the log; nothing has been appended yet.
    t0 = time.monotonic()
    assert tail_lines(bin_path, server.data, timeout=5) == []
    assert time.monotonic() - t0 < 2


def test_tail_follows_new_events_as_they_arrive(five, bin_path, procs):
    f = Follower(procs, bin_path, five.data)  # from the beginning, no -e
    assert ids(f.take(5)) == ["0", "1", "2", "3", "4"]
    for i in range(5, 10):
        send(five, 1, start=i)
        assert ids(f.take(1, timeout=2)) == [str(i)]
    assert f.proc.poll() is None
    f.kill()


def test_tail_follow_from_end_prints_only_new_events(five, bin_path, procs):
    f = Follower(procs, bin_path, five.data, "-o", "end")
    f.wait_reading()  # it has found the end before the new events
    assert f.nothing_more(0.2)
    send(five, 3, start=100)
    assert ids(f.take(3)) == ["100", "101", "102"]
    f.kill()


def test_tail_follow_waits_for_the_log_to_appear(start_server, bin_path, data_dir, procs):
    f = Follower(procs, bin_path, data_dir)
    time.sleep(0.3)
    assert f.proc.poll() is None, "tail without -e should wait for the log"
    server = start_server("--threads", "1")
    send(server, 3)
    assert ids(f.take(3, timeout=3)) == ["0", "1", "2"]
    f.kill()


def test_tail_follow_on_an_empty_log_sleeps_instead_of_spinning(server, bin_path, procs):
    f = Follower(procs, bin_path, server.data)
    time.sleep(0.2)
    c0 = f.cpu_seconds()
    time.sleep(1.0)
    used = f.cpu_seconds() - c0
    assert used < 0.3, f"an idle `tail` used {used:.2f}s of CPU in 1s"
    send(server, 1)
    assert ids(f.take(1)) == ["0"]
    f.kill()


def test_tail_stops_quietly_when_its_reader_goes_away(five, bin_path, procs):
    p = subprocess.Popen([bin_path, "tail", "--data", str(five.data)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    procs.append(p)
    p.stdout.readline()
    p.stdout.close()  # like `questlog tail | head -1`
    # A follower notices when it next writes, as kcat and tail -f do.
    deadline = time.monotonic() + 3
    i = 5
    while p.poll() is None and time.monotonic() < deadline:
        send(five, 1, start=i)
        i += 1
        time.sleep(0.1)
    assert p.wait(timeout=2) == 0
    assert p.stderr.read() == b""


def test_tail_reads_across_rolled_segments_in_order(start_server, bin_path, data_dir):
    server = start_server("--threads", "1", "--segment-bytes", "4096")
    send(server, 200)
    # Append one more if the last request happened to roll, so this test is about
    # reading across segments; the freshly-rolled case has its own test below.
    if segments(data_dir)[-1].stat().st_size == 0:
        send(server, 1, start=200)
    assert len(segments(data_dir)) >= 5
    got = ids(tail_lines(bin_path, data_dir))
    n = len(got)
    assert got == [str(i) for i in range(n)] and n in (200, 201)
    assert ids(tail_lines(bin_path, data_dir, "-o", "150")) == [str(i) for i in range(150, n)]
    assert ids(tail_lines(bin_path, data_dir, "-o", "-7")) == [str(i) for i in range(n - 7, n)]
    # Every segment but the last is named for its first offset.
    names = [int(p.stem) for p in segments(data_dir)]
    assert names[0] == 0 and names == sorted(names)


def test_tail_e_exits_right_after_a_segment_roll(start_server, bin_path, data_dir):
    server = start_server("--threads", "1", "--segment-bytes", "4096")
    n = 0
    while not (len(segments(data_dir)) >= 2 and segments(data_dir)[-1].stat().st_size == 0):
        send(server, 1, start=n)
        n += 1
        assert n < 200, "the log never rolled"
    # The newest segment is empty: the writer rolled after the last append.
    assert ids(tail_lines(bin_path, data_dir, timeout=5)) == [str(i) for i in range(n)]
    assert ids(tail_lines(bin_path, data_dir, "-o", "-1", timeout=5)) == [str(n - 1)]


def test_tail_follows_a_preallocated_log_across_rolls(start_server, bin_path, data_dir, procs):
    # Under --durability fsync every segment is preallocated (written with zeros
    # ahead of the events): tail -f stops where the zeros begin, follows each
    # new event there, and moves on when the segment rolls.
    server = start_server("--threads", "1", "--durability", "fsync", "--segment-bytes", "4096")
    assert segments(data_dir)[-1].stat().st_size == 4096
    f = Follower(procs, bin_path, data_dir)
    assert f.nothing_more(0.3)
    n = 0
    while len(segments(data_dir)) < 4:
        send(server, 1, start=n)
        assert ids(f.take(1, timeout=3)) == [str(n)]
        n += 1
        assert n < 400, "the log never rolled"
    *sealed, active = segments(data_dir)
    assert active.stat().st_size == 4096
    assert all(0 < p.stat().st_size for p in sealed)
    f.kill()
    assert ids(tail_lines(bin_path, data_dir, timeout=5)) == [str(i) for i in range(n)]
