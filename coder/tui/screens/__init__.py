"""Screens of the TUI: main, diff review, command confirmation."""
