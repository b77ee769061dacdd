"""Meetings, roadmap sharing and the monthly newsletter."""
