"""Meetings: what a host schedules."""
