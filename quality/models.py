"""Quality models (model runs, label issues, reports) arrive with their issues."""
