"""System administration pages: organisations, users, roles (R7.4 unified management)."""
