//! Browser actions against real Chromium.
