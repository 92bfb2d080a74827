"""One palette for speakers on every page: app.css styles .speaker-0 .. .speaker-7."""

PALETTE_SIZE = 8


def speaker_colour(speaker: int) -> int:
    return speaker % PALETTE_SIZE
