"""``GET /v1/bundles``: what a pulling terminal gets for what it holds, the ETag and 304, the
delta built for a terminal that missed the latest full list, and a terminal store that takes
every answer (the verification is the store's own)."""

from __future__ import annotations

import pytest
from center_helpers import NOW, PASSPHRASE, make_home
from service_helpers import make_env, env, home_template  # noqa: F401  (fixtures)

from center.registry.home import CenterHome
from crypto import BundleKind, MetadataType, TerminalKeys, read_unverified_header
from framing.container import CONTENT_TYPE, decode_bundles
from receiver.store.store import TerminalStore

MANY = 3000


def _open(env) -> CenterHome:
    return CenterHome.open(env.home_path, PASSPHRASE)


def _items(response) -> list[tuple[str, int]]:
    """(kind, seq or version) of each item of a pull answer."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == CONTENT_TYPE
    out = []
    for data in decode_bundles(response.content, 2**26):
        if data[:3] == b"HCM":
            out.append((MetadataType(data[4]).name.lower(), 0))
        else:
            header = read_unverified_header(data)
            out.append((header.kind.name.lower(), header.seq))
    return out


def _history(env, *plan: str, cards: int = 2) -> None:
    """Build lists in order: "full" or "delta" (from the latest full), each after new cards."""
    with _open(env) as home:
        for i, kind in enumerate(plan):
            home.revoke([str(4000000000000000 + 100 * i + j) for j in range(cards)], "stolen",
                        now=NOW + i, by="t")
            home.build(BundleKind[kind.upper()], now=NOW + i, by="t")


def _pull(env, client=None, **query):
    client = client or env.client("terminal")
    return client.get("/v1/bundles", params=query)


def test_a_new_terminal_gets_the_key_set_the_full_list_its_delta_and_a_heartbeat(env):
    _history(env, "full", "delta", "delta")
    assert _items(_pull(env, epoch=0, seq=0)) == [("key_set", 0), ("full", 1), ("delta", 3),
                                                  ("heartbeat", 3)]


def test_an_up_to_date_terminal_gets_a_heartbeat_then_304(env):
    _history(env, "full", "delta")
    c = env.client("terminal")
    first = _pull(env, c, epoch=1, seq=2, keyset=1, root=1, master=1)
    assert _items(first) == [("heartbeat", 2)]
    etag = first.headers["etag"]
    again = c.get("/v1/bundles", params={"epoch": 1, "seq": 2, "keyset": 1, "root": 1,
                                         "master": 1}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and not again.content
    env.clock.now += 120  # the heartbeat it holds is old now: a fresh one
    later = c.get("/v1/bundles", params={"epoch": 1, "seq": 2, "keyset": 1, "root": 1,
                                         "master": 1}, headers={"If-None-Match": etag})
    assert later.status_code == 200 and later.headers["etag"] != etag


def test_a_terminal_that_applied_an_answer_gets_304_for_its_next_question(env):
    """The ETag names the state the answer leaves the terminal in, not the bytes: asking with
    the list it now holds and that ETag is "nothing new"."""
    _history(env, "full", "delta")
    c = env.client("terminal")
    first = _pull(env, c, epoch=0, seq=0)
    assert [k for k, _ in _items(first)] == ["key_set", "full", "delta", "heartbeat"]
    again = c.get("/v1/bundles", params={"epoch": 1, "seq": 2, "keyset": 1},
                  headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    with _open(env) as home:  # something new: the ETag no longer matches
        home.revoke(["4100000000000009"], "lost", now=NOW + 3, by="t")
        home.build(BundleKind.DELTA, now=NOW + 3, by="t")
    news = c.get("/v1/bundles", params={"epoch": 1, "seq": 2, "keyset": 1},
                 headers={"If-None-Match": first.headers["etag"]})
    assert _items(news) == [("delta", 3), ("heartbeat", 3)]


def test_an_answer_that_does_not_reach_the_newest_list_never_passes_for_up_to_date(env):
    """A delta built from a base above the latest full list: a new terminal gets the full list
    alone, and its ETag is not the up-to-date one."""
    _history(env, "full", "delta")
    with _open(env) as home:
        home.revoke(["4100000000000009"], "lost", now=NOW + 3, by="t")
        home.build(BundleKind.DELTA, 2, now=NOW + 3, by="t")
    c = env.client("terminal")
    fresh = _pull(env, c, epoch=0, seq=0, keyset=1)
    assert [k for k, _ in _items(fresh)] == ["full", "heartbeat"]
    current = _pull(env, c, epoch=1, seq=3, keyset=1)
    assert fresh.headers["etag"] != current.headers["etag"]
    # Holding full 1 it would get the very same items again (a small list: no delta is built
    # for it), so that ETag does match: nothing the center has would help it yet.
    assert _items(_pull(env, c, epoch=1, seq=1, keyset=1)) == _items(fresh)
    r = c.get("/v1/bundles", params={"epoch": 1, "seq": 1, "keyset": 1},
              headers={"If-None-Match": fresh.headers["etag"]})
    assert r.status_code == 304


@pytest.mark.parametrize("header", ['W/"{}"', '"x", "{}"', "*"])
def test_if_none_match_forms(env, header):
    _history(env, "full")
    c = env.client("terminal")
    etag = _pull(env, c, epoch=1, seq=1, keyset=1).headers["etag"].strip('"')
    r = c.get("/v1/bundles", params={"epoch": 1, "seq": 1, "keyset": 1},
              headers={"If-None-Match": header.format(etag)})
    assert r.status_code == 304


def test_a_terminal_some_deltas_behind_gets_the_newest_delta(env):
    _history(env, "full", "delta", "delta", "delta")
    assert _items(_pull(env, epoch=1, seq=2, keyset=1)) == [("delta", 4), ("heartbeat", 4)]


def test_a_terminal_before_the_latest_full_gets_it_and_the_delta_after_it(env):
    _history(env, "full", "delta", "full", "delta")
    assert _items(_pull(env, epoch=1, seq=1, keyset=1)) == [("full", 3), ("delta", 4),
                                                           ("heartbeat", 4)]


def test_a_terminal_of_an_older_epoch_gets_the_full_list(env):
    _history(env, "full", "delta")
    assert [k for k, _ in _items(_pull(env, epoch=0, seq=7, keyset=1))] == \
        ["full", "delta", "heartbeat"]


def test_a_terminal_ahead_of_the_center_gets_only_the_heartbeat(env):
    _history(env, "full")
    assert _items(_pull(env, epoch=1, seq=9, keyset=1)) == [("heartbeat", 1)]
    assert _items(_pull(env, epoch=2, seq=1, keyset=1)) == [("heartbeat", 1)]


def test_trust_it_holds_is_left_out(env):
    _history(env, "full")
    with _open(env) as home:
        home.rotate_master(now=NOW + 10, by="t")
    everything = [k for k, _ in _items(_pull(env, epoch=1, seq=1))]
    assert everything == ["key_set", "master_roll", "heartbeat"]
    assert [k for k, _ in _items(_pull(env, epoch=1, seq=1, keyset=1, master=1))] == \
        ["master_roll", "heartbeat"]
    assert [k for k, _ in _items(_pull(env, epoch=1, seq=1, keyset=1, master=2))] == \
        ["heartbeat"]


def test_nothing_built_yet_gives_the_key_set_alone(env):
    assert _items(_pull(env, epoch=0, seq=0)) == [("key_set", 0)]


def test_no_key_set_in_force_is_503(tmp_path):
    env = make_env(tmp_path)
    make_home(tmp_path / "bare", with_keyset=False).close()
    env.home_path = tmp_path / "bare"
    r = _pull(env, epoch=0, seq=0)
    assert r.status_code == 503 and r.json()["error"] == "no_keyset"


def _big_history(env) -> None:
    """A list of MANY cards in full 1, a small change in full 2 (terminals at 1 would need the
    whole of full 2 again)."""
    rows = "".join(f"{4000000000000000 + 7 * i},lost\n" for i in range(MANY))
    with _open(env) as home:
        home.import_csv(rows, now=NOW, by="t")
        home.build(BundleKind.FULL, now=NOW, by="t")
        home.revoke(["4100000000000000"], "fraud", now=NOW + 5, by="t")
        home.build(BundleKind.FULL, now=NOW + 5, by="t")


def test_a_terminal_that_missed_a_big_full_list_gets_a_delta_built_for_it(env):
    _big_history(env)
    c = env.client("terminal")
    answer = _pull(env, c, epoch=1, seq=1, keyset=1)
    assert _items(answer) == [("delta", 3), ("heartbeat", 3)]
    with _open(env) as home:
        newest, full2 = home.bundle(3), home.bundle(2)
        rows = list(home.audit_log(action="build"))
    assert (newest.kind, newest.base) == (BundleKind.DELTA, 1)
    assert len(newest.sealed) < len(full2.sealed) / 10
    assert rows[-1][2] == "terminal"  # the build is audited under the pulling terminal
    # Within pull_build_every_s the next terminal that needs one gets what is built.
    with _open(env) as home:
        home.revoke(["4100000000000001"], "fraud", now=NOW + 6, by="t")
        home.build(BundleKind.FULL, now=NOW + 6, by="t")
    assert [k for k, _ in _items(_pull(env, c, epoch=1, seq=3, keyset=1))] == \
        ["full", "heartbeat"]
    env.monotonic.t += 31  # and after it, a delta again
    assert [k for k, _ in _items(_pull(env, c, epoch=1, seq=3, keyset=1))] == \
        ["delta", "heartbeat"]


def test_a_pulled_delta_strands_no_terminal_holding_the_full_list(env, tmp_path):
    """Its base is never above the latest full list: a terminal on air that holds full 2
    takes the delta built for a terminal at list 1 as well."""
    _big_history(env)
    _pull(env, epoch=1, seq=1, keyset=1)
    with _open(env) as home:
        delta, full2 = home.bundle(3), home.bundle(2)
        keys = TerminalKeys.from_file(home.provision(now=NOW, by="t"))
    with TerminalStore.create(tmp_path / "on-air", keys) as store:
        store.apply_bundle(full2.sealed, NOW + 10)
        assert store.apply_bundle(delta.sealed, NOW + 10).applied
        assert store.state().seq == 3


def test_every_answer_applies_to_a_store_that_holds_what_was_asked_from(env, tmp_path):
    """A store at each list of the history asks with what it holds, applies the answer, and
    lands on the newest list with the center's entries."""
    _history(env, "full", "delta", "full", "delta", "delta")
    with _open(env) as home:
        keys = TerminalKeys.from_file(home.provision(now=NOW, by="t"))
        head = home.bundle(5)
        lists = {s: home.bundle(s).sealed for s in range(1, 6)}
        wanted = sorted(e.card_id for e in home.list_entries())
    for start in range(0, 6):
        with TerminalStore.create(tmp_path / f"t{start}", keys) as store:
            for seq in range(1, start + 1):  # as it heard them on air, in order
                assert store.apply_bundle(lists[seq], NOW + 10).applied
            state = store.state()
            answer = _pull(env, epoch=state.epoch if state.seq else 0, seq=state.seq,
                           keyset=keys.keyset.version)
            for data in decode_bundles(answer.content, 2**26):
                store.apply_bundle(data, NOW + 10)
            assert store.state().seq == head.seq, start
            assert sorted(store.hot_list().ids.tolist()) == wanted
            assert not store.state().is_stale(NOW + 10)


def test_a_pull_is_logged_with_what_it_got(env):
    _history(env, "full")
    _pull(env, epoch=0, seq=0)
    line = [e for e in env.logged if e["event"] == "pull"][-1]
    assert line["by"] == "terminal" and [i["kind"] for i in line["items"]] == \
        ["key_set", "full", "heartbeat"]
