"""sG + tP on the SM2 curve computed by the system's OpenSSL (libcrypto 3), through ctypes.

A verification's one expensive step (sm2.py). libcrypto's generic prime-curve code with a
precomputed table for G does it in about a third of fastecdsa's time. `combined_x` answers the
x coordinate of sG + tP, or None for the point at infinity; `available()` is False when there is
no libcrypto or it has no SM2 curve (a build without SM2), and sm2.py then uses fastecdsa.

Only OpenSSL's long-standing EC_POINT / BIGNUM calls are used; every object made for a call is
freed in the same call. The group and its table are made once and only read afterwards (safe
from several threads: OpenSSL's EC_POINT_mul does not change its group).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

NID_SM2 = 1172  # OpenSSL's curve id for SM2 (obj_mac.h)
UNCOMPRESSED = b"\x04"

_vp = ctypes.c_void_p
_SIGNATURES = {
    "EC_GROUP_new_by_curve_name": (_vp, [ctypes.c_int]),
    "EC_GROUP_precompute_mult": (ctypes.c_int, [_vp, _vp]),
    "EC_POINT_new": (_vp, [_vp]),
    "EC_POINT_free": (None, [_vp]),
    "EC_POINT_oct2point": (ctypes.c_int, [_vp, _vp, ctypes.c_char_p, ctypes.c_size_t, _vp]),
    "EC_POINT_mul": (ctypes.c_int, [_vp, _vp, _vp, _vp, _vp, _vp]),
    "EC_POINT_is_at_infinity": (ctypes.c_int, [_vp, _vp]),
    "EC_POINT_get_affine_coordinates": (ctypes.c_int, [_vp, _vp, _vp, _vp, _vp]),
    "BN_bin2bn": (_vp, [ctypes.c_char_p, ctypes.c_int, _vp]),
    "BN_new": (_vp, []),
    "BN_free": (None, [_vp]),
    "BN_bn2binpad": (ctypes.c_int, [_vp, ctypes.c_char_p, ctypes.c_int]),
    "BN_CTX_new": (_vp, []),
    "BN_CTX_free": (None, [_vp]),
    "ERR_clear_error": (None, []),
}


class _Curve:
    def __init__(self, lib: ctypes.CDLL, group: int) -> None:
        self.lib, self.group = lib, group


_lock = threading.Lock()
_loaded: list[_Curve | None] = []  # [] until first asked, then [curve or None]


def _load() -> _Curve | None:
    name = ctypes.util.find_library("crypto")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
        for function, (restype, argtypes) in _SIGNATURES.items():
            f = getattr(lib, function)
            f.restype, f.argtypes = restype, argtypes
    except (OSError, AttributeError):
        return None
    group = lib.EC_GROUP_new_by_curve_name(NID_SM2)
    if not group:
        lib.ERR_clear_error()
        return None
    ctx = lib.BN_CTX_new()
    try:
        if lib.EC_GROUP_precompute_mult(group, ctx) != 1:
            lib.ERR_clear_error()  # slower without the table, still right
    finally:
        lib.BN_CTX_free(ctx)
    return _Curve(lib, group)


def _curve() -> _Curve | None:
    if not _loaded:
        with _lock:
            if not _loaded:
                _loaded.append(_load())
    return _loaded[0]


def available() -> bool:
    return _curve() is not None


def combined_x(s: int, t: int, public_xy: bytes) -> int | None:
    """x of sG + tP for the public key P given as 64 bytes x || y (a point of the curve: the
    caller has checked it), with 0 < s, t < n; None when the sum is the point at infinity.
    Raises RuntimeError when OpenSSL refuses (not expected for such inputs)."""
    curve = _curve()
    if curve is None:
        raise RuntimeError("OpenSSL's SM2 curve is not available")
    lib, group = curve.lib, curve.group
    ctx = lib.BN_CTX_new()
    point = lib.EC_POINT_new(group)
    total = lib.EC_POINT_new(group)
    bn_s = lib.BN_bin2bn(s.to_bytes(32, "big"), 32, None)
    bn_t = lib.BN_bin2bn(t.to_bytes(32, "big"), 32, None)
    x = lib.BN_new()
    try:
        if not (ctx and point and total and bn_s and bn_t and x):
            raise MemoryError("OpenSSL could not allocate")
        octets = UNCOMPRESSED + public_xy
        if lib.EC_POINT_oct2point(group, point, octets, len(octets), ctx) != 1:
            raise RuntimeError("not a point of the SM2 curve")
        if lib.EC_POINT_mul(group, total, bn_s, point, bn_t, ctx) != 1:
            raise RuntimeError("EC_POINT_mul failed")
        if lib.EC_POINT_is_at_infinity(group, total):
            return None
        if lib.EC_POINT_get_affine_coordinates(group, total, x, None, ctx) != 1:
            raise RuntimeError("EC_POINT_get_affine_coordinates failed")
        out = ctypes.create_string_buffer(32)
        if lib.BN_bn2binpad(x, out, 32) != 32:
            raise RuntimeError("BN_bn2binpad failed")
        return int.from_bytes(out.raw, "big")
    except (RuntimeError, MemoryError):
        lib.ERR_clear_error()
        raise
    finally:
        lib.BN_free(x)
        lib.BN_free(bn_t)
        lib.BN_free(bn_s)
        lib.EC_POINT_free(total)
        lib.EC_POINT_free(point)
        lib.BN_CTX_free(ctx)
