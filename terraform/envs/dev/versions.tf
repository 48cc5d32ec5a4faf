terraform {
  # 1.11: S3-native state locking (use_lockfile in backend.tf) is generally available from 1.11
  # (experimental in 1.10); 1.9: validations that read other variables.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.8, < 7.0"
    }
    time = {
      source  = "hashicorp/time"
      version = ">= 0.9, < 1.0"
    }
  }
}
