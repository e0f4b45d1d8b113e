"""Issue #36 without a server: the store's byte cap on every path, space given back, imports that stream, one
import at a time, one line for a broken zip, exports that cannot run as formulas, a private export folder,
limits on the client's address shared by every replica, and strokes counted before they are decoded."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import tracemalloc
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import build_ctx

from bench.attacks import corrupted, long_labels_zip, padded_export
from mnist_core.config import SHIPPED_MODEL
from mnist_core.drawings import transfer
from mnist_core.drawings.store import DrawingStore, database_bytes
from mnist_core.imaging.strokes import MAX_POINTS
from mnist_core.personal.profile_db import ProfileDatabase
from mnist_ui.server import transfers
from mnist_ui.server.collect import Collector
from mnist_ui.server.context import AppContext, Settings
from mnist_ui.tabs import drawings as drawings_tab
from mnist_ui.testing import ONE, pad_value

pytestmark = pytest.mark.skipif(not SHIPPED_MODEL.is_file(), reason="needs the shipped model")
MB = 1_000_000


def make_ctx(tmp_path: Path, **collector: Any) -> AppContext:
    return build_ctx(SHIPPED_MODEL, Settings(), collector=Collector(tmp_path / "d.sqlite3", **collector))


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def correct(ctx: AppContext, seed: int, who: str = "a") -> Any:
    rng = np.random.default_rng(seed)
    value = pad_value(ONE)
    value["strokes"] = [[[x + rng.normal(0, 2), y + rng.normal(0, 2)] for x, y in s] for s in value["strokes"]]
    return ctx.drawings.correct(ctx.holder.current, 1, {"strokes": value}, who)


# ---- finding 4: the byte cap on every path, and space given back -------------------------------------------


def test_an_import_keeps_to_the_byte_cap(tmp_path: Path) -> None:
    """A 4 MB import into a store capped at 3 MB is refused whole, in one line; one that fits goes in."""
    ctx = make_ctx(tmp_path, max_bytes=3 * MB)
    heavy = write(tmp_path, "heavy.zip", padded_export(40, 100_000))
    answer = transfers.import_zip(ctx, heavy, None)
    assert answer.startswith("not imported") and "full" in answer and "\n" not in answer, answer
    assert ctx.drawings.store().counts().total == 0 and database_bytes(ctx.drawings.path) < 3 * MB
    assert transfers.import_zip(ctx, write(tmp_path, "light.zip", padded_export(10, 100_000)), None).startswith(
        "imported 10"
    )


def test_after_delete_all_the_file_shrinks_and_a_correction_is_kept_again(tmp_path: Path) -> None:
    """The store held 2.5 MB of its 3 MB; "Delete all" gives the file back, so the next correction is kept, also
    after a restart (the old store stayed at its high-water mark and answered "full" to everyone)."""
    ctx = make_ctx(tmp_path, max_bytes=3 * MB)
    assert transfers.import_zip(ctx, write(tmp_path, "a.zip", padded_export(25, 100_000)), None).startswith(
        "imported 25"
    )
    assert database_bytes(ctx.drawings.path) > 2.5 * MB
    assert drawings_tab.delete_all(ctx, True, None) == "deleted all 25 drawings"
    assert database_bytes(ctx.drawings.path) < 0.5 * MB
    assert correct(ctx, 1).saved
    again = make_ctx(tmp_path, max_bytes=3 * MB)
    assert correct(again, 2).saved


def test_a_store_over_its_cap_on_disk_but_not_in_data_takes_corrections(tmp_path: Path) -> None:
    """ "Full" means the data: a file whose pages are free (deleted rows) does not refuse anyone."""
    store = DrawingStore(tmp_path / "d.sqlite3")
    transfer.import_zip(store, padded_export(25, 100_000))
    with store._write() as conn:  # deleted behind the store's back: no space given back yet
        conn.execute("DELETE FROM drawings")
    ctx = make_ctx(tmp_path, max_bytes=2 * MB)
    assert correct(ctx, 3).saved


def test_forgotten_profiles_give_their_space_back(tmp_path: Path) -> None:
    """Five profiles of 1.2 MB forgotten leave at most the 1 MB a write may leave free (RECLAIM_PAGES), not 6 MB."""
    db = ProfileDatabase(tmp_path / "d.sqlite3", max_profiles=10)
    keys = [db.create()[0] for _ in range(5)]
    rng = np.random.default_rng(0)
    for key in keys:  # drawings of the most points a drawing may have, each ~23 KB packed
        scribbles = [[rng.uniform(0, 448, (MAX_POINTS, 2)).round(1).tolist()] for _ in range(50)]
        rows = [(1, json.dumps({"v": 1, "width": 448, "height": 448, "strokes": s}).encode()) for s in scribbles]
        db.add_drawings(key, rows, keep=200)
    assert database_bytes(db.path) > 5 * MB
    for key in keys:
        db.forget(key)
    assert database_bytes(db.path) < 1.5 * MB


# ---- finding 5: imports stream, one at a time --------------------------------------------------------------


def peak_mb(call: Any) -> tuple[Any, float]:
    """What `call()` returns and the most Python memory it held at once."""
    tracemalloc.start()
    try:
        answer = call()
        return answer, tracemalloc.get_traced_memory()[1] / MB
    finally:
        tracemalloc.stop()


def test_an_import_reads_row_by_row_in_bounded_memory(tmp_path: Path) -> None:
    """250 rows of 200 KB (50 MB once stored, under 1 MB zipped) go in holding a few MB at a time, not all of them."""
    ctx = make_ctx(tmp_path, max_bytes=200 * MB)
    path = write(tmp_path, "padded.zip", padded_export(250, 200_000))
    answer, peak = peak_mb(lambda: transfers.import_zip(ctx, path, None))
    assert answer.startswith("imported 250"), answer
    assert peak < 25, f"the import held {peak:.0f} MB at once"


def test_a_huge_labels_csv_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path)
    path = write(tmp_path, "long.zip", long_labels_zip(200_000))
    answer, peak = peak_mb(lambda: transfers.import_zip(ctx, path, None))
    assert answer.startswith("not imported") and "20,000" in answer and "\n" not in answer, answer
    assert peak < 25, f"refusing it held {peak:.0f} MB at once"


def test_one_import_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While an import runs, a second one is refused in one line (four used to run at once); then it may run."""
    ctx = make_ctx(tmp_path)
    started, release = threading.Event(), threading.Event()
    read_png = transfer.read_png

    def slow(data: bytes, name: str) -> Any:
        started.set()
        release.wait(30)
        return read_png(data, name)

    monkeypatch.setattr(transfer, "read_png", slow)
    first_zip = write(tmp_path, "first.zip", padded_export(2, 10))
    answers: list[str] = []
    first = threading.Thread(target=lambda: answers.append(transfers.import_zip(ctx, first_zip, None)))
    first.start()
    assert started.wait(30)
    second = transfers.import_zip(ctx, write(tmp_path, "second.zip", padded_export(2, 10, first_id=9)), None)
    release.set()
    first.join(30)
    assert second.startswith("not imported") and "another import" in second, second
    assert answers and answers[0].startswith("imported 2"), answers
    monkeypatch.setattr(transfer, "read_png", read_png)
    assert transfers.import_zip(ctx, str(tmp_path / "second.zip"), None).startswith("imported 2")


# ---- finding 8: one line for a broken zip, exports that are text, a private export folder ----------------


def test_a_corrupted_zip_is_one_line_whatever_breaks(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path)
    good = padded_export(30, 10)
    for seed in range(12):
        answer = transfers.import_zip(ctx, write(tmp_path, f"bad{seed}.zip", corrupted(good, seed=seed)), None)
        assert isinstance(answer, str) and answer.startswith(("not imported", "imported")), (seed, answer)


def test_exported_cells_cannot_run_as_formulas_and_come_back_as_they_were(tmp_path: Path) -> None:
    """labels.csv opened in a spreadsheet: a cell that starts with = + - @ is text there, not a formula; importing
    the export gives back the text as it was."""
    ctx = make_ctx(tmp_path)
    formula = '=HYPERLINK("http://evil.example/","open")'
    assert transfers.import_zip(
        ctx, write(tmp_path, "f.zip", padded_export(3, 10, model_version=formula)), None
    ).startswith("imported 3")
    files, _ = transfers.export_zip(ctx, None)
    assert files
    with zipfile.ZipFile(files[0]) as zf:
        table = list(csv.DictReader(io.StringIO(zf.read("labels.csv").decode())))
    assert {row["model_version"] for row in table} == {"'" + formula}
    again = make_ctx(tmp_path / "again")
    assert transfers.import_zip(again, files[0], None).startswith("imported 3")
    assert {row.model_version for row in again.drawings.store().each_row()} == {formula}


def test_exports_go_to_a_private_folder_under_the_demos_home(tmp_path: Path, isolated_home: Path) -> None:
    ctx = make_ctx(tmp_path)
    assert correct(ctx, 1).saved
    files, message = transfers.export_zip(ctx, None)
    assert files, message
    folder = isolated_home / "exports"
    assert Path(files[0]).resolve().is_relative_to(folder.resolve())
    assert folder.stat().st_mode & 0o777 == 0o700


def test_an_export_folder_planted_as_a_link_is_not_used(tmp_path: Path, isolated_home: Path) -> None:
    ctx = make_ctx(tmp_path)
    assert correct(ctx, 1).saved
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not the demo's")
    (isolated_home / "exports").symlink_to(elsewhere)
    files, message = transfers.export_zip(ctx, None)
    assert files is None and message.startswith("not exported") and "\n" not in message, message
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]


def test_an_export_folder_others_may_read_is_made_private(tmp_path: Path, isolated_home: Path) -> None:
    ctx = make_ctx(tmp_path)
    assert correct(ctx, 1).saved
    (isolated_home / "exports").mkdir(mode=0o755)
    (isolated_home / "exports").chmod(0o755)
    files, message = transfers.export_zip(ctx, None)
    assert files, message
    assert (isolated_home / "exports").stat().st_mode & 0o777 == 0o700


# ---- the strokes' points are counted before their JSON is decoded ------------------------------------------


def test_points_are_counted_before_the_json_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    from mnist_core.imaging import strokes

    many = json.dumps({"v": 1, "width": 448, "height": 448, "strokes": [[[1, 2]] * 40_000]}, separators=(",", ":"))
    assert len(many) < strokes.MAX_JSON_BYTES

    def never(*_: Any, **__: Any) -> Any:
        raise AssertionError("decoded before counting")

    monkeypatch.setattr(strokes.json, "loads", never)
    with pytest.raises(strokes.StrokeError, match="too many points"):
        strokes.parse(many)


# ---- who a limit counts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),  # nginx on this host, for a visitor
        ("127.0.0.1", "192.0.2.1, 203.0.113.7", "203.0.113.7"),  # the visitor wrote the first one themselves
        ("127.0.0.1", "203.0.113.7, 10.0.0.2", "203.0.113.7"),  # two proxies of ours: the visitor is left of both
        ("127.0.0.1", "not-an-address", "127.0.0.1"),  # not what our proxy writes: the proxy is counted
        ("127.0.0.1", None, "127.0.0.1"),
        ("198.51.100.9", "203.0.113.7", "198.51.100.9"),  # not a proxy of ours: its header is its own invention
    ],
)
def test_the_client_address_comes_from_a_trusted_proxy_only(peer: str, forwarded: str | None, client: str) -> None:
    from mnist_core.drawings.policy import client_address, trusted_proxies

    assert client_address(peer, forwarded, trusted_proxies(["127.0.0.1", "10.0.0.0/8"])) == client
    assert client_address(peer, forwarded, ()) == peer


def test_an_ipv6_client_is_its_64_and_a_bad_proxy_flag_is_one_line() -> None:
    from mnist_core.drawings.policy import address_key, trusted_proxies

    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_key("::ffff:203.0.113.7") == address_key("203.0.113.7") == "203.0.113.7"
    with pytest.raises(ValueError, match="not an address or a network"):
        trusted_proxies(["127.0.0.1,nginx"])


def test_limits_are_per_visitor_and_for_everyone_in_one_line_each(tmp_path: Path) -> None:
    from mnist_ui.server.limits import Budget, Gate

    gate, budget = Gate(tmp_path / "d.sqlite3"), Budget("corrections", 2, 3)
    assert [gate.refusal(budget, "a") for _ in range(3)] == ["", "", "at most 2 corrections a minute; wait a moment"]
    assert gate.refusal(budget, "b") == ""
    assert gate.refusal(budget, "c").startswith("the server takes at most 3 corrections a minute from everyone")
    assert Gate(tmp_path / "d.sqlite3", max_bytes=1).refusal(budget, "d").startswith("the drawings store is full")


# ---- what Gradio keeps per session ----------------------------------------------------------------------------


def test_a_lean_session_holds_what_gradios_holds_but_the_up_front_copy(ctx: Any) -> None:
    """Same fields as Gradio's own session (a Gradio release that adds one fails here), no configuration copied
    until an event changes a component, and the same configurations when a deep link asks for them."""
    from mnist_ui.app import build_app
    from mnist_ui.server.sessions import LeanSessionState, SessionState  # Gradio's own, whatever is installed

    demo = build_app(ctx())
    full, lean = SessionState(demo), LeanSessionState(demo)
    assert set(vars(lean)) - {"_page_blocks"} == set(vars(full))
    assert lean.config_values == {} and len(full.config_values) > 100
    assert list(lean.components) == list(full.components)


def test_the_public_link_page_states_every_limit_as_the_code_words_it(tmp_path: Path) -> None:
    """docs/public-link.md's table: each limit's number and each refusal line exactly as the code has them."""
    from mnist_core.config import MAX_ROWS
    from mnist_core.drawings.store import StoreBusy
    from mnist_ui.components.fast_read import BUSY, PER_VISITOR, TOO_MANY, WAITING
    from mnist_ui.server.bodies import body_cap
    from mnist_ui.server.limits import CORRECTIONS, IMPORTS, TEACHINGS
    from mnist_ui.server.sessions import SESSIONS
    from mnist_ui.testing import REPO

    page = " ".join((REPO / "docs/public-link.md").read_text().split())
    lines = [body_cap(path)[1] for path in ("/gradio_api/upload", "/gradio_api/component_server", "/gradio_api/call/x")]
    for budget, prefix in ((CORRECTIONS, "not saved"), (TEACHINGS, "not taught"), (IMPORTS, "not imported")):
        lines += [f"{prefix}: {limit.refusal}" for limit in budget.limits("someone")]
    store = DrawingStore(tmp_path / "d.sqlite3")
    with store.import_slot(), pytest.raises(StoreBusy) as busy, store.import_slot():
        pass
    lines += [TOO_MANY, BUSY, f"not imported: {busy.value}"]
    missing = [line for line in lines if f"`{line}`" not in page]
    assert not missing, missing
    for number in (f"{SESSIONS:,}", f"{PER_VISITOR} per visitor", f"{WAITING} in all", f"{MAX_ROWS:,} drawings"):
        assert number in page, number


# ---- finding 6: the pad's line is fair between visitors ---------------------------------------------------------


class HeldReader:
    """The pad's reading in a test: it records each batch it is given and holds its lane until `hold` is set, so a
    line of drawings can build up behind it."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.hold = threading.Event()

    def __call__(self, values: list[Any]) -> list[Any]:
        from mnist_core.serving.readings import Reading
        from mnist_ui.server.personal import Answer

        self.batches.append(values)
        self.hold.wait(10)
        return [Answer(Reading("blank", value)) for value in values]


def test_the_pads_line_takes_one_drawing_of_each_visitor_in_turn_and_caps_each() -> None:
    """A crowd at one address has 20 pen-ups waiting; another visitor's pen-up goes in the next batch, not after
    them; past PER_VISITOR waiting, the crowd is told so at once; a batch holds one large drawing, not eight."""
    import asyncio

    from mnist_ui.components import fast_read
    from mnist_ui.components.fast_read import Batcher

    read = HeldReader()
    batches, hold = read.batches, read.hold

    async def scenario() -> list[str]:
        batcher = Batcher(read, lanes=1, most=4, size=lambda value: 40_000 if value.startswith("big") else 10)
        first = asyncio.create_task(batcher.ask("crowd 0", True, "crowd"))
        while not batches:
            await asyncio.sleep(0.01)
        crowd = [asyncio.create_task(batcher.ask(f"crowd {i}", True, "crowd")) for i in range(1, 21)]
        await asyncio.sleep(0.01)
        other = asyncio.create_task(batcher.ask("other", True, "other"))
        big = [asyncio.create_task(batcher.ask(f"big {i}", True, "big")) for i in range(2)]
        await asyncio.sleep(0.01)
        hold.set()
        return [r.reading.message for r in await asyncio.gather(first, other, *crowd, *big)]

    fast_read.PER_VISITOR, per_visitor = 16, fast_read.PER_VISITOR
    try:
        answers = asyncio.run(scenario())
    finally:
        fast_read.PER_VISITOR = per_visitor
    assert batches[1] == ["crowd 1", "other", "big 0", "crowd 2"], batches
    assert all(sum(v.startswith("big") for v in batch) <= 1 for batch in batches), batches  # 2 × 40 KB > 64 KB
    assert answers.count(fast_read.TOO_MANY) == 5, answers  # crowd 16–20: 16 of theirs were waiting already


# ---- finding 8: the net under every event ---------------------------------------------------------------------


def test_every_kind_of_event_fails_in_one_escaped_line_and_keeps_its_signature(ctx: Any) -> None:
    """Plain, async, generator and async generator functions: an unforeseen exception becomes one gr.Error line
    (HTML-escaped: Gradio renders it), Gradio's own errors pass as they are, the signature Gradio reads for
    gr.Request is the function's own, and a stream closed early closes the one it wraps."""
    import asyncio
    import inspect

    import gradio as gr

    from mnist_ui.server.failures import guarded

    served, closed = ctx(), []

    def plain(value: list, request: gr.Request) -> str:
        raise TypeError(f"unhashable type: {value!r} <b>")

    async def coro(value: str) -> str:
        raise gr.Error("a line of our own")

    def gen(value: str) -> Any:
        yield 1
        raise KeyError("/home/alice/secret.txt")

    async def agen(value: str) -> Any:
        try:
            yield 1
            yield 2
        finally:
            closed.append(True)

    with pytest.raises(gr.Error) as plain_error:
        guarded(served, plain)(["a"], None)
    assert plain_error.value.message == (
        "the server could not do that (TypeError: unhashable type: [&#x27;a&#x27;] &lt;b&gt;); check what was sent"
    )
    assert inspect.signature(guarded(served, plain)) == inspect.signature(plain)
    with pytest.raises(gr.Error, match="a line of our own"):
        asyncio.run(guarded(served, coro)("x"))
    with pytest.raises(gr.Error) as gen_error:
        list(guarded(served, gen)("x"))
    assert "secret.txt" in gen_error.value.message and "/home/alice" not in gen_error.value.message

    async def first_then_close() -> None:
        stream = guarded(served, agen)("x")
        assert await stream.__anext__() == 1
        await stream.aclose()

    asyncio.run(first_then_close())
    assert closed == [True]


def test_a_visitor_with_the_largest_drawings_does_not_keep_the_next_batch() -> None:
    """Each of the crowd's drawings fills a batch alone: the other visitor's pen-up is read in the very next one
    (the line starts each batch after the visitor it served last)."""
    import asyncio

    from mnist_ui.components.fast_read import BATCH_BYTES, Batcher

    read = HeldReader()
    batches, hold = read.batches, read.hold

    async def scenario() -> None:
        batcher = Batcher(read, lanes=1, size=lambda value: BATCH_BYTES + 1 if value.startswith("crowd") else 10)
        waiting = [asyncio.create_task(batcher.ask(f"crowd {i}", True, "crowd")) for i in range(6)]
        while not batches:
            await asyncio.sleep(0.01)
        waiting.append(asyncio.create_task(batcher.ask("other", True, "other")))
        await asyncio.sleep(0.01)
        hold.set()
        await asyncio.gather(*waiting)

    asyncio.run(scenario())
    assert batches[:3] == [["crowd 0"], ["crowd 1"], ["other"]], batches


def test_one_visitors_drawings_are_read_in_one_lane_at_a_time() -> None:
    """Two lanes, a crowd with 12 drawings waiting and another visitor with 3: the crowd is never read in both
    lanes at once, and the other visitor is read beside it from the start."""
    import asyncio

    from mnist_core.serving.readings import Reading
    from mnist_ui.components.fast_read import Batcher
    from mnist_ui.server.personal import Answer

    lock, now, most, order = threading.Lock(), Counter(), Counter(), []

    def read(values: list[str]) -> list[Answer]:
        visitors = {value.split()[0] for value in values}
        with lock:
            now.update(visitors)
            most.update({v: 0 for v in visitors})
            for v in visitors:
                most[v] = max(most[v], now[v])
            order.append(values)
        time.sleep(0.05)
        with lock:
            now.subtract(visitors)
        return [Answer(Reading("blank", value)) for value in values]

    async def scenario() -> None:
        batcher = Batcher(read, lanes=2, most=2)
        asks = [batcher.ask(f"crowd {i}", True, "crowd") for i in range(12)]
        asks += [batcher.ask(f"other {i}", True, "other") for i in range(3)]
        await asyncio.gather(*asks)

    asyncio.run(scenario())
    assert most == {"crowd": 1, "other": 1}, (most, order)
    assert any("other 0" in batch for batch in order[:2]), order
