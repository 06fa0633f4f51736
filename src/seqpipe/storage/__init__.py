"""Where bytes live: S3 addresses, the boto3 client, checksums and local-or-S3 locations.

The lowest layer of the package: it imports nothing else of seqpipe, so the validators, the data
plane (seqpipe.aws), the CLI and the dashboard can all stand on it (tests/pipeline/test_layers.py).
"""
