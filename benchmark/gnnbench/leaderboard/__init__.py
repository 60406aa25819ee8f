"""Stage 6: submissions and the leaderboard (``gnnbench validate``, ``gnnbench leaderboard``).

    validate   check a submissions/<name>/ folder: schema, checksum, scorer version, dataset revision
    entries    the leaderboard's numbers per entry, read from scores.json, and their definitions
    markdown   leaderboard/README.md (tabulate tables)
    page       leaderboard/index.html (one static, sortable page)
    plot       the error-vs-Δt plot of every entry (SVG)
    build      regenerate leaderboard/ from submissions/, or check that it is up to date
"""
