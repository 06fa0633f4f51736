"""The dashboard's routes: the JSON API (`api`) and the pages rendered from it (`pages`)."""
