"""Shipped rule packs (YAML data files); read by darkroom.trust.policy.rules."""
