"""The bundle container of a network pull (``GET /v1/bundles`` of the center service): the
one format the center's HTTP service and a pulling terminal share.

Wire form: a msgpack array of msgpack bin items, each item one bundle, key set or root set
exactly as it goes on air, in the order a terminal should apply them. Media type
``CONTENT_TYPE``. Nothing in it is trusted: the terminal verifies every item as it verifies
what it hears on air; the container only carries them.

Limits (a transport that is not trusted may send anything, endless data included): at most
``MAX_ITEMS`` items of at most ``max_item_bytes`` each, refused by their declared sizes before
anything is allocated (msgpack's own limits).
"""

from __future__ import annotations

import msgpack

CONTENT_TYPE = "application/vnd.hotcast.bundles+msgpack"
# Root rotations, one key set, the master rolls of a key set's range, a full list, a delta, a
# heartbeat: a few hundred items at the very most.
MAX_ITEMS = 4096


class ContainerError(ValueError):
    """The bytes are not a bundle container (or exceed its limits); names what is wrong."""


def encode_bundles(items: list[bytes]) -> bytes:
    """Bundles (bytes each) -> the container bytes."""
    if len(items) > MAX_ITEMS:
        raise ValueError(f"a container holds at most {MAX_ITEMS} items, got {len(items)}")
    return msgpack.packb([bytes(i) for i in items], use_bin_type=True)


def decode_bundles(data: bytes, max_item_bytes: int) -> list[bytes]:
    """The container bytes -> the bundles, or ``ContainerError``."""
    try:
        items = msgpack.unpackb(bytes(data), raw=False, strict_map_key=True,
                                max_bin_len=max_item_bytes, max_array_len=MAX_ITEMS,
                                max_str_len=0, max_map_len=0, max_ext_len=0)
    except (ValueError, msgpack.UnpackException, TypeError) as exc:
        raise ContainerError(f"not a bundle container: {type(exc).__name__}: {exc}") from None
    if not isinstance(items, list) or not all(isinstance(i, bytes) for i in items):
        raise ContainerError("not a bundle container: want an array of bin items, got "
                             f"{type(items).__name__}")
    return items
