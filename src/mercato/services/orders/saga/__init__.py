"""The checkout orchestration: participants (ports and HTTP adapters) and the runner."""
