"""Reads: queries the API and the other parts use, so that visibility rules live in one place."""
