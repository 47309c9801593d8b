"""Evidence export (docs/evidence.md): ``GET /v1/export`` (http.py) builds a bundle of the
query's lines and their hosts' clock evidence (export.py), each record proved against the
signed checkpoint of the segment it was sealed in, from what a store tells (source.py) and the
collector's own cross-check of host clocks when it keeps one (clock.py). Bundles are checked
by `chronolog.evidence.verify`, which needs no collector."""
