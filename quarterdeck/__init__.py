"""Quarterdeck: product management from insight to shipped, measured feature."""
