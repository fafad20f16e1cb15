"""Many writers at once end in one consistent history, on each backend.

Eight writer processes start together and each runs a seeded mix of revoking and reinstating
cards from one small pool (so they keep hitting the same cards) and building deltas. On SQLite
they share one home (its flock and ``BEGIN IMMEDIATE``); on PostgreSQL each works from its own
copy of the home, as operators on separate machines would, so only the database's writer lock
orders them. Afterwards:

* list sequence numbers never repeat or go back: 1, 2, 3 ... in commit order, each naming the
  digest of the one before;
* replaying the audit log in order from list 1 gives, at every ``build`` row, exactly the list
  that bundle holds, and the cards the bundle says it touched are exactly those that changed
  since the list before (every change lands in exactly one bundle; a change undone before the
  next build lands in none);
* every change a writer was told it made is in the audit log exactly once, and nothing else.
"""

from __future__ import annotations

import multiprocessing
import random
import re
import shutil
import traceback
from collections import Counter
from pathlib import Path

import numpy as np
from center_helpers import NOW, OPERATOR, PASSPHRASE
from pg_fixtures import backend, db, make_home_on, pg_url  # noqa: F401  (fixtures)

from center.errors import NotListedError
from center.registry.home import CenterHome
from crypto import BundleKind
from framing import decode_list

WRITERS = 8
OPS_PER_WRITER = 24
POOL = [str(4929000000000000 + i) for i in range(10)]
BUILD_SHARE = 0.15
REVOKE_SHARE = 0.5
WAIT_S = 120


def _writer(home_path: str, index: int, barrier, results) -> None:
    """One writer process: seeded operations; reports what each did (or its traceback)."""
    try:
        rng = random.Random(index)
        log = []
        with CenterHome.open(home_path, PASSPHRASE) as home:
            barrier.wait(timeout=WAIT_S)
            for j in range(OPS_PER_WRITER):
                op, by, now = f"w{index}.{j}", f"w{index}", NOW + j
                pick = rng.random()
                if pick < BUILD_SHARE:
                    built = home.build(BundleKind.DELTA, now=now, by=by)
                    log.append(("build", op, built.epoch, built.seq))
                elif pick < BUILD_SHARE + REVOKE_SHARE:
                    card, reason = rng.choice(POOL), rng.choice(["stolen", "lost", "fraud"])
                    counts = home.revoke([card], reason, now=now, by=by, note=op)
                    outcome = ("revoke" if counts.added else
                               "revoke-change" if counts.changed else "unchanged")
                    log.append((outcome, op, int(card), reason))
                else:
                    card = rng.choice(POOL)
                    try:
                        home.reinstate([card], now=now, by=by, note=op)
                        log.append(("reinstate", op, int(card), None))
                    except NotListedError:
                        log.append(("not-listed", op, int(card), None))
        results.put((index, log))
    except BaseException:  # the parent must hear of any failure, not wait for it
        results.put((index, traceback.format_exc()))


def _run_writers(homes: list[Path]) -> list[tuple]:
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(WRITERS), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(homes[i]), i, barrier, results))
             for i in range(WRITERS)]
    for p in procs:
        p.start()
    reports = dict(results.get(timeout=WAIT_S) for _ in procs)
    for p in procs:
        p.join(timeout=WAIT_S)
    failed = {i: r for i, r in reports.items() if isinstance(r, str)}
    assert not failed, "\n".join(failed.values())
    return [entry for i in sorted(reports) for entry in reports[i]]


def _list_at(home: CenterHome, seq: int) -> dict[int, int]:
    _, hot = decode_list(home.registry.list_bundle(1, seq)["list_body"])
    return dict(zip(hot.ids.tolist(), hot.reasons.tolist()))


def test_concurrent_writers_end_in_one_consistent_history(tmp_path: Path, db: str | None,
                                                          backend: str) -> None:
    with make_home_on(tmp_path / "home", db) as home:
        home.revoke(POOL[:3], now=NOW, by=OPERATOR)
        home.build(now=NOW, by=OPERATOR)
        setup_rows = len(list(home.audit_log()))
    if backend == "sqlite":
        homes = [tmp_path / "home"] * WRITERS
    else:  # one home per "machine", one shared registry
        homes = [tmp_path / f"machine{i}" for i in range(WRITERS)]
        for copy in homes:
            shutil.copytree(tmp_path / "home", copy)

    log = _run_writers(homes)

    with CenterHome.open(tmp_path / "home", PASSPHRASE) as home:
        final = home.build(BundleKind.DELTA, now=NOW + 1000, by=OPERATOR)
        lists = [h for h in home.history() if h["kind"] in ("full", "delta")]
        audit = list(home.audit_log())[setup_rows:]

        # Sequence numbers: 1, 2, ... in commit order, chained, none given twice.
        assert [h["seq"] for h in lists] == list(range(1, len(lists) + 1))
        assert all(b["prev"] == a["sha256"] for a, b in zip(lists, lists[1:]))
        built = [e[3] for e in log if e[0] == "build"]
        assert len(built) == len(set(built)) and sorted(built + [1, final.seq]) == \
            [h["seq"] for h in lists]

        # Replay the audit log: each build row holds exactly the list replayed so far, and
        # touched exactly the cards that changed since the list before.
        state, previous, build_rows = _list_at(home, 1), _list_at(home, 1), []
        for _, _, _, action, card, reason, _, note in audit:
            if action in ("revoke", "revoke-change"):
                state[card] = reason
            elif action == "reinstate":
                del state[card]
            elif action == "build":
                seq = int(re.match(r"epoch 1 seq (\d+) ", note).group(1))
                build_rows.append(seq)
                assert _list_at(home, seq) == state, f"list {seq} is not the audit log's"
                changed = {c for c in state.keys() | previous.keys()
                           if state.get(c) != previous.get(c)}
                touched = np.frombuffer(home.registry.list_bundle(1, seq)["touched"], "<u8")
                assert set(touched.tolist()) == changed, f"list {seq} touched other cards"
                previous = dict(state)
        assert build_rows == [h["seq"] for h in lists[1:]]  # commit order is seq order
        assert state == {e.card_id: int(e.reason) for e in home.list_entries()}
        # The kept count of listed cards followed every change (no lost update).
        assert home.count() == len(state) == home.registry.query("SELECT count(*) FROM hot")[0][0]

        # Every change a writer made is audited once, and the log holds nothing else.
        by_note = Counter(row[7] for row in audit if row[4] is not None)
        made = [e for e in log if e[0] in ("revoke", "revoke-change", "reinstate")]
        assert sorted(by_note) == sorted(e[1] for e in made)
        assert set(by_note.values()) == {1}
        rows = {row[7]: row for row in audit if row[4] is not None}
        for action, op, card, _ in made:
            assert (rows[op][3], rows[op][4]) == (action, card)
        assert sum(1 for row in audit if row[3] == "build") == len(built) + 1

        # The writers really ran at once: their rows interleave in the log.
        writers_in_order = [row[2] for row in audit if row[2].startswith("w")]
        runs = 1 + sum(a != b for a, b in zip(writers_in_order, writers_in_order[1:]))
        assert runs >= 2 * WRITERS, "the writers did not overlap: the test proved nothing"
