//! Installing the robot as a service: a systemd unit on Linux (a Windows service comes
//! with the Windows build).

pub mod systemd;
