"""Issue 15: `queue list --jsonl` (streamed) and the fast paths behind `--json`: the fast
header parser, the JSON texts written without json.dumps, the stream with its helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iwtui.cli import main
from iwtui.icewarp.install import Install
from iwtui.icewarp.queue import headers, heads, messages, scanning
from iwtui.text import json_inert


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _old_fields(block: bytes) -> headers.Parsed:
    hdrs, problem = headers.parse_block(block)
    return headers._fields_of(hdrs), problem


# header blocks made of wanted names in any case, other names, folds, lone CRs, CRLF,
# encoded words, non-ASCII and invalid UTF-8: where a second parser could go astray
_NAMES = st.sampled_from(
    ["From", "FROM", "to", "To", "Subject", "sUbJeCt", "X-Envelope-From", "x-envelope-to",
     "X-Envelope-To", "Return-Path", "Date", "Message-ID", "message-id", "Received", "X-To",
     "Fromage", "Subject ", " Subject", "\u017fubject", "\u212aelvin"]
)  # fmt: skip
_TEXT = st.lists(
    st.sampled_from(
        ["a@b.c", "<x@y.z>", " ", "\t", "\r", "\n", "\r\n", "\n ", "\r\n\t", ",", ";",
         "=?utf-8?q?caf=C3=A9?=", "=?UTF-8?B?xb1sdcWlb3XEjWvDvQ==?=", "=?bad?x?y?=", "ü",
         "\xc3", "\xff", "\x85", "\u2028", "\x00", "\x1b[31m", "Subject: inner", "From:x",
         "\n\n", ":", "<", ">", "\"A B\" <a@b.c>", "text"]
    ),
    max_size=12,
).map("".join)  # fmt: skip
_LINE = st.tuples(_NAMES, st.sampled_from([":", ": ", ":\t", " :"]), _TEXT).map("".join)
_BLOCK = st.lists(_LINE, max_size=10).map(
    lambda lines: "\r\n".join(lines).encode("utf-8", "surrogateescape")
)


@settings(max_examples=600, deadline=None)
@given(_BLOCK, st.booleans())
def test_fast_parser_gives_the_fields_of_the_reference_parser(block: bytes, lf: bool) -> None:
    if lf:
        block = block.replace(b"\r\n", b"\n")
    assert headers.parse_fields(block) == _old_fields(block)
    assert headers.parse_fields(block) == _old_fields(block)  # again: from the caches


@pytest.mark.parametrize(
    "block",
    [
        b"",
        b"no headers here\n",
        b"Subject: a\rb\r\n c\r\nTo: x@y.z\r\n",  # a lone CR ends a value
        b"subject:\r\n folded\r\n\tagain\r\nFrom: <s@t.u>\r\nX-Envelope-To: <r@t.u>\r\n"
        b"X-ENVELOPE-TO: q@t.u, <p@t.u>\r\n",
        b"From: =?utf-8?q?J=C3=BCrgen?= <j@x.de>\nDate: \nMessage-ID: <1@x>\n",
        b"To: undisclosed-recipients:;\n",
        b"Return-Path: <>\nFrom: a@b.c\n",
    ],
)
def test_fast_parser_on_known_shapes(block: bytes) -> None:
    assert headers.parse_fields(block) == _old_fields(block)


def _items(install: Install) -> list[messages.QueueItem]:
    items = list(scanning.scan(install).values())
    assert len(items) > 50
    items[0].last_error = 'a "quoted" error\x85 with \u2028 and <b>'
    return items


def test_json_texts_equal_json_dumps(sim_install: Install) -> None:
    items = _items(sim_install)
    for i in items:
        assert i.json_line() == json.dumps(i.as_json(), ensure_ascii=False)
    blocks = "[\n" + ",\n".join(i.json_block() for i in items) + "\n]"
    assert blocks == json.dumps([i.as_json() for i in items], indent=2, ensure_ascii=False)
    one = items[1]
    for form, text in (("line", one.json_line()), ("block", one.json_block())):
        one.last_error = None
        bare = one.json_line() if form == "line" else one.json_block()
        one.last_error = 'it said "no", problem: "x"'
        want = one.json_line() if form == "line" else one.json_block()
        assert messages.with_last_error(bare, form, one.last_error) == want
        # a last error from the log with C1 controls, a line separator, DEL: inert
        one.last_error = "bad\x85 sep\u2028 del\x7f"
        want = one.json_line() if form == "line" else one.json_block()
        got = messages.with_last_error(bare, form, one.last_error)
        assert got == json_inert(want) and not {"\x85", "\u2028", "\x7f"} & set(got)
        assert json.loads(got)["last_error"] == one.last_error
        del text


def _by_path(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return sorted(rows, key=lambda r: str(r["path"]))


def test_jsonl_lines_are_the_json_items(capsys: pytest.CaptureFixture[str], sim_root: Path) -> None:
    root = ("--root", str(sim_root))
    code, out, _ = _run(capsys, "queue", "list", "--json", *root)
    assert code == 0
    items = json.loads(out)
    code, out, _ = _run(capsys, "queue", "list", "--jsonl", *root)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == len(items) > 50
    assert _by_path(lines) == _by_path(items)
    assert any(r["last_error"] for r in lines if r["queue"] == "retry")
    # the stream's order: folder by folder (outgoing, priorities, retry, incoming, ...)
    order = ["outgoing", "priority", "retry", "incoming", "mda", "sms"]
    seen = [order.index(str(r["queue"])) for r in lines]
    assert seen == sorted(seen)
    assert _run(capsys, "queue", "list", "--json", "--jsonl", *root)[0] == 2


def test_jsonl_with_filter_and_max(capsys: pytest.CaptureFixture[str], sim_root: Path) -> None:
    root = ("--root", str(sim_root))
    items = json.loads(_run(capsys, "queue", "list", "--json", *root)[1])
    word = next(w for i in items for w in str(i["subject"]).split() if w.isalpha() and len(w) > 4)
    want = [i for i in items if word.casefold() in str(i["subject"]).casefold()
            or word.casefold() in f"{i['sender']} {i['from']}".casefold()
            or word.casefold() in f"{' '.join(i['recipients'])} {i['to']}".casefold()]  # fmt: skip
    assert 0 < len(want) < len(items)
    code, out, _ = _run(capsys, "queue", "list", "--jsonl", "--filter", word, *root)
    assert code == 0
    got = [json.loads(line) for line in out.splitlines()]
    assert _by_path(got) == _by_path(want)
    out = _run(capsys, "queue", "list", "--jsonl", "--filter", f"!{word}", "--max", "7", *root)[1]
    got = [json.loads(line) for line in out.splitlines()]
    assert len(got) == 7 and not {g["path"] for g in got} & {w["path"] for w in want}
    out = _run(capsys, "queue", "list", "--jsonl", "--queue", "retry", "--max", "3", *root)[1]
    got = [json.loads(line) for line in out.splitlines()]
    assert len(got) == 3 and {g["queue"] for g in got} == {"retry"}
    assert all(g == next(i for i in items if i["path"] == g["path"]) for g in got)


def test_json_is_inert_and_the_same_text(
    capsys: pytest.CaptureFixture[str], sim_install: Install, sim_root: Path
) -> None:
    (sim_install.outgoing_dir / "C1000000001.tmp").write_bytes(
        "From: a@b.c\r\nSubject: x\u0085y\u2028z\x7f\x1b]52;c;e\x07\r\n\r\nbody".encode()
    )
    root = ("--root", str(sim_root))
    out = _run(capsys, "queue", "list", "--json", *root)[1]
    assert "\x85" not in out and "\u2028" not in out and "\x1b" not in out and "\x7f" not in out
    items = json.loads(out)
    assert out == json_inert(json.dumps(items, indent=2, ensure_ascii=False)) + "\n"  # as before
    one = next(i for i in items if i["id"] == "C1000000001")
    assert one["subject"] == "x\x85y\u2028z\x7f\x1b]52;c;e\x07"
    out = _run(capsys, "queue", "list", "--jsonl", *root)[1]
    assert "\x85" not in out and "\u2028" not in out and "\x1b" not in out
    assert one in [json.loads(line) for line in out.splitlines()]


def test_stream_with_helpers_gives_every_item_and_yields_early(
    sim_install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small batches and helpers from the first batch on: the helper path is the one
    taken, and the first batch comes out of the generator before the folder is read."""
    monkeypatch.setattr(scanning, "STREAM_FIRST", 5)
    monkeypatch.setattr(scanning, "STREAM_BATCH", 7)
    monkeypatch.setattr(scanning, "STREAM_AHEAD", 1)
    reads: list[int] = []
    real = heads.read_blocks

    def counting(paths: list[str]) -> list[heads.BlockResult]:
        reads.append(len(paths))
        return real(paths)

    monkeypatch.setattr(messages, "read_blocks", counting)
    want = {p: i.as_json() for p, i in scanning.scan(sim_install).items()}
    reads.clear()
    gen = scanning.stream(sim_install, helpers=2)
    first = next(gen)
    assert len(first) == 5 and sum(reads) == 5  # only the first files were read so far
    rest = [i for b in gen for i in b]
    got = {i.where: i.as_json() for i in [*first, *rest]}
    assert got == want
    assert sum(reads) < len(want) / 2  # most were read by the helpers
    rows = [r for b in scanning.stream_rows(sim_install, form="line", helpers=2) for r in b]
    assert sorted(json.loads(r[1])["path"] for r in rows) == sorted(want)


def test_a_failing_helper_leaves_its_batches_to_this_process(
    sim_install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scanning, "STREAM_FIRST", 3)
    monkeypatch.setattr(scanning, "STREAM_BATCH", 10)
    monkeypatch.setattr(heads.Helper, "next_frame", lambda self: None)
    want = set(scanning.scan(sim_install))
    got = {i.where for b in scanning.stream(sim_install, helpers=2) for i in b}
    assert got == want


def test_the_last_check_on_the_bytes_finds_what_json_inert_escapes() -> None:
    from iwtui.cli.queue import _c1_in

    for text in ("\x85", "a\x9fb", "\x7f", "\u2028", "x\u2029"):
        assert _c1_in(text.encode()) and json_inert(text) != text
    for text in ("", "\u00a0 \u00bf \u00c2 caf\u00e9 \u2013 \u20ac", "\xc2"):
        assert not _c1_in(text.encode()) and json_inert(text) == text


def test_queue_times_kept_by_the_second_are_the_times_of_each_file() -> None:
    from datetime import datetime

    for ts in (1764684000.0, 1764684000.25, 1764684000.9999994, 1764684000.9999996,
               1764684001.0000001, 0.5, 86399.999999, 1e9 + 0.7):  # fmt: skip
        for _ in range(2):  # the second time from the cache
            assert messages._iso(ts) == datetime.fromtimestamp(ts).isoformat(timespec="seconds")


def test_rows_are_the_items_as_json(sim_install: Install) -> None:
    """The helpers' rows (their fast path without items, and with a filter the items'
    path) are json.dumps of as_json, made inert, for odd files too."""
    out = sim_install.outgoing_dir
    (out / "BIN0000001.tmp").write_bytes(b"\x00\x01\x02garbage" * 100)
    (out / "EMP0000001.tmp").write_bytes(b"")
    (out / "NOH0000001.tmp").write_bytes(b"just some text\nwithout headers\n")
    (out / "C1X0000001.tmp").write_bytes("Subject: a\u0085b\r\n\r\n".encode())
    (out / "LNK0000001.tmp").symlink_to("/etc/passwd")  # not listed: not a regular file
    items = scanning.scan(sim_install)
    jobs = [(i.where, Path(i.where).name, i.queue, i.priority) for i in items.values()]
    for form, query in (("line", ""), ("block", ""), ("line", "!zzzz-nothing")):
        rows = messages.rows_of([form, query, jobs])
        for row, item in zip(rows, items.values(), strict=True):
            assert row is not None
            if form == "line":
                want = json.dumps(item.as_json(), ensure_ascii=False)
            else:
                want = json.dumps([item.as_json()], indent=2, ensure_ascii=False)[2:-2]
            assert row[0] == item.queued_at and row[1] == json_inert(want)
            if item.queue == "retry":
                assert (row[2], row[3]) == (item.sender, item.recipients)
    assert messages.rows_of(["line", "zzzz-nothing", jobs]) == [None] * len(jobs)
