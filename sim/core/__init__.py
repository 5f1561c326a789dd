"""The model itself: scenario schema and loading, mechanisms, compile, engine, and its Mesa face."""
