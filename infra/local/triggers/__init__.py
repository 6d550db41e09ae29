"""What invokes the functions: the API front (`api`, with HTTP API shapes in `apigateway` and
its SQS-SendMessage integration in `apigateway_sqs`), the SQS and DynamoDB stream pollers
(`sqs`, `streams`), the `scheduler`, and CloudFormation's custom resource requests
(`custom_resources`)."""
