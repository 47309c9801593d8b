"""The kernel's clock state through ``adjtimex(2)`` with ``modes = 0``: a read that needs no
privilege (and is allowed by the default Docker and containerd seccomp profiles).

What it says is only what the time daemon last wrote: chrony writes ``maxerror`` and
``esterror`` but leaves ``offset`` 0 (it has no kernel PLL) and clears ``STA_UNSYNC`` only with
``rtcsync``; timesyncd writes ``maxerror`` 0. ``maxerror`` then grows by 500 us a second
until 16 s, when the kernel declares the clock unsynchronised: a dead daemon shows here only
about 8.9 hours later. So this is the baseline view, never the only one. Inside a container
it is the host kernel's state (CLOCK_REALTIME is not namespaced).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import dataclass

__all__ = ["KernelView", "kernel_view", "read_kernel"]

TIME_STATES = ("ok", "insert_second", "delete_second", "leap_in_progress", "leap_done", "error")
TIME_ERROR = 5
STA_NANO = 0x2000
STATUS_BITS = {
    0x0001: "PLL", 0x0002: "PPSFREQ", 0x0004: "PPSTIME", 0x0008: "FLL", 0x0010: "INS",
    0x0020: "DEL", 0x0040: "UNSYNC", 0x0080: "FREQHOLD", 0x0100: "PPSSIGNAL",
    0x0200: "PPSJITTER", 0x0400: "PPSWANDER", 0x0800: "PPSERROR", 0x1000: "CLOCKERR",
    0x2000: "NANO", 0x4000: "MODE", 0x8000: "CLK",
}


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h>; ctypes inserts the same alignment padding as C.
    _fields_ = [
        ("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
        ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long), ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
    ]


@dataclass(frozen=True, slots=True)
class KernelView:
    """The kernel's NTP state. ``synced`` is False exactly when adjtimex returns TIME_ERROR."""

    state: str
    synced: bool
    status: tuple[str, ...]
    maxerror: float  # seconds
    esterror: float  # seconds
    offset: float  # the PLL's remaining correction, seconds (not an offset from UTC)
    freq_ppm: float
    tolerance_ppm: float
    tick_us: int
    tai: int


def kernel_view(rc: int, status: int, maxerror_us: int, esterror_us: int, offset: int,
                freq: int, tolerance: int, tick: int, tai: int) -> KernelView:
    """The raw adjtimex fields as a `KernelView` (pure). ``freq`` and ``tolerance`` are ppm
    scaled by 2^16; ``offset`` is in ns with STA_NANO, else us."""
    return KernelView(
        state=TIME_STATES[rc] if 0 <= rc < len(TIME_STATES) else f"unknown_{rc}",
        synced=rc != TIME_ERROR,
        status=tuple(name for bit, name in STATUS_BITS.items() if status & bit),
        maxerror=maxerror_us / 1e6,
        esterror=esterror_us / 1e6,
        offset=offset / (1e9 if status & STA_NANO else 1e6),
        freq_ppm=freq / 65536,
        tolerance_ppm=tolerance / 65536,
        tick_us=tick,
        tai=tai,
    )


_libc: ctypes.CDLL | None = None


def read_kernel() -> KernelView:
    """Read the kernel's state now; `OSError` if the kernel refuses (a strict seccomp)."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    timex = _Timex()
    timex.modes = 0  # read only: no privilege needed
    rc = _libc.adjtimex(ctypes.byref(timex))
    if rc < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"adjtimex: {os.strerror(errno)}")
    return kernel_view(rc, timex.status, timex.maxerror, timex.esterror, timex.offset,
                       timex.freq, timex.tolerance, timex.tick, timex.tai)
