"""Reproduction of Tomasini, Petrini, Cagnetta & Wyart (2023): the code behind the workflow's rules."""
