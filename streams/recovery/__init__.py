"""Getting Redis state back after Redis restarted empty, from the topics that hold it."""
