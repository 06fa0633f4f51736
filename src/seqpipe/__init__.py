"""seqpipe: the shared code of the germline pipeline, its CLI and its Lambdas."""

__version__ = "0.1.0"
