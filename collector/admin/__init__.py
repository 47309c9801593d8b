"""Administration: the ``/v1/admin/...`` API (verify, checkpoints, backup, retention, legal
holds, keys, erasure), its audit record, and the disposal report."""
