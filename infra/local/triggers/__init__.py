"""What invokes the functions: the API front (`api`, with API Gateway's proxy events in
`apigateway`), the SQS and DynamoDB stream pollers (`sqs`, `streams`), the `scheduler`, and
CloudFormation's custom resource requests (`custom_resources`)."""
