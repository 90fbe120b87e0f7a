"""Language: the one place text is analysed (sentences, terms, stop words, stems, names and dates)."""
