"""Rare-scenario clips, pure logic: message ring, trigger rate limits, clip cutting, upload queue policy."""
