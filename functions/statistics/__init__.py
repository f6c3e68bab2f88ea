"""Live statistics of the last 20 minutes, from Redis only."""
