"""Recipes: one runnable script per architecture (also installed as `seqtasks.recipes`)."""
