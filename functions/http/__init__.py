"""HTTP plumbing shared by every route: request parsing, responses, error mapping."""
