"""The Step Functions definition of a run, shared by the CDK app and the tests."""
