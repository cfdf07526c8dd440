//! Non-browser actions: http, files, CSV, JSON, email, shell.
