"""Figure cards: a picture of a message's figures, drawn from the same figures as its text.

`card.py` (the stored card: hash, alt text, file), `spec.py` (messages/NAME/card.toml),
`content.py` (what one card shows), `fonts.py` (font files), `text.py` (script runs, line
breaks), `typeset.py` (Pillow with RAQM: measuring and drawing lines), `draw.py` (the layout,
the PNG), `alt.py` (the alt text). Nothing here imports Pillow until a card is drawn.
"""
