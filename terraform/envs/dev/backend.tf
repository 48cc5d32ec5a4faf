# State of the dev environment. Locking is S3-native (a .tflock object beside the state), no
# DynamoDB table. Backend blocks take no variables: the state bucket is written here.
terraform {
  backend "s3" {
    bucket       = "acme-terraform-state-dev"
    key          = "dynamo-archive/dev/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }
}
