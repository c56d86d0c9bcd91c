"""The website: the report build (Quarto, or pandoc with the same layout), the landing page, the committed results
summary and the browser check. Needs no torch at import."""
