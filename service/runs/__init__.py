"""Runs as rows: requesting job runs, JobRunner background work, periodic successors and housekeeping."""
