terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.8: the first 6.x that lets aws_sqs_queue.max_message_size go to 1 MiB (1048576).
      version = ">= 6.8, < 7.0"
    }
    # time_sleep: the wait for IAM before a pipe or mapping is created (terraform-provider-aws #40572).
    time = {
      source  = "hashicorp/time"
      version = ">= 0.9, < 1.0"
    }
  }
}
