"""Clue verification (线索核查): registration, the clue list and page, statistics, follows and warnings."""
