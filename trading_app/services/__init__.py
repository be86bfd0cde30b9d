"""Writes: every change to the trading records goes through a function in this package."""
