"""Reflector: self-hosted meeting transcription and analysis."""
