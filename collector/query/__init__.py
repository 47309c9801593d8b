"""Investigators' queries: select lines from the store and merge them into one timeline."""
