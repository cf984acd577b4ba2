"""The commands perftop runs, one module each: `tui` (the dashboard, `--pid`, `run`, `view`,
`diff`), `record`, `snapshot`; `serve` is `perftop.serve`. `common` holds what the headless
ones share: stop signals, progress, one-line usage errors."""
