"""Answers: the question's candidate sentences, the reader's findings, and the cited answer."""
