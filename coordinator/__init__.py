"""The coordinator: the saga orchestrator that drives every order to a final state."""
