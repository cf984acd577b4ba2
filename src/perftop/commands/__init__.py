"""The commands perftop runs, one module each: `tui` (the dashboard, `--pid`, `run`, `view`,
`diff`), `record`, `snapshot` and `serve` (with `serve_http`, its bounded HTTP server).
`common` holds what the headless ones share: stop signals that save, progress, one-line
usage errors."""
