"""Key rolls go on air with the lists they unlock (issue 3: the carousel carries "the latest
full bundle, the deltas since it, and key-roll bundles").

A terminal provisioned before a master-key roll and a signing-key roll hears the carousel the
center renders now (both rolls, then a full bundle sealed under the new master key and signed
by the new signing key) and ends with that list: whatever order the frames arrive in, the
full bundle is held until the rolls it needs have been applied (merge.py's retry).
"""

from __future__ import annotations

import numpy as np
import pytest

from center import CenterHome
from center.air.render import CarouselRenderer, RenderConfig
from crypto import BundleKind, TerminalKeys
from receiver.store.merge import BundleMerger
from receiver.radio.pipeline import PipelineConfig, ReceivePipeline
from receiver.store.store import TerminalStore

NOW = 1_800_000_000
CARDS = [4_000_000_000_000_000 + 104_729 * i for i in range(150)]


@pytest.fixture(scope="module")
def on_air(tmp_path_factory):
    d = tmp_path_factory.mktemp("roll")
    with CenterHome.init(d / "center", now=NOW, by="test") as home:
        home.revoke(CARDS[:100], now=NOW, by="test")
        home.build(BundleKind.FULL, now=NOW, by="test")
        keys = home.provision(now=NOW, by="test")  # the terminal knows only the first keys
        home.rotate_master(now=NOW + 1, by="test")
        home.rotate_signing(now=NOW + 2, by="test")
        home.revoke(CARDS[100:], now=NOW + 3, by="test")
        latest = home.build(BundleKind.FULL, now=NOW + 3, by="test")
        carousel = home.carousel(NOW + 4)
    kinds = [b.kind for b in carousel]
    assert kinds == ["master_roll", "signer_roll", "full"], kinds
    renderer = CarouselRenderer("fm", carousel, RenderConfig())
    mpx = np.concatenate(list(renderer.blocks()))
    return d, keys, latest, mpx


def decode(home, mpx: np.ndarray, start: int = 0) -> list[dict]:
    pipe = ReceivePipeline(PipelineConfig("fm", False, 228_000))
    with TerminalStore.open(home) as store:
        merger = BundleMerger(store)
        events = merger.process(pipe.process(mpx[start:]), NOW + 10)
        events += merger.process(pipe.process(mpx[:start]), NOW + 10)  # the cycle wraps round
        return events + merger.process(pipe.finish(), NOW + 10)


# From the top; and tuned in mid-cycle at a point where the signing roll (sealed under the new
# master key) completes before the master roll, so it must be held and retried.
@pytest.mark.parametrize("start_s, held", [(0.0, False), (1.2, True)])
def test_terminal_takes_the_rolls_then_the_list_they_unlock(tmp_path, on_air, start_s, held):
    _, keys, latest, mpx = on_air
    home = tmp_path / "t"
    TerminalStore.create(home, TerminalKeys.from_bytes(keys)).close()
    events = decode(home, mpx, int(start_s * 228_000))
    applied = [(e["seq"], e["kind"]) for e in events if e["event"] == "bundle_applied"]
    assert (latest.seq, "full") in applied and len(applied) == 3, events
    assert not [e for e in events if e["event"] == "bundle_rejected" and not e["retry"]]
    assert any(e.get("held") for e in events) == held
    with TerminalStore.open(home) as store:
        state = store.state()
        assert (state.seq, state.entries) == (latest.seq, len(CARDS))
        assert store.lookup(CARDS[-1]).reason is not None
