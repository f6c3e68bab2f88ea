"""Custom cfn-lint rules of this project (``cfn-lint --append-rules infra/cfnlint_rules``)."""
