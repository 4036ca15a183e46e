"""The ``bench`` harness: runs registered methods through the evaluation protocol, stores results
in SQLite and prints leaderboards."""
