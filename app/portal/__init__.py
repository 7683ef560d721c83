"""The page shell: home page, navigation, health check."""
