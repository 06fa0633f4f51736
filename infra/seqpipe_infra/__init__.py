"""CDK app for seqpipe: the AWS data plane and AWS Batch execution, one set of stacks per environment."""
