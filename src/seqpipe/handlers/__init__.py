"""Lambda entry points: `seqpipe.handlers.<module>.handler(event, context)`, thin over the package."""
