"""Where job code comes from: repositories, syncing, push deliveries, applying discovery, local and
extension jobs."""
