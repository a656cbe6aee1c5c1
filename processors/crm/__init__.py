"""CRM matching: duplicates, lead-to-account and open opportunities against a CRM mirror."""
