"""The e-mail module's tables: the transcripts meeting participants asked to be e-mailed."""
