"""Who is calling and what they may do: tokens and identities, RBAC-like authorization with the
AccessRule resource, and the review APIs (SelfSubjectReview, access reviews, TokenRequest)."""
