"""Accounts, roles and permissions; login and logout."""
