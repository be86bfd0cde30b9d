"""Risk management: pre-trade limits, the kill switch, P&L, metrics and alerts (issue 7).

The pre-trade checks themselves run inside the matching worker (`matching_worker/risk_gate.py`),
the single writer that every order passes through; the modules here are the pieces it and the
API are built from, each with one job.
"""
