"""Language: sentence spans, and every tokenizer, stop list, stemmer, name test and date reader the
stages use. Phrase rules that belong to one stage (a follow-up's openers, "He/This" leads, "the name
of") stay with that stage."""
