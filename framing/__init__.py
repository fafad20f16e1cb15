"""Wire formats of hotcast: the compact hot-list codec (and, beside it, frames and carousel).

Pure functions and values over bytes and numpy arrays; no I/O. Imports nothing of ours.
"""

from .errors import FramingError, ListCodecError
from .hotlist import HotList, ListDelta, Reason, Universe, diff, month_code, month_of, patch
from .listcodec import bound_bits, decode_delta, decode_list, encode_delta, encode_list

__all__ = [
    "FramingError",
    "HotList",
    "ListCodecError",
    "ListDelta",
    "Reason",
    "Universe",
    "bound_bits",
    "decode_delta",
    "decode_list",
    "diff",
    "encode_delta",
    "encode_list",
    "month_code",
    "month_of",
    "patch",
]
