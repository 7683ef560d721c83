"""Organisations: the city corps, district brigades, sub-district offices and SOE groups."""
