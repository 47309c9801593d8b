"""When a PEM certificate stops being valid, read from its DER without `cryptography`: whose
bindings cost an agent about 9 MB of its 60 MB budget for this one date (issue 13). Pure.

Only the path to ``notAfter`` is walked (RFC 5280, section 4.1)::

    Certificate ::= SEQUENCE { tbsCertificate SEQUENCE {
        version [0] EXPLICIT OPTIONAL, serialNumber INTEGER, signature AlgorithmIdentifier,
        issuer Name, validity SEQUENCE { notBefore Time, notAfter Time }, ... }, ... }
    Time ::= UTCTime (YYMMDDHHMMSSZ; YY < 50 is 20YY) | GeneralizedTime (YYYYMMDDHHMMSSZ)

Anything else (a key, the extensions, the signature) is left to the TLS library that uses the
certificate; this only tells when to warn.
"""

from __future__ import annotations

import base64
import calendar
import re

__all__ = ["CertificateError", "not_after"]

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----\s*(.+?)\s*-----END CERTIFICATE-----", re.S)
_SEQUENCE, _UTC_TIME, _GENERALIZED_TIME, _VERSION = 0x30, 0x17, 0x18, 0xA0


class CertificateError(ValueError):
    """Not a certificate this reader can date."""


def _element(der: bytes, at: int) -> tuple[int, int, int]:
    """The tag at ``at``, where its contents start, and where they end."""
    if at + 2 > len(der):
        raise CertificateError("the certificate ends early")
    tag, size, start = der[at], der[at + 1], at + 2
    if size & 0x80:  # long form: the next (size & 0x7f) bytes are the length
        count = size & 0x7F
        if count == 0 or count > 4 or start + count > len(der):
            raise CertificateError("a length in the certificate is malformed")
        size, start = int.from_bytes(der[start:start + count], "big"), start + count
    if start + size > len(der):
        raise CertificateError("the certificate ends early")
    return tag, start, start + size


def _time(tag: int, text: bytes) -> float:
    if tag == _UTC_TIME and re.fullmatch(rb"\d{12}Z", text):
        year = int(text[:2])
        digits = (b"20" if year < 50 else b"19") + text
    elif tag == _GENERALIZED_TIME and re.fullmatch(rb"\d{14}Z", text):
        digits = text
    else:
        raise CertificateError("the certificate's notAfter is not a UTC time")
    fields = [int(digits[i:j]) for i, j in ((0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14))]
    return float(calendar.timegm((*fields, 0, 0, 0)))


def not_after(pem: bytes) -> float:
    """When the first certificate in ``pem`` expires, as Unix time."""
    found = _PEM.search(pem)
    if found is None:
        raise CertificateError("no PEM certificate found")
    try:
        der = base64.b64decode(found.group(1), validate=False)
    except ValueError:
        raise CertificateError("the PEM certificate is not base64") from None
    tag, start, _ = _element(der, 0)  # Certificate
    tag2, at, _ = _element(der, start)  # tbsCertificate
    if tag != _SEQUENCE or tag2 != _SEQUENCE:
        raise CertificateError("not an X.509 certificate")
    if at < len(der) and der[at] == _VERSION:
        at = _element(der, at)[2]
    for _ in range(3):  # serialNumber, signature, issuer
        at = _element(der, at)[2]
    tag, at, _ = _element(der, at)  # validity
    if tag != _SEQUENCE:
        raise CertificateError("not an X.509 certificate")
    at = _element(der, at)[2]  # notBefore
    tag, start, end = _element(der, at)
    return _time(tag, der[start:end])
