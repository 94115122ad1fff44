"""Request monitoring: capture every request, categorise it by rules, score it by anomaly models, act on anomalies."""
