"""What sponsors and workers say to each other: sponsor notes and workers' thanks."""
