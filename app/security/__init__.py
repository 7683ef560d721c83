"""Security: passwords, data scopes, audit chain, SM-series cryptography."""
