"""Who is calling: credentials, the tenant and role each maps to, and request checks."""
