"""What happened to each request, kept: ``outcome`` (cost, baseline, latencies, attempts),
``records`` (the decision record), ``recorder`` (a queue and a batching writer thread that
spools when the store is down) and ``store`` (SQLite or PostgreSQL: schema, migrations)."""
