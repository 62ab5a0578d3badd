variable "table_name" {
  description = "Token table name; the same in every home region (the bundle bakes it in)."
  type        = string
  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be 3 to 255 of [a-zA-Z0-9_.-]."
  }
}

variable "deletion_protection" {
  description = "DynamoDB deletion protection. Deleting the table forgets every counted use, so used-up links that have not expired would work again."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for the table."
  type        = map(string)
  default     = {}
}

variable "events" {
  description = "Link events (docs/events.md, On AWS): the table's stream feeds an events Lambda in this region that keeps the audit trail (<table_name>-events) and delivers signed webhooks. The bundle needs store.events true too."
  type        = bool
  default     = false
}

variable "events_zip" {
  description = "Path of the events Lambda's zip (npm run build:events -> dist/events.zip). Needed when events is true."
  type        = string
  default     = ""
}

variable "webhook_urls" {
  description = "Receivers of the webhooks (http(s) URLs); empty keeps the audit trail only."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for u in var.webhook_urls : can(regex("^https?://[^\\s]+$", u))])
    error_message = "webhook_urls must be http(s) URLs."
  }
}

variable "webhook_secret_parameter" {
  description = "Name of the SSM Parameter Store SecureString (default aws/ssm key) holding the webhook secret (oncelink webhook secret), e.g. /oncelink/webhook-secret. Needed with webhook_urls."
  type        = string
  default     = ""
  validation {
    condition     = can(regex("^(/[a-zA-Z0-9_.-]+)*$", var.webhook_secret_parameter))
    error_message = "webhook_secret_parameter must be a parameter path such as /oncelink/webhook-secret."
  }
}

variable "event_retention_days" {
  description = "Days the audit trail keeps an event past its link's expiry."
  type        = number
  default     = 90
}
