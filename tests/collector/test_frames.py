from __future__ import annotations

from collector.store.frames import encode_frame, scan_frames


def test_whole_frames_come_back_in_order() -> None:
    data = encode_frame(b"one") + encode_frame(b"two")
    frames, end, damaged = scan_frames(data)
    assert [f.payload for f in frames] == [b"one", b"two"]
    assert (end, damaged) == (len(data), [])


def test_a_torn_last_frame_marks_where_to_cut() -> None:
    whole = encode_frame(b"one")
    torn = encode_frame(b"two-two-two")[:-4]
    frames, end, damaged = scan_frames(whole + torn)
    assert [f.payload for f in frames] == [b"one"]
    assert end == len(whole) and damaged == []


def test_damage_followed_by_good_frames_is_reported_not_cut() -> None:
    first, second, third = encode_frame(b"one"), bytearray(encode_frame(b"two")), encode_frame(b"three")
    second[-1] ^= 0xFF  # flip a payload bit: the CRC no longer matches
    frames, end, damaged = scan_frames(first + bytes(second) + third)
    assert [f.payload for f in frames] == [b"one", b"three"]
    assert damaged == [len(first)]
    assert end == len(first) + len(second) + len(third)
