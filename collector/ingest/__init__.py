"""Ingest: authenticate an agent, decode and validate its batch, store it durably, acknowledge."""
