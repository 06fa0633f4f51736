"""The AWS data plane: table specs, settings, repositories per access pattern, S3 helpers, delivery."""
