"""Test support shared by every app: factories and personas."""
