"""Vectors, link suggestions, duplicate groups and themes."""
