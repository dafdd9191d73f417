"""Read storages, never train (`--retrain` aside): comparison results and statistics, the
report and its figures, exports, the best configuration, status, the dashboard."""
