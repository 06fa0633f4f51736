"""Format validators for sequencing files, local or on S3, quick (bounded reads) or deep (all records)."""
