"""Retention: the trash and the audio limits of rooms (service.py)."""
