"""Shared helpers for running the unchanged workflow on each engine (local, SLURM, AWS Batch + S3)."""
