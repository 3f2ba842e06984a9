"""Model builders for the four recipe architectures (classifier, tagger, language model, translator)."""
