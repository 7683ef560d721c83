"""Spreadsheet files people exchange with the platform: exports (`export.py`) and imports."""
