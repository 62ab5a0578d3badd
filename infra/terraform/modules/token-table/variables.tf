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
