"""Process administration in the browser (P-ADMIN): models, drafts, deploy, dry runs, instances, heatmap."""
