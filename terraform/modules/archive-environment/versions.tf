terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The same constraint as table-archive: one provider serves both in an environment.
      version = ">= 6.8, < 7.0"
    }
  }
}
