"""Inference behind the enrich stage: phones, emails, geography, titles, firmographics."""
