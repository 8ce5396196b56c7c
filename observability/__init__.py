"""Operations: structured logs with the call id, and Prometheus metrics."""
