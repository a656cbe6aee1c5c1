"""CRM data from outside: CSV exports, their loading onto the crm.* topics, and a synthetic CRM."""
