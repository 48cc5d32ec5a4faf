variable "alarm_topic_arn" {
  description = "SNS topic the archive's alarms notify, or null for alarms without notification."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$", var.alarm_topic_arn))
    error_message = "alarm_topic_arn is null or an SNS topic ARN."
  }
}
