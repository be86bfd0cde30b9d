"""Component 3's app side: export a day's trades to S3 (or a local directory), analyse them with
the trade-analysis Lambda (deployed, or the same handler in-process), keep the result."""
