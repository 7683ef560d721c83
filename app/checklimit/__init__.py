"""checklimit."""
