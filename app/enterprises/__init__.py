"""The enterprise base (生产经营单位): the supervised units."""
