"""Records kept after a meeting: encrypted chat transcripts with a retention date (S6)."""
