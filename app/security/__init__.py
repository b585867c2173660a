"""Protection of sensitive personal information: field encryption, blind indexes, masking."""
