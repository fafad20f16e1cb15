"""Key material goes on air with the lists it unlocks (issue 6: "key sets go on air like
bundles, with priority").

A terminal provisioned before a root-signed key set that replaces the signing key and before a
master-key roll hears the carousel the center renders now (the key set, the roll signed by the
new key, a full list sealed under the new master key and signed by the new signing key, a
heartbeat and an announcement) and ends with that list wherever in the cycle it tunes in:
whatever completes before the key set or the roll it needs is held (``BundleHeld``) and applied
as soon as they come (merge.py's retry).
"""

from __future__ import annotations

import numpy as np
import pytest

from center.air.render import CarouselRenderer, RenderConfig
from crypto import BundleKind, MetadataType, TerminalKeys
from modem import InputKind
from receiver.events import BundleApplied, BundleHeld, BundleRejected
from receiver.radio.pipeline import PipelineConfig, ReceivePipeline
from receiver.store.merge import BundleMerger
from receiver.store.store import TerminalStore
from tests.receiver.test_pipeline_signal import init_center, trial_root

NOW = 1_800_000_000
MPX_RATE_HZ = 228_000
CARDS = [4_000_000_000_000_000 + 104_729 * i for i in range(150)]


@pytest.fixture(scope="module")
def on_air(tmp_path_factory):
    d = tmp_path_factory.mktemp("roll")
    home, _ = init_center(d / "center", now=NOW)
    with home:
        home.revoke(CARDS[:100], now=NOW, by="test")
        home.build(BundleKind.FULL, now=NOW, by="test")
        keys = home.provision(now=NOW, by="test")  # the terminal knows only the first keys
        request = home.request_keyset(now=NOW + 1, by="test", new_signing_key=True)
        home.import_trust([trial_root(d / "center").sign_keyset(request)], now=NOW + 1,
                          by="test")
        home.rotate_master(now=NOW + 2, by="test")
        home.revoke(CARDS[100:], now=NOW + 3, by="test")
        latest = home.build(BundleKind.FULL, now=NOW + 3, by="test")
        carousel = home.carousel(NOW + 4)
        carousel += home.air_extras(carousel, NOW + 4)
    kinds = [b.kind for b in carousel]
    assert kinds == [MetadataType.KEY_SET, BundleKind.MASTER_ROLL, BundleKind.FULL,
                     BundleKind.HEARTBEAT, BundleKind.ANNOUNCE], kinds
    renderer = CarouselRenderer("fm", carousel, RenderConfig())
    mpx = np.concatenate(list(renderer.blocks()))
    return d, keys, latest, mpx


def decode(home, mpx: np.ndarray, start: int = 0) -> list:
    """The cycle from ``start``, then its beginning (the carousel goes round), as the receive
    command runs it: announcements vetted by the store, bundles merged into it."""
    now = NOW + 10
    with TerminalStore.open(home) as store:
        pipe = ReceivePipeline(PipelineConfig("fm", InputKind.BASEBAND, MPX_RATE_HZ),
                               vet_announcement=lambda data: store.vet_announcement(data, now))
        merger = BundleMerger(store)
        events = merger.process(pipe.process(mpx[start:]), now)
        events += merger.process(pipe.process(mpx[:start]), now)
        return events + merger.process(pipe.finish(), now)


def test_wherever_a_terminal_tunes_in_it_takes_the_key_set_the_roll_and_the_list(tmp_path,
                                                                                 on_air):
    _, keys, latest, mpx = on_air
    held_kinds = set()
    for k, start_s in enumerate(np.arange(0.0, mpx.size / MPX_RATE_HZ, 0.2)):
        home = tmp_path / f"t{k}"
        TerminalStore.create(home, TerminalKeys.from_file(keys)).close()
        events = decode(home, mpx, int(start_s * MPX_RATE_HZ))
        applied = {(e.kind, e.seq) for e in events if isinstance(e, BundleApplied)}
        assert {(MetadataType.KEY_SET, 2), (BundleKind.MASTER_ROLL, 2),
                (BundleKind.FULL, latest.seq)} <= applied, (start_s, events)
        assert not [e for e in events if isinstance(e, BundleRejected)], (start_s, events)
        held_kinds |= {e.kind for e in events if isinstance(e, BundleHeld)}
        with TerminalStore.open(home) as store:
            state = store.state()
            assert (state.seq, state.entries) == (latest.seq, len(CARDS)), start_s
            assert store.lookup(CARDS[-1], NOW + 10).reason is not None
            assert store.keys().keyset.version == 2 and not state.is_stale(NOW + 10)
    # Tuning in mid-cycle does make the roll and the list wait for what they need.
    assert {BundleKind.MASTER_ROLL, BundleKind.FULL} <= held_kinds, held_kinds
