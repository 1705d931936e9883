from plumbing.migrations import run_migrations

run_migrations()
