"""Change events on the compacted topics (crm.*, owners): records ↔ Kafka messages."""
