"""The store on a NATS JetStream cluster, shared by several collectors (docs/scale-out.md):
store.py (the `Store` and `AdminStore`), config.py (its configuration and data residency),
kv.py (keys in the replicated key-value bucket), mirror.py (a collector's copy of a tenant's
catalog), bridge.py (the NATS client's own event loop), health.py (the cluster's health as
metrics)."""
