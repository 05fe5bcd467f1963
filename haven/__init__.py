"""Haven: video meetings whose safeguarding policy is enforced by the software."""
