"""CustomResourceDefinitions and what they declare: structural schemas (pruning, defaults),
validation with the real server's causes, CEL rules, and the OpenAPI documents kubectl reads."""
