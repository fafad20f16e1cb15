"""Wire formats of hotcast: the compact hot-list codec, frames, frame sync and the carousel.

Pure functions and values over bytes and numpy arrays; no I/O. Imports nothing of ours.
"""

from .announce import MAX_ANNOUNCED, AnnouncedBundle, decode_announcement, encode_announcement
from .cardid import (
    from_sql_key,
    from_sql_keys,
    is_card_id_text,
    parse_card_id,
    to_sql_key,
    to_sql_keys,
)
from .carousel import CarouselScheduler, segment
from .crc import crc32c, crc32c_rows
from .errors import (
    AnnouncementError,
    CardIdError,
    FrameError,
    FramingError,
    ListCapacityError,
    ListCodecError,
    ReassemblyError,
)
from .frameformat import Block, Frame, FrameConfig, FrameHeader, bundle_digest, check_header
from .frames import FrameGen
from .framesync import FrameSync, FrameStats
from .ldpc import LdpcCode, LdpcDecoder, LdpcEncoder, ldpc_code
from .hotlist import HotList, ListDelta, Reason, Universe, diff, month_code, month_of, patch
from .listcodec import bound_bits, decode_delta, decode_list, encode_delta, encode_list
from .profiles import PROFILES, frame_config
from .reassembly import Reassembler, ReassemblyConfig, ReassemblyStats

__all__ = [
    "MAX_ANNOUNCED",
    "AnnouncedBundle",
    "AnnouncementError",
    "decode_announcement",
    "encode_announcement",
    "PROFILES",
    "Block",
    "CardIdError",
    "CarouselScheduler",
    "Frame",
    "FrameConfig",
    "FrameError",
    "FrameGen",
    "FrameHeader",
    "FrameStats",
    "FrameSync",
    "FramingError",
    "HotList",
    "LdpcCode",
    "LdpcDecoder",
    "LdpcEncoder",
    "ListCapacityError",
    "ListCodecError",
    "ListDelta",
    "Reason",
    "ReassemblyConfig",
    "ReassemblyError",
    "ReassemblyStats",
    "Reassembler",
    "Universe",
    "bound_bits",
    "from_sql_key",
    "from_sql_keys",
    "is_card_id_text",
    "parse_card_id",
    "to_sql_key",
    "to_sql_keys",
    "bundle_digest",
    "check_header",
    "crc32c",
    "crc32c_rows",
    "decode_delta",
    "decode_list",
    "diff",
    "encode_delta",
    "encode_list",
    "frame_config",
    "ldpc_code",
    "month_code",
    "month_of",
    "patch",
    "segment",
]
